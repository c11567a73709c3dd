"""``ceasefire check``: the scenario's predictive distribution against what monitors recorded.

Simulate the scenario (the engines ignore observations), apply each series' observation
model to every run (:mod:`sim.observations`), score every recorded value (randomised PIT,
CRPS, 50/90% coverage) and write ``check.json`` and one fan figure per series.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from .errors import UsageError, plural
from .folders import new_folder, write_json
from .observations import SeriesCheck, check_series, draw_theta, engine_scenario
from .plots.style import INK, PALETTE, dates, short, suptitle, tidy, time_axis
from .runner import settings, simulate
from .scenario import Scenario


@dataclass
class CheckResult:
    scenario: Scenario
    runs: int
    seed: int
    engine: str
    integrated: bool
    series: dict[str, SeriesCheck]
    elapsed: float

    def data(self) -> dict[str, Any]:
        """The content of ``check.json``."""
        return {
            "scenario": self.scenario.name,
            "runs": self.runs,
            "seed": self.seed,
            "engine": self.engine,
            "integrated": self.integrated,
            "series": {name: s.summary() for name, s in self.series.items()},
        }


def check(
    scenario: Scenario,
    runs: int | None = None,
    seed: int | None = None,
    *,
    engine: str = "fast",
    integrate: bool = False,
    workers: int = 1,
    progress: bool | None = None,
) -> CheckResult:
    """Score every series of ``scenario.observations`` against ``runs`` simulated runs."""
    if not scenario.observations:
        raise UsageError(
            f"{scenario.file_label()}: the scenario has no 'observations:' block to check"
        )
    runs, seed = settings(scenario, runs, seed, engine, workers, integrate)
    started = time.perf_counter()
    engine_view = engine_scenario(scenario)
    results = simulate(
        engine_view,
        runs,
        seed,
        engine=engine,
        workers=workers,
        integrate=integrate and bool(engine_view.uncertainties),
        progress=progress,
    )
    cols = results.columns
    assert cols is not None
    theta = draw_theta(scenario, seed, runs) if integrate else None
    series = {
        name: check_series(scenario, name, cols, seed, theta) for name in scenario.observations
    }
    elapsed = time.perf_counter() - started
    return CheckResult(scenario, runs, int(seed), engine, integrate, series, elapsed)


def save(
    result: CheckResult, path: str | Path, *, plots: bool = True, command: list[str] | None = None
) -> Path:
    """Write ``check.json`` and ``figures/check_<series>.png`` at ``path`` (never overwriting)."""
    from .results import library_versions

    with new_folder(path) as tmp:
        data = result.data()
        data["command"] = command
        data["versions"] = library_versions()
        write_json(tmp / "check.json", data)
        if plots:
            (tmp / "figures").mkdir()
            for name, s in result.series.items():
                figure(result, s).savefig(tmp / "figures" / f"check_{name}.png", dpi=150)
    return Path(path)


def figure(result: CheckResult, s: SeriesCheck) -> Figure:
    """The predictive fan by day (exact 50% and 90% bands, median) with the recorded daily
    points; totals over days in a panel of their own (sampled 50/90% intervals)."""
    scenario = result.scenario
    days = len(s.fan[0.5])
    totals = s.totals
    fig = Figure(figsize=(9.5 if totals else 7.5, 4.6), layout="constrained")
    grid = fig.add_gridspec(1, 2, width_ratios=(3, 1.1)) if totals else fig.add_gridspec(1, 1)
    ax = fig.add_subplot(grid[0])
    edges = np.arange(days + 1)
    x = dates(scenario, edges)
    blue = PALETTE[0]

    def stairs(values: np.ndarray) -> np.ndarray:
        return np.append(values, values[-1])

    ax.fill_between(x, stairs(s.fan[0.05]), stairs(s.fan[0.95]), step="post", color=blue,
                    alpha=0.18, linewidth=0, label="90% of predicted reports")  # fmt: skip
    ax.fill_between(x, stairs(s.fan[0.25]), stairs(s.fan[0.75]), step="post", color=blue,
                    alpha=0.35, linewidth=0, label="50%")  # fmt: skip
    ax.step(x, stairs(s.fan[0.5]), where="post", color=blue, linewidth=1.5, label="median")
    daily = [p for p in s.points if "day" in p]
    if daily:
        ax.plot(
            dates(scenario, [p["day"] + 0.5 for p in daily]),
            [p["count"] for p in daily],
            "o",
            color=PALETTE[1],
            markersize=7,
            label="recorded",
            zorder=3,
        )
        for p in daily:
            ax.annotate(
                f"{p['count']} (PIT {p['pit']:.2f})" if p["pit"] is not None else str(p["count"]),
                (dates(scenario, [p["day"] + 0.5])[0], p["count"]),
                xytext=(6, 4),
                textcoords="offset points",
                fontsize=8,
                color=INK,
            )
    time_axis(ax, scenario)
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(bottom=0)
    ax.set_ylabel("reported items per day", fontsize=9)
    handles, labels = ax.get_legend_handles_labels()
    if totals and not daily:  # the record is only in the totals panel: one legend for both
        handles.append(Line2D([], [], marker="o", linestyle="", color=PALETTE[1], markersize=7))
        labels.append("recorded")
    ax.legend(handles, labels, fontsize=8, frameon=False, loc="best")
    tidy(ax)
    if totals:
        bx = fig.add_subplot(grid[1])
        for i, (point, pred) in enumerate(totals):
            q = pred.quantiles
            bx.vlines(i, q[0.05], q[0.95], color=blue, alpha=0.45, linewidth=10)
            bx.vlines(i, q[0.25], q[0.75], color=blue, alpha=0.8, linewidth=10)
            bx.plot(i, q[0.5], "_", color="white", markersize=12, markeredgewidth=2)
            bx.plot(i, point.count, "o", color=PALETTE[1], markersize=7, zorder=3)
        bx.set_xticks(range(len(totals)))
        spans = [p.days for p, _ in totals if p.days is not None]
        bx.set_xticklabels([f"days {a}–{b - 1}" for a, b in spans], fontsize=8)
        bx.set_xlim(-0.6, len(totals) - 0.4)
        bx.set_ylim(bottom=0)
        bx.set_title("totals over days", fontsize=9)
        bx.set_ylabel("reported items over the days", fontsize=9)
        tidy(bx)
    what = (
        f"{short(s.observation.label, 100)}\npredicted reports and the record — "
        f"{result.runs:,} runs, seed {result.seed}" + (", integrated" if result.integrated else "")
    )
    suptitle(fig, scenario.title, what)
    return fig


def text(result: CheckResult) -> str:
    """The table ``ceasefire check`` prints."""
    s = result.scenario
    lines = [
        f"{s.title} ({s.name})",
        f"{result.runs:,} runs, seed {result.seed}, engine {result.engine}"
        + (", integrated over the uncertainties" if result.integrated else "")
        + f", {result.elapsed:.1f} s",
    ]
    for name, series in result.series.items():
        summary = series.summary()
        lines += [
            "",
            f"{name}: {series.observation.label}",
            f"  {'when':<10} {'count':>6} {'mean':>8} {'5%':>6} {'50%':>6} {'95%':>6} "
            f"{'PIT':>6} {'CRPS':>8}",
        ]
        for p in summary["points"]:
            when = f"day {p['day']}" if "day" in p else f"days {p['days'][0]}–{p['days'][1] - 1}"
            lines.append(
                f"  {when:<10} {p['count']:>6} {_f(p['mean'], '8.1f')} {_f(p['q05'], '6g')} "
                f"{_f(p['median'], '6g')} {_f(p['q95'], '6g')} {_f(p['pit'], '6.3f')} "
                f"{_f(p['crps'], '8.2f')}"
                + (f"  ({p['left_out']:,} runs left out)" if p["left_out"] else "")
            )
        lines.append(
            f"  mean CRPS {_f(summary['crps_mean'], '.2f')}, "
            f"coverage 50%: {_f(summary['coverage50'], '.0%')}, "
            f"90%: {_f(summary['coverage90'], '.0%')} of {plural(len(summary['points']), 'point')}"
        )
    return "\n".join(lines)


def _f(x: float | None, spec: str) -> str:
    width = spec.split(".")[0].rstrip("gf%")
    return format(x, spec) if x is not None else "—".rjust(int(width or 1))
