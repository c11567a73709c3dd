"""Sweeps (``ceasefire sweep``): one or two assumptions over a grid, every point with the same
seed and runs (common random numbers), drawn as a line chart with 95% bands or a heatmap."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .errors import Location, ScenarioError, UsageError
from .experiments import PointTable, evaluate, grid, outcome_label
from .folders import new_folder, write_json
from .plots.style import COLOURS, INK, colour, outcome_words, percent, suptitle, tidy
from .scenario import OUTCOMES, Scenario
from .uncertainty import plain_number

_PARAM = re.compile(r"^([A-Za-z0-9_.]+)=([^:]+):([^:]+):(\d+)$")


def parse_param(text: str) -> tuple[str, float, float, int]:
    """``key.path=LOW:HIGH:N`` -> ``(key, low, high, n)``."""
    m = _PARAM.match(text.strip())
    if not m:
        raise UsageError(
            f"--param {text}: expected key.path=LOW:HIGH:N (e.g. humanitarian.success_prob=0:1:11)"
        )
    key, lo, hi, n = m.group(1), m.group(2), m.group(3), int(m.group(4))
    try:
        low, high = float(lo), float(hi)
    except ValueError:
        raise UsageError(f"--param {text}: LOW and HIGH must be numbers") from None
    if n < 2 or n > 1000 or not low < high:
        raise UsageError(f"--param {text}: needs LOW < HIGH and 2 <= N <= 1000")
    return key, low, high, n


def sweep(
    scenario: Scenario,
    params: Sequence[tuple[str, float, float, int]],
    *,
    runs: int,
    seed: int,
    engine: str = "fast",
    workers: int = 1,
    dask: str | None = None,
    progress: bool | None = None,
) -> PointTable:
    """Simulate the full grid of one or two ``(key, low, high, n)`` assumptions."""
    keys, values = checked_grid(scenario, params)
    return evaluate(
        scenario, keys, values, runs=runs, seed=seed, engine=engine, workers=workers, dask=dask,
        progress=progress,
    )  # fmt: skip


def checked_grid(
    scenario: Scenario, params: Sequence[tuple[str, float, float, int]]
) -> tuple[tuple[str, ...], np.ndarray]:
    """The grid of ``params`` (keys, ``[points, keys]`` values), every value checked against
    ``scenario`` before anything runs."""
    if not 1 <= len(params) <= 2:
        raise UsageError("a sweep takes one or two --param")
    if len({p[0] for p in params}) != len(params):
        raise UsageError("each --param must name a different key")
    keys, values = grid({k: (lo, hi, n) for k, lo, hi, n in params})
    for j, key in enumerate(keys):
        # every value of the grid is checked before anything runs (whole numbers are passed
        # as integers, so a grid of counts or days works: required_deliveries=0:3:4)
        for value in dict.fromkeys(values[:, j].tolist()):
            try:
                scenario.with_overrides({key: plain_number(value)})
            except ScenarioError as exc:
                in_file = exc.location is not None and exc.location.line > 0
                # in the file: the key the value made invalid keeps its name, and the
                # --param that did it is named; else the error is the --param's own
                source = f"--param {key}" if in_file else "--param"
                raise ScenarioError(
                    f"{exc.reason} (from {source}, at {value:g})",
                    location=exc.location if in_file else Location("--param", 0, 0),
                    key=exc.key if in_file and exc.key else key,
                ) from None
    return keys, values


def csv_text(table: PointTable, extra: Mapping[str, Sequence[Any]] | None = None) -> str:
    """``table`` as CSV, one row per point; ``extra`` adds columns (one value per point)."""
    rows = table.rows()
    for name, column in (extra or {}).items():
        for row, value in zip(rows, column, strict=True):
            row[name] = value
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    for row in rows:
        w.writerow({k: repr(v) if isinstance(v, float) else v for k, v in row.items()})
    return buf.getvalue()


def figure(table: PointTable, scenario: Scenario, outcome: str = "triggered") -> Figure:
    """Line chart with 95% bands (one assumption) or heatmap of P(``outcome``) (two).

    With one assumption the lines are the four outcomes, or, for ``reached:<phase>`` and
    ``passed:<phase>``, that share for every phase (the chosen one drawn thickest)."""
    words = outcome_words(scenario.trigger.label, phased=scenario.phases is not None)
    what = f"{table.runs:,} runs per point, seed {table.seed}, engine {table.engine}"
    fig = Figure(figsize=(8, 4.8), layout="constrained")
    ax = fig.add_subplot()
    kind, phased, _ = outcome.partition(":")
    if len(table.keys) == 1:
        if phased:  # one line per phase: the share that reached (or passed) it
            lines = [
                (f"{kind}:{name}", colour(i), 1.2, f"phase {name} {kind}")
                for i, name in enumerate(table.phases)
            ]
            subtitle = f"Sweep of {table.keys[0]}: phases {kind}\n{what}"
        else:  # one line per outcome this scenario can produce (or did)
            lines = [
                (code, COLOURS[code], 1.4, words[code])
                for code in OUTCOMES
                if code in scenario.possible_outcomes or table.p(code).any()
            ]
            subtitle = f"Sweep of {table.keys[0]}\n{what}"
        x = table.values[:, 0]
        for code, col, width, label in lines:
            ci = table.ci95(code)
            ax.fill_between(x, ci[:, 0], ci[:, 1], color=col, alpha=0.2, linewidth=0)
            ax.plot(
                x,
                table.p(code),
                color=col,
                marker="o",
                markersize=3,
                linewidth=2.2 if code == outcome else width,
                label=label,
                gid=f"sweep:{code}",
            )
        ax.set_xlabel(table.keys[0])
        ax.set_ylabel("probability (95% band)")
        ax.set_ylim(0, 1)
        percent(ax)
        ax.legend(frameon=False, fontsize=8, loc="best")
        tidy(ax)
        suptitle(fig, scenario.title, subtitle)
        return fig
    xs, ys = np.unique(table.values[:, 0]), np.unique(table.values[:, 1])
    z = table.p(outcome).reshape(xs.size, ys.size)
    mesh = ax.pcolormesh(
        _edges(ys),
        _edges(xs),
        z,
        cmap="viridis",
        vmin=0,
        vmax=max(float(z.max()), 1e-9),
        shading="flat",
    )
    if xs.size * ys.size <= 150:
        for i, xv in enumerate(xs):
            for j, yv in enumerate(ys):
                shade = "white" if z[i, j] < 0.6 * z.max() else INK
                ax.text(yv, xv, f"{z[i, j]:.0%}", ha="center", va="center", fontsize=7, color=shade)
    bar = fig.colorbar(mesh, ax=ax)
    bar.set_label(outcome_label(outcome))
    ax.set_xticks(ys, [f"{v:.3g}" for v in ys])
    ax.set_yticks(xs, [f"{v:.3g}" for v in xs])
    bar.ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    ax.set_xlabel(table.keys[1])
    ax.set_ylabel(table.keys[0])
    suptitle(
        fig,
        scenario.title,
        (
            f"P(triggered): {scenario.trigger.label}"
            if outcome == "triggered"
            else outcome_label(outcome)
        )
        + f"\nover {table.keys[0]} × {table.keys[1]}\n{what}",
    )
    return fig


def _edges(centres: np.ndarray) -> np.ndarray:
    mid = (centres[1:] + centres[:-1]) / 2
    return np.concatenate([[2 * centres[0] - mid[0]], mid, [2 * centres[-1] - mid[-1]]])


def save(
    table: PointTable,
    scenario: Scenario,
    path: str | Path,
    *,
    plots: bool = True,
    command: list[str] | None = None,
    outcome: str = "triggered",
) -> Path:
    """Write ``sweep.csv``, ``sweep.json`` (settings, reproduction) and ``figures/sweep.png``
    (of ``outcome``)."""
    from .results import library_versions

    with new_folder(path) as tmp:
        (tmp / "sweep.csv").write_text(csv_text(table), encoding="utf-8", errors="backslashreplace")
        meta: dict[str, Any] = {
            "scenario": scenario.model_dump(mode="json"),
            "keys": list(table.keys),
            "points": int(table.values.shape[0]),
            "runs_per_point": table.runs,
            "seed": table.seed,
            "engine": table.engine,
            "outcome": outcome,
            "phases": list(table.phases),
            "elapsed_seconds": round(table.elapsed, 3),
            "versions": library_versions(),
            "command": command,
        }
        write_json(tmp / "sweep.json", meta)
        if plots:
            (tmp / "figures").mkdir()
            figure(table, scenario, outcome).savefig(tmp / "figures" / "sweep.png", dpi=150)
    return Path(path)
