"""The reference engine: the model (docs/model.md) as SimPy processes, one run at a time.

One run is a SimPy :class:`~simpy.Environment` with three processes:

* **hostilities** — every source of hostile events (party violations, spoiler attacks,
  guarantor incidents) keeps the time of its next event, found by the time-change method
  (:mod:`sim.engines.rules`); the process waits until the earliest, applies that event (marks,
  excitation of the attacked side, strain, collapse) and solves again the sources whose
  hazard changed;
* **convoys** — humanitarian convoys at ``d + 0.5`` of every day from ``first_day``, after
  one permission draw at the start of the window;
* **window** — at ``t = window_days`` applies the trigger's conditions.

The *trigger* is a SimPy event: the window process succeeds it with the outcome, or a
collapse succeeds it early with ``cancelled_collapse``; the run stops when it fires.

Every random number comes from the run's streams (:mod:`sim.streams`), one per mechanism,
and every rule from :mod:`sim.engines.rules`, which the fast engine compiles into its loop:
the two engines give the same run for the same (scenario, seed, run index).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from typing import Any

import numpy as np
import simpy

from .. import streams
from ..errors import RunawayError
from ..outcomes import OUTCOMES
from ..records import Columns, Run, TraceEvent
from . import rules
from .fast_engine import _load_phase, not_finite_message, runaway_message
from .params import Params, Tables, parameter_sets


def _plain(rule: Any) -> Any:
    """A compiled rule's Python function (the rule itself when numba's JIT is disabled)."""
    return getattr(rule, "py_func", rule)


# The cheap rules run as plain Python here (their compiled form costs more to call than to
# run); the inversion and the streams are called compiled. Either way the arithmetic is the
# rule's own, so the engines agree.
_next_event = rules.next_event
_provoke = rules.provoke
_pick = _plain(rules.pick)
_decayed = _plain(rules.decayed)
_recovered = _plain(rules.recovered)
_crossing = _plain(rules.crossing)
_convoy_slot = _plain(rules.convoy_slot)
_convoy_chance = _plain(rules.convoy_chance)
_convoy_passes = rules.convoy_passes
_at_day_end = _plain(rules.strain_at_day_end)
_CONVOYS = streams.mechanism_key("convoys")
_PERMISSION = streams.mechanism_key("permission")
_late_strain = _plain(rules.late_strain)


class _Static:
    """Parameter set ``q`` of the scenario's tables as Python values (read on every event),
    built once per batch and set."""

    def __init__(self, tb: Tables, q: int, p: Params, phase: int, start: int) -> None:
        horizon, n = p.horizon, len(p.sources)
        cur_rates, cur_peak = np.zeros((n, horizon + 1)), np.zeros((n, horizon))
        _load_phase(tb["rates"][q], tb["peak"][q], p.phase_days[phase], start, cur_rates, cur_peak)
        self.rates = list(cur_rates)
        self.peak = cur_peak
        self.keys = tb["keys"].tolist()
        self.decay = tb["decay"][q].tolist()
        self.boost = tb["boost"][q].tolist()
        self.major_share = tb["major"][q].tolist()
        self.attributed_share = tb["attributed"][q].tolist()
        active = tb["active"][q].tolist()
        self.active = [s for s, a in enumerate(active) if a]
        pairs = zip(tb["targets"], tb["n_targets"], strict=True)
        self.targets = [row[:k].tolist() for row, k in pairs]
        # a party that cannot act in this phase is still excited when a later phase may let
        # it act: excitation carries over between phases
        self.excites = [
            [m for m in row[:k].tolist() if self.boost[m] > 0 and (active[m] or p.n_phases > 1)]
            for row, k in zip(tb["excites"], tb["n_excites"], strict=True)
        ]
        self.tol = tb["tol"][q].tolist()
        self.n_tol = tb["n_tol"].tolist()
        self.tol_actor = tb["tol_actor"].tolist()
        self.major_weight = float(tb["major_weight"][q])
        self.recovery = float(tb["recovery"][q])
        self.success = float(tb["success"][q])
        self.penalty = float(tb["penalty"][q])
        self.permission = float(tb["permission"][q])
        self.required = int(tb["required"][q])
        self.max_strain = float(tb["max_strain"][q])
        self.convoys = int(tb["convoys"][q])


class _Run:
    """The state of one run and the SimPy processes that change it."""

    def __init__(
        self,
        p: Params,
        statics: Callable[[int, int], _Static],
        seed: int,
        run: int,
        trace: list[TraceEvent] | None,
    ) -> None:
        st = statics(0, 0)
        self.statics = statics
        self.use(st)
        self.p, self.run, self.trace = p, run, trace
        self.seed = streams.seed_key(seed)
        self.env = simpy.Environment()
        self.trigger = self.env.event()
        n, n_sides = len(p.sources), len(p.sides)
        self.keys, self.targets = st.keys, st.targets
        self.n_tol, self.tol_actor = st.n_tol, st.tol_actor
        self.phase, self.passed, self.extended = 0, 0, 0
        self.start, self.end = 0, p.phase_days[0]
        self.boundary = self.env.event()
        self.permitted = False
        self.phase_deliveries = 0
        self.anchor = [0.0] * n
        self.x = [0.0] * n
        self.target = [0.0] * n
        self.tau = [0.0] * n
        self.k = [0] * n
        self.marks = [(0.0, 0.0, 0.0)] * n
        self.count = [0] * n
        self.majors = [0] * n
        self.attributed = [0] * n
        self.daily = [[0] * p.window for _ in range(n)]
        self.strain = [0.0] * n_sides
        self.strain_t = [0.0] * n_sides
        self.added = [[0.0] * p.window for _ in range(n_sides)]
        self.day_strain = [0.0] * p.window
        self.majors_by_slot = [0] * (p.horizon + 1)
        self.deliveries = 0
        self.events = 0
        self.collapse_time = math.nan
        self.collapsed_by = -1
        self.cancelled = -1  # the day a failed gate ended the run

    # ------------------------------------------------------------------ sources

    def _draw(self, s: int, now: float) -> None:
        """Source ``s`` draws the gap and marks of its next event from its stream."""
        target, u1, u2, u3, self.tau[s] = _next_event(
            self.seed, self.keys[s], self.run, self.k[s], now, self.x[s], self.rates[s],
            self.decay[s], float(self.end),
        )  # fmt: skip
        self.k[s] += 1
        self.target[s] = target
        self.marks[s] = (u1, u2, u3)
        self.anchor[s] = now

    def _provoke(self, m: int, now: float) -> None:
        """Party ``m``'s side was attacked at ``now``: excite it and solve its time again."""
        self.x[m], self.target[m], self.tau[m] = _provoke(
            self.anchor[m], self.x[m], self.target[m], now, self.boost[m], self.rates[m],
            self.decay[m], float(self.end),
        )  # fmt: skip
        self.anchor[m] = now

    # ------------------------------------------------------------------ an event

    def event(self, now: float, s: int) -> bool:
        """Source ``s``'s event at ``now``; True if it ends the run (a collapse)."""
        p = self.p
        self.events += 1
        if self.events > p.max_events:
            raise RunawayError(runaway_message(p, self.run), self.run)
        u_target, u_major, u_blame = self.marks[s]
        targets = self.targets[s]
        n_p = len(p.parties)
        side = targets[_pick(u_target, len(targets))] if s < n_p else targets[0]
        major = u_major < self.major_share[s]
        attributed = u_blame < self.attributed_share[s]
        day = int(now)
        self.count[s] += 1
        self.majors[s] += major
        self.attributed[s] += attributed
        self.daily[s][day] += 1
        if major:
            slot = _convoy_slot(now)
            if slot < p.horizon:
                self.majors_by_slot[slot] += 1
        self.x[s] = _decayed(self.x[s], self.decay[s], now - self.anchor[s])
        self.anchor[s] = now
        self._draw(s, now)
        for m in self.excites[side]:
            self._provoke(m, now)
        if not attributed:
            if self.trace is not None:
                self._note_event(now, s, side, major, attributed)
            return False
        st = self.st
        weight = st.major_weight if major else 1.0
        strain = _recovered(self.strain[side], st.recovery, now - self.strain_t[side])
        strain += weight
        self.strain[side], self.strain_t[side] = strain, now
        self.day_strain[day] += weight
        self.added[side][day] += _at_day_end(weight, now, st.recovery)
        if self.trace is not None:
            self._note_event(now, s, side, major, attributed)
        crossed = _crossing(strain, self.tol[side], self.n_tol[side])
        if crossed < 0:
            return False
        self.collapse(now, side, crossed, strain)
        return True

    def collapse(self, now: float, side: int, crossed: int, strain: float) -> None:
        """The first actor of ``side`` whose tolerance ``strain`` exceeds walks away."""
        self.collapse_time, self.collapsed_by = now, self.tol_actor[side][crossed]
        if self.trace is not None:
            self._note(
                now,
                "collapse",
                actor=self.p.actors[self.collapsed_by],
                side=self.p.sides[side],
                strain=strain,
                tolerance=float(self.tol[side][crossed]),
            )
        self.trigger.succeed(rules.COLLAPSE)

    def _note_event(self, now: float, s: int, side: int, major: bool, attributed: bool) -> None:
        """Tell an event, with every side's strain just after it (recovery included)."""
        p = self.p
        recovery = self.st.recovery
        strain = {
            p.sides[k]: _recovered(level, recovery, now - self.strain_t[k])
            for k, level in enumerate(self.strain)
        }
        n_p, n_s = len(p.parties), len(p.spoilers)
        if s < n_p:
            self._note(
                now, "violation", party=p.parties[s], target=p.sides[side], major=major,
                levels=strain,
            )  # fmt: skip
        elif s < n_p + n_s:
            k = s - n_p
            blamed = p.parties[p.spoiler_blamed_on[k]] if attributed else None
            self._note(
                now,
                "attack",
                spoiler=p.spoilers[k],
                target=p.sides[side],
                major=major,
                blamed_on=blamed,
                levels=strain,
            )
        else:
            g = s - n_p - n_s
            self._note(
                now, "incident", guarantor=p.guarantors[g], target=p.sides[side], major=True,
                levels=strain,
            )  # fmt: skip

    def _note(self, t: float, kind: str, **detail: object) -> None:
        """Add a step to the story (callers check ``self.trace`` first: it is the hot path)."""
        assert self.trace is not None
        self.trace.append(TraceEvent(t, kind, detail))

    # ------------------------------------------------------------------ processes

    def hostilities(self) -> Generator[simpy.Event, Any, None]:
        """Wait for the earliest next event of any source, apply it, repeat; when no source
        acts before the phase's end, wait for the phase to move on."""
        env, tau = self.env, self.tau
        sources = range(len(tau))
        while True:
            s = min(sources, key=tau.__getitem__)
            now = tau[s]
            if now >= self.end:
                yield self.boundary
                continue
            yield env.timeout(now - env.now)
            if self.event(now, s):
                return

    def convoys(self) -> Generator[simpy.Event, Any, None]:
        """Convoys at mid-day of every day from ``first_day`` while the agreement holds."""
        p, env = self.p, self.env
        key = _CONVOYS
        day = p.first_day
        while True:
            if day + 0.5 >= self.end:
                yield self.boundary
                continue
            yield env.timeout(day + 0.5 - env.now)
            st = self.st
            if not st.convoys:  # a phase without convoys
                day += 1
                continue
            recent = self.majors_by_slot[day]
            chance = _convoy_chance(st.success, st.penalty, recent) if self.permitted else 0.0
            delivered = 0
            for c in range(st.convoys if chance > 0.0 else 0):  # none can pass: no draw
                delivered += _convoy_passes(self.seed, key, self.run, day, c, chance)
            self.deliveries += delivered
            self.phase_deliveries += delivered
            if self.trace is not None:
                self._note(
                    day + 0.5,
                    "convoys",
                    day=day,
                    attempted=st.convoys,
                    delivered=delivered,
                    majors_24h=recent,
                    chance=chance,
                    permitted=self.permitted,
                )
            day += 1

    def phases(self) -> Generator[simpy.Event, Any, None]:
        """Each phase: enter it, wait for its end, check its gate."""
        p, env = self.p, self.env
        if self.enter():
            return
        while True:
            yield env.timeout(self.end - env.now)
            st, phase, end = self.st, self.phase, self.end
            quiet = p.phase_quiet[phase]
            first = self.start if quiet < 0 else end - quiet
            late = _late_strain(self.day_strain, first, end)
            code = rules.gate(late, st.max_strain, self.phase_deliveries, st.required)
            if self.trace is not None:
                self._note(
                    end,
                    "gate",
                    phase=p.phase_names[phase],
                    late_strain=late,
                    quiet_days=end - first,
                    deliveries=self.phase_deliveries,
                    passed=code == rules.TRIGGERED,
                    outcome=OUTCOMES[code],
                )
            if code == rules.TRIGGERED:
                self.passed += 1
                if phase == p.n_phases - 1:
                    self.trigger.succeed(code)
                    return
                for m in range(len(self.tau)):  # every source to the boundary, old values
                    self.x[m], self.target[m] = rules.rebase(
                        self.anchor[m], self.x[m], self.target[m], end, self.rates[m],
                        self.decay[m],
                    )  # fmt: skip
                    self.anchor[m] = end
                self.phase += 1
                self.extended = 0
                self.start, self.end = end, end + p.phase_days[self.phase]
                if self.enter():
                    return
            elif self.extended < p.phase_extend[phase][1]:
                self.extended += 1
                self.end += p.phase_extend[phase][0]
                if self.trace is not None:
                    self._note(end, "extension", phase=p.phase_names[phase], until=self.end)
                for m in self.active:
                    self.tau[m] = rules.solve(
                        self.anchor[m], self.x[m], self.target[m], self.rates[m], self.decay[m],
                        float(self.end),
                    )  # fmt: skip
            else:
                self.cancelled = int(end)
                self.trigger.succeed(code)
                return
            self.boundary.succeed()
            self.boundary = env.event()

    def use(self, st: _Static) -> _Static:
        """Put a phase's values in force (the hot path reads them as attributes)."""
        self.st = st
        self.rates, self.decay, self.boost = st.rates, st.decay, st.boost
        self.major_share, self.attributed_share = st.major_share, st.attributed_share
        self.excites, self.tol, self.active = st.excites, st.tol, st.active
        return st

    def enter(self) -> bool:
        """Start the current phase: its values, its permission draw, every source's next
        time; True if a lower tolerance is crossed at once (a collapse)."""
        p, phase, start = self.p, self.phase, self.start
        st = self.use(self.statics(phase, start))
        block = streams.block(self.seed, _PERMISSION, self.run, phase)
        self.permitted = block[0] < st.permission
        self.phase_deliveries = 0
        if self.trace is not None and p.phase_params:
            self._note(start, "phase", phase=p.phase_names[phase], permitted=self.permitted)
        elif self.trace is not None and p.convoys_per_day and st.permission < 1:
            self._note(start, "access", permitted=self.permitted)  # the window's one decision
        tau = self.tau
        for s in range(len(tau)):
            tau[s] = math.inf
        for s in st.active:
            if self.k[s] == 0:
                self._draw(s, float(start))
            else:
                tau[s] = rules.solve(
                    self.anchor[s], self.x[s], self.target[s], self.rates[s], self.decay[s],
                    float(self.end),
                )  # fmt: skip
        if phase == 0:
            return False
        for side in range(len(self.strain)):
            level = _recovered(self.strain[side], st.recovery, start - self.strain_t[side])
            crossed = _crossing(level, self.tol[side], self.n_tol[side])
            if crossed >= 0:
                self.collapse(float(start), side, crossed, level)
                return True
        return False

    # ------------------------------------------------------------------ the run

    def execute(self) -> tuple[Any, ...]:
        """Run to the end; the run's record as plain values (see :func:`_collect`)."""
        env, p = self.env, self.p
        env.process(self.phases())
        env.process(self.hostilities())
        if p.convoys_per_day:
            env.process(self.convoys())
        outcome = env.run(until=self.trigger)
        return (
            outcome, self.collapse_time, self.collapsed_by, self.deliveries, self.phase,
            self.passed, self.cancelled, self.count, self.majors, self.attributed, self.daily,
            self.added, self.st.recovery,
            self.collapse_time if self.collapsed_by >= 0 else float(self.end),
        )  # fmt: skip


def _collect(p: Params, records: list[tuple[Any, ...]]) -> Columns:
    """Columns from the runs' plain records, converted once per batch."""
    cols = Columns.empty(p.shape, len(records))
    if not records:
        return cols
    fields = list(zip(*records, strict=True))
    for name, values in zip(
        (
            "outcome", "collapse_time", "collapsed_by", "deliveries", "phase", "phases_passed",
            "cancelled_day",
        ),
        fields[:7],
        strict=True,
    ):  # fmt: skip
        cols.arrays[name][:] = values
    cols.events_daily[:] = fields[10]
    for row, (added, recovery, end) in enumerate(zip(*fields[11:14], strict=True)):
        rules.daily_strain(np.array(added), recovery, end, cols.strain_daily[row])
    count, major, attributed = (np.array(f, np.int32) for f in fields[7:10])
    cols.set_sources(p.shape, count, major, attributed)
    return cols


def run_batch(
    p: Params,
    seed: int,
    runs: np.ndarray,
    tables: Tables | None = None,
    which: np.ndarray | None = None,
) -> Columns:
    """Simulate the runs with indices ``runs`` of ``p`` under ``seed``; their columns.

    ``tables`` (default ``p.tables()``) may hold several parameter sets, ``which[i]`` being
    the set of run ``runs[i]`` (``--integrate``: one set per run)."""
    tables, which = parameter_sets(p, len(runs), tables, which)
    cache: dict[tuple[int, int], _Static] = {}
    records = []
    for run, q in zip(np.asarray(runs).tolist(), which.tolist(), strict=True):
        if len(cache) > 256:
            cache.clear()
        statics = _statics(p, tables, q, cache)
        try:
            records.append(_Run(p, statics, seed, run, None).execute())
        except OverflowError:
            raise RunawayError(not_finite_message(run), run) from None
    return _collect(p, records)


def _statics(
    p: Params, tables: Tables, q: int, cache: dict[tuple[int, int], _Static]
) -> Callable[[int, int], _Static]:
    """The set-``q`` tables of a phase entered on a day, built once per batch."""

    def get(phase: int, start: int) -> _Static:
        index = q * p.n_phases + phase
        key = (index, start)
        if key not in cache:
            cache[key] = _Static(tables, index, p, phase, start)
        return cache[key]

    return get


def story(p: Params, seed: int, run: int) -> tuple[Run, list[TraceEvent]]:
    """Run ``run`` under ``seed`` with its story, event by event."""
    events: list[TraceEvent] = []
    statics = _statics(p, p.tables(), 0, {})
    try:
        record = _Run(p, statics, seed, run, events).execute()
    except OverflowError:
        raise RunawayError(not_finite_message(run), run) from None
    return _collect(p, [record]).row(0), events
