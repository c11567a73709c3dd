"""Every engine against closed-form answers (the model of docs/model.md).

Every test builds a scenario whose behaviour has an exact analytic answer, simulates it at a
fixed seed and compares. Tolerances are never hand-picked: a proportion or a mean may differ
from its closed form by at most ``Z = 4.5`` standard errors of the sample at hand, and a
distribution must pass a chi-square (counts) or Kolmogorov–Smirnov (times) goodness-of-fit
test at ``P_MIN = 1e-4``. Closed forms are computed here from the scenario's own numbers,
never with the simulator's helpers (``Scenario.base_rates`` and friends), so a wrong helper
cannot hide behind itself.
"""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pytest
from scipy import linalg, stats

import sim
from sim import Results, Scenario

Z = 4.5
"""Allowed distance from a closed form, in standard errors of the sample."""
P_MIN = 1e-4
"""Smallest acceptable p-value of a goodness-of-fit test (at a fixed seed)."""
WINDOW = 7

TRIGGERED, COLLAPSE, VIOLENCE, ACCESS = (
    sim.OUTCOMES.index(code)
    for code in ("triggered", "cancelled_collapse", "cancelled_violence", "cancelled_access")
)

Party = dict[str, Any]


# --------------------------------------------------------------------------- helpers


def make_scenario(parties: Mapping[str, Party], *, window: int = WINDOW, **blocks: Any) -> Scenario:
    """A validated scenario with these parties and optional top-level blocks."""
    return sim.scenario_from_dict(
        {
            "name": "closed-form",
            "title": "closed-form test",
            "window_days": window,
            "parties": dict(parties),
            **blocks,
        }
    )


ENGINE = "simpy"
"""The engine under test; the autouse fixture below runs every test with every engine."""


@pytest.fixture(autouse=True, params=list(sim.ENGINES))
def engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(sys.modules[__name__], "ENGINE", request.param)
    return request.param


def sized(runs: int) -> int:
    """``runs`` on the fast engine, a quarter on SimPy: the engines give the same runs, run by
    run (tests/test_engines.py), so SimPy's closed-form checks need not be as tight, and the
    tolerances (Z standard errors of the sample) follow the size."""
    return runs if ENGINE == "fast" else runs // 4


def simulate(scenario: Scenario, runs: int, seed: int) -> Results:
    return sim.simulate(scenario, runs=runs, seed=seed, engine=ENGINE, progress=False)


def daily_rates(party: Party, window: int = WINDOW) -> np.ndarray:
    """μ(d) for d = 0..window−1, from ``violation_prob`` (−ln(1−p)) or ``violation_rate``."""
    if "violation_rate" in party:
        values = np.asarray(party["violation_rate"], dtype=float)
    else:
        values = -np.log1p(-np.asarray(party["violation_prob"], dtype=float))
    return np.broadcast_to(values, (window,)).copy()


def cumulative_hazard(daily: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """∫₀ᵗ of a hazard that is ``daily[d]`` on day ``d`` (piecewise constant)."""
    t = np.asarray(t, dtype=float)
    edges = np.concatenate([[0.0], np.cumsum(daily)])
    day = np.clip(np.floor(t).astype(int), 0, daily.size - 1)
    return edges[day] + (t - day) * daily[day]


def nth_event_cdf(n: int, daily: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """CDF of the time of the ``n``-th event of a Poisson process with this daily hazard,
    conditioned on that event happening inside the window: P(Poisson(Λ(t)) ≥ n) / (same at W).
    """
    inside = stats.poisson.sf(n - 1, cumulative_hazard(daily, daily.size))

    def cdf(t: np.ndarray) -> np.ndarray:
        return stats.poisson.sf(n - 1, cumulative_hazard(daily, t)) / inside

    return cdf


def assert_proportion(hits: int | np.integer, runs: int, p: float, what: str) -> None:
    """``hits / runs`` within Z standard errors of the closed-form probability ``p``."""
    if p in (0.0, 1.0):
        assert hits == round(p * runs), f"{what}: {hits}/{runs}, expected exactly p={p}"
        return
    se = math.sqrt(p * (1 - p) / runs)
    got = hits / runs
    assert abs(got - p) <= Z * se, (
        f"{what}: simulated {got:.5f}, closed form {p:.5f}, "
        f"{abs(got - p) / se:.1f} standard errors apart (n={runs})"
    )


def assert_mean(sample: np.ndarray, mean: float, sd: float, what: str) -> None:
    """The sample mean within Z standard errors (``sd / √n``) of the closed-form ``mean``."""
    sample = np.asarray(sample, dtype=float)
    se = sd / math.sqrt(sample.size)
    got = float(sample.mean())
    if se == 0:
        assert got == mean, f"{what}: mean {got}, expected exactly {mean}"
        return
    assert abs(got - mean) <= Z * se, (
        f"{what}: simulated mean {got:.5f}, closed form {mean:.5f}, "
        f"{abs(got - mean) / se:.1f} standard errors apart (n={sample.size})"
    )


def assert_poisson_moments(sample: np.ndarray, mean: float, what: str) -> None:
    """Mean and variance of a Poisson(``mean``) sample (Var s² ≈ (λ + 2λ²)/n)."""
    assert_mean(sample, mean, math.sqrt(mean), f"{what} (mean)")
    var = float(np.var(sample, ddof=1))
    se = math.sqrt((mean + 2 * mean**2) / sample.size)
    assert abs(var - mean) <= Z * se, (
        f"{what}: variance {var:.5f}, closed form {mean:.5f}, "
        f"{abs(var - mean) / se:.1f} standard errors apart (n={sample.size})"
    )


def poisson_pmf(mean: float) -> np.ndarray:
    """P(X = k) for k = 0..K, K far enough in the tail for a chi-square test."""
    top = int(stats.poisson.ppf(1 - 1e-12, mean)) + 2
    return stats.poisson.pmf(np.arange(top + 1), mean)


def assert_discrete_fit(sample: np.ndarray, pmf: np.ndarray, what: str) -> None:
    """Chi-square goodness of fit of a non-negative integer sample to ``pmf``.

    ``pmf[k]`` is P(X = k); the mass beyond the last value is lumped with it. Neighbouring
    values are merged until every bin expects at least 5 runs.
    """
    sample = np.asarray(sample, dtype=np.int64)
    n, top = sample.size, len(pmf) - 1
    observed = np.bincount(np.minimum(sample, top), minlength=top + 1).astype(float)
    expected = n * np.asarray(pmf, dtype=float)
    expected[-1] = n - expected[:-1].sum()
    obs_bins: list[float] = []
    exp_bins: list[float] = []
    o = e = 0.0
    for ok, ek in zip(observed, expected, strict=True):
        o, e = o + ok, e + ek
        if e >= 5:
            obs_bins.append(o)
            exp_bins.append(e)
            o = e = 0.0
    if obs_bins:
        obs_bins[-1] += o
        exp_bins[-1] += e
    assert len(obs_bins) >= 2, f"{what}: too few bins for a chi-square test"
    p = stats.chisquare(obs_bins, exp_bins).pvalue
    assert p > P_MIN, f"{what}: chi-square p = {p:.2e} over {len(obs_bins)} bins (n={n})"


def assert_continuous_fit(
    sample: np.ndarray, cdf: Callable[[np.ndarray], np.ndarray], what: str
) -> None:
    """Kolmogorov–Smirnov goodness of fit of ``sample`` to ``cdf``."""
    assert sample.size >= 50, f"{what}: only {sample.size} values for a KS test"
    p = stats.kstest(sample, cdf).pvalue
    assert p > P_MIN, f"{what}: KS p = {p:.2e} (n={sample.size})"


def collapse_times(results: Results) -> np.ndarray:
    ct = results.columns.collapse_time
    return ct[~np.isnan(ct)]


def assert_collapse_is_nth_event(results: Results, n: int, daily: np.ndarray, what: str) -> None:
    """Collapse exactly at the ``n``-th event of a Poisson process with hazard ``daily``:
    P(collapse) = P(Poisson(Λ(W)) ≥ n), survival at every integer day, and the collapse time
    distribution (KS against the truncated Erlang / piecewise-exponential law).
    """
    c, runs = results.columns, results.runs
    window = daily.size
    assert set(np.unique(c.outcome)) <= {TRIGGERED, COLLAPSE}, f"{what}: unexpected outcomes"
    total = cumulative_hazard(daily, window)
    assert_proportion(
        np.count_nonzero(c.outcome == COLLAPSE),
        runs,
        float(stats.poisson.sf(n - 1, total)),
        f"{what}: P(collapse)",
    )
    for day, surviving in results.survival():
        alive = float(stats.poisson.cdf(n - 1, cumulative_hazard(daily, day)))
        assert_proportion(round(surviving * runs), runs, alive, f"{what}: survival at day {day}")
    times = collapse_times(results)
    assert np.all((times > 0) & (times < window)), f"{what}: collapse outside the window"
    assert_continuous_fit(times, nth_event_cdf(n, daily), f"{what}: collapse times")


# --------------------------------------------------------------------------- 1, 10: tolerance 0


FIRST_VIOLATION_CASES: dict[str, dict[str, Party]] = {
    "constant": {
        "a": {"side": "A", "violation_prob": 0.12},
        "b": {"side": "B", "violation_prob": 0.08},
    },
    "per_day": {
        "a": {"side": "A", "violation_prob": [0.05, 0.10, 0.30, 0.0, 0.20, 0.02, 0.15]},
        "b": {"side": "B", "violation_prob": [0.10, 0.0, 0.05, 0.15, 0.02, 0.25, 0.01]},
    },
    "two_on_one_side": {
        "a": {"side": "A", "violation_prob": 0.06},
        "b": {"side": "B", "violation_prob": [0.04, 0.08, 0.12, 0.02, 0.0, 0.10, 0.05]},
        "c": {"side": "A", "violation_rate": 0.05},
    },
}


def first_violation_results(case: str) -> Results:
    return _first_violation_results(case, ENGINE)


@functools.cache
def _first_violation_results(case: str, engine: str) -> Results:
    """Every tolerance 0, no retaliation, nobody else: the first violation ends the run."""
    parties = {name: {**p, "tolerance": 0.0} for name, p in FIRST_VIOLATION_CASES[case].items()}
    return simulate(make_scenario(parties), runs=20_000, seed=101)


@pytest.mark.parametrize("case", list(FIRST_VIOLATION_CASES))
def test_zero_tolerance_collapses_at_the_first_violation(case: str) -> None:
    parties = FIRST_VIOLATION_CASES[case]
    results = first_violation_results(case)
    c, runs = results.columns, results.runs
    # P(triggered) = Π_d Π_i (1 − p_i(d)), with 1 − p = exp(−rate) for rate-form parties
    p_none = math.prod(
        float(np.prod(1 - np.broadcast_to(p["violation_prob"], (WINDOW,))))
        if "violation_prob" in p
        else math.exp(-p["violation_rate"] * WINDOW)
        for p in parties.values()
    )
    assert_proportion(
        np.count_nonzero(c.outcome == TRIGGERED), runs, p_none, f"{case}: P(triggered)"
    )
    rates = {name: daily_rates(p) for name, p in parties.items()}
    total = sum(rates.values())
    assert isinstance(total, np.ndarray)
    assert math.isclose(math.exp(-total.sum()), p_none)
    assert_collapse_is_nth_event(results, 1, total, case)

    # Who declares it: the first party (file order) of the side the first violation hit.
    # P(first violation is by i, on day d) = μ_i(d)/H(d) · (S(d) − S(d+1)).
    survival = np.exp(-cumulative_hazard(total, np.arange(WINDOW + 1)))
    first_of_side: dict[str, str] = {}
    for name, p in parties.items():
        first_of_side.setdefault(p["side"], name)
    expected = dict.fromkeys(parties, 0.0)
    for name, p in parties.items():
        victim_side = next(s for s in first_of_side if s != p["side"])
        share = np.divide(rates[name], total, out=np.zeros(WINDOW), where=total > 0)
        expected[first_of_side[victim_side]] += float(np.sum(share * -np.diff(survival)))
    for index, name in enumerate(parties):
        assert_proportion(
            np.count_nonzero(c.collapsed_by == index),
            runs,
            expected[name],
            f"{case}: P(collapse declared by {name})",
        )


@pytest.mark.parametrize("case", list(FIRST_VIOLATION_CASES))
def test_survival_curve_is_exponential(case: str) -> None:
    """Survival at integer days: exp(−Λ(d)) (exp(−Λd) for constant rates)."""
    results = first_violation_results(case)
    total = sum(daily_rates(p) for p in FIRST_VIOLATION_CASES[case].values())
    assert isinstance(total, np.ndarray)
    days = [d for d, _ in results.survival()]
    assert days == list(range(WINDOW + 1))
    for day, surviving in results.survival():
        expected = math.exp(-float(cumulative_hazard(total, day)))
        if case == "constant":
            assert math.isclose(expected, math.exp(-total[0] * day))
        assert_proportion(
            round(surviving * results.runs),
            results.runs,
            expected,
            f"{case}: survival at day {day}",
        )


# --------------------------------------------------------------------------- 2, 3: tolerance k


@pytest.mark.parametrize("tolerance", [1.0, 2.0, 2.5, 4.0])
def test_minor_violations_collapse_after_tolerance(tolerance: float) -> None:
    """Minor violations only: the side with tolerance k walks away at violation floor(k)+1."""
    attacker: Party = {"side": "B", "violation_prob": 0.35, "major_share": 0.0}
    parties = {
        "a": {"side": "A", "violation_prob": 0.3, "major_share": 0.0, "tolerance": tolerance},
        "b": attacker,
    }
    results = simulate(make_scenario(parties), runs=10_000, seed=202)
    needed = math.floor(tolerance) + 1
    assert_collapse_is_nth_event(results, needed, daily_rates(attacker), f"tolerance {tolerance}")
    by = results.columns.collapsed_by
    assert np.all(by[results.columns.outcome == COLLAPSE] == 0)


@pytest.mark.parametrize(
    ("tolerance", "weight"), [(2.0, 3.0), (5.0, 3.0), (6.0, 3.0), (5.0, 2.5), (6.0, 2.5)]
)
def test_major_weight_sets_events_to_collapse(tolerance: float, weight: float) -> None:
    """Major-only violations of weight w: collapse at the n-th one, n = ceil((k+ε)/w)."""
    attacker: Party = {"side": "B", "violation_prob": 0.45, "major_share": 1.0}
    parties = {
        "a": {"side": "A", "violation_prob": 0.3, "tolerance": tolerance},
        "b": attacker,
    }
    scn = make_scenario(parties, rules={"major_weight": weight})
    results = simulate(scn, runs=10_000, seed=303)
    needed = math.floor(tolerance / weight) + 1
    assert needed * weight > tolerance >= (needed - 1) * weight
    assert_collapse_is_nth_event(
        results, needed, daily_rates(attacker), f"tolerance {tolerance}, weight {weight}"
    )
    c = results.columns
    assert np.array_equal(c.major_violations[:, 1], c.violations[:, 1])


# --------------------------------------------------------------------------- 2: Poisson counts


COUNT_CASES: dict[str, Party] = {
    "prob_scalar": {"violation_prob": 0.35},
    "prob_per_day": {"violation_prob": [0.1, 0.5, 0.0, 0.3, 0.8, 0.05, 0.2]},
    "rate_scalar": {"violation_rate": 1.7},
    "rate_per_day": {"violation_rate": [0.0, 2.5, 0.4, 1.0, 0.0, 3.0, 0.7]},
}


@pytest.mark.parametrize("case", list(COUNT_CASES))
def test_violation_counts_are_poisson(case: str) -> None:
    """Nobody walks away: party counts are Poisson(Σ_d μ(d)); majors Poisson(share · that)."""
    subject: Party = {"side": "A", "major_share": 0.3, **COUNT_CASES[case]}
    other: Party = {"side": "B", "violation_prob": 0.25}
    results = simulate(make_scenario({"a": subject, "b": other}), runs=10_000, seed=404)
    c = results.columns
    assert np.all(c.outcome == TRIGGERED)
    mean = float(daily_rates(subject).sum())
    if "violation_rate" in subject:
        rate = subject["violation_rate"]
        assert math.isclose(mean, sum(rate) if isinstance(rate, list) else rate * WINDOW)
    else:
        prob = np.broadcast_to(subject["violation_prob"], (WINDOW,))
        assert math.isclose(mean, -float(np.log(np.prod(1 - prob))))
    assert_poisson_moments(c.violations[:, 0], mean, f"{case}: violations")
    assert_discrete_fit(c.violations[:, 0], poisson_pmf(mean), f"{case}: violations")
    assert_mean(
        c.major_violations[:, 0], 0.3 * mean, math.sqrt(0.3 * mean), f"{case}: major violations"
    )
    other_mean = float(daily_rates(other).sum())
    assert_discrete_fit(c.violations[:, 1], poisson_pmf(other_mean), f"{case}: other party")


@pytest.mark.parametrize("targets", [None, ["B", "C"], ["C"]])
def test_violations_split_uniformly_among_target_sides(targets: list[str] | None) -> None:
    """Each violation hits one of the party's target sides, uniformly: Poisson thinning."""
    attacker: Party = {"side": "A", "violation_rate": 1.2, "major_share": 0.0}
    if targets is not None:
        attacker["targets"] = targets
    parties = {
        "a": attacker,
        "b": {"side": "B", "violation_prob": 0.0},
        "c": {"side": "C", "violation_prob": 0.0},
    }
    results = simulate(make_scenario(parties), runs=5_000, seed=505)
    final = results.columns.strain_daily[:, :, -1]
    hit = ["B", "C"] if targets is None else targets
    for index, side in enumerate(("A", "B", "C")):
        mean = 1.2 * WINDOW / len(hit) if side in hit else 0.0
        assert_mean(final[:, index], mean, math.sqrt(mean), f"strain on side {side}")


# --------------------------------------------------------------------------- 4: pressure


@pytest.mark.parametrize("pressure", [0.25, 0.6, 1.0])
def test_guarantor_pressure_scales_the_rate(pressure: float) -> None:
    """A client's violations are Poisson(μ(1−π)W); a non-client is unaffected."""
    parties = {"a": {"side": "A", "violation_prob": 0.4}, "b": {"side": "B", "violation_rate": 0.6}}
    guarantors = {"g": {"clients": ["a"], "pressure": pressure}}
    results = simulate(make_scenario(parties, guarantors=guarantors), runs=10_000, seed=606)
    c = results.columns
    mean = -math.log(1 - 0.4) * (1 - pressure) * WINDOW
    if mean == 0:
        assert np.all(c.violations[:, 0] == 0)
    else:
        assert_poisson_moments(c.violations[:, 0], mean, f"pressure {pressure}: client")
        assert_discrete_fit(c.violations[:, 0], poisson_pmf(mean), f"pressure {pressure}")
    assert_mean(
        c.violations[:, 1],
        0.6 * WINDOW,
        math.sqrt(0.6 * WINDOW),
        f"pressure {pressure}: non-client",
    )


# --------------------------------------------------------------------------- 5: spoilers


QUIET_PARTIES: dict[str, Party] = {
    "a": {"side": "A", "violation_prob": 0.0},
    "b": {"side": "B", "violation_prob": 0.0},
}


@pytest.mark.parametrize(
    ("spoiler", "rate"),
    [
        ({"attack_prob": 0.4, "blame_prob": 0.3, "major_share": 0.25}, -math.log(0.6)),
        ({"attack_rate": 1.2, "blame_prob": 0.75, "major_share": 0.6}, 1.2),
    ],
)
def test_spoiler_attacks_and_blame(spoiler: dict[str, Any], rate: float) -> None:
    """Attacks Poisson(rW); blamed Poisson(rW·b) (thinning); strain = their weights."""
    weight = 3.0
    spoilers = {"s": {**spoiler, "targets": "A", "blamed_on": "b"}}
    results = simulate(make_scenario(QUIET_PARTIES, spoilers=spoilers), runs=10_000, seed=707)
    c = results.columns
    attacks, blamed = c.attacks[:, 0], c.blamed[:, 0]
    assert_poisson_moments(attacks, rate * WINDOW, "attacks")
    assert_discrete_fit(attacks, poisson_pmf(rate * WINDOW), "attacks")
    blamed_mean = rate * WINDOW * spoiler["blame_prob"]
    assert_poisson_moments(blamed, blamed_mean, "blamed attacks")
    assert_discrete_fit(blamed, poisson_pmf(blamed_mean), "blamed attacks")
    assert np.all(blamed <= attacks)
    assert np.all(c.violations == 0), "a blamed attack is never a violation of the blamed party"
    # strain on A: compound Poisson of blamed attacks with weights 1 or w
    share = spoiler["major_share"]
    strain = c.strain_daily[:, 0, -1]
    assert_mean(
        strain,
        blamed_mean * (share * weight + 1 - share),
        math.sqrt(blamed_mean * (share * weight**2 + 1 - share)),
        "strain on A",
    )
    assert np.all(c.strain_daily[:, 1, :] == 0)


@pytest.mark.parametrize("blamed_on", [None, "b"])
def test_unblamed_attacks_add_no_strain(blamed_on: str | None) -> None:
    """blame_prob 0: attacks happen but a tolerance-0 party on the target never walks away."""
    parties = {**QUIET_PARTIES, "a": {**QUIET_PARTIES["a"], "tolerance": 0.0}}
    spoiler: dict[str, Any] = {"attack_prob": 0.5, "major_share": 0.5, "targets": "A"}
    if blamed_on is not None:
        spoiler |= {"blamed_on": blamed_on, "blame_prob": 0.0}
    results = simulate(make_scenario(parties, spoilers={"s": spoiler}), runs=4_000, seed=808)
    c = results.columns
    assert np.all(c.outcome == TRIGGERED)
    assert np.all(np.isnan(c.collapse_time))
    assert np.all(c.strain_daily == 0)
    assert np.all(c.blamed == 0)
    mean = -math.log(0.5) * WINDOW
    assert_mean(c.attacks[:, 0], mean, math.sqrt(mean), "attacks")


@pytest.mark.parametrize("blame_prob", [1.0, 0.4])
def test_blamed_attack_collapse_time_is_exponential(blame_prob: float) -> None:
    """Tolerance 0 on the target: collapse at the first blamed attack, Exp(r·b) in time."""
    parties = {**QUIET_PARTIES, "a": {**QUIET_PARTIES["a"], "tolerance": 0.0}}
    spoilers = {
        "s": {
            "attack_rate": 0.3,
            "major_share": 0.2,
            "targets": "A",
            "blamed_on": "b",
            "blame_prob": blame_prob,
        }
    }
    results = simulate(make_scenario(parties, spoilers=spoilers), runs=10_000, seed=909)
    daily = np.full(WINDOW, 0.3 * blame_prob)
    assert_collapse_is_nth_event(results, 1, daily, f"blame_prob {blame_prob}")
    c = results.columns
    assert np.all(c.collapsed_by[c.outcome == COLLAPSE] == 0)


# --------------------------------------------------------------------------- 6: guarantors


def test_guarantor_incidents_are_poisson_and_major() -> None:
    """Incidents Poisson(−ln(1−q)W), each adding exactly major_weight to the target's strain."""
    guarantors = {"g": {"clients": ["a"], "incident_prob": 0.2, "incident_target": "B"}}
    scn = make_scenario(QUIET_PARTIES, guarantors=guarantors, rules={"major_weight": 2.5})
    results = simulate(scn, runs=10_000, seed=1010)
    c = results.columns
    incidents = c.incidents[:, 0]
    mean = -math.log(0.8) * WINDOW
    assert_poisson_moments(incidents, mean, "incidents")
    assert_discrete_fit(incidents, poisson_pmf(mean), "incidents")
    assert np.array_equal(c.strain_daily[:, 1, -1], 2.5 * incidents)
    assert np.all(c.strain_daily[:, 0, :] == 0)
    assert np.all(c.outcome == TRIGGERED)


@pytest.mark.parametrize("holder", ["party", "guarantor"])
@pytest.mark.parametrize("offset", [-0.5, 0.0, 2.5, 3.0])
def test_guarantor_incident_collapse(holder: str, offset: float) -> None:
    """Tolerance w + offset on the incident target: collapse at incident floor(tol/w)+1,
    declared by whoever holds the tolerance (a party, or a guarantor of that side)."""
    weight, prob = 3.0, 0.15
    tolerance = weight + offset
    parties = {name: dict(p) for name, p in QUIET_PARTIES.items()}
    guarantors: dict[str, dict[str, Any]] = {
        "g": {"clients": ["a"], "incident_prob": prob, "incident_target": "B"},
        "h": {"clients": ["b"]},
    }
    if holder == "party":
        parties["b"]["tolerance"] = tolerance
    else:
        guarantors["h"]["tolerance"] = tolerance
    scn = make_scenario(parties, guarantors=guarantors, rules={"major_weight": weight})
    results = simulate(scn, runs=8_000, seed=1111)
    needed = math.floor(tolerance / weight) + 1
    daily = np.full(WINDOW, -math.log1p(-prob))
    assert_collapse_is_nth_event(results, needed, daily, f"{holder} tolerance {tolerance}")
    actor = 1 if holder == "party" else 3  # actors: parties a, b, then guarantors g, h
    c = results.columns
    assert np.all(c.collapsed_by[c.outcome == COLLAPSE] == actor)


# --------------------------------------------------------------------------- 7: convoys


@pytest.mark.parametrize(
    ("first_day", "per_day", "success", "required"), [(0, 1, 0.6, 5), (2, 3, 0.35, 5)]
)
def test_convoy_deliveries_are_binomial(
    first_day: int, per_day: int, success: float, required: int
) -> None:
    """No violence: deliveries ~ Binomial(c·(W − first_day), s); access fails below required."""
    humanitarian = {
        "first_day": first_day,
        "convoys_per_day": per_day,
        "success_prob": success,
        "required_deliveries": required,
    }
    results = simulate(
        make_scenario(QUIET_PARTIES, humanitarian=humanitarian), runs=10_000, seed=1212
    )
    c = results.columns
    attempts = per_day * (WINDOW - first_day)
    pmf = stats.binom.pmf(np.arange(attempts + 1), attempts, success)
    assert_discrete_fit(c.deliveries, pmf, "deliveries")
    assert_mean(
        c.deliveries,
        attempts * success,
        math.sqrt(attempts * success * (1 - success)),
        "deliveries",
    )
    p_short = float(stats.binom.cdf(required - 1, attempts, success))
    assert_proportion(
        np.count_nonzero(c.outcome == ACCESS), results.runs, p_short, "P(cancelled_access)"
    )
    assert np.all((c.outcome == ACCESS) == (c.deliveries < required))


@pytest.mark.parametrize(("first_day", "rate", "penalty"), [(1, 0.8, 0.5), (0, 1.5, 0.3)])
def test_major_events_reduce_convoy_success(first_day: int, rate: float, penalty: float) -> None:
    """Convoy at d + 0.5 succeeds with s(1−q)^M, M ~ Poisson(r · min(1, d + 0.5)) majors in
    the previous 24 h, independent across days: E = s·exp(−r q) per convoy from day 1 on."""
    per_day, success = 2, 0.7
    spoilers = {"s": {"attack_rate": rate, "major_share": 1.0, "targets": "A"}}
    humanitarian = {
        "first_day": first_day,
        "convoys_per_day": per_day,
        "success_prob": success,
        "major_violation_penalty": penalty,
    }
    scn = make_scenario(QUIET_PARTIES, spoilers=spoilers, humanitarian=humanitarian)
    results = simulate(scn, runs=10_000, seed=1313)
    # exact law of the deliveries: a Poisson mixture of binomials per day, convolved
    pmf = np.array([1.0])
    expected_mean = 0.0
    for day in range(first_day, WINDOW):
        exposure = min(1.0, day + 0.5)
        majors = np.arange(int(stats.poisson.ppf(1 - 1e-15, rate * exposure)) + 5)
        weights = stats.poisson.pmf(majors, rate * exposure)
        chances = success * (1 - penalty) ** majors
        day_pmf = weights @ stats.binom.pmf(
            np.arange(per_day + 1)[None, :], per_day, chances[:, None]
        )
        pmf = np.convolve(pmf, day_pmf)
        # E[(1−q)^M] = exp(−r q) for M ~ Poisson(r)
        expected_mean += per_day * success * math.exp(-rate * exposure * penalty)
    values = np.arange(pmf.size)
    assert math.isclose(float(values @ pmf), expected_mean, rel_tol=1e-9)
    sd = math.sqrt(float(values**2 @ pmf) - expected_mean**2)
    c = results.columns
    assert_mean(c.deliveries, expected_mean, sd, "deliveries")
    assert_discrete_fit(c.deliveries, pmf, "deliveries")


# --------------------------------------------------------------------------- 8: retaliation


HAWKES_CASES: dict[str, dict[str, Any]] = {
    "symmetric": {
        "parties": {
            "a": {
                "side": "A",
                "violation_rate": 0.5,
                "retaliation": {"boost": 1.5, "half_life_hours": 12},
            },
            "b": {
                "side": "B",
                "violation_rate": 0.3,
                "retaliation": {"boost": 1.5, "half_life_hours": 12},
            },
        },
    },
    "asymmetric_per_day_pressure": {
        "parties": {
            "a": {
                "side": "A",
                "violation_prob": [0.1, 0.3, 0.5, 0.2, 0.05, 0.4, 0.3],
                "retaliation": {"boost": 0.8, "half_life_hours": 30},
            },
            "b": {
                "side": "B",
                "violation_rate": [0.6, 0.1, 0.0, 0.4, 0.9, 0.2, 0.5],
                "retaliation": {"boost": 2.0, "half_life_hours": 6},
            },
        },
        "guarantors": {"g": {"clients": ["a"], "pressure": 0.3}},
    },
    "spoiler_and_incident_excite": {
        "parties": {
            "a": {
                "side": "A",
                "violation_rate": 0.4,
                "retaliation": {"boost": 1.0, "half_life_hours": 18},
            },
            "b": {
                "side": "B",
                "violation_rate": 0.2,
                "retaliation": {"boost": 1.2, "half_life_hours": 12},
            },
        },
        "spoilers": {"s": {"attack_rate": 0.5, "targets": "A"}},
        "guarantors": {"g": {"clients": ["a"], "incident_prob": 0.25, "incident_target": "B"}},
    },
}


def hawkes_mean_counts(case: dict[str, Any]) -> tuple[np.ndarray, np.ndarray, float]:
    """Expected violations of parties a, b over the window, the same without excitation,
    and the branching ratio.

    With λ_i = m_i(t)(1 + X_i) and dX_i = −κ_i X_i dt + b_i dH_i (H_i: hostile events against
    i's side, intensity m_j(1 + X_j) + external constant rates), the means obey the linear ODE
    E[X_i]' = −κ_i E[X_i] + b_i (m_j (1 + E[X_j]) + c_i), E[N_i]' = m_i (1 + E[X_i]),
    solved exactly day by day with a matrix exponential (rates are constant within a day).
    """
    parties = case["parties"]
    guarantors = case.get("guarantors", {})
    names = ["a", "b"]
    keep = {
        n: 1 - next((g.get("pressure", 0.0) for g in guarantors.values() if n in g["clients"]), 0.0)
        for n in names
    }
    base = {n: daily_rates(parties[n]) * keep[n] for n in names}
    boost = {n: parties[n]["retaliation"]["boost"] for n in names}
    kappa = {n: math.log(2) / (parties[n]["retaliation"]["half_life_hours"] / 24) for n in names}
    external = {"A": 0.0, "B": 0.0}
    for s in case.get("spoilers", {}).values():
        external[s["targets"]] += s["attack_rate"]
    for g in guarantors.values():
        if g.get("incident_prob", 0.0):
            external[g["incident_target"]] += -math.log1p(-g["incident_prob"])
    # state: E[X_a], E[X_b], E[N_a], E[N_b], 1
    y = np.array([0.0, 0.0, 0.0, 0.0, 1.0])
    for day in range(WINDOW):
        ma, mb = base["a"][day], base["b"][day]
        generator = np.array(
            [
                [-kappa["a"], boost["a"] * mb, 0, 0, boost["a"] * (mb + external["A"])],
                [boost["b"] * ma, -kappa["b"], 0, 0, boost["b"] * (ma + external["B"])],
                [ma, 0, 0, 0, ma],
                [0, mb, 0, 0, mb],
                [0, 0, 0, 0, 0],
            ]
        )
        y = linalg.expm(generator) @ y
    offspring = {n: base[n].max() * boost[n] / kappa[n] for n in names}
    unexcited = np.array([base[n].sum() for n in names])
    return y[2:4], unexcited, math.sqrt(offspring["a"] * offspring["b"])


@pytest.mark.parametrize("case", list(HAWKES_CASES))
def test_retaliation_mean_counts_follow_the_linear_ode(case: str) -> None:
    """Mutually exciting parties, nobody walking away: mean counts from the mean-intensity ODE."""
    spec = HAWKES_CASES[case]
    means, unexcited, branching = hawkes_mean_counts(spec)
    assert branching < 1
    scn = make_scenario(spec["parties"], **{k: v for k, v in spec.items() if k != "parties"})
    results = simulate(scn, runs=8_000, seed=1414)
    counts = results.columns.violations
    for index, name in enumerate(("a", "b")):
        sample = counts[:, index]
        sd = float(sample.std(ddof=1))
        # the test can tell excitation apart: the ODE mean is far above the unexcited one
        assert means[index] - unexcited[index] > 4 * Z * sd / math.sqrt(sample.size)
        assert_mean(sample, float(means[index]), sd, f"{case}: violations of {name}")


# --------------------------------------------------------------------------- 9: end of window


def strain_sf(minor_mean: float, major_mean: float, weight: int, limit: float) -> float:
    """P(N₁ + w·N_w > limit) for independent Poisson N₁, N_w (integer weight w)."""
    minor = poisson_pmf(minor_mean) if minor_mean else np.array([1.0])
    major_counts = poisson_pmf(major_mean) if major_mean else np.array([1.0])
    major = np.zeros(weight * (major_counts.size - 1) + 1)
    major[::weight] = major_counts
    pmf = np.convolve(minor, major)
    return float(pmf[np.arange(pmf.size) > limit].sum())


@pytest.mark.parametrize("access_fails", [False, True])
@pytest.mark.parametrize(
    ("quiet_days", "max_strain", "major_share"),
    [(2, 1.0, 0.0), (3, 4.5, 0.0), (None, 6.0, 0.0), (2, 3.0, 0.5)],
)
def test_violence_condition_and_rule_order(
    quiet_days: int | None, max_strain: float, major_share: float, access_fails: bool
) -> None:
    """Strain in the last quiet_days is compound Poisson: minor count + w × major count.

    P(cancelled_violence) = P(strain > max_strain) (= P(Poisson(Σμ·q) > max_strain) when all
    minor). When access fails in every run, violence still comes first (the order of docs/model.md).
    """
    parties = {
        "a": {"side": "A", "violation_prob": 0.3, "major_share": major_share},
        "b": {"side": "B", "violation_rate": 0.5, "major_share": major_share},
    }
    trigger: dict[str, Any] = {"max_strain": max_strain}
    if quiet_days is not None:
        trigger["quiet_days"] = quiet_days
    blocks: dict[str, Any] = {"trigger": trigger, "rules": {"major_weight": 3}}
    if access_fails:
        blocks["humanitarian"] = {"success_prob": 0.0, "required_deliveries": 1}
    results = simulate(make_scenario(parties, **blocks), runs=8_000, seed=1515)
    c, runs = results.columns, results.runs
    span = WINDOW if quiet_days is None else quiet_days
    total = -math.log(0.7) * span + 0.5 * span
    p_violence = strain_sf(total * (1 - major_share), total * major_share, 3, max_strain)
    if major_share == 0:
        assert math.isclose(p_violence, float(stats.poisson.sf(math.floor(max_strain), total)))
    assert_proportion(
        np.count_nonzero(c.outcome == VIOLENCE), runs, p_violence, "P(cancelled_violence)"
    )
    other = ACCESS if access_fails else TRIGGERED
    assert np.count_nonzero(c.outcome == other) + np.count_nonzero(c.outcome == VIOLENCE) == runs


# --------------------------------------------------------------------------- phases (§11)


def _two_parties(rate: float, **party: Any) -> dict[str, Party]:
    return {
        "a": {"side": "A", "violation_rate": rate, **party},
        "b": {"side": "B", "violation_rate": rate, **party},
    }


def test_two_phases_reach_and_trigger() -> None:
    """No excitation, tolerances 0: the first violation ends the run. P(reach phase 2) =
    exp(−Σμ·d₁) and P(triggered) = exp(−Σμ·d₁ − Σμ′·d₂), μ′ from the second phase's set."""
    mu, d1, d2 = 0.15, 2, 3
    scenario = make_scenario(
        _two_parties(mu, tolerance=0),
        window=d1 + d2,
        phases=[
            {"name": "calm", "days": d1},
            {"name": "jic", "days": d2, "set": {"parties.a.violation_rate": [0.05, 0.1, 0.3]}},
        ],
    )
    runs = sized(40_000)
    c = simulate(scenario, runs, seed=11).columns
    assert c is not None
    assert_proportion((c.phase == 1).sum(), runs, math.exp(-2 * mu * d1), "P(reach jic)")
    later = 0.05 + 0.1 + 0.3 + mu * d2
    assert_proportion(
        (c.outcome == TRIGGERED).sum(), runs, math.exp(-2 * mu * d1 - later), "P(triggered)"
    )
    assert ((c.outcome == TRIGGERED) == (c.phases_passed == 2)).all()


def test_a_failed_gate_extends_the_phase() -> None:
    """One 2-day phase, quiet_days 1, max_strain 0, extended by 1 day at most twice, no
    tolerances: each check fails iff its last day saw a violation, so P(triggered) = 1 − q³
    with q = 1 − exp(−Σμ)."""
    mu = 0.2
    scenario = make_scenario(
        _two_parties(mu),
        window=2,
        phases=[
            {
                "name": "calm",
                "days": 2,
                "gate": {"quiet_days": 1, "max_strain": 0},
                "on_fail": {"extend_days": 1, "times": 2},
            }
        ],
    )
    runs = sized(40_000)
    results = simulate(scenario, runs, seed=12)
    c = results.columns
    assert c is not None
    q = 1 - math.exp(-2 * mu)
    assert_proportion((c.outcome == TRIGGERED).sum(), runs, 1 - q**3, "P(triggered)")
    assert set(np.unique(c.outcome)) <= {TRIGGERED, VIOLENCE}
    # a run is cancelled only at the last check (day 2 + 2 extensions of 1 day): still in force
    # until then, and in force after it with P = 1 − q³ (a triggered run stays in force)
    assert set(c.cancelled_day[c.outcome == VIOLENCE]) == {4}
    assert (c.cancelled_day[c.outcome == TRIGGERED] == -1).all()
    force = dict(results.in_force())
    assert force[3.0] == 1.0
    assert_proportion(round(force[4.0] * runs), runs, 1 - q**3, "P(in force after the gates)")
    header, first = results.csv_text().splitlines()[:2]
    column = header.split(",").index("cancelled_day")
    assert first.split(",")[column] == ("4" if c.outcome[0] == VIOLENCE else "")


def test_access_is_one_permission_then_binomial_convoys() -> None:
    """P(deliveries ≥ r) = permission_prob · P(Binomial(n, q) ≥ r) with constant conditions."""
    scenario = make_scenario(
        _two_parties(0.0),
        window=5,
        humanitarian={
            "first_day": 0,
            "convoys_per_day": 2,
            "success_prob": 0.4,
            "permission_prob": 0.6,
            "required_deliveries": 3,
        },
    )
    runs = sized(40_000)
    c = simulate(scenario, runs, seed=13).columns
    assert c is not None
    for r in (1, 3, 6):
        p = 0.6 * stats.binom.sf(r - 1, 10, 0.4)
        assert_proportion((c.deliveries >= r).sum(), runs, p, f"P(deliveries ≥ {r})")
    assert_proportion((c.deliveries == 0).sum(), runs, 0.4 + 0.6 * 0.6**10, "P(none)")


def test_each_phase_draws_its_own_permission() -> None:
    """Two phases, convoys every day, one needed per phase:
    P(triggered) = (perm · (1 − (1 − s)^d))²."""
    scenario = make_scenario(
        _two_parties(0.0),
        window=6,
        humanitarian={"first_day": 0, "success_prob": 0.3, "permission_prob": 0.6},
        phases=[
            {"name": "one", "days": 3, "gate": {"required_deliveries": 1}},
            {"name": "two", "days": 3, "gate": {"required_deliveries": 1}},
        ],
    )
    runs = sized(40_000)
    c = simulate(scenario, runs, seed=14).columns
    assert c is not None
    one = 0.6 * (1 - 0.7**3)  # permission, then at least one of 3 convoys (each fails 0.7)
    assert_proportion((c.phases_passed >= 1).sum(), runs, one, "P(pass one)")
    assert_proportion((c.outcome == TRIGGERED).sum(), runs, one**2, "P(triggered)")


def test_a_phase_sets_its_own_number_of_convoys() -> None:
    """No violence, permission 1, success 0.5: one convoy a day for 2 days, none for 1 day,
    then 3 a day for 2 days, so deliveries ~ Binomial(2 + 0 + 6, 0.5), and none in the
    middle phase (each phase's deliveries are counted at its gate: required 1 there fails)."""
    scenario = make_scenario(
        _two_parties(0.0),
        window=5,
        humanitarian={"first_day": 0, "convoys_per_day": 1, "success_prob": 0.5},
        phases=[
            {"name": "one", "days": 2},
            {"name": "none", "days": 1, "set": {"humanitarian.convoys_per_day": 0}},
            {"name": "three", "days": 2, "set": {"humanitarian.convoys_per_day": 3}},
        ],
    )
    runs = sized(20_000)
    c = simulate(scenario, runs, seed=23).columns
    assert c is not None
    pmf = stats.binom.pmf(np.arange(9), 8, 0.5)
    assert_discrete_fit(c.deliveries, pmf, "deliveries over the phases")
    blocked = scenario.with_overrides({"phases.1.gate": {"required_deliveries": 1}})
    b = simulate(blocked, 2_000, seed=23).columns
    assert b is not None
    assert (b.outcome == ACCESS).all() and (b.phase == 1).all()  # no convoy in phase "none"


def test_a_per_day_list_in_a_phase_applies_to_that_phase() -> None:
    """Violations of each day of the second phase are Poisson with that day's listed rate."""
    rates = [0.1, 0.8, 0.4]
    scenario = make_scenario(
        _two_parties(0.3),
        window=5,
        phases=[
            {"name": "one", "days": 2},
            {"name": "two", "days": 3, "set": {"parties.a.violation_rate": rates}},
        ],
    )
    runs = sized(20_000)
    c = simulate(scenario, runs, seed=15).columns
    assert c is not None
    daily = c.events_daily[:, 0, :]  # party a, by day
    for d, mu in enumerate([0.3, 0.3, *rates]):
        assert_poisson_moments(daily[:, d], mu, f"violations of a on day {d}")


@pytest.mark.parametrize("other", [None, 100.0])
def test_a_tolerance_a_phase_sets_is_in_force(other: float | None) -> None:
    """b has no tolerance until the second phase sets 0: the strain a's violations put on
    side B then ends the run at once, so only runs without any violation of a in 7 days
    trigger: P = exp(−7μ). With ``other``, a third party on B keeps its own tolerance (the
    tables of the phases then differ in size)."""
    mu = 0.3
    parties: dict[str, Any] = {
        "a": {"side": "A", "violation_rate": mu, "major_share": 0},
        "b": {"side": "B", "violation_rate": 0.0},
    }
    if other is not None:
        parties["c"] = {"side": "B", "violation_rate": 0.0, "tolerance": other}
    scenario = make_scenario(
        parties,
        window=7,
        phases=[
            {"name": "one", "days": 3},
            {"name": "two", "days": 4, "set": {"parties.b.tolerance": 0}},
        ],
    )
    runs = sized(20_000)
    c = simulate(scenario, runs, seed=21).columns
    assert c is not None
    assert_proportion((c.outcome == TRIGGERED).sum(), runs, math.exp(-7 * mu), "P(triggered)")
    collapsed = c.outcome == COLLAPSE
    assert (c.collapsed_by[collapsed] == 1).all()  # b, never c
    assert (c.collapse_time[collapsed] >= 3).all()  # not before b has a tolerance


def test_excitation_carries_into_a_phase_where_the_party_can_act() -> None:
    """a cannot act in the first phase (rate 0) but is excited by a spoiler's attacks on its
    side (rate 1, boost 1, half-life 1 day: β = ln 2); in the second it acts at 0.5 a day.
    E[N_a] = 0.5·(2 + (1 − e^(−3β))(1 − e^(−2β))/β²), Var N_a = E[N_a] + Var Λ with
    Var Λ = 0.25·((1 − e^(−2β))/β)²·(1 − e^(−6β))/(2β) (Campbell's theorem)."""
    beta = math.log(2)
    scenario = make_scenario(
        {
            "a": {"side": "A", "violation_rate": 0.0,
                  "retaliation": {"boost": 1.0, "half_life_hours": 24}},
            "b": {"side": "B", "violation_rate": 0.0},
        },
        window=5,
        spoilers={"s": {"attack_rate": 1.0, "targets": "A"}},
        phases=[
            {"name": "one", "days": 3},
            {"name": "two", "days": 2,
             "set": {"spoilers.s.attack_rate": 0.0, "parties.a.violation_rate": 0.5}},
        ],
    )  # fmt: skip
    c2 = (1 - math.exp(-2 * beta)) / beta
    mean = 0.5 * (2 + (1 - math.exp(-3 * beta)) * c2 / beta)
    var = mean + 0.25 * c2**2 * (1 - math.exp(-6 * beta)) / (2 * beta)
    c = simulate(scenario, 20_000, seed=22).columns
    assert c is not None
    assert_mean(c.violations[:, 0], mean, math.sqrt(var), "violations of a")


def test_strain_recovers_with_its_half_life() -> None:
    """Minor events at rate μ against a side, no tolerance, strain half-life h: the mean
    strain at the end of day d is μ(1 − e^(−γ(d+1)))/γ, γ = ln 2 / h."""
    mu, h = 1.5, 2.0
    gamma = math.log(2) / h
    scenario = make_scenario(
        {"a": {"side": "A", "violation_rate": mu, "major_share": 0}, "b": {"side": "B",
         "violation_rate": 0.0}},
        rules={"strain_half_life_days": h},
    )  # fmt: skip
    runs = sized(20_000)
    c = simulate(scenario, runs, seed=16).columns
    assert c is not None
    for d in range(WINDOW):
        t = d + 1
        mean = mu * (1 - math.exp(-gamma * t)) / gamma
        # Campbell: Var = μ ∫ e^(−2γs) ds = μ(1 − e^(−2γt))/(2γ)
        sd = math.sqrt(mu * (1 - math.exp(-2 * gamma * t)) / (2 * gamma))
        assert_mean(c.strain_daily[:, 1, d], mean, sd, f"strain on B at the end of day {d}")


def test_a_collapsed_run_keeps_the_strain_that_ended_it() -> None:
    """With recovery, the strain recorded from the day of the collapse on is the level that
    crossed the tolerance (it does not fade after the run is over): above the tolerance, and
    equal to the sum of the attributed weights recovered to the collapse."""
    tolerance, h = 4.0, 1.0
    scenario = make_scenario(
        {"a": {"side": "A", "violation_rate": 2.0, "major_share": 0},
         "b": {"side": "B", "violation_rate": 0.0, "tolerance": tolerance}},
        rules={"strain_half_life_days": h},
    )  # fmt: skip
    res = simulate(scenario, sized(2_000), seed=17)
    c = res.columns
    assert c is not None
    hit = np.flatnonzero(c.outcome == COLLAPSE)
    assert 0.2 * c.runs < hit.size < c.runs
    for i in hit:
        day = int(c.collapse_time[i])
        after = c.strain_daily[i, 1, day:]
        assert (after > tolerance).all() and (after == after[0]).all()
        assert after[0] < tolerance + 1.0  # one minor event crossed it
