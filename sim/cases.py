"""Backtest cases: historical ceasefires written as a scenario plus what happened.

A case is a folder with ``scenario.yaml`` (written only from what was known before the
ceasefire started) and ``outcome.yaml``::

    outcome: cancelled_collapse      # one of the four outcome codes
    collapse_day: 0.06               # days from the start; null unless the outcome is a collapse
    collapsed_by: israel             # a party or guarantor of the scenario; null unless a collapse
    phase: null                      # with phases: the one it ended in (recorded, not scored)
    sources:                         # where the coding comes from; labels carry dates
      - {label: "Reuters, 1 Aug 2014: Israel declares the truce over", url: "https://..."}

Parameters that no single case can source (a scale on every tolerance, the weight of a major
event) live in a *shared prior* file, ``shared.yaml`` beside the case folders::

    tolerance_scale: {value: 1.0, grid: [0.5, 1.0, 2.0]}   # multiplies every tolerance
    rules.major_weight: {value: 3, grid: [2, 3, 4]}         # any scenario key path

The backtest applies the shared values to every case as overrides and refits them leave one
case out (see :mod:`sim.backtest`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from . import limits
from .errors import Location, ScenarioError, UsageError
from .scenario import OUTCOMES, Scenario, did_you_mean, load_scenario
from .source import Positions, display_path, parse_yaml, read_input

OUTCOME_KEYS = ("outcome", "collapse_day", "collapsed_by", "phase", "sources")
TOLERANCE_SCALE = "tolerance_scale"
SHARED_FILE = "shared.yaml"


@dataclass(frozen=True)
class Outcome:
    """What happened in a case's window."""

    outcome: str
    collapse_day: float | None = None
    collapsed_by: str | None = None
    phase: str | None = None
    sources: tuple[dict[str, str], ...] = ()


@dataclass(frozen=True)
class Case:
    """A historical ceasefire: its scenario (pre-start knowledge) and its outcome."""

    name: str
    folder: Path
    scenario: Scenario
    outcome: Outcome

    @property
    def window(self) -> int:
        """Days a run can last: the window, or with phases every phase and extension (a
        collapse can come that late, so days are censored there)."""
        return self.scenario.horizon

    @property
    def observed_day(self) -> float:
        """The censored collapse day: the collapse day, or the window end when none."""
        if self.outcome.collapse_day is None:
            return float(self.window)
        return float(self.outcome.collapse_day)


@dataclass(frozen=True)
class SharedParam:
    """A shared parameter: its prior value and the grid the backtest refits it on."""

    key: str
    value: float
    grid: tuple[float, ...]


@dataclass(frozen=True)
class SharedPrior:
    """The shared prior file (empty when there is none)."""

    params: tuple[SharedParam, ...] = ()
    file: str | None = None
    positions: Positions = field(default_factory=dict)

    def prior(self) -> dict[str, float]:
        return {p.key: p.value for p in self.params}


def _read(path: Path) -> tuple[Any, Positions, str]:
    name = display_path(path)
    text = read_input(path, "a case file", limits.MAX_FILE_BYTES, "a case file is a few kilobytes")
    data, positions = parse_yaml(text, name)
    return data, positions, name


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _not_one_of(kind: str, value: Any, known: Sequence[str]) -> str:
    return f"unknown {kind} {value!r} (expected one of {', '.join(known)})" + did_you_mean(
        str(value), known
    )


def load_outcome(path: Path, scenario: Scenario) -> Outcome:
    """Read and check ``outcome.yaml`` against its case's scenario."""
    data, pos, name = _read(path)

    def fail(key: str, message: str) -> ScenarioError:
        loc = pos.get((key,)) if key else None
        return ScenarioError(message, location=loc or pos.get((), Location(name)), key=key)

    if not isinstance(data, dict):
        raise fail("", "an outcome file is a mapping with at least 'outcome' and 'sources'")
    for key in data:
        if key not in OUTCOME_KEYS:
            raise fail(key, f"unknown key (expected one of {', '.join(OUTCOME_KEYS)})")
    code = data.get("outcome")
    if "outcome" not in data:
        raise fail("", "missing key 'outcome'")
    if code not in OUTCOMES:
        raise fail("outcome", _not_one_of("outcome", code, OUTCOMES))
    day = data.get("collapse_day")
    by = data.get("collapsed_by")
    collapsed = code == "cancelled_collapse"
    if collapsed:
        if not _number(day):
            raise fail("collapse_day", "a collapse needs its day (days from the start)")
        if not 0 <= day < scenario.horizon:
            what = "window" if scenario.phases is None else "phases with every extension"
            raise fail(
                "collapse_day",
                f"{day} is outside the {what} [0, {scenario.horizon}) of the scenario",
            )
        actors = [*scenario.parties, *scenario.guarantors]
        if by not in actors:
            raise fail(
                "collapsed_by",
                f"{by!r} is not a party or guarantor of the scenario ({', '.join(actors)})",
            )
    else:
        if day is not None:
            raise fail("collapse_day", f"must be null when the outcome is {code}")
        if by is not None:
            raise fail("collapsed_by", f"must be null when the outcome is {code}")
    phase = data.get("phase")
    if phase is not None:
        names = [f.name for f in scenario.phases or ()]
        if not names:
            raise fail("phase", "the scenario has no phases: give null or leave it out")
        if phase not in names:
            raise fail("phase", _not_one_of("phase", phase, names))
    sources = data.get("sources")
    if not isinstance(sources, list) or not sources:
        raise fail("sources", "give at least one source: [{label: ..., url: ...}]")
    for i, s in enumerate(sources):
        if (
            not isinstance(s, dict)
            or not isinstance(s.get("label"), str)
            or set(s)
            - {
                "label",
                "url",
            }
        ):
            loc = pos.get(("sources", i)) or pos.get(("sources",))
            raise ScenarioError(
                "a source is {label: text, url: text}", location=loc, key=f"sources.{i}"
            )
    return Outcome(
        outcome=code,
        collapse_day=float(day) if collapsed and day is not None else None,
        collapsed_by=by if collapsed else None,
        phase=phase,
        sources=tuple(dict(s) for s in sources),
    )


def load_shared(path: Path) -> SharedPrior:
    """Read a shared prior file: ``{key: {value: v, grid: [...]}}``."""
    data, pos, name = _read(path)
    if data is None:
        return SharedPrior(file=name, positions=pos)
    if not isinstance(data, dict):
        raise ScenarioError(
            "a shared prior is a mapping {key: {value: v, grid: [...]}}",
            location=pos.get((), Location(name)),
        )
    params = []
    for key, spec in data.items():
        loc = pos.get((key,))
        if not isinstance(spec, dict) or set(spec) != {"value", "grid"}:
            raise ScenarioError("expected {value: v, grid: [v1, v2, ...]}", location=loc, key=key)
        value, grid = spec["value"], spec["grid"]
        if not _number(value) or not isinstance(grid, list) or not grid:
            raise ScenarioError("value is a number, grid a list of numbers", location=loc, key=key)
        if not all(_number(g) for g in grid) or value not in grid:
            raise ScenarioError(
                "grid must be numbers and contain the prior value",
                location=pos.get((key, "grid"), loc),
                key=f"{key}.grid",
            )
        if key == TOLERANCE_SCALE and min(grid) < 0:
            raise ScenarioError("a tolerance scale is >= 0", location=loc, key=key)
        params.append(SharedParam(key, float(value), tuple(float(g) for g in grid)))
    return SharedPrior(tuple(params), name, pos)


def apply_shared(scenario: Scenario, values: dict[str, float]) -> Scenario:
    """The scenario with shared values applied as overrides (tolerances scaled)."""
    overrides: dict[str, Any] = {}
    for key, value in values.items():
        if key == TOLERANCE_SCALE:
            for kind, actors in (
                ("parties", scenario.parties),
                ("guarantors", scenario.guarantors),
            ):
                for name, actor in actors.items():
                    if actor.tolerance is not None:
                        overrides[f"{kind}.{name}.tolerance"] = actor.tolerance * value
        else:
            overrides[key] = value
    return scenario.with_overrides(overrides) if overrides else scenario


def case_folders(dirs: list[Path]) -> tuple[list[Path], Path | None]:
    """The case folders under ``dirs`` (each a case or a folder of cases), and the shared
    prior file (``shared.yaml`` in a given folder, or beside a given case)."""
    folders: list[Path] = []
    shared: set[Path] = set()
    for d in dirs:
        if not d.exists():
            raise UsageError(f"{d}: no such folder")
        if not d.is_dir():
            raise UsageError(f"{d}: not a folder of backtest cases")
        if (d / "scenario.yaml").exists() or (d / "outcome.yaml").exists():
            found, home = [d], d.parent
        else:
            found = sorted(p for p in d.iterdir() if p.is_dir() and not p.name.startswith("."))
            home = d
            if not found:
                raise UsageError(f"{d}: no case folders (each has scenario.yaml and outcome.yaml)")
        folders += found
        if (home / SHARED_FILE).is_file():
            shared.add((home / SHARED_FILE).resolve())
    names = [f.resolve() for f in folders]
    if len(set(names)) != len(names):
        raise UsageError("the same case folder is given twice")
    if len({f.name for f in folders}) != len(folders):
        raise UsageError("two case folders have the same name")
    if len(shared) > 1:
        raise UsageError(f"several shared prior files ({', '.join(map(str, sorted(shared)))})")
    return folders, (next(iter(shared)) if shared else None)


def load_cases(dirs: list[Path]) -> tuple[list[Case], SharedPrior]:
    """Read and check every case and the shared prior; raise on the first problem."""
    folders, shared_path = case_folders(dirs)
    shared = load_shared(shared_path) if shared_path else SharedPrior()
    cases = []
    for folder in folders:
        scenario = load_scenario(folder / "scenario.yaml")
        outcome = load_outcome(folder / "outcome.yaml", scenario)
        try:  # a shared key this scenario rejects fails now, before anything runs
            apply_shared(scenario, shared.prior())
        except ScenarioError as exc:
            raise ScenarioError(
                f"cannot apply to case {folder.name}: {exc.message}",
                location=shared.positions.get(()),
                key=exc.key,
            ) from None
        cases.append(Case(folder.name, folder, scenario, outcome))
    if len(cases) < 2:
        raise UsageError("a backtest needs at least two cases (baselines leave one out)")
    return cases, shared


__all__ = [
    "Case",
    "Outcome",
    "SharedParam",
    "SharedPrior",
    "apply_shared",
    "case_folders",
    "load_cases",
    "load_outcome",
    "load_shared",
]
