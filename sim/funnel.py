"""The phase funnel: how many runs reached each phase, passed its gate, and why the others
stopped there.

Reached and passed come from the tally (:meth:`sim.tally.Tally.phase_counts`), so they exist
for every result. Why runs stopped at a phase — the ceasefire collapsed during it, or its gate
failed on violence or on access — needs the phase and the outcome of each run together, which
only the per-run rows hold: without them (``keep_runs=False``) :attr:`Funnel.stops` is None.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .outcomes import OUTCOMES
from .results import Results
from .stats import wilson

STOPS = ("cancelled_collapse", "cancelled_violence", "cancelled_access")
"""Why a run stops at a phase: the outcome codes other than ``triggered``."""


def phase_stops(phase: np.ndarray, outcome: np.ndarray, phases: int) -> np.ndarray:
    """``[phases, 4]``: runs that ended in each phase, by outcome code (per-run ``phase`` and
    ``outcome`` arrays)."""
    flat = np.asarray(phase, np.int64) * len(OUTCOMES) + np.asarray(outcome, np.int64)
    counts = np.bincount(flat, minlength=phases * len(OUTCOMES))
    return counts[: phases * len(OUTCOMES)].reshape(phases, len(OUTCOMES))


@dataclass(frozen=True)
class Funnel:
    """Per phase of a result: runs that reached it, passed its gate, and stopped in it."""

    names: tuple[str, ...]
    labels: tuple[str, ...]
    days: tuple[int, ...]
    runs: int
    reached: np.ndarray
    passed: np.ndarray
    stops: np.ndarray | None
    """``[phases, 3]``: runs that stopped in each phase by :data:`STOPS` (None without the
    per-run rows)."""

    def share(self, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Shares of all runs and their Wilson 95% intervals ``[phases, 2]``."""
        ci = np.array([wilson(int(k), self.runs) for k in counts]).reshape(-1, 2)
        return counts / self.runs, ci

    def rows(self) -> list[dict[str, Any]]:
        """One plain dict per phase (for tables): counts, shares and intervals."""
        out = []
        for i, name in enumerate(self.names):
            row: dict[str, Any] = {"phase": name, "label": self.labels[i], "days": self.days[i]}
            for what, counts in (("reached", self.reached), ("passed", self.passed)):
                k = int(counts[i])
                row[what] = {"count": k, "p": k / self.runs, "ci95": list(wilson(k, self.runs))}
            if self.stops is not None:
                row["stopped"] = {
                    code: int(k) for code, k in zip(STOPS, self.stops[i], strict=True)
                }
            out.append(row)
        return out


def funnel(results: Results) -> Funnel | None:
    """The funnel of ``results`` (None when the scenario has no phases)."""
    names = results.shape.phases
    phases = results.scenario.phases
    if not names or phases is None:
        return None
    reached, passed = results.tally.phase_counts()
    by = results.tally.phase_outcomes  # counted while streaming: also with --summary-only
    stops = by[:, [OUTCOMES.index(code) for code in STOPS]]
    return Funnel(
        names=tuple(names),
        labels=tuple(p.label or p.name for p in phases),
        days=tuple(p.days for p in phases),
        runs=results.runs,
        reached=np.asarray(reached),
        passed=np.asarray(passed),
        stops=stops,
    )


__all__ = ["STOPS", "Funnel", "funnel", "phase_stops"]
