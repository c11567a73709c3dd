"""The model's rules, written once and compiled: both engines call these functions.

Time-change simulation (the inversion method). Each source of hostile events — a party's
violations, a spoiler's attacks, a guarantor's incidents — has its own stream of unit
exponentials. Its next event falls where its compensator Λ(t) = ∫ λ(s) ds, counted from its
last event, reaches the next exponential (the time-rescaling theorem). With the exponential
kernel and base rates constant within a day, Λ has a closed form on each day piece,

    Λ(t0, t0 + Δ) = m · [Δ + X0 · (1 − e^(−βΔ)) / β],

monotone in Δ, so it is inverted day by day: whole days are walked with one decay factor
e^(−β), and the day that holds the root is solved by Halley's method (cubic convergence;
``tests/test_rules.py`` checks it, the walk and the solve against their definitions). When
another source's event excites a party, the compensator it has used so far is subtracted from
its target and the time solved again: no new draw is taken, so one assumption changing moves
later events a little instead of reshuffling every later draw.

The SimPy engine calls these functions one at a time from Python; the fast engine calls them
inside its compiled loop. The arithmetic is therefore the same machine code in both.
"""

from __future__ import annotations

import math
import sys

import numba as nb
import numpy as np

from .. import compiled, outcomes, streams
from ..outcomes import Outcome

NEWTON_STEPS = 60
"""Iteration cap of the in-day inversion (it converges in a handful)."""

jit = nb.njit(cache=True, nogil=True, error_model="numpy")


@jit
def piece(m: float, x: float, beta: float, span: float, e: float) -> float:
    """Λ over ``span`` days of one day piece: base rate ``m``, excitation ``x`` at its start,
    ``e = exp(−β·span)`` (the excitation's decay over the piece, computed once)."""
    if x > 0.0:
        return m * (span + x * (1.0 - e) / beta)
    return m * span


@jit
def invert_piece(m: float, x: float, beta: float, target: float, span: float) -> float:
    """The Δ ≤ ``span`` at which :func:`piece` reaches ``target`` (known to be within it).

    Halley's method on f(Δ) = Δ + a(1 − e^(−βΔ)) − c, a = x/β, c = target/m, from the larger
    of two lower bounds, c/(1 + x) and c − a. f is increasing and concave with bounded
    derivatives, so the iteration converges cubically: once a step is below 10⁻⁵ of Δ, the
    error left is far below double precision and the loop stops (it also stops when the step
    is at the rounding noise of f)."""
    c = target / m
    if x <= 0.0:
        return min(c, span)
    a = x / beta
    dt = max(c / (1.0 + x), c - a)
    noise = 4e-16 * (c + a)
    for _ in range(NEWTON_STEPS):
        e = math.exp(-beta * dt)
        f = dt + a * (1.0 - e) - c
        slope = 1.0 + x * e
        step = 2.0 * f * slope / (2.0 * slope * slope + f * beta * x * e)
        dt -= step
        if abs(step) <= 1e-5 * dt or abs(step) <= noise:
            break
    return min(dt, span)


@jit
def piece_decay(x: float, beta: float, span: float, whole: float) -> tuple[float, float]:
    """The decay of excitation ``x`` over a day piece of ``span`` days, and ``whole``, the
    decay over a whole day e^(−β), computed the first time one is walked (−1 until then)."""
    if x <= 0.0:
        return 1.0, whole
    if span == 1.0:
        if whole < 0.0:
            whole = math.exp(-beta)
        return whole, whole
    return math.exp(-beta * span), whole


@jit
def walk(t0: float, t1: float, x0: float, rates: np.ndarray, beta: float) -> tuple[float, float]:
    """Λ from ``t0`` to ``t1`` and the excitation at ``t1``: day ``d`` has base rate
    ``rates[d]``, excitation ``x0`` at ``t0``. Whole days share one decay factor e^(−β)."""
    if rates[-1] < 0.0:  # the same rate every day: one piece
        if t1 <= t0:
            return 0.0, x0
        span = t1 - t0
        e = math.exp(-beta * span) if x0 > 0.0 else 1.0
        return piece(-rates[-1], x0, beta, span, e), x0 * e
    total, t, x = 0.0, t0, x0
    whole = -1.0  # e^(−β), computed when a whole day is first walked
    while t < t1:
        stop = min(math.floor(t) + 1.0, t1)
        span = stop - t
        m = rates[int(t)]
        e, whole = piece_decay(x, beta, span, whole)
        if m > 0.0:
            total += piece(m, x, beta, span, e)
        x *= e
        t = stop
    return total, x


@jit
def solve(t0: float, x0: float, target: float, rates: np.ndarray, beta: float, end: float) -> float:
    """The first time after ``t0`` at which Λ(t0, t) reaches ``target``; inf if not before
    ``end``. Raises on a hazard that is not finite."""
    t, x, left = t0, x0, target
    if rates[-1] < 0.0:  # the same rate every day (stored as −rate in the last slot): no walk
        m = -rates[-1]
        if x0 <= 0.0:
            t = t0 + target / m  # inf for a rate too small to act: never, not an error
            return t if t < end else math.inf
        span = end - t0
        full = piece(m, x0, beta, span, math.exp(-beta * span))
        if not full < math.inf:
            raise OverflowError("hazard is not finite")
        if full < target:
            return math.inf
        return t0 + invert_piece(m, x0, beta, target, span)
    whole = -1.0  # e^(−β), computed when a whole day is first walked
    while t < end:
        stop = min(math.floor(t) + 1.0, end)
        span = stop - t
        m = rates[int(t)]
        e, whole = piece_decay(x, beta, span, whole)
        if m > 0.0:
            full = piece(m, x, beta, span, e)
            if not full < math.inf:
                raise OverflowError("hazard is not finite")
            if full >= left:
                return t + invert_piece(m, x, beta, left, span)
            left -= full
        x *= e
        t = stop
    return math.inf


@jit
def decayed(x: float, beta: float, dt: float) -> float:
    """Excitation ``x`` after ``dt`` days of decay."""
    return x * math.exp(-beta * dt) if x > 0.0 else 0.0


@jit
def rebase(
    anchor: float, x: float, target: float, now: float, rates: np.ndarray, beta: float
) -> tuple[float, float]:
    """Move a source's state from ``anchor`` to ``now``: (excitation, target still to go)."""
    used, x = walk(anchor, now, x, rates, beta)
    return x, max(target - used, 0.0)


@jit
def draw(
    seed: np.int64, key: np.int64, run: np.int64, k: np.int64
) -> tuple[float, float, float, float]:
    """Block ``k`` of a source's stream: the gap (in compensator units) to its next event and
    that event's three marks (target, severity, blame)."""
    u0, u1, u2, u3 = streams.block(seed, key, run, k)
    return gap(u0), u1, u2, u3


@jit
def earliest(now: float, x: float, target: float, peak: float) -> float:
    """A lower bound of the next event time: the hazard never exceeds ``peak · (1 + x)``
    from ``now`` on (``peak``: the highest base rate still to come)."""
    top = peak * (1.0 + x)
    return now + target / top if top > 0.0 else math.inf


@jit
def next_event(
    seed: np.int64,
    key: np.int64,
    run: np.int64,
    k: np.int64,
    now: float,
    x: float,
    rates: np.ndarray,
    beta: float,
    end: float,
) -> tuple[float, float, float, float, float]:
    """A source that just fired (or starts) at ``now`` draws block ``k`` of its stream: the
    gap to its next event and that event's three marks; (target, mark, mark, mark, time)."""
    u0, u1, u2, u3 = streams.block(seed, key, run, k)
    target = gap(u0)
    return target, u1, u2, u3, solve(now, x, target, rates, beta, end)


@jit
def excite(
    anchor: float,
    x: float,
    target: float,
    now: float,
    boost: float,
    rates: np.ndarray,
    beta: float,
) -> tuple[float, float]:
    """A party's side is attacked at ``now``: move its state there under the values so far and
    add ``boost`` to its excitation; (excitation, target still to go)."""
    x, left = rebase(anchor, x, target, now, rates, beta)
    return x + boost, left


@jit
def provoke(
    anchor: float,
    x: float,
    target: float,
    now: float,
    boost: float,
    rates: np.ndarray,
    beta: float,
    end: float,
) -> tuple[float, float, float]:
    """:func:`excite`, then solve the party's next time: (excitation, target to go, time)."""
    x, left = excite(anchor, x, target, now, boost, rates, beta)
    return x, left, solve(now, x, left, rates, beta, end)


@jit
def gap(u: float) -> float:
    """A unit exponential from a uniform in [0, 1)."""
    return -math.log1p(-u)


@jit
def pick(u: float, n: int) -> int:
    """An index in ``0..n-1`` chosen uniformly with ``u``."""
    return min(int(u * n), n - 1)


@jit
def convoy_slot(t: float) -> int:
    """The convoy day whose preceding 24 hours contain ``t``: the convoy of day ``d`` runs at
    ``d + 0.5`` and counts the major events in ``(d − 0.5, d + 0.5]``."""
    return math.ceil(t - 0.5)


@jit
def convoy_chance(success: float, penalty: float, majors: int) -> float:
    """A convoy's chance of getting through after ``majors`` major events in 24 hours."""
    return success * (1.0 - penalty) ** majors


@jit
def convoy_passes(
    seed: np.int64, key: np.int64, run: np.int64, day: int, c: int, chance: float
) -> bool:
    """Whether convoy ``c`` of ``day`` gets through: uniform ``c`` of the convoys' row ``day``
    (a day's convoys never share draws with another day's, whatever their number)."""
    return streams.word(seed, key, run, day, c) < chance


@jit
def recovered(strain: float, rate: float, dt: float) -> float:
    """Strain after ``dt`` days of recovery at ``rate`` (ln 2 / half-life; 0: none)."""
    return strain * math.exp(-rate * dt) if rate > 0.0 else strain


@jit
def crossing(strain: float, tolerances: np.ndarray, n: int) -> int:
    """The first of the side's ``n`` tolerances that ``strain`` strictly exceeds, or -1."""
    for j in range(n):
        if strain > tolerances[j]:
            return j
    return -1


TRIGGERED = int(Outcome.triggered)
COLLAPSE = int(Outcome.cancelled_collapse)
VIOLENCE = int(Outcome.cancelled_violence)
ACCESS = int(Outcome.cancelled_access)


@jit
def gate(late: float, max_strain: float, deliveries: int, required: int) -> int:
    """The trigger's conditions at the end of the window (NaN ``max_strain``: none)."""
    if max_strain == max_strain and late > max_strain:
        return VIOLENCE
    if deliveries < required:
        return ACCESS
    return TRIGGERED


@jit
def late_strain(day_strain: np.ndarray, first: int, stop: int) -> float:
    """Attributed strain (all sides) of days ``first..stop-1``: the gate's quiet days."""
    total = 0.0
    for d in range(max(first, 0), stop):
        total += day_strain[d]
    return total


@jit
def daily_strain(added: np.ndarray, rate: float, end: float, out: np.ndarray) -> None:
    """Each side's strain at the end of every day, from the strain each day added (already
    recovered to that day's end): ``out[s, d] = out[s, d − 1] · e^(−rate) + added[s, d]``,
    up to the run's ``end`` (its collapse or its last gate); from the day it ended on, the
    strain it ended with (a run that is over no longer recovers)."""
    keep = math.exp(-rate)
    stop = math.floor(end)
    for s in range(added.shape[0]):
        level = 0.0
        for d in range(added.shape[1]):
            if d < stop or (d == stop and end > stop):
                level = level * keep + added[s, d] if rate > 0.0 else level + added[s, d]
                if d == stop and rate > 0.0:  # from the day's end back to the run's end
                    level *= math.exp(rate * (stop + 1.0 - end))
            out[s, d] = level


@jit
def strain_at_day_end(weight: float, t: float, rate: float) -> float:
    """What an event of ``weight`` at ``t`` still adds to its side's strain at the end of
    its day."""
    return weight * math.exp(-rate * (math.floor(t) + 1.0 - t)) if rate > 0.0 else weight


# the compiled rules inline the generator and the outcome codes: their cache depends on both
CACHE_STAMP = compiled.tie(sys.modules[__name__], (streams, outcomes, sys.modules[__name__]))
