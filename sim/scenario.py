"""The scenario: validated, immutable description of one ceasefire (docs/model.md).

Parsing lives in :mod:`sim.source`; this module defines the schema (pydantic models, which
also give the JSON Schema for editors), the cross-reference checks, and :func:`load_scenario`,
which turns a file into a frozen :class:`Scenario` or raises one
:class:`~sim.errors.ScenarioError` naming the file, line, column and key path.
"""

from __future__ import annotations

import copy
import html
import itertools
import math
import re
from collections import abc
from collections.abc import Collection, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from types import MappingProxyType, UnionType
from typing import Annotated, Any, Literal, TypeVar, Union, cast, get_args, get_origin

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Strict,
    Tag,
    ValidationError,
    WrapSerializer,
    model_validator,
)

from . import limits
from .distributions import BY_NAME as _DISTRIBUTIONS
from .distributions import Distribution
from .errors import CeasefireError, Location, ScenarioError, UsageError
from .outcomes import OUTCOMES
from .source import KeyPath, Source, closest, format_path, read_source

SET_LOCATION = Location("--set", 0, 0)
"""Where a value given by an override (``--set``) that is not in the file comes from."""


def went_ahead(trigger_label: str) -> str:
    """The ``triggered`` outcome in words. "went ahead: <label>" reads right whether the
    label names a thing ("intelligence sharing") or an event ("Political talks open")."""
    return f"went ahead: {trigger_label}"


def outcome_words(trigger_label: str, phased: bool = False) -> dict[str, str]:
    """The outcome codes in words for a trigger called ``trigger_label`` (``phased``: the
    agreement has phases, each with its gate, so violence may stop it before its end)."""
    return {
        "triggered": went_ahead(trigger_label),
        "cancelled_collapse": "cancelled: ceasefire collapsed",
        "cancelled_violence": f"cancelled: too violent at {'a gate' if phased else 'the end'}",
        "cancelled_access": "cancelled: aid did not get through",
    }


# --------------------------------------------------------------------------- field types

Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Probability = Annotated[float, Strict(), Field(ge=0, le=1, allow_inf_nan=False)]
DailyProbability = Annotated[float, Strict(), Field(ge=0, lt=1, allow_inf_nan=False)]


def _at_most(name: str, what: str) -> Any:
    """A validator bounding a number by ``limits.<name>``, read when validating (tests of
    the engines' own guards may raise it)."""

    def check(value: float) -> float:
        bound = getattr(limits, name)
        if value > bound:
            raise ValueError(f"must be at most {bound:,.0f}{what}: larger is not a ceasefire")
        return value

    return AfterValidator(check)


Rate = Annotated[float, Strict(), Field(ge=0, allow_inf_nan=False), _at_most("MAX_RATE", "")]
Count = Annotated[int, Strict(), Field(ge=0)]
Identifier = Annotated[
    str, Strict(), Field(pattern=r"^[A-Za-z][A-Za-z0-9_]*$", max_length=limits.MAX_NAME_CHARS)
]


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value  # a folded (>) title's newline


Label = Annotated[
    str,
    BeforeValidator(_strip),
    Field(max_length=limits.MAX_TEXT_CHARS),
]
"""A label or title: shown in tables, traces and figures, so of bounded length."""
Text = Annotated[str, Field(max_length=limits.MAX_LONG_TEXT_CHARS)]
"""Free text (a description, a URL or reference): bounded, as everything a file holds."""
Tolerance = Annotated[float, Strict(), Field(ge=0, allow_inf_nan=False)] | None

K = TypeVar("K")
V = TypeVar("V")
T = TypeVar("T")


def _freeze(value: dict[Any, Any]) -> Mapping[Any, Any]:
    return MappingProxyType(value)


def _thaw(value: Mapping[Any, Any], handler: Any) -> Any:
    return handler(dict(value))


FrozenDict = Annotated[Mapping[K, V], AfterValidator(_freeze), WrapSerializer(_thaw)]
"""``FrozenDict[key, value]``: a mapping field that is read-only once validated."""


def _schedule_kind(value: Any) -> str:
    return "per_day" if isinstance(value, list | tuple) else "constant"


Schedule = Annotated[
    Annotated[T, Tag("constant")] | Annotated[tuple[T, ...], Tag("per_day")],
    Discriminator(_schedule_kind),
]
"""``Schedule[item]``: a value for every day, one number or a list with one per day."""


def _datetime(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return datetime.combine(value, time())
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- the schema


class Rules(_Model):
    """Scoring rules shared by all actors."""

    major_weight: Annotated[Number, Field(ge=0)] = 3.0
    """Strain added by a major hostile event (a minor one adds 1)."""
    strain_half_life_days: Annotated[Number, Field(gt=0)] | None = None
    """Strain recovery: each event's strain fades with this half-life (null: never fades)."""


class Retaliation(_Model):
    """How violence against a party's side raises its own hazard (Hawkes excitation)."""

    boost: Rate = 0.0
    """Added to the party's excitation X by each hostile event against its side."""
    half_life_hours: Annotated[Number, Field(gt=0), _at_most("MAX_HALF_LIFE_HOURS", " hours")] = (
        24.0
    )
    """Time for an excitation to halve."""


class Party(_Model):
    """An armed party to the ceasefire."""

    label: Label | None = None
    side: Identifier
    violation_prob: Schedule[DailyProbability] | None = None
    """P(at least one violation on a day), absent excitation and pressure."""
    violation_rate: Schedule[Rate] | None = None
    """Expected violations per day (instead of ``violation_prob``)."""
    major_share: Probability = 0.2
    targets: tuple[Identifier, ...] | None = None
    """Sides this party attacks (uniformly); default: every other side."""
    retaliation: Retaliation = Retaliation()
    tolerance: Tolerance = None
    """Strain on its side above which it walks away; null = never."""


class Spoiler(_Model):
    """An armed group left out of the deal: a Poisson process of attacks on one side."""

    label: Label | None = None
    attack_prob: DailyProbability | None = None
    attack_rate: Rate | None = None
    major_share: Probability = 0.2
    targets: Identifier
    """The side it attacks."""
    blamed_on: Identifier | None = None
    """A party (of another side) its attacks may be blamed on."""
    blame_prob: Probability = 0.0


class Guarantor(_Model):
    """An outside power guaranteeing its client parties (all of one side)."""

    label: Label | None = None
    clients: Annotated[tuple[Identifier, ...], Field(min_length=1)]
    pressure: Probability = 0.0
    """Scales its clients' base hazard by ``1 - pressure``."""
    tolerance: Tolerance = None
    incident_prob: DailyProbability = 0.0
    """Daily probability of one of its own mistaken strikes (a major hostile event)."""
    incident_target: Identifier | None = None


class Humanitarian(_Model):
    """Aid convoys tried at mid-day of every day from ``first_day`` while the ceasefire holds."""

    first_day: Count = 0
    convoys_per_day: Count = 1
    success_prob: Probability
    major_violation_penalty: Probability = 0.0
    """Each major hostile event in the preceding 24 h multiplies success by ``1 - penalty``."""
    required_deliveries: Count = 0
    permission_prob: Probability = 1.0
    """Chance that access is permitted at all: one political decision per window, drawn at
    its start; without it no convoy gets through (attempts still count)."""


class Trigger(_Model):
    """The conditional next step the deal promises at the end of the window."""

    label: Label = "the next step"
    quiet_days: Count | None = None
    """Days at the end of the window whose strain is checked; null = the whole window."""
    max_strain: Annotated[Number, Field(ge=0)] | None = None
    """Strain (all sides) above which the trigger is cancelled; null = no violence condition."""


class Gate(_Model):
    """The conditions checked at the end of a phase (as the trigger's at a window's end)."""

    quiet_days: Count | None = None
    """Days at the end of the phase whose strain is checked; null = the whole phase."""
    max_strain: Annotated[Number, Field(ge=0)] | None = None
    """Strain (all sides) above which the gate fails; null = no violence condition."""
    required_deliveries: Count = 0
    """Convoys that must get through during the phase."""


class Extension(_Model):
    """What a failed gate does instead of cancelling: prolong the phase and check again."""

    extend_days: Annotated[int, Strict(), Field(ge=1, le=limits.MAX_WINDOW_DAYS)]
    times: Annotated[int, Strict(), Field(ge=1, le=limits.MAX_WINDOW_DAYS)]


UNUSED_WITH_PHASES = (
    ("trigger", "quiet_days"),
    ("trigger", "max_strain"),
    ("humanitarian", "required_deliveries"),
)
"""Keys a scenario with phases does not use: each gate has its own."""

PHASE_KEYS = {
    "parties": {
        "violation_prob", "violation_rate", "major_share", "tolerance",
        "retaliation.boost", "retaliation.half_life_hours",
    },
    "spoilers": {"attack_prob", "attack_rate", "major_share", "blame_prob"},
    "guarantors": {"pressure", "tolerance", "incident_prob"},
    "humanitarian": {
        "success_prob", "major_violation_penalty", "permission_prob", "convoys_per_day",
    },
    "rules": {"major_weight"},
}  # fmt: skip
"""What a phase's ``set`` may change (by group: the key after the actor's name)."""

SetValue = (
    Annotated[float, Strict(), Field(allow_inf_nan=False)]
    | tuple[Annotated[float, Strict(), Field(allow_inf_nan=False)], ...]
)


class Phase(_Model):
    """A step of a phased agreement: its days, the values in force, its gate."""

    name: Annotated[str, Strict(), Field(pattern=r"^[a-z0-9_]+$", max_length=limits.MAX_NAME_CHARS)]
    label: Label | None = None
    """What starts when the phase is entered."""
    days: Annotated[int, Strict(), Field(ge=1, le=limits.MAX_WINDOW_DAYS)]
    set: FrozenDict[str, SetValue] = Field(default_factory=dict)
    """Values in force during this phase only: ``{key.path: number or per-day list}``."""
    gate: Gate = Gate()
    on_fail: Literal["cancel"] | Extension = "cancel"

    @property
    def extension_days(self) -> int:
        """Days a failed gate may add, with every extension (0 when it cancels)."""
        return 0 if isinstance(self.on_fail, str) else self.on_fail.extend_days * self.on_fail.times


class MonteCarlo(_Model):
    """Default run settings (overridable from the command line and the API)."""

    runs: Annotated[int, Strict(), Field(ge=1, le=limits.MAX_RUNS)] = 10_000
    seed: Count | None = None
    max_events: Annotated[int, Strict(), Field(ge=1, le=limits.MAX_EVENTS)] = 100_000
    """Per-run cap on hostile events: a runaway (supercritical) run fails with a clear error."""


class ObservedPoint(_Model):
    """One recorded value: a count on one day, or a total over days ``[a, b)``."""

    day: Count | None = None
    days: tuple[Count, Count] | None = None
    """``[a, b)``: the total over days a..b-1."""
    count: Count
    source: Text
    """Where the value was published (a URL or a reference)."""


class Observation(_Model):
    """How a monitor's published counts relate to the model's events (see
    :mod:`sim.observations`)."""

    label: Text
    """Whose count of what (say so when it is one side's count of the other's breaches)."""
    counts: Annotated[tuple[Identifier, ...], Field(min_length=1)]
    """Actors whose hostile events it counts: parties, spoilers, guarantors."""
    per_event: Rate
    """Mean reported items per model event."""
    background: Rate = 0.0
    """Mean reported items per day with no model event behind them."""
    dispersion: Rate = 0.0
    """Negative binomial over-dispersion: var = m + dispersion·m² (0: Poisson)."""
    after_collapse: Rate | None = None
    """Mean reported items per day once the run's ceasefire has collapsed (null: such runs are
    left out of that day's distribution)."""
    data: Annotated[tuple[ObservedPoint, ...], Field(min_length=1)]


class SourceRef(_Model):
    label: Label
    url: Text | None = None


class Scenario(_Model):
    """A validated, immutable ceasefire scenario."""

    name: Annotated[
        str, Strict(), Field(pattern=r"^[a-z0-9_-]+$", max_length=limits.MAX_NAME_CHARS)
    ]
    title: Label
    description: Text | None = None
    sources: tuple[SourceRef, ...] = ()
    start: Annotated[datetime | None, BeforeValidator(_datetime)] = None
    window_days: Annotated[int, Strict(), Field(ge=1, le=limits.MAX_WINDOW_DAYS)] = 7
    rules: Rules = Rules()
    parties: FrozenDict[Identifier, Party]
    spoilers: FrozenDict[Identifier, Spoiler] = Field(default_factory=dict)
    guarantors: FrozenDict[Identifier, Guarantor] = Field(default_factory=dict)
    humanitarian: Humanitarian | None = None
    trigger: Trigger = Trigger()
    monte_carlo: MonteCarlo = MonteCarlo()
    uncertainties: FrozenDict[str, Distribution] = Field(default_factory=dict)
    """Uncertain assumptions: ``{key.path: distribution}`` (see :mod:`sim.uncertainty`)."""
    phases: tuple[Phase, ...] | None = None
    """A phased agreement (see :mod:`sim.phases`); without it, one window and its trigger."""
    observations: FrozenDict[Identifier, Observation] = Field(default_factory=dict)
    """What monitors reported, and how their counts relate to the model's events."""

    @model_validator(mode="before")
    @classmethod
    def _window_of_phases(cls, data: Any) -> Any:
        """With phases and no ``window_days``, the window is the phases' total."""
        phased = isinstance(data, dict) and isinstance(data.get("phases"), list | tuple)
        if phased and "window_days" not in data:
            days = [p.get("days") for p in data["phases"] if isinstance(p, dict)]
            if days and all(isinstance(d, int) and not isinstance(d, bool) for d in days):
                total = sum(d for d in days if isinstance(d, int))
                if total > limits.MAX_WINDOW_DAYS:
                    raise ReferenceError_(
                        ("phases",),
                        f"the phases last {total:,} days in total "
                        f"(at most {limits.MAX_WINDOW_DAYS:,})",
                    )
                data = {**data, "window_days": total}
        return data

    def model_post_init(self, _context: Any) -> None:
        _check_references(self)

    def __eq__(self, other: object) -> bool:
        """Scenarios are equal when they say the same thing, wherever they were read from."""
        if not isinstance(other, Scenario):
            return NotImplemented
        return self.model_dump() == other.model_dump()

    __hash__ = None  # type: ignore[assignment]  # mutable-looking mappings inside

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """Pickle as plain data (worker processes, Dask): validated again when unpickled."""
        return (_from_plain, (self.model_dump(mode="json"),))

    def __repr__(self) -> str:
        """One line: name, actors, window and where it comes from (the notebook shows a
        table; ``model_dump()`` gives every value)."""
        return (
            f"<Scenario {self.name}: {len(self.parties)} parties, {len(self.spoilers)} "
            f"spoilers, {len(self.guarantors)} guarantors, {self.window_days}-day window"
            f"{f', {len(self.phases)} phases' if self.phases else ''} ({self.file_label()})>"
        )

    __str__ = __repr__

    def _repr_html_(self) -> str:
        """What a notebook shows for a scenario: title, window, next step and actors."""
        e = html.escape
        rows = []
        for name, p in self.parties.items():
            what = "violation_prob" if p.violation_prob is not None else "violation_rate"
            rate = getattr(p, what)
            rows.append(("party", name, f"side {p.side}; {what} {rate}; tolerance {p.tolerance}"))
        rows += [("spoiler", n, f"attacks {sp.targets}") for n, sp in self.spoilers.items()]
        rows += [
            ("guarantor", n, f"clients {', '.join(g.clients)}; pressure {g.pressure}")
            for n, g in self.guarantors.items()
        ]
        head = (
            f"{self.window_days}-day window; next step: {self.trigger.label}; "
            f"{len(self.uncertainties)} uncertain assumptions"
        )
        if self.overrides:
            head += "; with " + ", ".join(f"{k}={v}" for k, v in self.overrides.items())
        body = "".join(
            f"<tr><td>{e(a)}</td><td>{e(b)}</td><td>{e(c)}</td></tr>" for a, b, c in rows
        )
        return (
            f"<div><strong>{e(self.title)}</strong> (<code>{e(self.name)}</code>)<br>{e(head)}"
            "<table><tr><th>kind</th><th>name</th><th>settings</th></tr>"
            f"{body}</table></div>"
        )

    # ----------------------------------------------------------------- derived views

    @property
    def sides(self) -> tuple[str, ...]:
        """The sides, in order of first appearance among the parties."""
        return tuple(dict.fromkeys(p.side for p in self.parties.values()))

    @property
    def horizon(self) -> int:
        """Days a run can last at most: the window, or the phases with every extension."""
        if self.phases is None:
            return self.window_days
        return sum(p.days + p.extension_days for p in self.phases)

    @property
    def quiet_days(self) -> int:
        """Days checked by the violence condition (``trigger.quiet_days`` or the window)."""
        q = self.trigger.quiet_days
        return self.window_days if q is None else q

    @property
    def possible_outcomes(self) -> tuple[str, ...]:
        """The outcome codes this scenario can produce, in :data:`OUTCOMES` order: no
        ``cancelled_collapse`` when nobody has a tolerance, no ``cancelled_violence`` without
        ``trigger.max_strain``, no ``cancelled_access`` unless deliveries are required."""
        tolerances = [p.tolerance for p in self.parties.values()]
        tolerances += [g.tolerance for g in self.guarantors.values()]
        h = self.humanitarian
        if self.phases is not None:  # the gates decide, not the trigger
            violence = any(p.gate.max_strain is not None for p in self.phases)
            access = h is not None and any(p.gate.required_deliveries > 0 for p in self.phases)
        else:
            violence = self.trigger.max_strain is not None
            access = h is not None and h.required_deliveries > 0
        can = {
            "triggered": True,
            "cancelled_collapse": any(t is not None for t in tolerances),
            "cancelled_violence": violence,
            "cancelled_access": access,
        }
        return tuple(code for code in OUTCOMES if can[code])

    def guarantor_side(self, name: str) -> str:
        return self.parties[self.guarantors[name].clients[0]].side

    def pressure_on(self, party: str) -> float:
        """The pressure of the guarantor that lists ``party`` among its clients (0 if none)."""
        for g in self.guarantors.values():
            if party in g.clients:
                return g.pressure
        return 0.0

    def base_rates(self, party: str) -> tuple[float, ...]:
        """μ_i(d) for every day of the window, before pressure and excitation."""
        p = self.parties[party]
        if p.violation_rate is not None:
            return _per_day(p.violation_rate, self.window_days)
        return tuple(-math.log1p(-x) for x in _per_day(p.violation_prob, self.window_days))

    def attack_rate(self, spoiler: str) -> float:
        s = self.spoilers[spoiler]
        if s.attack_rate is not None:
            return s.attack_rate
        assert s.attack_prob is not None  # exactly one of the two (validated)
        return -math.log1p(-s.attack_prob)

    def target_sides(self, party: str) -> tuple[str, ...]:
        p = self.parties[party]
        return p.targets if p.targets is not None else tuple(s for s in self.sides if s != p.side)

    def branching_matrix(self) -> np.ndarray:
        """Expected violations by party ``i`` directly provoked by one violation of party ``j``.

        Uses each party's highest daily base rate, so it errs towards "explosive".
        """
        names = list(self.parties)
        m = np.zeros((len(names), len(names)))
        for j, src in enumerate(names):
            targets = self.target_sides(src)
            for i, dst in enumerate(names):
                p = self.parties[dst]
                if p.side not in targets or p.retaliation.boost == 0:
                    continue
                h_days = p.retaliation.half_life_hours / 24
                offspring = (
                    max(self.base_rates(dst))
                    * (1 - self.pressure_on(dst))
                    * p.retaliation.boost
                    * h_days
                    / math.log(2)
                )
                m[i, j] = offspring / len(targets)
        return m

    def strain_fades(self) -> bool:
        """Whether strain can fade in some run: a half-life in the rules or among the uncertain
        assumptions (a phase cannot set one)."""
        return (
            self.rules.strain_half_life_days is not None
            or "rules.strain_half_life_days" in self.uncertainties
        )

    def branching_ratio(self) -> float:
        """Spectral radius of :meth:`branching_matrix`; ≥ 1 means explosive excitation. With
        phases, the highest of the phases' (each with its own ``set`` values)."""
        if self.phases is not None:
            return max(x.branching_ratio() for x in phase_scenarios(self))
        m = self.branching_matrix()
        if not m.size:
            return 0.0
        if not np.isfinite(m).all():  # validation bounds make this unreachable from files
            return math.inf
        return float(max(abs(np.linalg.eigvals(m))))

    def warnings(self) -> list[str]:
        """Legal but suspicious settings, for ``ceasefire validate``: explosive excitation,
        then :meth:`setting_warnings`."""
        return [*self._explosive(), *self.setting_warnings()]

    def _explosive(self) -> list[str]:
        if self.phases is None:
            r, where = self.branching_ratio(), ""
        else:  # the phase with the highest ratio
            r, name = max(
                (x.branching_ratio(), f.name)
                for x, f in zip(phase_scenarios(self), self.phases, strict=True)
            )
            where = f" in phase {name}"
        if r < 1:
            return []
        return [
            f"excitation is supercritical{where} (branching ratio {r:.2f} >= 1): violence "
            "can explode; runs stop with an error at monte_carlo.max_events"
        ]

    def setting_warnings(self) -> list[str]:
        """Values that cannot act as written: unused with phases, or a trigger or gate that
        can never pass (``ceasefire run`` prints these; explosive excitation it reports as
        the runaway error, if a run explodes)."""
        out: list[str] = []
        h = self.humanitarian
        if self.phases is not None:
            out += self._unused_with_phases() + self._gates_that_cannot_pass()
            out += [f"uncertainties: {note}" for note in self.shadowed(list(self.uncertainties))]
        elif h is not None:
            possible = h.convoys_per_day * max(0, self.window_days - h.first_day)
            if h.required_deliveries > possible:
                out.append(
                    f"humanitarian.required_deliveries ({h.required_deliveries}) exceeds "
                    f"the {possible} convoys attempted: the trigger can never start"
                )
        return out

    def _gates_that_cannot_pass(self) -> list[str]:
        """Gates that require more deliveries than their phase's convoys could make, even
        starting as late as extensions before it allow and with every extension of its own."""
        h, start = self.humanitarian, 0
        out: list[str] = []
        if h is None:
            return out
        for phase, own in zip(self.phases or (), phase_scenarios(self), strict=True):
            end = start + phase.days + phase.extension_days
            per_day = own.humanitarian.convoys_per_day if own.humanitarian else 0
            possible = per_day * max(0, end - max(start, h.first_day))
            if phase.gate.required_deliveries > possible:
                out.append(
                    f"phase {phase.name}: its gate requires {phase.gate.required_deliveries} "
                    f"deliveries but at most {possible} convoys run in it: it can never pass"
                )
            start = end  # the latest this phase can end: the next one's latest start
        return out

    def _unused_with_phases(self) -> list[str]:
        """Values this file gives that phases do not use (inherited ones are not named: a
        phased variant of a one-window scenario inherits its trigger)."""
        here = self.locate(())
        source = (self.__pydantic_private__ or {}).get("_source")
        if here is None or source is None:
            return []
        out = []
        for path in UNUSED_WITH_PHASES:
            instead = f"each phase's gate.{path[1]}"
            block = getattr(self, str(path[0]))
            if block is None:
                continue
            value = getattr(block, str(path[1]))
            default = type(block).model_fields[str(path[1])].default
            loc = source.positions.get(path)
            if value != default and loc is not None and loc.file == here.file:
                out.append(
                    f"{format_path(path)} ({value}, line {loc.line}) is not used with phases: "
                    f"{instead} decides"
                )
        return out

    def shadowed(self, keys: Sequence[str]) -> list[str]:
        """Notes for ``keys`` (given a value by ``--set``, a sweep, an uncertainty…) that some
        phase decides itself: the value then applies only in the other phases, or in none."""
        notes = []
        for key in keys:
            path = split_path(key)
            if self.phases is None or path[0] in ("phases", "observations", "monte_carlo"):
                continue
            day = path[3] if len(path) == 4 and isinstance(path[3], int) else None
            starts = itertools.accumulate((f.days for f in self.phases), initial=0)
            phases = [  # a day of a per-day list: only the phase that holds it
                f
                for f, start in zip(self.phases, starts, strict=False)
                if day is None or start <= day < start + f.days
            ]
            reasons: dict[str, list[str]] = {}
            for f in phases:
                reasons.setdefault(shadowing(f, key) or "", []).append(f.name)
            rest = reasons.pop("", [])
            if not reasons:
                continue
            by = "; ".join(
                f"phase{'s' if len(names) > 1 else ''} {', '.join(names)} ({why})"
                for why, names in reasons.items()
            )
            where = (
                f"it applies only in phase{'s' if len(rest) > 1 else ''} {', '.join(rest)}"
                if rest
                else "it has no effect"
            )
            notes.append(f"{key}: decided by {by}: {where}")
        return notes

    def replaced_schedules(self, keys: Sequence[str]) -> list[str]:
        """Notes for ``keys`` (about to be set to one number each) that hold a per-day list
        here: the one number replaces every day's value."""
        data = self.model_dump()
        notes = []
        for key in keys:
            try:
                value = lookup(data, split_path(key))
            except ScenarioError:  # a key path that does not parse: reported elsewhere
                continue
            if isinstance(value, list | tuple) and len(value) > 1:
                shown = ", ".join(f"{v:g}" for v in value)
                how = (
                    f"give the phase's list, {key}=[...], one value per day"
                    if key.startswith("phases.")  # a phase's set value is changed whole
                    else f"set {key}.D"
                )
                notes.append(
                    f"{key}: one number replaces the {len(value)} per-day values ({shown}); "
                    f"to change day D alone, {how}"
                )
        return notes

    def locate(self, path: KeyPath) -> Location | None:
        """Where ``path`` (or its nearest written ancestor) is in the scenario's file."""
        source = (self.__pydantic_private__ or {}).get("_source")
        return source.locate(path) if source is not None else None

    def file_label(self) -> str:
        """The scenario's file, for messages (``scenario NAME`` for one built in code)."""
        where = self.locate(())
        if where is None or where.file.startswith("<"):  # built in code: "<dict>"
            return f"scenario {self.name}"
        return where.file

    # ----------------------------------------------------------------- changes

    @property
    def overrides(self) -> dict[str, Any]:
        """The ``{key.path: value}`` changes made to the file's scenario (``--set`` or
        :meth:`with_overrides`), in the order they were made; empty for a file as written."""
        return dict((self.__pydantic_private__ or {}).get("_overrides", {}))

    def with_overrides(
        self, overrides: Mapping[str, Any], *, origin: str = "with_overrides"
    ) -> Scenario:
        """A new scenario with ``{"key.path": value}`` changes applied, validated again.

        Paths may create keys (e.g. a new spoiler); list items are addressed by index.
        Raises :class:`~sim.errors.ScenarioError` naming the overridden key on bad values;
        ``origin`` is how errors say where the change came from (the CLI passes ``--set``).
        """
        if not isinstance(overrides, Mapping):
            raise UsageError(
                f"with_overrides takes a mapping of key paths to values, such as "
                f"{{'parties.government.violation_prob': 0.2}}; got {type(overrides).__name__}"
            )
        source: Source | None = (
            self.__pydantic_private__.get("_source") if (self.__pydantic_private__) else None
        )
        data = copy.deepcopy(source.data if source else self.model_dump(exclude_none=True))
        positions = dict(source.positions) if source else {}
        overridden: dict[KeyPath, str] = {}
        new_names: list[tuple[str, KeyPath]] = []
        where = Location(origin, 0, 0)
        for key, value in overrides.items():
            path = split_path(key, data.get("uncertainties"), where)
            if path[0] == "extends":
                raise ScenarioError(
                    "cannot be changed here: it names the file a scenario builds on (write a "
                    f"variant file with 'extends:' instead) (from {origin} {key})",
                    location=where,
                    key=key,
                    reason="cannot be changed here: it names the file a scenario builds on",
                )
            if (
                len(path) >= 3
                and path[0] in _NAMED
                and isinstance(data.get(path[0]), dict)
                and path[1] not in data[path[0]]
            ):
                new_names.append((key, path))
            assign(data, path, value, key, where)
            overridden[path] = key
            if isinstance(value, Mapping) and value:
                leaf, inner = key, value
                while isinstance(inner, Mapping) and inner:
                    first = next(iter(inner))
                    leaf, inner = f"{leaf}.{first}", inner[first]
                overridden[path] = (
                    f"{key}, a mapping: it replaces the whole block; to change one value give "
                    f"its key path, such as {leaf}"
                )
            if isinstance(value, Mapping | list | tuple):
                # the block is replaced: no key under it is where the file put it any more
                positions = {p: loc for p, loc in positions.items() if p[: len(path)] != path}
        new_source = Source(data, positions, source.files if source else ())
        touched = any(path[0] == "uncertainties" for path in overridden)
        try:
            scenario = _validate(new_source, overridden, check_uncertainties=touched, origin=origin)
        except ScenarioError:
            if not new_names:
                raise
            raise _not_named(self, new_names, where) from None
        made = {k: v for k, v in overrides.items() if not k.startswith("uncertainties")}
        private = scenario.__pydantic_private__
        assert private is not None  # set by _validate
        private["_overrides"] = {**self.overrides, **made}
        return scenario


_NAMED = {"parties": "a party", "spoilers": "a spoiler", "guarantors": "a guarantor"}


def _not_named(
    scenario: Scenario, new_names: list[tuple[str, KeyPath]], where: Location
) -> ScenarioError:
    """The error for changes to a party (spoiler, guarantor) the scenario does not have: most
    likely a misspelt name, not an attempt to create one."""
    problems = []
    for key, path in new_names:
        group, name = str(path[0]), str(path[1])
        known = list(getattr(scenario, group))
        message = (
            f"'{name}' is not {_NAMED[group]} of this scenario "
            f"(known: {', '.join(known) or 'none'}){did_you_mean(name, known)}"
        )
        problems.append(
            ScenarioError(
                f"{message} (from {where.file} {key})",
                location=where,
                key=key,
                reason=message,
            )
        )
    first = problems[0]
    return ScenarioError(
        first.message, location=where, key=first.key, reason=first.reason, others=problems[1:]
    )


# --------------------------------------------------------------------------- checks


class ReferenceError_(CeasefireError):
    """A cross-reference or consistency problem at a key path (not a type problem)."""

    def __init__(self, path: KeyPath, message: str) -> None:
        self.path = path
        self.message = message
        super().__init__(f"{format_path(path)}: {message}")


class ReferenceErrors(CeasefireError):
    """Every cross-reference problem of a scenario."""

    def __init__(self, problems: list[ReferenceError_]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


def _per_day(value: float | tuple[float, ...] | None, days: int) -> tuple[float, ...]:
    assert value is not None
    return tuple(value) if isinstance(value, tuple) else (float(value),) * days


def _exactly_one(
    found: list[ReferenceError_], path: KeyPath, obj: BaseModel, a: str, b: str
) -> None:
    given = [k for k in (a, b) if getattr(obj, k) is not None]
    if len(given) != 1:
        what = "both given" if given else "neither given"
        found.append(ReferenceError_(path, f"give exactly one of {a} or {b} ({what})"))


FIRST_YEAR, LAST_YEAR = 1000, 9000
"""The window (``start`` to ``start + window_days``) must fall within these years, so every
date a trace, figure or report shows is representable."""


def _check_dates(s: Scenario) -> None:
    if s.start is None:
        return
    days = s.window_days + sum(p.extension_days for p in s.phases or ())
    try:
        end = s.start + timedelta(days=days)
    except OverflowError:
        end = datetime.max
    if s.start.year < FIRST_YEAR or end.year > LAST_YEAR:
        raise ReferenceError_(
            ("start",),
            f"the window ({s.window_days} days from start) must fall between the years "
            f"{FIRST_YEAR} and {LAST_YEAR}",
        )


def _check_references(s: Scenario) -> None:
    _check_dates(s)
    problems = _reference_problems(s)
    if problems:
        raise ReferenceErrors(problems)
    if s.phases is not None:
        _check_phases(s)  # each phase's values are validated as a scenario of its own too


def _reference_problems(s: Scenario) -> list[ReferenceError_]:
    """Every cross-reference or consistency problem of ``s``, in file order of the rules."""
    found: list[ReferenceError_] = []

    def bad(path: KeyPath, message: str) -> None:
        found.append(ReferenceError_(path, message))

    sides = s.sides
    names: dict[str, str] = {}
    for group in ("parties", "spoilers", "guarantors"):
        for name in getattr(s, group):
            if name in names:
                bad((group, name), f"name already used in {names[name]}")
            names[name] = group
    if len(sides) < 2:
        bad(
            ("parties",),
            f"a ceasefire needs at least two sides, found "
            f"{len(sides)} ({', '.join(sides) or 'none'})",
        )
    for name, p in s.parties.items():
        _exactly_one(found, ("parties", name), p, "violation_prob", "violation_rate")
        for key in ("violation_prob", "violation_rate"):
            value = getattr(p, key)
            if isinstance(value, tuple) and len(value) != s.window_days:
                bad(
                    ("parties", name, key),
                    f"has {len(value)} values; needs one per day of the window ({s.window_days})",
                )
        for i, t in enumerate(p.targets or ()):
            if t not in sides:
                bad(("parties", name, "targets", i), _unknown("side", t, sides))
            elif t == p.side:
                bad(("parties", name, "targets", i), f"a party cannot target its own side '{t}'")
        if p.targets is not None and not p.targets:
            bad(("parties", name, "targets"), "must list at least one side")
        if p.targets is not None and len(set(p.targets)) != len(p.targets):
            bad(("parties", name, "targets"), "lists a side twice")
    for name, sp in s.spoilers.items():
        _exactly_one(found, ("spoilers", name), sp, "attack_prob", "attack_rate")
        if sp.targets not in sides:
            bad(("spoilers", name, "targets"), _unknown("side", sp.targets, sides))
        if sp.blamed_on is not None:
            if sp.blamed_on not in s.parties:
                bad(("spoilers", name, "blamed_on"), _unknown("party", sp.blamed_on, s.parties))
            elif s.parties[sp.blamed_on].side == sp.targets:
                bad(
                    ("spoilers", name, "blamed_on"),
                    f"'{sp.blamed_on}' is on the attacked side '{sp.targets}'",
                )
        elif sp.blame_prob > 0:
            bad(("spoilers", name, "blame_prob"), "needs blamed_on")
    client_of: dict[str, str] = {}
    for name, g in s.guarantors.items():
        for i, c in enumerate(g.clients):
            if c not in s.parties:
                bad(("guarantors", name, "clients", i), _unknown("party", c, s.parties))
            elif c in client_of:
                bad(
                    ("guarantors", name, "clients", i),
                    f"'{c}' is already a client of '{client_of[c]}'",
                )
            client_of[c] = name
        client_sides = {s.parties[c].side for c in g.clients if c in s.parties}
        if len(client_sides) > 1:
            bad(
                ("guarantors", name, "clients"),
                f"clients must all be on one side, found {', '.join(sorted(client_sides))}",
            )
        own = min(client_sides) if client_sides else None
        if g.incident_target is not None:
            if g.incident_target not in sides:
                bad(
                    ("guarantors", name, "incident_target"),
                    _unknown("side", g.incident_target, sides),
                )
            elif g.incident_target == own:
                bad(
                    ("guarantors", name, "incident_target"),
                    f"must be a side other than its own ('{own}')",
                )
        elif g.incident_prob > 0:
            bad(("guarantors", name, "incident_prob"), "needs incident_target")
    h = s.humanitarian
    if h is not None and h.first_day >= s.window_days:
        bad(("humanitarian", "first_day"), f"must be within the window (0..{s.window_days - 1})")
    if s.trigger.quiet_days is not None and s.trigger.quiet_days > s.window_days:
        bad(("trigger", "quiet_days"), f"must be within the window (0..{s.window_days})")
    found += _observation_problems(s)
    return found


def _raw_name_problems(data: Any) -> list[tuple[KeyPath, str]]:
    """Unknown names in a file that failed field validation: the parties, sides and actors
    that a key refers to, read from the raw mappings wherever they are well formed.

    Pydantic runs no model validator after a field error, so without this pass a misspelt
    client or target would be reported only once the field errors were fixed."""
    found: list[tuple[KeyPath, str]] = []
    if not isinstance(data, dict):
        return found

    def mapping(value: Any) -> dict[Any, Any]:
        return value if isinstance(value, dict) else {}

    groups = {g: mapping(data.get(g)) for g in _NAMED}
    parties = groups["parties"]
    side_of = [p.get("side") if isinstance(p, dict) else None for p in parties.values()]
    sides = list(dict.fromkeys(side_of)) if all(isinstance(x, str) for x in side_of) else None
    actors: list[Any] | None = [*parties, *groups["spoilers"], *groups["guarantors"]]
    known_parties: list[Any] | None = list(parties)
    if not isinstance(data.get("parties"), dict) or not parties:
        # no parties to check names against: their own error is the mistake
        sides = known_parties = actors = None

    def check(path: KeyPath, name: Any, kind: str, known: list[Any] | None) -> None:
        if known is not None and isinstance(name, str) and name not in known:
            found.append((path, _unknown(kind, name, known)))

    for group, where in (("parties", "targets"), ("spoilers", "targets")):
        for name, actor in groups[group].items():
            value = actor.get(where) if isinstance(actor, dict) else None
            if isinstance(value, list):
                for i, t in enumerate(value):
                    check((group, name, where, i), t, "side", sides)
            else:
                check((group, name, where), value, "side", sides)
    for name, sp in groups["spoilers"].items():
        if isinstance(sp, dict):
            check(("spoilers", name, "blamed_on"), sp.get("blamed_on"), "party", known_parties)
    for name, g in groups["guarantors"].items():
        if not isinstance(g, dict):
            continue
        clients = g.get("clients")
        for i, c in enumerate(clients if isinstance(clients, list) else []):
            check(("guarantors", name, "clients", i), c, "party", known_parties)
        check(("guarantors", name, "incident_target"), g.get("incident_target"), "side", sides)
    observations = data.get("observations")
    for name, obs in observations.items() if isinstance(observations, dict) else ():
        counts = obs.get("counts") if isinstance(obs, dict) else None
        for i, actor in enumerate(counts if isinstance(counts, list) else ()):
            check(("observations", name, "counts", i), actor, "actor", actors)
    return found


def _observation_problems(s: Scenario) -> list[ReferenceError_]:
    """What is wrong in ``s.observations``: unknown actors, days outside the runs' days."""
    found: list[ReferenceError_] = []

    def bad(path: KeyPath, message: str) -> None:
        found.append(ReferenceError_(path, message))

    actors = [*s.parties, *s.spoilers, *s.guarantors]
    horizon = s.horizon
    for name, obs in s.observations.items():
        for i, actor in enumerate(obs.counts):
            if actor not in actors:
                bad(("observations", name, "counts", i), _unknown("actor", actor, actors))
            elif actor in obs.counts[:i]:
                bad(("observations", name, "counts", i), f"lists '{actor}' twice")
        for i, point in enumerate(obs.data):
            where: KeyPath = ("observations", name, "data", i)
            _exactly_one(found, where, point, "day", "days")
            if point.day is not None and point.day >= horizon:
                last = horizon - 1
                bad((*where, "day"), f"day {point.day} is outside the runs' days (0..{last})")
            if point.days is not None:
                a, b = point.days
                if a >= b:
                    bad((*where, "days"), f"needs a < b, got [{a}, {b}]")
                elif b > horizon:
                    bad(
                        (*where, "days"),
                        f"[{a}, {b}) reaches past the runs' last day (b at most {horizon})",
                    )
    return found


def _check_phases(s: Scenario) -> None:
    phases = s.phases or ()
    if not phases:
        raise ReferenceError_(("phases",), "must list at least one phase")
    found: list[ReferenceError_] = []  # every problem of every phase, reported at once
    total = sum(p.days for p in phases)
    if s.window_days != total:
        found.append(
            ReferenceError_(
                ("window_days",), f"is {s.window_days} but the phases last {total} days in total"
            )
        )
    longest = total
    for i, phase in enumerate(phases):
        if phase.extension_days:
            longest += phase.extension_days
            if longest > limits.MAX_WINDOW_DAYS:
                found.append(
                    ReferenceError_(
                        ("phases", i, "on_fail"),
                        f"with every extension the agreement could last {longest:,} days "
                        f"(at most {limits.MAX_WINDOW_DAYS:,})",
                    )
                )
                break
    seen: set[str] = set()
    for i, phase in enumerate(phases):
        if phase.name in seen:
            found.append(
                ReferenceError_(("phases", i, "name"), f"phase '{phase.name}' is defined twice")
            )
        seen.add(phase.name)
        if phase.gate.required_deliveries and s.humanitarian is None:
            found.append(
                ReferenceError_(
                    ("phases", i, "gate", "required_deliveries"),
                    "needs a humanitarian block (without one no convoy runs, so no delivery "
                    "counts)",
                )
            )
        q = phase.gate.quiet_days
        if q is not None and q > phase.days:
            found.append(
                ReferenceError_(
                    ("phases", i, "gate", "quiet_days"),
                    f"must be within the phase (0..{phase.days})",
                )
            )
        for key, value in phase.set.items():
            where = ("phases", i, "set", key)
            problem = _phase_key_problem(s, key)
            per_day = key.endswith(("violation_prob", "violation_rate"))
            if problem is None and isinstance(value, tuple) and not per_day:
                problem = "takes one number, not a list"
            elif problem is None and isinstance(value, tuple) and len(value) != phase.days:
                problem = f"has {len(value)} values; needs one per day of the phase ({phase.days})"
            if problem is not None:
                found.append(ReferenceError_(where, problem))
    if s.window_days == total:  # each sound phase's values, checked as a scenario of its own
        broken = {int(p.path[1]) for p in found if p.path[:1] == ("phases",) and len(p.path) > 1}
        found += _phase_scenarios(s, skip=broken)[1]
    if found:
        raise ReferenceErrors(found)


def _phase_key_problem(s: Scenario, key: str) -> str | None:
    """Why ``key`` cannot be set by a phase (None if it can)."""
    group, _, rest = key.partition(".")
    if group in ("humanitarian", "rules"):
        if rest in PHASE_KEYS[group]:
            return (
                "needs a humanitarian block"
                if group == "humanitarian" and (s.humanitarian is None)
                else None
            )
        return (
            f"'{key}' cannot be set in a phase"
            + _choices(group, PHASE_KEYS[group])
            + did_you_mean(rest, PHASE_KEYS[group])
        )
    if group not in PHASE_KEYS:
        meant = closest(group, PHASE_KEYS)
        if meant is not None:
            return f"unknown group '{group}'; did you mean '{meant}'?"
        return f"'{key}' cannot be set in a phase (names, sides, targets and clients are fixed)"
    name, _, field = rest.partition(".")
    known = getattr(s, group)
    if name not in known:
        return _unknown(group.rstrip("s").replace("ie", "y"), name, known)
    if field not in PHASE_KEYS[group]:
        return (
            f"'{field}' cannot be set in a phase"
            + _choices(group, PHASE_KEYS[group])
            + did_you_mean(field, PHASE_KEYS[group])
        )
    return None


def _choices(group: str, keys: set[str]) -> str:
    return f" (a phase may set {group}: {', '.join(sorted(keys))})"


# --------------------------------------------------------------------------- phases

PER_DAY = ("violation_prob", "violation_rate")


def phase_list(scenario: Scenario) -> tuple[Phase, ...]:
    """The phases of ``scenario``: its own, or the window and trigger as one phase."""
    if scenario.phases is not None:
        return scenario.phases
    h = scenario.humanitarian
    return (
        Phase(
            name="window",
            label=scenario.trigger.label,
            days=scenario.window_days,
            gate={
                "quiet_days": scenario.trigger.quiet_days,
                "max_strain": scenario.trigger.max_strain,
                "required_deliveries": h.required_deliveries if h else 0,
            },
        ),
    )


def phase_scenarios(scenario: Scenario) -> tuple[Scenario, ...]:
    """One validated single-window scenario per phase (the scenario itself without phases)."""
    if scenario.phases is None:
        return (scenario,)
    cached = (scenario.__pydantic_private__ or {}).get("_phase_scenarios")
    if cached is not None:
        return cast(tuple[Scenario, ...], cached)
    out, found = _phase_scenarios(scenario)
    if found:
        raise ReferenceErrors(found)
    result = tuple(out)
    if scenario.__pydantic_private__ is not None:
        scenario.__pydantic_private__["_phase_scenarios"] = result
    return result


def _phase_scenarios(
    scenario: Scenario,
    skip: Collection[int] = (),
) -> tuple[list[Scenario], list[ReferenceError_]]:
    """Each phase (but those in ``skip``) as a validated scenario, and every phase's problems
    (all reported at once)."""
    assert scenario.phases is not None
    base = scenario.model_dump(mode="python", exclude_none=True)
    for key in ("phases", "uncertainties", "extends", "observations"):
        base.pop(key, None)
    out, found = [], []
    start = 0
    for i, phase in enumerate(scenario.phases):
        if i not in skip:
            try:
                out.append(_one(scenario, base, i, phase, start))
            except ReferenceError_ as exc:
                found.append(exc)
        start += phase.days
    return out, found


def _one(scenario: Scenario, base: dict[str, Any], i: int, phase: Phase, start: int) -> Scenario:
    data = _plain(base)
    data["window_days"] = phase.days
    for party in data["parties"].values():
        for key in PER_DAY:
            if isinstance(party.get(key), list):
                party[key] = party[key][start : start + phase.days]
    data["trigger"] = {
        "label": phase.label or phase.name,
        "quiet_days": phase.gate.quiet_days,
        "max_strain": phase.gate.max_strain,
    }
    data["trigger"] = {k: v for k, v in data["trigger"].items() if v is not None}
    if "humanitarian" in data:
        # convoys run from the scenario's first_day on; the phase's own count is the gate's
        data["humanitarian"].update(first_day=0, required_deliveries=phase.gate.required_deliveries)
    for key, value in phase.set.items():
        plain = list(value) if isinstance(value, tuple) else value
        path = split_path(key)
        if str(path[-1]) == "convoys_per_day" and isinstance(plain, float) and plain.is_integer():
            plain = int(plain)  # a count (set values are read as numbers)
        other = EITHER.get(str(path[-1]))
        both = other is not None and format_path((*path[:-1], other)) in phase.set
        if path[0] in ("parties", "spoilers") and other is not None and not both:
            # a phase may give a rate where the scenario gives a probability, or the reverse:
            # the phase's own form replaces the other (giving both stays an error)
            actor = data.get(str(path[0]), {}).get(str(path[1]))
            if isinstance(actor, dict):
                actor.pop(other, None)
        assign(data, path, plain, key)
    try:
        return scenario_from_dict(data, name=f"phase {phase.name}")
    except ScenarioError as exc:
        # the set key the problem is about (``parties.b`` names the keys set under it)
        set_key = next(
            (k for k in phase.set if exc.key == k or exc.key.startswith(k + ".")), None
        ) or next((k for k in phase.set if k.startswith(exc.key + ".")), None)
        where: KeyPath = ("phases", i, "set", set_key) if set_key else ("phases", i)
        raise ReferenceError_(where, exc.reason or exc.message) from None


EITHER = {
    "violation_prob": "violation_rate",
    "violation_rate": "violation_prob",
    "attack_prob": "attack_rate",
    "attack_rate": "attack_prob",
}
"""Keys of which an actor gives exactly one: a phase that sets one drops the other."""


def phase_key(phase: Phase, start: int, key: str) -> str | None:
    """``key`` as it applies in ``phase`` (which starts on day ``start``), or None where the
    phase does not take it from the scenario (:func:`shadowing`: the phase sets it, or its
    rate/probability twin, itself, or its gate replaces it), or it is a day outside the phase
    (a day inside is renumbered from the phase's start)."""
    if shadowing(phase, key) is not None:
        return None
    path = split_path(key)
    if len(path) == 4 and path[0] == "parties" and isinstance(path[3], int):
        day = path[3] - start
        return format_path((*path[:3], day)) if 0 <= day < phase.days else None
    return key


def shadowing(phase: Phase, key: str) -> str | None:
    """What in ``phase`` decides ``key`` instead of the scenario's value (None: nothing)."""
    path = split_path(key)
    if path[:2] in UNUSED_WITH_PHASES:  # trigger.quiet_days, .max_strain, required_deliveries
        return "the gate"
    for own in phase.set:
        theirs = split_path(own)
        twin = EITHER.get(str(theirs[-1]))
        for mine in (theirs, (*theirs[:-1], twin) if twin else None):
            if mine is not None and (path[: len(mine)] == mine or mine[: len(path)] == path):
                return f"set.{own}"
    return None


def _plain(value: Any) -> Any:
    """A deep copy with tuples as lists and frozen mappings as dicts (assignable data)."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _unknown(kind: str, name: str, known: Any) -> str:
    return (
        f"unknown {kind} '{name}' (known: {', '.join(known) or 'none'}){did_you_mean(name, known)}"
    )


UNBOUNDED = ("normal", "gaussian", "lognormal", "log-normal", "gamma", "exponential", "t")
"""Distributions users ask for that have no upper or lower bound (not misspellings)."""


def did_you_mean(name: str, known: Any) -> str:
    """``"; did you mean 'x'?"`` for the closest of ``known`` to a misspelt ``name``, or ""."""
    meant = closest(name, known)
    return f"; did you mean '{meant}'?" if meant is not None else ""


def known_keys(path: KeyPath) -> tuple[str, ...]:
    """The keys a scenario allows in the mapping at ``path`` (``()`` where the keys are names
    of parties and the like, or the path leads nowhere), read from the models' fields."""
    if len(path) == 2 and path[0] == "uncertainties":
        return _DIST_FIELDS
    kinds: list[Any] = [Scenario]
    for part in path:
        kinds = [inner for kind in kinds for inner in _step(kind, part)]
    keys = dict.fromkeys(
        key
        for kind in kinds
        for option in _options(kind)
        if isinstance(option, type) and issubclass(option, BaseModel)
        for key in option.model_fields
    )
    if Scenario in (option for kind in kinds for option in _options(kind)):
        keys["extends"] = None
    return tuple(keys)


def _options(kind: Any) -> list[Any]:
    """The alternatives of an annotation: the members of a union, metadata stripped."""
    origin = get_origin(kind)
    if origin is Annotated:
        return _options(get_args(kind)[0])
    if origin in (Union, UnionType):
        return [o for arg in get_args(kind) for o in _options(arg)]
    return [kind]


def _step(kind: Any, part: str | int) -> list[Any]:
    """What lies at key or index ``part`` of a value of type ``kind``."""
    out: list[Any] = []
    for option in _options(kind):
        origin, args = get_origin(option), get_args(option)
        if isinstance(option, type) and issubclass(option, BaseModel):
            field = option.model_fields.get(str(part)) if isinstance(part, str) else None
            if field is not None:
                out.append(field.annotation)
        elif origin in (tuple, list) and isinstance(part, int) and args:
            out.append(args[0])
        elif origin in (dict, Mapping, abc.Mapping) and isinstance(part, str) and len(args) == 2:
            out.append(args[1])
    return out


# --------------------------------------------------------------------------- loading


_DIST_FIELDS = ("dist", "low", "high", "mode", "a", "b", "values", "weights")


def split_path(key: str, uncertainties: Any = None, where: Location = SET_LOCATION) -> KeyPath:
    """``a.b.3`` -> ``('a', 'b', 3)``. Under ``uncertainties.`` the key of an uncertainty is
    itself a key path: ``uncertainties.x.y`` is ``('uncertainties', 'x.y')``, and
    ``uncertainties.x.y.high`` sets the field ``high`` of an existing ``x.y``; so is a key of
    a phase's ``set``: ``phases.2.set.x.y`` is ``('phases', 2, 'set', 'x.y')``."""
    if not key or any(not part for part in key.split(".")):
        raise ScenarioError("empty key path", location=where, key=key or "''")
    head, _, rest = key.partition(".")
    phase_set = re.fullmatch(r"phases\.(\d+)\.set\.(.+)", key)
    if phase_set:
        return ("phases", int(phase_set.group(1)), "set", phase_set.group(2))
    if head == "uncertainties" and rest:
        inner, _, field = rest.rpartition(".")
        if field in _DIST_FIELDS and isinstance(uncertainties, dict) and inner in uncertainties:
            return (head, inner, field)
        return (head, rest)
    return tuple(int(p) if p.isdigit() else p for p in key.split("."))


def assign(
    data: dict[str, Any], path: KeyPath, value: Any, key: str, where: Location = SET_LOCATION
) -> None:
    node: Any = data
    for i, part in enumerate(path[:-1]):
        if isinstance(node, dict):
            node = node.setdefault(part, {}) if isinstance(part, str) else None
        elif isinstance(node, list) and isinstance(part, int) and part < len(node):
            node = node[part]
        else:
            node = None
        if not isinstance(node, dict | list):
            held = format_path(path[: i + 1])
            phases = data.get("phases")
            if i == 1 and path[0] == "phases" and isinstance(phases, list):
                names = [p.get("name") for p in phases if isinstance(p, dict)]
                listed = ", ".join(f"{n} {name}" for n, name in enumerate(names))
                raise ScenarioError(
                    f"phases are numbered from 0 (here: {listed}), got '{path[1]}'",
                    location=where,
                    key=key,
                )
            one_number = isinstance(node, int | float) and not isinstance(node, bool)
            raise ScenarioError(
                f"cannot set: '{held}' is one number, not a per-day list (give a list, "
                f"{held}=[...], one value per day)"
                if one_number and isinstance(path[i + 1], int)
                else f"cannot set: '{held}' holds no keys",
                location=where,
                key=key,
            )
    last = path[-1]
    settable = (isinstance(node, dict) and isinstance(last, str)) or (
        isinstance(node, list) and isinstance(last, int) and last < len(node)
    )
    if settable:
        cast(Any, node)[last] = value
    else:
        raise ScenarioError("cannot set: no such key or list index", location=where, key=key)


def _clean_loc(data: Any, loc: tuple[str | int, ...], missing: bool) -> KeyPath:
    """Keep the parts of a pydantic error location that are real keys of the data."""
    path: list[str | int] = []
    node = data
    for part in loc:
        present = (isinstance(node, dict) and part in node) or (
            isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)
        )
        if present:
            node = cast(Any, node)[part]
            path.append(part)
    if missing and loc and loc[-1] not in path[-1:]:
        path.append(loc[-1])
    return tuple(path)


def _union_branch(err: Mapping[str, Any]) -> bool:
    """An error of the literal branch of a union such as ``'cancel' | {extend_days, times}``."""
    loc = err["loc"]
    return err["type"] == "literal_error" and bool(loc) and str(loc[-1]).startswith("literal[")


def _drop_consequences(located: dict[KeyPath, tuple[Any, Any]]) -> None:
    """Errors that follow from another: a required key reported missing beside an unknown key
    that is its misspelling (``sorce`` for ``source``: the unknown key's error suggests the
    name), and a list said to be empty because its entries failed."""
    unknown = [p for p, (_, err) in located.items() if err["type"] == "extra_forbidden"]
    for path, (_, err) in list(located.items()):
        if err["type"] == "too_short" and "after validation" in err["msg"]:
            # a list whose entries failed looks empty "after validation": the entries' own
            # errors are the mistake
            if any(other[: len(path)] == path and other != path for other in located):
                del located[path]
            continue
        if err["type"] != "missing" or not path:
            continue
        if any(u[:-1] == path[:-1] and did_you_mean(str(u[-1]), [str(path[-1])]) for u in unknown):
            del located[path]


def _message(err: Mapping[str, Any], path: KeyPath, data: Any = None) -> str:
    kind, msg = err["type"], err["msg"]
    if kind == "missing" and len(path) == 3 and path[0] in ("parties", "spoilers", "guarantors"):
        # an actor without a required key may be a misspelt one (an `extends` variant that
        # meant to change `government` and wrote `goverment` makes a new, incomplete party)
        others = [n for n in (data or {}).get(path[0], {}) if n != path[1]]
        hint = did_you_mean(str(path[1]), others)
        if hint:
            actor = {"parties": "party", "spoilers": "spoiler", "guarantors": "guarantor"}[path[0]]
            return f"required key is missing (a new {actor} '{path[1]}'{hint.replace(';', ',')})"
    if kind in ("model_attributes_type", "dict_type") and path[:1] == ("uncertainties",):
        got = err.get("input")
        return (
            "an uncertain assumption is a distribution, such as {dist: uniform, low: 0.1, "
            f"high: 0.3}} (got {got!r}; the scenario's own value stays in its key)"
        )
    if kind == "union_tag_invalid" and path[:1] == ("uncertainties",):
        tag = str(err.get("ctx", {}).get("tag", ""))
        known = f"unknown distribution '{tag}' in 'dist' (known: {', '.join(_DISTRIBUTIONS)})"
        if tag.lower() in UNBOUNDED:
            # not a misspelling: a distribution with no bounds could draw invalid values
            return (
                f"{known}; a {tag.lower()} distribution is unbounded and could draw values "
                "the key does not allow: use beta (a, b, low, high) or triangular for a "
                "bell-shaped range"
            )
        return known + did_you_mean(tag, _DISTRIBUTIONS)
    if kind == "extra_forbidden":
        dist = _DISTRIBUTIONS.get(str(err["loc"][2])) if len(err["loc"]) == 4 else None
        if path[:1] == ("uncertainties",) and dist is not None:
            # a key of another distribution (e.g. a triangular's `mode` left by `extends`
            # under a uniform): name the distribution and its own keys
            keys = tuple(dist.model_fields)
            return (
                f"unknown key for a {err['loc'][2]} distribution (its keys: "
                f"{', '.join(keys)}){did_you_mean(str(path[-1]), keys)}"
            )
        return "unknown key" + did_you_mean(str(path[-1]), known_keys(path[:-1]))
    if kind == "missing":
        return "required key is missing"
    if kind == "tuple_type" and path == ("phases",):
        return (
            "is a list of phases ({name, days, ...} each, in order); a variant's phases "
            "replace the inherited ones whole, so list them all (one value of one phase: "
            "--set phases.N.KEY=value)"
        )
    mapping_keys = known_keys(path) if _union_branch(err) else ()
    if mapping_keys:  # the other branch of the union is a mapping: say so
        msg = f"{msg} or a mapping {{{', '.join(mapping_keys)}}}"
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    msg = re.sub(r" or instance of \w+", "", msg)  # the model's class name means nothing here
    if "input" in err and kind not in ("missing",) and not isinstance(err["input"], dict | list):
        got = err["input"]
        msg = f"{msg} (got {got!r})"
        if isinstance(got, str) and _looks_numeric(got):
            msg += "; numbers are written without quotes"
    return msg[0].lower() + msg[1:] if msg else msg


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _removed_actors(source: Source) -> dict[tuple[str, str], Location]:
    """Actors an ``extends`` variant removed with ``null``: where each null is."""
    return {
        (str(p[0]), str(p[1])): loc
        for p, loc in source.positions.items()
        if len(p) == 2
        and p[0] in _NAMED
        and isinstance(source.data.get(p[0]), dict)
        and p[1] not in source.data[p[0]]
    }


def _validate(
    source: Source,
    overridden: Mapping[KeyPath, str] | None = None,
    *,
    check_uncertainties: bool = True,
    origin: str = "--set",
) -> Scenario:
    overridden = overridden or {}
    removed = _removed_actors(source)

    def fail(path: KeyPath, message: str) -> ScenarioError:
        from_set = next(
            (k for p, k in overridden.items() if path[: len(p)] == p or p[: len(path)] == path),
            None,
        )
        loc = source.locate(path)
        reason = message
        if from_set is not None:
            message += f" (from {origin} {from_set})"
            loc = source.positions.get(path, Location(origin, 0, 0))
        elif overridden:  # the scenario was valid before: the change made this key wrong
            message += f" (after {origin} {', '.join(dict.fromkeys(overridden.values()))})"
        for (group, name), where in removed.items():
            if f"'{name}'" in message:  # an actor a variant's null removed is still named
                message += f" ({group}.{name} was removed by 'null' at {where})"
        return ScenarioError(message, location=loc, key=format_path(path), reason=reason)

    def all_of(problems: list[ScenarioError]) -> ScenarioError:
        return ScenarioError(
            problems[0].message,
            location=problems[0].location,
            key=problems[0].key,
            reason=problems[0].reason,
            others=problems[1:],
        )

    _canonical_uncertainties(source, fail)
    try:
        scenario = Scenario.model_validate(source.data)
    except ValidationError as exc:
        located: dict[KeyPath, tuple[tuple[int, int, int], Any]] = {}
        for err in exc.errors():
            if _union_branch(err) and isinstance(err.get("input"), dict):
                continue  # a mapping given: the mapping branch of the union says what is wrong
            path = _clean_loc(source.data, err["loc"], err["type"] == "missing")
            loc = source.locate(path) or Location("?", 10**9, 0)
            order = (loc.line, loc.column, -len(path))
            if path not in located or order < located[path][0]:
                located[path] = (order, err)
        _drop_consequences(located)
        found = [
            (order, fail(path, _message(err, path, source.data)))
            for path, (order, err) in located.items()
        ]
        for path, message in _raw_name_problems(source.data):
            if any(path[: len(other)] == other for other in located):
                continue  # the key's own error comes first
            loc = source.locate(path) or Location("?", 10**9, 0)
            found.append(((loc.line, loc.column, -len(path)), fail(path, message)))
        found.sort(key=lambda item: item[0])
        raise all_of([problem for _, problem in found]) from None
    except ReferenceErrors as exc:
        raise all_of([fail(p.path, p.message) for p in exc.problems]) from None
    except ReferenceError_ as exc:
        raise fail(exc.path, exc.message) from None
    scenario.__pydantic_private__ = {"_source": source}
    if check_uncertainties:
        problems = []
        for key, dist in scenario.uncertainties.items():
            problem = _uncertainty_problem(scenario, key, dist)
            if problem:
                problems.append(fail(("uncertainties", key), problem))
        if problems:
            raise all_of(problems)
    return scenario


OBSERVATION_KEYS = ("per_event", "background", "dispersion", "after_collapse")
"""What of an observation may be uncertain (the check applies each run's values)."""


def _canonical_uncertainties(source: Source, fail: Any) -> None:
    """Write every uncertainty's key path in one spelling (``violation_prob.00`` is
    ``violation_prob.0``) and refuse two keys that name the same value; a bad key path is
    reported at its line in the file."""
    block = source.data.get("uncertainties")
    if not isinstance(block, dict):
        return
    canonical: dict[str, Any] = {}
    spelled: dict[str, str] = {}
    for key, dist in block.items():
        try:
            name = format_path(split_path(key)) if isinstance(key, str) else key
        except ScenarioError as exc:
            raise fail(("uncertainties", key), exc.message) from None
        if name in canonical:
            first = source.positions.get(("uncertainties", spelled[name]))
            where = f" (line {first.line})" if first and first.line else ""
            raise fail(("uncertainties", key), f"names the same value as '{spelled[name]}'{where}")
        canonical[name] = dist
        spelled[name] = key
    if list(canonical) == list(block):
        return
    renamed = {key: name for name, key in spelled.items() if name != key}
    for path in [p for p in source.positions if p[:1] == ("uncertainties",) and len(p) > 1]:
        if path[1] in renamed:
            new_path: KeyPath = ("uncertainties", renamed[path[1]], *path[2:])
            source.positions[new_path] = source.positions.pop(path)
    source.data["uncertainties"] = canonical


STRUCTURAL = (
    "window_days",
    "humanitarian.first_day",
    "humanitarian.convoys_per_day",
    "monte_carlo.",
)
"""Key paths that shape a run rather than weigh in it: they cannot be uncertain."""


def _uncertainty_problem(scenario: Scenario, key: str, dist: Any) -> str | None:
    """Why ``key`` cannot take the values of ``dist`` (None when it can)."""
    if key.startswith("uncertainties") or any(
        key == s or (s.endswith(".") and key.startswith(s)) for s in STRUCTURAL
    ):
        return "cannot be uncertain: it shapes the simulation (make variants with extends)"
    path = split_path(key)
    if path[0] == "observations" and (len(path) != 3 or path[2] not in OBSERVATION_KEYS):
        return f"only {', '.join(OBSERVATION_KEYS)} of an observation can be uncertain"
    data = scenario.model_dump()
    parent = lookup(data, path[:-1])
    if not (isinstance(parent, dict) and path[-1] in parent) and not (
        isinstance(parent, list | tuple) and isinstance(path[-1], int) and path[-1] < len(parent)
    ):
        return "no such value in the scenario (check the key path)" + _near_key(data, path)
    base = scenario.model_copy(update={"uncertainties": MappingProxyType({})})
    for value in dist.values_to_check():
        try:
            variant = base.with_overrides({key: value})
        except ScenarioError as exc:
            # the top is checked just below it (never drawn): quote the range, not 1.499999999
            reason = re.sub(r" \(got [^)]*\)", "", exc.reason)
            return f"its values reach {value:g}, which is not valid there: {reason}"
        if lookup(variant.model_dump(), path) != value:  # e.g. a label
            return "is not a number the simulation uses"
    return None


def _near_key(data: Any, path: KeyPath) -> str:
    """``"; did you mean 'a.b.c'?"`` with the first part of ``path`` missing from ``data``
    replaced by the closest name there, or ""."""
    node = data
    for i, part in enumerate(path):
        if isinstance(node, dict) and part in node:
            node = node[part]
            continue
        if isinstance(node, list | tuple) and isinstance(part, int) and part < len(node):
            node = node[part]
            continue
        if not isinstance(node, dict):
            return ""
        meant = closest(str(part), node)
        if meant is None:
            return ""
        return f"; did you mean '{format_path((*path[:i], meant, *path[i + 1 :]))}'?"
    return ""


def lookup(data: Any, path: KeyPath) -> Any:
    for part in path:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def load_scenario(path: str | Path) -> Scenario:
    """Read, merge (``extends``) and validate a scenario file.

    Raises :class:`~sim.errors.ScenarioError` (``FILE:LINE:COL: key.path: message``).
    """
    return _validate(read_source(path))


def _from_plain(data: dict[str, Any]) -> Scenario:
    return _validate(Source(data, {(): Location("<pickled scenario>")}), check_uncertainties=False)


def scenario_from_dict(data: Mapping[str, Any], name: str = "<dict>") -> Scenario:
    """Validate a scenario given as plain data (e.g. built in a notebook)."""
    return _validate(Source(copy.deepcopy(dict(data)), {(): Location(name)}))


def json_schema() -> dict[str, Any]:
    """The JSON Schema of scenario files (for editors). A file with ``extends`` inherits
    what it leaves out, so for such a file nothing is required: every key keeps its type and
    range, but no key is missing (the merged scenario is checked by ``ceasefire validate``)."""
    strict = Scenario.model_json_schema()
    strict["properties"]["extends"] = {
        "type": "string",
        "description": "Path of a scenario this one deep-merges onto.",
    }
    defs = strict.pop("$defs", {})
    partial = {f"Partial{k}": _partial(copy.deepcopy(v)) for k, v in defs.items()}
    # the keys of every file at the top (what editors complete from), and the complete
    # scenario required of a file without `extends`
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **_partial(copy.deepcopy(strict)),
        "$defs": {**defs, **partial, "CompleteScenario": strict},
        "if": {"type": "object", "required": ["extends"]},
        "else": {"$ref": "#/$defs/CompleteScenario"},
    }


def _partial(node: Any) -> Any:
    """A schema fragment with nothing required and every key nullable (``null`` removes an
    inherited key), references to the partial definitions, and ``anyOf`` for ``oneOf``: a
    partial distribution may match several kinds."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "required":
                continue
            if key == "$ref" and isinstance(value, str) and value.startswith("#/$defs/"):
                value = "#/$defs/Partial" + value.removeprefix("#/$defs/")
            if key == "properties" and isinstance(value, dict):
                # null removes what the base gives (the key takes its default)
                out[key] = {k: {"anyOf": [_partial(v), {"type": "null"}]} for k, v in value.items()}
                continue
            out["anyOf" if key == "oneOf" else key] = _partial(value)
        return out
    if isinstance(node, list):
        return [_partial(v) for v in node]
    return node


__all__ = ["OUTCOMES", "Scenario", "json_schema", "load_scenario", "scenario_from_dict"]
