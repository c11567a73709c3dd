"""Figures of a Monte Carlo run's results (what ``ceasefire run`` writes to ``figures/``)."""

from __future__ import annotations

import contextlib
import logging
import math
import textwrap
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from .. import limits
from ..results import Results
from ..scenario import Scenario, phase_scenarios
from ..stats import wilson
from .style import (
    COLOURS,
    GREY,
    INK,
    PALETTE,
    bar_width,
    clip,
    colour,
    date_at,
    dates,
    draw_tolerances,
    fit_texts,
    legend_patch,
    outcome_labels,
    percent,
    results_title,
    short,
    shown_outcomes,
    side_tolerances,
    tidy,
    time_axis,
    top_names,
    went_ahead,
)

# --------------------------------------------------------------------------- per-run figures


def outcome_figure(results: Results) -> Figure:
    """The outcomes the scenario can produce as bars with Wilson 95% intervals."""
    probs = results.outcome_probabilities()
    labels = outcome_labels(results)
    codes = shown_outcomes(results)
    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(codes))
    p = np.array([probs[c][0] for c in codes])
    lo = np.array([probs[c][1] for c in codes])
    hi = np.array([probs[c][2] for c in codes])
    bars = ax.bar(
        x,
        p,
        color=[COLOURS[c] for c in codes],
        width=0.65,
        yerr=np.vstack([p - lo, hi - p]),
        capsize=5,
        ecolor=INK,
    )
    for bar, code in zip(bars, codes, strict=True):
        bar.set_gid(f"outcome:{code}")
    for xi, pi, hii in zip(x, p, hi, strict=True):
        ax.text(float(xi), hii + 0.015, f"{pi:.1%}", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(x, [textwrap.fill(labels[c], 22) for c in codes], fontsize=8.5)
    pad = max(0, 3 - len(codes)) / 2  # few bars stay bar-shaped, centred
    ax.set_xlim(-0.6 - pad, len(codes) - 0.4 + pad)
    ax.set_ylabel("probability (95% interval)")
    ax.set_ylim(0, min(1.0, max(hi) + 0.12))
    percent(ax)
    tidy(ax)
    results_title(fig, results, "Outcome of the ceasefire")
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
    xs = dates(scenario, times)
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
    trigger = short(scenario.trigger.label)
    words = {
        "triggered": went_ahead(trigger),
        "cancelled_access": "cancelled, aid did not get through",
        "cancelled_violence": "cancelled, too violent",
    }
    end = date_at(scenario, w)
    bar_w = w * 0.035
    bottom = 0.0
    shown = shown_outcomes(results)
    for code in ("triggered", "cancelled_access", "cancelled_violence"):
        if code not in shown:
            continue
        p = probs[code][0]
        ax.bar(
            date_at(scenario, w + bar_w / 2 + w * 0.005),
            p,
            width=bar_width(scenario, bar_w),
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
        date_at(scenario, w + bar_w / 2 + w * 0.005),
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
    percent(ax)
    time_axis(ax, scenario)
    ax.set_xlim(date_at(scenario, 0), date_at(scenario, w * 1.05))
    handles, labels = ax.get_legend_handles_labels()
    # the curve and its band, then the end bar from the top down
    order = [1, 0, *range(len(handles) - 1, 1, -1)]
    fig.legend(
        [handles[i] for i in order],
        [labels[i] for i in order],
        loc="outside lower center",
        ncols=2,
        frameon=False,
        fontsize=8,
    )
    tidy(ax)
    results_title(fig, results, "Survival of the ceasefire")
    return fig


def _collapse_bin_hours(window_days: int) -> int:
    return 6 if window_days <= 7 else 12 if window_days <= 14 else 24


def collapse_figure(results: Results) -> Figure:
    """When the ceasefire collapsed, stacked by who declared it (share of all runs per bin)."""
    scenario = results.scenario
    hours = _collapse_bin_hours(scenario.window_days)
    edges, by_actor = results.collapse_histogram(hours)
    shown, others = top_names({a: float(c.sum()) for a, c in by_actor.items()})
    if others:
        merged = {a: by_actor[a] for a in shown}
        merged[f"{len(others)} others"] = np.sum([by_actor[a] for a in others], axis=0)
        by_actor = merged
    n = results.runs
    total = sum(int(c.sum()) for c in by_actor.values())
    fig = Figure(figsize=(7.5, 4.6), layout="constrained")
    ax = fig.add_subplot()
    left = dates(scenario, edges[:-1])
    width = bar_width(scenario, hours / 24)
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
            label=f"{labels.get(actor, actor)}: {counts.sum() / n:.1%} of runs",
            gid=f"collapse:{actor}",
        )
        bottom = bottom + share
    time_axis(ax, scenario)
    ax.set_ylabel(f"runs collapsing per {hours} h (% of all runs)")
    percent(ax, decimals=1 if bottom.max(initial=0) < 0.05 else 0)
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
    tidy(ax)
    results_title(fig, results, "When the ceasefire collapsed, and who declared it")
    return fig


def _actor_labels(scenario: Scenario) -> dict[str, str]:
    out = {}
    for name, p in scenario.parties.items():
        out[name] = f"{clip(name)} ({clip(p.side)})" if p.side != name else clip(name)
    for name in scenario.guarantors:
        out[name] = f"{clip(name)} (guarantor, {clip(scenario.guarantor_side(name))})"
    return out


def violations_figure(results: Results) -> Figure:
    """Violations per run of each party, side by side (share of runs), with the mean."""
    scenario = results.scenario
    parties = list(scenario.parties)
    stats = results.summary()["violations"]
    if len(parties) > limits.MAX_FIGURE_ACTORS:
        return _violations_summary_figure(results, stats)
    n = results.runs
    ncols = min(len(parties), 4)
    nrows = math.ceil(len(parties) / ncols)
    fig = Figure(figsize=(max(7.5, 3.2 * ncols), 3.8 * nrows), layout="constrained")
    grid = fig.subplots(nrows, ncols, sharey=True, squeeze=False)
    axes = list(grid.flat)
    for ax in axes[len(parties) :]:
        ax.set_visible(False)
    axes = axes[: len(parties)]
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
        ax.set_title(
            clip(party) if side == party else f"{clip(party)} ({clip(side)})", fontsize=9.5
        )
        ax.set_xlabel("violations in the run", fontsize=9)
        ax.set_xlim(-0.7, max(values.max(initial=0), 3) + 0.7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        tidy(ax)
    for row in grid:
        row[0].set_ylabel("share of runs")
    axes[0].set_ylim(0, top * 1.35 or 1)
    percent(axes[0])
    results_title(fig, results, "Violations per party")
    return fig


def _violations_summary_figure(results: Results, stats: dict[str, dict[str, float]]) -> Figure:
    """Past a dozen parties: the mean and 90% range of violations per run of the parties
    that violate most, and one bar for the average of all the others (fixed size)."""
    scenario = results.scenario
    shown, others = top_names({p: stats[p]["mean"] for p in scenario.parties})
    rows = [(f"{clip(p, 30)} ({clip(scenario.parties[p].side, 20)})", stats[p]) for p in shown]
    fig = Figure(figsize=(7.5, 1.5 + 0.32 * (len(rows) + 1)), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(len(rows))
    means = np.array([st["mean"] for _, st in rows])
    lo = np.array([st["p5"] for _, st in rows])
    hi = np.array([st["p95"] for _, st in rows])
    ax.barh(y, means, color=PALETTE[0], height=0.6, gid="violations:mean")
    ax.errorbar(
        means,
        y,
        xerr=[means - np.minimum(lo, means), np.maximum(hi, means) - means],
        fmt="none",
        ecolor=INK,
        capsize=3,
        linewidth=1,
    )
    labels = [name for name, _ in rows]
    if others:
        avg = float(np.mean([stats[p]["mean"] for p in others]))
        ax.barh([len(rows)], [avg], color=GREY, height=0.6, gid="violations:others")
        labels.append(f"average of the {len(others)} other parties")
    ax.set_yticks(np.arange(len(labels)), labels, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel("violations per run (mean; bars: 90% of runs)", fontsize=9)
    tidy(ax)
    results_title(
        fig, results, f"Violations per party ({len(shown)} of {len(scenario.parties)} shown)"
    )
    return fig


STRAIN_QS = (0.05, 0.25, 0.5, 0.75, 0.95)
"""Quantiles drawn by :func:`strain_figure`: the 90% and 50% bands and the median."""


def strain_figure(results: Results) -> Figure:
    """Strain on each side at the end of each day: median, 50% and 90% bands, and each
    tolerance of that side's parties and guarantors."""
    scenario = results.scenario
    q = results.strain_quantiles(STRAIN_QS)
    all_sides = scenario.sides
    shown, hidden = top_names({s: float(q[i, -1, -1]) for i, s in enumerate(all_sides)})
    q = q[[all_sides.index(s) for s in shown]]
    sides = tuple(shown)
    days = np.arange(q.shape[1])
    xs = dates(scenario, days)
    tolerances = {s: side_tolerances(scenario, s, results.integrated) for s in sides}
    top = max(
        [float(q[:, :, -1].max(initial=0))]
        + [t for tols in tolerances.values() for t, _ in tols]
        + [1.0]
    )
    ymax = top * 1.18
    ncols = min(len(sides), 4)
    nrows = math.ceil(len(sides) / ncols)
    fig = Figure(figsize=(max(7.5, 3.8 * ncols), 0.4 + 3.8 * nrows), layout="constrained")
    grid = fig.subplots(nrows, ncols, sharey=True, squeeze=False)
    axes = list(grid.flat)
    for ax in axes[len(sides) :]:
        ax.set_visible(False)
    axes = axes[: len(sides)]
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
        ylim = max(ylim, draw_tolerances(ax, side, tolerances[side], ymax))
        ax.set_title(f"strain on {clip(side)}", fontsize=9.5)
        time_axis(ax, scenario, label=False)
        ax.set_xlabel("end of each day", fontsize=9)
        tidy(ax)
    axes[0].set_ylim(0, ylim)
    weight = scenario.rules.major_weight
    for row in grid:
        row[0].set_ylabel(f"strain (minor 1, major {weight:g})", fontsize=9)
    handles = [
        Line2D([], [], color=INK, marker="o", markersize=3, label="median"),
        legend_patch(INK, 0.35, "50% of runs"),
        legend_patch(INK, 0.18, "90% of runs"),
        Line2D([], [], color=INK, linestyle="--", linewidth=1, label="tolerance"),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False, fontsize=8.5)
    results_title(
        fig,
        results,
        "Strain on each side (attributed hostile events)"
        + (f"; the {len(shown)} most strained of {len(all_sides)} sides" if hidden else ""),
    )
    return fig


def most_convoys(scenario: Scenario) -> int:
    """The most convoys a run can attempt: every convoy day of the window, or of every phase
    with all its extensions (each phase with its own convoys a day)."""
    h = scenario.humanitarian
    if h is None:
        return 0
    if scenario.phases is None:
        return h.convoys_per_day * (scenario.window_days - h.first_day)
    total, start = 0, 0
    for phase, own in zip(scenario.phases, phase_scenarios(scenario), strict=True):
        days = phase.days + phase.extension_days
        convoy_days = max(0, start + days - max(start, h.first_day))
        total += (own.humanitarian.convoys_per_day if own.humanitarian else 0) * convoy_days
        start += days
    return total


LABELLED_BARS = 25
"""More bars than this and the bars carry no percentages (they would overlap)."""


def deliveries_figure(results: Results) -> Figure:
    """Convoys delivered per run against the number the trigger requires (with phases, each
    phase requires its own: the bars are not split, and the phases' numbers are listed)."""
    scenario = results.scenario
    h = scenario.humanitarian
    phased = scenario.phases is not None
    required = h.required_deliveries if h and not phased else 0
    counts = results.deliveries_distribution()
    n = results.runs
    share = counts / n
    values = np.arange(counts.size)
    fig = Figure(figsize=(7.5, 4.5), layout="constrained")
    ax = fig.add_subplot()
    if phased:
        ax.bar(values, share, width=0.75, color=COLOURS["triggered"], gid="deliveries:all")
    else:
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
    if np.count_nonzero(share) <= LABELLED_BARS:
        for v, sh in zip(values, share, strict=True):
            if sh > 0:
                ax.text(float(v), sh + 0.01, f"{sh:.1%}", ha="center", va="bottom", fontsize=8)
    if h is not None and phased:
        needs = ", ".join(f"{p.name} {p.gate.required_deliveries}" for p in scenario.phases or ())
        ax.set_title(
            f"all phases together; each phase's gate counts its own (required: {needs})",
            fontsize=8.5,
            color=INK,
            loc="left",
        )
    elif h is not None:
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
    if h is not None:
        ax.set_xlabel(
            f"convoys delivered in the run (of {most_convoys(scenario)} attempted at most)"
        )
    else:
        ax.set_xlabel("convoys delivered in the run (no humanitarian convoys in this scenario)")
    ax.set_xlim(-0.7, max(values.max(initial=0), required, 3) + 0.7)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(0, max(share.max(initial=0), 0.05) * 1.25)
    ax.set_ylabel("share of runs")
    percent(ax)
    if not phased:
        fig.legend(loc="outside lower center", ncols=2, frameon=False, fontsize=8.5)
    tidy(ax)
    results_title(fig, results, "Humanitarian deliveries")
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
    """The figures that apply to ``results``: no deliveries figure without convoys; with
    phases, the phase figures, and ``phase_survival`` in place of ``survival`` (whose one
    window with the trigger decided at its end does not describe runs stopped at gates)."""
    from .phases import phase_figures

    phased = phase_figures(results)
    return {
        **{
            stem: make
            for stem, make in FIGURES.items()
            if (stem != "deliveries" or results.scenario.humanitarian is not None)
            and (stem != "survival" or not phased)
        },
        **phased,
    }


def save_figures(results: Results, folder: str | Path, dpi: int = 150) -> list[Path]:
    """Write every figure of :data:`FIGURES` that applies as PNG into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, make in figures_for(results).items():
        path = folder / f"{stem}.png"
        with quiet():
            save_figure(make(results), path, dpi=dpi)
        paths.append(path)
    return paths


MAX_FIGURE_INCHES = (40.0, 40.0)
"""Largest figure drawn (width, height; 6000 pixels at 150 dpi): a bound on drawing time."""


def save_figure(fig: Figure, path: str | Path, dpi: int = 150, **kwargs: object) -> None:
    """``fig.savefig`` with the last guards: texts cut (:func:`~.style.fit_texts`), the size
    capped at :data:`MAX_FIGURE_INCHES`, and matplotlib's warnings kept off stderr."""
    width, height = fig.get_size_inches()
    cap_w, cap_h = MAX_FIGURE_INCHES
    if width > cap_w or height > cap_h:
        scale = min(cap_w / width, cap_h / height)
        fig.set_size_inches(width * scale, height * scale)
    with quiet():
        fit_texts(fig).savefig(path, dpi=dpi, **kwargs)  # type: ignore[arg-type]


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Keep matplotlib's warnings (missing glyphs, layout not applied) and log messages off
    stderr: what the command prints is ours to control."""
    log = logging.getLogger("matplotlib")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        log.setLevel(level)


def save_atomic(fig: Figure, path: str | Path, dpi: int = 150) -> Path:
    """Save ``fig`` to ``path`` (format from the suffix) without ever overwriting: written to
    a temporary name beside it and moved into place (see :func:`sim.folders.new_file`)."""
    from ..folders import new_file

    path = Path(path)
    with new_file(path) as tmp:
        save_figure(fig, tmp, dpi=dpi, format=path.suffix.lstrip(".").lower() or None)
    return path
