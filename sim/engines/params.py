"""A scenario compiled to flat numbers for the engines (no pydantic on the hot path).

Names are kept beside the numbers: random streams are keyed by the names of the mechanisms
(:mod:`sim.streams`), never by positions in the file.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numba as nb
import numpy as np

from .. import streams
from ..records import Shape
from ..scenario import Scenario, phase_list, phase_scenarios


@dataclass(frozen=True, slots=True, eq=False)
class Params:
    """Every number an engine needs, indexed by position (file order).

    *Sources* of hostile events are the parties, then the spoilers, then the guarantors
    (their incidents); :meth:`tables` gives the arrays the compiled code reads.
    """

    window: int
    major_weight: float
    max_events: int
    sides: tuple[str, ...]
    parties: tuple[str, ...]
    spoilers: tuple[str, ...]
    guarantors: tuple[str, ...]
    actors: tuple[str, ...]
    """Parties then guarantors: who can declare a collapse (``collapsed_by`` indexes this)."""
    # parties
    party_side: tuple[int, ...]
    party_mu: tuple[tuple[float, ...], ...]
    """μ_i(d), before pressure."""
    party_pressure: tuple[float, ...]
    party_major: tuple[float, ...]
    party_targets: tuple[tuple[int, ...], ...]
    party_boost: tuple[float, ...]
    party_decay: tuple[float, ...]
    """ln 2 / half-life, per day."""
    # spoilers
    spoiler_rate: tuple[float, ...]
    spoiler_major: tuple[float, ...]
    spoiler_target: tuple[int, ...]
    spoiler_blame: tuple[float, ...]
    spoiler_blamed_on: tuple[int, ...]
    # guarantors
    incident_rate: tuple[float, ...]
    incident_target: tuple[int, ...]
    # collapse: for each side, the (actor index, tolerance) pairs in file order
    side_tolerances: tuple[tuple[tuple[int, float], ...], ...]
    side_members: tuple[tuple[int, ...], ...]
    """Parties of each side (all excited by a hostile event against it)."""
    # humanitarian and trigger
    convoys_per_day: int
    """Convoys a day (with phases: the most of any phase, so that convoys run when any phase
    has some; each phase's own is in its tables)."""
    first_day: int
    success_prob: float
    penalty: float
    required_deliveries: int
    max_strain: float | None
    permission_prob: float = 1.0
    recovery: float = 0.0
    """Strain recovery rate per day (ln 2 / half-life; 0: strain never fades)."""
    phase_names: tuple[str, ...] = ("window",)
    phase_days: tuple[int, ...] = ()
    phase_quiet: tuple[int, ...] = ()
    """Days checked by each gate (-1: the whole phase, extensions included)."""
    phase_extend: tuple[tuple[int, int], ...] = ()
    """Each phase's (extend_days, times) on a failed gate ((0, 0): cancel)."""
    phase_params: tuple[Params, ...] = ()
    """The single-window Params of each phase (empty: the scenario is one phase, itself)."""
    _tables: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    @property
    def n_phases(self) -> int:
        return len(self.phase_names)

    @property
    def horizon(self) -> int:
        """Days a run can last at most (the window, plus every possible extension)."""
        return self.window

    @property
    def shape(self) -> Shape:
        """How per-run arrays are laid out."""
        phases = self.phase_names if self.phase_params else ()
        return Shape(
            self.parties, self.spoilers, self.guarantors, self.sides, self.window, phases=phases
        )

    @property
    def sources(self) -> tuple[str, ...]:
        """Names of the sources of hostile events: parties, spoilers, guarantors."""
        return self.parties + self.spoilers + self.guarantors

    def tables(self) -> dict[str, np.ndarray]:
        """The arrays of the compiled engine (built once per Params): the fixed ones
        (:data:`STATIC`) as they are, the others (:data:`PER_SET`) with a leading axis of
        parameter sets, one per phase (set ``q``, phase ``f`` at ``q · phases + f``)."""
        if not self._tables:
            if self.phase_params:
                self._tables.update(stack_phases([_tables(x) for x in self.phase_params]))
            else:
                self._tables.update(_tables(self))
        return self._tables

    @classmethod
    def from_scenario(cls, s: Scenario) -> Params:
        """The numbers of ``s``; with phases, those of each phase and how the phases run."""
        phases = phase_list(s)
        single = cls._single(s)
        quiet = tuple(-1 if f.gate.quiet_days is None else f.gate.quiet_days for f in phases)
        extend = tuple(
            (0, 0) if f.on_fail == "cancel" else (f.on_fail.extend_days, f.on_fail.times)
            for f in phases
        )
        horizon = sum(f.days + e * k for f, (e, k) in zip(phases, extend, strict=True))
        per_phase = (
            _common_tolerances([cls._single(x) for x in phase_scenarios(s)])
            if s.phases is not None
            else ()
        )
        return replace(
            single,
            window=horizon,
            # the most convoys a day of any phase: convoys run if any phase has some
            convoys_per_day=max(
                (x.convoys_per_day for x in per_phase), default=single.convoys_per_day
            ),
            phase_names=tuple(f.name for f in phases),
            phase_days=tuple(f.days for f in phases),
            phase_quiet=quiet,
            phase_extend=extend,
            phase_params=per_phase,
            _tables={},
        )

    @classmethod
    def _single(cls, s: Scenario) -> Params:
        sides = s.sides
        side_ix = {name: i for i, name in enumerate(sides)}
        parties = tuple(s.parties)
        party_ix = {name: i for i, name in enumerate(parties)}
        actors = parties + tuple(s.guarantors)
        tolerances: list[list[tuple[int, float]]] = [[] for _ in sides]
        for i, name in enumerate(parties):
            tol = s.parties[name].tolerance
            if tol is not None:
                tolerances[side_ix[s.parties[name].side]].append((i, tol))
        for j, name in enumerate(s.guarantors):
            tol = s.guarantors[name].tolerance
            if tol is not None:
                tolerances[side_ix[s.guarantor_side(name)]].append((len(parties) + j, tol))
        h = s.humanitarian
        sp = s.spoilers.values()
        gs = s.guarantors.values()
        return cls(
            window=s.window_days,
            major_weight=s.rules.major_weight,
            max_events=s.monte_carlo.max_events,
            sides=sides,
            parties=parties,
            spoilers=tuple(s.spoilers),
            guarantors=tuple(s.guarantors),
            actors=actors,
            party_side=tuple(side_ix[p.side] for p in s.parties.values()),
            party_mu=tuple(s.base_rates(n) for n in parties),
            party_pressure=tuple(s.pressure_on(n) for n in parties),
            party_major=tuple(p.major_share for p in s.parties.values()),
            party_targets=tuple(tuple(side_ix[t] for t in s.target_sides(n)) for n in parties),
            party_boost=tuple(p.retaliation.boost for p in s.parties.values()),
            party_decay=tuple(
                math.log(2) * 24 / p.retaliation.half_life_hours for p in s.parties.values()
            ),
            spoiler_rate=tuple(s.attack_rate(n) for n in s.spoilers),
            spoiler_major=tuple(x.major_share for x in sp),
            spoiler_target=tuple(side_ix[x.targets] for x in sp),
            spoiler_blame=tuple(x.blame_prob if x.blamed_on else 0.0 for x in sp),
            spoiler_blamed_on=tuple(
                party_ix.get(x.blamed_on, -1) if x.blamed_on else -1 for x in sp
            ),
            incident_rate=tuple(-math.log1p(-g.incident_prob) for g in gs),
            incident_target=tuple(
                side_ix[g.incident_target] if g.incident_target else -1 for g in gs
            ),
            side_tolerances=tuple(tuple(t) for t in tolerances),
            side_members=tuple(
                tuple(i for i, p in enumerate(parties) if s.parties[p].side == side)
                for side in sides
            ),
            convoys_per_day=h.convoys_per_day if h else 0,
            first_day=h.first_day if h else 0,
            success_prob=h.success_prob if h else 0.0,
            penalty=h.major_violation_penalty if h else 0.0,
            required_deliveries=h.required_deliveries if h else 0,
            max_strain=s.trigger.max_strain,
            permission_prob=h.permission_prob if h else 1.0,
            recovery=(
                math.log(2) / s.rules.strain_half_life_days
                if s.rules.strain_half_life_days
                else 0.0
            ),
        )


def _common_tolerances(phases: list[Params]) -> tuple[Params, ...]:
    """The phases with one layout of tolerances: on each side, every actor that has a
    tolerance in any phase, in file order (inf in a phase where it has none). The engines
    keep the layout fixed over a run, so a tolerance a phase adds is then in force."""
    n_sides = len(phases[0].sides)
    actors = [sorted({a for x in phases for a, _ in x.side_tolerances[k]}) for k in range(n_sides)]
    out = []
    for x in phases:
        own = [dict(pairs) for pairs in x.side_tolerances]
        layout = tuple(
            tuple((a, own[k].get(a, math.inf)) for a in actors[k]) for k in range(n_sides)
        )
        out.append(replace(x, side_tolerances=layout))
    return tuple(out)


Tables = dict[str, np.ndarray]
"""The compiled engine's arrays by name."""

STATIC = ("keys", "targets", "n_targets", "excites", "n_excites", "tol_actor", "n_tol")
"""Tables that no assumption can change (names, sides, targets, order of tolerances)."""
PER_SET = (
    "rates", "peak", "active", "boost", "decay", "major", "attributed", "tol",
    "major_weight", "recovery", "success", "penalty", "permission", "required", "max_strain",
    "convoys",
)  # fmt: skip
"""Tables with one entry per parameter set (``--integrate``: one set per run)."""


def parameter_sets(
    p: Params, runs: int, tables: Tables | None, which: np.ndarray | None
) -> tuple[Tables, np.ndarray]:
    """The tables and each run's parameter set (defaults: ``p``'s own, set 0 for all)."""
    tables = p.tables() if tables is None else tables
    which = np.zeros(runs, np.int64) if which is None else np.asarray(which, np.int64)
    return tables, which


def finish_rates(rates: np.ndarray, window: int) -> dict[str, np.ndarray]:
    """Complete ``rates[..., source, day]`` (with its spare last column): mark constant rates
    (stored as −rate in the last column: the inversion then needs no walk over days), the
    highest rate still to come, and which sources can act at all."""
    rates = np.ascontiguousarray(rates)
    lead = rates.shape[:-1]
    peak = np.empty((*lead, window))
    active = np.empty(lead, bool)
    _finish_rows(
        rates.reshape(-1, window + 1), window, peak.reshape(-1, window), active.reshape(-1)
    )
    return {"rates": rates, "peak": peak, "active": active}


@nb.njit(cache=True, nogil=True)
def _finish_rows(rows: np.ndarray, w: int, peak: np.ndarray, active: np.ndarray) -> None:
    """:func:`finish_rates` on one source's days per row (compiled: with one parameter set
    per run, the rows number in the millions and numpy's strided day-axis passes cost more
    than the rest of building the sets)."""
    for i in range(rows.shape[0]):
        first = rows[i, 0]
        flat, can = True, first > 0.0
        top = rows[i, w - 1]
        peak[i, w - 1] = top
        for d in range(w - 2, -1, -1):
            top = max(top, rows[i, d])
            peak[i, d] = top
        for d in range(1, w):
            flat = flat and rows[i, d] == first
            can = can or rows[i, d] > 0.0
        rows[i, w] = -first if flat else 0.0
        active[i] = can


def stack_phases(phases: list[Tables]) -> Tables:
    """One table set from the phases' sets, set by set: parameter set ``r`` of phase ``f`` at
    ``r · phases + f``, as the engines read them (each phase holds the same number of sets;
    day axes are padded to the longest phase by repeating its last day, and the
    constant-rate marker stays in the last column)."""
    n = len(phases)
    out = dict(phases[0])  # the fixed tables are the same in every phase
    days = max(t["peak"].shape[-1] for t in phases)
    for name in PER_SET:
        first = phases[0][name]
        sets = first.shape[0]
        daily = name in ("rates", "peak")
        marker = 1 if name == "rates" else 0
        inner = (*first.shape[1:-1], days + marker) if daily else first.shape[1:]
        a = np.zeros((sets, n, *inner), first.dtype)
        for f, t in enumerate(phases):
            x = t[name]
            if daily:
                body = x.shape[-1] - marker
                a[:, f, ..., :body] = x[..., :body]
                a[:, f, ..., body:days] = x[..., body - 1 : body]
                if marker:
                    a[:, f, ..., -1] = x[..., -1]
            else:
                a[:, f] = x
        out[name] = a.reshape(sets * n, *inner)
    return out


def _tables(p: Params) -> dict[str, np.ndarray]:
    n_p, n_s, n_g, w = len(p.parties), len(p.spoilers), len(p.guarantors), p.window
    n = n_p + n_s + n_g
    rates = np.zeros((1, n, w + 1))
    mu = np.asarray(p.party_mu, float).reshape(n_p, w)
    rates[0, :n_p, :w] = mu * (1.0 - np.asarray(p.party_pressure, float))[:, None]
    rates[0, n_p : n_p + n_s, :w] = np.asarray(p.spoiler_rate, float)[:, None]
    rates[0, n_p + n_s :, :w] = np.asarray(p.incident_rate, float)[:, None]
    keys = [streams.mechanism_key("party", x) for x in p.parties]
    keys += [streams.mechanism_key("spoiler", x) for x in p.spoilers]
    keys += [streams.mechanism_key("incident", x) for x in p.guarantors]
    width = max((len(t) for t in p.party_targets), default=1)
    targets = np.full((n, width), -1, np.int64)
    n_targets = np.ones(n, np.int64)
    for i, t in enumerate(p.party_targets):
        targets[i, : len(t)] = t
        n_targets[i] = len(t)
    targets[n_p : n_p + n_s, 0] = p.spoiler_target
    targets[n_p + n_s :, 0] = p.incident_target
    # a hostile event excites the parties of the attacked side (those that retaliate and can
    # act: the engines check boost and activity per parameter set)
    members = p.side_members
    excites = np.full((len(p.sides), max((len(m) for m in members), default=0) or 1), -1, np.int64)
    for side, m in enumerate(members):
        excites[side, : len(m)] = m
    depth = max((len(t) for t in p.side_tolerances), default=0) or 1
    tol = np.full((1, len(p.sides), depth), np.inf)
    tol_actor = np.full((len(p.sides), depth), -1, np.int64)
    for side, pairs in enumerate(p.side_tolerances):
        for j, (actor, value) in enumerate(pairs):
            tol[0, side, j], tol_actor[side, j] = value, actor
    one = np.ones(1)
    return {
        **finish_rates(rates, w),
        "keys": np.asarray(keys, np.int64),
        "boost": np.asarray([list(p.party_boost) + [0.0] * (n_s + n_g)]),
        "decay": np.asarray([list(p.party_decay) + [0.0] * (n_s + n_g)]),
        "major": np.asarray([list(p.party_major) + list(p.spoiler_major) + [1.0] * n_g]),
        "attributed": np.asarray([[1.0] * n_p + list(p.spoiler_blame) + [1.0] * n_g]),
        "targets": targets,
        "n_targets": n_targets,
        "excites": excites,
        "n_excites": np.asarray([len(m) for m in members], np.int64),
        "tol": tol,
        "tol_actor": tol_actor,
        "n_tol": np.asarray([len(t) for t in p.side_tolerances], np.int64),
        "major_weight": one * p.major_weight,
        "recovery": one * p.recovery,
        "success": one * p.success_prob,
        "penalty": one * p.penalty,
        "permission": one * p.permission_prob,
        "required": np.asarray([p.required_deliveries], np.int64),
        "max_strain": one * (np.nan if p.max_strain is None else p.max_strain),
        "convoys": np.asarray([p.convoys_per_day], np.int64),
    }
