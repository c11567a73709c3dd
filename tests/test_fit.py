"""Fitting: the likelihood against a brute-force evaluation, recovery of known parameters
from data simulated by the engine, the small models' intervals, and `ceasefire fit`."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from sim import load_scenario
from sim.cli import main
from sim.errors import UsageError
from sim.events import from_trace, to_csv
from sim.fit import DROP, binomial, fit, poisson_rate
from sim.likelihood import PartyData
from sim.runner import trace_run
from sim.scenario import lookup, split_path
from sim.uncertainty import explosive_warning

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "known_two_party.yaml"
TRUTH = {"violation_rate": 2.0, "retaliation.boost": 0.8, "retaliation.half_life_hours": 4.0}
KEYS = [f"parties.{p}.{k}" for p in ("north", "south") for k in TRUTH]


def known(days: int = 60, **overrides):
    """The worked example of docs/calibration.md (two parties retaliating against each other,
    branching ratio 0.38, and a spoiler; no tolerances, no trigger conditions: every run
    lasts the whole window) over ``days`` days."""
    return load_scenario(EXAMPLE).with_overrides({"window_days": days, **overrides})


def simulated(scenario, run: int, seed: int = 7):
    _, trace = trace_run(scenario, seed, run)
    return from_trace(scenario, trace)


# --------------------------------------------------------------------------- the likelihood


def brute_force(own, hostile, span, weight_of_day, rate, boost, half_life_hours) -> float:
    """ℓ by its definition: O(n²) sums, the compensator integrated kernel by kernel and day
    by day."""
    h_days = half_life_hours / 24
    beta = math.log(2) / h_days
    ll = 0.0
    for y in own:
        x = sum(boost * 2 ** (-(y - t) / h_days) for t in hostile if t < y)
        ll += math.log(rate * weight_of_day[math.floor(y)] * (1 + x))
    a, b = span
    d = math.floor(a)
    while d < b:
        lo, hi = max(d, a), min(d + 1, b)
        m = rate * weight_of_day[d]
        ll -= m * (hi - lo)
        for t in hostile:
            start = max(lo, t)
            if start < hi:
                ll -= (
                    m * boost * (math.exp(-beta * (start - t)) - math.exp(-beta * (hi - t))) / beta
                )
        d += 1
    return ll


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_own=st.integers(0, 40),
    n_hostile=st.integers(0, 40),
    a=st.floats(0, 3),
    length=st.floats(0.2, 9),
    rate=st.floats(0.01, 5),
    boost=st.floats(0, 20),
    half=st.floats(0.05, 500),
)
def test_loglik_equals_brute_force(seed, n_own, n_hostile, a, length, rate, boost, half):
    rng = np.random.default_rng(seed)
    span = (a, a + length)
    own = np.sort(rng.uniform(*span, n_own))
    hostile = np.sort(rng.uniform(*span, n_hostile))
    weights = {d: float(rng.uniform(0.2, 2)) for d in range(math.floor(a), math.ceil(a + length))}
    data = PartyData.build(own, hostile, span, weights)
    expected = brute_force(own, hostile, span, weights, rate, boost, half)
    assert data.loglik(rate, boost, half) == pytest.approx(expected, rel=1e-10, abs=1e-8)
    # the closed-form maximiser over the scale gives the same likelihood as evaluating there
    c, profiled = data.profile_rate(boost, half)
    if n_own:
        assert profiled == pytest.approx(data.loglik(c, boost, half), rel=1e-10, abs=1e-8)
        assert profiled >= data.loglik(rate, boost, half) - 1e-9


def test_compensator_is_the_integral_of_the_hazard():
    rng = np.random.default_rng(3)
    span = (0.4, 5.0)
    own = np.sort(rng.uniform(*span, 12))
    hostile = np.sort(rng.uniform(*span, 15))
    weights = {d: float(rng.uniform(0.5, 2)) for d in range(6)}
    data = PartyData.build(own, hostile, span, weights)
    rate, boost, half = 1.3, 0.9, 7.0
    beta = math.log(2) * 24 / half

    def hazard(t: float) -> float:
        x = sum(boost * math.exp(-beta * (t - s)) for s in hostile if s < t)
        return rate * weights[math.floor(t)] * (1 + x)

    cuts = sorted({*hostile, *range(1, 5), *own})
    for t in own:
        points = [p for p in cuts if span[0] < p < t]
        value, _ = integrate.quad(hazard, span[0], t, points=points or None, limit=500)
        assert data.compensator_at(np.array([t]), rate, boost, half)[0] == pytest.approx(
            value, rel=1e-7
        )


def test_fitted_loglik_equals_brute_force():
    scenario = known(days=60)
    for run in range(20):  # the first run whose estimates are all identified
        events = simulated(scenario, run=run)
        result = fit(scenario, events, [*KEYS, "spoilers.raiders.attack_rate"])
        if all(e.value is not None for e in result.estimates.values()):
            break
    total = 0.0
    for party in ("north", "south"):
        est = {k: result.estimates[f"parties.{party}.{k}"].value for k in TRUTH}
        own = events.times[events.of(party)]
        side = scenario.parties[party].side
        hostile = events.times[events.against(side)]
        total += brute_force(
            own,
            hostile,
            events.span,
            dict.fromkeys(range(60), 1.0),
            est["violation_rate"],
            est["retaliation.boost"],
            est["retaliation.half_life_hours"],
        )
    n = events.counts()["raiders"]
    total += n * math.log(n / 60) - n
    assert result.loglik == pytest.approx(total, rel=1e-10, abs=1e-8)


def test_rescaled_gaps_at_the_truth_are_exponential():
    """The engine and the likelihood describe the same process: with the true parameters,
    the compensator increments of simulated data are Exp(1) (KS on ~10,000 gaps). A
    guarantor presses south (pressure 0.2) and strikes side a by mistake, so pressure,
    incidents and spoiler attacks all take part."""
    patron = {"clients": ["south"], "pressure": 0.2, "incident_prob": 0.3, "incident_target": "a"}
    scenario = known(60, **{"guarantors.patron": patron})
    gaps = []
    incidents = 0
    for run in range(30):
        events = simulated(scenario, run, seed=11)
        incidents += events.counts().get("patron", 0)
        for party, scale in (("north", 1.0), ("south", 0.8)):
            side = scenario.parties[party].side
            data = PartyData.build(
                events.times[events.of(party)],
                events.times[events.against(side)],
                events.span,
                dict.fromkeys(range(60), scale),
            )
            lam = data.compensator_at(data.own, 2.0, 0.8, 4.0)
            gaps.append(np.diff(np.concatenate([[0.0], lam])))
    gaps = np.concatenate(gaps)
    assert gaps.size > 8_000 and incidents > 300
    assert stats.kstest(gaps, "expon").pvalue > 0.001


def test_guarantor_incidents_are_poisson():
    patron = {"clients": ["south"], "incident_prob": 0.3, "incident_target": "a"}
    scenario = known(60, **{"guarantors.patron": patron})
    events = simulated(scenario, run=4)
    n = events.counts()["patron"]
    est = fit(scenario, events, ["guarantors.patron.incident_prob"]).estimates
    e = est["guarantors.patron.incident_prob"]
    assert e.value == pytest.approx(-math.expm1(-n / 60))
    rate = poisson_rate(n, 60.0)
    assert e.ci95 == pytest.approx(tuple(-math.expm1(-r) for r in rate.ci95))
    true_rate = -math.log1p(-0.3)
    assert abs(n / 60 - true_rate) < 4 * math.sqrt(true_rate / 60)  # Poisson count, 4 sd


# --------------------------------------------------------------------------- recovery


@pytest.mark.slow
def test_intervals_cover_the_truth_and_errors_shrink_with_the_span():
    """200 replications of 60 days simulated by the engine: the 95% intervals of the base
    rate, the boost and the half-life cover the truth in 90–98% of them (both parties: 400
    intervals each; an end the data do not identify is unbounded)."""
    scenario = known(days=60)
    covered = dict.fromkeys(TRUTH, 0)
    total = 0
    for run in range(200):
        result = fit(scenario, simulated(scenario, run), KEYS)
        for party in ("north", "south"):
            total += 1
            for key, true in TRUTH.items():
                lo, hi = result.estimates[f"parties.{party}.{key}"].ci95
                covered[key] += (lo is None or lo <= true) and (hi is None or true <= hi)
    coverage = {k: c / total for k, c in covered.items()}
    assert all(0.90 <= c <= 0.98 for c in coverage.values()), coverage

    def median_errors(days: int) -> dict[str, float]:
        scenario = known(days=days)
        errors: dict[str, list[float]] = {k: [] for k in TRUTH}
        for run in range(40):
            result = fit(scenario, simulated(scenario, run, seed=5), KEYS)
            for party in ("north", "south"):
                for key, true in TRUTH.items():
                    value = result.estimates[f"parties.{party}.{key}"].value
                    errors[key].append(abs(value - true) / true if value is not None else 1.0)
        return {k: float(np.median(v)) for k, v in errors.items()}

    short, long = median_errors(30), median_errors(120)
    assert all(long[k] < short[k] for k in TRUTH), (short, long)


def test_rate_alone_is_the_poisson_estimate_with_pressure_held():
    scenario = known(10, **{"guarantors.patron": {"clients": ["north"], "pressure": 0.25}})
    events = simulated(scenario, run=1)
    n = events.counts()["north"]
    result = fit(scenario, events, ["parties.north.violation_rate"])
    est = result.estimates["parties.north.violation_rate"]
    # boost and half-life held at the truth: the rate solves n = μ·(1 − p)·∫(1 + X)
    side = scenario.parties["north"].side
    data = PartyData.build(
        events.times[events.of("north")],
        events.times[events.against(side)],
        (0.0, 10.0),
        dict.fromkeys(range(10), 1.0),
    )
    integral, _ = data.pieces(math.log(2) * 24 / 4.0)  # ∫ X / boost over the span
    assert est.value == pytest.approx(n / (0.75 * (10 + 0.8 * integral)), rel=1e-9)


def test_no_hostile_events_means_not_identified():
    scenario = known(days=10)
    events = simulated(scenario, run=2)
    keep = np.array([a == "north" for a in events.actors])  # south and raiders removed
    from dataclasses import replace

    only_north = replace(
        events,
        times=events.times[keep],
        actors=tuple(a for a, k in zip(events.actors, keep, strict=True) if k),
        kinds=tuple(a for a, k in zip(events.kinds, keep, strict=True) if k),
        targets=tuple(a for a, k in zip(events.targets, keep, strict=True) if k),
        major=events.major[keep],
        blamed=events.blamed[keep],
    )
    result = fit(scenario, only_north)
    boost = result.estimates["parties.north.retaliation.boost"]
    assert boost.value is None and boost.ci95 == (None, None) and "not identified" in boost.note
    rate = result.estimates["parties.north.violation_rate"]
    assert rate.value == pytest.approx(keep.sum() / 10)


# --------------------------------------------------------------------------- small models


@pytest.mark.parametrize(("k", "n"), [(0, 5), (3, 10), (10, 10), (37, 120)])
def test_wilson_matches_scipy(k, n):
    est = binomial(k, n)
    ci = stats.binomtest(k, n).proportion_ci(method="wilson")
    assert est.value == k / n
    assert est.ci95 == pytest.approx((ci.low, ci.high), abs=1e-12)


@pytest.mark.parametrize("n", [1, 4, 30])
def test_poisson_interval_is_where_the_likelihood_drops(n):
    est = poisson_rate(n, 7.0)
    assert est.value == n / 7

    def ll(r: float) -> float:
        return n * math.log(r) - 7 * r

    for end in est.ci95:
        assert ll(est.value) - ll(end) == pytest.approx(DROP, abs=1e-8)
    assert est.ci95[0] < est.value < est.ci95[1]


# --------------------------------------------------------------------------- the command


def _files(tmp_path: Path, days: int = 30) -> tuple[Path, Path]:
    scenario = known(days=days)
    data = scenario.model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    data["parties"]["north"]["violation_prob"] = 0.8  # a daily probability, replaced by a rate
    del data["parties"]["north"]["violation_rate"]
    path = tmp_path / "known.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    events = tmp_path / "events.csv"
    events.write_text(to_csv(simulated(load_scenario(path), run=0)), encoding="utf-8")
    return path, events


def test_cli_writes_fit_json_fitted_yaml_and_figures(tmp_path, capsys, monkeypatch):
    path, events = _files(tmp_path, days=60)
    out = tmp_path / "results" / "fit1"
    assert main(["fit", str(path), "--events", str(events), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    printed = captured.out
    assert "parties.north.retaliation.half_life_hours" in printed
    report = json.loads((out / "fit.json").read_text())
    assert set(report) >= {"estimates", "loglik", "n_events", "gof"}
    assert set(report["n_events"]) == {"north", "south", "raiders"}
    for key in [*KEYS, "spoilers.raiders.attack_rate", "spoilers.raiders.blame_prob"]:
        assert set(report["estimates"][key]) >= {"value", "se", "ci95"}
    assert set(report["gof"]["north"]) >= {"ks", "p_value"}
    assert sorted(p.name for p in (out / "figures").iterdir()) == [
        "qq_north.png",
        "qq_raiders.png",
        "qq_south.png",
    ]
    fitted = yaml.safe_load((out / "fitted.yaml").read_text())
    assert fitted["extends"] == "../../known.yaml"
    assert main(["validate", str(out / "fitted.yaml")]) == 0
    scenario = load_scenario(out / "fitted.yaml")
    # intervals whose ends together are explosive are reported, in fit.json and printed
    # (here they are: boosts up to about 1.8 and half-lives up to about 13 h)
    warning = explosive_warning(scenario)
    assert warning is not None
    assert report["warnings"] == [f"fitted.yaml: {warning}"]
    assert all(f"warning: {w}" in captured.err for w in report["warnings"])
    written = 0
    for key, est in report["estimates"].items():
        # identified estimates are set, with an uncertainty; the others keep the file's value
        identified = est["value"] is not None and None not in est["ci95"]
        assert (key in scenario.uncertainties) == identified, key
        written += identified
        value = lookup(scenario.model_dump(), split_path(key))
        if identified:
            assert value == pytest.approx(est["value"], rel=1e-5)
            u = scenario.uncertainties[key]
            assert u.low <= u.mode <= u.high
            assert u.low == pytest.approx(est["ci95"][0], rel=1e-5, abs=1e-12)
        else:
            assert key in fitted["description"]
    assert written >= 2  # at least the spoiler's rate and share (counts are always identified)
    north = report["estimates"]["parties.north.violation_rate"]
    if None not in north["ci95"]:  # a fitted rate replaces the file's daily probability
        assert fitted["parties"]["north"]["violation_prob"] is None
    else:
        assert scenario.parties["north"].violation_prob == 0.8
    # run from another directory: the relative extends still resolves
    monkeypatch.chdir(out)
    assert main(["validate", "fitted.yaml"]) == 0


def test_cli_never_overwrites_and_rejects_bad_options(tmp_path, capsys):
    path, events = _files(tmp_path, days=10)
    out = tmp_path / "out"
    out.mkdir()
    base = ["fit", str(path), "--events", str(events)]
    assert main([*base, "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    fresh = tmp_path / "fresh"
    for extra, words in [
        (["--fit", "parties.north.tolerance"], "not a fittable key"),
        (["--fit", "parties.west.violation_rate"], "unknown party 'west'"),
        (["--span", "5:1"], "--span"),
        (["--span", "20:30"], "no events in the span [20, 30)"),
    ]:
        assert main([*base, "--out", str(fresh), *extra]) == 2
        err = capsys.readouterr().err.strip()
        assert words in err and len(err.splitlines()) == 1
        assert not fresh.exists()


def test_cli_fit_subset_and_uncertainty_conflict(tmp_path, capsys):
    path, events = _files(tmp_path, days=10)
    out = tmp_path / "one"
    code = main(
        [
            "fit",
            str(path),
            "--events",
            str(events),
            "--fit",
            "spoilers.raiders.attack_rate",
            "--out",
            str(out),
            "--no-plots",
        ]
    )
    assert code == 0
    report = json.loads((out / "fit.json").read_text())
    assert list(report["estimates"]) == ["spoilers.raiders.attack_rate"]
    assert not (out / "figures").exists()
    # a scenario whose uncertainties vary the daily probability the fitted rate replaces
    data = yaml.safe_load(path.read_text())
    data["uncertainties"] = {
        "parties.north.violation_prob": {"dist": "uniform", "low": 0.5, "high": 0.9}
    }
    path.write_text(yaml.safe_dump(data))
    capsys.readouterr()
    assert main(["fit", str(path), "--events", str(events), "--out", str(tmp_path / "x")]) == 2
    assert "replaces" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_phased_scenarios_are_refused(tmp_path):
    scenario = known(
        14,
        phases=[{"name": "calm", "days": 7, "gate": {}}, {"name": "later", "days": 7, "gate": {}}],
    )
    with pytest.raises(UsageError, match="phased"):
        fit(scenario, simulated(known(14), run=0))


def test_fitted_attack_rate_replaces_attack_prob(tmp_path):
    from sim.fitted import fitted_scenario

    data = known(30).model_dump(mode="json", exclude_none=True, exclude_defaults=True)
    del data["spoilers"]["raiders"]["attack_rate"]
    data["spoilers"]["raiders"]["attack_prob"] = 0.4
    path = tmp_path / "prob.yaml"
    path.write_text(yaml.safe_dump(data))
    scenario = load_scenario(path)
    result = fit(scenario, simulated(scenario, run=0), ["spoilers.raiders.attack_rate"])
    out = tmp_path / "out"
    out.mkdir()
    written = fitted_scenario(result, path, out)
    assert written["spoilers"]["raiders"]["attack_prob"] is None
    (out / "fitted.yaml").write_text(yaml.safe_dump(written))
    fitted = load_scenario(out / "fitted.yaml")
    rate = result.estimates["spoilers.raiders.attack_rate"].value
    assert fitted.spoilers["raiders"].attack_rate == pytest.approx(rate, rel=1e-5)
    assert fitted.spoilers["raiders"].attack_prob is None


def test_a_boost_running_to_its_bound_leaves_no_rate_on_the_ridge(tmp_path):
    """Five events of the synthetic ACLED file: south's two events fit best with the boost at
    its search bound and a base rate near zero. Neither number means anything, so both are
    shown as not identified (a printed rate of 0.00076 beside an open interval misled a
    reader), while north's boost of 0 (no retaliation) keeps its rate."""
    from sim.events import read_events
    from sim.fitted import text

    data = Path(__file__).parent / "data"
    scenario = load_scenario(data / "testland.yaml")
    path = tmp_path / "events.csv"
    path.write_text(
        "time,actor,major,target_side\n0.125,north,1,southern\n0.375,south,1,northern\n"
        "1.0,north,0,southern\n2.0,raiders,0,\n3.0,south,0,northern\n"
    )
    result = fit(scenario, read_events(path, scenario))
    est = result.estimates
    south_boost = est["parties.south.retaliation.boost"]
    assert south_boost.value is None and "still rises at the search bound" in south_boost.note
    assert est["parties.south.violation_rate"].value is None
    assert "runs to its search bound" in est["parties.south.violation_rate"].note
    assert est["parties.north.retaliation.boost"].value == 0.0
    assert est["parties.north.violation_rate"].value == pytest.approx(2 / 7)
    row = next(line for line in text(result).splitlines() if "south.violation_rate" in line)
    assert row.split()[1:3] == ["—", "—"]


def test_the_qq_title_names_the_scenario_and_counts_gaps():
    from sim.fitted import qq_figure

    one = qq_figure("south", np.array([0.7]), {"p_value": 0.5}, "testland")
    assert one.axes[0].get_title() == "testland: south\n1 gap between events, KS p = 0.50"
    many = qq_figure("north", np.array([0.2, 1.1, 2.0]), None)
    assert many.axes[0].get_title() == "north\n3 gaps between events"
