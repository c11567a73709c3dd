"""Figures: the plotted data is the results' data (read back from the artists), figures need
no per-run rows, drawing never changes results, and `trace --plot` draws the trace's events."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PathCollection
from matplotlib.container import BarContainer
from matplotlib.dates import num2date
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

import sim
from sim import plots
from sim.cli import main
from sim.plots import FIGURES, outcome_figure, survival_figure
from sim.stats import wilson

ROOT = Path(__file__).resolve().parent.parent
FLAGSHIP = ROOT / "scenarios" / "geneva_2016.yaml"

# Every mechanism, no calendar start (numeric time axis), three sides.
SMALL = {
    "name": "small",
    "title": "Small <test> ceasefire",
    "window_days": 3,
    "parties": {
        "gov": {
            "side": "a",
            "violation_prob": 0.4,
            "major_share": 0.3,
            "retaliation": {"boost": 0.5, "half_life_hours": 12},
            "tolerance": 5,
        },
        "reb": {"side": "b", "violation_prob": 0.3, "tolerance": 6},
        "third": {"side": "c", "violation_rate": 0.2, "tolerance": 6},
    },
    "spoilers": {"sp": {"attack_prob": 0.4, "targets": "a", "blamed_on": "reb", "blame_prob": 0.5}},
    "guarantors": {
        "g": {
            "clients": ["gov"],
            "pressure": 0.2,
            "tolerance": 6,
            "incident_prob": 0.1,
            "incident_target": "b",
        }
    },
    "humanitarian": {
        "first_day": 0,
        "convoys_per_day": 2,
        "success_prob": 0.7,
        "major_violation_penalty": 0.5,
        "required_deliveries": 3,
    },
    "trigger": {"quiet_days": 1, "max_strain": 3},
}


@pytest.fixture(scope="module")
def flagship() -> sim.Scenario:
    return sim.load_scenario(FLAGSHIP)


@pytest.fixture(scope="module")
def results(flagship: sim.Scenario) -> sim.Results:
    # Summary only: the figures must not need the per-run rows.
    r = sim.simulate(flagship, runs=600, seed=11, keep_runs=False, progress=False)
    assert r.columns is None
    return r


@pytest.fixture(scope="module")
def small() -> sim.Scenario:
    return sim.scenario_from_dict(SMALL)


@pytest.fixture(scope="module")
def small_results(small: sim.Scenario) -> sim.Results:
    return sim.simulate(small, runs=500, seed=5, keep_runs=False, progress=False)


def days(scenario: sim.Scenario, xs) -> np.ndarray:
    """Plot x values (datetimes, date numbers or days) back to days since the start."""
    out = []
    for x in np.atleast_1d(np.asarray(xs, dtype=object)):
        if isinstance(x, datetime):
            out.append((x - scenario.start) / timedelta(days=1))
        elif scenario.start is not None:
            out.append((num2date(float(x)) - scenario.start) / timedelta(days=1))
        else:
            out.append(float(x))
    return np.array(out)


def by_gid(fig: Figure, gid: str, kind: type = object) -> list:
    return [a for a in fig.findobj(lambda a: a.get_gid() == gid) if isinstance(a, kind)]


def gids(fig: Figure, prefix: str) -> set[str]:
    return {a.get_gid() for a in fig.findobj() if (a.get_gid() or "").startswith(prefix)}


# --------------------------------------------------------------------------- outcome figure


def test_outcome_bars_are_the_probabilities_and_errors_the_intervals(results) -> None:
    fig = plots.outcome_figure(results)
    summary = results.summary()
    ax = fig.axes[0]
    for code in sim.OUTCOMES:
        (bar,) = by_gid(fig, f"outcome:{code}", Rectangle)
        assert bar.get_height() == pytest.approx(summary["outcomes"][code]["p"], abs=1e-12)
    (bars,) = [c for c in ax.containers if isinstance(c, BarContainer)]
    errs = bars.errorbar.lines[2][0].get_segments()
    for seg, code in zip(errs, sim.OUTCOMES, strict=True):
        assert sorted(seg[:, 1]) == pytest.approx(summary["outcomes"][code]["ci95"], abs=1e-12)


# --------------------------------------------------------------------------- survival


@pytest.mark.parametrize("which", ["flagship", "small"])
def test_survival_curve_is_results_survival(which, results, small_results) -> None:
    r = results if which == "flagship" else small_results
    s, w = r.scenario, r.scenario.window_days
    fig = plots.survival_figure(r)
    (line,) = by_gid(fig, "survival", Line2D)
    t = days(s, line.get_xdata())
    assert t[0] == 0 and t[-1] == pytest.approx(w)
    assert len(t) == 24 * w + 1  # hourly: the tally is exact on the hour
    expected = [v for _, v in r.survival(t)]
    assert np.asarray(line.get_ydata(), float) == pytest.approx(expected, abs=1e-12)
    # the band is the Wilson interval at each plotted time
    (band,) = by_gid(fig, "survival_band")
    ys = band.get_paths()[0].vertices[:, 1]
    bounds = {round(x, 12) for v in expected for x in wilson(round(v * r.runs), r.runs)}
    assert {round(y, 12) for y in ys} <= bounds
    # the window end is marked, and the trigger decided there
    (end,) = by_gid(fig, "window_end", Line2D)
    assert days(s, end.get_xdata()[:1])[0] == pytest.approx(w)
    probs = r.outcome_probabilities()
    stack = 0.0
    for code in ("triggered", "cancelled_access", "cancelled_violence"):
        (bar,) = by_gid(fig, f"end:{code}", Rectangle)
        assert bar.get_height() == pytest.approx(probs[code][0])
        assert bar.get_y() == pytest.approx(stack)
        stack += bar.get_height()
    assert stack == pytest.approx(expected[-1])  # what still holds at the end is decided there
    (ci,) = by_gid(fig, "triggered_ci", LineCollection)
    (seg,) = ci.get_segments()
    assert sorted(seg[:, 1]) == pytest.approx(probs["triggered"][1:])


# --------------------------------------------------------------------------- collapse


@pytest.mark.parametrize("which", ["flagship", "small"])
def test_collapse_bars_stack_to_the_collapse_counts(which, results, small_results) -> None:
    r = results if which == "flagship" else small_results
    fig = plots.collapse_figure(r)
    edges, counts = r.collapse_histogram(plots.run._collapse_bin_hours(r.scenario.window_days))
    total = np.zeros(edges.size - 1)
    for actor, c in counts.items():
        bars = by_gid(fig, f"collapse:{actor}", Rectangle)
        if not c.any():
            assert not bars
            continue
        heights = np.array([b.get_height() for b in bars]) * r.runs
        assert heights == pytest.approx(c)
        assert np.array([b.get_y() for b in bars]) * r.runs == pytest.approx(total)
        lefts = days(r.scenario, [b.get_x() for b in bars])
        assert lefts == pytest.approx(edges[:-1])
        total += c
    assert total.sum() == r.outcome_counts()["cancelled_collapse"]
    assert total.sum() > 0


# --------------------------------------------------------------------------- violations


def test_violation_bars_are_the_distributions(results) -> None:
    fig = plots.violations_figure(results)
    stats = results.summary()["violations"]
    for party in results.scenario.parties:
        bars = by_gid(fig, f"violations:{party}", Rectangle)
        dist = results.violation_distribution(party)
        assert [b.get_x() + b.get_width() / 2 for b in bars] == pytest.approx(range(dist.size))
        assert np.array([b.get_height() for b in bars]) * results.runs == pytest.approx(dist)
        (mean,) = by_gid(fig, f"mean:{party}", Line2D)
        assert mean.get_xdata()[0] == pytest.approx(stats[party]["mean"])


# --------------------------------------------------------------------------- strain fan


@pytest.mark.parametrize("which", ["flagship", "small"])
def test_strain_fan_is_the_strain_quantiles(which, results, small_results) -> None:
    r = results if which == "flagship" else small_results
    s = r.scenario
    fig = plots.strain_figure(r)
    q = r.strain_quantiles(plots.STRAIN_QS)
    for k, side in enumerate(s.sides):
        (median,) = by_gid(fig, f"median:{side}", Line2D)
        assert days(s, median.get_xdata()) == pytest.approx(np.arange(s.window_days + 1))
        assert np.asarray(median.get_ydata(), float) == pytest.approx(q[k, :, 2])
        for gid, (lo, hi) in ((f"band90:{side}", (0, 4)), (f"band50:{side}", (1, 3))):
            (band,) = by_gid(fig, gid)
            ys = {round(y, 9) for y in band.get_paths()[0].vertices[:, 1]}
            assert ys <= {round(v, 9) for v in (*q[k, :, lo], *q[k, :, hi])}
        # one dashed line per tolerance of the side's parties and guarantors
        expected = {p.tolerance for p in s.parties.values() if p.side == side and p.tolerance}
        expected |= {
            g.tolerance
            for name, g in s.guarantors.items()
            if s.guarantor_side(name) == side and g.tolerance is not None
        }
        drawn = {float(g.rsplit(":", 1)[1]) for g in gids(fig, f"tolerance:{side}:")}
        assert drawn == expected


def test_strain_tolerance_labels_do_not_overlap(small) -> None:
    # party gov (tolerance 5) and its guarantor g (5.2) on side a: close lines, two labels
    close = small.with_overrides({"guarantors.g.tolerance": 5.2})
    fig = plots.strain_figure(sim.simulate(close, runs=100, seed=1, progress=False))
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    for ax in fig.axes:
        boxes = [t.get_window_extent(renderer) for t in ax.texts]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1 :]:
                assert not a.overlaps(b)


# --------------------------------------------------------------------------- deliveries


def test_delivery_bars_are_the_distribution(results) -> None:
    fig = plots.deliveries_figure(results)
    dist = results.deliveries_distribution()
    required = results.scenario.humanitarian.required_deliveries
    short = by_gid(fig, "deliveries:short", Rectangle)
    enough = by_gid(fig, "deliveries:enough", Rectangle)
    bars = sorted(short + enough, key=lambda b: b.get_x())
    assert np.array([b.get_height() for b in bars]) * results.runs == pytest.approx(dist)
    for b in short:
        assert b.get_x() + b.get_width() / 2 < required
    for b in enough:
        assert b.get_x() + b.get_width() / 2 >= required
    (line,) = by_gid(fig, "required", Line2D)
    assert line.get_xdata()[0] == pytest.approx(required - 0.5)


# --------------------------------------------------------------------------- all figures


def test_every_figure_works_without_rows_and_changes_nothing(results, tmp_path: Path) -> None:
    before = json.dumps(results.summary(), sort_keys=True)
    paths = plots.save_figures(results, tmp_path / "figures")
    assert [p.stem for p in paths] == list(plots.FIGURES)
    for p in paths:
        assert p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for make in plots.FIGURES.values():
        fig = make(results)
        assert isinstance(fig, Figure)
        assert results.scenario.title in fig.get_suptitle()
        assert f"{results.runs:,} runs, seed {results.seed}" in fig.get_suptitle()
    assert json.dumps(results.summary(), sort_keys=True) == before


def test_no_deliveries_figure_without_convoys(tmp_path: Path) -> None:
    data = {k: v for k, v in SMALL.items() if k != "humanitarian"}
    r = sim.simulate(sim.scenario_from_dict(data), runs=50, seed=1, progress=False)
    stems = [p.stem for p in plots.save_figures(r, tmp_path)]
    assert "deliveries" not in stems and "outcomes" in stems


def test_plots_do_not_change_saved_results(flagship, tmp_path: Path) -> None:
    a = sim.simulate(flagship, runs=150, seed=2, progress=False).save(tmp_path / "a")
    b = sim.simulate(flagship, runs=150, seed=2, progress=False).save(tmp_path / "b", plots=False)
    assert (a / "runs.csv").read_bytes() == (b / "runs.csv").read_bytes()
    assert (a / "summary.json").read_bytes() == (b / "summary.json").read_bytes()
    assert sorted(p.name for p in (a / "figures").iterdir()) == sorted(
        f"{s}.png" for s in plots.FIGURES
    )
    assert not (b / "figures").exists()


def test_dates_on_time_axes_when_the_scenario_has_a_start(results, small_results) -> None:
    fig = plots.survival_figure(results)
    (line,) = by_gid(fig, "survival", Line2D)
    assert isinstance(line.get_xdata()[0], datetime)
    fig.canvas.draw()
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert "13 Sep" in labels
    (line,) = by_gid(plots.survival_figure(small_results), "survival", Line2D)
    assert isinstance(float(line.get_xdata()[1]), float)


# --------------------------------------------------------------------------- trace figure


def expected_marks(events) -> Counter:
    want: Counter = Counter()
    for e in events:
        d = e.detail
        sev = "major" if d.get("major") else "minor"
        if e.kind == "violation":
            want[f"violation:{d['party']}:{sev}"] += 1
        elif e.kind == "attack":
            want[f"attack:{d['spoiler']}:{sev}:{'blamed' if d['blamed_on'] else 'unblamed'}"] += 1
        elif e.kind == "incident":
            want[f"incident:{d['guarantor']}:major"] += 1
        elif e.kind == "convoys":
            want["convoy:delivered"] += d["delivered"]
            missed = "blocked" if d["permitted"] else "refused"  # refused: no access at all
            want[f"convoy:{missed}"] += d["attempted"] - d["delivered"]
    return want


def drawn_marks(fig: Figure) -> Counter:
    got: Counter = Counter()
    for c in fig.findobj(PathCollection):
        gid = c.get_gid() or ""
        if gid.startswith(("violation:", "attack:", "incident:", "convoy:")):
            got[gid] += len(c.get_offsets())
    return got


@pytest.mark.parametrize(("which", "runs"), [("flagship", range(8)), ("small", range(12))])
def test_trace_figure_marks_are_the_trace_events(which, runs, flagship, small) -> None:
    scenario = flagship if which == "flagship" else small
    seen = set()
    for run in runs:
        record, events = sim.trace_run(scenario, 7, run)
        seen.add(sim.OUTCOMES[record.outcome])
        fig = plots.trace_figure(scenario, record, events, 7, run)
        assert drawn_marks(fig) == expected_marks(events)
        # the marks sit at the events' times
        times = sorted(e.time for e in events if e.kind == "violation")
        drawn = sorted(
            t
            for c in fig.findobj(PathCollection)
            if (c.get_gid() or "").startswith("violation:")
            for t in days(scenario, c.get_offsets()[:, 0])
        )
        assert drawn == pytest.approx(times, abs=1e-6)
        # strain lines end at the run's final strain; the collapse is marked when there is one
        for k, side in enumerate(scenario.sides):
            (line,) = by_gid(fig, f"strain:{side}", Line2D)
            assert line.get_ydata()[-1] == pytest.approx(record.strain_daily[k][-1])
            end = record.collapse_time if record.collapsed_by >= 0 else scenario.window_days
            assert days(scenario, line.get_xdata()[-1:])[0] == pytest.approx(end, abs=1e-6)
        collapse = by_gid(fig, "collapse", Line2D)
        assert len(collapse) == (record.collapsed_by >= 0)
        if collapse:
            x = days(scenario, collapse[0].get_xdata()[:1])[0]
            assert x == pytest.approx(record.collapse_time, abs=1e-6)
        assert sim.OUTCOMES[record.outcome] in fig.get_suptitle()
    assert "cancelled_collapse" in seen and len(seen) >= 2


def test_cli_trace_plot_writes_once(tmp_path: Path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "plots" / "run3.png"
    args = ["trace", str(FLAGSHIP), "--seed", "20160912", "--run", "3", "--plot", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "outcome: " in printed and f"wrote {out}" in printed
    first = out.read_bytes()
    assert first[:8] == b"\x89PNG\r\n\x1a\n"
    # never overwritten: exit 2, one line, file untouched
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and err.count("\n") == 1
    assert out.read_bytes() == first
    # an unknown format is a usage error before anything is simulated or written
    assert main([*args[:-1], str(tmp_path / "run3.nope")]) == 2
    assert "unsupported figure format" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["run3.png"]


def test_a_changed_scenario_says_so_in_every_title() -> None:
    base = sim.load_scenario(ROOT / "scenarios" / "geneva_2016.yaml")
    tweaked = base.with_overrides({"humanitarian.success_prob": 0.6}).with_overrides(
        {"guarantors.russia.pressure": 0.5}
    )
    assert base.overrides == {}
    assert tweaked.overrides == {
        "humanitarian.success_prob": 0.6,
        "guarantors.russia.pressure": 0.5,
    }
    results = sim.simulate(tweaked, runs=300, seed=1, engine="fast", progress=False)
    for make in plots.figures_for(results).values():
        title = make(results).get_suptitle()
        assert "with humanitarian.success_prob=0.6, guarantors.russia.pressure=0.5" in title
    assert results.manifest()["overrides"] == tweaked.overrides
    plain = sim.simulate(base, runs=300, seed=1, engine="fast", progress=False)
    assert "with " not in plots.outcome_figure(plain).get_suptitle()


# --------------------------------------------------------------------------- what is shown


NO_AID = {
    "name": "no_aid",
    "title": "No aid, no violence condition",
    "trigger": {"label": "Political talks open"},
    "parties": {
        "gov": {"side": "a", "violation_prob": 0.3, "tolerance": 2},
        "reb": {"side": "b", "violation_prob": 0.2},
    },
}


def _texts(fig: Figure) -> str:
    parts = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    legends = [t.get_text() for ax in fig.axes if ax.get_legend() for t in ax.get_legend().texts]
    legends += [t.get_text() for leg in fig.legends for t in leg.texts]
    return "\n".join(parts + legends)


def test_outcomes_the_scenario_cannot_produce_are_not_drawn() -> None:
    r = sim.simulate(sim.scenario_from_dict(NO_AID), runs=300, seed=2, progress=False)
    fig = outcome_figure(r)
    bars = {p.get_gid() for p in fig.axes[0].patches if p.get_gid()}
    assert bars == {"outcome:triggered", "outcome:cancelled_collapse"}
    survival = survival_figure(r)
    ends = {p.get_gid() for p in survival.axes[0].patches if p.get_gid()}
    assert ends == {"end:triggered"}
    for f in (fig, survival):
        text = " ".join(_texts(f).split())
        assert "aid did not get through" not in text and "too violent" not in text
        assert "Political talks open started" not in text
        assert "went ahead: Political talks open" in text


def test_integrated_results_say_so_in_every_title() -> None:
    scenario = sim.load_scenario(ROOT / "scenarios" / "uncertain_geneva_2016.yaml")
    r = sim.simulate(scenario, runs=100, seed=3, integrate=True, progress=False)
    reporting = [k for k in scenario.uncertainties if k.startswith("observations.")]
    assert reporting  # the flagship's ranges include how monitors report
    n = len(scenario.uncertainties) - len(reporting)
    note = (
        f"parameters integrated over {n} uncertain assumptions (and {len(reporting)} of how "
        "monitors report)"
    )
    for make in FIGURES.values():
        fig = make(r)
        assert note in " ".join(fig.get_suptitle().split()), make.__name__
    # a tolerance drawn per run is drawn at the file's value, and says so with its range
    strain = " ".join(_texts(FIGURES["strain"](r)).split())
    lo, hi = scenario.uncertainties["parties.government.tolerance"].support()
    assert f"government (the file's value; drawn {lo:g}–{hi:g} per run)" in strain


def test_long_titles_are_wrapped_to_the_figure() -> None:
    from sim.plots.style import suptitle

    fig = Figure(figsize=(6, 4))
    suptitle(fig, "T", "over " + "parties.government.retaliation.half_life_hours × " * 3)
    width = max(len(line) for line in fig.get_suptitle().splitlines())
    assert width <= 6 * 12


@pytest.mark.parametrize("days", [13, 30, 95])
def test_long_date_axes_tick_every_kth_day_from_the_start(days: int) -> None:
    """Past 12 days the ticks are every k-th day counted from the start, evenly spaced across
    month ends (a date locator restarts each month and printed '29 Sep' over '01 Oct')."""
    import itertools

    from matplotlib.dates import num2date

    from sim.plots.style import time_axis

    data = {**SMALL, "window_days": days, "start": "2016-09-12T19:00:00+03:00"}
    data["trigger"] = {"quiet_days": 1, "max_strain": 3}
    scenario = sim.scenario_from_dict(data)
    fig = Figure(figsize=(5, 3))
    ax = fig.add_subplot()
    time_axis(ax, scenario)
    ticks = [num2date(t) for t in ax.xaxis.get_major_locator()()]
    steps = {(b - a).total_seconds() for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1 and 3 <= len(ticks) <= 12
    assert ticks[0] == scenario.start


def test_trace_strain_fades_between_events_with_a_half_life() -> None:
    """The trace's strain panel: steps at the events, and in between the level fades at the
    recovery rate (flat without one), reaching each event's recorded level at its time."""
    from sim.plots.trace import strain_curve

    points = [(0.0, 0.0), (0.5, 1.0), (2.25, 1.5)]
    ts, vs = strain_curve(points, 3.0, 0.0)
    after = len(ts) - 1 - ts[::-1].index(0.5)  # the step up at the first event
    assert set(vs[:after]) == {0.0} and set(vs[after:]) == {1.0, 1.5} and vs[-1] == 1.5
    rate = math.log(2) / 1.5
    ts, vs = strain_curve(points, 3.0, rate)
    for t, v in zip(ts, vs, strict=True):
        if 0.5 <= t < 2.25:
            assert v == pytest.approx(math.exp(-rate * (t - 0.5)), rel=1e-12) or (
                t == 0.5 and v == 0.0
            )
    assert (2.25, 1.5) in list(zip(ts, vs, strict=True))
    assert vs[-1] == pytest.approx(1.5 * math.exp(-rate * 0.75))
    assert sum(1 for t in ts if 0.5 < t < 2.25) >= 24  # hourly points in between
