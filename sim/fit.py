"""Fitting a scenario's parameters to recorded event times by maximum likelihood.

What is estimated, and how:

- a party's scalar ``violation_rate`` (μ, with its guarantor's pressure held), its
  ``retaliation.boost`` and ``retaliation.half_life_hours``: maximum likelihood of its
  violation times given the hostile events against its side (:mod:`sim.likelihood`), on log
  parameters with scipy. The rate is maximised in closed form for each (boost, half-life).
  Standard errors come from the observed information (a numerical Hessian at the optimum).
  The rate's interval is the Wald interval on the log scale; the boost's and the
  half-life's are profile-likelihood intervals (their likelihoods are asymmetric). An end
  of a profile interval that reaches the search bounds is reported as ``None``: the data do
  not identify it. While the boost's interval is open, the rate (which trades off against
  it) is not identified either.
- a spoiler's ``attack_rate`` and a guarantor's ``incident_prob``: Poisson processes, rate
  ``n / T`` with a likelihood-ratio interval (``incident_prob = 1 − exp(−rate)``).
- a party's ``major_share`` and a spoiler's ``blame_prob``: binomial proportions of the
  events whose ``major``/``blamed`` is recorded, with Wilson intervals.

Goodness of fit uses the time-rescaling theorem: the compensator increments between an
actor's consecutive events are Exp(1) under the fitted model (Kolmogorov–Smirnov test).
The files and the command live in :mod:`sim.fitted`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, stats

from .errors import UsageError
from .events import Events
from .likelihood import PartyData
from .scenario import Scenario
from .stats import Z95
from .stats import wilson as stats_wilson

FITTABLE = {
    "parties": (
        "violation_rate",
        "retaliation.boost",
        "retaliation.half_life_hours",
        "major_share",
    ),
    "spoilers": ("attack_rate", "blame_prob"),
    "guarantors": ("incident_prob",),
}
"""Fittable fields of each kind of actor (key path ``<group>.<name>.<field>``)."""

DROP = stats.chi2.ppf(0.95, 1) / 2  # profile-likelihood drop of a 95% interval
BOOST_BOUNDS = (1e-5, 1e3)
HALF_LIFE_MIN = 1.0 / 60  # one minute, in hours
HALF_LIFE_SPANS = 10.0  # upper search bound: ten times the span


@dataclass(frozen=True)
class Estimate:
    """One fitted value with its standard error and 95% interval (a ``None`` end: not
    identified, the likelihood has not dropped enough by the search bound)."""

    value: float | None
    se: float | None
    ci95: tuple[float | None, float | None]
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "se": self.se, "ci95": list(self.ci95)}
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class Fit:
    """The result of :func:`fit`."""

    scenario: Scenario
    events: Events
    estimates: dict[str, Estimate]
    loglik: float
    n_events: dict[str, int]
    gof: dict[str, dict[str, float]]
    rescaled: dict[str, np.ndarray] = field(repr=False)
    """Each actor's rescaled gaps (compensator increments between its events)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "estimates": {k: e.to_json() for k, e in self.estimates.items()},
            "loglik": self.loglik,
            "n_events": self.n_events,
            "gof": self.gof,
            "span": list(self.events.span),
            "events": self.events.file,
            "events_left_out": self.events.left_out,
        }


# --------------------------------------------------------------------------- keys


def default_keys(scenario: Scenario, events: Events) -> list[str]:
    """Every fittable key of the actors present in ``events``."""
    keys = []
    present = events.counts()
    for name in scenario.parties:
        if name in present:
            keys += [f"parties.{name}.{f}" for f in FITTABLE["parties"][:3]]
            if np.any(~np.isnan(events.major[events.of(name)])):
                keys.append(f"parties.{name}.major_share")
    for name, sp in scenario.spoilers.items():
        if name in present:
            keys.append(f"spoilers.{name}.attack_rate")
            known = ~np.isnan(events.blamed[events.of(name)])
            if sp.blamed_on is not None and np.any(known):
                keys.append(f"spoilers.{name}.blame_prob")
    for name in scenario.guarantors:
        if name in present:
            keys.append(f"guarantors.{name}.incident_prob")
    return keys


def check_keys(scenario: Scenario, events: Events, keys: Sequence[str]) -> list[str]:
    """Validate ``--fit`` keys (``UsageError`` naming the key); duplicates removed."""
    out: list[str] = []
    for key in keys:
        group, _, rest = key.partition(".")
        name, _, what = rest.partition(".")
        if group not in FITTABLE or what not in FITTABLE[group]:
            fields = "; ".join(f"{g}.NAME.{{{','.join(f)}}}" for g, f in FITTABLE.items())
            raise UsageError(f"--fit {key}: not a fittable key (fittable: {fields})")
        known = getattr(scenario, group)
        if name not in known:
            raise UsageError(
                f"--fit {key}: unknown {group[:-1] if group != 'parties' else 'party'} "
                f"'{name}' (known: {', '.join(known) or 'none'})"
            )
        mask = events.of(name)
        if what == "major_share" and not np.any(~np.isnan(events.major[mask])):
            raise UsageError(f"--fit {key}: no event of '{name}' has a 'major' value")
        if what == "blame_prob":
            if scenario.spoilers[name].blamed_on is None:
                raise UsageError(f"--fit {key}: spoiler '{name}' has no blamed_on party")
            if not np.any(~np.isnan(events.blamed[mask])):
                raise UsageError(f"--fit {key}: no attack of '{name}' has a 'blamed' value")
        if what == "incident_prob" and scenario.guarantors[name].incident_target is None:
            raise UsageError(f"--fit {key}: guarantor '{name}' has no incident_target")
        if what == "violation_rate" and scenario.pressure_on(name) >= 1:
            raise UsageError(f"--fit {key}: pressure on '{name}' is 1, so its rate has no effect")
        if key not in out:
            out.append(key)
    return out


# --------------------------------------------------------------------------- small models


def binomial(k: int, n: int) -> Estimate:
    """A binomial proportion ``k / n`` with its Wilson 95% interval."""
    p = k / n
    return Estimate(p, math.sqrt(p * (1 - p) / n), stats_wilson(k, n))


def poisson_rate(n: int, exposure: float) -> Estimate:
    """A Poisson rate ``n / exposure`` with its likelihood-ratio 95% interval."""
    rate = n / exposure
    if n == 0:
        return Estimate(0.0, 0.0, (0.0, DROP / exposure))

    def drop(r: float) -> float:
        return n * math.log(r / rate) - (r - rate) * exposure + DROP

    lo = optimize.brentq(drop, rate * 1e-9, rate)
    hi_end = rate * 2
    while drop(hi_end) > 0:
        hi_end *= 2
    hi = optimize.brentq(drop, rate, hi_end)
    return Estimate(rate, math.sqrt(n) / exposure, (lo, hi))


def poisson_loglik(n: int, rate: float, exposure: float) -> float:
    if rate <= 0:
        return 0.0 if n == 0 else -math.inf
    return n * math.log(rate) - rate * exposure


def _incident(rate: Estimate) -> Estimate:
    def prob(r: float | None) -> float | None:
        return None if r is None else -math.expm1(-r)

    assert rate.value is not None
    se = None if rate.se is None else math.exp(-rate.value) * rate.se
    return Estimate(prob(rate.value), se, (prob(rate.ci95[0]), prob(rate.ci95[1])))


# --------------------------------------------------------------------------- parties


@dataclass
class _PartyModel:
    """One party's likelihood with some of (rate, boost, half-life) free."""

    data: PartyData
    free_rate: bool
    free_boost: bool
    free_half: bool
    boost: float
    half: float
    h_bounds: tuple[float, float]

    def ll(self, log_boost: float | None, log_half: float | None) -> float:
        b = math.exp(log_boost) if log_boost is not None else self.boost
        h = math.exp(log_half) if log_half is not None else self.half
        if self.free_rate:
            return self.data.profile_rate(b, h)[1]
        return self.data.loglik(1.0, b, h)

    def vector_ll(self, z: np.ndarray) -> float:
        it = iter(z)
        lb = float(next(it)) if self.free_boost else None
        lh = float(next(it)) if self.free_half else None
        return self.ll(lb, lh)

    def log_bounds(self, which: str) -> tuple[float, float]:
        lo, hi = BOOST_BOUNDS if which == "boost" else self.h_bounds
        return math.log(lo), math.log(hi)

    def bounds(self) -> list[tuple[float, float]]:
        out = []
        if self.free_boost:
            out.append(self.log_bounds("boost"))
        if self.free_half:
            out.append(self.log_bounds("half"))
        return out

    def maximise(self) -> tuple[np.ndarray, float]:
        """The maximiser of the (rate-profiled) likelihood over the free boost/half-life:
        the best of a coarse grid, polished by Nelder–Mead (or Brent in one dimension)."""
        bounds = self.bounds()
        if not bounds:
            return np.zeros(0), self.vector_ll(np.zeros(0))
        axes = [np.linspace(lo + 0.5, hi - 0.5, 7) for lo, hi in bounds]
        grid = np.stack(np.meshgrid(*axes, indexing="ij"), -1).reshape(-1, len(bounds))
        values = np.array([self.vector_ll(z) for z in grid])
        z0 = grid[int(np.argmax(values))]
        if len(bounds) == 1:
            step = axes[0][1] - axes[0][0]
            lo, hi = max(bounds[0][0], z0[0] - step), min(bounds[0][1], z0[0] + step)
            res = optimize.minimize_scalar(
                lambda x: -self.vector_ll(np.array([x])),
                bounds=(lo, hi),
                method="bounded",
                options={"xatol": 1e-5},
            )
            return np.array([res.x]), float(-res.fun)
        res = optimize.minimize(
            lambda z: -self.vector_ll(z),
            z0,
            method="Nelder-Mead",
            bounds=bounds,
            options={"xatol": 1e-4, "fatol": 1e-7, "maxfev": 2000},
        )
        return np.asarray(res.x, float), float(-res.fun)

    def profile(self, which: str, x: float, guess: float | None) -> tuple[float, float]:
        """``(max ℓ, argmax)`` with ``which`` ('boost' or 'half', log scale) fixed at ``x``,
        maximising over the other one when it is free (near ``guess`` if given)."""
        other_free = self.free_half if which == "boost" else self.free_boost
        if not other_free:
            value = self.ll(x, None) if which == "boost" else self.ll(None, x)
            return value, math.nan

        def neg(y: float) -> float:
            return -(self.ll(x, y) if which == "boost" else self.ll(y, x))

        lo, hi = self.log_bounds("half" if which == "boost" else "boost")
        if guess is None or not math.isfinite(guess):
            grid = np.linspace(lo, hi, 13)
            values = [neg(y) for y in grid]
            i = int(np.argmin(values))
            a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
        else:
            a, b = max(lo, guess - 1.0), min(hi, guess + 1.0)
        res = optimize.minimize_scalar(
            neg, bounds=(a, b), method="bounded", options={"xatol": 1e-3}
        )
        return -float(res.fun), float(res.x)

    def interval(
        self, which: str, x_hat: float, nuisance: float, ll_hat: float
    ) -> tuple[float | None, float | None]:
        """Profile-likelihood 95% interval on the natural scale; ``None`` at a search bound."""
        seen: list[tuple[float, float]] = [(x_hat, nuisance)]

        def g(x: float) -> float:
            near = min(seen, key=lambda p: abs(p[0] - x))
            guess = near[1] if abs(near[0] - x) < 1.0 else None
            value, arg = self.profile(which, x, guess)
            seen.append((x, arg))
            return value - (ll_hat - DROP)

        ends: list[float | None] = []
        for bound in self.log_bounds(which):
            if abs(bound - x_hat) < 1e-9 or g(bound) > 0:
                ends.append(None)
                continue
            a, b = sorted((x_hat, bound))
            ends.append(math.exp(optimize.brentq(g, a, b, xtol=5e-3)))
        return ends[0], ends[1]


def _hessian(f: Any, x: np.ndarray, step: float = 1e-3) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``x``."""
    k = x.size
    h = np.zeros((k, k))
    f0 = f(x)
    for i in range(k):
        ei = np.zeros(k)
        ei[i] = step
        h[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / step**2
        for j in range(i):
            ej = np.zeros(k)
            ej[j] = step
            h[i, j] = h[j, i] = (
                f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)
            ) / (4 * step**2)
    return h


def fit_party(
    data: PartyData,
    *,
    free: set[str],
    boost: float,
    half_life_hours: float,
) -> tuple[dict[str, Estimate], tuple[float, float, float]]:
    """Fit a party's ``free`` subset of {'rate', 'boost', 'half'}; the others are held.

    ``data`` must be built with day weights ``1 − pressure`` when the rate is free and
    ``μ(d)·(1 − pressure)`` when it is held (the scale is then 1), so that the fitted
    scale is μ. Returns the estimates and the parameters ``(c, boost, half-life)`` at the
    optimum, for the likelihood.
    """
    span_hours = 24.0 * (data.span[1] - data.span[0])
    h_bounds = (HALF_LIFE_MIN, HALF_LIFE_SPANS * span_hours)
    n = data.own.size
    excitable = data.hostile.size > 0 and n > 0
    model = _PartyModel(
        data,
        "rate" in free,
        "boost" in free and excitable,
        "half" in free and excitable,
        boost if "boost" not in free else 0.0,
        half_life_hours,
        h_bounds,
    )
    out: dict[str, Estimate] = {}
    reason = "no violations by the party" if n == 0 else "no hostile events against its side"
    if not excitable:
        for p in ("boost", "half"):
            if p in free:
                out[p] = Estimate(None, None, (None, None), f"not identified: {reason}")
    z, ll_hat = model.maximise()
    it = iter(z)
    b = math.exp(next(it)) if model.free_boost else model.boost
    h = math.exp(next(it)) if model.free_half else model.half
    boost_zero = model.free_boost and b <= BOOST_BOUNDS[0] * 1.001
    if boost_zero:
        b = 0.0
    # the likelihood can keep rising towards instantaneous retaliation (boost → ∞, base
    # rate → 0): then neither the boost nor the base rate is identified
    boost_top = model.free_boost and b >= BOOST_BOUNDS[1] * 0.999
    c = data.profile_rate(b, h)[0] if model.free_rate else 1.0
    # observed information on (log c, log b, log h), the free ones not at a boundary
    names = [
        p
        for p, on in (
            ("rate", model.free_rate and n > 0),
            ("boost", model.free_boost and not (boost_zero or boost_top)),
            ("half", model.free_half and not boost_zero),
        )
        if on
    ]
    se: dict[str, float | None] = dict.fromkeys(names)
    if names:
        point = {"rate": c, "boost": b, "half": h}
        x0 = np.array([math.log(point[p]) for p in names])

        def full(x: np.ndarray) -> float:
            v = dict(point)
            v.update({p: math.exp(xi) for p, xi in zip(names, x, strict=True)})
            return data.loglik(v["rate"], v["boost"], v["half"])

        info = -_hessian(full, x0)
        try:
            cov = np.linalg.inv(info)
            if np.all(np.linalg.eigvalsh(info) > 0):
                se = {p: math.sqrt(cov[i, i]) for i, p in enumerate(names)}
        except np.linalg.LinAlgError:
            pass
    if model.free_rate:
        mu = c  # the weights carry 1 − pressure, so the scale is μ itself
        s = se.get("rate")
        if n == 0:
            out["rate"] = Estimate(0.0, None, (0.0, DROP / data.base))
        elif boost_top:  # on the ridge where the boost runs to its bound the rate means nothing
            out["rate"] = Estimate(
                None,
                None,
                (None, None),
                "not identified: it trades off against the boost, which runs to its search bound",
            )
        elif s is None:
            out["rate"] = Estimate(mu, None, (None, None), "observed information not definite")
        else:
            ci = (mu * math.exp(-Z95 * s), mu * math.exp(Z95 * s))
            out["rate"] = Estimate(mu, mu * s, ci)
    if model.free_boost:
        zb = math.log(max(b, BOOST_BOUNDS[0]))
        lo, hi = model.interval("boost", zb, math.log(h), ll_hat)
        lo = 0.0 if lo is None else lo  # reaching the lower bound: no retaliation fits too
        s = se.get("boost")
        note = "" if hi is not None else "not identified: the upper end reaches the search bound"
        if boost_top:
            note = "not identified: the likelihood still rises at the search bound"
        value = None if boost_top else b
        out["boost"] = Estimate(value, None if s is None else b * s, (lo, hi), note)
    rate_est = out.get("rate")
    boost_est = out.get("boost")
    open_boost = boost_est is not None and boost_est.ci95[1] is None
    if rate_est is not None and open_boost and n and not boost_top:
        # the base rate trades off against the boost along the likelihood's ridge: with the
        # boost's interval open, the rate's (Wald) interval is not to be trusted either
        out["rate"] = Estimate(
            rate_est.value,
            rate_est.se,
            (None, None),
            "not identified: it trades off against the boost, whose interval is open",
        )
    if model.free_half:
        s = se.get("half")
        if boost_zero:
            out["half"] = Estimate(
                None, None, (None, None), "not identified: the boost is estimated at 0"
            )
        else:
            lo, hi = model.interval("half", math.log(h), math.log(max(b, 1e-300)), ll_hat)
            note = ""
            if lo is None or hi is None:
                note = "not identified: the 95% interval reaches the search bound"
            out["half"] = Estimate(h, None if s is None else h * s, (lo, hi), note)
    return out, (c, b, h)


# --------------------------------------------------------------------------- the fit


def _party_data(scenario: Scenario, events: Events, name: str, rate_free: bool) -> PartyData:
    party = scenario.parties[name]
    side = party.side
    scale = 1.0 - scenario.pressure_on(name)
    span = events.span
    days = range(math.floor(span[0]), math.ceil(span[1]))
    if rate_free:
        weights = dict.fromkeys(days, scale)
    else:
        rates = scenario.base_rates(name)
        outside = [d for d in days if not 0 <= d < len(rates)]
        if outside and isinstance(party.violation_rate or party.violation_prob, tuple):
            raise UsageError(
                f"the span reaches day {outside[0]}, beyond the daily rates of '{name}' "
                f"(days 0..{len(rates) - 1}): fit parties.{name}.violation_rate or narrow --span"
            )
        weights = {d: rates[min(max(d, 0), len(rates) - 1)] * scale for d in days}
    own = events.times[events.of(name)]
    hostile = events.times[events.against(side)]
    return PartyData.build(own, hostile, span, weights)


def fit(scenario: Scenario, events: Events, keys: Sequence[str] | None = None) -> Fit:
    """Fit ``keys`` (default: :func:`default_keys`) of ``scenario`` to ``events``."""
    if scenario.phases:
        raise UsageError(
            "fit does not handle phased agreements (their values change by phase): fit a "
            "scenario without 'phases' over the span of one phase"
        )
    keys = default_keys(scenario, events) if keys is None else check_keys(scenario, events, keys)
    if not keys:
        raise UsageError(f"{events.file}: nothing to fit")
    wanted = set(keys)
    counts = events.counts()
    exposure = events.span[1] - events.span[0]
    estimates: dict[str, Estimate] = {}
    rescaled: dict[str, np.ndarray] = {}
    loglik = 0.0
    short = {"violation_rate": "rate", "retaliation.boost": "boost"}
    short["retaliation.half_life_hours"] = "half"
    for name, party in scenario.parties.items():
        prefix = f"parties.{name}."
        free = {short[f] for f in short if prefix + f in wanted}
        data = _party_data(scenario, events, name, "rate" in free)
        if data.own.size and not np.isfinite(data.own_weight_log):
            raise UsageError(
                f"'{name}' has violations on days where its rate in the scenario is 0: "
                f"fit parties.{name}.violation_rate"
            )
        found, (c, b, h) = fit_party(
            data,
            free=free,
            boost=party.retaliation.boost,
            half_life_hours=party.retaliation.half_life_hours,
        )
        for f, p in short.items():
            if p in found:
                estimates[prefix + f] = found[p]
        loglik += data.loglik(c, b, h)
        if data.own.size:
            lam = data.compensator_at(data.own, c, b, h)
            rescaled[name] = np.diff(np.concatenate([[0.0], lam]))
        if prefix + "major_share" in wanted:
            m = events.major[events.of(name)]
            m = m[~np.isnan(m)]
            estimates[prefix + "major_share"] = binomial(int(m.sum()), m.size)
    for name in scenario.spoilers:
        key = f"spoilers.{name}.attack_rate"
        n = counts.get(name, 0)
        rate = scenario.attack_rate(name)
        if key in wanted:
            estimates[key] = poisson_rate(n, exposure)
            rate = n / exposure
        loglik += poisson_loglik(n, rate, exposure)
        if n:
            rescaled[name] = rate * np.diff(
                np.concatenate([[events.span[0]], _times(events, name)])
            )
        if f"spoilers.{name}.blame_prob" in wanted:
            m = events.blamed[events.of(name)]
            m = m[~np.isnan(m)]
            estimates[f"spoilers.{name}.blame_prob"] = binomial(int(m.sum()), m.size)
    for name, g in scenario.guarantors.items():
        key = f"guarantors.{name}.incident_prob"
        n = counts.get(name, 0)
        rate = -math.log1p(-g.incident_prob)
        if key in wanted:
            est = poisson_rate(n, exposure)
            estimates[key] = _incident(est)
            rate = n / exposure
        loglik += poisson_loglik(n, rate, exposure)
        if n:
            rescaled[name] = rate * np.diff(
                np.concatenate([[events.span[0]], _times(events, name)])
            )
    if not math.isfinite(loglik):
        zero = next(a for a in counts if a in rescaled and not np.all(np.isfinite(rescaled[a])))
        raise UsageError(f"'{zero}' has events but a rate of 0 in the scenario: fit its rate")
    gof = {}
    for actor, gaps in rescaled.items():
        if gaps.size and np.all(np.isfinite(gaps)) and np.all(gaps >= 0):
            res = stats.kstest(gaps, "expon")
            gof[actor] = {"ks": float(res.statistic), "p_value": float(res.pvalue), "n": gaps.size}
    order = [k for k in keys if k in estimates]
    return Fit(
        scenario=scenario,
        events=events,
        estimates={k: estimates[k] for k in order},
        loglik=float(loglik),
        n_events=counts,
        gof=gof,
        rescaled=rescaled,
    )


def _times(events: Events, actor: str) -> np.ndarray:
    return events.times[events.of(actor)]


__all__ = [
    "FITTABLE",
    "Estimate",
    "Fit",
    "binomial",
    "check_keys",
    "default_keys",
    "fit",
    "fit_party",
    "poisson_rate",
]
