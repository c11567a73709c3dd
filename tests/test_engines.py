"""The fast engine is the same model as the SimPy reference: distributions agree.

Every closed-form check runs on every engine (tests/test_model_closed_form.py). Here the two
engines are compared head to head on every scenario in scenarios/ and on a synthetic scenario
that exercises what the flagship does not (three sides, several targets, guarantor incidents,
retaliation on all sides). Fixed seeds, so nothing is flaky; the thresholds are sized so that a
real difference is caught, which the negative control demonstrates.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import sim
from sim import Results, Scenario

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
P_MIN = 1e-4
Z = 4.5
RUNS = {"simpy": 8_000, "fast": 40_000}

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
def results(name: str, engine: str) -> Results:
    return sim.simulate(ALL[name], runs=RUNS[engine], seed=2024, engine=engine, progress=False)


def differences(a: Results, b: Results) -> list[str]:
    """Every way in which two result sets are distinguishable (empty when they agree)."""
    found = []
    ca, cb = a.columns, b.columns
    assert ca is not None and cb is not None
    table = np.array([np.bincount(c.outcome, minlength=4) for c in (ca, cb)])
    table = table[:, table.sum(0) > 0]
    if table.shape[1] > 1 and (p := stats.chi2_contingency(table).pvalue) < P_MIN:
        found.append(f"outcome frequencies differ (chi-square p={p:.1e}): {table.tolist()}")
    ta, tb = (c.collapse_time[~np.isnan(c.collapse_time)] for c in (ca, cb))
    if min(ta.size, tb.size) >= 50 and (p := stats.ks_2samp(ta, tb).pvalue) < P_MIN:
        found.append(f"collapse times differ (KS p={p:.1e})")
    for label, xa, xb in [
        *(
            (f"violations of {n}", ca.violations[:, i], cb.violations[:, i])
            for i, n in enumerate(a.params.parties)
        ),
        *(
            (f"attacks of {n}", ca.attacks[:, k], cb.attacks[:, k])
            for k, n in enumerate(a.params.spoilers)
        ),
        *(
            (f"blamed attacks of {n}", ca.blamed[:, k], cb.blamed[:, k])
            for k, n in enumerate(a.params.spoilers)
        ),
        *(
            (f"incidents of {n}", ca.incidents[:, g], cb.incidents[:, g])
            for g, n in enumerate(a.params.guarantors)
        ),
        ("deliveries", ca.deliveries, cb.deliveries),
        *(
            (f"final strain on {n}", ca.strain_daily[:, s, -1], cb.strain_daily[:, s, -1])
            for s, n in enumerate(a.params.sides)
        ),
    ]:
        se = np.sqrt(xa.var(ddof=1) / xa.size + xb.var(ddof=1) / xb.size)
        if se > 0 and abs(xa.mean() - xb.mean()) > Z * se:
            found.append(f"mean {label}: {xa.mean():.4f} vs {xb.mean():.4f} (±{se:.4f})")
    return found


@pytest.mark.parametrize("name", list(ALL))
def test_fast_engine_matches_the_reference(name: str) -> None:
    assert differences(results(name, "simpy"), results(name, "fast")) == []


def test_the_comparison_catches_a_small_real_difference() -> None:
    """Negative control: raising the government's violation probability by 0.05 a day is
    detected, so a passing comparison means something."""
    base = ALL["geneva_2016"]
    probs = base.parties["government"].violation_prob
    assert isinstance(probs, tuple)
    nudged = base.with_overrides(
        {"parties.government.violation_prob": [min(p + 0.05, 0.99) for p in probs]}
    )
    other = sim.simulate(nudged, runs=RUNS["fast"], seed=7, engine="fast", progress=False)
    assert differences(results("geneva_2016", "simpy"), other) != []


@pytest.mark.parametrize("engine", list(sim.ENGINES))
def test_results_do_not_depend_on_workers(engine: str) -> None:
    scenario = ALL["three_sides"]
    runs = 2 * sim.ENGINES[engine].chunk + 123  # three chunks, the last one short
    one = sim.simulate(scenario, runs=runs, seed=11, engine=engine, workers=1, progress=False)
    two = sim.simulate(scenario, runs=runs, seed=11, engine=engine, workers=2, progress=False)
    assert one.csv_text() == two.csv_text()
    assert one.summary() == two.summary()


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


def test_fast_engine_cannot_replay_single_runs() -> None:
    with pytest.raises(sim.UsageError, match="cannot replay"):
        sim.trace_run(ALL["geneva_2016"], seed=1, run=0, engine="fast")


def test_fast_engine_stops_runaway_runs() -> None:
    boom = sim.scenario_from_dict(
        {
            "name": "boom",
            "title": "boom",
            "monte_carlo": {"max_events": 500},
            "parties": {
                n: {
                    "side": n,
                    "violation_rate": 1.0,
                    "retaliation": {"boost": 5.0, "half_life_hours": 48},
                }
                for n in "xy"
            },
        }
    )
    assert boom.branching_ratio() > 1
    with pytest.raises(sim.RunawayError, match="max_events"):
        sim.simulate(boom, runs=100, seed=1, engine="fast", progress=False)
