"""The reference engine: SPEC §2–7 as SimPy processes.

One run is a SimPy :class:`~simpy.Environment` with three processes:

* **hostilities** — every source of hostile events (party violations, spoiler attacks,
  guarantor incidents) as one marked point process, simulated exactly by Ogata's thinning:
  propose the next event from an upper bound of the total hazard, accept it with probability
  (true hazard / bound), and pick its source in proportion to the sources' hazards. Between
  events the excitation only decays, so the hazard at the current time, with the current
  day's base rates, bounds it until the end of the day; a proposal past midnight moves to
  midnight and proposes again (memorylessness makes this exact). The process yields to
  SimPy once per accepted event;
* **convoys** — humanitarian convoys at ``d + 0.5`` of every day from ``first_day``;
* **window** — at ``t = window_days`` applies the trigger's conditions (SPEC §7).

The *trigger* is a SimPy event: the window process succeeds it with the outcome, or a
collapse succeeds it early with ``cancelled_collapse``; the run stops when it fires.

Randomness comes only from the ``Generator`` passed in, consumed in a fixed order
(blocks of uniforms), so a run is a pure function of its generator's state.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterator

import numpy as np
import simpy

from ..errors import RunawayError
from ..records import (
    OUTCOME_ACCESS,
    OUTCOME_COLLAPSE,
    OUTCOME_TRIGGERED,
    OUTCOME_VIOLENCE,
    RunRecord,
    TraceEvent,
)
from .params import Params

_BLOCK = 64  # uniforms drawn from the generator at a time


def _uniforms(rng: np.random.Generator) -> Iterator[float]:
    while True:
        yield from rng.random(_BLOCK).tolist()


class _Run:
    """The state of one run and the SimPy processes that change it."""

    def __init__(self, p: Params, rng: np.random.Generator, trace: list[TraceEvent] | None):
        self.p = p
        self.draw = _uniforms(rng).__next__
        self.trace = trace
        self.env = simpy.Environment()
        self.trigger = self.env.event()
        n_parties, n_sides = len(p.parties), len(p.sides)
        self.excitation = [0.0] * n_parties
        self.strain = [0.0] * n_sides
        self.strain_events: list[tuple[float, int, float]] = []
        self.late_strain = 0.0
        self.major_times: list[float] = []
        self.violations = [0] * n_parties
        self.majors = [0] * n_parties
        self.attacks = [0] * len(p.spoilers)
        self.blamed = [0] * len(p.spoilers)
        self.incidents = [0] * len(p.guarantors)
        self.deliveries = 0
        self.events = 0
        self.collapse_time = math.nan
        self.collapsed_by = -1

    # ------------------------------------------------------------------ mechanisms

    def hostile(self, t: float, side: int, major: bool) -> None:
        """A hostile event against ``side``: excite its parties; note it if major."""
        p = self.p
        for i in p.side_members[side]:
            if p.party_boost[i]:
                self.excitation[i] += p.party_boost[i]
        if major:
            self.major_times.append(t)
        self.events += 1
        if self.events > p.max_events:
            raise RunawayError(
                f"a run exceeded monte_carlo.max_events ({p.max_events} hostile events) by "
                f"day {t:.2f}: the excitation is explosive; lower retaliation.boost or "
                "half_life_hours (see `ceasefire validate`)"
            )

    def add_strain(self, t: float, side: int, weight: float) -> bool:
        """Attribute ``weight`` to ``side``; declare a collapse if a tolerance is crossed."""
        strain = self.strain[side] = self.strain[side] + weight
        self.strain_events.append((t, side, weight))
        if t >= self.p.quiet_from:
            self.late_strain += weight
        for actor, tolerance in self.p.side_tolerances[side]:
            if strain > tolerance:
                self.collapse_time, self.collapsed_by = t, actor
                if self.trace is not None:
                    self.trace.append(
                        TraceEvent(
                            t,
                            "collapse",
                            {
                                "actor": self.p.actors[actor],
                                "side": self.p.sides[side],
                                "strain": strain,
                                "tolerance": tolerance,
                            },
                        )
                    )
                self.trigger.succeed(OUTCOME_COLLAPSE)
                return True
        return False

    def violation(self, t: float, i: int) -> bool:
        p, u = self.p, self.draw
        targets = p.party_targets[i]
        side = targets[0] if len(targets) == 1 else targets[int(u() * len(targets))]
        major = u() < p.party_major[i]
        self.violations[i] += 1
        self.majors[i] += major
        if self.trace is not None:
            self._note(t, "violation", party=p.parties[i], target=p.sides[side], major=major)
        self.hostile(t, side, major)
        return self.add_strain(t, side, p.major_weight if major else 1.0)

    def attack(self, t: float, k: int) -> bool:
        p, u = self.p, self.draw
        side = p.spoiler_target[k]
        major = u() < p.spoiler_major[k]
        blamed = p.spoiler_blame[k] > 0 and u() < p.spoiler_blame[k]
        self.attacks[k] += 1
        self.blamed[k] += blamed
        if self.trace is not None:
            self._note(
                t,
                "attack",
                spoiler=p.spoilers[k],
                target=p.sides[side],
                major=major,
                blamed_on=p.parties[p.spoiler_blamed_on[k]] if blamed else None,
            )
        self.hostile(t, side, major)
        return blamed and self.add_strain(t, side, p.major_weight if major else 1.0)

    def incident(self, t: float, g: int) -> bool:
        p = self.p
        side = p.incident_target[g]
        self.incidents[g] += 1
        if self.trace is not None:
            self._note(t, "incident", guarantor=p.guarantors[g], target=p.sides[side], major=True)
        self.hostile(t, side, True)
        return self.add_strain(t, side, p.major_weight)

    def _note(self, t: float, kind: str, **detail: object) -> None:
        """Add a step to the story (callers check ``self.trace`` first: it is the hot path)."""
        assert self.trace is not None
        self.trace.append(TraceEvent(t, kind, detail))

    # ------------------------------------------------------------------ processes

    def hostilities(self) -> Iterator[simpy.Event]:
        """Ogata thinning over all sources of hostile events."""
        p, env, u, x = self.p, self.env, self.draw, self.excitation
        window = p.window
        constant = [(self.attack, k, r) for k, r in enumerate(p.spoiler_rate) if r > 0]
        constant += [(self.incident, g, r) for g, r in enumerate(p.incident_rate) if r > 0]
        constant_total = sum(r for _, _, r in constant)
        parties = [i for i in range(len(p.parties)) if max(p.party_rate[i]) > 0]
        excitable = [(i, p.party_decay[i]) for i in parties if p.party_boost[i] > 0]
        rate = p.party_rate
        log, exp = math.log, math.exp
        t = 0.0
        proposals = 0
        cap = 50 * p.max_events  # proposals, accepted or not
        while True:
            # Find the next accepted event without yielding: rejected proposals and day
            # boundaries change nothing but time, and the excitation decays deterministically.
            while True:
                proposals += 1
                if proposals > cap:
                    raise RunawayError(
                        f"a run made {cap} proposals without ending: the hazard "
                        "is too high to simulate; lower the rates or retaliation"
                    )
                day = int(t)
                total = constant_total
                for i in parties:
                    total += rate[i][day] * (1.0 + x[i])
                t_next = t - log(1.0 - u()) / total if total > 0.0 else math.inf
                if t_next >= day + 1:  # the bound holds for this day only
                    t_next = day + 1.0
                    accept = False
                else:
                    accept = True
                if t_next >= window:
                    return
                for i, decay in excitable:
                    if x[i]:
                        x[i] *= exp(-decay * (t_next - t))
                t = t_next
                if not accept:
                    continue
                pick = u() * total
                for source in constant:
                    pick -= source[2]
                    if pick < 0.0:
                        fire, k, _ = source
                        break
                else:
                    for i in parties:
                        pick -= rate[i][day] * (1.0 + x[i])
                        if pick < 0.0:
                            fire, k = self.violation, i
                            break
                    else:
                        continue  # rejected proposal
                break
            yield env.timeout(t - env.now)
            if fire(t, k):
                return

    def convoys(self) -> Iterator[simpy.Event]:
        p, env, u = self.p, self.env, self.draw
        yield env.timeout(p.first_day + 0.5)
        for day in range(p.first_day, p.window):
            t = env.now
            # majors in (t - 1, t]: the list is in time order
            recent = len(self.major_times) - bisect_right(self.major_times, t - 1.0)
            chance = p.success_prob * (1.0 - p.penalty) ** recent
            delivered = sum(u() < chance for _ in range(p.convoys_per_day))
            self.deliveries += delivered
            if self.trace is not None:
                self._note(
                    t,
                    "convoys",
                    day=day,
                    attempted=p.convoys_per_day,
                    delivered=delivered,
                    majors_24h=recent,
                    chance=chance,
                )
            if day + 1 < p.window:
                yield env.timeout(1.0)

    def window_end(self) -> Iterator[simpy.Event]:
        p = self.p
        yield self.env.timeout(p.window)
        if p.max_strain is not None and self.late_strain > p.max_strain:
            outcome = OUTCOME_VIOLENCE
        elif self.deliveries < p.required_deliveries:
            outcome = OUTCOME_ACCESS
        else:
            outcome = OUTCOME_TRIGGERED
        if self.trace is not None:
            self._note(
                p.window, "window_end", late_strain=self.late_strain, deliveries=self.deliveries
            )
        self.trigger.succeed(outcome)

    # ------------------------------------------------------------------ the run

    def execute(self) -> RunRecord:
        env, p = self.env, self.p
        env.process(self.hostilities())
        if p.convoys_per_day:
            env.process(self.convoys())
        env.process(self.window_end())
        outcome = env.run(until=self.trigger)
        return RunRecord(
            outcome=outcome,
            collapse_time=self.collapse_time,
            collapsed_by=self.collapsed_by,
            deliveries=self.deliveries,
            violations=tuple(self.violations),
            major_violations=tuple(self.majors),
            attacks=tuple(self.attacks),
            blamed=tuple(self.blamed),
            incidents=tuple(self.incidents),
            strain_daily=_daily(self.strain_events, len(p.sides), p.window),
        )


def _daily(
    events: list[tuple[float, int, float]], n_sides: int, window: int
) -> tuple[tuple[float, ...], ...]:
    """Strain of each side at the end of days 1..window from (time, side, weight) events."""
    rows = [[0.0] * window for _ in range(n_sides)]
    for t, side, w in events:
        row = rows[side]
        for d in range(int(t), window):
            row[d] += w
    return tuple(tuple(r) for r in rows)


def run(
    params: Params, rng: np.random.Generator, trace: list[TraceEvent] | None = None
) -> RunRecord:
    """Simulate one run of ``params`` with ``rng``; append its story to ``trace`` if given."""
    return _Run(params, rng, trace).execute()
