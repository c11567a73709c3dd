"""The house style of every figure: colours, titles, axes, dates."""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.dates import date2num, num2date
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter

from .. import limits, uncertainty
from ..errors import printable
from ..results import Results
from ..scenario import OUTCOMES, Scenario
from ..scenario import outcome_words as outcome_words
from ..scenario import went_ahead as went_ahead

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
    s = results.scenario
    return outcome_words(s.trigger.label, phased=s.phases is not None)


def clip(text: str, width: int | None = None) -> str:
    """User text as a figure shows it: control characters escaped (no missing glyphs), cut
    to ``width`` characters (default :data:`~sim.limits.MAX_LABEL_CHARS`) with an ellipsis,
    so no label can make matplotlib lay out a megabyte of text."""
    width = limits.MAX_LABEL_CHARS if width is None else width
    text = printable(text[: 4 * width], limit=width)
    return text if len(text) <= width else text[: width - 1] + "…"


def fit_texts(fig: Figure, width: int = 4 * limits.MAX_LABEL_CHARS) -> Figure:
    """Cut every text of ``fig`` longer than ``width`` characters a line (or of more than a
    dozen lines), and escape control characters: the last guard before drawing."""
    from matplotlib.text import Text

    for t in fig.findobj(Text):
        text = t.get_text()
        if not text:
            continue
        lines = text.split("\n")
        fitted = "\n".join(clip(line, width) for line in lines[:12])
        if fitted != text:
            t.set_text(fitted)
    return fig


def top_names(values: dict[str, float], n: int | None = None) -> tuple[list[str], list[str]]:
    """The ``n`` names (default :data:`~sim.limits.MAX_FIGURE_ACTORS`) with the largest values,
    in their original order, and the others: figures draw the first one by one and sum up
    the rest, so they stay readable and bounded however many parties there are."""
    n = limits.MAX_FIGURE_ACTORS if n is None else n
    if len(values) <= n:
        return list(values), []
    keep = set(sorted(values, key=lambda k: -values[k])[: n - 1])
    return [k for k in values if k in keep], [k for k in values if k not in keep]


def shown_outcomes(results: Results) -> tuple[str, ...]:
    """The outcomes worth showing: those the scenario can produce, and any that occurred
    (a scenario without aid has no ``cancelled_access`` row, bar or legend entry)."""
    counts = results.outcome_counts()
    possible = results.scenario.possible_outcomes
    return tuple(c for c in OUTCOMES if c in possible or counts[c] > 0)


def short(label: str, width: int = 40) -> str:
    """A label without parenthetical remarks, shortened to ``width`` characters."""
    label = clip(label, 4 * width)
    return textwrap.shorten(re.sub(r"\s*\([^)]*\)", "", label) or label, width)


def suptitle(fig: Figure, title: str, what: str) -> None:
    """The scenario title and what the figure shows, each line wrapped to the figure's width
    (a long key path or scenario name never runs off the edges)."""
    width = max(40, int(fig.get_figwidth() * 12))
    lines = [textwrap.shorten(clip(title, limits.MAX_TEXT_CHARS), width)]
    for line in what.split("\n"):
        lines += textwrap.wrap(line, width, break_long_words=True) or [""]
    fig.suptitle("\n".join(lines), fontsize=10)


def results_title(fig: Figure, results: Results, what: str) -> None:
    """Scenario title; what the figure shows, runs and seed; and any changes made to the
    scenario (``--set`` or ``with_overrides``), so a variant's figures say so."""
    what = f"{what} — {results.runs:,} runs, seed {results.seed}"
    if results.integrated:
        what += f"; {integration_note(results)}"
    changes = results.scenario.overrides
    if changes:
        said = ", ".join(f"{clip(k)}={clip(_value(v))}" for k, v in changes.items())
        what += "\n" + textwrap.shorten(f"with {said}", 120, placeholder=" …")
    suptitle(fig, results.scenario.title, what)


def integration_note(results: Results) -> str:
    """How ``--integrate`` results were made, in words (for headers, titles and reports)."""
    return uncertainty.integration_note(results.scenario)


def _value(v: object) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def tidy(ax: Axes) -> None:
    ax.spines[["top", "right"]].set_visible(False)
    ax.tick_params(labelsize=8.5)


def percent(ax: Axes, axis: str = "y", decimals: int = 0) -> None:
    getattr(ax, f"{axis}axis").set_major_formatter(lambda v, _: f"{v:.{decimals}%}")


def dates(scenario: Scenario, days: Sequence[float] | np.ndarray) -> Any:
    """Days since the start as plot x values: datetimes when the scenario has ``start``."""
    start = scenario.start
    if start is None:
        return np.asarray(days, dtype=float)
    return [start + timedelta(days=float(t)) for t in days]


def bar_width(scenario: Scenario, days: float) -> Any:
    """A bar width of ``days`` on a time axis (a ``timedelta`` when it shows dates)."""
    return timedelta(days=days) if scenario.start else days


def date_at(scenario: Scenario, day: float) -> Any:
    return dates(scenario, [day])[0]


def time_axis(ax: Axes, scenario: Scenario, *, label: bool = True) -> None:
    """Date ticks (one per day, as ``13 Sep``) when the scenario has ``start``; else days."""
    start = scenario.start
    w = scenario.horizon
    if start is not None:
        tz = start.tzinfo
        # every k-th day from the start (a date locator restarts each month: 29, 1), as many
        # as fit the axis's width at about 0.65 inch a label ("13 Sep")
        inches = ax.get_window_extent().width / ax.figure.dpi
        k = math.ceil(w / max(3, int(inches / 0.65)))
        ticks = date2num([start + timedelta(days=d) for d in range(0, w + 1, k)])
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _day_month(x, tz)))
        if label:
            ax.set_xlabel(f"date (ceasefire from {start:%d %b %Y %H:%M})", fontsize=9)
    else:
        ax.set_xlim(0, w)
        if label:
            ax.set_xlabel("days since the ceasefire began", fontsize=9)
    ax.set_xlim(date_at(scenario, 0), date_at(scenario, w))


def _day_month(x: float, tz: Any) -> str:
    """``3 Oct``, ``13 Sep``: the day without a leading zero (strftime's ``%-d`` is not
    portable)."""
    when = num2date(x, tz=tz)
    return f"{when.day} {when:%b}"


def spread_labels(values: Sequence[float], gap: float) -> list[float]:
    """Positions for labels at ``values`` (sorted ascending) at least ``gap`` apart."""
    out: list[float] = []
    for v in values:
        out.append(v if not out else max(v, out[-1] + gap))
    return out


def legend_patch(c: str, alpha: float, label: str) -> Any:
    from matplotlib.patches import Patch

    return Patch(facecolor=c, alpha=alpha, linewidth=0, label=label)


def draw_tolerances(ax: Axes, side: str, tols: list[tuple[float, str]], ymax: float) -> float:
    """Dashed lines at each tolerance with non-overlapping labels; sets (and returns) the top
    of the y range."""
    label_y = spread_labels([t for t, _ in tols], ymax * 0.09)
    for (tol, who), y in zip(tols, label_y, strict=True):
        ax.axhline(tol, color=INK, linestyle="--", linewidth=1, gid=f"tolerance:{side}:{tol:g}")
        ax.annotate(
            f"tolerance of {who}: {tol:g}",
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


def side_tolerances(
    scenario: Scenario, side: str, integrated: bool = False
) -> list[tuple[float, str]]:
    """``(tolerance, "who")`` on ``side``; equal tolerances share one line. ``integrated``:
    a tolerance drawn per run (``--integrate``) says the line is the file's value and gives
    the range drawn. A tolerance phases set says so: ``army (phases: jic 15)``."""
    found: dict[float, list[str]] = {}
    drawn = scenario.uncertainties if integrated else {}

    def who(kind: str, name: str) -> str:
        key = f"{kind}.{name}.tolerance"
        # a phase may set its own: the line is the file's value, the label says which others
        phased = [f"{f.name} {f.set[key]:g}" for f in scenario.phases or () if key in f.set]
        dist = drawn.get(key)
        if dist is None:
            return f"{name} (phases: {', '.join(phased)})" if phased else name
        lo, hi = dist.support()
        return f"{name} (the file's value; drawn {lo:g}–{hi:g} per run)"

    for name, p in scenario.parties.items():
        if p.side == side and p.tolerance is not None:
            found.setdefault(p.tolerance, []).append(who("parties", name))
    for name, g in scenario.guarantors.items():
        if scenario.guarantor_side(name) == side and g.tolerance is not None:
            found.setdefault(g.tolerance, []).append(who("guarantors", name))
    return sorted((t, ", ".join(names)) for t, names in found.items())
