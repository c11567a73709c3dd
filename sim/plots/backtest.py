"""Backtest figures, drawn from the content of ``backtest.json`` (plain data)."""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.artist import Artist
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from ..scoring import ORDER
from .style import COLOURS, GREY, INK, tidy

BINS = np.linspace(0.0, 1.0, 6)
"""Forecast bins of the reliability diagram (fifths)."""

_LABELS = {
    "triggered": "triggered",
    "cancelled_access": "access failed",
    "cancelled_violence": "too violent",
    "cancelled_collapse": "collapse",
}


def reliability_points(
    forecasts: np.ndarray, happened: np.ndarray
) -> list[tuple[float, float, int]]:
    """(mean forecast, observed frequency, count) for every non-empty bin of :data:`BINS`."""
    which = np.clip(np.digitize(forecasts, BINS[1:-1]), 0, len(BINS) - 2)
    out = []
    for b in range(len(BINS) - 1):
        mask = which == b
        if mask.any():
            out.append(
                (float(forecasts[mask].mean()), float(happened[mask].mean()), int(mask.sum()))
            )
    return out


def reliability_figure(data: dict[str, Any]) -> Figure:
    """Forecast probability against observed frequency, for P(collapse) and P(triggered)."""
    fig = Figure(figsize=(9, 4.4), layout="constrained")
    axes = fig.subplots(1, 2)
    cases = list(data["cases"].values())
    for ax, code, title in (
        (axes[0], "cancelled_collapse", "P(collapse within the window)"),
        (axes[1], "triggered", "P(triggered)"),
    ):
        f = np.array([c["p"][code] for c in cases])
        o = np.array([float(c["observed"] == code) for c in cases])
        ax.plot([0, 1], [0, 1], color=GREY, lw=1, ls="--", label="perfect calibration")
        jitter = np.linspace(-0.03, 0.03, len(f))
        ax.scatter(
            f,
            o + jitter,
            s=14,
            color=COLOURS[code],
            alpha=0.6,
            label="a case (0/1)",
            gid=f"cases:{code}",
        )
        pts = reliability_points(f, o)
        if pts:
            x, y, n = map(np.array, zip(*pts, strict=True))
            ax.plot(
                x,
                y,
                "o-",
                color=INK,
                lw=1.5,
                ms=5,
                label="bin: observed frequency",
                gid=f"bins:{code}",
            )
            for xi, yi, ni in zip(x, y, n, strict=True):
                ax.annotate(  # on a white ground, drawn over the line that runs through it
                    f"n={ni}",
                    (xi, yi),
                    textcoords="offset points",
                    xytext=(6, 8) if xi < 0.15 else (-6, 8),
                    ha="left" if xi < 0.15 else "right",  # clear of the y axis near 0
                    fontsize=8,
                    zorder=5,
                    bbox={"facecolor": "white", "edgecolor": "none", "pad": 0.6, "alpha": 0.9},
                )
        ax.set(
            xlim=(-0.02, 1.02), ylim=(-0.08, 1.08), xlabel="forecast probability", ylabel="observed"
        )
        ax.set_title(title, fontsize=10)
        tidy(ax)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=8, loc="outside lower center", ncols=3, frameon=False)
    fig.suptitle(
        f"Reliability over {len(cases)} historical ceasefires (bins of width 0.2)", fontsize=11
    )
    return fig


def cases_figure(data: dict[str, Any]) -> Figure:
    """Each case's forecast outcome distribution (stacked bar) beside what happened (ring)."""
    names = list(data["cases"])
    fig = Figure(figsize=(9, 0.42 * len(names) + 1.6), layout="constrained")
    ax = fig.subplots()
    for row, name in enumerate(names):
        c = data["cases"][name]
        left = 0.0
        for code in ORDER:
            width = c["p"][code]
            ax.barh(
                row, width, left=left, color=COLOURS[code], height=0.7, gid=f"bar:{name}:{code}"
            )
            if code == c["observed"]:
                ax.plot(
                    left + width / 2,
                    row,
                    marker="o",
                    ms=9,
                    mfc="none",
                    mec=INK,
                    mew=2,
                    gid=f"observed:{name}",
                )
            left += width
        ax.text(1.01, row, _LABELS[c["observed"]], va="center", fontsize=8, color=INK)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_xlabel("forecast probability (stacked: best outcome to worst)")
    handles: list[Artist] = [Patch(color=COLOURS[code], label=_LABELS[code]) for code in ORDER]
    handles.append(
        ax.plot([], [], marker="o", ls="", mfc="none", mec=INK, mew=2, label="what happened")[0]
    )
    ax.legend(
        handles=handles,
        ncols=5,
        fontsize=8,
        loc="lower center",
        bbox_to_anchor=(0.5, 1.0),
        frameon=False,
    )
    tidy(ax)
    fig.suptitle("Forecast outcome distribution beside what happened", fontsize=11)
    return fig


__all__ = ["cases_figure", "reliability_figure", "reliability_points"]
