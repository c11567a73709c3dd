"""Monte Carlo results: compact per-run columns, summaries and the files of a result folder."""

from __future__ import annotations

import csv
import hashlib
import io
import platform
import sys
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from . import frames, uncertainty
from .errors import UsageError
from .records import Columns, Shape, csv_columns, csv_header
from .scenario import OUTCOMES, Scenario
from .stats import wilson
from .tally import Tally, quantiles_from_counts


@dataclass
class Results:
    """The outcome distribution of runs of ``scenario`` (see :func:`sim.simulate`).

    ``tally`` holds every summary (its memory does not grow with the number of runs);
    ``columns`` holds one row per run, or is ``None`` when the runs were simulated with
    ``keep_runs=False`` (then there is no ``runs.csv``).
    """

    scenario: Scenario
    seed: int
    engine: str
    tally: Tally
    columns: Columns | None = None
    elapsed: float = 0.0
    warmup: float = 0.0
    """Seconds spent compiling the engine (or loading it from its disk cache) before the runs,
    not counted in ``elapsed``."""
    workers: int = 1
    integrated: bool = False
    """Whether every run drew its own parameter set from the uncertainties (``--integrate``)."""

    # ----------------------------------------------------------------- tables

    def to_dataframe(self) -> Any:
        """One row per run (pandas; see :func:`sim.frames.to_dataframe`)."""
        return frames.to_dataframe(self)

    def summary_frame(self) -> Any:
        """Outcome probabilities with their intervals (pandas)."""
        return frames.summary_frame(self)

    def _repr_html_(self) -> str:
        return frames.results_html(self)

    def __repr__(self) -> str:
        """A few lines: what ran, and the outcome probabilities (``findings()`` says more)."""
        how = "--integrate, " if self.integrated else ""
        lines = [
            f"Results of {self.scenario.name}: {self.runs:,} runs, seed {self.seed}, "
            f"engine {how}{self.engine}"
        ]
        for code, (p, lo, hi) in self.outcome_probabilities().items():
            lines.append(f"  {code:<20} {p:6.1%}  [{lo:.1%}, {hi:.1%}]")
        return "\n".join(lines)

    # ----------------------------------------------------------------- summaries

    @property
    def runs(self) -> int:
        return self.tally.runs

    @property
    def shape(self) -> Shape:
        """Names and sizes of the per-run arrays."""
        return self.tally.shape

    def outcome_counts(self) -> dict[str, int]:
        return {code: int(c) for code, c in zip(OUTCOMES, self.tally.outcomes, strict=True)}

    def outcome_probabilities(self) -> dict[str, tuple[float, float, float]]:
        """``{code: (p, lo95, hi95)}`` with Wilson 95% intervals."""
        n = self.runs
        return {code: (k / n, *wilson(k, n)) for code, k in self.outcome_counts().items()}

    def survival(self, times: np.ndarray | None = None) -> list[tuple[float, float]]:
        """``[(day, fraction of runs not collapsed by then)]``; integer days by default.

        Exact at whole hours (collapse times are tallied per hour)."""
        return self._curve(self.tally.survival, times)

    def in_force(self, times: np.ndarray | None = None) -> list[tuple[float, float]]:
        """``[(day, fraction of runs still in force)]``: neither collapsed nor ended by a failed
        gate (phases; without phases the one gate is at the window's end). Integer days by
        default; exact at whole hours."""
        return self._curve(self.tally.in_force, times)

    def _curve(self, read: Any, times: np.ndarray | None) -> list[tuple[float, float]]:
        """``[(time, value)]`` of a tally curve, at integer days by default."""
        if times is None:
            times = np.arange(self.shape.window + 1, dtype=float)
        values = read(np.asarray(times, dtype=float))
        return [(float(t), float(v)) for t, v in zip(times, values, strict=True)]

    def collapse_by_actor(self) -> dict[str, int]:
        """How many runs each party or guarantor ended by declaring the collapse."""
        counts = self.tally.collapse_hist.sum(1)
        return {a: int(c) for a, c in zip(self.shape.actors, counts, strict=True)}

    def collapse_histogram(self, bin_hours: int = 24) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Collapses per time bin by who declared them: ``(bin edges in days, {actor: counts})``.

        ``bin_hours`` must divide 24 or be a multiple of it."""
        hist = self.tally.collapse_hist
        hours = hist.shape[1]
        if bin_hours < 1 or (24 % bin_hours and bin_hours % 24) or hours % bin_hours:
            raise ValueError(f"bin_hours must divide 24 or be a whole number of days: {bin_hours}")
        binned = hist.reshape(hist.shape[0], hours // bin_hours, bin_hours).sum(2)
        edges = np.arange(hours // bin_hours + 1) * bin_hours / 24
        return edges, dict(zip(self.shape.actors, binned, strict=True))

    def violation_distribution(self, party: str) -> np.ndarray:
        """``counts[k]``: the number of runs in which ``party`` committed ``k`` violations."""
        return self.tally.violations[self.shape.parties.index(party)].copy()

    def deliveries_distribution(self) -> np.ndarray:
        """``counts[k]``: the number of runs with ``k`` convoys delivered."""
        return self.tally.deliveries.copy()

    def strain_quantiles(self, qs: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)) -> np.ndarray:
        """``[sides, days + 1, len(qs)]``: quantiles of each side's strain at the end of each
        day (index 0 is the start, all zero)."""
        q = self.tally.strain_quantiles(np.asarray(qs))
        return np.concatenate([np.zeros((q.shape[0], 1, q.shape[2])), q], axis=1)

    def violation_stats(self) -> dict[str, dict[str, float]]:
        """Per party: mean, standard deviation and quantiles (inverted CDF) of violations per
        run, and the mean number of major violations."""
        out = {}
        n = self.runs
        for i, name in enumerate(self.shape.parties):
            counts = self.tally.violations[i]
            values = np.arange(counts.size)
            mean = float((values * counts).sum() / n)
            var = float(((values - mean) ** 2 * counts).sum() / (n - 1)) if n > 1 else 0.0
            q = quantiles_from_counts(values, counts, np.array([0.05, 0.5, 0.95]))
            out[name] = {
                "mean": mean,
                "sd": var**0.5,
                "p5": float(q[0]),
                "median": float(q[1]),
                "p95": float(q[2]),
                "major_mean": float(self.tally.sums["major_violations"][i] / n),
            }
        return out

    def phase_summary(self) -> dict[str, dict[str, dict[str, Any]]]:
        """Per phase: how many runs reached it and passed its gate, with 95% intervals."""
        n = self.runs
        reached, passed = self.tally.phase_counts()

        def share(k: int) -> dict[str, Any]:
            return {"count": int(k), "p": k / n, "ci95": list(wilson(int(k), n))}

        return {
            name: {"reached": share(reached[i]), "passed": share(passed[i])}
            for i, name in enumerate(self.shape.phases)
        }

    def summary(self) -> dict[str, Any]:
        """Everything ``summary.json`` holds."""
        t, n = self.tally, self.runs
        probs = self.outcome_probabilities()
        counts = self.outcome_counts()
        collapsed = int(t.collapse_hist.sum())
        per_hour = t.collapse_hist.sum(0)
        median = None
        if collapsed:
            k = int(np.searchsorted(np.cumsum(per_hour), collapsed / 2))
            median = (k + 0.5) / 24
        deliveries = np.arange(t.deliveries.size)
        h = self.scenario.humanitarian
        return {
            "scenario": self.scenario.name,
            "title": self.scenario.title,
            "runs": n,
            "seed": self.seed,
            "engine": self.engine,
            "outcomes": {
                code: {
                    "count": counts[code],
                    "p": probs[code][0],
                    "ci95": [probs[code][1], probs[code][2]],
                }
                for code in OUTCOMES
            },
            "survival": [list(x) for x in self.survival()],
            **(
                {"phases": self.phase_summary(), "in_force": [list(x) for x in self.in_force()]}
                if self.shape.phases
                else {}
            ),
            **(
                {"integrated": {"assumptions": len(self.scenario.uncertainties)}}
                if self.integrated
                else {}
            ),
            "collapse": {
                "p": collapsed / n,
                "mean_day": t.collapse_time_sum / collapsed if collapsed else None,
                "median_day": median,
                "by": self.collapse_by_actor(),
            },
            "violations": self.violation_stats(),
            "deliveries": {
                "mean": float((deliveries * t.deliveries).sum() / n),
                "p_none": float(t.deliveries[0] / n),
                "required": (
                    {f.name: f.gate.required_deliveries for f in self.scenario.phases}
                    if self.scenario.phases is not None
                    else (h.required_deliveries if h else 0)
                ),
            },
            "spoilers": {
                name: {
                    "attacks_mean": float(t.sums["attacks"][k] / n),
                    "blamed_mean": float(t.sums["blamed"][k] / n),
                }
                for k, name in enumerate(self.shape.spoilers)
            },
            "incidents": {
                name: {
                    "mean": float(t.sums["incidents"][g] / n),
                    "p_any": float(t.nonzero["incidents"][g] / n),
                }
                for g, name in enumerate(self.shape.guarantors)
            },
        }

    def findings(self, summary: dict[str, Any] | None = None) -> list[str]:
        """The summary in sentences: collapse, violations, deliveries."""
        summary = self.summary() if summary is None else summary
        n, lines = self.runs, []
        col = summary["collapse"]
        if col["p"] > 0:
            by = ", ".join(f"{a} {c / n:.1%}" for a, c in col["by"].items() if c)
            lines.append(
                f"Collapse in {col['p']:.1%} of runs (median day {col['median_day']:.2f}); "
                f"declared by {by}."
            )
        else:
            lines.append("No run collapsed.")
        viol = ", ".join(f"{k} {v['mean']:.2f}" for k, v in summary["violations"].items())
        lines.append(f"Violations per run (mean): {viol}.")
        if self.scenario.humanitarian is not None:
            d = summary["deliveries"]
            lines.append(
                f"Deliveries per run: mean {d['mean']:.2f} "
                f"(required {_required(d['required'])}); none "
                f"delivered in {d['p_none']:.1%} of runs."
            )
        return lines

    # ----------------------------------------------------------------- files

    def csv_text(self) -> str:
        """``runs.csv``: one row per run (its columns: :func:`sim.records.csv_header`)."""
        c = self.columns
        if c is None:
            raise UsageError("these results kept no per-run rows (summary only): no runs.csv")
        keys = uncertainty.keys(self.scenario) if self.integrated else ()
        shape = replace(self.shape, assumptions=keys)
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(csv_header(shape))
        w.writerows(zip(*csv_columns(c, shape), strict=True))
        return buf.getvalue()

    def manifest(self, command: list[str] | None = None) -> dict[str, Any]:
        """Everything needed to reproduce these results."""
        files: list[dict[str, str | None]] = []
        source = (self.scenario.__pydantic_private__ or {}).get("_source")
        for f in getattr(source, "files", ()):
            try:
                files.append({"path": str(f), "sha256": hashlib.sha256(f.read_bytes()).hexdigest()})
            except OSError:
                files.append({"path": str(f), "sha256": None})
        return {
            "tool": "ceasefire-sim",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "scenario": self.scenario.model_dump(mode="json"),
            "scenario_files": files,
            "overrides": self.scenario.overrides,
            "seed": self.seed,
            "runs": self.runs,
            "engine": self.engine,
            "workers": self.workers,
            "summary_only": self.columns is None,
            "integrate": self.integrated,
            "elapsed_seconds": round(self.elapsed, 3),
            "warmup_seconds": round(self.warmup, 3),
            "versions": library_versions(),
            "platform": {
                "python": platform.python_version(),
                "system": platform.platform(),
                "machine": platform.machine(),
            },
            "command": command if command is not None else None,
            "reproduce": (
                f"ceasefire run scenario.yaml --seed {self.seed} --runs {self.runs} "
                f"--engine {self.engine}"
                + (" --integrate" if self.integrated else "")
                + (" --summary-only" if self.columns is None else "")
            ),
        }

    def save(
        self, path: str | Path, *, plots: bool = True, command: list[str] | None = None
    ) -> Path:
        """Write the result folder (never overwriting): see :func:`sim.writer.save`.

        A convenience of the public API; the files are the writer's business (it imports
        the figures and the report, which import this module: hence the import here)."""
        from .writer import save

        return save(self, path, plots=plots, command=command)


_DISTRIBUTIONS = (
    "ceasefire-sim",
    "numpy",
    "scipy",
    "simpy",
    "pydantic",
    "PyYAML",
    "matplotlib",
    "tqdm",
    "SALib",
    "scikit-learn",
    "dask",
    "distributed",
)


def _required(required: int | dict[str, int]) -> str:
    """Deliveries a window requires, or each phase's gate."""
    if isinstance(required, dict):
        return "per phase: " + ", ".join(f"{k} {v}" for k, v in required.items())
    return str(required)


def library_versions() -> dict[str, str]:
    """Versions of Python and of every library that can shape results (for manifests)."""
    out = {"python": sys.version.split()[0]}
    for dist in _DISTRIBUTIONS:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out
