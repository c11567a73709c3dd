"""The fast engine: the model compiled with numba, one run after another in machine code.

It simulates exactly what the SimPy engine simulates, run by run: the same random streams
(:mod:`sim.streams`, keyed by seed, run and mechanism), the same rules
(:mod:`sim.engines.rules`, the same compiled functions), the same order of decisions. Each
source of hostile events keeps the time of its next event (time-change method); the loop
takes the earliest of those and of the next convoy, applies it, and solves again only the
sources whose hazard it changed. A runaway run stops the batch at once with its run index.

Compiled code is cached on disk (numba ``cache=True``), so the compile cost (see
docs/performance.md) is paid once per machine.
"""

from __future__ import annotations

import math
import sys

import numba as nb
import numpy as np

from .. import compiled, outcomes, streams
from ..errors import RunawayError
from ..records import Columns
from . import rules
from .params import PER_SET, STATIC, Params, Tables, parameter_sets

OK, RUNAWAY, NOT_FINITE = 0, 1, 2


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _load_phase(
    rates: np.ndarray, peak: np.ndarray, days: int, start: int,
    cur_rates: np.ndarray, cur_peak: np.ndarray,
) -> None:  # fmt: skip
    """Lay a phase's per-day tables out on the run's absolute days from ``start`` (days past
    the phase's own repeat its last day: extensions keep the phase's values)."""
    n, horizon = cur_peak.shape
    width = rates.shape[1] - 1
    for s in range(n):
        for d in range(start, horizon):
            rel = min(d - start, days - 1)
            cur_rates[s, d] = rates[s, rel]
            cur_peak[s, d] = peak[s, rel]
        cur_rates[s, horizon] = rates[s, width]


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _simulate(
    static: tuple,  # params.STATIC tables
    sets: tuple,  # params.PER_SET tables, each with a leading parameter-set axis
    which: np.ndarray,  # the parameter set of each row
    phases: tuple,  # (days, quiet, extend_days, extend_times) per phase
    n_parties: int,
    max_events: int,
    horizon: int,
    convoys_per_day: int,
    first_day: int,
    seed: np.int64,
    convoy_key: np.int64,
    permission_key: np.int64,
    runs: np.ndarray,
    out: tuple,
) -> tuple[int, int]:
    """Simulate ``runs`` (run indices) into the ``out`` arrays; (status, failing run)."""
    keys, targets, n_targets, excites, n_excites, tol_actor, n_tol = static
    phase_days, phase_quiet, extend_days, extend_times = phases
    (o_outcome, o_time, o_by, o_deliveries, o_count, o_major, o_attr, o_strain, o_daily,
     o_phase, o_passed, o_cancelled) = out  # fmt: skip
    n = keys.size
    n_sides = n_tol.size
    n_phases = phase_days.size
    anchor = np.zeros(n)
    x = np.zeros(n)
    target = np.zeros(n)
    tau = np.zeros(n)
    low = np.zeros(n)
    exact = np.zeros(n, np.bool_)
    k = np.zeros(n, np.int64)
    marks = np.zeros((n, 3))
    strain = np.zeros(n_sides)
    strain_t = np.zeros(n_sides)
    added = np.zeros((n_sides, horizon))
    day_strain = np.zeros(horizon)
    majors = np.zeros(horizon + 1, np.int64)
    # each phase's tables laid out on the run's days, kept per phase: runs that enter a phase
    # on the same day with the same set reuse them
    phase_rates = np.zeros((n_phases, n, horizon + 1))
    phase_peak = np.zeros((n_phases, n, horizon))
    loaded_set = np.full(n_phases, -1, np.int64)
    loaded_start = np.full(n_phases, -1, np.int64)
    cur_rates, cur_peak = phase_rates[0], phase_peak[0]
    for row in range(runs.size):
        run = runs[row]
        anchor[:] = 0.0
        x[:] = 0.0
        k[:] = 0
        strain[:] = 0.0
        strain_t[:] = 0.0
        added[:] = 0.0
        day_strain[:] = 0.0
        majors[:] = 0
        phase, passed, extended = 0, 0, 0
        start, end = 0, phase_days[0]
        deliveries, phase_deliveries, events = 0, 0, 0
        collapse_time = math.nan
        collapsed_by = -1
        cancelled = -1
        outcome = -1
        entering = True
        next_convoy = first_day + 0.5 if convoys_per_day > 0 else math.inf
        while True:
            if entering:
                # a phase starts at ``start``: its values, its permission draw, a fresh look
                # at every source (states were moved to ``start`` under the old values)
                entering = False
                q = which[row] * n_phases + phase
                rates, peak, active, boost, decay = (
                    sets[0][q], sets[1][q], sets[2][q], sets[3][q], sets[4][q],
                )  # fmt: skip
                major, attributed, tol = sets[5][q], sets[6][q], sets[7][q]
                major_weight, recovery, success, penalty = (
                    sets[8][q], sets[9][q], sets[10][q], sets[11][q],
                )  # fmt: skip
                permission, required, max_strain = sets[12][q], sets[13][q], sets[14][q]
                convoys = sets[15][q]
                cur_rates, cur_peak = phase_rates[phase], phase_peak[phase]
                if q != loaded_set[phase] or start != loaded_start[phase]:
                    _load_phase(rates, peak, phase_days[phase], start, cur_rates, cur_peak)
                    loaded_set[phase], loaded_start[phase] = q, start
                permitted = streams.block(seed, permission_key, run, phase)[0] < permission
                phase_deliveries = 0
                for s in range(n):
                    exact[s] = True
                    tau[s] = math.inf
                    if not active[s]:
                        continue
                    if k[s] == 0:  # the source's first event: gap and marks of block 0
                        anchor[s] = float(start)
                        target[s], marks[s, 0], marks[s, 1], marks[s, 2] = rules.draw(
                            seed, keys[s], run, 0
                        )
                        k[s] = 1
                    exact[s] = False
                    low[s] = rules.earliest(anchor[s], x[s], target[s], cur_peak[s, start])
                if phase > 0:  # a lower tolerance may already be crossed
                    for side in range(n_sides):
                        level = rules.recovered(strain[side], recovery, start - strain_t[side])
                        crossed = rules.crossing(level, tol[side], n_tol[side])
                        if crossed >= 0:
                            collapse_time = float(start)
                            collapsed_by = tol_actor[side, crossed]
                            break
                    if collapsed_by >= 0:
                        outcome = rules.COLLAPSE
                        break
            # the earliest next event (times are solved lazily: a source keeps a lower bound
            # until it might be the earliest; the value solved is the same whenever solved)
            while True:
                s = 0
                best = tau[0] if exact[0] else low[0]
                for j in range(1, n):
                    v = tau[j] if exact[j] else low[j]
                    if v < best:
                        s, best = j, v
                if exact[s]:
                    break
                tau[s] = rules.solve(anchor[s], x[s], target[s], cur_rates[s], decay[s], end)
                exact[s] = True
            now = tau[s]
            if next_convoy < now and next_convoy < end:
                day = int(next_convoy)
                chance = rules.convoy_chance(success, penalty, majors[day]) if permitted else 0.0
                for c in range(convoys if chance > 0.0 else 0):  # none can pass: no draw
                    if rules.convoy_passes(seed, convoy_key, run, day, c, chance):
                        deliveries += 1
                        phase_deliveries += 1
                next_convoy += 1.0
                continue
            if now >= end:  # the phase's gate
                quiet = phase_quiet[phase]
                first = start if quiet < 0 else end - quiet
                late = rules.late_strain(day_strain, first, end)
                code = rules.gate(late, max_strain, phase_deliveries, required)
                if code == rules.TRIGGERED:
                    passed += 1
                    if phase == n_phases - 1:
                        outcome = code
                        break
                    for m in range(n):  # every source moves to the boundary, old values
                        x[m], target[m] = rules.rebase(
                            anchor[m], x[m], target[m], end, cur_rates[m], decay[m]
                        )
                        anchor[m] = end
                    phase += 1
                    extended = 0
                    start, end = end, end + phase_days[phase]
                    entering = True
                    continue
                if extended < extend_times[phase]:
                    extended += 1
                    end += extend_days[phase]
                    for m in range(n):
                        if active[m]:
                            exact[m] = False
                    continue
                outcome = code
                cancelled = end
                break
            events += 1
            if events > max_events:
                return RUNAWAY, run
            # the event: its marks were drawn with its gap
            if s < n_parties:
                side = targets[s, rules.pick(marks[s, 0], n_targets[s])]
            else:
                side = targets[s, 0]
            is_major = marks[s, 1] < major[s]
            is_attributed = marks[s, 2] < attributed[s]
            day = int(now)
            o_count[row, s] += 1
            o_major[row, s] += is_major
            o_attr[row, s] += is_attributed
            o_daily[row, s, day] += 1
            if is_major:
                slot = rules.convoy_slot(now)
                if slot < horizon:
                    majors[slot] += 1
            # the source moves on to its next event
            x[s] = rules.decayed(x[s], decay[s], now - anchor[s])
            anchor[s] = now
            target[s], marks[s, 0], marks[s, 1], marks[s, 2] = rules.draw(seed, keys[s], run, k[s])
            k[s] += 1
            exact[s] = False
            low[s] = rules.earliest(now, x[s], target[s], cur_peak[s, day])
            # the attacked side's parties are provoked
            for j in range(n_excites[side]):
                m = excites[side, j]
                # a party that cannot act in this phase is still excited when a later phase
                # may let it act: excitation carries over between phases
                if boost[m] > 0.0 and (active[m] or n_phases > 1):
                    x[m], target[m] = rules.excite(
                        anchor[m], x[m], target[m], now, boost[m], cur_rates[m], decay[m]
                    )
                    anchor[m] = now
                    exact[m] = False
                    low[m] = rules.earliest(now, x[m], target[m], cur_peak[m, day])
            if not is_attributed:
                continue
            weight = major_weight if is_major else 1.0
            strain[side] = rules.recovered(strain[side], recovery, now - strain_t[side]) + weight
            strain_t[side] = now
            day_strain[day] += weight
            added[side, day] += rules.strain_at_day_end(weight, now, recovery)
            crossed = rules.crossing(strain[side], tol[side], n_tol[side])
            if crossed >= 0:
                collapse_time = now
                collapsed_by = tol_actor[side, crossed]
                outcome = rules.COLLAPSE
                break
        o_outcome[row] = outcome
        o_time[row] = collapse_time
        o_by[row] = collapsed_by
        o_deliveries[row] = deliveries
        o_phase[row] = phase
        o_passed[row] = passed
        o_cancelled[row] = cancelled
        rules.daily_strain(
            added, recovery, collapse_time if collapsed_by >= 0 else float(end), o_strain[row]
        )
    return OK, -1


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
    cols = Columns.empty(p.shape, len(runs))
    n = len(p.sources)
    count, major, attributed = (np.zeros((len(runs), n), np.int32) for _ in range(3))
    try:
        status, run = _simulate(
            tuple(tables[name] for name in STATIC),
            tuple(tables[name] for name in PER_SET),
            which,
            phase_tables(p),
            len(p.parties),
            p.max_events,
            p.horizon,
            p.convoys_per_day,
            p.first_day,
            np.int64(streams.seed_key(seed)),
            np.int64(streams.mechanism_key("convoys")),
            np.int64(streams.mechanism_key("permission")),
            np.asarray(runs, np.int64),
            (
                cols.outcome,
                cols.collapse_time,
                cols.collapsed_by,
                cols.deliveries,
                count,
                major,
                attributed,
                cols.strain_daily,
                cols.events_daily,
                cols.phase,
                cols.phases_passed,
                cols.cancelled_day,
            ),
        )
    except OverflowError:
        status, run = NOT_FINITE, -1
    if status == RUNAWAY:
        raise RunawayError(runaway_message(p, run), run)
    if status == NOT_FINITE:
        raise RunawayError(not_finite_message(run), run if run >= 0 else None)
    cols.set_sources(p.shape, count, major, attributed)
    return cols


def phase_tables(p: Params) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """How the phases run: (days, quiet days or -1, extension days, extension times)."""
    return (
        np.asarray(p.phase_days, np.int64),
        np.asarray(p.phase_quiet, np.int64),
        np.asarray([e for e, _ in p.phase_extend], np.int64),
        np.asarray([t for _, t in p.phase_extend], np.int64),
    )


def runaway_message(p: Params, run: int) -> str:
    return (
        f"run {run} exceeded monte_carlo.max_events ({p.max_events} hostile events): the "
        "excitation is explosive; lower retaliation.boost or half_life_hours "
        "(see `ceasefire validate`)"
    )


def not_finite_message(run: int) -> str:
    where = f"run {run}: " if run >= 0 else ""
    return f"{where}a hazard became infinite: the rates or retaliation are too large to simulate"


# the compiled loop inlines the rules and the generator: its cache depends on them all
CACHE_STAMP = compiled.tie(sys.modules[__name__], (streams, outcomes, rules, sys.modules[__name__]))
