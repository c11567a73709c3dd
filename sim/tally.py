"""Streaming aggregation of runs: everything summaries and figures need, in memory that does
not grow with the number of runs.

A :class:`Tally` is fed chunks of :class:`~sim.columns.Columns` in run order and keeps counts:
outcomes, collapse times by actor on an hourly grid, the distribution of violations per party,
of deliveries, and of each side's strain at the end of each day. Quantiles are read from these
exact distributions (inverted CDF), so they are the same whether the per-run rows are kept or
not, and whatever the chunking.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from .records import FIELDS, Columns, Shape

HOURS = 24
"""Collapse times are tallied per hour."""

STRAIN_DIGITS = 3
"""Significant digits strain is counted to when it fades (``rules.strain_half_life_days``):
fading makes every run's strain a different real number, and counting them exactly would
grow with the runs."""
STRAIN_FLOOR = 1e-3
"""Fading strain below this (a thousandth of one event's weight) is counted as 0: with a short
half-life over a long window it would otherwise span hundreds of decades, each with its own
rounded values."""


def significant(values: np.ndarray, digits: int, floor: float = 0.0) -> np.ndarray:
    """``values`` rounded to ``digits`` significant digits; those below ``floor`` (in size)
    become 0."""
    out = np.asarray(values, float).copy()
    out[np.abs(out) < floor] = 0.0
    nonzero = out != 0
    scale = 10.0 ** (np.floor(np.log10(np.abs(out[nonzero]))) - (digits - 1))
    out[nonzero] = np.round(out[nonzero] / scale) * scale
    return out


def _grow_add(acc: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``acc`` (counts per value) plus the counts of ``values`` (non-negative integers)."""
    counts = np.bincount(values, minlength=acc.size)
    if counts.size > acc.size:
        counts[: acc.size] += acc
        return counts
    return acc + counts


def quantiles_from_counts(values: np.ndarray, counts: np.ndarray, qs: np.ndarray) -> np.ndarray:
    """Inverted-CDF quantiles of a distribution given as (sorted values, counts)."""
    cdf = np.cumsum(counts) / counts.sum()
    idx = np.searchsorted(cdf, np.asarray(qs) - 1e-12, side="left")
    return values[np.minimum(idx, values.size - 1)]


def phase_funnel(ended: np.ndarray, gates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Runs that reached and passed each phase, from the runs that ended in each phase
    (``ended``) and that passed exactly k gates (``gates``, k = 0..phases)."""
    reached = np.cumsum(ended[::-1])[::-1]
    passed = np.cumsum(gates[::-1])[::-1][1:]
    return reached, passed


@dataclass
class Tally:
    """Counts over all runs seen so far."""

    shape: Shape
    runs: int = 0
    outcomes: np.ndarray = field(init=False)
    collapse_hist: np.ndarray = field(init=False)
    """Collapses by actor and hour: ``[actors, window * 24]``."""
    on_the_hour: np.ndarray = field(init=False)
    """Collapses exactly at the start of hour k (a phase start), all actors:
    ``[window * 24 + 1]``. They count as collapsed at that time, as a gate's end counts on its
    day."""
    collapse_time_sum: float = 0.0
    violations: list[np.ndarray] = field(init=False)
    """Per party: number of runs with 0, 1, 2, … violations."""
    sums: dict[str, np.ndarray] = field(init=False)
    """Per summed field (:data:`~sim.records.FIELDS`): its total over runs."""
    nonzero: dict[str, np.ndarray] = field(init=False)
    """Per summed field: the number of runs in which it was above zero."""
    deliveries: np.ndarray = field(init=False)
    phase_outcomes: np.ndarray = field(init=False)
    """Runs by the phase they ended in and their outcome: ``[phases, 4]``."""
    phases_passed: np.ndarray = field(init=False)
    """Runs that passed exactly k gates, for k = 0..phases."""
    strain: list[list[Counter[float]]] = field(init=False)
    """Per side and day: Counter of strain at the end of the day."""
    cancelled: np.ndarray = field(init=False)
    """Runs a failed gate ended, by the day it was checked: ``[window + 1]``."""
    fading: bool = False
    """Strain fades in some runs: it is counted to :data:`STRAIN_DIGITS` significant digits
    (exactly otherwise: without fading it only takes sums of event weights)."""

    def __post_init__(self) -> None:
        p = self.shape
        self.outcomes = np.zeros(4, np.int64)
        self.collapse_hist = np.zeros((len(p.actors), p.window * HOURS), np.int64)
        self.on_the_hour = np.zeros(p.window * HOURS + 1, np.int64)
        self.violations = [np.zeros(1, np.int64) for _ in p.parties]
        summed = [f for f in FIELDS if f.summed]
        self.sums = {f.name: np.zeros([p.size(a) for a in f.axes], np.int64) for f in summed}
        self.nonzero = {f.name: np.zeros([p.size(a) for a in f.axes], np.int64) for f in summed}
        self.deliveries = np.zeros(1, np.int64)
        self.strain = [[Counter() for _ in range(p.window)] for _ in p.sides]
        n_phases = max(len(p.phases), 1)
        self.phase_outcomes = np.zeros((n_phases, 4), np.int64)
        self.phases_passed = np.zeros(n_phases + 1, np.int64)
        self.cancelled = np.zeros(p.window + 1, np.int64)

    def add(self, c: Columns) -> None:
        """Count one chunk of runs."""
        p = self.shape
        self.runs += c.runs
        self.outcomes += np.bincount(c.outcome, minlength=4)
        np.add.at(self.phase_outcomes, (c.phase, c.outcome), 1)
        self.phases_passed += np.bincount(c.phases_passed, minlength=self.phases_passed.size)
        gated = c.cancelled_day >= 0
        self.cancelled += np.bincount(c.cancelled_day[gated], minlength=self.cancelled.size)
        hit = c.collapsed_by >= 0
        if hit.any():
            at = c.collapse_time[hit] * HOURS
            hours = np.minimum(at.astype(np.int64), p.window * HOURS - 1)
            np.add.at(self.collapse_hist, (c.collapsed_by[hit], hours), 1)
            exact = at == np.floor(at)
            self.on_the_hour += np.bincount(
                at[exact].astype(np.int64), minlength=self.on_the_hour.size
            )
            self.collapse_time_sum += float(c.collapse_time[hit].sum())
        for i in range(len(p.parties)):
            self.violations[i] = _grow_add(self.violations[i], c.violations[:, i])
        for name in self.sums:
            values = c.arrays[name]
            self.sums[name] += values.sum(0)
            self.nonzero[name] += (values > 0).sum(0)
        self.deliveries = _grow_add(self.deliveries, c.deliveries)
        strain = (
            significant(c.strain_daily, STRAIN_DIGITS, STRAIN_FLOOR)
            if self.fading
            else c.strain_daily
        )
        for s in range(len(p.sides)):
            for d in range(p.window):
                values, counts = np.unique(strain[:, s, d], return_counts=True)
                self.strain[s][d].update(dict(zip(values.tolist(), counts.tolist(), strict=True)))

    # ----------------------------------------------------------------- readings

    def phase_counts(self) -> tuple[np.ndarray, np.ndarray]:
        """Per phase: runs that reached it, and runs that passed its gate."""
        return phase_funnel(self.phase_outcomes.sum(1), self.phases_passed)

    def survival(self, times: np.ndarray) -> np.ndarray:
        """Fraction not collapsed by each time (a collapse at that very time included); exact
        on the hourly grid (other times are read at the hour before)."""
        return (self.runs - self._collapsed(times)) / max(self.runs, 1)

    def _collapsed(self, times: np.ndarray) -> np.ndarray:
        """Runs collapsed by each time (hourly: those of the hours before the time's hour, and
        those exactly at its start)."""
        per_hour = self.collapse_hist.sum(0)
        before = np.concatenate([[0], np.cumsum(per_hour)])  # collapses before hour k
        k = np.clip(np.floor(np.asarray(times, float) * HOURS + 1e-9).astype(int), 0, per_hour.size)
        return before[k] + self.on_the_hour[k]

    def in_force(self, times: np.ndarray) -> np.ndarray:
        """Fraction neither collapsed nor ended by a failed gate by each time (a gate checked
        at day d counts from d on); collapses as in :meth:`survival`."""
        times = np.asarray(times, float)
        gated = np.concatenate([np.cumsum(self.cancelled), [0]])  # ended at gates up to day d
        d = np.clip(np.floor(times + 1e-9).astype(int), -1, self.cancelled.size - 1)
        return (self.runs - self._collapsed(times) - gated[d]) / max(self.runs, 1)

    def strain_quantiles(self, qs: np.ndarray) -> np.ndarray:
        """``[sides, days, len(qs)]``: quantiles of each side's strain at the end of each day."""
        p = self.shape
        out = np.zeros((len(p.sides), p.window, len(qs)))
        for s in range(len(p.sides)):
            for d in range(p.window):
                counter = self.strain[s][d]
                values = np.array(sorted(counter))
                counts = np.array([counter[v] for v in values])
                out[s, d] = quantiles_from_counts(values, counts, qs)
        return out
