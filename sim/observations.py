"""What monitors report: the predictive distribution of each recorded count, and its score.

A scenario's ``observations:`` block says how a monitor's published counts relate to the
model's events. For series ``s``, run ``r`` and day ``d`` the report is negative binomial with

    mean  m = background + per_event · n_d      (n_d: the run's events of the counted actors)
    var   = m + dispersion · m²                 (dispersion 0: Poisson)

A day is *after the collapse* of a run when it starts after the collapse (``d > collapse_time``;
the day that contains the collapse keeps the model's count); on such days the mean is
``after_collapse``, or, when that is null, the run is left out of the day's distribution (and
of every total that includes the day). A total over days ``[a, b)`` is the sum of one run's
daily reports. With ``integrate``, each run uses its own values of any uncertain observation
key (``observations.S.per_event`` ...), drawn from the same streams as the runner's.

The predictive distribution of a recorded value is the mixture over runs:

- **daily points**: exact given the runs — the mixture of the runs' negative binomial pmfs
  (each run's pmf summed until, past its mean, its terms fall below 1e-18). Mean, 5/25/75/95%
  quantiles (the smallest k with F(k) ≥ q), the randomised PIT and the CRPS
  (``Σ_k (F(k) − 1{y ≤ k})²``) all come from it.
- **totals**: from a sample of one simulated report per run (each run's daily reports drawn by
  inversion from the uniforms of stream (seed, run, ``observation:S``), block ``d`` for day
  ``d``), summed over the days. The mean is exact (the mean of the runs' summed means);
  quantiles and the PIT come from the sample's empirical CDF, the CRPS from the unbiased
  ("fair") ensemble estimator ``mean|X−y| − Σ_{i,j}|X_i−X_j| / (2n(n−1))``.

The randomised PIT for counts (Czado, Gneiting & Held 2009, Biometrics 65:1254) is
``F(y−1) + v·(F(y) − F(y−1))`` with ``v`` uniform from stream (seed, point, ``observation-pit:S``);
it is uniform on [0, 1] when the data come from the predictive distribution. A point is
covered by the central 50% (90%) interval when ``q25 ≤ y ≤ q75`` (``q05 ≤ y ≤ q95``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numba as nb
import numpy as np

from . import streams, uncertainty
from .records import Columns
from .scenario import OBSERVATION_KEYS, Observation, ObservedPoint, Scenario

FIELDS = OBSERVATION_KEYS
"""The observation values that may be uncertain (keys ``observations.S.<field>``)."""

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)


# --------------------------------------------------------------------------- per-run values


def is_observation_key(key: str) -> bool:
    return key.startswith("observations.")


def run_values(
    scenario: Scenario, name: str, theta: np.ndarray | None, runs: int
) -> dict[str, np.ndarray]:
    """Each run's ``per_event``, ``background``, ``dispersion``, ``after_collapse`` (nan:
    null) for series ``name``: the scenario's values, or the run's draw (``theta``, columns
    in the order of ``scenario.uncertainties``) for uncertain ones."""
    obs = scenario.observations[name]
    keys = uncertainty.keys(scenario)
    out = {}
    for f in FIELDS:
        value = getattr(obs, f)
        column = np.full(runs, np.nan if value is None else float(value))
        key = f"observations.{name}.{f}"
        if theta is not None and key in keys:
            column = np.asarray(theta[:, keys.index(key)], float).copy()
        out[f] = column
    return out


def draw_theta(scenario: Scenario, seed: int, runs: int) -> np.ndarray | None:
    """The runs' values of the uncertain assumptions, exactly as ``simulate(...,
    integrate=True)`` draws them (stream (seed, run, ``uncertainty:key``) per key)."""
    if not scenario.uncertainties:
        return None
    from .runner import draw_theta as runner_draw

    return runner_draw(scenario, seed, np.arange(runs))


# --------------------------------------------------------------------------- daily means


def daily_means(
    scenario: Scenario, name: str, cols: Columns, values: dict[str, np.ndarray]
) -> np.ndarray:
    """``[runs, days]`` mean report of every run and day (nan: left out, after a collapse
    with ``after_collapse: null``)."""
    obs = scenario.observations[name]
    sources = [*scenario.parties, *scenario.spoilers, *scenario.guarantors]
    idx = [sources.index(a) for a in obs.counts]
    events = cols.events_daily[:, idx, :].sum(axis=1).astype(float)
    m = values["background"][:, None] + values["per_event"][:, None] * events
    days = np.arange(events.shape[1], dtype=float)
    collapse = cols.collapse_time
    after = days[None, :] > np.where(np.isnan(collapse), np.inf, collapse)[:, None]
    return np.where(after, values["after_collapse"][:, None], m)


# --------------------------------------------------------------------------- compiled kernels


@nb.njit(cache=True)
def _log_p0(m: float, a: float) -> float:
    """log P(0) of Poisson(m) (a = 0) or NegBin(mean m, var m + a·m²)."""
    if a == 0.0:
        return -m
    return -math.log1p(a * m) / a


@nb.njit(cache=True)
def _ratio(k: int, m: float, a: float) -> float:
    """p_{k+1} / p_k."""
    if a == 0.0:
        return m / (k + 1)
    return (k + 1.0 / a) / (k + 1) * (a * m / (1.0 + a * m))


def limits(m: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Counts far beyond any mass that matters: 50 standard deviations past the mean (the
    sums stop earlier, once past the mean the terms fall below 1e-18)."""
    return (m + 50.0 * np.sqrt(m + a * m * m) + 50.0).astype(np.int64)


@nb.njit(cache=True)
def _terms(m: float, a: float, size: int, w: float, out: np.ndarray) -> None:
    """Add ``w·pmf(k)`` for k < size to ``out`` (in log space while the terms underflow)."""
    logp = _log_p0(m, a)
    k = 0
    while k < size and logp < -700.0:
        logp += math.log(_ratio(k, m, a))
        k += 1
    p = math.exp(logp)
    while k < size:
        out[k] += w * p
        if k > m and p < 1e-18:
            break
        p *= _ratio(k, m, a)
        k += 1


@nb.njit(cache=True)
def mixture_pmf(m: np.ndarray, a: np.ndarray, w: np.ndarray, size: int) -> np.ndarray:
    """``Σ_c w_c · pmf_c(k)`` for k = 0..size-1 (components with mean m_c, dispersion a_c)."""
    out = np.zeros(size)
    for c in range(m.size):
        if m[c] <= 0.0:
            out[0] += w[c]
        else:
            _terms(m[c], a[c], size, w[c], out)
    return out


@nb.njit(cache=True)
def draw_reports(u: np.ndarray, m: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Reports by inversion: the smallest k with F(k) ≥ u, F of mean m and dispersion a."""
    out = np.zeros(u.size, np.int64)
    for i in range(u.size):
        if m[i] <= 0.0:
            continue
        limit = int(m[i] + 50.0 * math.sqrt(m[i] + a[i] * m[i] * m[i]) + 50.0)
        logp = _log_p0(m[i], a[i])
        k = 0
        while k < limit and logp < -700.0:
            logp += math.log(_ratio(k, m[i], a[i]))
            k += 1
        p = math.exp(logp)
        cum = p
        while cum < u[i] and k < limit:
            p *= _ratio(k, m[i], a[i])
            k += 1
            cum += p
        out[i] = k
    return out


# --------------------------------------------------------------------------- predictive


@dataclass(frozen=True)
class Predictive:
    """The predictive distribution of one recorded value."""

    mean: float
    quantiles: dict[float, float]
    cdf: Any
    """``cdf(k)``: P(report ≤ k)."""
    crps: Any
    """``crps(y)``: the continuous ranked probability score of a recorded ``y``."""
    runs: int
    left_out: int


def exact_daily(m: np.ndarray, a: np.ndarray, at_least: int = 0) -> Predictive:
    """The mixture over runs of NegBin(m_r, a_r) (nan m: left out); its CDF is tabulated up
    to at least ``at_least``."""
    keep = ~np.isnan(m)
    n = int(keep.sum())
    if n == 0:
        return _empty(int(m.size))
    pairs, weight = np.unique(m[keep] + 1j * a[keep], return_counts=True)  # distinct (m, a)
    cm, ca = np.ascontiguousarray(pairs.real), np.ascontiguousarray(pairs.imag)
    size = max(at_least + 2, int(limits(cm, ca).max()) + 1)
    pmf = mixture_pmf(cm, ca, weight / n, size)
    cdf = np.minimum(np.cumsum(pmf), 1.0)

    def F(k: int) -> float:
        return 0.0 if k < 0 else float(cdf[min(k, size - 1)])

    def crps(y: int) -> float:
        step = (np.arange(size) >= y).astype(float)
        return float(np.sum((cdf - step) ** 2))

    quantiles = {q: float(np.searchsorted(cdf, q - 1e-12)) for q in QUANTILES}
    mean = float(np.sum(cm * weight) / n)
    return Predictive(mean, quantiles, F, crps, n, int(m.size) - n)


def sampled(sample: np.ndarray, means: np.ndarray) -> Predictive:
    """A predictive distribution from one report per run (nan entries: left out)."""
    keep = ~np.isnan(sample)
    x = np.sort(sample[keep])
    n = x.size
    if n == 0:
        return _empty(int(sample.size))
    # Σ_{i,j} |x_i − x_j| = 2 Σ_i (2i − n + 1) x_(i)  (0-based, sorted)
    spread = 2.0 * float(np.sum((2 * np.arange(n) - n + 1) * x))

    def F(k: int) -> float:
        return float(np.searchsorted(x, k, side="right")) / n

    def crps(y: int) -> float:
        pair = spread / (2.0 * n * (n - 1)) if n > 1 else 0.0
        return float(np.mean(np.abs(x - y))) - pair

    quantiles = {q: float(x[max(0, math.ceil(q * n - 1e-9) - 1)]) for q in QUANTILES}
    mean = float(np.mean(means[keep]))
    return Predictive(mean, quantiles, F, crps, n, int(sample.size) - n)


def _empty(total: int) -> Predictive:
    nan = float("nan")
    return Predictive(nan, dict.fromkeys(QUANTILES, nan), lambda k: nan, lambda y: nan, 0, total)


def randomised_pit(pred: Predictive, y: int, v: float) -> float:
    """``F(y−1) + v·(F(y) − F(y−1))`` (Czado et al. 2009)."""
    lo, hi = pred.cdf(y - 1), pred.cdf(y)
    return lo + v * (hi - lo)


# --------------------------------------------------------------------------- one series


@dataclass
class SeriesCheck:
    """Every recorded value of one series scored against its predictive distribution."""

    name: str
    observation: Observation
    points: list[dict[str, Any]]
    fan: dict[float, np.ndarray]
    """Exact daily quantiles (``q -> [days]``) for the figure."""
    totals: list[tuple[ObservedPoint, Predictive]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        scored = [p for p in self.points if p["runs"] > 0]
        crps = [p["crps"] for p in scored]
        return {
            "label": self.observation.label,
            "counts": list(self.observation.counts),
            "points": self.points,
            "crps_mean": float(np.mean(crps)) if crps else None,
            "coverage50": _share(scored, "q25", "q75"),
            "coverage90": _share(scored, "q05", "q95"),
            "left_out": sum(p["left_out"] for p in self.points),
        }


def _share(points: list[dict[str, Any]], lo: str, hi: str) -> float | None:
    if not points:
        return None
    return sum(p[lo] <= p["count"] <= p[hi] for p in points) / len(points)


def reports_sample(seed: int, name: str, means: np.ndarray, dispersion: np.ndarray) -> np.ndarray:
    """One simulated report per run and day (``[runs, days]``; nan where left out): day ``d``
    of run ``r`` inverts the first uniform of block ``d`` of stream (seed, r, observation:S)."""
    runs, days = means.shape
    key = streams.mechanism_key("observation", name)
    run_index = np.arange(runs, dtype=np.int64)
    out = np.full(means.shape, np.nan)
    for d in range(days):
        u = streams.uniforms(streams.seed_key(seed), key, run_index, d)
        keep = ~np.isnan(means[:, d])
        out[keep, d] = draw_reports(
            np.ascontiguousarray(u[keep]),
            np.ascontiguousarray(means[keep, d]),
            np.ascontiguousarray(dispersion[keep]),
        )
    return out


def pit_uniforms(seed: int, name: str, n: int) -> np.ndarray:
    """The PIT's randomisation ``v`` of each point: stream (seed, point, observation-pit:S)."""
    key = streams.mechanism_key("observation-pit", name)
    return streams.uniforms(streams.seed_key(seed), key, np.arange(n, dtype=np.int64), 0)


def check_series(
    scenario: Scenario, name: str, cols: Columns, seed: int, theta: np.ndarray | None
) -> SeriesCheck:
    """Score series ``name`` of ``scenario`` against runs ``cols`` simulated with ``seed``."""
    obs = scenario.observations[name]
    values = run_values(scenario, name, theta, cols.runs)
    means = daily_means(scenario, name, cols, values)
    dispersion = values["dispersion"]
    days = means.shape[1]
    top = max((p.count for p in obs.data if p.day is not None), default=0)
    daily = [exact_daily(means[:, d], dispersion, top) for d in range(days)]
    fan = {q: np.array([p.quantiles[q] for p in daily]) for q in QUANTILES}
    needs_sample = any(p.days is not None for p in obs.data)
    sample = reports_sample(seed, name, means, dispersion) if needs_sample else None
    v = pit_uniforms(seed, name, len(obs.data))
    points, totals = [], []
    for i, point in enumerate(obs.data):
        if point.day is not None:
            pred = daily[point.day]
            where: dict[str, Any] = {"day": point.day}
        else:
            a, b = point.days  # type: ignore[misc]
            assert sample is not None
            pred = sampled(sample[:, a:b].sum(axis=1), means[:, a:b].sum(axis=1))
            totals.append((point, pred))
            where = {"days": [a, b]}
        points.append(_scored(where, point, pred, float(v[i])))
    return SeriesCheck(name, obs, points, fan, totals)


def _scored(where: dict[str, Any], point: ObservedPoint, pred: Predictive, v: float) -> dict:
    y = point.count
    q = pred.quantiles
    out: dict[str, Any] = {**where, "count": y, "source": point.source, "mean": _num(pred.mean)}
    out.update({f"q{round(k * 100):02d}": _num(val) for k, val in q.items() if k != 0.5})
    out["median"] = _num(q[0.5])
    out["pit"] = _num(randomised_pit(pred, y, v)) if pred.runs else None
    out["crps"] = _num(pred.crps(y)) if pred.runs else None
    out.update({"runs": pred.runs, "left_out": pred.left_out})
    return out


def _num(x: float) -> float | None:
    if x is None or math.isnan(x):
        return None
    return int(x) if float(x).is_integer() else round(float(x), 6)


# --------------------------------------------------------------------------- whole scenario


def engine_scenario(scenario: Scenario) -> Scenario:
    """The scenario the engine runs: without the uncertain observation keys (the engines
    ignore observations, and the other keys' draws do not depend on them)."""
    from types import MappingProxyType

    kept = {k: d for k, d in scenario.uncertainties.items() if not is_observation_key(k)}
    if len(kept) == len(scenario.uncertainties):
        return scenario
    return scenario.model_copy(update={"uncertainties": MappingProxyType(kept)})
