"""Experiments and sweeps: common random numbers, workers, Dask, and the sweep command."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import numpy as np
import pytest

import sim
from sim import experiments, sweep
from sim.cli import main

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "scenarios" / "geneva_2016.yaml"


@pytest.fixture(scope="module")
def flagship() -> sim.Scenario:
    return sim.load_scenario(FLAGSHIP)


def test_a_point_is_the_scenario_simulated_with_the_same_seed(flagship: sim.Scenario) -> None:
    keys, values = experiments.grid({"guarantors.russia.pressure": (0.1, 0.7, 3)})
    table = experiments.evaluate(flagship, keys, values, runs=3_000, seed=4, progress=False)
    for i, v in enumerate(values[:, 0]):
        alone = sim.simulate(
            flagship.with_overrides({"guarantors.russia.pressure": v}),
            runs=3_000,
            seed=4,
            engine="fast",
            progress=False,
        )
        assert table.counts[i].tolist() == list(alone.outcome_counts().values())
        assert table.violations[i].tolist() == pytest.approx(
            [alone.violation_stats()[p]["mean"] for p in flagship.parties]
        )


def test_common_random_numbers_make_access_monotone(flagship: sim.Scenario) -> None:
    """Convoy success changes nothing but deliveries, so with the same draws every run that
    triggers at a lower success_prob also triggers at a higher one: P(triggered) can only grow,
    and the other cancellations cannot change."""
    permitted = flagship.with_overrides({"humanitarian.permission_prob": 1.0})
    table = sweep.sweep(
        permitted, [("humanitarian.success_prob", 0.0, 1.0, 6)], runs=4_000, seed=1, progress=False
    )
    p = table.p("triggered")
    assert p[0] == 0 and np.all(np.diff(p) >= 0) and p[-1] > 0.2
    for code in ("cancelled_collapse", "cancelled_violence"):
        assert np.all(table.p(code) == table.p(code)[0])


def test_points_do_not_depend_on_workers_or_dask(flagship: sim.Scenario) -> None:
    keys, values = experiments.grid(
        {"humanitarian.success_prob": (0.1, 0.9, 3), "guarantors.russia.pressure": (0.0, 0.6, 3)}
    )
    args = {"runs": 1_500, "seed": 12, "progress": False}
    here = experiments.evaluate(flagship, keys, values, **args)
    pool = experiments.evaluate(flagship, keys, values, workers=2, **args)
    assert np.array_equal(here.counts, pool.counts)
    pytest.importorskip("distributed")
    dask = experiments.evaluate(flagship, keys, values, workers=2, dask="local", **args)
    assert np.array_equal(here.counts, dask.counts)
    assert np.allclose(here.holding_days, dask.holding_days)


def test_bad_points_name_their_key(flagship: sim.Scenario) -> None:
    with pytest.raises(sim.ScenarioError, match=r"humanitarian\.success_prob"):
        experiments.evaluate(
            flagship, ["humanitarian.success_prob"], [[0.5], [1.5]], runs=10, seed=1
        )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x=1:2", "expected key.path=LOW:HIGH:N"),
        ("x=a:2:3", "numbers"),
        ("x=2:1:3", "LOW < HIGH"),
        ("x=0:1:1", "2 <= N"),
    ],
)
def test_bad_params_are_usage_errors(text: str, message: str) -> None:
    with pytest.raises(sim.UsageError, match=message):
        sweep.parse_param(text)


def test_sweep_command_writes_csv_json_and_figure(tmp_path: Path, capsys) -> None:
    out = tmp_path / "sw"
    code = main(
        [
            "sweep",
            str(FLAGSHIP),
            "--param",
            "humanitarian.success_prob=0:1:3",
            "--param",
            "guarantors.russia.pressure=0:0.6:2",
            "--runs",
            "500",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert len(rows) == 6
    assert {float(r["humanitarian.success_prob"]) for r in rows} == {0.0, 0.5, 1.0}
    assert all(
        float(r["p_triggered_lo"]) <= float(r["p_triggered"]) <= float(r["p_triggered_hi"])
        for r in rows
    )
    meta = json.loads((out / "sweep.json").read_text())
    assert meta["runs_per_point"] == 500 and meta["points"] == 6
    assert (out / "figures" / "sweep.png").stat().st_size > 10_000
    printed = capsys.readouterr().out
    assert "P(triggered)" in printed
    # every value ends where its column's header ends
    lines = printed.splitlines()
    head = next(i for i, line in enumerate(lines) if "P(triggered)" in line and "95%" in line)
    ends = [m.end() for m in re.finditer(r"\S+(?:\(\w+\))?", lines[head])][:3]
    for line in lines[head + 1 : head + 7]:
        assert [m.end() for m in re.finditer(r"\S+", line)][:3] == ends, (lines[head], line)


def test_sweep_command_errors_write_nothing(
    tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for argv in (
        ["--param", "x"],
        ["--param", "humanitarian.success_prob=0:1.5:3"],
        ["--param", "a=0:1:2", "--param", "b=0:1:2", "--param", "c=0:1:2"],
    ):
        assert main(["sweep", str(FLAGSHIP), "--runs", "50", *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "results").exists()


def test_bad_sweep_values_are_reported_as_params(flagship: sim.Scenario) -> None:
    with pytest.raises(sim.ScenarioError, match=r"^--param: nope: unknown key"):
        sweep.sweep(flagship, [("nope", 0.0, 1.0, 3)], runs=10, seed=1)
    with pytest.raises(sim.ScenarioError) as err:
        sweep.sweep(flagship, [("humanitarian.success_prob", 0.0, 1.5, 3)], runs=10, seed=1)
    assert "geneva_2016.yaml:" in str(err.value)
    assert "(from --param humanitarian.success_prob, at 1.5)" in str(err.value)
    # a value that makes another key of the file invalid names that key, and the --param
    with pytest.raises(sim.ScenarioError) as err:
        sweep.sweep(flagship, [("window_days", 3, 10, 8)], runs=10, seed=1)
    assert err.value.key == "parties.government.violation_prob"
    assert str(err.value).endswith(
        "needs one per day of the window (3) (from --param window_days, at 3)"
    )


def test_whole_number_grids_sweep_counts_and_fractions_of_them_are_refused(
    flagship: sim.Scenario,
) -> None:
    """A grid of whole numbers sweeps an integer key (the points are passed as integers); a
    grid whose inner points are not whole is refused before anything runs, naming the value."""
    table = sweep.sweep(flagship, [("humanitarian.required_deliveries", 0, 3, 4)], runs=200,
                        seed=1)  # fmt: skip
    assert table.values[:, 0].tolist() == [0, 1, 2, 3]
    triggered = table.counts[:, 0]  # the same runs at every point: more asked never helps
    assert (np.diff(triggered) <= 0).all() and triggered[0] > triggered[-1]
    with pytest.raises(sim.ScenarioError) as err:
        sweep.sweep(flagship, [("humanitarian.required_deliveries", 0, 3, 5)], runs=10, seed=1)
    assert "(from --param humanitarian.required_deliveries, at 0.75)" in str(err.value)


def test_points_written_into_the_tables_equal_validated_points() -> None:
    """Experiments write each point's values straight into the engine's tables; the runs are
    those of a scenario built and validated per point."""
    from sim.engines import paramsets

    scenario = sim.load_scenario(ROOT / "scenarios" / "uncertain_geneva_2016.yaml")
    keys = [k for k in scenario.uncertainties if not k.startswith("observations")]
    values = sim.uncertainty.values(
        scenario.model_copy(update={"uncertainties": {k: scenario.uncertainties[k] for k in keys}}),
        np.random.default_rng(3).random((12, len(keys))),
    )
    seeds = np.arange(12) % 3 + 5
    assert paramsets.supports_keys(scenario, keys)
    direct = experiments.evaluate_task(scenario, keys, values, 300, seeds, "fast")
    original = paramsets.supports_keys
    try:
        paramsets.supports_keys = lambda *_: False  # type: ignore[assignment]
        checked = experiments.evaluate_task(scenario, keys, values, 300, seeds, "fast")
    finally:
        paramsets.supports_keys = original  # type: ignore[assignment]
    for a, b in zip(direct, checked, strict=True):
        np.testing.assert_array_equal(a[0], b[0])
        assert a[1] == pytest.approx(b[1], abs=1e-9)


def test_grid_values_are_the_decimals_asked_for() -> None:
    """0.1:0.6:6 gives 0.1, 0.2, …, 0.6 (not linspace's 0.30000000000000004), so sweep.csv
    shows, and the runs use, the values the user wrote."""
    _, values = experiments.grid({"k": (0.1, 0.6, 6)})
    assert values[:, 0].tolist() == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    _, values = experiments.grid({"k": (0, 1, 3), "j": (1e-3, 3e-3, 3)})
    assert sorted(set(values[:, 1].tolist())) == [0.001, 0.002, 0.003]
