"""The timeline of one run (``ceasefire trace --plot``)."""

from __future__ import annotations

import math
import textwrap
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from ..records import Run, TraceEvent
from ..scenario import OUTCOMES, Scenario
from .style import (
    COLOURS,
    GREY,
    INCIDENT,
    INK,
    colour,
    date_at,
    dates,
    draw_tolerances,
    legend_patch,
    short,
    side_tolerances,
    suptitle,
    tidy,
    time_axis,
    went_ahead,
)

# --------------------------------------------------------------------------- one run


def trace_strain(
    scenario: Scenario, events: Sequence[TraceEvent]
) -> dict[str, list[tuple[float, float]]]:
    """Each side's strain as ``[(time, strain after the event)]`` from a run's trace (the
    engine records every side's strain with each hostile event)."""
    out: dict[str, list[tuple[float, float]]] = {s: [(0.0, 0.0)] for s in scenario.sides}
    for e in events:
        for side, level in e.detail.get("levels", {}).items():
            if level != out[side][-1][1]:
                out[side].append((e.time, level))
    return out


def strain_curve(
    points: Sequence[tuple[float, float]], end: float, rate: float
) -> tuple[list[float], list[float]]:
    """A side's strain over time from its levels after each event (``points``) up to
    ``end``: steps at the events, and in between the level fades at ``rate`` (ln 2 /
    half-life; 0: it stays), drawn with a point every hour."""
    ts: list[float] = []
    vs: list[float] = []
    for (t0, v0), (t1, _) in zip(points, [*points[1:], (end, 0.0)], strict=True):
        steps = max(1, math.ceil((t1 - t0) * 24)) if rate > 0.0 and v0 > 0.0 else 1
        for k in range(steps + 1):
            t = t0 + (t1 - t0) * k / steps
            ts.append(t)
            vs.append(v0 * math.exp(-rate * (t - t0)))
    return ts, vs


def trace_figure(
    scenario: Scenario,
    record: Run,
    events: Sequence[TraceEvent],
    seed: int,
    run: int,
) -> Figure:
    """The timeline of one run (``ceasefire trace --plot``): every violation, spoiler attack,
    guarantor incident and convoy as a mark (filled = major, hollow = minor), and each side's
    strain against its tolerances, up to the collapse or the end of the window. With phases,
    each phase's start, gate checks (passed or failed) and extensions are marked."""
    w = scenario.window_days
    if scenario.phases is not None:  # to the end of the run's last phase, extensions included
        # that phase began at the gate of the phase before it (which may have been extended)
        passed = sorted(e.time for e in events if e.kind == "gate" and e.detail["passed"])
        start = passed[record.phase - 1] if record.phase > 0 else 0
        ends = [e.detail["until"] for e in events if e.kind == "extension"]
        gates = [e.time for e in events if e.kind == "gate"]
        w = max([start + scenario.phases[record.phase].days, *ends, *gates])
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
    blocked = COLOURS["cancelled_collapse"]
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
            # not delivered: blocked on the road, or refused (no access this window or phase)
            missed = ("refused", GREY) if not d.get("permitted", True) else ("blocked", blocked)
            for j, y in enumerate(ys):
                ok = j < int(d["delivered"])
                gid, face = ("delivered", COLOURS["triggered"]) if ok else missed
                mark(f"convoy:{gid}", e.time, float(y), marker="D" if ok else "X", s=60,
                     facecolors=face, edgecolors="none")  # fmt: skip
    for gid, (when, heights, style) in groups.items():
        top.scatter(dates(scenario, when), heights, gid=gid, zorder=3, **style)
    kinds = {"violation": "violations", "attack": "attacks", "incident": "incidents"}
    top.set_yticks(
        [y_of[r] for r in rows],
        [f"{who} {kinds[kind]}" if kind in kinds else who for kind, who in rows],
        fontsize=8.5,
    )
    top.set_ylim(-0.7, len(rows) - 0.3)
    for y in range(len(rows)):
        top.axhline(y, color="#DDDDDD", linewidth=0.6, zorder=0)
    tidy(top)
    top.tick_params(axis="y", length=0)
    top.spines["left"].set_visible(False)

    # Strain of each side (one panel each) with its tolerances.
    strain = trace_strain(scenario, events)
    collapsed = record.collapsed_by >= 0
    end_t = record.collapse_time if collapsed else float(w)
    half_life = scenario.rules.strain_half_life_days
    for s, (ax, side) in enumerate(zip(strain_axes, sides, strict=True)):
        ts, vs = strain_curve(strain[side], end_t, math.log(2) / half_life if half_life else 0.0)
        ax.plot(
            dates(scenario, ts),
            vs,
            color=colour(s),
            linewidth=2,
            zorder=4,
            gid=f"strain:{side}",
        )
        ax.plot(date_at(scenario, end_t), vs[-1], "o", color=colour(s), markersize=5, zorder=5)
        near_end = end_t > 0.9 * w  # the label goes left of the point, inside the axes
        ax.annotate(
            f"{vs[-1]:.3g}",
            xy=(date_at(scenario, end_t), vs[-1]),
            xytext=(-7, 7) if near_end else (5, 0),
            textcoords="offset points",
            ha="right" if near_end else "left",
            va="bottom" if near_end else "center",
            fontsize=8,
            color=colour(s),
            fontweight="bold",
            bbox={"facecolor": "white", "alpha": 0.95, "edgecolor": "none", "pad": 2.5},
            zorder=6,
        )
        tols = side_tolerances(scenario, side)
        ymax = max([*vs, *(t for t, _ in tols), 1.0]) * 1.25
        draw_tolerances(ax, side, tols, ymax)
        ax.set_ylabel(f"strain on\n{side}", fontsize=8.5)
        ax.yaxis.get_major_locator().set_params(integer=True, nbins=4)
        tidy(ax)

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
        if any(e.kind == "convoys" and not e.detail.get("permitted", True) for e in events):
            handles.append(
                Line2D([], [], linestyle="none", marker="X", color=GREY, markersize=7,
                       label="convoy not permitted (access refused)")
            )  # fmt: skip
    handles.append(Line2D([], [], color=INK, linestyle="--", linewidth=1, label="tolerance"))
    q = scenario.quiet_days
    if scenario.phases is not None:
        handles += _phase_marks(axes, scenario, events)
    elif scenario.trigger.max_strain is not None and q:
        for ax in axes:
            ax.axvspan(
                date_at(scenario, w - q),
                date_at(scenario, w),
                color="#EEEEEE",
                zorder=0,
                linewidth=0,
            )
        handles.append(
            legend_patch(
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
                date_at(scenario, record.collapse_time),
                color="#000000",
                linewidth=2.2,
                zorder=2,
                gid="collapse" if k == 0 else None,
            )
        handles.append(Line2D([], [], color="#000000", linewidth=2.2, label="collapse"))
        why = f"{actor} walked away {_when(scenario, record.collapse_time)}"
    else:
        gate = (
            "the end"
            if scenario.phases is None
            else f"the gate of phase {scenario.phases[record.phase].name}"
        )
        why = {
            "triggered": went_ahead(short(scenario.trigger.label)),
            "cancelled_violence": f"too violent at {gate}",
            "cancelled_access": "aid did not get through"
            + ("" if scenario.phases is None else f" by {gate}"),
        }[outcome]
    verdict = f"outcome {outcome} ({why})"
    for ax in axes:
        ax.axvline(date_at(scenario, w), color=INK, linestyle=":", linewidth=1.2)
    last = (
        "end of window"
        if scenario.phases is None
        else f"end of phase {short(scenario.phases[record.phase].name, 24)} (this run's last)"
    )
    handles.append(Line2D([], [], color=INK, linestyle=":", linewidth=1.2, label=last))
    for ax in axes[:-1]:
        time_axis(ax, scenario, label=False)
    time_axis(axes[-1], scenario)
    axes[-1].set_xlim(
        date_at(scenario, -0.01 * w), date_at(scenario, 1.015 * w)
    )  # marks at the edges
    fig.legend(handles=handles, loc="outside lower center", ncols=4, frameon=False, fontsize=8)
    suptitle(fig, scenario.title, f"Run {run}, seed {seed} — {textwrap.shorten(verdict, 90)}")
    return fig


def _phase_marks(axes: Any, scenario: Scenario, events: Sequence[TraceEvent]) -> list[Any]:
    """Phase starts (thin lines, named), gate checks (✓ passed, ✗ failed, with the days whose
    strain they judged shaded) and extensions; the legend entries."""
    top = axes[0]
    for e in events:
        d = e.detail
        if e.kind == "phase":
            for k, ax in enumerate(axes):
                ax.axvline(
                    date_at(scenario, e.time),
                    color=GREY,
                    linewidth=1,
                    zorder=1,
                    gid=f"phase:{d['phase']}" if k == 0 else None,
                )
            top.text(
                date_at(scenario, e.time),
                1.0,
                f" {d['phase']}",
                transform=top.get_xaxis_transform(),
                fontsize=7.5,
                color=INK,
                va="bottom",
                ha="left",
            )
        elif e.kind == "gate":
            ok = bool(d["passed"])
            top.scatter(  # at the foot of the boundary, apart from the phases' names on top
                [date_at(scenario, e.time)],
                [top.get_ylim()[0] + 0.2],
                marker="$✓$" if ok else "X",
                s=70,
                color=COLOURS["triggered"] if ok else COLOURS["cancelled_violence"],
                zorder=6,
                gid=f"gate:{d['phase']}:{'passed' if ok else 'failed'}",
            )
            if d["quiet_days"]:
                for ax in axes:
                    ax.axvspan(
                        date_at(scenario, e.time - d["quiet_days"]),
                        date_at(scenario, e.time),
                        color="#EEEEEE",
                        zorder=0,
                        linewidth=0,
                    )
    passed_colour, failed_colour = COLOURS["triggered"], COLOURS["cancelled_violence"]
    return [
        Line2D([], [], color=GREY, linewidth=1, label="phase starts"),
        Line2D([], [], linestyle="none", marker="$✓$", color=passed_colour, label="gate passed"),
        Line2D([], [], linestyle="none", marker="X", color=failed_colour, label="gate failed"),
        legend_patch("#DDDDDD", 1.0, "days each gate judged"),
    ]  # fmt: skip


def _when(scenario: Scenario, t: float) -> str:
    if scenario.start is None:
        return f"on day {t:.2f}"
    at: datetime = scenario.start + timedelta(days=t)
    return f"on day {t:.2f} ({at:%d %b %H:%M})"
