"""Uncertain assumptions: distributions, validation, and second-order Monte Carlo."""

from __future__ import annotations

import math
import pickle
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter

import sim
from sim import runner, uncertainty
from sim.distributions import Distribution
from sim.errors import RunawayError
from sim.observations import engine_scenario

Z = 4.5
ADAPTER = TypeAdapter(Distribution)
BASE = {
    "name": "unc",
    "title": "uncertain",
    "parties": {
        "a": {"side": "A", "violation_prob": 0.1, "tolerance": 0},
        "b": {"side": "B", "violation_prob": 0.0, "tolerance": 0},
    },
}


def scenario(**uncertainties: dict) -> sim.Scenario:
    return sim.scenario_from_dict({**BASE, "uncertainties": uncertainties})


@pytest.mark.parametrize(
    ("spec", "mean", "var"),
    [
        ({"dist": "uniform", "low": 0.1, "high": 0.4}, 0.25, 0.3**2 / 12),
        (
            {"dist": "triangular", "low": 0.0, "mode": 0.2, "high": 1.0},
            1.2 / 3,
            (0 + 0.04 + 1 - 0 - 0 - 0.2) / 18,
        ),
        ({"dist": "beta", "a": 2.0, "b": 5.0}, 2 / 7, 2 * 5 / (7**2 * 8)),
        ({"dist": "beta", "a": 2.0, "b": 2.0, "low": 1.0, "high": 3.0}, 2.0, 4 * 4 / (16 * 5)),
        (
            {"dist": "choice", "values": [1, 2, 3], "weights": [1, 1, 2]},
            2.25,
            (1 + 4 + 18) / 4 - 2.25**2,
        ),
    ],
)
def test_quantile_functions_have_the_closed_form_moments(
    spec: dict, mean: float, var: float
) -> None:
    dist = ADAPTER.validate_python(spec)
    u = np.random.default_rng(5).random(200_000)
    x = dist.ppf(u)
    assert abs(x.mean() - mean) < Z * math.sqrt(var / x.size)
    assert x.var() == pytest.approx(var, rel=0.03)
    lo, hi = dist.support()
    assert lo <= x.min() and x.max() <= hi


@pytest.mark.parametrize(("a", "b"), [(4.0, 4.0), (0.5, 0.5), (0.3, 7.0), (2.0, 5.0), (50.0, 50.0)])
def test_beta_quantile_agrees_with_betaincinv(a: float, b: float) -> None:
    """The fast beta quantile (table start, Newton steps on the distribution function) gives
    betaincinv's value to within what one rounding of F(x) = u allows, value by value, on
    uniforms as the streams give them (multiples of 2⁻⁵³), ends included: a rounding of u
    moves the root by about u·2⁻⁵³ / density, and x itself has its spacing."""
    from scipy.special import betaincinv
    from scipy.stats import beta

    from sim.distributions import GRID, beta_quantile

    u = np.floor(np.random.default_rng(3).random(8 * GRID) * 2.0**53) / 2.0**53
    u[:3] = [0.0, 2.0**-53, 1.0 - 2.0**-53]
    x, y = beta_quantile(a, b, u), betaincinv(a, b, u)
    assert x[0] == y[0] == 0.0
    with np.errstate(divide="ignore"):
        allowed = np.spacing(y) + 2.0**-52 * np.maximum(u, 2.0**-53) / beta.pdf(y, a, b)
    assert np.all(np.abs(x - y) <= 32 * allowed)  # measured: at most 10× on these cases
    assert np.median(np.abs(x - y) / np.maximum(y, 1e-300)) < 1e-15


@pytest.mark.parametrize(
    "spec",
    [
        {"dist": "uniform", "low": 0.5, "high": 0.5},
        {"dist": "triangular", "low": 0, "mode": 2, "high": 1},
        {"dist": "beta", "a": 0, "b": 1},
        {"dist": "choice", "values": []},
        {"dist": "choice", "values": [1, 2], "weights": [1]},
        {"dist": "normal", "mean": 0},
        {"dist": "uniform", "low": 0, "high": 1, "extra": 2},
    ],
)
def test_bad_distributions_are_rejected(spec: dict) -> None:
    with pytest.raises(sim.ScenarioError, match=r"uncertainties"):
        scenario(**{"parties.a.violation_prob": spec})


def test_errors_point_at_the_uncertainty_in_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    f = Path("s.yaml")
    f.write_text(
        "name: s\ntitle: s\nparties:\n  a: {side: A, violation_prob: 0.1}\n"
        "  b: {side: B, violation_prob: 0.1}\nuncertainties:\n"
        "  parties.a.violation_prob: {dist: uniform, low: 0.1, high: 0.3}\n"
        "  parties.a.violation_prb: {dist: uniform, low: 0.1, high: 0.3}\n"
        "  window_days: {dist: choice, values: [5, 7]}\n",
        encoding="utf-8",
    )
    with pytest.raises(sim.ScenarioError) as err:
        sim.load_scenario(f)
    assert str(err.value).startswith(
        "s.yaml:8:3: uncertainties.parties.a.violation_prb: no such value"
    )
    f.write_text(
        f.read_text()
        .replace("violation_prb", "violation_prob")
        .replace("  parties.a.violation_prob: {dist: uniform, low: 0.1, high: 0.3}\n", "", 1)
    )
    with pytest.raises(
        sim.ScenarioError,
        match=r"s.yaml:8:3: uncertainties.window_days: "
        r"cannot be uncertain",
    ):
        sim.load_scenario(f)


def test_values_out_of_range_for_the_key_are_rejected() -> None:
    with pytest.raises(sim.ScenarioError, match=r"its values reach 1\.2, which is not valid there: "
                       r"input should be less than 1$"):  # fmt: skip
        scenario(**{"parties.a.violation_prob": {"dist": "uniform", "low": 0.1, "high": 1.2}})
    with pytest.raises(sim.ScenarioError, match=r"not a number the simulation uses|not valid"):
        scenario(**{"title": {"dist": "uniform", "low": 0, "high": 1}})


@pytest.mark.parametrize(
    ("key", "meant"),
    [
        ("parties.aa.violation_prob", "parties.a.violation_prob"),
        ("parties.a.violation_prb", "parties.a.violation_prob"),
        ("parties.b.tolerence", "parties.b.tolerance"),
    ],
)
def test_a_misspelt_uncertain_key_gets_the_nearest_existing_one(key: str, meant: str) -> None:
    with pytest.raises(sim.ScenarioError) as err:
        scenario(**{key: {"dist": "uniform", "low": 0.1, "high": 0.2}})
    assert f"no such value in the scenario (check the key path); did you mean '{meant}'?" in str(
        err.value
    )


def test_apply_and_baseline() -> None:
    s = scenario(
        **{
            "parties.a.violation_prob": {"dist": "uniform", "low": 0.1, "high": 0.5},
            "parties.a.tolerance": {"dist": "choice", "values": [0, 2]},
        }
    )
    assert uncertainty.baseline(s) == {"parties.a.violation_prob": 0.1, "parties.a.tolerance": 0}
    at = uncertainty.apply(s, [0.3, 2])
    assert at.parties["a"].violation_prob == 0.3 and at.parties["a"].tolerance == 2
    assert not at.uncertainties and s.parties["a"].violation_prob == 0.1


def test_integrate_averages_over_the_uncertainty() -> None:
    """Tolerance 0, no retaliation: P(triggered | p) = (1 − p)^7, so with p ~ U(a, b)
    P(triggered) = ((1 − a)^8 − (1 − b)^8) / (8 (b − a))."""
    a, b, runs = 0.05, 0.4, 6_000
    s = scenario(**{"parties.a.violation_prob": {"dist": "uniform", "low": a, "high": b}})
    res = sim.simulate(s, runs=runs, seed=3, integrate=True, progress=False)
    expected = ((1 - a) ** 8 - (1 - b) ** 8) / (8 * (b - a))
    p = res.outcome_probabilities()["triggered"][0]
    assert abs(p - expected) < Z * math.sqrt(expected * (1 - expected) / runs)
    theta = res.columns.theta[:, 0]
    assert abs(theta.mean() - (a + b) / 2) < Z * (b - a) / math.sqrt(12 * runs)
    # each run's outcome follows its own parameter: triggered runs have lower p on average
    triggered = res.columns.outcome == 0
    assert theta[triggered].mean() < theta[~triggered].mean()
    assert "parties.a.violation_prob" in res.csv_text().splitlines()[0]
    assert res.manifest()["integrate"] is True


def test_integrate_is_reproducible_and_independent_of_workers() -> None:
    s = scenario(
        **{
            "parties.a.violation_prob": {"dist": "beta", "a": 2.0, "b": 8.0},
            "parties.b.violation_prob": {"dist": "uniform", "low": 0.0, "high": 1.0},
        }
    )
    one = sim.simulate(s, runs=4_500, seed=8, integrate=True, workers=1, progress=False)
    two = sim.simulate(s, runs=4_500, seed=8, integrate=True, workers=2, progress=False)
    assert one.csv_text() == two.csv_text()


def test_integrate_needs_uncertainties_and_runs_on_every_engine() -> None:
    with pytest.raises(sim.UsageError, match="uncertainties"):
        sim.simulate(scenario(), runs=10, seed=1, integrate=True)
    s = scenario(**{"parties.a.violation_prob": {"dist": "uniform", "low": 0.1, "high": 0.2}})
    fast = sim.simulate(s, runs=300, seed=1, integrate=True, engine="fast", progress=False)
    ref = sim.simulate(s, runs=300, seed=1, integrate=True, engine="simpy", progress=False)
    assert fast.csv_text() == ref.csv_text()


def test_integrate_writes_values_into_the_tables_as_validation_would() -> None:
    """The direct path (values written into the engine's tables) gives the runs of the
    validated path (a scenario built and checked per run)."""
    from sim.engines import paramsets

    path = Path(__file__).resolve().parents[1] / "scenarios" / "uncertain_geneva_2016.yaml"
    s = sim.load_scenario(path)
    assert paramsets.supports(s)
    direct = sim.simulate(s, runs=400, seed=4, integrate=True, engine="fast", progress=False)
    original = paramsets.supports
    try:
        paramsets.supports = lambda _: False  # type: ignore[assignment]
        checked = sim.simulate(s, runs=400, seed=4, integrate=True, engine="fast", progress=False)
    finally:
        paramsets.supports = original  # type: ignore[assignment]
    assert direct.columns is not None and checked.columns is not None
    np.testing.assert_array_equal(direct.columns.theta, checked.columns.theta)
    np.testing.assert_array_equal(direct.columns.outcome, checked.columns.outcome)
    np.testing.assert_allclose(
        direct.columns.collapse_time, checked.columns.collapse_time, atol=1e-9, equal_nan=True
    )


def test_scenarios_pickle_as_plain_data() -> None:
    s = sim.load_scenario(Path(__file__).resolve().parents[1] / "scenarios" / "geneva_2016.yaml")
    back = pickle.loads(pickle.dumps(s))
    assert back == s
    assert (
        back.with_overrides({"parties.government.violation_prob.2": 0.3})
        .parties["government"]
        .violation_prob[2]
        == 0.3
    )


def test_report_lists_each_uncertainty_once_in_words() -> None:
    from sim.report import assumptions

    s = scenario(
        **{
            "parties.a.violation_prob": {
                "dist": "triangular",
                "low": 0.1,
                "mode": 0.2,
                "high": 0.4,
            },
            "parties.a.tolerance": {"dist": "choice", "values": [0, 2]},
        }
    )
    rows = {key: value for key, value, _, _ in assumptions(s) if key.startswith("uncert")}
    assert rows == {
        "uncertainties.parties.a.violation_prob": "triangular 0.1 to 0.4, most likely 0.2",
        "uncertainties.parties.a.tolerance": "one of 0, 2",
    }


def test_trace_replays_a_run_of_integrate(capsys: pytest.CaptureFixture[str]) -> None:
    """`trace --integrate` tells the story of run I of `run --integrate`: same parameter
    draw, same record, on either engine."""
    path = Path(__file__).resolve().parents[1] / "scenarios" / "uncertain_geneva_2016.yaml"
    s = sim.load_scenario(path)
    batch = sim.simulate(s, runs=30, seed=8, integrate=True, engine="fast", progress=False)
    assert batch.columns is not None
    for run in (0, 7, 29):
        record, story = sim.trace_run(s, seed=8, run=run, engine="fast", integrate=True)
        np.testing.assert_array_equal(record.theta, batch.columns.theta[run])
        assert record.outcome == batch.columns.outcome[run]
        assert record.violations.tolist() == batch.columns.violations[run].tolist()
        assert sum(e.kind == "violation" for e in story) == batch.columns.violations[run].sum()
    from sim.cli import main

    assert main(["trace", str(path), "--seed", "8", "--run", "7", "--integrate"]) == 0
    out = capsys.readouterr().out
    second = out.splitlines()[1]  # under the title line
    assert second.startswith("this run's assumptions (--integrate): parties.government.")
    with pytest.raises(sim.UsageError, match="uncertainties"):
        sim.trace_run(scenario(), seed=1, run=0, integrate=True)


FLAGSHIP_UNCERTAIN = Path(__file__).parents[1] / "scenarios" / "uncertain_geneva_2016.yaml"
WIDE_BOOST = {"dist": "uniform", "low": 0.3, "high": 6.0}


@settings(max_examples=40, deadline=None)
@given(k=st.lists(st.integers(0, 2**53 - 1), min_size=16, max_size=16))
def test_no_point_of_the_ranges_is_more_explosive_than_their_corner(k: list[int]) -> None:
    """explosive_corner: the branching ratio anywhere in the ranges is at most the corner's
    (the claim that moving each assumption alone finds the corner)."""
    s = sim.load_scenario(FLAGSHIP_UNCERTAIN).with_overrides(
        {"uncertainties.parties.government.retaliation.boost": WIDE_BOOST}
    )
    corner, ratio = uncertainty.explosive_corner(s)
    assert ratio == pytest.approx(uncertainty.apply(s, corner).branching_ratio())
    u = np.asarray([k]) / 2.0**53  # uniforms as the streams give them
    point = uncertainty.values(s, u)[0]
    assert uncertainty.apply(s, point).branching_ratio() <= ratio * (1 + 1e-12)


def test_explosive_ranges_are_named_and_harmless_ones_are_not() -> None:
    """The flagship's ranges stay subcritical at their corner (0.90): no warning; widening
    the government's boost makes the corner explosive, and the warning names the ends."""
    s = sim.load_scenario(FLAGSHIP_UNCERTAIN)
    corner, ratio = uncertainty.explosive_corner(s)
    assert s.branching_ratio() < ratio < 1
    assert corner["parties.government.retaliation.boost"] == 0.9  # the high end
    assert corner["guarantors.russia.pressure"] == 0.1  # pressure: the low end
    assert "trigger.max_strain" not in corner  # moves no branching ratio
    assert uncertainty.explosive_warning(s) is None
    wide = s.with_overrides({"uncertainties.parties.government.retaliation.boost": WIDE_BOOST})
    warning = uncertainty.explosive_warning(wide)
    assert warning is not None
    assert "parties.government.retaliation.boost = 6" in warning
    assert f"{uncertainty.explosive_corner(wide)[1]:.2f} >= 1" in warning


def test_a_runaway_under_integrate_names_what_its_run_drew(tmp_path: Path) -> None:
    """A run whose draw is explosive stops the command with its drawn values and their
    branching ratio (on both engines; the run index survives SimPy's re-raise and pickling)."""
    path = tmp_path / "boom.yaml"
    path.write_text(
        f"extends: {FLAGSHIP_UNCERTAIN}\n"
        "monte_carlo: {max_events: 200}\n"
        "parties: {government: {tolerance: 1000000}, opposition: {tolerance: 1000000}}\n"
        "guarantors: {russia: {tolerance: 1000000}, usa: {tolerance: 1000000}}\n"
        "uncertainties:\n"
        f"  parties.government.retaliation.boost: {WIDE_BOOST}\n"
        "  parties.government.tolerance: {dist: uniform, low: 900000, high: 1000000}\n",
        encoding="utf-8",
    )
    s = sim.load_scenario(path)
    runs = []
    for engine in ("fast", "simpy"):
        with pytest.raises(RunawayError) as caught:
            sim.simulate(s, runs=3000, seed=20160912, engine=engine, integrate=True,
                         progress=False)  # fmt: skip
        err = caught.value
        assert err.run is not None
        assert "under --integrate this run drew" in str(err)
        assert "parties.government.retaliation.boost = " in str(err)
        theta = runner.draw_theta(engine_scenario(s), 20160912, np.array([err.run]))[0]
        drawn = uncertainty.apply(engine_scenario(s), theta).branching_ratio()
        assert f"(branching ratio {drawn:.2f};" in str(err)
        runs.append(err.run)
        again = pickle.loads(pickle.dumps(err))
        assert (again.run, str(again)) == (err.run, str(err))
    assert runs[0] == runs[1]  # the engines agree on which run explodes first


def test_validate_and_integrate_warn_of_explosive_ranges(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`validate` and `run --integrate` print the warning (and still succeed); the flagship's
    own ranges give none."""
    from sim.cli import main

    path = tmp_path / "wide.yaml"
    path.write_text(
        f"extends: {FLAGSHIP_UNCERTAIN}\nuncertainties:\n"
        f"  parties.government.retaliation.boost: {WIDE_BOOST}\n",
        encoding="utf-8",
    )
    assert main(["validate", str(path)]) == 0
    err = capsys.readouterr().err
    assert f"{path}: warning: uncertainties: drawn together at the ends" in err
    argv = ["run", str(path), "--integrate", "--runs", "200", "--engine", "fast", "--quiet"]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 0
    assert "warning: uncertainties: drawn together" in capsys.readouterr().err
    assert main(["validate", str(FLAGSHIP_UNCERTAIN)]) == 0
    assert "warning" not in capsys.readouterr().err


@pytest.mark.parametrize("engine", list(sim.ENGINES))
def test_an_uncertain_tolerance_for_a_party_with_none_is_in_force(engine: str) -> None:
    """b has no tolerance in the file; drawn from [0, 0.5) per run, any strain on its side
    ends the run: P(triggered) = P(no violation of a in 3 days) = exp(−3μ)."""
    mu, runs = 0.4, 3_000  # each run validates its own scenario (no table slot): kept small
    scenario = sim.scenario_from_dict(
        {
            "name": "t", "title": "t", "window_days": 3,
            "parties": {
                "a": {"side": "A", "violation_rate": mu, "major_share": 0},
                "b": {"side": "B", "violation_rate": 0.0},
            },
            "uncertainties": {"parties.b.tolerance": {"dist": "uniform", "low": 0, "high": 0.5}},
        }
    )  # fmt: skip
    results = sim.simulate(scenario, runs, seed=3, engine=engine, integrate=True, progress=False)
    p = math.exp(-3 * mu)
    got = results.outcome_probabilities()["triggered"][0]
    assert abs(got - p) < 4.5 * math.sqrt(p * (1 - p) / runs)
    assert results.outcome_probabilities()["cancelled_collapse"][0] == pytest.approx(1 - got)


PHASED_UNCERTAIN = {
    "extends": "geneva_2016_phases.yaml",
    "name": "phased_uncertain",
    "parties": {"opposition": {"violation_prob": [0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3] + [0.3] * 14}},
    "uncertainties": {
        # set by the last phase itself: only the first three take the drawn value
        "humanitarian.permission_prob": {"dist": "uniform", "low": 0.1, "high": 0.6},
        "spoilers.nusra.attack_prob": {"dist": "uniform", "low": 0.2, "high": 0.6},
        # set by every phase but the last (per-day lists)
        "parties.government.violation_prob": {"dist": "uniform", "low": 0.2, "high": 0.5},
        # one day of a per-day list, inside the third phase (renumbered from its start)
        "parties.opposition.violation_prob.5": {"dist": "uniform", "low": 0.1, "high": 0.6},
        "parties.opposition.violation_prob.12": {"dist": "uniform", "low": 0.1, "high": 0.6},
        # replaced by the gates: no effect with phases
        "trigger.max_strain": {"dist": "uniform", "low": 2, "high": 9},
        "guarantors.russia.pressure": {"dist": "uniform", "low": 0.1, "high": 0.5},
        "parties.government.retaliation.boost": {"dist": "uniform", "low": 0.3, "high": 0.9},
        "rules.major_weight": {"dist": "uniform", "low": 2, "high": 4},
    },
}


@pytest.mark.parametrize("engine", ["fast", "simpy"])
def test_integrate_with_phases_writes_each_phases_tables_as_validation_would(
    engine: str, tmp_path: Path
) -> None:
    """With phases, each run's values go into every phase's tables except where the phase
    sets the key itself (or its gate replaces it); a day of a per-day list lands in the phase
    that holds it. Same runs as a validated scenario per run, on both engines."""
    from sim.engines import paramsets

    root = Path(__file__).resolve().parents[1] / "scenarios"
    data = PHASED_UNCERTAIN | {"extends": str(root / "geneva_2016_phases.yaml")}
    (tmp_path / "u.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    s = sim.load_scenario(tmp_path / "u.yaml")
    assert paramsets.supports(s)
    runs = 1_000 if engine == "fast" else 300
    direct = sim.simulate(s, runs=runs, seed=4, integrate=True, engine=engine, progress=False)
    original = paramsets.supports
    try:
        paramsets.supports = lambda _: False  # type: ignore[assignment]
        checked = sim.simulate(s, runs=runs, seed=4, integrate=True, engine=engine, progress=False)
    finally:
        paramsets.supports = original  # type: ignore[assignment]
    a, b = direct.columns, checked.columns
    assert a is not None and b is not None
    for name, x in a.arrays.items():  # the same arithmetic: equal to the last bit
        np.testing.assert_array_equal(x, b.arrays[name], err_msg=name)
    assert len(set(a.outcome.tolist())) == 4


def test_integrate_builds_its_tables_in_slices_with_the_same_runs(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The per-run tables are built a slice of runs at a time (bounded memory); the runs are
    the same whatever the slice."""
    from sim import runner

    path = Path(__file__).resolve().parents[1] / "scenarios" / "uncertain_geneva_2016.yaml"
    s = sim.load_scenario(path)
    whole = sim.simulate(s, runs=3_000, seed=6, integrate=True, engine="fast", progress=False)
    monkeypatch.setattr(runner, "TABLE_BYTES", 1)  # one run per slice
    sliced = sim.simulate(s, runs=3_000, seed=6, integrate=True, engine="fast", progress=False)
    assert whole.columns is not None and sliced.columns is not None
    for name, x in whole.columns.arrays.items():
        np.testing.assert_array_equal(x, sliced.columns.arrays[name], err_msg=name)
