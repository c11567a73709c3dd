"""Per-run results packed into arrays: one row per run, one column per quantity."""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from .engines.params import Params
from .records import RunRecord


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
    theta: np.ndarray  # float64 [runs, assumptions]: each run's parameter set (--integrate)

    @classmethod
    def empty(cls, p: Params, runs: int, assumptions: int = 0) -> Columns:
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
            theta=np.zeros((runs, assumptions)),
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
        for f in fields(self):
            getattr(self, f.name)[start:stop] = getattr(other, f.name)

    @property
    def runs(self) -> int:
        return int(self.outcome.size)
