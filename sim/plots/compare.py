"""Figures of a comparison of scenarios (``ceasefire compare``)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.figure import Figure

from ..scenario import OUTCOMES
from ..stats import wilson

if TYPE_CHECKING:
    from ..compare import Comparison
from .style import (
    COLOURS,
    INK,
    LINESTYLES,
    colour,
    dates,
    outcome_words,
    percent,
    short,
    suptitle,
    tidy,
    time_axis,
)

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
    suptitle(fig, f"Comparison of {len(c.entries)} scenarios: {what}", how)


def compare_outcome_figure(comparison: Comparison) -> Figure:
    """Each outcome's probability per scenario (one panel per outcome) with 95% intervals;
    the dotted line is the first scenario's value."""
    entries = comparison.entries
    n = len(entries)
    words = outcome_words(short(entries[0].scenario.trigger.label, 34))
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
        percent(ax, "x")
        ax.xaxis.get_major_locator().set_params(nbins=3)
        tidy(ax)
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
        xs = dates(e.scenario, days) if start is not None else days
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
        time_axis(ax, longest)
        ax.set_xlabel(f"end of each day (ceasefire from {start:%d %b %Y %H:%M})", fontsize=9)
    else:
        ax.set_xlim(0, longest.window_days)
        ax.set_xlabel("days since the ceasefire began (end of each day)", fontsize=9)
    low = min(min(s for _, s in e.summary["survival"]) for e in entries)
    ax.set_ylim(max(0.0, low - 0.15) if low > 0.3 else 0, 1.02)
    ax.set_ylabel("P(ceasefire still holding)")
    percent(ax)
    fig.legend(loc="outside lower center", ncols=2, frameon=False, fontsize=8)
    tidy(ax)
    _compare_title(fig, comparison, "survival of the ceasefire")
    return fig


COMPARE_FIGURES: dict[str, Callable[[Comparison], Figure]] = {
    "outcomes": compare_outcome_figure,
    "survival": compare_survival_figure,
}
"""The figures ``ceasefire compare`` writes, by file stem."""
