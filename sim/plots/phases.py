"""Figures of agreements in phases: the phase funnel and survival over the whole
horizon with the phase boundaries. ``ceasefire run`` draws them only for scenarios with
``phases`` (see :func:`phase_figures`)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import numpy as np
from matplotlib.figure import Figure

from ..funnel import STOPS, funnel
from ..results import Results
from ..stats import wilson
from .style import (
    COLOURS,
    GREY,
    INK,
    PALETTE,
    date_at,
    dates,
    percent,
    results_title,
    tidy,
    time_axis,
)

STOP_WORDS = {
    "cancelled_collapse": "stopped: ceasefire collapsed in the phase",
    "cancelled_violence": "stopped: gate failed, too violent",
    "cancelled_access": "stopped: gate failed, aid did not get through",
}


def funnel_figure(results: Results) -> Figure:
    """For each phase, the share of runs that reached it (bar outline) and passed its gate
    (filled), with Wilson 95% intervals; between the two, stacked, why the other runs stopped
    in that phase (collapse, or its gate failed on violence or access)."""
    f = funnel(results)
    if f is None:
        raise ValueError("the scenario has no phases: no funnel")
    k = len(f.names)
    fig = Figure(figsize=(max(7.5, 1.7 * k + 2), 5.0), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(k)
    reached, reached_ci = f.share(f.reached)
    passed, passed_ci = f.share(f.passed)
    width = 0.6
    ax.bar(
        x,
        reached,
        width=width,
        facecolor="none",
        edgecolor=INK,
        linewidth=1.2,
        label="reached the phase",
        gid="funnel:reached",
    )
    ax.bar(
        x,
        passed,
        width=width,
        color=COLOURS["triggered"],
        label="passed its gate",
        gid="funnel:passed",
    )
    if f.stops is not None:
        bottom = passed.copy()
        for j, code in enumerate(STOPS):
            share = f.stops[:, j] / f.runs
            ax.bar(
                x,
                share,
                width=width,
                bottom=bottom,
                color=COLOURS[code],
                alpha=0.85,
                label=STOP_WORDS[code],
                gid=f"funnel:{code}",
            )
            bottom = bottom + share
    else:
        ax.text(
            0.99,
            0.98,
            "why runs stopped needs the per-run rows (run without --summary-only)",
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=8,
            color=GREY,
        )
    off = width / 4
    for what, p, ci, dx in (
        ("reached", reached, reached_ci, -off),
        ("passed", passed, passed_ci, off),
    ):
        ax.errorbar(
            x + dx,
            p,
            yerr=np.vstack([p - ci[:, 0], ci[:, 1] - p]),
            fmt="none",
            ecolor=INK,
            capsize=3,
            linewidth=1,
            gid=f"funnel:{what}_ci",
        )
    for i, (xi, r, p) in enumerate(zip(x.tolist(), reached, passed, strict=True)):
        ax.text(
            xi, reached_ci[i, 1] + 0.015, f"reached {r:.1%}", ha="center", va="bottom", fontsize=8
        )
        inside = p > 0.08
        ax.text(
            xi if inside else xi + width / 2 + 0.03,
            p / 2 if inside else p,
            f"passed\n{p:.1%}",
            ha="center" if inside else "left",
            va="center",
            fontsize=8,
            color="white" if inside else INK,
        )
    ticks = [
        f"{name} ({days} d)\n" + textwrap.fill(label, 22)
        for name, days, label in zip(f.names, f.days, f.labels, strict=True)
    ]
    ax.set_xticks(x, ticks, fontsize=7.5)
    ax.set_ylim(0, 1.12)
    ax.set_ylabel("share of runs (95% interval)")
    percent(ax)
    fig.legend(loc="outside lower center", ncols=3, frameon=False, fontsize=8)
    tidy(ax)
    results_title(fig, results, "Phases: how far the agreement got")
    return fig


def boundaries(results: Results) -> list[tuple[float, str, int]]:
    """Each phase's nominal end ``(day, name, possible extension days)``: the phases' days
    added up, without extensions (runs whose gate was extended reach later boundaries later)."""
    out = []
    end = 0
    for phase in results.scenario.phases or ():
        end += phase.days
        out.append((float(end), phase.name, phase.extension_days))
    return out


def phase_survival_figure(results: Results) -> Figure:
    """P(ceasefire not collapsed) over the whole horizon with a pointwise 95% band, and P(still
    in force) (neither collapsed nor cancelled at a gate); the nominal phase boundaries, the
    days a failed gate may add, and the share of runs that passed each gate (with 95%
    intervals) at its boundary."""
    scenario = results.scenario
    horizon = results.shape.window
    f = funnel(results)
    if f is None:
        raise ValueError("the scenario has no phases")
    times = np.linspace(0, horizon, 24 * horizon + 1)
    surv = np.array([s for _, s in results.survival(times)])
    n = results.runs
    band = np.array([wilson(round(s * n), n) for s in surv])
    fig = Figure(figsize=(8.5, 5.0), layout="constrained")
    ax = fig.add_subplot()
    xs = dates(scenario, times)
    ax.fill_between(
        xs, band[:, 0], band[:, 1], step="post", color=PALETTE[0], alpha=0.3, linewidth=0
    )
    ax.step(xs, surv, where="post", color=PALETTE[0], label="not collapsed", gid="phase_survival")
    # runs a failed gate ended are no longer in force, though they did not collapse
    force = np.array([s for _, s in results.in_force(times)])
    ax.step(
        xs,
        force,
        where="post",
        color=PALETTE[1],
        linestyle="--",
        label="in force (neither collapsed nor cancelled at a gate)",
        gid="in_force",
    )
    passed, ci = f.share(f.passed)
    ends = boundaries(results)
    start = 0.0
    labelled = False
    for i, (end, name, extra) in enumerate(ends):
        ax.axvline(
            date_at(scenario, end), color=INK, linestyle="--", linewidth=0.9, gid=f"boundary:{name}"
        )
        ax.text(
            date_at(scenario, (start + end) / 2),
            1.06,
            name,
            ha="center",
            va="bottom",
            fontsize=8,
            color=INK,
            transform=ax.get_xaxis_transform(),
        )
        if extra:
            ax.axvspan(
                date_at(scenario, end),
                date_at(scenario, end + extra),
                color=GREY,
                alpha=0.15,
                linewidth=0,
                label=None if labelled else "days a failed gate may add (extensions)",
                gid=f"extension:{name}",
            )
            labelled = True
        ax.errorbar(
            date_at(scenario, end),
            passed[i],
            yerr=[[passed[i] - ci[i, 0]], [ci[i, 1] - passed[i]]],
            fmt="o",
            color=COLOURS["triggered"],
            ecolor=INK,
            capsize=3,
            markersize=5,
            label="passed the gate (95% interval)" if i == 0 else None,
            gid=f"gate:{name}",
        )
        ax.annotate(
            f"{passed[i]:.1%}",
            (date_at(scenario, end), passed[i]),
            xytext=(4, 4),
            textcoords="offset points",
            fontsize=8,
            color=INK,
        )
        start = end
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("share of runs")
    percent(ax)
    time_axis(ax, scenario)
    ax.set_xlim(date_at(scenario, 0), date_at(scenario, horizon))
    ax.text(
        0.0,
        -0.2,
        "Dashed lines: nominal ends of the phases (an extended gate moves the later boundaries "
        "of those runs by the days added).\nA run that passed the last gate stays in force: "
        "its next step has started.",
        transform=ax.transAxes,
        fontsize=7.5,
        color=GREY,
        va="top",
    )
    fig.legend(loc="outside lower center", ncols=3, frameon=False, fontsize=8)
    tidy(ax)
    results_title(fig, results, "Survival over the phases")
    return fig


PHASE_FIGURES: dict[str, Callable[[Results], Figure]] = {
    "phases": funnel_figure,
    "phase_survival": phase_survival_figure,
}
"""The figures ``ceasefire run`` adds for scenarios with phases, by file stem."""

PHASE_CAPTIONS = {
    "phases": "For each phase, the share of runs that reached it and passed its gate, with "
    "Wilson 95% intervals, and why the other runs stopped in that phase.",
    "phase_survival": "Share of runs in which the ceasefire has not collapsed, and share still "
    "in force (not collapsed and not cancelled at a gate), over the whole horizon, with the "
    "nominal phase boundaries, the days a failed gate may add, and the share of runs that "
    "passed each gate.",
}
"""One sentence per phase figure (the HTML report's captions)."""

PHASED_CAPTIONS = {
    "deliveries": "Convoys delivered per run over all phases together; each phase's gate "
    "counts only its own phase's deliveries against its own requirement.",
}
"""Captions that read differently for an agreement in phases (no single window or trigger)."""


def phase_figures(results: Results) -> dict[str, Callable[[Results], Figure]]:
    """:data:`PHASE_FIGURES` for results of a scenario with phases; else none."""
    return dict(PHASE_FIGURES) if results.shape.phases else {}


__all__ = [
    "PHASE_CAPTIONS",
    "PHASE_FIGURES",
    "boundaries",
    "funnel_figure",
    "phase_figures",
    "phase_survival_figure",
]
