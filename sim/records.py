"""What engines return: per-run fields, declared once.

:data:`FIELDS` is the one declaration of what a run records. The per-run arrays
(:class:`Columns`), the columns of ``runs.csv``, the sums the tally keeps and the table in
docs/model.md are all derived from it, so a new field is one new entry here.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .outcomes import OUTCOMES


@dataclass(frozen=True)
class Shape:
    """The sizes (and names) every per-run array is laid out by."""

    parties: tuple[str, ...]
    spoilers: tuple[str, ...]
    guarantors: tuple[str, ...]
    sides: tuple[str, ...]
    window: int
    assumptions: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    """The phases' names (empty: one window, no phase columns)."""

    @property
    def sources(self) -> tuple[str, ...]:
        """Sources of hostile events: parties, spoilers, guarantors (incidents)."""
        return self.parties + self.spoilers + self.guarantors

    @property
    def actors(self) -> tuple[str, ...]:
        """Who can declare a collapse: parties, then guarantors."""
        return self.parties + self.guarantors

    def names(self, axis: str) -> tuple[str, ...]:
        return {
            "party": self.parties,
            "spoiler": self.spoilers,
            "guarantor": self.guarantors,
            "side": self.sides,
            "source": self.sources,
            "assumption": self.assumptions,
        }[axis]

    def size(self, axis: str) -> int:
        return self.window if axis == "day" else len(self.names(axis))


@dataclass(frozen=True)
class Field:
    """One quantity a run records."""

    name: str
    dtype: str
    axes: tuple[str, ...]
    """Axes beyond the run: party, spoiler, guarantor, side, source, day, assumption."""
    fill: float
    doc: str
    csv: str | None = None
    """``runs.csv`` column name (``{}`` stands for each name along the first axis); None:
    not in the CSV."""
    summed: bool = False
    """Whether the tally keeps its sum over runs (and the number of runs where it is > 0)."""
    phased: bool = False
    """In ``runs.csv`` only for scenarios with phases."""


FIELDS: tuple[Field, ...] = (
    Field("outcome", "int8", (), 0, "how the run ended (an outcome code)", "outcome"),
    Field(
        "collapse_time", "float64", (), math.nan,
        "when the ceasefire collapsed, in days from the start (empty: it did not)",
        "collapse_day",
    ),
    Field(
        "collapsed_by", "int16", (), -1,
        "the party or guarantor that declared the collapse (empty: none)", "collapsed_by",
    ),
    Field("deliveries", "int32", (), 0, "convoys that got through", "deliveries", True),
    Field(
        "phase", "int16", (), 0,
        "the phase in which the run ended (the last one when triggered)", "phase", phased=True,
    ),
    Field(
        "phases_passed", "int16", (), 0, "gates passed", "phases_passed", phased=True,
    ),
    Field(
        "cancelled_day", "int32", (), -1,
        "the day on which a failed gate ended the run, extensions used up (empty: none)",
        "cancelled_day", phased=True,
    ),
    Field("violations", "int32", ("party",), 0, "violations by each party", "violations_{}", True),
    Field(
        "major_violations", "int32", ("party",), 0, "of which major", "major_{}", True
    ),
    Field("attacks", "int32", ("spoiler",), 0, "attacks by each spoiler", "attacks_{}", True),
    Field(
        "blamed", "int32", ("spoiler",), 0,
        "of which blamed on a party (they add strain)", "blamed_{}", True,
    ),
    Field(
        "incidents", "int32", ("guarantor",), 0, "each guarantor's own incidents",
        "incidents_{}", True,
    ),
    Field(
        "strain_daily", "float64", ("side", "day"), 0.0,
        "each side's strain at the end of every day, held from the day the run ended (the CSV "
        "has the last day: the strain the run ended with)", "strain_{}",
    ),
    Field("events_daily", "int32", ("source", "day"), 0, "hostile events per source and day"),
    Field(
        "theta", "float64", ("assumption",), math.nan,
        "the run's value of each uncertain assumption (with --integrate)", "{}",
    ),
)  # fmt: skip
"""Everything a run records, in ``runs.csv`` order."""

BY_NAME = {f.name: f for f in FIELDS}


class Columns:
    """Per-run results as arrays, one row per run and one array per :data:`FIELDS` entry."""

    def __init__(self, arrays: dict[str, np.ndarray]) -> None:
        self.arrays = arrays

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.__dict__["arrays"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: str) -> np.ndarray:
        """An array by its field name: ``columns["deliveries"]`` is ``columns.deliveries``."""
        try:
            return self.arrays[name]
        except KeyError:
            raise KeyError(f"{name!r}: no such field (fields: {', '.join(self.arrays)})") from None

    def __contains__(self, name: object) -> bool:
        return name in self.arrays

    def __iter__(self) -> Iterator[str]:
        return iter(self.arrays)

    def __getstate__(self) -> dict[str, Any]:
        return {"arrays": self.arrays}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    @classmethod
    def empty(cls, shape: Shape, runs: int) -> Columns:
        arrays = {}
        for f in FIELDS:
            dims = (runs, *(shape.size(a) for a in f.axes))
            arrays[f.name] = np.full(dims, f.fill, dtype=f.dtype)
        return cls(arrays)

    def set_sources(
        self, shape: Shape, count: np.ndarray, major: np.ndarray, attributed: np.ndarray
    ) -> None:
        """Fill the per-actor counts from per-source ones (``[runs, sources]``)."""
        a, b = len(shape.parties), len(shape.parties) + len(shape.spoilers)
        self.violations[:] = count[:, :a]
        self.major_violations[:] = major[:, :a]
        self.attacks[:] = count[:, a:b]
        self.blamed[:] = attributed[:, a:b]
        self.incidents[:] = count[:, b:]

    def fill(self, start: int, other: Columns) -> None:
        """Copy ``other``'s rows into rows ``start..`` of these columns."""
        stop = start + other.runs
        for name, array in self.arrays.items():
            array[start:stop] = other.arrays[name]

    def row(self, i: int) -> Run:
        """Run ``i`` as a record."""
        return Run({name: array[i] for name, array in self.arrays.items()})

    @property
    def runs(self) -> int:
        """Number of runs (rows)."""
        return int(self.outcome.size)


@dataclass(frozen=True)
class Run:
    """One run's record: the :data:`FIELDS` values of one row."""

    values: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, name: str) -> Any:
        try:
            value = self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None
        return value.item() if isinstance(value, np.generic) else value


def csv_header(shape: Shape) -> list[str]:
    """The columns of ``runs.csv``."""
    header = ["run"]
    for f in FIELDS:
        if f.csv is None or (f.phased and not shape.phases):
            continue
        if f.axes:
            header += [f.csv.format(n) for n in shape.names(f.axes[0])]
        else:
            header.append(f.csv)
    return header


def csv_columns(cols: Columns, shape: Shape, first_run: int = 0) -> list[list[str]]:
    """``runs.csv`` cell texts, column by column (so each is formatted in one pass)."""
    out = [[str(i) for i in range(first_run, first_run + cols.runs)]]
    actors = shape.actors
    for f in FIELDS:
        if f.csv is None or (f.phased and not shape.phases):
            continue
        a = cols.arrays[f.name]
        if f.name == "phase":
            out.append([shape.phases[v] for v in a.tolist()])
        elif f.name == "outcome":
            out.append([OUTCOMES[v] for v in a.tolist()])
        elif f.name == "collapse_time":
            out.append(["" if math.isnan(v) else f"{v:.6f}" for v in a.tolist()])
        elif f.name == "collapsed_by":
            out.append([actors[v] if v >= 0 else "" for v in a.tolist()])
        elif f.name == "cancelled_day":
            out.append([str(v) if v >= 0 else "" for v in a.tolist()])
        elif f.name == "strain_daily":
            out += [[f"{v:g}" for v in a[:, s, -1].tolist()] for s in range(a.shape[1])]
        elif f.dtype == "float64":
            out += [[repr(float(v)) for v in a[:, j].tolist()] for j in range(a.shape[1])]
        elif f.axes:
            out += [[str(v) for v in a[:, j].tolist()] for j in range(a.shape[1])]
        else:
            out.append([str(v) for v in a.tolist()])
    return out


def row_bytes(shape: Shape) -> int:
    """Memory one run's row takes: its arrays (from :data:`FIELDS`) and, at about 12 bytes a
    cell, its line of ``runs.csv`` (built in memory when saved)."""
    arrays = sum(
        np.dtype(f.dtype).itemsize * math.prod(shape.size(a) for a in f.axes) for f in FIELDS
    )
    return arrays + 12 * len(csv_header(shape))


def fields_table() -> str:
    """The markdown table of per-run fields (docs/model.md shows it)."""
    lines = ["| field | per | runs.csv | meaning |", "|---|---|---|---|"]
    for f in FIELDS:
        per = " × ".join(f.axes) or "run"
        csv = f"`{f.csv}`" if f.csv else "—"
        lines.append(f"| `{f.name}` | {per} | {csv} | {f.doc} |")
    return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class TraceEvent:
    """One step of a run's story (see :mod:`sim.trace`)."""

    time: float
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)
