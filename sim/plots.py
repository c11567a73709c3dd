"""Figures of results. Each function takes :class:`~sim.results.Results` and returns a
matplotlib :class:`~matplotlib.figure.Figure` (no pyplot, no global state), so notebooks can
show them and the CLI can save them with any backend.

Figures read only the streaming summaries of the results (``outcome_probabilities``,
``survival``, ``collapse_histogram``, ``violation_distribution``, ``strain_quantiles``,
``deliveries_distribution``, ``summary``), never the per-run rows, so they work for results
simulated with ``keep_runs=False`` too. Drawing never changes the results.

The main artists carry a ``gid`` (e.g. ``"survival"``, ``"median:opposition"``,
``"violation:government:major"``) so that tests and notebooks can read back the plotted data.
"""

from __future__ import annotations

import os
import re
import textwrap
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, DateFormatter, DayLocator
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .errors import UsageError
from .records import RunRecord, TraceEvent
from .results import Results
from .scenario import OUTCOMES, Scenario
from .stats import wilson

if TYPE_CHECKING:
    from .compare import Comparison

# Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
COLOURS = {
    "triggered": "#009E73",
    "cancelled_collapse": "#D55E00",
    "cancelled_violence": "#E69F00",
    "cancelled_access": "#0072B2",
}
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
"""Okabe–Ito colours for parties, sides, actors and scenarios, in order (yellow left out: it
is unreadable on white)."""
INK = "#333333"
INCIDENT = "#CC79A7"
GREY = "#888888"
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)), (0, (1, 3)), (0, (8, 2)))
"""Line styles that go with :data:`PALETTE`, so curves differ in grey print too."""


def colour(i: int) -> str:
    """The ``i``-th colour of :data:`PALETTE` (cycling)."""
    return PALETTE[i % len(PALETTE)]


def outcome_labels(results: Results) -> dict[str, str]:
    """The outcome codes in words, using the scenario's trigger label."""
    return outcome_words(results.scenario.trigger.label)


def outcome_words(trigger_label: str) -> dict[str, str]:
    """The outcome codes in words for a trigger called ``trigger_label``."""
    return {
        "triggered": f"{trigger_label} started",
        "cancelled_collapse": "cancelled: ceasefire collapsed",
        "cancelled_violence": "cancelled: too violent at the end",
        "cancelled_access": "cancelled: aid did not get through",
    }


def _short(label: str, width: int = 40) -> str:
    """A label without parenthetical remarks, shortened to ``width`` characters."""
    return textwrap.shorten(re.sub(r"\s*\([^)]*\)", "", label) or label, width)


def _suptitle(fig: Figure, title: str, what: str) -> None:
    fig.suptitle(f"{textwrap.shorten(title, 100)}\n{what}", fontsize=10)


def _title(fig: Figure, results: Results, what: str) -> None:
    _suptitle(fig, results.scenario.title, f"{what} — {results.runs:,} runs, seed {results.seed}")


def _tidy(ax: Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8.5)


def _percent(ax: Axes, axis: str = "y", decimals: int = 0) -> None:
    getattr(ax, f"{axis}axis").set_major_formatter(lambda v, _: f"{v:.{decimals}%}")


def _times(scenario: Scenario, days: Sequence[float] | np.ndarray) -> Any:
    """Days since the start as plot x values: datetimes when the scenario has ``start``."""
    start = scenario.start
    if start is None:
        return np.asarray(days, dtype=float)
    return [start + timedelta(days=float(t)) for t in days]


def _time(scenario: Scenario, day: float) -> Any:
    return _times(scenario, [day])[0]


def _time_axis(ax: Axes, scenario: Scenario, *, label: bool = True) -> None:
    """Date ticks (one per day, as ``13 Sep``) when the scenario has ``start``; else days."""
    start = scenario.start
    w = scenario.window_days
    if start is not None:
        tz = start.tzinfo
        locator = DayLocator(tz=tz) if w <= 12 else AutoDateLocator(tz=tz, maxticks=10)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(DateFormatter("%d %b", tz=tz))
        if label:
            ax.set_xlabel(f"date (ceasefire from {start:%d %b %Y %H:%M})", fontsize=9)
    else:
        ax.set_xlim(0, w)
        if label:
            ax.set_xlabel("days since the ceasefire began", fontsize=9)
    ax.set_xlim(_time(scenario, 0), _time(scenario, w))


def _spread_labels(values: Sequence[float], gap: float) -> list[float]:
    """Positions for labels at ``values`` (sorted ascending) at least ``gap`` apart."""
    out: list[float] = []
    for v in values:
        out.append(v if not out else max(v, out[-1] + gap))
    return out


# --------------------------------------------------------------------------- per-run figures


def outcome_figure(results: Results) -> Figure:
    """The four outcomes as bars with Wilson 95% intervals."""
    probs = results.outcome_probabilities()
    labels = outcome_labels(results)
    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(OUTCOMES))
    p = np.array([probs[c][0] for c in OUTCOMES])
    lo = np.array([probs[c][1] for c in OUTCOMES])
    hi = np.array([probs[c][2] for c in OUTCOMES])
    bars = ax.bar(
        x,
        p,
        color=[COLOURS[c] for c in OUTCOMES],
        width=0.65,
        yerr=np.vstack([p - lo, hi - p]),
        capsize=5,
        ecolor=INK,
    )
    for bar, code in zip(bars, OUTCOMES, strict=True):
        bar.set_gid(f"outcome:{code}")
    for xi, pi, hii in zip(x, p, hi, strict=True):
        ax.text(xi, hii + 0.015, f"{pi:.1%}", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(x, [textwrap.fill(labels[c], 22) for c in OUTCOMES], fontsize=8.5)
    ax.set_ylabel("probability (95% interval)")
    ax.set_ylim(0, min(1.0, max(hi) + 0.12))
    _percent(ax)
    _tidy(ax)
    _title(fig, results, "Outcome of the ceasefire")
    return fig


def survival_figure(results: Results) -> Figure:
    """P(ceasefire still holding) over the window with a pointwise 95% band; the end of the
    window and how the runs still holding there end (the trigger or why it was cancelled)."""
    scenario = results.scenario
    w = scenario.window_days
    times = np.linspace(0, w, 24 * w + 1)
    surv = np.array([s for _, s in results.survival(times)])
    n = results.runs
    band = np.array([wilson(round(s * n), n) for s in surv])
    fig = Figure(figsize=(7.5, 4.8), layout="constrained")
    ax = fig.add_subplot()
    xs = _times(scenario, times)
    ax.fill_between(
        xs,
        band[:, 0],
        band[:, 1],
        step="post",
        color=PALETTE[0],
        alpha=0.3,
        linewidth=0,
        label="95% interval",
        gid="survival_band",
    )
    ax.step(xs, surv, where="post", color=PALETTE[0], label="still holding", gid="survival")

    # The end of the window, where the trigger is decided: a stacked bar splits the runs
    # still holding into the outcomes decided there.
    probs = results.outcome_probabilities()
    trigger = _short(scenario.trigger.label)
    words = {
        "triggered": f"{trigger} started",
        "cancelled_access": "cancelled, aid did not get through",
        "cancelled_violence": "cancelled, too violent",
    }
    end = _time(scenario, w)
    bar_w = w * 0.035
    bottom = 0.0
    for code in ("triggered", "cancelled_access", "cancelled_violence"):
        p = probs[code][0]
        ax.bar(
            _time(scenario, w + bar_w / 2 + w * 0.005),
            p,
            width=timedelta(days=bar_w) if scenario.start else bar_w,
            bottom=bottom,
            color=COLOURS[code],
            edgecolor="white",
            linewidth=0.5,
            label=f"at the end: {words[code]}, {p:.1%}",
            gid=f"end:{code}",
        )
        bottom += p
    ax.axvline(end, color=INK, linestyle="--", linewidth=1, gid="window_end")
    ax.text(
        end,
        1.04,
        f"end of window (day {w}):\ntrigger decided",
        ha="right",
        va="top",
        fontsize=8,
        color=INK,
        transform=ax.get_xaxis_transform(),
        bbox={"facecolor": "white", "edgecolor": "none", "pad": 1},
    )
    p_trig, lo, hi = probs["triggered"]
    ax.errorbar(
        _time(scenario, w + bar_w / 2 + w * 0.005),
        p_trig,
        yerr=[[p_trig - lo], [hi - p_trig]],
        fmt="none",
        ecolor=INK,
        capsize=3,
        linewidth=1,
        gid="triggered_ci",
    )
    ax.set_ylim(0, 1.08)
    ax.set_ylabel("P(ceasefire still holding)")
    _percent(ax)
    _time_axis(ax, scenario)
    ax.set_xlim(_time(scenario, 0), _time(scenario, w * 1.05))
    handles, labels = ax.get_legend_handles_labels()
    order = [1, 0, 4, 3, 2]  # the curve and its band, then the end bar from the top down
    fig.legend(
        [handles[i] for i in order],
        [labels[i] for i in order],
        loc="outside lower center",
        ncols=2,
        frameon=False,
        fontsize=8,
    )
    _tidy(ax)
    _title(fig, results, "Survival of the ceasefire")
    return fig


def _collapse_bin_hours(window_days: int) -> int:
    return 6 if window_days <= 7 else 12 if window_days <= 14 else 24


def collapse_figure(results: Results) -> Figure:
    """When the ceasefire collapsed, stacked by who declared it (share of all runs per bin)."""
    scenario = results.scenario
    hours = _collapse_bin_hours(scenario.window_days)
    edges, by_actor = results.collapse_histogram(hours)
    n = results.runs
    total = sum(int(c.sum()) for c in by_actor.values())
    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    ax = fig.add_subplot()
    left = _times(scenario, edges[:-1])
    width = timedelta(hours=hours) if scenario.start else hours / 24
    bottom = np.zeros(edges.size - 1)
    labels = _actor_labels(scenario)
    for k, (actor, counts) in enumerate(by_actor.items()):
        if not counts.any():
            continue
        share = counts / n
        ax.bar(
            left,
            share,
            width=width,
            bottom=bottom,
            align="edge",
            color=colour(k),
            edgecolor="white",
            linewidth=0.6,
            label=f"{labels[actor]}: {counts.sum() / n:.1%} of runs",
            gid=f"collapse:{actor}",
        )
        bottom = bottom + share
    _time_axis(ax, scenario)
    ax.set_ylabel(f"runs collapsing per {hours} h (% of all runs)")
    _percent(ax, decimals=1 if bottom.max(initial=0) < 0.05 else 0)
    if total:
        ax.set_ylim(0, bottom.max() * 1.25)
        fig.legend(
            title=f"declared by (collapse in {total / n:.1%} of runs)",
            title_fontsize=8.5,
            loc="outside lower center",
            ncols=min(3, sum(1 for c in by_actor.values() if c.any())),
            frameon=False,
            fontsize=8.5,
        )
    else:
        ax.set_ylim(0, 1)
        ax.text(
            0.5,
            0.5,
            "no run collapsed",
            ha="center",
            va="center",
            transform=ax.transAxes,
            color=INK,
        )
    _tidy(ax)
    _title(fig, results, "When the ceasefire collapsed, and who declared it")
    return fig


def _actor_labels(scenario: Scenario) -> dict[str, str]:
    out = {}
    for name, p in scenario.parties.items():
        out[name] = f"{name} ({p.side})" if p.side != name else name
    for name in scenario.guarantors:
        out[name] = f"{name} (guarantor, {scenario.guarantor_side(name)})"
    return out


def violations_figure(results: Results) -> Figure:
    """Violations per run of each party, side by side (share of runs), with the mean."""
    scenario = results.scenario
    parties = list(scenario.parties)
    stats = results.summary()["violations"]
    n = results.runs
    fig = Figure(figsize=(max(7.5, 3.2 * len(parties)), 3.8), layout="constrained")
    axes = fig.subplots(1, len(parties), sharey=True, squeeze=False)[0]
    top = 0.0
    for k, (ax, party) in enumerate(zip(axes, parties, strict=True)):
        counts = results.violation_distribution(party)
        share = counts / n
        values = np.arange(counts.size)
        ax.bar(values, share, width=0.8, color=colour(k), gid=f"violations:{party}")
        mean = stats[party]["mean"]
        ax.axvline(mean, color=INK, linestyle="--", linewidth=1, gid=f"mean:{party}")
        ax.text(
            0.98,
            0.97,
            f"mean {mean:.2f}\n(major {stats[party]['major_mean']:.2f})\n"
            f"90%: {stats[party]['p5']:g}–{stats[party]['p95']:g}",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
            color=INK,
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 1},
        )
        top = max(top, share.max(initial=0))
        side = scenario.parties[party].side
        ax.set_title(party if side == party else f"{party} ({side})", fontsize=9.5)
        ax.set_xlabel("violations in the run", fontsize=9)
        ax.set_xlim(-0.7, max(values.max(initial=0), 3) + 0.7)
        ax.xaxis.get_major_locator().set_params(integer=True)
        _tidy(ax)
    axes[0].set_ylabel("share of runs")
    axes[0].set_ylim(0, top * 1.35 or 1)
    _percent(axes[0])
    _title(fig, results, "Violations per party")
    return fig


STRAIN_QS = (0.05, 0.25, 0.5, 0.75, 0.95)
"""Quantiles drawn by :func:`strain_figure`: the 90% and 50% bands and the median."""


def _tolerances(scenario: Scenario, side: str) -> list[tuple[float, str]]:
    """``(tolerance, "who")`` on ``side``; equal tolerances share one line."""
    found: dict[float, list[str]] = {}
    for name, p in scenario.parties.items():
        if p.side == side and p.tolerance is not None:
            found.setdefault(p.tolerance, []).append(name)
    for name, g in scenario.guarantors.items():
        if scenario.guarantor_side(name) == side and g.tolerance is not None:
            found.setdefault(g.tolerance, []).append(name)
    return sorted((t, ", ".join(who)) for t, who in found.items())


def strain_figure(results: Results) -> Figure:
    """Strain on each side at the end of each day: median, 50% and 90% bands, and each
    tolerance of that side's parties and guarantors."""
    scenario = results.scenario
    sides = scenario.sides
    q = results.strain_quantiles(STRAIN_QS)
    days = np.arange(q.shape[1])
    xs = _times(scenario, days)
    tolerances = {s: _tolerances(scenario, s) for s in sides}
    top = max(
        [float(q[:, :, -1].max(initial=0))]
        + [t for tols in tolerances.values() for t, _ in tols]
        + [1.0]
    )
    ymax = top * 1.18
    fig = Figure(figsize=(max(7.5, 3.8 * len(sides)), 4.2), layout="constrained")
    axes = fig.subplots(1, len(sides), sharey=True, squeeze=False)[0]
    ylim = ymax
    for s, (ax, side) in enumerate(zip(axes, sides, strict=True)):
        c = colour(s)
        ax.fill_between(
            xs, q[s, :, 0], q[s, :, 4], color=c, alpha=0.18, linewidth=0, gid=f"band90:{side}"
        )
        ax.fill_between(
            xs, q[s, :, 1], q[s, :, 3], color=c, alpha=0.35, linewidth=0, gid=f"band50:{side}"
        )
        ax.plot(xs, q[s, :, 2], color=c, marker="o", markersize=3, gid=f"median:{side}")
        ylim = max(ylim, _draw_tolerances(ax, side, tolerances[side], ymax))
        ax.set_title(f"strain on {side}", fontsize=9.5)
        _time_axis(ax, scenario, label=False)
        ax.set_xlabel("end of each day", fontsize=9)
        _tidy(ax)
    axes[0].set_ylim(0, ylim)
    weight = scenario.rules.major_weight
    axes[0].set_ylabel(f"strain (minor 1, major {weight:g})", fontsize=9)
    handles = [
        Line2D([], [], color=INK, marker="o", markersize=3, label="median"),
        _patch(INK, 0.35, "50% of runs"),
        _patch(INK, 0.18, "90% of runs"),
        Line2D([], [], color=INK, linestyle="--", linewidth=1, label="tolerance"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False, fontsize=8.5)
    _title(fig, results, "Strain on each side (attributed hostile events)")
    return fig


def _patch(c: str, alpha: float, label: str) -> Any:
    from matplotlib.patches import Patch

    return Patch(facecolor=c, alpha=alpha, linewidth=0, label=label)


def deliveries_figure(results: Results) -> Figure:
    """Convoys delivered per run against the number the trigger requires."""
    scenario = results.scenario
    h = scenario.humanitarian
    required = h.required_deliveries if h else 0
    counts = results.deliveries_distribution()
    n = results.runs
    share = counts / n
    values = np.arange(counts.size)
    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    enough = values >= required
    ax.bar(
        values[~enough],
        share[~enough],
        width=0.75,
        color=COLOURS["cancelled_access"],
        label=f"fewer than required: {share[~enough].sum():.1%} of runs",
        gid="deliveries:short",
    )
    ax.bar(
        values[enough],
        share[enough],
        width=0.75,
        color=COLOURS["triggered"],
        label=f"enough: {share[enough].sum():.1%} of runs",
        gid="deliveries:enough",
    )
    for v, sh in zip(values, share, strict=True):
        if sh > 0:
            ax.text(v, sh + 0.01, f"{sh:.1%}", ha="center", va="bottom", fontsize=8)
    if h is not None:
        ax.axvline(required - 0.5, color=INK, linestyle="--", linewidth=1, gid="required")
        ax.text(
            required - 0.45,
            0.97,
            f"required: {required}",
            transform=ax.get_xaxis_transform(),
            ha="left",
            va="top",
            fontsize=8.5,
            color=INK,
        )
        possible = h.convoys_per_day * (scenario.window_days - h.first_day)
        ax.set_xlabel(f"convoys delivered in the run (of {possible} attempted at most)")
    else:
        ax.set_xlabel("convoys delivered in the run (no humanitarian convoys in this scenario)")
    ax.set_xlim(-0.7, max(values.max(initial=0), required, 3) + 0.7)
    ax.xaxis.get_major_locator().set_params(integer=True)
    ax.set_ylim(0, max(share.max(initial=0), 0.05) * 1.25)
    ax.set_ylabel("share of runs")
    _percent(ax)
    fig.legend(loc="outside lower center", ncols=2, frameon=False, fontsize=8.5)
    _tidy(ax)
    _title(fig, results, "Humanitarian deliveries")
    return fig


FIGURES: dict[str, Callable[[Results], Figure]] = {
    "outcomes": outcome_figure,
    "survival": survival_figure,
    "collapse": collapse_figure,
    "violations": violations_figure,
    "strain": strain_figure,
    "deliveries": deliveries_figure,
}
"""The figures ``ceasefire run`` writes, by file stem."""

CAPTIONS = {
    "outcomes": "Probability of each outcome, with Wilson 95% intervals.",
    "survival": "Share of runs in which the ceasefire still holds, with a pointwise 95% band; "
    "at the end of the window, the runs still holding split into the trigger and the reasons "
    "it was cancelled.",
    "collapse": "When the ceasefire collapsed, stacked by the party or guarantor that declared it.",
    "violations": "Distribution of violations per run for each party.",
    "strain": "Strain on each side at the end of each day (median, 50% and 90% of runs) against "
    "the tolerances of that side's parties and guarantors.",
    "deliveries": "Convoys delivered per run against the number the trigger requires.",
}
"""One sentence per figure (the HTML report's captions)."""


def figures_for(results: Results) -> dict[str, Callable[[Results], Figure]]:
    """The figures that apply to ``results`` (no deliveries figure without convoys)."""
    return {
        stem: make
        for stem, make in FIGURES.items()
        if stem != "deliveries" or results.scenario.humanitarian is not None
    }


def save_figures(results: Results, folder: str | Path, dpi: int = 150) -> list[Path]:
    """Write every figure of :data:`FIGURES` that applies as PNG into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, make in figures_for(results).items():
        path = folder / f"{stem}.png"
        make(results).savefig(path, dpi=dpi)
        paths.append(path)
    return paths


def save_atomic(fig: Figure, path: str | Path, dpi: int = 150) -> Path:
    """Save ``fig`` to ``path`` (format from the suffix) without ever overwriting: written to
    a temporary name beside it and renamed into place."""
    path = Path(path)
    if path.exists():
        raise UsageError(f"{path}: already exists; files are never overwritten")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.partial-{os.getpid()}{path.suffix}")
    try:
        fig.savefig(tmp, dpi=dpi, format=path.suffix.lstrip(".").lower() or None)
        if path.exists():
            raise UsageError(f"{path}: already exists; files are never overwritten")
        os.rename(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# --------------------------------------------------------------------------- one run


def trace_strain(
    scenario: Scenario, events: Sequence[TraceEvent]
) -> dict[str, list[tuple[float, float]]]:
    """Each side's strain as ``[(time, strain after the event)]`` from a run's trace."""
    weight = scenario.rules.major_weight
    out: dict[str, list[tuple[float, float]]] = {s: [(0.0, 0.0)] for s in scenario.sides}
    for e in events:
        d = e.detail
        if e.kind in ("violation", "incident") or (e.kind == "attack" and d.get("blamed_on")):
            side = d["target"]
            out[side].append((e.time, out[side][-1][1] + (weight if d.get("major") else 1.0)))
    return out


def trace_figure(
    scenario: Scenario,
    record: RunRecord,
    events: Sequence[TraceEvent],
    seed: int,
    run: int,
) -> Figure:
    """The timeline of one run (``ceasefire trace --plot``): every violation, spoiler attack,
    guarantor incident and convoy as a mark (filled = major, hollow = minor), and each side's
    strain against its tolerances, up to the collapse or the end of the window."""
    w = scenario.window_days
    sides = scenario.sides
    parties = list(scenario.parties)
    spoilers = list(scenario.spoilers)
    guarantors = [g for g, v in scenario.guarantors.items() if v.incident_prob > 0]
    rows: list[tuple[str, str]] = [("violation", p) for p in parties]
    rows += [("attack", s) for s in spoilers] + [("incident", g) for g in guarantors]
    if scenario.humanitarian is not None:
        rows.append(("convoys", "convoys"))
    y_of = {r: len(rows) - 1 - k for k, r in enumerate(rows)}

    fig = Figure(figsize=(10, 3.4 + 0.42 * len(rows) + 1.5 * len(sides)), layout="constrained")
    axes = fig.subplots(
        1 + len(sides),
        1,
        sharex=True,
        gridspec_kw={"height_ratios": [max(len(rows), 3) * 0.42] + [1.5] * len(sides)},
    )
    top, strain_axes = axes[0], axes[1:]

    # Marks: one scatter per (kind, who, severity[, blame]) so each can be read back.
    groups: dict[str, tuple[list[float], list[float], dict[str, Any]]] = {}

    def mark(gid: str, t: float, y: float, **style: Any) -> None:
        groups.setdefault(gid, ([], [], style))[0].append(t)
        groups[gid][1].append(y)

    party_colour = {p: colour(k) for k, p in enumerate(parties)}
    for e in events:
        d = e.detail
        major = bool(d.get("major"))
        sev = "major" if major else "minor"
        if e.kind == "violation":
            c = party_colour[d["party"]]
            mark(
                f"violation:{d['party']}:{sev}",
                e.time,
                y_of[("violation", d["party"])],
                marker="o",
                s=70 if major else 34,
                facecolors=c if major else "white",
                edgecolors=c,
                linewidths=1.4,
            )
        elif e.kind == "attack":
            blamed = bool(d.get("blamed_on"))
            c = INK if blamed else GREY
            mark(
                f"attack:{d['spoiler']}:{sev}:{'blamed' if blamed else 'unblamed'}",
                e.time,
                y_of[("attack", d["spoiler"])],
                marker="^" if blamed else "v",
                s=80 if major else 40,
                facecolors=c if major else "white",
                edgecolors=c,
                linewidths=1.4,
            )
        elif e.kind == "incident":
            mark(
                f"incident:{d['guarantor']}:major",
                e.time,
                y_of[("incident", d["guarantor"])],
                marker="s",
                s=80,
                facecolors=INCIDENT,
                edgecolors=INCIDENT,
                linewidths=1.4,
            )
        elif e.kind == "convoys":
            k = int(d["attempted"])
            ys = y_of[("convoys", "convoys")] + (np.arange(k) - (k - 1) / 2) * min(0.6 / k, 0.2)
            for j, y in enumerate(ys):
                ok = j < int(d["delivered"])
                mark(
                    "convoy:delivered" if ok else "convoy:blocked",
                    e.time,
                    float(y),
                    marker="D" if ok else "X",
                    s=60,
                    facecolors=COLOURS["triggered"] if ok else COLOURS["cancelled_collapse"],
                    edgecolors="none",
                )
    for gid, (ts, ys, style) in groups.items():
        top.scatter(_times(scenario, ts), ys, gid=gid, zorder=3, **style)
    kinds = {"violation": "violations", "attack": "attacks", "incident": "incidents"}
    top.set_yticks(
        [y_of[r] for r in rows],
        [f"{who} {kinds[kind]}" if kind in kinds else who for kind, who in rows],
        fontsize=8.5,
    )
    top.set_ylim(-0.7, len(rows) - 0.3)
    for y in range(len(rows)):
        top.axhline(y, color="#DDDDDD", linewidth=0.6, zorder=0)
    _tidy(top)
    top.tick_params(axis="y", length=0)
    top.spines["left"].set_visible(False)

    # Strain of each side (one panel each) with its tolerances.
    strain = trace_strain(scenario, events)
    collapsed = record.collapsed_by >= 0
    end_t = record.collapse_time if collapsed else float(w)
    for s, (ax, side) in enumerate(zip(strain_axes, sides, strict=True)):
        pts = [*strain[side], (end_t, strain[side][-1][1])]
        ts = [t for t, _ in pts]
        vs = [v for _, v in pts]
        ax.step(
            _times(scenario, ts),
            vs,
            where="post",
            color=colour(s),
            linewidth=2,
            zorder=4,
            gid=f"strain:{side}",
        )
        ax.plot(_time(scenario, end_t), vs[-1], "o", color=colour(s), markersize=5, zorder=5)
        ax.annotate(
            f"{vs[-1]:g}",
            xy=(_time(scenario, end_t), vs[-1]),
            xytext=(5, 0),
            textcoords="offset points",
            va="center",
            fontsize=8,
            color=colour(s),
            fontweight="bold",
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none", "pad": 0.5},
            zorder=6,
        )
        tols = _tolerances(scenario, side)
        ymax = max([*vs, *(t for t, _ in tols), 1.0]) * 1.25
        _draw_tolerances(ax, side, tols, ymax)
        ax.set_ylabel(f"strain on\n{side}", fontsize=8.5)
        ax.yaxis.get_major_locator().set_params(integer=True, nbins=4)
        _tidy(ax)

    # The violence check's period, the collapse and the end of the window.
    handles = [
        Line2D([], [], linestyle="none", marker="o", color=INK, markersize=8, label="major"),
        Line2D(
            [],
            [],
            linestyle="none",
            marker="o",
            mfc="white",
            color=INK,
            markersize=6,
            label="minor",
        ),
    ]
    if spoilers:
        handles += [
            Line2D(
                [],
                [],
                linestyle="none",
                marker="^",
                color=INK,
                markersize=7,
                label="attack blamed on a party",
            ),
            Line2D(
                [],
                [],
                linestyle="none",
                marker="v",
                color=GREY,
                markersize=7,
                label="attack not blamed",
            ),
        ]
    if guarantors:
        handles.append(
            Line2D(
                [],
                [],
                linestyle="none",
                marker="s",
                color=INCIDENT,
                markersize=7,
                label="guarantor incident (major)",
            )
        )
    if scenario.humanitarian is not None:
        handles += [
            Line2D(
                [],
                [],
                linestyle="none",
                marker="D",
                color=COLOURS["triggered"],
                markersize=6,
                label="convoy delivered",
            ),
            Line2D(
                [],
                [],
                linestyle="none",
                marker="X",
                color=COLOURS["cancelled_collapse"],
                markersize=7,
                label="convoy blocked",
            ),
        ]
    handles.append(Line2D([], [], color=INK, linestyle="--", linewidth=1, label="tolerance"))
    q = scenario.quiet_days
    if scenario.trigger.max_strain is not None and q:
        for ax in axes:
            ax.axvspan(
                _time(scenario, w - q), _time(scenario, w), color="#EEEEEE", zorder=0, linewidth=0
            )
        handles.append(
            _patch(
                "#DDDDDD",
                1.0,
                f"violence judged (last {q} day{'s' if q != 1 else ''}: "
                f"strain ≤ {scenario.trigger.max_strain:g})",
            )
        )
    outcome = OUTCOMES[record.outcome]
    if collapsed:
        actor = (*scenario.parties, *scenario.guarantors)[record.collapsed_by]
        for k, ax in enumerate(axes):
            ax.axvline(
                _time(scenario, record.collapse_time),
                color="#000000",
                linewidth=2.2,
                zorder=2,
                gid="collapse" if k == 0 else None,
            )
        handles.append(Line2D([], [], color="#000000", linewidth=2.2, label="collapse"))
        why = f"{actor} walked away {_when(scenario, record.collapse_time)}"
    else:
        why = {
            "triggered": f"{_short(scenario.trigger.label)} started",
            "cancelled_violence": "too violent at the end",
            "cancelled_access": "aid did not get through",
        }[outcome]
    verdict = f"outcome {outcome} ({why})"
    for ax in axes:
        ax.axvline(_time(scenario, w), color=INK, linestyle=":", linewidth=1.2)
    handles.append(Line2D([], [], color=INK, linestyle=":", linewidth=1.2, label="end of window"))
    for ax in axes[:-1]:
        _time_axis(ax, scenario, label=False)
    _time_axis(axes[-1], scenario)
    axes[-1].set_xlim(_time(scenario, -0.01 * w), _time(scenario, 1.015 * w))  # marks at the edges
    fig.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False, fontsize=8)
    _suptitle(fig, scenario.title, f"Run {run}, seed {seed} — {textwrap.shorten(verdict, 90)}")
    return fig


def _draw_tolerances(ax: Axes, side: str, tols: list[tuple[float, str]], ymax: float) -> float:
    """Dashed lines at each tolerance with non-overlapping labels; sets (and returns) the top
    of the y range."""
    label_y = _spread_labels([t for t, _ in tols], ymax * 0.09)
    for (tol, who), y in zip(tols, label_y, strict=True):
        ax.axhline(tol, color=INK, linestyle="--", linewidth=1, gid=f"tolerance:{side}:{tol:g}")
        ax.annotate(
            f"{who} walks away above {tol:g}",
            xy=(0.01, y),
            xycoords=ax.get_yaxis_transform(),
            xytext=(0, 2),
            textcoords="offset points",
            ha="left",
            va="bottom",
            fontsize=7.5,
            color=INK,
            bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 0.5},
            zorder=5,
        )
    top = max([ymax] + [y + ymax * 0.12 for y in label_y])
    ax.set_ylim(0, top)
    return top


def _when(scenario: Scenario, t: float) -> str:
    if scenario.start is None:
        return f"on day {t:.2f}"
    at: datetime = scenario.start + timedelta(days=t)
    return f"on day {t:.2f} ({at:%d %b %H:%M})"


# --------------------------------------------------------------------------- comparisons


def _compare_title(fig: Figure, comparison: Comparison, what: str) -> None:
    c = comparison
    how = (
        f"{c.runs:,} runs each, seed {c.seed} (common random numbers)"
        if c.runs is not None
        else "from result folders"
    )
    if c.runs is not None and any(e.kind == "folder" for e in c.entries):
        how += "; result folders as saved"
    _suptitle(fig, f"Comparison of {len(c.entries)} scenarios: {what}", how)


def compare_outcome_figure(comparison: Comparison) -> Figure:
    """Each outcome's probability per scenario (one panel per outcome) with 95% intervals;
    the dotted line is the first scenario's value."""
    entries = comparison.entries
    n = len(entries)
    words = outcome_words(_short(entries[0].scenario.trigger.label, 34))
    fig = Figure(figsize=(11, 1.6 + 0.42 * n), layout="constrained")
    axes = fig.subplots(1, len(OUTCOMES), sharey=True)
    y = np.arange(n)[::-1]
    for ax, code in zip(axes, OUTCOMES, strict=True):
        p = np.array([e.p(code) for e in entries])
        ci = np.array([e.ci(code) for e in entries])
        ax.barh(
            y,
            p,
            height=0.62,
            color=COLOURS[code],
            xerr=np.vstack([p - ci[:, 0], ci[:, 1] - p]),
            capsize=3,
            error_kw={"ecolor": INK, "linewidth": 1},
            gid=f"compare:{code}",
        )
        ax.axvline(p[0], color=INK, linestyle=":", linewidth=1)
        right = max(ci[:, 1].max(), 0.05)
        for yi, pi, hi in zip(y, p, ci[:, 1], strict=True):
            ax.text(hi + right * 0.04, yi, f"{pi:.1%}", va="center", fontsize=8)
        ax.set_xlim(0, right * 1.4)
        ax.set_title(textwrap.fill(words[code], 26), fontsize=9)
        _percent(ax, "x")
        ax.xaxis.get_major_locator().set_params(nbins=3)
        _tidy(ax)
        ax.tick_params(axis="y", length=0)
    axes[0].set_yticks(y, [e.label for e in entries], fontsize=8.5)
    _compare_title(
        fig,
        comparison,
        f"outcome probabilities, 95% intervals (dotted: {textwrap.shorten(entries[0].label, 30)})",
    )
    return fig


def compare_survival_figure(comparison: Comparison) -> Figure:
    """P(ceasefire still holding) at the end of each day, one curve per scenario, with 95%
    bands."""
    entries = comparison.entries
    starts = {e.scenario.start for e in entries}
    start = starts.pop() if len(starts) == 1 else None
    fig = Figure(figsize=(7.5, 5.0), layout="constrained")
    ax = fig.add_subplot()
    longest = max(entries, key=lambda e: e.scenario.window_days).scenario
    for k, e in enumerate(entries):
        days = np.array([d for d, _ in e.summary["survival"]], dtype=float)
        surv = np.array([s for _, s in e.summary["survival"]], dtype=float)
        band = np.array([wilson(round(s * e.runs), e.runs) for s in surv])
        xs = _times(e.scenario, days) if start is not None else days
        ax.fill_between(xs, band[:, 0], band[:, 1], color=colour(k), alpha=0.12, linewidth=0)
        ax.plot(
            xs,
            surv,
            color=colour(k),
            linestyle=LINESTYLES[k % len(LINESTYLES)],
            marker="o",
            markersize=3,
            linewidth=1.6,
            label=f"{e.label}: {surv[-1]:.1%} at day {days[-1]:g}",
            gid=f"survival:{e.label}",
        )
    if start is not None:
        _time_axis(ax, longest)
        ax.set_xlabel(f"end of each day (ceasefire from {start:%d %b %Y %H:%M})", fontsize=9)
    else:
        ax.set_xlim(0, longest.window_days)
        ax.set_xlabel("days since the ceasefire began (end of each day)", fontsize=9)
    low = min(min(s for _, s in e.summary["survival"]) for e in entries)
    ax.set_ylim(max(0.0, low - 0.15) if low > 0.3 else 0, 1.02)
    ax.set_ylabel("P(ceasefire still holding)")
    _percent(ax)
    fig.legend(loc="outside lower center", ncols=2, frameon=False, fontsize=8)
    _tidy(ax)
    _compare_title(fig, comparison, "survival of the ceasefire")
    return fig


COMPARE_FIGURES: dict[str, Callable[[Comparison], Figure]] = {
    "outcomes": compare_outcome_figure,
    "survival": compare_survival_figure,
}
"""The figures ``ceasefire compare`` writes, by file stem."""
