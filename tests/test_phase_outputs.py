"""Outputs of agreements in phases: the funnel and survival figures show the results' numbers,
``--outcome`` chooses what sweep, sensitivity and discover analyse (checked, exit 2 otherwise),
sweeps report each phase, the report and compare tell the phases, the phased scenarios run.

TWO has a closed form. Nobody walks away (no tolerances), there is no excitation, and each gate
fails at any hostile event (``max_strain: 0`` over the whole phase). Party ``a`` violates at
rate ``r_a`` in phase ``one`` (2 days) and ``r2`` in phase ``two`` (3 days); ``b`` at ``r_b``
throughout. So P(passed:one) = P(reached:two) = exp(−2(r_a + r_b)) and P(passed:two) =
P(triggered) = exp(−2(r_a + r_b) − 3(r2 + r_b)).
"""

from __future__ import annotations

import copy
import json
import math
import re
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import yaml
from matplotlib.collections import PathCollection
from matplotlib.patches import Rectangle

import sim
from sim import discovery, experiments, sensitivity, sweep
from sim.cli import main
from sim.compare import compare_results
from sim.funnel import STOPS, funnel, phase_stops
from sim.plots import funnel_figure, phase_survival_figure, save_figures, trace_figure
from sim.plots.phases import boundaries
from sim.report import assumptions, report_html

ROOT = Path(__file__).resolve().parent.parent
Z = 4.5
"""Allowed distance from a closed form, in standard errors of the sample."""

R_A, R_B, R2 = 0.1, 0.05, 0.2
TWO: dict[str, Any] = {
    "name": "two",
    "title": "Two phases",
    "parties": {
        "a": {"side": "A", "violation_rate": R_A},
        "b": {"side": "B", "violation_rate": R_B},
    },
    "phases": [
        {"name": "one", "label": "first step", "days": 2, "gate": {"max_strain": 0}},
        {
            "name": "two",
            "label": "second step",
            "days": 3,
            "set": {"parties.a.violation_rate": R2},
            "gate": {"max_strain": 0},
        },
    ],
    "uncertainties": {
        "parties.a.violation_rate": {"dist": "uniform", "low": 0.0, "high": 0.4},
        "parties.b.violation_rate": {"dist": "uniform", "low": 0.0, "high": 0.2},
    },
    "monte_carlo": {"seed": 5},
}

# Phases with every way of stopping: collapse (tolerances), violence and access gates, an
# extension, convoys with a permission draw.
RICH: dict[str, Any] = {
    "name": "rich",
    "title": "Rich phases",
    "start": "2020-01-01T00:00:00+00:00",
    "parties": {
        "gov": {"side": "g", "violation_prob": 0.3, "major_share": 0.3, "tolerance": 6},
        "reb": {"side": "r", "violation_prob": 0.2, "tolerance": 8},
    },
    "humanitarian": {"first_day": 0, "success_prob": 0.6, "permission_prob": 0.7},
    "phases": [
        {"name": "first", "days": 3, "gate": {"quiet_days": 2, "max_strain": 4}},
        {
            "name": "second",
            "days": 4,
            "gate": {"quiet_days": 2, "max_strain": 4, "required_deliveries": 2},
            "on_fail": {"extend_days": 2, "times": 1},
        },
        {"name": "third", "days": 5, "gate": {"quiet_days": 3, "max_strain": 6}},
    ],
}


FLAT = {k: v for k, v in TWO.items() if k != "phases"} | {"window_days": 5}
"""TWO without phases."""


def p_one(ra: float = R_A, rb: float = R_B) -> float:
    return math.exp(-2 * (ra + rb))


def p_two(ra: float = R_A, rb: float = R_B, r2: float = R2) -> float:
    return math.exp(-2 * (ra + rb) - 3 * (r2 + rb))


def near(p_hat: float, p: float, n: int) -> bool:
    return abs(p_hat - p) <= Z * math.sqrt(p * (1 - p) / n) + 1e-12


@pytest.fixture(scope="module")
def two() -> sim.Scenario:
    return sim.scenario_from_dict(TWO)


@pytest.fixture(scope="module")
def rich() -> sim.Results:
    return sim.simulate(sim.scenario_from_dict(RICH), runs=3_000, seed=3, progress=False)


@pytest.fixture()
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "two.yaml").write_text(yaml.safe_dump(TWO), encoding="utf-8")
    (tmp_path / "flat.yaml").write_text(yaml.safe_dump(FLAT), encoding="utf-8")
    return tmp_path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- figures


def _bars(fig: Any, gid: str) -> list[Rectangle]:
    return [a for a in fig.axes[0].patches if isinstance(a, Rectangle) and a.get_gid() == gid]


def test_funnel_bars_are_the_phase_summary_and_the_stops_fill_the_gap(rich: sim.Results) -> None:
    summary = rich.phase_summary()
    fig = funnel_figure(rich)
    reached = [b.get_height() for b in _bars(fig, "funnel:reached")]
    passed = [b.get_height() for b in _bars(fig, "funnel:passed")]
    assert reached == pytest.approx([v["reached"]["p"] for v in summary.values()])
    assert passed == pytest.approx([v["passed"]["p"] for v in summary.values()])
    stops = np.array([[b.get_height() for b in _bars(fig, f"funnel:{c}")] for c in STOPS])
    # runs that reached a phase either passed its gate or stopped in it, for one reason
    assert passed + stops.sum(0) == pytest.approx(reached)
    # and the reasons are the runs' own outcomes in the phase they ended in
    c = rich.columns
    for k in range(len(summary)):
        ended = c.phase == k
        for j, code in enumerate(STOPS):
            share = np.sum(ended & (c.outcome == sim.OUTCOMES.index(code))) / rich.runs
            assert stops[j, k] == pytest.approx(share)
    assert stops.sum() > 0 and stops[2].sum() > 0  # collapse, violence and access all happen


def test_funnel_without_per_run_rows_has_the_same_reasons() -> None:
    """The tally counts runs by phase and outcome while streaming, so --summary-only shows
    why runs stopped, the same numbers as the per-run rows give."""
    lean = sim.simulate(
        sim.scenario_from_dict(RICH), runs=300, seed=3, keep_runs=False, progress=False
    )
    full = sim.simulate(sim.scenario_from_dict(RICH), runs=300, seed=3, progress=False)
    fig = funnel_figure(lean)
    assert len(_bars(fig, "funnel:passed")) == 3
    a, b = funnel(lean), funnel(full)
    assert a is not None and b is not None and a.stops is not None
    np.testing.assert_array_equal(a.stops, b.stops)
    assert full.columns is not None
    np.testing.assert_array_equal(
        a.stops.sum(1), [np.sum(full.columns.phase == k) for k in range(3)]
        - np.asarray([np.sum((full.columns.phase == k) & (full.columns.outcome == 0))
                      for k in range(3)])
    )  # fmt: skip


def test_phase_stops_counts_by_phase_and_outcome() -> None:
    phase = np.array([0, 0, 1, 2, 2, 2])
    outcome = np.array([1, 2, 3, 0, 0, 1])
    got = phase_stops(phase, outcome, 3)
    assert got.tolist() == [[0, 1, 1, 0], [0, 0, 0, 1], [2, 1, 0, 0]]


def test_survival_over_the_phases_shows_the_curve_the_boundaries_and_the_gates(
    rich: sim.Results,
) -> None:
    fig = phase_survival_figure(rich)
    ax = fig.axes[0]
    (line,) = [ln for ln in ax.get_lines() if ln.get_gid() == "phase_survival"]
    horizon = rich.shape.window
    assert horizon == 3 + 4 + 2 + 5  # the phases plus the one possible extension
    times = np.linspace(0, horizon, 24 * horizon + 1)
    assert np.asarray(line.get_ydata()) == pytest.approx([s for _, s in rich.survival(times)])
    assert [b[0] for b in boundaries(rich)] == [3.0, 7.0, 12.0]
    names = {ln.get_gid() for ln in ax.get_lines()}
    assert {"boundary:first", "boundary:second", "boundary:third"} <= names
    passed = {k: v["passed"]["p"] for k, v in rich.phase_summary().items()}
    for name, p in passed.items():  # the errorbar's data point carries the gid
        (dot,) = [
            ln for ln in ax.get_lines() if ln.get_gid() == f"gate:{name}" and ln.get_marker() == "o"
        ]
        assert dot.get_ydata()[0] == pytest.approx(p)
    assert [p.get_gid() for p in ax.patches if p.get_gid() == "extension:second"]
    # the runs still in force: below the not-collapsed curve by the runs cancelled at gates
    (force,) = [ln for ln in ax.get_lines() if ln.get_gid() == "in_force"]
    assert np.asarray(force.get_ydata()) == pytest.approx([s for _, s in rich.in_force(times)])


@pytest.fixture(scope="module")
def strict() -> sim.Results:
    """RICH whose third phase lowers the government's tolerance: some runs collapse at the
    very start of that phase."""
    data = copy.deepcopy(RICH)
    data["phases"][2]["set"] = {"parties.gov.tolerance": 1.5}
    return sim.simulate(sim.scenario_from_dict(data), runs=3_000, seed=3, progress=False)


@pytest.mark.parametrize("name", ["rich", "strict"])
def test_in_force_is_survival_less_the_runs_cancelled_at_gates(
    name: str, request: pytest.FixtureRequest
) -> None:
    """Counted from the runs on the hourly grid: neither collapsed at or before t nor
    cancelled by a gate checked at or before t (a collapse at a phase's start counts from that
    very time, as a gate does); at the horizon every run has ended, and only the triggered
    ones are in force."""
    rich = request.getfixturevalue(name)
    c = rich.columns
    assert c is not None
    horizon = rich.shape.window
    times = np.arange(24 * horizon + 1) / 24
    collapse = np.nan_to_num(c.collapse_time, nan=np.inf)
    at_start = np.isfinite(collapse) & (collapse == np.floor(collapse))
    assert at_start.any() == (name == "strict")  # collapses exactly at a phase's start
    for t, share in rich.in_force(times):
        ended = (collapse <= t) | ((c.cancelled_day >= 0) & (c.cancelled_day <= t))
        assert share == pytest.approx(1 - ended.mean(), abs=1e-12), t
    for t, share in rich.survival(times):
        assert share == pytest.approx(1 - (collapse <= t).mean(), abs=1e-12), t
    assert dict(rich.in_force())[float(horizon)] == rich.outcome_probabilities()["triggered"][0]
    assert ((c.cancelled_day >= 0) == np.isin(c.outcome, [2, 3])).all()
    # the first gate (day 3), the second after its extension (7 + 2), the third on either path
    if name == "rich":
        assert set(c.cancelled_day[c.cancelled_day >= 0].tolist()) == {3, 9, 12, 14}
    assert rich.summary()["in_force"] == [list(x) for x in rich.in_force()]


def test_run_writes_phase_figures_only_for_scenarios_with_phases(
    rich: sim.Results, tmp_path: Path
) -> None:
    stems = {p.stem for p in save_figures(rich, tmp_path / "a", dpi=40)}
    assert {"phases", "phase_survival"} <= stems
    flat = sim.simulate(
        sim.scenario_from_dict(
            {k: v for k, v in TWO.items() if k != "phases"} | {"window_days": 5}
        ),
        runs=100,
        seed=1,
        progress=False,
    )
    stems = {p.stem for p in save_figures(flat, tmp_path / "b", dpi=40)}
    assert not {"phases", "phase_survival"} & stems


def test_trace_plot_marks_phase_starts_and_gates() -> None:
    scenario = sim.scenario_from_dict(RICH)
    for run in range(40):
        record, events = sim.runner.trace_run(scenario, 9, run)
        gates = [e for e in events if e.kind == "gate"]
        if len(gates) >= 2:
            break
    fig = trace_figure(scenario, record, events, 9, run)
    top = fig.axes[0]
    starts = sorted(
        ln.get_gid() for ln in top.get_lines() if str(ln.get_gid()).startswith("phase:")
    )
    assert starts == sorted(f"phase:{e.detail['phase']}" for e in events if e.kind == "phase")
    marks = [
        c.get_gid()
        for c in top.collections
        if isinstance(c, PathCollection) and str(c.get_gid()).startswith("gate:")
    ]
    expected = [
        f"gate:{e.detail['phase']}:{'passed' if e.detail['passed'] else 'failed'}" for e in gates
    ]
    assert sorted(marks) == sorted(expected)


def test_a_run_stopped_at_a_gate_says_which_gate() -> None:
    """With phases, violence is judged at every gate, not only at the end: the outcome words
    and a trace's verdict say so, naming the run's phase."""
    scenario = sim.scenario_from_dict(RICH)
    words = sim.plots.outcome_labels(sim.simulate(scenario, runs=10, seed=1, progress=False))
    assert words["cancelled_violence"] == "cancelled: too violent at a gate"
    seen = set()
    for run in range(200):
        record, events = sim.runner.trace_run(scenario, 9, run)
        if record.outcome in (2, 3) and record.outcome not in seen:
            seen.add(record.outcome)
            fig = trace_figure(scenario, record, events, 9, run)
            title = "\n".join(t.get_text() for t in fig.texts) + fig.axes[0].get_title()
            gate = f"the gate of phase {scenario.phases[record.phase].name}"
            assert gate in title, title
    assert seen == {2, 3}


# --------------------------------------------------------------------------- --outcome


def test_points_read_reached_and_passed_against_the_closed_form(two: sim.Scenario) -> None:
    runs = 4_000
    keys, values = experiments.grid({"parties.a.violation_rate": (0.0, 0.4, 3)})
    table = experiments.evaluate(two, keys, values, runs=runs, seed=2, progress=False)
    assert table.phases == ("one", "two")
    assert np.array_equal(table.count("reached:two"), table.count("passed:one"))
    assert np.all(table.count("reached:one") == runs)
    assert np.array_equal(table.count("passed:two"), table.count("triggered"))
    for i, ra in enumerate(values[:, 0]):
        assert near(table.p("passed:one")[i], p_one(ra), runs)
        assert near(table.p("passed:two")[i], p_two(ra), runs)


def test_sweep_csv_and_figure_have_every_phase(two: sim.Scenario, tmp_path: Path) -> None:
    table = sweep.sweep(
        two, [("parties.b.violation_rate", 0.0, 0.2, 3)], runs=500, seed=1, progress=False
    )
    header = sweep.csv_text(table).splitlines()[0].split(",")
    for name in ("one", "two"):
        for what in ("reached", "passed"):
            assert {f"p_{what}_{name}", f"p_{what}_{name}_lo", f"p_{what}_{name}_hi"} <= set(header)
    fig = sweep.figure(table, two, "passed:two")
    lines = {ln.get_gid(): ln for ln in fig.axes[0].get_lines()}
    assert set(lines) >= {"sweep:passed:one", "sweep:passed:two"}
    assert np.asarray(lines["sweep:passed:two"].get_ydata()) == pytest.approx(table.p("passed:two"))
    folder = sweep.save(table, two, tmp_path / "s", outcome="passed:two")
    assert json.loads((folder / "sweep.json").read_text())["outcome"] == "passed:two"


@pytest.mark.parametrize(
    ("outcome", "message"),
    [
        ("reached:three", "unknown phase 'three' (the phases: one, two)"),
        ("gone:one", "unknown outcome"),
        ("collapse", "unknown outcome"),
        ("passed:onee", "unknown phase 'onee' (the phases: one, two); did you mean 'one'?"),
        ("triggerd", "did you mean 'triggered'?"),
    ],
)
@pytest.mark.parametrize("command", ["sweep", "sensitivity", "discover"])
def test_unknown_outcome_is_one_line_exit_2_and_writes_nothing(
    here: Path, capsys: pytest.CaptureFixture[str], command: str, outcome: str, message: str
) -> None:
    extra = ["--param", "parties.a.violation_rate=0:0.2:2"] if command == "sweep" else []
    code, _out, err = cli(
        capsys, command, "two.yaml", *extra, "--outcome", outcome, "--out", "x", "--quiet"
    )
    assert code == 2
    assert err.count("\n") == 1 and message in err and f"--outcome {outcome}" in err
    assert not (here / "x").exists()


def test_phase_outcome_of_a_scenario_without_phases_is_refused(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _out, err = cli(
        capsys, "sweep", "flat.yaml", "--param", "parties.a.violation_rate=0:0.2:2",
        "--outcome", "passed:one", "--out", "x",
    )  # fmt: skip
    assert code == 2 and "has no phases" in err and not (here / "x").exists()


def test_sensitivity_analyses_the_chosen_outcome(two: sim.Scenario) -> None:
    pytest.importorskip("SALib")
    sens = sensitivity.analyse(
        two, "morris", 4, runs=200, seed=3, tornado_runs=4_000, outcome="passed:one", progress=False
    )
    assert sens.outcome == "passed:one"
    base, ends = sens.tornado_p("p_triggered")
    assert base == pytest.approx(sens.tornado.p("passed:one")[0])
    # the tornado's ends against the closed form of P(passed:one)
    lo_hi = sens.tornado_values
    assert near(ends[0, 0], p_one(ra=lo_hi[0, 0]), 4_000)
    assert near(ends[0, 1], p_one(ra=lo_hi[0, 1]), 4_000)
    assert near(ends[1, 1], p_one(rb=lo_hi[1, 1]), 4_000)
    assert "P(phase one passed)" in sensitivity.text(sens)
    data = sens.to_json()
    assert data["outcome"] == "passed:one"
    assert data["outputs"]["p_triggered"] == "P(phase one passed)"


def test_discovery_defines_success_by_the_chosen_outcome(two: sim.Scenario) -> None:
    pytest.importorskip("sklearn")
    d = discovery.discover(two, 40, runs=200, seed=4, outcome="reached:two", progress=False)
    p = d.table.p("reached:two")
    assert np.array_equal(d.success, p >= d.threshold)
    assert d.threshold == pytest.approx(np.quantile(p, discovery.DEFAULT_QUANTILE))
    assert "P(phase two reached)" in discovery.text(d)
    assert d.to_json()["outcome"] == "reached:two"


def test_check_outcome_accepts_codes_and_phases(two: sim.Scenario) -> None:
    for ok in (*sim.OUTCOMES, "reached:one", "passed:two"):
        assert experiments.check_outcome(two, ok) == ok


# --------------------------------------------------------------------------- report, compare


def test_report_has_a_phases_section_with_the_summary_numbers(rich: sim.Results) -> None:
    page = report_html(rich, {}, {})
    assert "<h2>Phases</h2>" in page
    for name, v in rich.phase_summary().items():
        assert f"<code>{name}</code>" in page
        assert f"{v['reached']['p']:.1%}" in page and f"{v['passed']['p']:.1%}" in page
    assert "extend 2 d (at most 1×)" in page
    page = report_html(rich, {"deliveries": b"png"}, {})
    assert "each phase&#x27;s gate counts only its own phase&#x27;s deliveries" in page
    assert "the number the trigger requires" not in page


def test_report_of_a_scenario_without_phases_has_none(two: sim.Scenario) -> None:
    flat = sim.scenario_from_dict(
        {k: v for k, v in TWO.items() if k != "phases"} | {"window_days": 5}
    )
    r = sim.simulate(flat, runs=50, seed=1, progress=False)
    assert "<h2>Phases</h2>" not in report_html(r, {}, {})
    assert "each phase" not in report_html(r, {"deliveries": b"png"}, {})


def test_compare_shows_phases_per_input(rich: sim.Results) -> None:
    other = sim.simulate(
        rich.scenario.with_overrides({"parties.gov.violation_prob": 0.1}),
        runs=rich.runs,
        seed=rich.seed,
        progress=False,
    )
    comparison = compare_results([rich, other])
    text = comparison.text()
    assert "Phases: P(reached) / P(passed its gate)" in text
    for r in (rich, other):
        s = r.phase_summary()["second"]
        assert f"{s['reached']['p']:.1%} / {s['passed']['p']:.1%}" in text
    header = comparison.csv_text().splitlines()[0].split(",")
    assert "p_passed_third" in header and "p_reached_first" in header
    # the survival figure of phased scenarios draws the share still in force
    from matplotlib.lines import Line2D

    from sim.plots import compare_survival_figure

    fig = compare_survival_figure(comparison)
    for entry in comparison.entries:
        (line,) = [ln for ln in fig.findobj(Line2D) if ln.get_gid() == f"survival:{entry.label}"]
        assert list(line.get_ydata()) == [f for _, f in entry.summary["in_force"]]
    assert fig.axes[0].get_ylabel().startswith("P(in force")


# --------------------------------------------------------------------------- scenarios


@pytest.mark.parametrize("name", ["geneva_2016_phases", "gaza_2025"])
def test_phased_scenarios_run_on_both_engines_alike(name: str) -> None:
    scenario = sim.load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    assert scenario.phases is not None
    runs = [
        sim.simulate(scenario, runs=200, seed=7, engine=engine, progress=False)
        for engine in sim.ENGINES
    ]
    for r in runs:
        assert tuple(r.phase_summary()) == tuple(p.name for p in scenario.phases)
    assert all(r.phase_summary() == runs[0].phase_summary() for r in runs)


@pytest.mark.parametrize("name", ["geneva_2016_phases", "gaza_2025"])
def test_every_number_of_a_phased_scenario_is_sourced_or_judged(name: str) -> None:
    """Each line giving a value (``key: number``, a gate or a set list) says where it comes
    from: a source tag (``src:``) or a judgement."""
    unsourced = []
    for n, line in enumerate((ROOT / "scenarios" / f"{name}.yaml").read_text().splitlines(), 1):
        body, _, comment = line.partition("#")
        m = re.match(r"^\s*[A-Za-z_][\w.]*:\s*(.*)$", body)
        if m is None:
            continue
        value = m.group(1).strip()
        gives = re.match(r"^(\d|\[\d|\{quiet|\{extend)", value) is not None
        if gives and not any(w in comment for w in ("src:", "judgement", "the phases", "not used")):
            unsourced.append(f"{n}: {line.strip()}")
    assert not unsourced, "\n".join(unsourced)


def test_flagship_access_is_one_permission() -> None:
    flagship = sim.load_scenario(ROOT / "scenarios" / "geneva_2016.yaml")
    h = flagship.humanitarian
    assert h is not None and h.permission_prob < 1
    aid = sim.load_scenario(ROOT / "scenarios" / "geneva_2016_aid_day_one.yaml")
    assert aid.humanitarian is not None and aid.humanitarian.permission_prob == 1
    assert aid.humanitarian.success_prob == h.success_prob  # the road risk is the flagship's


def test_run_prints_the_phases_and_writes_their_figures(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _err = cli(capsys, "run", "two.yaml", "--runs", "400", "--out", "r", "--quiet")
    assert code == 0
    saved = json.loads((here / "r" / "summary.json").read_text())["phases"]
    rows = {line.split()[0]: line.split()[1:3] for line in out.splitlines() if line.strip()}
    for name, v in saved.items():
        assert rows[name] == [f"{v['reached']['p']:.1%}", f"{v['passed']['p']:.1%}"]
    assert {"phases.png", "phase_survival.png"} <= {p.name for p in (here / "r/figures").iterdir()}


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))


def test_the_deliveries_figure_of_phases_lists_each_gates_requirement(rich: sim.Results) -> None:
    """With phases the requirement is each gate's own, so the bars of all phases together are
    not split at one "required" line; the subtitle lists every phase's number, and the most
    convoys a run can attempt counts every extension (3 + 4 + 2 + 5 days, one a day)."""
    from sim.plots import deliveries_figure
    from sim.plots.run import most_convoys

    fig = deliveries_figure(rich)
    ax = fig.axes[0]
    assert not [a for a in fig.findobj() if a.get_gid() in ("required", "deliveries:short")]
    bars = [a for a in fig.findobj(Rectangle) if a.get_gid() == "deliveries:all"]
    heights = np.array([b.get_height() for b in bars])
    assert heights == pytest.approx(rich.deliveries_distribution() / rich.runs)
    assert "required: first 0, second 2, third 0" in ax.get_title(loc="left")
    assert most_convoys(rich.scenario) == 14
    assert ax.get_xlabel() == "convoys delivered in the run (of 14 attempted at most)"
    assert rich.deliveries_distribution().size - 1 <= 14


def test_a_tolerance_line_says_which_phases_set_another() -> None:
    """Figures draw the file's tolerance; phases that set their own are named in its label."""
    from sim.plots.style import side_tolerances

    scenario = sim.scenario_from_dict(RICH).with_overrides(
        {"phases.1.set": {"parties.gov.tolerance": 9}, "phases.2.set": {"parties.gov.tolerance": 4}}
    )
    assert side_tolerances(scenario, "g") == [(6.0, "gov (phases: second 9, third 4)")]
    assert side_tolerances(sim.scenario_from_dict(RICH), "g") == [(6.0, "gov")]


# --------------------------------------------------------------------------- values phases decide


def test_a_value_a_phase_decides_itself_is_noted_where_it_is_given(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--set, sweep --param and uncertainties on a key some phase sets itself (or its gate
    replaces) say which phases decide it and where the value still applies; the runs agree:
    the value changes nothing in the phase that sets it."""
    data = copy.deepcopy(TWO)
    data["uncertainties"]["trigger.max_strain"] = {"dist": "uniform", "low": 1, "high": 5}
    Path("three.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    scenario = sim.load_scenario("three.yaml")
    warnings = scenario.setting_warnings()
    assert (
        "uncertainties: parties.a.violation_rate: decided by phase two "
        "(set.parties.a.violation_rate): it applies only in phase one"
    ) in warnings
    assert (
        "uncertainties: trigger.max_strain: decided by phases one, two (the gate): it has no effect"
    ) in warnings
    assert not [w for w in warnings if "parties.b" in w]
    code, _, err = cli(capsys, "run", "two.yaml", "--runs", "20", "--no-plots", "--quiet",
                       "--set", "parties.a.violation_rate=0.3")  # fmt: skip
    assert code == 0
    assert "note: --set parties.a.violation_rate: decided by phase two" in err
    code, _, err = cli(capsys, "sweep", "two.yaml", "--param", "parties.a.violation_rate=0:0.4:3",
                       "--runs", "20", "--no-plots", "--quiet")  # fmt: skip
    assert code == 0 and "it applies only in phase one" in err
    # the runs: phase two's rate is its own whatever the scenario's value
    low, high = (
        sim.simulate(scenario.with_overrides({"parties.a.violation_rate": r}), runs=4_000,
                     seed=1, engine="fast", progress=False).columns
        for r in (0.0, 0.4)
    )  # fmt: skip
    assert low is not None and high is not None
    a = 0  # source a: the value acts in phase one, and phase two runs at its own rate R2
    assert low.events_daily[:, a, :2].sum() == 0 and high.events_daily[:, a, :2].sum() > 0
    for c in (low, high):
        day2 = c.events_daily[c.phase == 1, a, 2]  # runs that reached phase two (its day 0)
        assert day2.size > 500
        assert abs(day2.mean() - R2) < Z * math.sqrt(R2 / day2.size)


def test_with_phases_a_run_that_never_collapses_counts_the_longest_agreement() -> None:
    """The mean collapse day of an experiment counts a run that did not collapse (triggered or
    cancelled at a gate) as the longest the agreement can last, and says so."""
    data = copy.deepcopy(TWO)
    data["phases"][0]["on_fail"] = {"extend_days": 2, "times": 1}
    scenario = sim.scenario_from_dict(data)  # no tolerance: no run collapses
    assert scenario.horizon == 7
    keys, values = experiments.grid({"parties.b.violation_rate": (0.0, 0.2, 2)})
    table = experiments.evaluate(scenario, keys, values, runs=500, seed=1, progress=False)
    assert table.holding_days.tolist() == [7.0, 7.0]
    sens = sensitivity.analyse(scenario, method="morris", samples=2, runs=50, seed=1,
                               progress=False)  # fmt: skip
    assert "the longest the agreement can last: 7 days" in sens.labels()["holding_days"]


def test_the_reports_assumptions_mark_what_phases_do_not_use(rich: sim.Results) -> None:
    rows = {key: comment for key, _, _, comment in assumptions(rich.scenario)}
    for key in ("trigger.max_strain", "trigger.quiet_days", "humanitarian.required_deliveries"):
        assert rows[key] is not None and rows[key].startswith("not used with phases"), key
    flat = sim.scenario_from_dict(FLAT)
    rows = {key: comment for key, _, _, comment in assumptions(flat)}
    assert not any((c or "").startswith("not used") for c in rows.values())


def test_trace_marks_the_end_of_the_runs_last_phase_after_an_extension() -> None:
    """A run whose second phase was extended: its last phase starts at the gate it passed, so
    the dotted end line is that gate plus the phase's days (not the nominal schedule)."""
    scenario = sim.scenario_from_dict(RICH)
    for run in range(400):
        record, events = sim.runner.trace_run(scenario, 9, run)
        if record.phase == 2 and any(e.kind == "extension" for e in events):
            break
    else:
        pytest.fail("no run was extended and reached the third phase")
    passed = sorted(e.time for e in events if e.kind == "gate" and e.detail["passed"])
    assert passed[1] == 9  # the second phase's gate after its 2-day extension
    fig = trace_figure(scenario, record, events, 9, run)
    dotted = [ln for ln in fig.axes[0].get_lines() if ln.get_linestyle() == ":"]
    start = datetime.fromisoformat(RICH["start"])
    assert [(ln.get_xdata()[0] - start).days for ln in dotted] == [9 + 5]
