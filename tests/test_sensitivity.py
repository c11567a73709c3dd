"""Global sensitivity analysis (``ceasefire sensitivity``) on a scenario whose answer is known.

KNOWN has no violence that matters: nobody has a tolerance, there is no violence condition and
major events do not hinder convoys. The next step starts when at least 3 of the 5 daily convoys
get through, so P(triggered) = P(Binomial(5, success_prob) >= 3): ``success_prob`` alone decides
the outcome. ``parties.a.retaliation.half_life_hours`` is provably inert: party ``a`` has boost
0, so its excitation is zero whatever the half-life, and with common random numbers every run is
the same draw for draw. ``parties.a.violation_prob`` changes how many violations there are, which
cannot change the outcome: violations and convoys draw from streams of their own, so the
convoys get the same random numbers and its indices are exactly 0 too (it moves runs, not the
outcome).
"""

from __future__ import annotations

import csv
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import Cli
from hypothesis import given
from hypothesis import strategies as st

import sim
from sim import noise_floor, sensitivity

DECISIVE = "humanitarian.success_prob"
INERT = "parties.a.retaliation.half_life_hours"
NOISE = "parties.a.violation_prob"
KNOWN: dict[str, Any] = {
    "name": "known",
    "title": "Known answer",
    "window_days": 5,
    "parties": {
        "a": {"side": "A", "violation_prob": 0.2, "major_share": 0.5, "retaliation": {"boost": 0}},
        "b": {"side": "B", "violation_prob": 0.1, "retaliation": {"boost": 0.5}},
    },
    "humanitarian": {"first_day": 0, "success_prob": 0.5, "required_deliveries": 3},
    "uncertainties": {
        DECISIVE: {"dist": "uniform", "low": 0.1, "high": 0.9},
        INERT: {"dist": "uniform", "low": 1, "high": 72},
        NOISE: {"dist": "uniform", "low": 0.0, "high": 0.5},
    },
    "monte_carlo": {"seed": 11},
}
KNOWN_YAML = """\
name: known
title: Known answer
window_days: 5
parties:
  a: {side: A, violation_prob: 0.2, major_share: 0.5, retaliation: {boost: 0}}
  b: {side: B, violation_prob: 0.1, retaliation: {boost: 0.5}, tolerance: 3}
humanitarian: {first_day: 0, success_prob: 0.5, required_deliveries: 3}
uncertainties:
  humanitarian.success_prob: {dist: uniform, low: 0.1, high: 0.9}
  parties.a.retaliation.half_life_hours: {dist: uniform, low: 1, high: 72}
  parties.a.violation_prob: {dist: uniform, low: 0.0, high: 0.5}
monte_carlo: {seed: 11}
"""
SCENARIO = sim.scenario_from_dict(KNOWN)


def p_triggered(p: float) -> float:
    """P(Binomial(5, p) >= 3)."""
    return sum(math.comb(5, k) * p**k * (1 - p) ** (5 - k) for k in range(3, 6))


@pytest.fixture(scope="module")
def sobol() -> sensitivity.Sensitivity:
    return sensitivity.analyse(SCENARIO, "sobol", 128, runs=400, seed=3, progress=False)


@pytest.fixture(scope="module")
def morris() -> sensitivity.Sensitivity:
    return sensitivity.analyse(SCENARIO, "morris", 24, runs=400, seed=3, progress=False)


def index(sens: sensitivity.Sensitivity, measure: str, key: str) -> float:
    return sens.indices["p_triggered"][measure][sens.keys.index(key)]


def test_sobol_gives_the_inert_assumption_nothing_and_the_decisive_one_everything(
    sobol: sensitivity.Sensitivity,
) -> None:
    # three assumptions and the noise-floor dummy: N·(k + 3) points
    assert sobol.table.values.shape == (128 * (3 + 3), 3)
    # inert: identical outputs at A and A_B (common random numbers) -> exactly 0
    assert index(sobol, "S1", INERT) == 0 and index(sobol, "ST", INERT) == 0
    # violations draw from their own streams: the convoys, which decide, see the same numbers
    assert index(sobol, "S1", NOISE) == 0 and index(sobol, "ST", NOISE) == 0
    s1, st = index(sobol, "S1", DECISIVE), index(sobol, "ST", DECISIVE)
    assert st == max(sobol.indices["p_triggered"]["ST"])
    assert s1 == max(sobol.indices["p_triggered"]["S1"])
    assert abs(s1 - 1) < max(0.15, index(sobol, "S1_conf", DECISIVE))
    assert abs(st - 1) < max(0.15, index(sobol, "ST_conf", DECISIVE))
    assert sobol.ranking()[0] == DECISIVE  # the other two tie at 0 when NOISE moves no run
    # no collapse is possible: the mean collapse day is the window everywhere
    assert sobol.indices["holding_days"] is None
    assert np.all(sobol.table.holding_days == 5)


def test_the_design_points_follow_the_closed_form(sobol: sensitivity.Sensitivity) -> None:
    p = sobol.table.p("triggered")
    exact = np.array([p_triggered(v) for v in sobol.table.values[:, 0]])
    z = np.abs(p - exact) / np.sqrt(np.maximum(exact * (1 - exact), 1e-4) / sobol.runs)
    assert np.mean(z < 3) > 0.97
    assert sobol.table.values[:, 0].min() >= 0.1 and sobol.table.values[:, 0].max() < 0.9


def test_morris_ranks_the_assumptions_the_same_way(
    sobol: sensitivity.Sensitivity, morris: sensitivity.Sensitivity
) -> None:
    assert morris.table.values.shape == (24 * (3 + 2), 3)
    assert morris.ranking() == sobol.ranking()
    assert index(morris, "mu_star", INERT) == 0 and index(morris, "sigma", INERT) == 0
    assert index(morris, "mu_star", NOISE) == 0 < index(morris, "mu_star", DECISIVE)


def test_tornado(sobol: sensitivity.Sensitivity) -> None:
    base, ends = sobol.tornado_p()
    j = sobol.keys.index
    assert sobol.tornado_values.tolist() == [[0.1, 0.9], [1, 72], [0.0, 0.5]]
    # common random numbers: the inert assumption changes no run at all
    assert ends[j(INERT)].tolist() == [base, base]
    assert np.array_equal(sobol.tornado.counts[1 + 2 * j(INERT)], sobol.tornado.counts[0])
    runs = sobol.tornado.runs
    assert runs == sensitivity.TORNADO_FACTOR * sobol.runs
    for value, got in zip((0.5, 0.1, 0.9), (base, *ends[j(DECISIVE)]), strict=True):
        exact = p_triggered(value)
        assert abs(got - exact) < 4.5 * math.sqrt(exact * (1 - exact) / runs) + 1e-9
    assert ends[j(NOISE)].tolist() == [base, base]  # moves violations, not one outcome


def test_json_is_complete_and_plain(sobol: sensitivity.Sensitivity) -> None:
    data = json.loads(json.dumps(sobol.to_json(["ceasefire", "sensitivity"])))
    assert data["method"] == "sobol" and data["samples"] == 128
    assert data["points"] == 768 and data["runs_per_point"] == 400
    assert data["total_runs"] == 768 * 400 + 7 * 4000
    assert set(data["indices"]["p_triggered"]) == set(sobol.keys)
    assert set(data["indices"]["p_triggered"][DECISIVE]) == {
        *("S1", "S1_conf", "ST", "ST_conf", "S1_distinguishable", "ST_distinguishable")
    }
    assert data["indices"]["holding_days"] is None
    assert data["ranking"]["p_triggered"][0] == DECISIVE
    torn = data["tornado"]["assumptions"][INERT]
    assert (
        torn["p_triggered"][0]
        == torn["p_triggered"][1]
        == data["tornado"]["baseline"]["p_triggered"]
    )
    assert "SALib" in data["versions"]
    assert data["assumptions"][DECISIVE]["baseline"] == 0.5


def test_same_numbers_on_two_workers(morris: sensitivity.Sensitivity) -> None:
    two = sensitivity.analyse(SCENARIO, "morris", 24, runs=400, seed=3, workers=2, progress=False)
    assert np.array_equal(two.table.counts, morris.table.counts)
    assert np.array_equal(two.tornado.counts, morris.tornado.counts)
    assert two.indices == morris.indices


def test_same_numbers_on_a_local_dask_cluster() -> None:
    pytest.importorskip("distributed")
    kw: dict[str, Any] = {"runs": 200, "seed": 5, "progress": False}
    here = sensitivity.analyse(SCENARIO, "morris", 4, **kw)
    dask = sensitivity.analyse(SCENARIO, "morris", 4, workers=2, dask="local", **kw)
    assert np.array_equal(dask.table.counts, here.table.counts)
    assert np.array_equal(dask.tornado.counts, here.tornado.counts)
    assert dask.indices == here.indices


@pytest.mark.parametrize(
    ("uncertainties", "method", "samples", "message"),
    [
        ({}, "sobol", 64, "scenario known: .*at least 2 uncertain assumptions .* has 0"),
        ({DECISIVE: KNOWN["uncertainties"][DECISIVE]}, "sobol", 64, "has 1"),
        (KNOWN["uncertainties"], "sobol", 100, "power of 2"),
        (KNOWN["uncertainties"], "morris", 1, "at least 2 trajectories"),
        (KNOWN["uncertainties"], "fast99", 64, "unknown method"),
    ],
)
def test_bad_requests_fail_before_simulating(
    uncertainties: dict[str, Any], method: str, samples: int, message: str
) -> None:
    s = sim.scenario_from_dict({**KNOWN, "uncertainties": uncertainties})
    with pytest.raises(sim.UsageError, match=message):
        sensitivity.analyse(s, method, samples, runs=10, seed=1, progress=False)


def test_missing_salib_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "SALib", None)
    with pytest.raises(sim.UsageError, match=r"pip install 'ceasefire-sim\[analysis\]'"):
        sensitivity.analyse(SCENARIO, "sobol", 4, runs=10, seed=1, progress=False)


# --------------------------------------------------------------------------- command line


@pytest.fixture
def here(here: Path) -> Path:
    """The shared working directory, with this module's scenario file."""
    Path("known.yaml").write_text(KNOWN_YAML, encoding="utf-8")
    return here


def test_cli_writes_the_folder(here: Path, cli: Cli) -> None:
    argv = ("sensitivity", "known.yaml", "--samples", "16", "--runs", "300", "--quiet")
    code, out, err = cli(*argv)
    assert code == 0, err
    (folder,) = (here / "results" / "known").iterdir()
    assert folder.name.startswith("sensitivity-")
    assert sorted(p.name for p in folder.iterdir()) == [
        "figures",
        "points.csv",
        "sensitivity.json",
    ]
    assert sorted(p.name for p in (folder / "figures").iterdir()) == ["indices.png", "tornado.png"]
    data = json.loads((folder / "sensitivity.json").read_text(encoding="utf-8"))
    assert data["seed"] == 11 and data["runs_per_point"] == 300 and data["engine"] == "fast"
    assert data["command"] == ["ceasefire", *argv]
    with (folder / "points.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == data["points"] == 16 * 6
    assert list(rows[0])[:3] == [DECISIVE, INERT, NOISE]
    # tolerance 3 for b: collapses happen, so the mean collapse day has indices too
    assert data["indices"]["holding_days"] is not None
    assert data["ranking"]["p_triggered"][0] == DECISIVE
    assert "humanitarian.success_prob" in out.splitlines()[5]
    assert f"wrote {folder.relative_to(here)}/" in out


def test_cli_morris_without_plots(here: Path, cli: Cli) -> None:
    code, _out, err = cli(
        *("sensitivity", "known.yaml", "--method", "morris", "--samples", "4", "--runs", "100"),
        *("--out", "m", "--no-plots", "--quiet"),
    )
    assert code == 0, err
    assert sorted(p.name for p in Path("m").iterdir()) == ["points.csv", "sensitivity.json"]
    data = json.loads(Path("m/sensitivity.json").read_text(encoding="utf-8"))
    assert data["method"] == "morris" and data["points"] == 4 * 5
    assert "mu_star" in data["indices"]["p_triggered"][DECISIVE]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--set", "uncertainties={}"), "known.yaml: sensitivity analysis needs at least 2"),
        (("--method", "fast99"), "invalid choice"),
        (("--samples", "12"), "power of 2"),
        (("--out", "taken"), "already exists"),
    ],
)
def test_cli_errors_are_one_line_and_write_nothing(
    here: Path, cli: Cli, argv: tuple[str, ...], message: str
) -> None:
    Path("taken").mkdir()
    code, _out, err = cli("sensitivity", "known.yaml", "--runs", "10", *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err
    assert not Path("results").exists() and not any(Path("taken").iterdir())


def test_cli_without_salib_exits_2_naming_the_extra(
    here: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "SALib", None)
    code, out, err = cli("sensitivity", "known.yaml", "--runs", "10")
    assert code == 2 and not out
    assert err.strip() == (
        "ceasefire sensitivity: error: sensitivity analysis needs SALib: "
        "pip install 'ceasefire-sim[analysis]'"
    )
    assert not Path("results").exists()


def test_figures_show_the_numbers(sobol: sensitivity.Sensitivity) -> None:
    fig = sensitivity.indices_figure(sobol)
    bars = {p.get_gid(): p for p in fig.axes[0].patches if p.get_gid()}
    assert set(bars) == {
        *("p_triggered:S1", "p_triggered:ST"),
        *("p_triggered:S1:below_floor", "p_triggered:ST:below_floor"),
    }
    s1 = [p for p in fig.axes[0].patches if p.get_gid() == "p_triggered:S1"]
    # sorted by ST: the decisive assumption first (at the top)
    assert s1[0].get_width() == pytest.approx(index(sobol, "S1", DECISIVE))
    assert "no variation" in fig.axes[1].texts[0].get_text()
    fig = sensitivity.tornado_figure(sobol)
    widths = {p.get_gid(): p.get_width() for p in fig.axes[0].patches if p.get_gid()}
    assert widths[f"tornado:{INERT}:low"] == widths[f"tornado:{INERT}:high"] == 0
    base, ends = sobol.tornado_p()
    assert widths[f"tornado:{DECISIVE}:high"] == pytest.approx(ends[0, 1] - base)


# --------------------------------------------------------------------------- the noise floor


def mean_binomial_variance_and_variance() -> tuple[float, float]:
    """E[p(1 − p)] and Var(p) of p = P(triggered) over success_prob ~ uniform(0.1, 0.9)
    (midpoint rule on 4,000 cells: the integrand is a polynomial)."""
    p = np.array([p_triggered(x) for x in 0.1 + 0.8 * (np.arange(4_000) + 0.5) / 4_000])
    return float(np.mean(p * (1 - p))), float(np.var(p))


def test_the_dummy_gets_the_closed_form_noise_index(sobol: sensitivity.Sensitivity) -> None:
    """The dummy moves only the random numbers: f(AB_dummy) − f(A) is the difference of two
    independent Binomial(runs, p)/runs, so its Jansen total index is E[p(1−p)]/runs over the
    output's variance Var(p) + E[p(1−p)]/runs (to sampling error of N = 128 terms)."""
    noise, var = mean_binomial_variance_and_variance()
    expected = noise / sobol.runs / (var + noise / sobol.runs)
    dummy = sobol.dummy["p_triggered"]
    assert dummy is not None
    # relative sd of the estimate: a mean of 128 scaled chi-square(1) terms (sqrt(2/128) =
    # 0.125) whose scales p(1 − p) vary over the design, over an estimated variance: 0.145 to
    # 0.159 measured over 366 seeds; 0.16 at Z = 4.5 (the suite's tolerance)
    assert abs(dummy["ST"] - expected) < 4.5 * 0.16 * expected
    floor = sobol.floor()
    assert floor is not None
    assert floor["ST"] == pytest.approx(dummy["ST"] + dummy["ST_conf"])
    assert floor["S1"] == pytest.approx(abs(dummy["S1"]) + dummy["S1_conf"])
    # the points where the dummy moves (AB_dummy and B: 2 of every 6) ran with the second seed
    # of their base sample's pair; every base sample has its own pair
    assert sobol.fresh.sum() == 2 * 128
    blocks = sobol.seeds.reshape(128, 6)
    assert np.all(blocks[:, :4] == blocks[:, :1]) and np.all(blocks[:, 4:] == blocks[:, 4:5])
    assert len(set(sobol.seeds.tolist())) == 2 * 128


def test_the_inert_assumption_is_not_distinguishable_and_the_decisive_one_is(
    sobol: sensitivity.Sensitivity, morris: sensitivity.Sensitivity
) -> None:
    above = sobol.above_floor()
    assert above is not None
    j = sobol.keys.index
    for measure in ("S1", "ST"):
        assert above[measure][j(DECISIVE)]
        assert not above[measure][j(INERT)]  # exactly 0: changes no run
        assert not above[measure][j(NOISE)]  # changes runs, not the probability
    above = morris.above_floor()
    assert above == {"mu_star": [True, False, False]}
    data = json.loads(json.dumps(sobol.to_json()))
    assert data["indices"]["p_triggered"][DECISIVE]["ST_distinguishable"] is True
    assert data["indices"]["p_triggered"][INERT]["ST_distinguishable"] is False
    noise = data["noise_floor"]["outputs"]["p_triggered"]
    assert noise["above_floor"] == {"S1": [DECISIVE], "ST": [DECISIVE]}
    assert noise["floor"]["ST"] == pytest.approx(sobol.floor()["ST"])  # type: ignore[index]
    assert noise["advice"] is None  # no --floor asked for
    assert data["noise_floor"]["outputs"]["holding_days"] is None
    lines = sensitivity.text(sobol).splitlines()
    row = {line.split()[1]: line for line in lines if line[:4].strip().isdigit()}
    assert "≈0" not in row[DECISIVE] and row[INERT].count("≈0") == 2
    assert any(line.strip().startswith("noise floor") for line in lines)
    assert "distinguishable from zero (ST): 1 of 3 assumptions" in "\n".join(lines)


def test_an_index_whose_interval_reaches_zero_is_not_distinguishable() -> None:
    """Above the floor is not enough: S1 = 0.015 ± 0.019 over a floor of 0.012 may be 0."""
    from sim.noise_floor import distinguishable

    assert not distinguishable(0.015, 0.012, 0.019)
    assert distinguishable(0.020, 0.012, 0.012)
    assert not distinguishable(0.020, 0.030, 0.001)  # under the floor
    assert not distinguishable(0.012, 0.012, 0.0)  # at the floor


def test_the_floor_shrinks_with_more_runs_per_point_as_1_over_runs(
    sobol: sensitivity.Sensitivity,
) -> None:
    """The ST floor is a noise bias ∝ 1/runs (sim.noise_floor.SCALING); the advice made at 100
    runs per point for a sixteenth of the floor is 1,600 runs, and 1,600 runs deliver it."""
    kw: dict[str, Any] = {"seed": 3, "progress": False, "tornado_runs": 1}
    few = sensitivity.analyse(SCENARIO, "sobol", 128, runs=100, **kw)
    many = sensitivity.analyse(SCENARIO, "sobol", 128, runs=1_600, **kw)
    floors = [s.floor() for s in (few, sobol, many)]
    assert all(f is not None for f in floors)
    total = np.array([f["ST"] for f in floors])  # type: ignore[index]
    first = np.array([f["S1"] for f in floors])  # type: ignore[index]
    assert total[0] > total[1] > total[2] and first[0] > first[2]
    # each floor has a relative sd of about 0.16 (see the dummy's test above), so the log of
    # the ratio of two has sd 0.16·√2 ≈ 0.23 and the fitted slope (over ln 16 = 2.77) sd
    # 0.08: at Z = 4.5, −1 ± 0.37, and a ratio within a factor e^(4.5·0.23) ≈ 2.8 of 16
    slope = np.polyfit(np.log([100, 400, 1_600]), np.log(total), 1)[0]
    assert -1.37 < slope < -0.63
    few.target_floor = total[0] / 16
    advice = few.advice()
    assert advice is not None and advice["ST"] == pytest.approx(1_600, abs=1)
    assert few.target_floor / 2.8 < total[2] < 2.8 * few.target_floor


def test_the_seed_changes_exactly_where_the_dummy_moves() -> None:
    """The design layouts sim.noise_floor relies on, checked against SALib's samplers."""
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    prob = sensitivity.problem(SCENARIO)
    d = prob["num_vars"] - 1
    assert prob["names"][d] == noise_floor.DUMMY
    unit = sobol_sample.sample(prob, 16, calc_second_order=False, seed=1)
    fresh = noise_floor.fresh_points("sobol", unit)
    a_rows = np.repeat(unit[:: d + 3], d + 3, axis=0)
    moved = unit != a_rows
    assert np.array_equal(fresh, moved[:, d])  # fresh exactly where the dummy left A's value
    unit = morris_sample.sample(prob, 20, num_levels=sensitivity.MORRIS_LEVELS, seed=1)
    fresh = noise_floor.fresh_points("morris", unit)
    for t in range(20):
        rows = slice(t * (d + 2), (t + 1) * (d + 2))
        step = np.diff(unit[rows], axis=0) != 0
        assert np.all(step.sum(axis=1) == 1)  # one assumption per step
        assert np.array_equal(np.diff(fresh[rows].astype(int)) != 0, step[:, d])


@given(
    floor=st.floats(1e-6, 10),
    runs=st.integers(1, 100_000),
    targets=st.lists(st.floats(1e-6, 10), min_size=2, max_size=5),
    measure=st.sampled_from(sorted(noise_floor.SCALING)),
)
def test_the_advice_is_monotone_and_reaches_the_target(
    floor: float, runs: int, targets: list[float], measure: str
) -> None:
    advised = [noise_floor.runs_for_floor(floor, runs, t, measure) for t in sorted(targets)]
    assert advised == sorted(advised, reverse=True)  # a lower target never needs fewer runs
    assert all(n >= runs for n in advised)
    for t, n in zip(sorted(targets), advised, strict=True):
        # along the scaling law the floor at the advised runs is under the target
        assert floor * (runs / n) ** noise_floor.SCALING[measure] <= t * (1 + 1e-9)
        if t >= floor:
            assert n == runs


def test_the_figure_hatches_indices_below_the_floor(sobol: sensitivity.Sensitivity) -> None:
    fig = sensitivity.indices_figure(sobol)
    ax = fig.axes[0]
    below = [p for p in ax.patches if str(p.get_gid()).endswith(":below_floor")]
    # the inert and the noise assumption, S1 and ST each; the decisive one not
    assert len(below) == 4 and all(p.get_hatch() for p in below)
    lines = {ln.get_gid(): ln.get_xdata()[0] for ln in ax.lines if ln.get_gid()}
    floor = sobol.floor()
    assert floor is not None
    assert lines["p_triggered:ST:floor"] == pytest.approx(floor["ST"])
    assert lines["p_triggered:S1:floor"] == pytest.approx(floor["S1"])


def test_cli_advises_runs_per_point(here: Path, cli: Cli) -> None:
    argv = ("sensitivity", "known.yaml", "--samples", "16", "--runs-per-point", "200")
    code, out, err = cli(*argv, "--floor", "0.0001", "--out", "f", "--no-plots", "--quiet")
    assert code == 0, err
    data = json.loads(Path("f/sensitivity.json").read_text(encoding="utf-8"))
    assert data["runs_per_point"] == 200
    advice = data["noise_floor"]["outputs"]["p_triggered"]["advice"]
    assert advice["target"] == 0.0001 and advice["runs_per_point"]["ST"] > 200
    assert (
        f"about {advice['runs_per_point']['ST']:,} runs per point would bring the noise floor "
        "(ST) under 0.0001" in out
    )
    assert "or more --samples: S1's floor falls as 1/√samples too)" in out
    with Path("f/points.csv").open(encoding="utf-8") as f:
        seeds = {int(row["seed"]) for row in csv.DictReader(f)}
    assert len(seeds) == 2 * 16  # a pair per base sample


@pytest.mark.parametrize("level", ["0", "-0.1", "nan", "inf"])
def test_cli_bad_floor_is_one_line(here: Path, cli: Cli, level: str) -> None:
    code, _out, err = cli("sensitivity", "known.yaml", "--runs", "10", "--floor", level)
    assert code == 2
    assert err.strip().splitlines() == [
        f"ceasefire sensitivity: error: --floor must be a positive number, not {float(level)}"
    ]
    assert not Path("results").exists()
