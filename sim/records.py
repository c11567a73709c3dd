"""Plain records that engines return: one :class:`RunRecord` per run, optional trace events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OUTCOME_TRIGGERED = 0
OUTCOME_COLLAPSE = 1
OUTCOME_VIOLENCE = 2
OUTCOME_ACCESS = 3


@dataclass(frozen=True, slots=True)
class RunRecord:
    """What one Monte Carlo run produced. Indices follow the scenario's file order.

    ``outcome`` indexes :data:`sim.scenario.OUTCOMES`; ``collapsed_by`` indexes the actors
    (parties, then guarantors) or is -1; ``collapse_time`` is ``nan`` when there was none.
    """

    outcome: int
    collapse_time: float
    collapsed_by: int
    deliveries: int
    violations: tuple[int, ...]
    major_violations: tuple[int, ...]
    attacks: tuple[int, ...]
    blamed: tuple[int, ...]
    incidents: tuple[int, ...]
    strain_daily: tuple[tuple[float, ...], ...]
    """Strain of each side at the end of each day ``1..window_days`` (sides × days)."""


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One step of a run's story (see :mod:`sim.trace`)."""

    time: float
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)
