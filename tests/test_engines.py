"""The engines are one model: identical run by run, and common random numbers hold.

Both engines draw every random number from streams keyed by (seed, run, mechanism) and apply
the same compiled rules, so run ``i`` of ``fast`` is run ``i`` of ``simpy``. These tests check
that on every scenario in scenarios/ and on a synthetic scenario that exercises what the
flagship does not (three sides, several targets, guarantor incidents, retaliation on all
sides), and that a variant changes only the runs its change touches.
"""

from __future__ import annotations

import functools
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import sim
from sim import Results, Scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
RUNS = 4_000
THREE_SIDES = {
    "name": "three-sides",
    "title": "three sides, several targets",
    "window_days": 6,
    "rules": {"major_weight": 2.5},
    "parties": {
        "a": {
            "side": "A",
            "violation_prob": [0.3, 0.2, 0.4, 0.3, 0.5, 0.2],
            "major_share": 0.3,
            "retaliation": {"boost": 0.5, "half_life_hours": 18},
            "tolerance": 9,
        },
        "b": {
            "side": "B",
            "violation_rate": 0.35,
            "targets": ["A", "C"],
            "retaliation": {"boost": 0.8, "half_life_hours": 6},
            "tolerance": 12,
        },
        "c": {
            "side": "C",
            "violation_prob": 0.25,
            "major_share": 0.5,
            "retaliation": {"boost": 0.4, "half_life_hours": 30},
        },
        "c2": {"side": "C", "violation_rate": [0.1, 0.1, 0.3, 0.3, 0.0, 0.2], "tolerance": 7},
    },
    "spoilers": {
        "s": {
            "attack_rate": 0.4,
            "major_share": 0.6,
            "targets": "B",
            "blamed_on": "a",
            "blame_prob": 0.5,
        }
    },
    "guarantors": {
        "g": {
            "clients": ["b"],
            "pressure": 0.3,
            "tolerance": 10,
            "incident_prob": 0.05,
            "incident_target": "C",
        }
    },
    "humanitarian": {
        "first_day": 1,
        "convoys_per_day": 2,
        "success_prob": 0.7,
        "major_violation_penalty": 0.3,
        "required_deliveries": 5,
    },
    "trigger": {"quiet_days": 2, "max_strain": 5},
}


def _scenarios() -> dict[str, Scenario]:
    out = {p.stem: sim.load_scenario(p) for p in SCENARIOS}
    out["three_sides"] = sim.scenario_from_dict(THREE_SIDES)
    return out


ALL = _scenarios()


@functools.cache
def results(name: str, engine: str, runs: int = RUNS) -> Results:
    return sim.simulate(ALL[name], runs=runs, seed=2024, engine=engine, progress=False)


def differing_rows(a: Results, b: Results) -> list[int]:
    """Runs whose records differ: a discrete field differs, or a time by more than 1e-9."""
    ca, cb = a.columns, b.columns
    assert ca is not None and cb is not None
    bad = np.zeros(ca.runs, bool)
    for name, xa in ca.arrays.items():
        xb = cb.arrays[name]
        if xa.dtype.kind == "f":
            same = np.isclose(xa, xb, rtol=0, atol=1e-9, equal_nan=True)
        else:
            same = xa == xb
        bad |= ~same.reshape(ca.runs, -1).all(1)
    return np.flatnonzero(bad).tolist()


@pytest.mark.parametrize("name", list(ALL))
def test_engines_give_the_same_runs(name: str) -> None:
    """Every run identical (times within 1e-9): both engines call the same compiled rules in
    the same order, so not even a rounding at a threshold may differ (the issue allowed 0.1%;
    the docs say identical, and this checks that)."""
    simpy, fast = results(name, "simpy"), results(name, "fast")
    rows = differing_rows(simpy, fast)
    assert not rows, f"{len(rows)} of {RUNS} runs differ: {rows[:10]}"
    assert simpy.csv_text() == fast.csv_text()


def test_the_identity_check_catches_a_real_difference() -> None:
    """Negative control: a change of 0.001 in one spoiler's daily probability is seen."""
    nudged = ALL["geneva_2016"].with_overrides({"spoilers.nusra.attack_prob": 0.401})
    other = sim.simulate(nudged, runs=RUNS, seed=2024, engine="fast", progress=False)
    assert len(differing_rows(results("geneva_2016", "simpy"), other)) > RUNS // 1000


@pytest.mark.parametrize("engine", list(sim.ENGINES))
def test_results_do_not_depend_on_workers_or_chunks(engine: str) -> None:
    scenario = ALL["three_sides"]
    runs = 2 * sim.ENGINES["simpy"].chunk + 123  # several chunks, the last one short
    one = sim.simulate(scenario, runs=runs, seed=11, engine=engine, workers=1, progress=False)
    two = sim.simulate(scenario, runs=runs, seed=11, engine=engine, workers=2, progress=False)
    assert one.csv_text() == two.csv_text()
    assert one.summary() == two.summary()
    part = sim.runner.simulate_chunk(
        sim.engines.Params.from_scenario(scenario), engine, 11, 1000, 1010
    )
    assert one.columns is not None
    np.testing.assert_array_equal(part.outcome, one.columns.outcome[1000:1010])


def test_summary_only_gives_the_same_summary() -> None:
    scenario = ALL["geneva_2016"]
    full = sim.simulate(scenario, runs=20_000, seed=3, engine="fast", progress=False)
    lean = sim.simulate(
        scenario, runs=20_000, seed=3, engine="fast", keep_runs=False, progress=False
    )
    assert lean.columns is None
    assert lean.summary() == full.summary()
    with pytest.raises(sim.UsageError):
        lean.csv_text()


@pytest.mark.parametrize("engine", list(sim.ENGINES))
def test_trace_tells_the_run_of_either_engine(engine: str) -> None:
    scenario = ALL["three_sides"]
    batch = sim.simulate(scenario, runs=50, seed=5, engine=engine, progress=False).columns
    assert batch is not None
    for run in (0, 17, 49):
        record, story = sim.trace_run(scenario, seed=5, run=run, engine=engine)
        assert record.outcome == batch.outcome[run]
        assert record.violations.tolist() == batch.violations[run].tolist()
        kinds = [e.kind for e in story]
        assert sum(k == "violation" for k in kinds) == batch.violations[run].sum()


# --------------------------------------------------------------------------- common random numbers


def changed(
    a: Scenario, b: Scenario, engine: str, runs: int = 20_000
) -> tuple[np.ndarray, Any, Any]:
    """Which runs' P(triggered) indicator differs between ``a`` and ``b`` (same seed), and
    both runs' columns."""
    ra = sim.simulate(a, runs=runs, seed=20160912, engine=engine, progress=False)
    rb = sim.simulate(b, runs=runs, seed=20160912, engine=engine, progress=False)
    assert ra.columns is not None and rb.columns is not None
    ta, tb = ra.columns.outcome == 0, rb.columns.outcome == 0
    return ta != tb, ra.columns, rb.columns


def discordant(a: Scenario, b: Scenario, engine: str, runs: int = 20_000) -> tuple[int, Results]:
    """How many runs' P(triggered) indicator differs between ``a`` and ``b`` (same seed)."""
    ra = sim.simulate(a, runs=runs, seed=20160912, engine=engine, progress=False)
    rb = sim.simulate(b, runs=runs, seed=20160912, engine=engine, progress=False)
    assert ra.columns is not None and rb.columns is not None
    ta, tb = ra.columns.outcome == 0, rb.columns.outcome == 0
    return int((ta != tb).sum()), ra


def _reordered(s: Scenario) -> Scenario:
    data = s.model_dump(mode="json", exclude_none=True)
    for block in ("parties", "spoilers", "guarantors"):
        data[block] = dict(reversed(list(data[block].items())))
    return sim.scenario_from_dict(data)


@pytest.mark.parametrize("engine", ["fast"])
def test_common_random_numbers_hold_across_variants(engine: str) -> None:
    """The acceptance measurements of docs/what_if.md (fast engine: the engines are identical,
    test_engines_give_the_same_runs)."""
    base = ALL["geneva_2016"]
    same, _ = discordant(base, base.with_overrides({}), engine)
    assert same == 0
    order, _ = discordant(base, _reordered(base), engine)
    assert order == 0
    tiny, a, b = changed(base, base.with_overrides({"spoilers.isis.attack_prob": 0.401}), engine)
    assert tiny.sum() < 0.005 * 20_000
    # only runs in which ISIS attacked can change: nothing else draws differently
    isis = list(base.spoilers).index("isis")
    attacked = (a.attacks[:, isis] > 0) | (b.attacks[:, isis] > 0)
    assert not (tiny & ~attacked).any()
    blame, a, _ = changed(base, base.with_overrides({"spoilers.nusra.blame_prob": 0.1}), engine)
    nusra = list(base.spoilers).index("nusra")
    assert blame.any() and not (blame & ~(a.attacks[:, nusra] > 0)).any()
    quiet, ra = discordant(base, base.with_overrides({"guarantors.usa.incident_prob": 0.0}), engine)
    assert ra.columns is not None
    had_incident = int((ra.columns.incidents.sum(1) > 0).sum())
    assert 0 < quiet <= had_incident


@pytest.mark.parametrize("engine", list(sim.ENGINES))
def test_more_convoys_a_day_keep_the_first_convoys_draws(engine: str) -> None:
    """Convoy ``c`` of day ``d`` always reads the same uniform, whatever the number of
    convoys a day: going from 3 to 6 (past a block of four) leaves the violence untouched and
    never takes a delivery away, run by run; the deliveries added are the new convoys'."""
    base = ALL["three_sides"]
    runs = 2_000 if engine == "fast" else 500
    three, six, twelve = (
        sim.simulate(
            base.with_overrides({"humanitarian.convoys_per_day": n}),
            runs=runs, seed=5, engine=engine, progress=False,
        ).columns
        for n in (3, 6, 12)
    )  # fmt: skip
    assert three is not None and six is not None and twelve is not None
    for more in (six, twelve):
        assert np.array_equal(more.events_daily, three.events_daily)
        assert (more.deliveries >= three.deliveries).all()
    assert (six.deliveries > three.deliveries).mean() > 0.5
    assert (twelve.deliveries >= six.deliveries).all()


# --------------------------------------------------------------------------- runaways


BOOM = {
    "name": "boom",
    "title": "boom",
    "monte_carlo": {"max_events": 2000},
    "parties": {
        n: {"side": n, "violation_rate": 1.0, "retaliation": {"boost": 5.0, "half_life_hours": 48}}
        for n in "xy"
    },
}


@pytest.mark.parametrize("engine", list(sim.ENGINES))
def test_runaway_runs_stop_with_a_clear_error(engine: str) -> None:
    boom = sim.scenario_from_dict(BOOM)
    assert boom.branching_ratio() > 1
    with pytest.raises(sim.RunawayError, match=r"run 0 exceeded monte_carlo.max_events"):
        sim.simulate(boom, runs=10_000, seed=1, engine=engine, progress=False)


def test_a_runaway_scenario_exits_2_from_the_command_line(tmp_path: Path) -> None:
    """10,000 runs of a supercritical scenario end at once (the bound only catches a hang)."""
    import yaml

    path = tmp_path / "boom.yaml"
    path.write_text(yaml.safe_dump({**BOOM, "monte_carlo": {}}))
    done = subprocess.run(
        [sys.executable, "-m", "sim", "run", str(path), "--runs", "10000", "--engine", "fast",
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 2
    assert re.search(r"max_events", done.stderr)
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("engine", list(sim.ENGINES))
def test_an_infinite_hazard_is_an_error_not_a_hang(
    engine: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validation refuses such rates; the engines guard anyway (caps lifted to reach them)."""
    monkeypatch.setattr(sim.limits, "MAX_RATE", math.inf)
    monkeypatch.setattr(sim.limits, "MAX_HALF_LIFE_HOURS", math.inf)
    huge = sim.scenario_from_dict(
        {**BOOM, "parties": {n: {"side": n, "violation_rate": 1e300,
                                 "retaliation": {"boost": 1e300}} for n in "xy"}}
    )  # fmt: skip
    with pytest.raises(sim.RunawayError):
        sim.simulate(huge, runs=10, seed=1, engine=engine, progress=False)
