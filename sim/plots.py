"""Figures of results. Each function takes :class:`~sim.results.Results` and returns a
matplotlib :class:`~matplotlib.figure.Figure` (no pyplot, no global state), so notebooks can
show them and the CLI can save them with any backend.
"""

from __future__ import annotations

import textwrap
from datetime import timedelta
from pathlib import Path

import numpy as np
from matplotlib.dates import DateFormatter
from matplotlib.figure import Figure

from .results import Results
from .scenario import OUTCOMES
from .stats import wilson

# Okabe–Ito colours: distinguishable with the common colour-vision deficiencies.
COLOURS = {
    "triggered": "#009E73",
    "cancelled_collapse": "#D55E00",
    "cancelled_violence": "#E69F00",
    "cancelled_access": "#0072B2",
}


def outcome_labels(results: Results) -> dict[str, str]:
    """The outcome codes in words, using the scenario's trigger label."""
    return {
        "triggered": f"{results.scenario.trigger.label} started",
        "cancelled_collapse": "cancelled: ceasefire collapsed",
        "cancelled_violence": "cancelled: too violent at the end",
        "cancelled_access": "cancelled: aid did not get through",
    }


def _title(fig: Figure, results: Results, what: str) -> None:
    fig.suptitle(
        f"{results.scenario.title}\n{what} — {results.runs:,} runs, seed {results.seed}",
        fontsize=10,
    )


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
    ax.bar(
        x,
        p,
        color=[COLOURS[c] for c in OUTCOMES],
        width=0.65,
        yerr=np.vstack([p - lo, hi - p]),
        capsize=5,
        ecolor="#333333",
    )
    for xi, pi, hii in zip(x, p, hi, strict=True):
        ax.text(xi, hii + 0.015, f"{pi:.1%}", ha="center", va="bottom", fontsize=9)
    ax.set_xticks(x, [textwrap.fill(labels[c], 22) for c in OUTCOMES], fontsize=8.5)
    ax.set_ylabel("probability (95% interval)")
    ax.set_ylim(0, min(1.0, max(hi) + 0.12))
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.spines[["top", "right"]].set_visible(False)
    _title(fig, results, "Outcome of the ceasefire")
    return fig


def survival_figure(results: Results) -> Figure:
    """P(ceasefire still holding) over the window with a pointwise 95% band."""
    w = results.scenario.window_days
    times = np.linspace(0, w, 24 * w + 1)
    surv = np.array([s for _, s in results.survival(times)])
    n = results.runs
    band = np.array([wilson(round(s * n), n) for s in surv])
    fig = Figure(figsize=(7.5, 4.2), layout="constrained")
    ax = fig.add_subplot()
    start = results.scenario.start
    xs = [start + timedelta(days=float(t)) for t in times] if start else times
    ax.fill_between(
        xs,
        band[:, 0],
        band[:, 1],
        step="post",
        color="#0072B2",
        alpha=0.25,
        linewidth=0,
        label="95% interval",
    )
    ax.step(xs, surv, where="post", color="#0072B2", label="still holding")
    end = xs[-1]
    ax.axvline(end, color="#333333", linestyle="--", linewidth=1)
    p_trig = results.outcome_probabilities()["triggered"][0]
    ax.annotate(
        f"end of window: still holding in {surv[-1]:.1%};\n"
        f"{textwrap.shorten(results.scenario.trigger.label, 40)} starts in {p_trig:.1%}",
        xy=(end, surv[-1]),
        xytext=(-10, -30),
        textcoords="offset points",
        ha="right",
        va="top",
        fontsize=8.5,
        arrowprops={"arrowstyle": "-", "color": "#666666"},
    )
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("P(ceasefire still holding)")
    ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    if start:
        ax.xaxis.set_major_formatter(DateFormatter("%d %b", tz=start.tzinfo))
        ax.set_xlabel(f"date (ceasefire from {start:%d %b %Y %H:%M})")
    else:
        ax.set_xlabel("days since the ceasefire began")
    ax.legend(loc="lower left", frameon=False, fontsize=8.5)
    ax.spines[["top", "right"]].set_visible(False)
    _title(fig, results, "Survival of the ceasefire")
    return fig


FIGURES = {"outcomes": outcome_figure, "survival": survival_figure}
"""The figures ``ceasefire run`` writes, by file stem."""


def save_figures(results: Results, folder: str | Path, dpi: int = 150) -> list[Path]:
    """Write every figure of :data:`FIGURES` as PNG into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for stem, make in FIGURES.items():
        path = folder / f"{stem}.png"
        make(results).savefig(path, dpi=dpi)
        paths.append(path)
    return paths
