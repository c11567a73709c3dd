"""The fast engine: the same model (SPEC §2–7) vectorised across a batch of runs with numpy.

All runs of a batch advance together, one thinning proposal per step (Ogata): a candidate
time from an upper bound of the hazard — the highest base rate still to come times the current
excitation, which only decays until the next event — accepted with probability hazard/bound.
Accepted proposals become hostile events (a violation, a spoiler attack or a guarantor
incident), which excite the attacked side, add strain and may end the run in a collapse. Runs
that end (collapse, or a proposal past the window) leave the active set, so a step costs in
proportion to the runs still going. Convoys influence nothing else, so they are drawn once all
runs have ended, from each convoy's count of majors in its preceding 24 hours and only while
the ceasefire held.

The batch draws from one generator (the runner seeds it from the batch index), so results
depend on the seed, the number of runs and the engine, never on workers. The draws differ from
the SimPy engine's, so individual runs differ while the distributions agree (tests compare
them).
"""

from __future__ import annotations

import numpy as np

from ..columns import Columns
from ..errors import RunawayError
from ..records import OUTCOME_ACCESS, OUTCOME_COLLAPSE, OUTCOME_TRIGGERED, OUTCOME_VIOLENCE
from .params import Params


class _Tables:
    """The scenario's numbers as arrays indexed by *source*: spoilers, incidents, parties."""

    def __init__(self, p: Params) -> None:
        n_sp, n_g, n_p = len(p.spoilers), len(p.guarantors), len(p.parties)
        self.n_const = n_sp + n_g
        self.rate = np.array(p.party_rate, dtype=float).reshape(n_p, p.window)  # [P, W]
        self.rate_t = np.ascontiguousarray(self.rate.T)  # [W, P]
        suffix_max = np.maximum.accumulate(self.rate[:, ::-1], axis=1)[:, ::-1]
        self.bound_t = np.ascontiguousarray(suffix_max.T)  # [W, P]: max rate from day d on
        self.const = np.array(p.spoiler_rate + p.incident_rate, dtype=float)
        self.const_cum = np.cumsum(self.const)
        self.const_total = float(self.const.sum())
        self.boost = np.array(p.party_boost, dtype=float)
        self.decay = np.array(p.party_decay, dtype=float)
        self.excitable = bool((self.boost > 0).any())
        party_side = np.array(p.party_side, dtype=np.int64)
        # per side: the parties it excites and by how much (boost > 0 only)
        self.excited_by_side = [
            (s, [(i, self.boost[i]) for i in range(n_p) if party_side[i] == s and self.boost[i]])
            for s in range(len(p.sides))
        ]
        self.excited_by_side = [(s, m) for s, m in self.excited_by_side if m]
        # per source: the side hit (-1 = a party's choice), P(major), P(attributed)
        self.fixed_side = np.array(
            list(p.spoiler_target) + list(p.incident_target) + [-1] * n_p, dtype=np.int64
        )
        self.major = np.array(list(p.spoiler_major) + [1.0] * n_g + list(p.party_major))
        self.attributed = np.array(list(p.spoiler_blame) + [1.0] * n_g + [1.0] * n_p)
        width = max((len(t) for t in p.party_targets), default=1)
        self.n_targets = np.array([len(t) for t in p.party_targets], dtype=np.int64)
        self.one_target = bool((self.n_targets == 1).all())
        self.targets = np.zeros((n_p, width), dtype=np.int64)
        for i, t in enumerate(p.party_targets):
            self.targets[i, : len(t)] = t
        # tolerances per side in declaration order (inf = nobody)
        depth = max((len(t) for t in p.side_tolerances), default=0) or 1
        self.tol = np.full((len(p.sides), depth), np.inf)
        self.tol_actor = np.full((len(p.sides), depth), -1, dtype=np.int64)
        for s, pairs in enumerate(p.side_tolerances):
            for j, (actor, tol) in enumerate(pairs):
                self.tol[s, j], self.tol_actor[s, j] = tol, actor


def run_batch(p: Params, rng: np.random.Generator, n: int) -> Columns:
    """Simulate ``n`` runs of ``params`` with ``rng``; return their columns."""
    return _Batch(p, rng, n).run()


class _Batch:
    """The state of a batch of runs, one slot per run still held in memory.

    Arrays are slot-major and contiguous; every step works on all slots at once with masks
    (no fancy indexing on the hot path except for the few scattered updates). When fewer than
    half the slots are still running, finished runs are written out and the arrays compacted.
    """

    def __init__(self, p: Params, rng: np.random.Generator, n: int) -> None:
        self.p, self.rng, self.tb = p, rng, _Tables(p)
        n_p, n_s, n_src, w = (
            len(p.parties),
            len(p.sides),
            self.tb.n_const + len(p.parties),
            p.window,
        )
        self.out = Columns.empty(p, n)
        self.ids = np.arange(n)
        self.t = np.zeros(n)
        self.x = np.zeros((n_p, n))
        self.strain = np.zeros((n_s, n))
        self.late = np.zeros(n)
        self.daily = np.zeros((n_s, w, n))
        self.majors_by_convoy = np.zeros((w, n), dtype=np.int32)  # majors in the 24 h before
        self.count = np.zeros((n_src, n), dtype=np.int32)  # events per source
        self.major = np.zeros((n_src, n), dtype=np.int32)  # … of which major
        self.blamed = np.zeros((n_src, n), dtype=np.int32)  # … of which attributed
        self.alive = np.ones(n, dtype=bool)
        self.collapse_time = np.full(n, np.nan)
        self.collapsed_by = np.full(n, -1, dtype=np.int16)

    _ROWS = ("ids", "t", "late", "alive", "collapse_time", "collapsed_by")
    _COLS = ("x", "strain", "daily", "majors_by_convoy", "count", "major", "blamed")

    def run(self) -> Columns:
        steps = 0
        while self.alive.any():
            steps += 1
            if steps > self.p.max_events:  # a run has at most one event per step
                _check_cap(self.p, self.count.sum(0))
            if self.alive.sum() * 2 < self.ids.size and self.ids.size > 512:
                self._compact()
            self._step()
        self._write(np.arange(self.ids.size))
        return self.out

    def _step(self) -> None:
        p, tb, rng = self.p, self.tb, self.rng
        w, t, x, alive = p.window, self.t, self.x, self.alive
        m = t.size
        # thinning bound: the highest base rate still to come, with the current excitation
        # (finished slots sit at t = w and are masked out)
        day = np.minimum(t, w - 1).astype(np.int64)
        bound = np.full(m, tb.const_total)
        for j in range(x.shape[0]):
            bound += tb.bound_t[day, j] * (1.0 + x[j])
        with np.errstate(divide="ignore"):
            t_new = np.minimum(t - np.log1p(-rng.random(m)) / bound, w)
        alive &= t_new < w  # a proposal past the window: the run reaches its end
        if tb.excitable:
            x *= np.exp(-(t_new - t) * tb.decay[:, None])
        t[:] = t_new
        # accept, and pick the source, with one draw
        day = np.minimum(t, w - 1).astype(np.int64)
        pick = rng.random(m) * bound
        src = np.searchsorted(tb.const_cum, pick, side="right")
        acc = np.full(m, tb.const_total)
        for j in range(x.shape[0]):
            acc += tb.rate_t[day, j] * (1.0 + x[j])
            src += pick >= acc
        event = alive & (src < tb.n_const + x.shape[0])
        if event.any():
            self._events(np.flatnonzero(event), src, day)

    def _events(self, e: np.ndarray, src_all: np.ndarray, day_all: np.ndarray) -> None:
        """Apply one hostile event to each slot in ``e`` (at its current time)."""
        p, tb = self.p, self.tb
        src, te, day = src_all[e], self.t[e], day_all[e]
        u = self.rng.random((3, e.size))  # target choice, severity, attribution
        side = tb.fixed_side[src]
        party = src - tb.n_const
        is_party = party >= 0
        if is_party.any():
            i = party[is_party]
            if tb.one_target:
                side[is_party] = tb.targets[i, 0]
            else:
                pick = (u[0, is_party] * tb.n_targets[i]).astype(np.int64)
                side[is_party] = tb.targets[i, pick]
        major = u[1] < tb.major[src]
        attributed = u[2] < tb.attributed[src]
        self.count[src, e] += 1
        self.major[src, e] += major
        self.blamed[src, e] += attributed
        if tb.excitable:
            hit_side = np.full(self.t.size, -1)
            hit_side[e] = side
            for s, members in tb.excited_by_side:
                hit = hit_side == s
                for j, boost in members:
                    self.x[j] += boost * hit
        if p.convoys_per_day and major.any():
            slot = np.ceil(te[major] - 0.5).astype(np.int64)  # the convoy in [t, t + 1)
            keep = slot < p.window
            self.majors_by_convoy[slot[keep], e[major][keep]] += 1
        if not attributed.any():
            return
        ea, sa, ta = e[attributed], side[attributed], te[attributed]
        weight = np.where(major[attributed], p.major_weight, 1.0)
        self.strain[sa, ea] += weight
        self.late[ea] += np.where(ta >= p.quiet_from, weight, 0.0)
        m, w = self.t.size, p.window
        self.daily.reshape(-1)[(sa * w + day[attributed]) * m + ea] += weight
        crossed = self.strain[sa, ea][:, None] > tb.tol[sa]
        hit = crossed.any(1)
        if hit.any():
            first = crossed[hit].argmax(1)
            ec = ea[hit]
            self.alive[ec] = False
            self.collapse_time[ec] = ta[hit]
            self.collapsed_by[ec] = tb.tol_actor[sa[hit], first]

    def _compact(self) -> None:
        """Write out the finished runs and keep only the running ones."""
        done, keep = np.flatnonzero(~self.alive), np.flatnonzero(self.alive)
        self._write(done)
        for name in self._ROWS:
            setattr(self, name, getattr(self, name)[keep])
        for name in self._COLS:
            setattr(self, name, np.ascontiguousarray(getattr(self, name)[..., keep]))

    def _write(self, rows: np.ndarray) -> None:
        """Finish the runs in ``rows`` (all ended): convoys, outcome, counts into the output."""
        p, tb, out = self.p, self.tb, self.out
        runs = self.ids[rows]
        collapse = self.collapse_time[rows]
        deliveries = self._convoys(rows, collapse)
        collapsed = ~np.isnan(collapse)
        violent = self.late[rows] > p.max_strain if p.max_strain is not None else False
        short = deliveries < p.required_deliveries
        out.outcome[runs] = np.where(
            collapsed,
            OUTCOME_COLLAPSE,
            np.where(violent, OUTCOME_VIOLENCE, np.where(short, OUTCOME_ACCESS, OUTCOME_TRIGGERED)),
        )
        out.collapse_time[runs] = collapse
        out.collapsed_by[runs] = self.collapsed_by[rows]
        out.deliveries[runs] = deliveries
        n_sp = len(p.spoilers)
        out.attacks[runs] = self.count[:n_sp, rows].T
        out.blamed[runs] = self.blamed[:n_sp, rows].T
        out.incidents[runs] = self.count[n_sp : tb.n_const, rows].T
        out.violations[runs] = self.count[tb.n_const :, rows].T
        out.major_violations[runs] = self.major[tb.n_const :, rows].T
        out.strain_daily[runs] = np.cumsum(self.daily[:, :, rows], axis=1).transpose(2, 0, 1)

    def _convoys(self, rows: np.ndarray, collapse: np.ndarray) -> np.ndarray:
        """Deliveries, drawn once a run has ended: convoys change nothing else; each sees the
        majors of its preceding 24 h, and runs only while the ceasefire holds."""
        p = self.p
        if not p.convoys_per_day or not rows.size:
            return np.zeros(rows.size, dtype=np.int32)
        days = np.arange(p.first_day, p.window)
        end = np.where(np.isnan(collapse), np.inf, collapse)
        holding = days[:, None] + 0.5 < end[None, :]  # [convoy days, runs]
        chance = p.success_prob * (1.0 - p.penalty) ** self.majors_by_convoy[days][:, rows]
        u = self.rng.random((days.size, rows.size, p.convoys_per_day))
        delivered = (u < chance[:, :, None]).sum(2) * holding
        return delivered.sum(0).astype(np.int32)


def _check_cap(p: Params, events: np.ndarray) -> None:
    if events.size and events.max() > p.max_events:
        raise RunawayError(
            f"a run exceeded monte_carlo.max_events ({p.max_events} hostile events): the "
            "excitation is explosive; lower retaliation.boost or half_life_hours "
            "(see `ceasefire validate`)"
        )
