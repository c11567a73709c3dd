"""Converting ACLED and UCDP GED exports to an events file (see :mod:`sim.events`).

A mapping file (YAML) says how the export's rows become events::

    start: 2016-09-12T19:00:00+03:00   # day 0 (default: the scenario's start)
    actors:                            # scenario actor -> the export's actor names
      government: ["Military Forces of Syria (2000-)", "Police Forces of Syria (2000-)"]
      opposition: ["Free Syrian Army", "Jaysh al Islam*"]    # '*' at the end: a prefix
      nusra: ["Jabhat Fateh al Sham"]
    event_types: [Battles, Explosions/Remote violence, Violence against civilians]  # ACLED
    major:                             # which events are major (any rule suffices)
      event_types: []
      sub_event_types: [Air/drone strike, Shelling/artillery/missile attack]
      fatalities: 5                    # ACLED fatalities / UCDP best at least this
    max_time_precision: 1              # keep only rows dated to the day
    same_day: {rule: even}             # or {rule: jitter, seed: 1}

The acting actor is ACLED's ``actor1`` (else one of ``assoc_actor_1``) or the first of UCDP's
``side_a``, ``side_b`` that the mapping names (UCDP does not record who initiated an event);
the other side's party, when the scenario is given and it names a party, gives
``target_side``. Rows of other event types, with unmapped actors, dated less precisely
than ``max_time_precision``, or outside the scenario's window are dropped and counted.

**The same-day rule.** Both sources date events to the day. The events of one calendar day
(in the time zone of ``start``) are put in a fixed order (by the event's identifier, then
by row) and spread over the part of that day after ``start``: with ``even`` the k-th of m
events is at fraction (k + 1/2)/m of it; with ``jitter`` at sorted uniform draws from a
generator seeded by (seed, date), so adding rows of another day moves nothing else. Either
way the times are distinct, reproducible, and in time order.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from . import limits
from .errors import Location, ScenarioError, UsageError
from .folders import check_output, new_file
from .scenario import Scenario, did_you_mean
from .source import display_path, format_path, parse_yaml, read_input

ACLED_VIOLENCE = ("Battles", "Explosions/Remote violence", "Violence against civilians")
"""ACLED event types kept by default (political violence, not protests or developments)."""
MAPPING_KEYS = ("start", "actors", "event_types", "major", "max_time_precision", "same_day")


@dataclass(frozen=True)
class Mapping:
    """A validated mapping file."""

    file: str
    start: datetime | None
    names: dict[str, str]
    """The export's actor name -> scenario actor."""
    prefixes: tuple[tuple[str, str], ...]
    """(prefix, scenario actor) for names written with a trailing '*'."""
    event_types: tuple[str, ...] | None
    major_event_types: frozenset[str] = frozenset()
    major_sub_event_types: frozenset[str] = frozenset()
    major_fatalities: float | None = None
    max_time_precision: int = 1
    rule: str = "even"
    seed: int = 0
    positions: dict[Any, Location] = field(default_factory=dict)

    def actor(self, name: str) -> str | None:
        name = name.strip()
        if name in self.names:
            return self.names[name]
        for prefix, actor in self.prefixes:
            if name.startswith(prefix):
                return actor
        return None


def _fail(m: dict[Any, Location], path: tuple[Any, ...], message: str, file: str) -> ScenarioError:
    loc = None
    for n in range(len(path), -1, -1):
        loc = m.get(tuple(path[:n]))
        if loc is not None:
            break
    return ScenarioError(message, location=loc or Location(file), key=format_path(path))


def _strings(value: Any, path: tuple[Any, ...], pos: dict[Any, Location], file: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _fail(pos, path, "must be a list of names (text)", file)
    return [v.strip() for v in value]


def _start(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime.combine(value, time())
    raise TypeError


def load_mapping(path: str | Path, scenario: Scenario | None = None) -> Mapping:
    """Read and check a mapping file: every problem is reported at once, in file order, each
    naming its line, column and key (with a suggestion for a misspelt key or name)."""
    path = Path(path)
    file = display_path(path)
    text = read_input(path, "a mapping file", limits.MAX_FILE_BYTES, "a mapping is a few kilobytes")
    data, pos = parse_yaml(text, file)
    if not isinstance(data, dict):
        raise ScenarioError("a mapping file must be a mapping of keys", location=Location(file))
    problems: list[ScenarioError] = []

    def fail(where: tuple[Any, ...], message: str) -> None:
        problems.append(_fail(pos, where, message, file))

    def strings(value: Any, where: tuple[Any, ...]) -> list[str]:
        try:
            return _strings(value, where, pos, file)
        except ScenarioError as exc:
            problems.append(exc)
            return []

    def unknown(where: tuple[Any, ...], known: tuple[str, ...]) -> None:
        hint = did_you_mean(str(where[-1]), known)
        fail(where, f"unknown key (known: {', '.join(known)}){hint}")

    for key in data:
        if key not in MAPPING_KEYS:
            unknown((key,), MAPPING_KEYS)
    start = None
    if "start" in data:
        try:
            start = _start(data["start"])
        except TypeError:
            fail(("start",), "must be a date or an ISO 8601 date-time")
    actors = data.get("actors")
    if not isinstance(actors, dict) or not actors:
        fail(("actors",), "required: scenario actor -> list of names")
        actors = {}
    known = None
    if scenario is not None:
        known = [*scenario.parties, *scenario.spoilers, *scenario.guarantors]
    names: dict[str, str] = {}
    prefixes: list[tuple[str, str]] = []
    for actor, listed in actors.items():
        if known is not None and actor not in known:
            hint = did_you_mean(str(actor), known)
            fail(("actors", actor), f"unknown actor (scenario has: {', '.join(known)}){hint}")
        for i, name in enumerate(strings(listed, ("actors", actor))):
            if name.endswith("*"):
                prefixes.append((name[:-1], actor))
                continue
            if name in names and names[name] != actor:
                fail(("actors", actor, i), f"'{name}' is already mapped to '{names[name]}'")
            names[name] = actor
    event_types = None
    if "event_types" in data:
        event_types = tuple(strings(data["event_types"], ("event_types",)))
    major = data.get("major", {})
    if not isinstance(major, dict):
        fail(("major",), "must be a mapping (event_types, sub_event_types, fatalities)")
        major = {}
    for key in major:
        if key not in MAJOR_KEYS:
            unknown(("major", key), MAJOR_KEYS)
    fatalities = major.get("fatalities")
    if fatalities is not None and (
        isinstance(fatalities, bool) or not isinstance(fatalities, int | float) or fatalities < 0
    ):
        fail(("major", "fatalities"), "must be a number >= 0")
    precision = data.get("max_time_precision", 1)
    if isinstance(precision, bool) or not isinstance(precision, int) or precision < 1:
        fail(("max_time_precision",), "must be an integer >= 1")
    same_day = data.get("same_day", {"rule": "even"})
    if not isinstance(same_day, dict):
        fail(("same_day",), "must be {rule: even} or {rule: jitter, seed: N}")
        same_day = {}
    for key in same_day:
        if key not in ("rule", "seed"):
            unknown(("same_day", key), ("rule", "seed"))
    rule = same_day.get("rule", "even")
    if rule not in RULES:
        fail(
            ("same_day", "rule"), f"must be even or jitter, got {rule!r}{did_you_mean(rule, RULES)}"
        )
    seed = same_day.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        fail(("same_day", "seed"), "must be an integer >= 0")
    major_types = (
        strings(major["event_types"], ("major", "event_types")) if major.get("event_types") else []
    )
    major_sub = (
        strings(major["sub_event_types"], ("major", "sub_event_types"))
        if major.get("sub_event_types")
        else []
    )
    if problems:
        problems.sort(key=lambda e: (e.location.line, e.location.column) if e.location else (0, 0))
        first, *rest = problems
        raise ScenarioError(first.message, location=first.location, key=first.key, others=rest)
    return Mapping(
        file=file,
        start=start,
        names=names,
        prefixes=tuple(prefixes),
        event_types=event_types,
        major_event_types=frozenset(major_types),
        major_sub_event_types=frozenset(major_sub),
        major_fatalities=None if fatalities is None else float(fatalities),
        max_time_precision=precision,
        rule=rule,
        seed=seed,
        positions=pos,
    )


MAJOR_KEYS = ("event_types", "sub_event_types", "fatalities")
RULES = ("even", "jitter")


# --------------------------------------------------------------------------- reading exports


@dataclass(frozen=True)
class Row:
    """One export row, reduced to what the events file needs."""

    line: int
    ident: str
    day: date
    precision: int
    actors: tuple[str, ...]
    """Candidate acting actors, in order of preference."""
    others: tuple[str, ...]
    """The other side's actors (for ``target_side``)."""
    event_type: str
    sub_event_type: str
    fatalities: float


ACLED_REQUIRED = ("event_id_cnty", "event_date", "time_precision", "event_type", "actor1")
UCDP_REQUIRED = ("id", "date_start", "date_end", "date_prec", "side_a", "side_b", "best")


def _read_csv(path: Path) -> tuple[str, list[str], list[tuple[int, dict[str, str]]]]:
    file = display_path(path)
    text = read_input(
        path, "an export", limits.MAX_DATA_FILE_BYTES, "an export is tens of MiB", "utf-8-sig"
    )
    reader = csv.reader(text.splitlines())
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise ScenarioError("empty file (expected a header row)", location=Location(file)) from None
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        rows.append((reader.line_num, dict(zip(header, values, strict=False))))
    return file, header, rows


def _need(file: str, header: list[str], required: Iterable[str], what: str) -> None:
    missing = [c for c in required if c not in header]
    if missing:
        raise ScenarioError(
            f"not {what}: missing column(s) {', '.join(missing)}",
            location=Location(file, 1, 1),
            key=missing[0],
        )


def _date(text: str, file: str, line: int, column: str) -> date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d %B %Y", "%d-%B-%Y", "%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ScenarioError(
        f"cannot read the date '{text}'", location=Location(file, line, 1), key=column
    )


def _number(text: str, file: str, line: int, column: str, default: float = 0.0) -> float:
    text = text.strip()
    if not text:
        return default
    try:
        return float(text)
    except ValueError:
        raise ScenarioError(
            f"expected a number, got '{text}'", location=Location(file, line, 1), key=column
        ) from None


def read_acled(path: str | Path) -> tuple[str, list[Row]]:
    """Rows of an ACLED export (lower- or upper-case column names)."""
    file, header, rows = _read_csv(Path(path))
    _need(file, header, ACLED_REQUIRED, "an ACLED export")
    out = []
    for line, r in rows:
        assoc = tuple(a.strip() for a in r.get("assoc_actor_1", "").split(";") if a.strip())
        others = (r.get("actor2", ""), *r.get("assoc_actor_2", "").split(";"))
        out.append(
            Row(
                line=line,
                ident=r["event_id_cnty"].strip(),
                day=_date(r["event_date"], file, line, "event_date"),
                precision=int(_number(r["time_precision"], file, line, "time_precision", 1)),
                actors=(r["actor1"].strip(), *assoc),
                others=tuple(o.strip() for o in others if o.strip()),
                event_type=r["event_type"].strip(),
                sub_event_type=r.get("sub_event_type", "").strip(),
                fatalities=_number(r.get("fatalities", ""), file, line, "fatalities"),
            )
        )
    return file, out


def read_ucdp(path: str | Path) -> tuple[str, list[Row]]:
    """Rows of a UCDP GED CSV export (single-day events only are usable)."""
    file, header, rows = _read_csv(Path(path))
    _need(file, header, UCDP_REQUIRED, "a UCDP GED export")
    out = []
    for line, r in rows:
        first = _date(r["date_start"], file, line, "date_start")
        last = _date(r["date_end"], file, line, "date_end")
        precision = int(_number(r["date_prec"], file, line, "date_prec", 1))
        if last != first:
            precision = max(precision, 2)  # spread over several days: not dated to the day
        a, b = r["side_a"].strip(), r["side_b"].strip()
        out.append(
            Row(
                line=line,
                ident=r["id"].strip(),
                day=first,
                precision=precision,
                actors=(a, b),
                others=(b, a),
                event_type=str(r.get("type_of_violence", "")).strip(),
                sub_event_type="",
                fatalities=_number(r["best"], file, line, "best"),
            )
        )
    return file, out


# --------------------------------------------------------------------------- conversion


@dataclass
class Conversion:
    """The events file text and what was dropped (by reason)."""

    rows: list[tuple[float, str, str, str, str]]
    kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    unmapped: dict[str, int] = field(default_factory=dict)

    def drop(self, reason: str) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + 1

    def csv_text(self) -> str:
        lines = ["time,actor,major,target_side,source"]
        for t, actor, major, target, source in self.rows:
            lines.append(f"{t:.6f},{actor},{major},{target},{source}")
        return "\n".join(lines) + "\n"

    def summary(self) -> str:
        total = self.kept + sum(self.dropped.values())
        parts = [f"kept {self.kept} of {total} rows"]
        parts += [f"dropped {n} {why}" for why, n in self.dropped.items()]
        text = "; ".join(parts)
        if self.unmapped:
            top = sorted(self.unmapped.items(), key=lambda kv: -kv[1])[:5]
            text += " (most frequent unmapped: " + ", ".join(f"{a!r} {n}" for a, n in top) + ")"
        return text


def _spread(count: int, rule: str, seed: int, day: date) -> np.ndarray:
    """Fractions in [0, 1) of a day for ``count`` events (the same-day rule)."""
    if rule == "even":
        return (np.arange(count) + 0.5) / count
    rng = np.random.default_rng([seed, day.toordinal()])
    return np.sort(rng.uniform(0.0, 1.0, count))


def convert(
    rows: list[Row],
    mapping: Mapping,
    scenario: Scenario | None,
    source: str,
) -> Conversion:
    """Map export rows to events (times in days from the start; see the module docstring)."""
    start = mapping.start
    if scenario is not None and scenario.start is not None:
        start = scenario.start if start is None else start
    if start is None:
        raise ScenarioError(
            "needs a start (day 0): add start: to the mapping or give --scenario with a start",
            location=Location(mapping.file),
            key="start",
        )
    window = None if scenario is None else float(scenario.window_days)
    out = Conversion(rows=[])
    by_day: dict[date, list[tuple[str, int, str, str, str]]] = {}
    for r in rows:
        if mapping.event_types is not None and source == "acled":
            if r.event_type not in mapping.event_types:
                out.drop("of other event types")
                continue
        elif source == "acled" and r.event_type not in ACLED_VIOLENCE:
            out.drop("of other event types")
            continue
        if r.precision > mapping.max_time_precision:
            out.drop("not dated to the day")
            continue
        actor = next((a for a in map(mapping.actor, r.actors) if a is not None), None)
        if actor is None:
            out.drop("with unmapped actors")
            out.unmapped[r.actors[0]] = out.unmapped.get(r.actors[0], 0) + 1
            continue
        major = (
            r.event_type in mapping.major_event_types
            or r.sub_event_type in mapping.major_sub_event_types
            or (mapping.major_fatalities is not None and r.fatalities >= mapping.major_fatalities)
        )
        target = ""
        if scenario is not None and actor in scenario.parties:
            sides = scenario.target_sides(actor)
            for other in map(mapping.actor, r.others):
                if (
                    other is not None
                    and other in scenario.parties
                    and (scenario.parties[other].side in sides)
                ):
                    target = scenario.parties[other].side
                    break
        by_day.setdefault(r.day, []).append((r.ident, r.line, actor, "1" if major else "0", target))
    tz = start.tzinfo
    for day in sorted(by_day):
        events = sorted(by_day[day], key=lambda e: (e[0], e[1]))
        day_start = datetime.combine(day, time(), tzinfo=tz)
        lo = max((day_start - start) / timedelta(days=1), 0.0)
        hi = (day_start + timedelta(days=1) - start) / timedelta(days=1)
        if hi <= 0:
            for _ in events:
                out.drop("before the start")
            continue
        times = lo + _spread(len(events), mapping.rule, mapping.seed, day) * (hi - lo)
        for t, (ident, _, actor, severity, target) in zip(times, events, strict=True):
            if window is not None and t >= window:
                out.drop("after the window")
                continue
            out.rows.append((float(t), actor, severity, target, f"{source}:{ident}"))
            out.kept += 1
    return out


def command(args: Any) -> int:
    """``ceasefire events --from acled|ucdp FILE.csv --map MAPPING.yaml [--scenario FILE]
    [--out EVENTS.csv]``."""
    from .scenario import load_scenario

    if args.out is not None:
        check_output(args.out)  # exists, or cannot be written: said before any work
    scenario = load_scenario(args.scenario) if args.scenario is not None else None
    mapping = load_mapping(args.mapping, scenario)
    _, rows = read_acled(args.input) if args.source == "acled" else read_ucdp(args.input)
    result = convert(rows, mapping, scenario, args.source)
    if result.kept == 0:  # a header-only events file: fit would refuse it, so write nothing
        raise UsageError(
            f"{display_path(Path(args.input))}: no events to write ({result.summary()}); "
            f"check the actors and event types in {display_path(Path(args.mapping))}"
        )
    text = result.csv_text()
    if args.out is None:
        sys.stdout.write(text)
    else:  # written whole or not at all, never over an existing file
        with new_file(args.out) as tmp:
            tmp.write_text(text, encoding="utf-8", errors="backslashreplace")
    print(f"{display_path(Path(args.input))}: {result.summary()}", file=sys.stderr)
    if args.out is not None:
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


__all__ = ["Conversion", "Mapping", "convert", "load_mapping", "read_acled", "read_ucdp"]
