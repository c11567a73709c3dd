"""Figures of a comparison of scenarios (``ceasefire compare``)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.figure import Figure

from ..scenario import OUTCOMES
from ..stats import wilson
from .style import (
    COLOURS,
    INK,
    LINESTYLES,
    colour,
    date_at,
    dates,
    outcome_words,
    percent,
    short,
    suptitle,
    tidy,
    time_axis,
)

if TYPE_CHECKING:  # figures take a comparison; they do not run experiments
    from ..compare import Comparison

# --------------------------------------------------------------------------- comparisons


def _compare_title(fig: Figure, comparison: Comparison, what: str) -> None:
    suptitle(fig, f"Comparison of {len(comparison.entries)} scenarios: {what}", comparison.how())


def _shown(comparison: Comparison) -> tuple[str, ...]:
    """Outcomes any compared scenario can produce (or did)."""
    entries = comparison.entries
    return tuple(
        code
        for code in OUTCOMES
        if any(code in e.scenario.possible_outcomes or e.count(code) > 0 for e in entries)
    )


def compare_outcome_figure(comparison: Comparison) -> Figure:
    """Each outcome's probability per scenario (one panel per outcome the scenarios can
    produce, on one common scale) with 95% intervals; the dotted line is the first
    scenario's value."""
    entries = comparison.entries
    n = len(entries)
    codes = _shown(comparison)
    triggers = {e.scenario.trigger.label for e in entries}
    # scenarios with different next steps: the panel is each one's own
    step = entries[0].scenario.trigger.label if len(triggers) == 1 else "each one's next step"
    words = outcome_words(
        short(step, 34), phased=any(e.scenario.phases is not None for e in entries)
    )
    fig = Figure(figsize=(2.2 + 2.3 * len(codes), 1.6 + 0.42 * n), layout="constrained")
    axes = np.atleast_1d(fig.subplots(1, len(codes), sharey=True, sharex=True))
    y = np.arange(n)[::-1]
    top = max(max(e.ci(code)[1] for e in entries) for code in codes)
    right = min(1.0, max(0.05, top * 1.3 + 0.04))
    for ax, code in zip(axes, codes, strict=True):
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
        ax.axvline(p[0], color=INK, linestyle=":", linewidth=1, zorder=0.5, gid=f"ref:{code}")
        for yi, pi, hi in zip(y, p, ci[:, 1], strict=True):
            inside = hi + right * 0.2 > right  # no room to the right: write it on the bar
            ax.text(
                pi - right * 0.02 if inside else hi + right * 0.03,
                yi,
                f"{pi:.1%}",
                va="center",
                ha="right" if inside else "left",
                fontsize=8,
                color="white" if inside else INK,
                zorder=4,
                bbox=None
                if inside
                else {"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.9},
                gid=f"value:{code}",
            )
        ax.set_xlim(0, right)
        ax.set_title(textwrap.fill(words[code], 26), fontsize=9)
        percent(ax, "x")
        ax.xaxis.get_major_locator().set_params(nbins=3)
        tidy(ax)
        ax.tick_params(axis="y", length=0)
    axes[0].set_yticks(y, [_wrap(e.label) for e in entries], fontsize=8.5)
    _compare_title(
        fig,
        comparison,
        f"outcome probabilities, 95% intervals (dotted: {_clip(entries[0].label, 40)})",
    )
    return fig


def _clip(label: str, width: int) -> str:
    """``label`` cut to ``width`` characters, even without spaces, by an ellipsis in the
    middle: a label's end often says what differs (``…permission_prob=1)``)."""
    if len(label) <= width:
        return label
    tail = (width - 1) // 2
    return label[: width - 1 - tail] + "…" + label[len(label) - tail :]


def _wrap(label: str, width: int = 34) -> str:
    """A scenario label on at most two lines."""
    lines = textwrap.wrap(label, width, max_lines=2, placeholder=" …", break_long_words=False)
    return "\n".join(lines) or label


def compare_survival_figure(comparison: Comparison) -> Figure:
    """P(ceasefire still holding) at the end of each day, one curve per scenario, with 95%
    bands. When every scenario has phases, P(in force): runs cancelled at a gate have ended;
    for a mix of phased and one-window scenarios, P(not collapsed)."""
    entries = comparison.entries
    starts = {e.scenario.start for e in entries}
    start = starts.pop() if len(starts) == 1 else None
    fig = Figure(figsize=(7.5, 5.0), layout="constrained")
    ax = fig.add_subplot()
    longest = max(entries, key=lambda e: e.scenario.window_days).scenario
    # agreements in phases: the share still in force (runs cancelled at a gate have ended,
    # though they did not collapse); otherwise, or for a mix, the share not collapsed
    curve_of = "in_force" if all("in_force" in e.summary for e in entries) else "survival"
    drawn: list[tuple[str, list[Any]]] = []
    for k, e in enumerate(entries):
        days = np.array([d for d, _ in e.summary[curve_of]], dtype=float)
        surv = np.array([s for _, s in e.summary[curve_of]], dtype=float)
        # a curve identical to one drawn before hides under it: the legend says so
        same = next((label for label, curve in drawn if curve == e.summary[curve_of]), None)
        drawn.append((e.label, e.summary[curve_of]))
        label = f"{_clip(e.label, 60)}: {surv[-1]:.1%} at day {days[-1]:g}"
        if same is not None:
            label += f" (the same curve as {_clip(same, 30)})"
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
            label=label,
            gid=f"survival:{e.label}",
        )
    # with phases a run can outlast the nominal days (extensions): show every day recorded
    last = max(e.summary[curve_of][-1][0] for e in entries)
    if start is not None:
        time_axis(ax, longest)
        ax.set_xlim(date_at(longest, 0), date_at(longest, max(last, longest.window_days)))
        ax.set_xlabel(f"end of each day (ceasefire from {start:%d %b %Y %H:%M})", fontsize=9)
    else:
        ax.set_xlim(0, max(last, longest.window_days))
        ax.set_xlabel("days since the ceasefire began (end of each day)", fontsize=9)
    low = min(min(s for _, s in e.summary[curve_of]) for e in entries)
    ax.set_ylim(max(0.0, low - 0.15) if low > 0.3 else 0, 1.02)
    # runs stopped at a phase's gate have not collapsed, but no longer "hold": say what it is
    phased = any(e.scenario.phases is not None for e in entries)
    ax.set_ylabel(
        "P(in force: not collapsed, not cancelled at a gate)"
        if curve_of == "in_force"
        else "P(not collapsed)"
        if phased
        else "P(ceasefire still holding)",
        fontsize=9 if curve_of == "in_force" else None,
    )
    percent(ax)
    wide = max(len(str(t.get_label())) for t in ax.get_lines()) > 45
    fig.legend(loc="outside lower center", ncols=1 if wide else 2, frameon=False, fontsize=8)
    tidy(ax)
    _compare_title(fig, comparison, "survival of the ceasefire")
    return fig


COMPARE_FIGURES: dict[str, Callable[[Comparison], Figure]] = {
    "outcomes": compare_outcome_figure,
    "survival": compare_survival_figure,
}
"""The figures ``ceasefire compare`` writes, by file stem."""


def save_comparison(
    comparison: Comparison,
    path: str | Path,
    *,
    plots: bool = True,
    command: list[str] | None = None,
) -> Path:
    """``comparison.save`` with every figure of :data:`COMPARE_FIGURES` (unless ``plots``
    is false): the folder ``ceasefire compare`` writes."""
    figures = COMPARE_FIGURES if plots else None
    return comparison.save(path, figures=figures, command=command)
