"""Recorded events: reading and checking an events file against a scenario.

An events file is a CSV with one row per hostile event, in time order:

``time``
    days from the scenario's start (a number), or an ISO 8601 date-time when the scenario
    has ``start`` (a date-time without a zone is read in the zone of ``start``);
``actor``
    the party, spoiler or guarantor that acted;
``major`` (optional)
    1 for a major event, 0 for a minor one, empty when unknown;
``target_side`` (optional)
    the side attacked; a party with several target sides needs it; for a spoiler or a
    guarantor it must be the side the scenario says it attacks;
``blamed`` (optional)
    1 when a spoiler attack was blamed on a party, 0 when not, empty when unknown;
``source`` (optional)
    free text (who reported it).

The events are taken as the complete record of hostile events over the fitting span
(by default the scenario's window ``[0, window_days)``). Every problem raises one
:class:`~sim.errors.ScenarioError` naming the file, line, column and column name.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np

from . import limits
from .errors import Location, ScenarioError
from .records import TraceEvent
from .scenario import Scenario
from .source import display_path, read_input

COLUMNS = ("time", "actor", "major", "target_side", "blamed", "source")
"""The columns an events file may have (``time`` and ``actor`` are required)."""
REQUIRED = ("time", "actor")


@dataclass(frozen=True)
class Events:
    """Hostile events in time order (one entry per row of the file)."""

    file: str
    span: tuple[float, float]
    times: np.ndarray
    """Days from the scenario's start, strictly increasing."""
    actors: tuple[str, ...]
    kinds: tuple[str, ...]
    """``party``, ``spoiler`` or ``guarantor`` for each event."""
    targets: tuple[str, ...]
    """The side each event was directed at."""
    major: np.ndarray
    """1.0 major, 0.0 minor, nan unknown."""
    blamed: np.ndarray
    """1.0 blamed, 0.0 not, nan unknown or not a spoiler attack."""
    columns: tuple[str, ...]
    left_out: int = 0
    """Rows of the file outside the span chosen with ``--span`` (not fitted)."""

    def of(self, actor: str) -> np.ndarray:
        """A boolean mask of the events of ``actor``."""
        return np.array([a == actor for a in self.actors], dtype=bool)

    def against(self, side: str) -> np.ndarray:
        """A boolean mask of the hostile events directed at ``side``."""
        return np.array([t == side for t in self.targets], dtype=bool)

    def counts(self) -> dict[str, int]:
        """Events per actor, in order of first appearance."""
        out: dict[str, int] = {}
        for a in self.actors:
            out[a] = out.get(a, 0) + 1
        return out


def parse_span(text: str) -> tuple[float, float]:
    """``"A:B"`` -> ``(A, B)`` with ``A < B`` (days); raises ValueError on anything else."""
    a, sep, b = text.partition(":")
    try:
        lo, hi = float(a), float(b)
    except ValueError:
        raise ValueError(f"expected A:B in days (e.g. 0:7), got '{text}'") from None
    if not sep or not (math.isfinite(lo) and math.isfinite(hi)) or not lo < hi:
        raise ValueError(f"expected A:B in days with A < B, got '{text}'")
    return lo, hi


def _field_starts(line: str) -> list[int]:
    """1-based character column where each comma-separated field of ``line`` starts."""
    starts, quoted = [1], False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == "," and not quoted:
            starts.append(i + 2)
    return starts


def _flag(text: str) -> float:
    if text == "":
        return math.nan
    if text in ("0", "1"):
        return float(text)
    raise ValueError(f"expected 0, 1 or empty, got '{text}'")


def _actors(scenario: Scenario) -> dict[str, str]:
    kinds = {name: "party" for name in scenario.parties}
    kinds.update({name: "spoiler" for name in scenario.spoilers})
    kinds.update({name: "guarantor" for name in scenario.guarantors})
    return kinds


class _Row:
    """One data row with the positions of its fields, to locate errors."""

    def __init__(self, file: str, line: int, raw: str, values: list[str], header: list[str]):
        self.file, self.line = file, line
        self.starts = _field_starts(raw)
        self.values = dict(zip(header, values, strict=False))
        self.index = {name: i for i, name in enumerate(header)}

    def get(self, column: str) -> str:
        return self.values.get(column, "").strip()

    def error(self, column: str, message: str) -> ScenarioError:
        i = self.index.get(column, 0)
        col = self.starts[i] if i < len(self.starts) else 1
        return ScenarioError(message, location=Location(self.file, self.line, col), key=column)


def _time(row: _Row, scenario: Scenario) -> float:
    text = row.get("time")
    if text == "":
        raise row.error("time", "missing value")
    try:
        t = float(text)
    except ValueError:
        pass
    else:
        if not math.isfinite(t):
            raise row.error("time", f"must be a finite number of days, got '{text}'")
        return t
    try:
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise row.error(
            "time", f"expected days (a number) or an ISO 8601 date-time, got '{text}'"
        ) from None
    start = scenario.start
    if start is None:
        raise row.error(
            "time",
            f"'{text}' is a date, but the scenario has no 'start': give days from the start "
            "or add start: to the scenario",
        )
    if when.tzinfo is None:
        when = when.replace(tzinfo=start.tzinfo)
    elif start.tzinfo is None:
        raise row.error(
            "time", f"'{text}' has a time zone but the scenario's start has none: drop one"
        )
    return (when - start).total_seconds() / 86400.0


def _export_hint(header: list[str]) -> str:
    """A hint when the file is an ACLED or UCDP export, which ``ceasefire events`` converts."""
    from .adapters import ACLED_REQUIRED, UCDP_REQUIRED

    columns = {h.lower() for h in header}
    for source, required in (("acled", ACLED_REQUIRED), ("ucdp", UCDP_REQUIRED)):
        if set(required) <= columns:
            return (
                f"; this is {'an ACLED' if source == 'acled' else 'a UCDP GED'} export: convert "
                f"it first with `ceasefire events --from {source} FILE --map MAPPING.yaml`"
            )
    return ""


def read_events(
    path: str | Path, scenario: Scenario, span: tuple[float, float] | None = None
) -> Events:
    """Read and check an events file against ``scenario`` (see the module docstring).

    ``span`` (days) defaults to the scenario's window ``(0, window_days)``, and then every
    event must lie in it. A span given explicitly selects part of a longer record: rows
    outside it are checked like the others, then left out (``Events.left_out`` counts them).
    """
    path = Path(path)
    name = display_path(path)
    chosen = span is not None
    span = (0.0, float(scenario.window_days)) if span is None else span
    text = read_input(
        path, "an events file", limits.MAX_DATA_FILE_BYTES, "events of one agreement", "utf-8-sig"
    )
    lines = text.splitlines()
    numbered = [(i + 1, line) for i, line in enumerate(lines) if line.strip()]
    if not numbered:
        raise ScenarioError(
            "empty events file (expected a header: time,actor,...)", location=Location(name)
        )
    header_line, header_raw = numbered[0]
    header = [h.strip() for h in next(csv.reader([header_raw]))]
    head = _Row(name, header_line, header_raw, header, header)
    seen: set[str] = set()
    for column in header:
        if column not in COLUMNS:
            raise head.error(
                column, f"unknown column (known: {', '.join(COLUMNS)}){_export_hint(header)}"
            )
        if column in seen:
            raise head.error(column, "duplicate column")
        seen.add(column)
    for column in REQUIRED:
        if column not in seen:
            raise ScenarioError(
                f"required column is missing (header: {', '.join(header)})",
                location=Location(name, header_line, 1),
                key=column,
            )
    if len(numbered) == 1:
        raise ScenarioError(
            "no events after the header", location=Location(name, header_line, 1), key="time"
        )
    kinds = _actors(scenario)
    times: list[float] = []
    actors: list[str] = []
    targets: list[str] = []
    major: list[float] = []
    blamed: list[float] = []
    previous: dict[float, int] = {}
    last = -math.inf
    left_out = 0
    for line_no, raw in numbered[1:]:
        try:
            values = next(csv.reader([raw]))
        except csv.Error as exc:
            raise ScenarioError(
                f"unreadable CSV row: {exc}", location=Location(name, line_no, 1)
            ) from None
        row = _Row(name, line_no, raw, values, header)
        if len(values) != len(header):
            raise ScenarioError(
                f"has {len(values)} fields, the header has {len(header)}",
                location=Location(name, line_no, 1),
                key="row",
            )
        t = _time(row, scenario)
        inside = span[0] <= t < span[1]
        if not inside and not chosen:
            raise row.error(
                "time",
                f"{t:g} days is outside the window [{span[0]:g}, {span[1]:g}), which the "
                "file is taken to cover: give the days it covers, or the part to fit, with "
                "--span A:B",
            )
        if t < last:
            raise row.error("time", f"events must be in time order ({t:g} comes after {last:g})")
        last = t
        if t in previous:
            raise row.error(
                "time",
                f"duplicate time {t:g} (also on line {previous[t]}): spread events of one "
                "day over the day",
            )
        previous[t] = line_no
        actor = row.get("actor")
        if actor not in kinds:
            raise row.error(
                "actor",
                f"unknown actor '{actor}' (known: {', '.join(kinds) or 'none'})",
            )
        kind = kinds[actor]
        target = _target(row, scenario, actor, kind)
        try:
            m = _flag(row.get("major"))
        except ValueError as exc:
            raise row.error("major", str(exc)) from None
        try:
            b = _flag(row.get("blamed"))
        except ValueError as exc:
            raise row.error("blamed", str(exc)) from None
        if kind != "spoiler" and not math.isnan(b):
            raise row.error("blamed", f"only spoiler attacks can be blamed ('{actor}' is a {kind})")
        if kind == "spoiler" and b == 1 and scenario.spoilers[actor].blamed_on is None:
            raise row.error("blamed", f"spoiler '{actor}' has no blamed_on party in the scenario")
        if not inside:
            left_out += 1
            continue
        times.append(t)
        actors.append(actor)
        targets.append(target)
        major.append(m)
        blamed.append(b)
    if not times:
        raise ScenarioError(
            f"no events in the span [{span[0]:g}, {span[1]:g}) given with --span "
            f"({left_out} outside it)",
            location=Location(name, header_line, 1),
            key="time",
        )
    return Events(
        file=name,
        span=(float(span[0]), float(span[1])),
        left_out=left_out,
        times=np.array(times, dtype=float),
        actors=tuple(actors),
        kinds=tuple(kinds[a] for a in actors),
        targets=tuple(targets),
        major=np.array(major, dtype=float),
        blamed=np.array(blamed, dtype=float),
        columns=tuple(header),
    )


def _target(row: _Row, scenario: Scenario, actor: str, kind: str) -> str:
    given = row.get("target_side")
    if kind == "party":
        allowed: tuple[str, ...] = scenario.target_sides(actor)
    elif kind == "spoiler":
        allowed = (scenario.spoilers[actor].targets,)
    else:
        target = scenario.guarantors[actor].incident_target
        if target is None:
            raise row.error(
                "actor",
                f"guarantor '{actor}' has no incident_target in the scenario, so it has no "
                "incidents to record",
            )
        allowed = (target,)
    if given:
        if given not in allowed:
            raise row.error(
                "target_side",
                f"'{actor}' does not attack '{given}' in the scenario "
                f"(its targets: {', '.join(allowed)})",
            )
        return given
    if len(allowed) > 1:
        raise row.error(
            "target_side",
            f"party '{actor}' targets several sides ({', '.join(allowed)}): say which",
        )
    return allowed[0]


def from_trace(
    scenario: Scenario, trace: list[TraceEvent], span: tuple[float, float] | None = None
) -> Events:
    """The hostile events of a simulated run (``sim.runner.trace_run``) as :class:`Events`."""
    span = (0.0, float(scenario.window_days)) if span is None else span
    rows = []
    for e in trace:
        d = e.detail
        if e.kind == "violation":
            rows.append((e.time, d["party"], "party", d["target"], float(d["major"]), math.nan))
        elif e.kind == "attack":
            blamed = float(d["blamed_on"] is not None)
            rows.append((e.time, d["spoiler"], "spoiler", d["target"], float(d["major"]), blamed))
        elif e.kind == "incident":
            rows.append((e.time, d["guarantor"], "guarantor", d["target"], 1.0, math.nan))
    rows = [r for r in rows if span[0] <= r[0] < span[1]]
    return Events(
        file="<simulated>",
        span=(float(span[0]), float(span[1])),
        times=np.array([r[0] for r in rows], dtype=float),
        actors=tuple(r[1] for r in rows),
        kinds=tuple(r[2] for r in rows),
        targets=tuple(r[3] for r in rows),
        major=np.array([r[4] for r in rows], dtype=float),
        blamed=np.array([r[5] for r in rows], dtype=float),
        columns=COLUMNS[:5],
    )


def to_csv(events: Events) -> str:
    """The events file text of ``events`` (times in days, full precision)."""
    lines = ["time,actor,major,target_side,blamed"]
    for t, a, k, s, m, b in zip(
        events.times,
        events.actors,
        events.kinds,
        events.targets,
        events.major,
        events.blamed,
        strict=True,
    ):
        major = "" if math.isnan(m) else str(int(m))
        blamed = "" if k != "spoiler" or math.isnan(b) else str(int(b))
        lines.append(f"{float(t)!r},{a},{major},{s},{blamed}")
    return "\n".join(lines) + "\n"


__all__ = ["COLUMNS", "Events", "from_trace", "parse_span", "read_events", "to_csv"]
