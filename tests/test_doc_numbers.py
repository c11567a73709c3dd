"""The numbers the README and docs/what_if.md publish are what the tool gives now.

The pages quote the reference engine; the fast engine gives the same runs, run by run
(tests/test_engines.py), so these checks use it and take a second. Other pages' numbers are
printed by their ``docs/*_numbers.py`` scripts, run by hand when the model changes."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import ROOT

import sim
from sim.compare import compare

SCENARIOS = ROOT / "scenarios"
SEED, RUNS = 20160912, 10_000
ROW = re.compile(r"^\s+(triggered|cancelled_\w+)\s+(\d+\.\d)%\s+\[(\d+\.\d)%, (\d+\.\d)%\]", re.M)


def percent(x: float) -> str:
    return f"{100 * x:.1f}"


@pytest.fixture(scope="module")
def flagship() -> sim.Results:
    scenario = sim.load_scenario(SCENARIOS / "geneva_2016.yaml")
    return sim.simulate(scenario, runs=RUNS, seed=SEED, engine="fast", progress=False)


def test_the_readme_table_is_the_flagships(flagship: sim.Results) -> None:
    rows = ROW.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert len(rows) >= 2
    probs = flagship.outcome_probabilities()
    for code, p, lo, hi in rows:
        got = probs[code]
        assert (p, lo, hi) == (percent(got[0]), percent(got[1]), percent(got[2])), code


def test_the_what_if_table_is_the_comparisons() -> None:
    text = (ROOT / "docs" / "what_if.md").read_text(encoding="utf-8")
    block = re.search(r"```\n  scenario .*?\n(.*?)```", text, re.S)
    assert block is not None
    shown = {line.split()[0]: line.split() for line in block.group(1).splitlines() if line.strip()}
    files = [SCENARIOS / f"{name}.yaml" for name in shown]
    rows = {row["label"]: row for row in compare(files, RUNS, SEED, engine="fast").table()}
    assert list(rows) == list(shown)
    for name, cells in shown.items():
        row = rows[name]
        p, interval = cells[1], f"{cells[2]} {cells[3]}"
        assert p == f"{row['p_triggered']:.1%}", name
        assert interval == f"[{row['ci95_lo']:.1%}, {row['ci95_hi']:.1%}]", name
        assert cells[-3:] == [
            f"{row[f'p_{code}']:.1%}"
            for code in ("cancelled_collapse", "cancelled_violence", "cancelled_access")
        ], name


def test_aid_from_day_one_changes_no_collapse_and_no_violence_run_by_run(
    flagship: sim.Results,
) -> None:
    """docs/what_if.md: letting aid in moves only the access outcome; the convoys draw from
    their own stream, so every run's violence is the flagship's."""
    aid = sim.load_scenario(SCENARIOS / "geneva_2016_aid_day_one.yaml")
    other = sim.simulate(aid, runs=RUNS, seed=SEED, engine="fast", progress=False).columns
    base = flagship.columns
    assert base is not None and other is not None
    np.testing.assert_array_equal(base.collapse_time, other.collapse_time)
    np.testing.assert_array_equal(base.violations, other.violations)
    for code in (1, 2):  # collapse, violence
        assert ((base.outcome == code) == (other.outcome == code)).all()


def test_the_uncertain_flagship_without_integrate_is_the_flagship(flagship: sim.Results) -> None:
    """Its ranges are drawn only with --integrate; otherwise it runs the flagship's values."""
    uncertain = sim.load_scenario(SCENARIOS / "uncertain_geneva_2016.yaml")
    same = sim.simulate(uncertain, runs=RUNS, seed=SEED, engine="fast", progress=False)
    assert same.csv_text() == flagship.csv_text()


def test_the_row_memory_the_docs_quote_is_the_estimate(flagship: sim.Results) -> None:
    """README's "about N bytes a run … about M million runs" and docs/reliability.md's exact
    figure are what :func:`sim.records.row_bytes` assumes for the flagship."""
    from sim.limits import ROW_MEMORY_BUDGET
    from sim.records import row_bytes

    need = row_bytes(flagship.shape)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    m = re.search(r"about (\d+) bytes a run for the flagship, about ([\d.]+) million runs", readme)
    assert m is not None
    assert abs(int(m.group(1)) - need) <= 0.05 * need
    assert float(m.group(2)) == round(ROW_MEMORY_BUDGET / need / 1e6, 1)
    page = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    assert f"it assumes {need} bytes a run" in " ".join(page.split())
    arrays = sum(a.nbytes for a in flagship.columns.arrays.values()) // flagship.runs
    assert f"the arrays measured {arrays} bytes" in " ".join(page.split())


def test_the_phases_funnel_table_is_the_runs() -> None:
    """docs/phases.md's funnel (10,000 runs, seed 20160912) against a fresh run."""
    text = (ROOT / "docs" / "phases.md").read_text(encoding="utf-8")
    rows = re.findall(
        r"^\| `(\w+)` \| (100%|[\d.]+% \[[^]]+\]) \| ([\d.]+% \[[^]]+\]) \|$", text, re.M
    )
    scenario = sim.load_scenario(SCENARIOS / "geneva_2016_phases.yaml")
    res = sim.simulate(scenario, runs=RUNS, seed=SEED, engine="fast", progress=False)
    summary = res.phase_summary()
    assert [name for name, _, _ in rows] == list(summary)

    def shown(v: dict) -> str:
        lo, hi = v["ci95"]
        return f"{v['p']:.1%} [{lo:.1%}, {hi:.1%}]"

    for name, reached, passed in rows:
        v = summary[name]
        assert reached == ("100%" if v["reached"]["p"] == 1 else shown(v["reached"])), name
        assert passed == shown(v["passed"]), name
