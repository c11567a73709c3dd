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

from dataclasses import dataclass

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
        # excitation added to each party by a hostile event against each side: [S, P]
        self.side_boost = np.array(
            [
                [self.boost[i] if party_side[i] == s else 0.0 for i in range(n_p)]
                for s in range(len(p.sides))
            ]
        )
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
    tb = _Tables(p)
    w, n_p, n_s = p.window, len(p.parties), len(p.sides)
    n_src = tb.n_const + n_p
    outcome = np.full(n, -1, dtype=np.int64)  # -1 running, -2 reached the end of the window
    t = np.zeros(n)
    x = np.zeros((n, n_p))
    st = _State(
        strain=np.zeros(n * n_s),  # flat [run, side]
        late=np.zeros(n),
        daily=np.zeros(n * n_s * w),  # flat [run, side, day]
        majors_by_convoy=np.zeros(n * w, dtype=np.int64),  # flat [run, convoy day]
        count=np.zeros(n * n_src, dtype=np.int32),  # flat [run, source]: events
        major=np.zeros(n * n_src, dtype=np.int32),  # … of which major
        blamed=np.zeros(n * n_src, dtype=np.int32),  # … of which attributed
        collapse_time=np.full(n, np.nan),
        collapsed_by=np.full(n, -1, dtype=np.int16),
        outcome=outcome,
    )
    active = np.arange(n)
    steps = 0  # a run has at most one event per step: the cheap bound on its event count

    while active.size:
        steps += 1
        if steps > p.max_events:
            _check_cap(p, st.count.reshape(n, n_src)[active].sum(1))
        a = active
        ta = t[a]
        xa = x[a]
        # thinning bound: the highest base rate still to come, with the current excitation
        bound = np.einsum("ij,ij->i", tb.bound_t[ta.astype(np.int64)], 1.0 + xa) + tb.const_total
        with np.errstate(divide="ignore"):
            t_new = ta - np.log1p(-rng.random(a.size)) / bound
        ended = t_new >= w
        outcome[a[ended]] = -2
        go = ~ended
        r, te, xa, bound = a[go], t_new[go], xa[go], bound[go]
        if tb.excitable:
            xa *= np.exp(-(te - ta[go])[:, None] * tb.decay)
            x[r] = xa
        t[r] = te
        # accept, and pick the source, with one draw
        pick = rng.random(r.size) * bound
        src = np.searchsorted(tb.const_cum, pick, side="right")
        in_party = src >= tb.n_const
        if in_party.any():
            k = np.flatnonzero(in_party)
            hazard = tb.rate_t[te[k].astype(np.int64)] * (1.0 + xa[k])
            rest = pick[k] - tb.const_total
            src[k] = tb.n_const + (np.cumsum(hazard, axis=1) <= rest[:, None]).sum(1)
        ok = src < n_src
        _events(p, tb, st, rng, r[ok], src[ok], te[ok], x)
        active = r[outcome[r] == -1]

    deliveries = _convoys(p, rng, st)
    pending = outcome == -2
    violent = st.late > p.max_strain if p.max_strain is not None else np.zeros(n, bool)
    short = deliveries < p.required_deliveries
    outcome[pending] = np.where(
        violent, OUTCOME_VIOLENCE, np.where(short, OUTCOME_ACCESS, OUTCOME_TRIGGERED)
    )[pending]

    c = Columns.empty(p, n)
    c.outcome[:] = outcome
    c.collapse_time[:] = st.collapse_time
    c.collapsed_by[:] = st.collapsed_by
    c.deliveries[:] = deliveries
    count = st.count.reshape(n, n_src)
    n_sp = len(p.spoilers)
    c.attacks[:] = count[:, :n_sp]
    c.blamed[:] = st.blamed.reshape(n, n_src)[:, :n_sp]
    c.incidents[:] = count[:, n_sp : tb.n_const]
    c.violations[:] = count[:, tb.n_const :]
    c.major_violations[:] = st.major.reshape(n, n_src)[:, tb.n_const :]
    c.strain_daily[:] = np.cumsum(st.daily.reshape(n, n_s, w), axis=2)
    return c


def _convoys(p: Params, rng: np.random.Generator, st: _State) -> np.ndarray:
    """Deliveries of every run, drawn after the fact: convoys change nothing else, and each
    sees the majors of its preceding 24 h and runs only while the ceasefire holds."""
    n = st.late.size
    if not p.convoys_per_day:
        return np.zeros(n, dtype=np.int32)
    days = np.arange(p.first_day, p.window)
    end = np.where(np.isnan(st.collapse_time), np.inf, st.collapse_time)
    holding = days[None, :] + 0.5 < end[:, None]  # [runs, convoy days]
    m = st.majors_by_convoy.reshape(n, p.window)[:, p.first_day :]
    chance = p.success_prob * (1.0 - p.penalty) ** m
    u = rng.random((n, days.size, p.convoys_per_day))
    delivered = (u < chance[:, :, None]).sum(2) * holding
    return delivered.sum(1).astype(np.int32)


def _check_cap(p: Params, events: np.ndarray) -> None:
    if events.size and events.max() > p.max_events:
        raise RunawayError(
            f"a run exceeded monte_carlo.max_events ({p.max_events} hostile events): the "
            "excitation is explosive; lower retaliation.boost or half_life_hours "
            "(see `ceasefire validate`)"
        )


@dataclass
class _State:
    """Per-run state of a batch that events change (flat arrays, indexed run-major)."""

    strain: np.ndarray
    late: np.ndarray
    daily: np.ndarray
    majors_by_convoy: np.ndarray
    count: np.ndarray
    major: np.ndarray
    blamed: np.ndarray
    collapse_time: np.ndarray
    collapsed_by: np.ndarray
    outcome: np.ndarray


def _events(
    p: Params,
    tb: _Tables,
    st: _State,
    rng: np.random.Generator,
    r: np.ndarray,
    src: np.ndarray,
    te: np.ndarray,
    x: np.ndarray,
) -> None:
    """Apply accepted hostile events (at most one per run in ``r``) at times ``te``."""
    if not r.size:
        return
    n_src, n_s, w = tb.n_const + tb.rate.shape[0], tb.side_boost.shape[0], p.window
    u = rng.random((3, r.size))  # target choice, severity, attribution
    side = tb.fixed_side[src]
    party = src - tb.n_const
    is_party = party >= 0
    if is_party.any():
        i = party[is_party]
        if tb.one_target:
            side[is_party] = tb.targets[i, 0]
        else:
            side[is_party] = tb.targets[i, (u[0, is_party] * tb.n_targets[i]).astype(np.int64)]
    major = u[1] < tb.major[src]
    attributed = u[2] < tb.attributed[src]

    flat = r * n_src + src
    st.count[flat] += 1
    st.major[flat] += major
    st.blamed[flat] += attributed

    # excitation of the attacked side; majors seen by the next convoy (the one in [t, t+1))
    if tb.excitable:
        x[r] += tb.side_boost[side]
    if p.convoys_per_day and major.any():
        slot = np.ceil(te[major] - 0.5).astype(np.int64)
        keep = slot < w
        st.majors_by_convoy[r[major][keep] * w + slot[keep]] += 1

    # strain and collapse
    if not attributed.any():
        return
    ra, sa, ta = r[attributed], side[attributed], te[attributed]
    weight = np.where(major[attributed], p.major_weight, 1.0)
    rs = ra * n_s + sa
    st.strain[rs] += weight
    st.late[ra] += np.where(ta >= p.quiet_from, weight, 0.0)
    st.daily[rs * w + ta.astype(np.int64)] += weight
    crossed = st.strain[rs][:, None] > tb.tol[sa]
    hit = crossed.any(1)
    if hit.any():
        first = crossed[hit].argmax(1)
        rc = ra[hit]
        st.outcome[rc] = OUTCOME_COLLAPSE
        st.collapse_time[rc] = ta[hit]
        st.collapsed_by[rc] = tb.tol_actor[sa[hit], first]
