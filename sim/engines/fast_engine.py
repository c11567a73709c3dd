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

import numba as nb
import numpy as np

from .. import streams
from ..errors import RunawayError
from ..records import Columns
from . import rules
from .params import PER_SET, STATIC, Params, Tables

OK, RUNAWAY, NOT_FINITE = 0, 1, 2


@nb.njit(cache=True, nogil=True, error_model="numpy")
def _simulate(
    static: tuple,  # params.STATIC tables
    sets: tuple,  # params.PER_SET tables, each with a leading parameter-set axis
    which: np.ndarray,  # the parameter set of each row
    n_parties: int,
    max_events: int,
    window: int,
    convoys_per_day: int,
    first_day: int,
    quiet_from: int,
    seed: np.int64,
    convoy_key: np.int64,
    permission_key: np.int64,
    runs: np.ndarray,
    out: tuple,
) -> tuple[int, int]:
    """Simulate ``runs`` (run indices) into the ``out`` arrays; (status, failing run)."""
    keys, targets, n_targets, excites, n_excites, tol_actor, n_tol = static
    o_outcome, o_time, o_by, o_deliveries, o_count, o_major, o_attr, o_strain, o_daily = out
    n = keys.size
    n_sides = n_tol.size
    w = float(window)
    blocks_per_day = (convoys_per_day + 3) // 4
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
    added = np.zeros((n_sides, window))
    day_strain = np.zeros(window)
    majors = np.zeros(window + 1, np.int64)
    for row in range(runs.size):
        run = runs[row]
        q = which[row]
        rates, peak, active, boost, decay = sets[0][q], sets[1][q], sets[2][q], sets[3][q], sets[4][q]
        major, attributed, tol = sets[5][q], sets[6][q], sets[7][q]
        major_weight, recovery, success, penalty = sets[8][q], sets[9][q], sets[10][q], sets[11][q]
        permission, required, max_strain = sets[12][q], sets[13][q], sets[14][q]
        anchor[:] = 0.0
        x[:] = 0.0
        strain[:] = 0.0
        strain_t[:] = 0.0
        added[:] = 0.0
        day_strain[:] = 0.0
        majors[:] = 0
        # Times are solved lazily: a source keeps a lower bound (``low``) until it might be
        # the earliest; the value solved is the same whenever it is solved.
        for s in range(n):
            k[s] = 1
            exact[s] = True
            tau[s] = math.inf
            if active[s]:
                target[s], marks[s, 0], marks[s, 1], marks[s, 2] = rules.draw(
                    seed, keys[s], run, 0
                )
                exact[s] = False
                low[s] = rules.earliest(0.0, 0.0, target[s], peak[s, 0])
        permitted = streams.block(seed, permission_key, run, 0)[0] < permission
        next_convoy = first_day + 0.5 if convoys_per_day > 0 else math.inf
        deliveries = 0
        events = 0
        collapse_time = math.nan
        collapsed_by = -1
        while True:
            while True:
                s = 0
                best = tau[0] if exact[0] else low[0]
                for j in range(1, n):
                    v = tau[j] if exact[j] else low[j]
                    if v < best:
                        s, best = j, v
                if exact[s]:
                    break
                tau[s] = rules.solve(anchor[s], x[s], target[s], rates[s], decay[s], w)
                exact[s] = True
            now = tau[s]
            if next_convoy < now and next_convoy < w:
                day = int(next_convoy)
                chance = rules.convoy_chance(success, penalty, majors[day]) if permitted else 0.0
                for c in range(convoys_per_day):
                    u = streams.block(seed, convoy_key, run, day * blocks_per_day + c // 4)
                    if u[c % 4] < chance:
                        deliveries += 1
                next_convoy += 1.0
                continue
            if now >= w:
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
                if slot < window:
                    majors[slot] += 1
            # the source moves on to its next event
            x[s] = rules.decayed(x[s], decay[s], now - anchor[s])
            anchor[s] = now
            target[s], marks[s, 0], marks[s, 1], marks[s, 2] = rules.draw(
                seed, keys[s], run, k[s]
            )
            k[s] += 1
            exact[s] = False
            low[s] = rules.earliest(now, x[s], target[s], peak[s, day])
            # the attacked side's parties are provoked
            for j in range(n_excites[side]):
                m = excites[side, j]
                if boost[m] > 0.0 and active[m]:
                    x[m], target[m] = rules.excite(
                        anchor[m], x[m], target[m], now, boost[m], rates[m], decay[m]
                    )
                    anchor[m] = now
                    exact[m] = False
                    low[m] = rules.earliest(now, x[m], target[m], peak[m, day])
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
                break
        if collapsed_by >= 0:
            o_outcome[row] = rules.COLLAPSE
        else:
            late = rules.late_strain(day_strain, quiet_from, window)
            o_outcome[row] = rules.gate(late, max_strain, deliveries, required)
        o_time[row] = collapse_time
        o_by[row] = collapsed_by
        o_deliveries[row] = deliveries
        rules.daily_strain(added, recovery, o_strain[row])
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
    tables = p.tables() if tables is None else tables
    which = np.zeros(len(runs), np.int64) if which is None else np.asarray(which, np.int64)
    cols = Columns.empty(p.shape, len(runs))
    n = len(p.sources)
    count, major, attributed = (np.zeros((len(runs), n), np.int32) for _ in range(3))
    try:
        status, run = _simulate(
            tuple(tables[name] for name in STATIC),
            tuple(tables[name] for name in PER_SET),
            which,
            len(p.parties),
            p.max_events,
            p.window,
            p.convoys_per_day,
            p.first_day,
            int(p.quiet_from),
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
            ),
        )
    except OverflowError:
        status, run = NOT_FINITE, -1
    if status == RUNAWAY:
        raise RunawayError(runaway_message(p, run))
    if status == NOT_FINITE:
        raise RunawayError(not_finite_message(run))
    cols.set_sources(p.shape, count, major, attributed)
    return cols


def runaway_message(p: Params, run: int) -> str:
    return (
        f"run {run} exceeded monte_carlo.max_events ({p.max_events} hostile events): the "
        "excitation is explosive; lower retaliation.boost or half_life_hours "
        "(see `ceasefire validate`)"
    )


def not_finite_message(run: int) -> str:
    where = f"run {run}: " if run >= 0 else ""
    return f"{where}a hazard became infinite: the rates or retaliation are too large to simulate"
