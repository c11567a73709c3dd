"""Monte Carlo results: compact per-run columns, summaries and the files of a result folder."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import platform
import shutil
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from .engines.params import Params
from .errors import UsageError
from .records import RunRecord
from .scenario import OUTCOMES, Scenario
from .stats import survival, wilson


@dataclass
class Columns:
    """Per-run results as arrays (one row per run); what engines' records are packed into."""

    outcome: np.ndarray  # int8 [runs]
    collapse_time: np.ndarray  # float64 [runs], nan when none
    collapsed_by: np.ndarray  # int16 [runs], -1 when none
    deliveries: np.ndarray  # int32 [runs]
    violations: np.ndarray  # int32 [runs, parties]
    major_violations: np.ndarray  # int32 [runs, parties]
    attacks: np.ndarray  # int32 [runs, spoilers]
    blamed: np.ndarray  # int32 [runs, spoilers]
    incidents: np.ndarray  # int32 [runs, guarantors]
    strain_daily: np.ndarray  # float64 [runs, sides, days]

    @classmethod
    def empty(cls, p: Params, runs: int) -> Columns:
        i32 = np.int32
        return cls(
            outcome=np.zeros(runs, np.int8),
            collapse_time=np.full(runs, np.nan),
            collapsed_by=np.full(runs, -1, np.int16),
            deliveries=np.zeros(runs, i32),
            violations=np.zeros((runs, len(p.parties)), i32),
            major_violations=np.zeros((runs, len(p.parties)), i32),
            attacks=np.zeros((runs, len(p.spoilers)), i32),
            blamed=np.zeros((runs, len(p.spoilers)), i32),
            incidents=np.zeros((runs, len(p.guarantors)), i32),
            strain_daily=np.zeros((runs, len(p.sides), p.window)),
        )

    def put(self, row: int, r: RunRecord) -> None:
        self.outcome[row] = r.outcome
        self.collapse_time[row] = r.collapse_time
        self.collapsed_by[row] = r.collapsed_by
        self.deliveries[row] = r.deliveries
        self.violations[row] = r.violations
        self.major_violations[row] = r.major_violations
        self.attacks[row] = r.attacks
        self.blamed[row] = r.blamed
        self.incidents[row] = r.incidents
        self.strain_daily[row] = r.strain_daily

    def fill(self, start: int, other: Columns) -> None:
        """Copy ``other``'s rows into rows ``start..`` of these columns."""
        stop = start + other.outcome.size
        for name in self.__dataclass_fields__:
            getattr(self, name)[start:stop] = getattr(other, name)


@dataclass
class Results:
    """The outcome distribution of ``runs`` runs of ``scenario`` (see :func:`sim.simulate`)."""

    scenario: Scenario
    seed: int
    engine: str
    columns: Columns
    elapsed: float = 0.0
    workers: int = 1

    # ----------------------------------------------------------------- summaries

    @property
    def runs(self) -> int:
        return int(self.columns.outcome.size)

    @property
    def params(self) -> Params:
        return Params.from_scenario(self.scenario)

    def outcome_counts(self) -> dict[str, int]:
        counts = np.bincount(self.columns.outcome, minlength=len(OUTCOMES))
        return {code: int(c) for code, c in zip(OUTCOMES, counts, strict=True)}

    def outcome_probabilities(self) -> dict[str, tuple[float, float, float]]:
        """``{code: (p, lo95, hi95)}`` with Wilson 95% intervals."""
        n = self.runs
        return {code: (k / n, *wilson(k, n)) for code, k in self.outcome_counts().items()}

    def survival(self, times: np.ndarray | None = None) -> list[tuple[float, float]]:
        """``[(day, fraction of runs not collapsed by then)]``; integer days by default."""
        if times is None:
            times = np.arange(self.scenario.window_days + 1, dtype=float)
        s = survival(self.columns.collapse_time, np.asarray(times, dtype=float))
        return [(float(t), float(v)) for t, v in zip(times, s, strict=True)]

    def collapse_by_actor(self) -> dict[str, int]:
        """How many runs each party or guarantor ended by declaring the collapse."""
        actors = self.params.actors
        counts = np.bincount(
            self.columns.collapsed_by[self.columns.collapsed_by >= 0], minlength=len(actors)
        )
        return {a: int(c) for a, c in zip(actors, counts, strict=True)}

    def violation_stats(self) -> dict[str, dict[str, float]]:
        """Per party: mean, standard deviation and quantiles of violations per run."""
        out = {}
        v, m = self.columns.violations, self.columns.major_violations
        for i, name in enumerate(self.scenario.parties):
            x = v[:, i]
            q = np.percentile(x, [5, 50, 95])
            out[name] = {
                "mean": float(x.mean()),
                "sd": float(x.std(ddof=1)) if x.size > 1 else 0.0,
                "p5": float(q[0]),
                "median": float(q[1]),
                "p95": float(q[2]),
                "major_mean": float(m[:, i].mean()),
            }
        return out

    def summary(self) -> dict[str, Any]:
        """Everything ``summary.json`` holds."""
        c = self.columns
        probs = self.outcome_probabilities()
        counts = self.outcome_counts()
        collapsed = c.collapse_time[~np.isnan(c.collapse_time)]
        return {
            "scenario": self.scenario.name,
            "title": self.scenario.title,
            "runs": self.runs,
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
            "collapse": {
                "p": collapsed.size / self.runs,
                "mean_day": float(collapsed.mean()) if collapsed.size else None,
                "median_day": float(np.median(collapsed)) if collapsed.size else None,
                "by": self.collapse_by_actor(),
            },
            "violations": self.violation_stats(),
            "deliveries": {
                "mean": float(c.deliveries.mean()),
                "p_none": float((c.deliveries == 0).mean()),
                "required": self.scenario.humanitarian.required_deliveries
                if self.scenario.humanitarian
                else 0,
            },
            "spoilers": {
                n: {
                    "attacks_mean": float(c.attacks[:, k].mean()),
                    "blamed_mean": float(c.blamed[:, k].mean()),
                }
                for k, n in enumerate(self.scenario.spoilers)
            },
            "incidents": {
                n: {
                    "mean": float(c.incidents[:, g].mean()),
                    "p_any": float((c.incidents[:, g] > 0).mean()),
                }
                for g, n in enumerate(self.scenario.guarantors)
            },
        }

    # ----------------------------------------------------------------- files

    def csv_text(self) -> str:
        """``runs.csv``: one row per run."""
        p, c = self.params, self.columns
        header = ["run", "outcome", "collapse_day", "collapsed_by", "deliveries"]
        header += [f"violations_{n}" for n in p.parties]
        header += [f"major_{n}" for n in p.parties]
        header += [f"attacks_{n}" for n in p.spoilers] + [f"blamed_{n}" for n in p.spoilers]
        header += [f"incidents_{n}" for n in p.guarantors]
        header += [f"strain_{n}" for n in p.sides]
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(header)
        final_strain = c.strain_daily[:, :, -1]
        for i in range(self.runs):
            ct = c.collapse_time[i]
            w.writerow(
                [
                    i,
                    OUTCOMES[c.outcome[i]],
                    "" if np.isnan(ct) else f"{ct:.6f}",
                    p.actors[c.collapsed_by[i]] if c.collapsed_by[i] >= 0 else "",
                    int(c.deliveries[i]),
                    *c.violations[i].tolist(),
                    *c.major_violations[i].tolist(),
                    *c.attacks[i].tolist(),
                    *c.blamed[i].tolist(),
                    *c.incidents[i].tolist(),
                    *(f"{x:g}" for x in final_strain[i]),
                ]
            )
        return buf.getvalue()

    def manifest(self, command: list[str] | None = None) -> dict[str, Any]:
        """Everything needed to reproduce these results."""
        files = []
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
            "seed": self.seed,
            "runs": self.runs,
            "engine": self.engine,
            "workers": self.workers,
            "elapsed_seconds": round(self.elapsed, 3),
            "versions": _versions(),
            "platform": {
                "python": platform.python_version(),
                "system": platform.platform(),
                "machine": platform.machine(),
            },
            "command": command if command is not None else None,
            "reproduce": (
                f"ceasefire run scenario.yaml --seed {self.seed} --runs {self.runs} "
                f"--engine {self.engine}"
            ),
        }

    def save(
        self, path: str | Path, *, plots: bool = True, command: list[str] | None = None
    ) -> Path:
        """Write the result folder (never overwriting): ``runs.csv``, ``summary.json``,
        ``manifest.json``, ``scenario.yaml`` (the resolved scenario) and ``figures/``.

        Files are written to a temporary folder beside ``path`` and renamed into place,
        so an interrupted save leaves no half-written folder.
        """
        final = Path(path)
        if final.exists():
            raise UsageError(f"{final}: already exists; results are never overwritten")
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.parent / f".{final.name}.partial-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            (tmp / "runs.csv").write_text(self.csv_text(), encoding="utf-8")
            _write_json(tmp / "summary.json", self.summary())
            _write_json(tmp / "manifest.json", self.manifest(command))
            resolved = self.scenario.model_dump(mode="json")
            resolved["monte_carlo"].update(seed=self.seed, runs=self.runs)
            (tmp / "scenario.yaml").write_text(
                "# The resolved scenario of this result folder (extends and --set applied).\n"
                + yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True),
                encoding="utf-8",
            )
            if plots:
                from . import plots as plotting

                plotting.save_figures(self, tmp / "figures")
            if final.exists():
                raise UsageError(f"{final}: already exists; results are never overwritten")
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final


def _write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for dist in ("ceasefire-sim", "numpy", "simpy", "pydantic", "PyYAML", "matplotlib", "tqdm"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out
