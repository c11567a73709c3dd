"""The log-likelihood of one party's violation times under the model's hazard.

A party ``i`` violates with hazard

    λ(t) = c · w(d) · (1 + X(t)),    X(t) = b · Σ_{k: t_k < t} exp(−β (t − t_k)),

where ``d = floor(t)``, ``w(d)`` is a known day profile (``1 − pressure`` when a scalar rate
``c`` is fitted; the scenario's ``μ(d)·(1 − pressure)`` with ``c = 1`` when the rates are
held), ``t_k`` are the hostile events against its side (data) and ``β = ln 2 / half-life``.
Over a span ``[A, B)`` with own events ``y_j``:

    ℓ = Σ_j log λ(y_j) − ∫_A^B λ(t) dt.

The compensator is closed-form between consecutive points of {hostile events, day
boundaries}: on such a piece ``[u, v)`` the excitation decays from ``X(u+)``, so the piece
adds ``c·w·(v − u) + c·w·X(u+)·(1 − exp(−β (v − u)))/β``. ``X`` at every point comes from a
running log-sum-exp (``np.logaddexp.accumulate`` of ``β t_k``), which is the exact O(n)
recursion ``S_k = exp(−β (t_k − t_{k−1})) S_{k−1} + 1`` written without overflow. The
parties' likelihoods are independent given the data, so each is fitted on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

LN2 = math.log(2.0)


def day_edges(span: tuple[float, float]) -> np.ndarray:
    """``A``, every integer day boundary strictly inside the span, and ``B``."""
    a, b = span
    inner = np.arange(math.floor(a) + 1, math.ceil(b), dtype=float)
    return np.concatenate([[a], inner[(inner > a) & (inner < b)], [b]])


def _weights(weight_of_day: dict[int, float], times: np.ndarray) -> np.ndarray:
    """``w(floor(t))`` for each of ``times``."""
    days = np.floor(times).astype(np.int64)
    if days.size == 0:
        return np.zeros(0)
    first = int(days.min())
    table = np.array([weight_of_day[d] for d in range(first, int(days.max()) + 1)])
    return table[days - first]


def _excitation(acc: np.ndarray, count: np.ndarray, scaled: np.ndarray) -> np.ndarray:
    """``Σ_{k < count} exp(β t_k − β t)`` from the running log-sum-exp ``acc`` of ``β t_k``
    (0 where ``count`` is 0); ``scaled`` is ``β t``."""
    exponent = acc[np.maximum(count - 1, 0)] - scaled
    exponent[count == 0] = -np.inf
    return np.exp(exponent)


@dataclass(frozen=True)
class PartyData:
    """Everything the likelihood of one party needs that does not depend on parameters."""

    own: np.ndarray
    """The party's violation times, sorted."""
    hostile: np.ndarray
    """Times of hostile events against its side, sorted."""
    span: tuple[float, float]
    weight_of_day: dict[int, float]
    """``w(d)`` for every day the span touches."""
    # precomputed
    grid: np.ndarray
    grid_weight: np.ndarray
    own_weight_log: float
    base: float
    _query: np.ndarray = field(repr=False)
    _index: np.ndarray = field(repr=False)
    _none_before: np.ndarray = field(repr=False)
    _cache: dict[float, tuple[float, np.ndarray]] = field(repr=False, default_factory=dict)

    @classmethod
    def build(
        cls,
        own: np.ndarray,
        hostile: np.ndarray,
        span: tuple[float, float],
        weight_of_day: dict[int, float],
    ) -> PartyData:
        own = np.sort(np.asarray(own, float))
        hostile = np.sort(np.asarray(hostile, float))
        edges = day_edges(span)
        grid = np.unique(np.concatenate([edges, hostile]))
        starts = grid[:-1]
        w = _weights(weight_of_day, starts)
        base = float(np.sum(w * np.diff(grid)))
        own_w = _weights(weight_of_day, own)
        with np.errstate(divide="ignore"):
            own_log = float(np.sum(np.log(own_w))) if own.size else 0.0
        # X is needed at every piece start (right limit: events at u count) and at every
        # own event (left limit: only events strictly before count)
        count = np.concatenate(
            [
                np.searchsorted(hostile, starts, side="right"),
                np.searchsorted(hostile, own, side="left"),
            ]
        )
        return cls(
            own=own,
            hostile=hostile,
            span=span,
            weight_of_day=weight_of_day,
            grid=grid,
            grid_weight=w,
            own_weight_log=own_log,
            base=base,
            _query=np.concatenate([starts, own]),
            _index=np.maximum(count - 1, 0),
            _none_before=count == 0,
        )

    def pieces(self, beta: float) -> tuple[float, np.ndarray]:
        """``(∫ w(t) X(t)/b dt, X(y_j)/b)`` for decay rate ``beta`` (the last one is cached:
        profiles vary the boost at a fixed half-life)."""
        cached = self._cache.get(beta)
        if cached is not None:
            return cached
        if self.hostile.size == 0:
            out: tuple[float, np.ndarray] = (0.0, np.zeros(self.own.size))
        else:
            acc = np.logaddexp.accumulate(beta * self.hostile)
            x = acc[self._index]
            x -= beta * self._query
            x[self._none_before] = -np.inf
            np.exp(x, out=x)
            n_pieces = self.grid_weight.size
            decay = -np.expm1(-beta * np.diff(self.grid))
            integral = float(np.dot(x[:n_pieces], self.grid_weight * decay)) / beta
            out = (integral, x[n_pieces:])
        self._cache.clear()
        self._cache[beta] = out
        return out

    def loglik(self, rate: float, boost: float, half_life_hours: float) -> float:
        """ℓ at scale ``rate`` (c), ``boost`` (b) and half-life (hours)."""
        n = self.own.size
        if n and rate <= 0:
            return -math.inf
        integral, x_own = self.pieces(LN2 * 24.0 / half_life_hours)
        events = n * math.log(rate) if n else 0.0
        events += self.own_weight_log + float(np.sum(np.log1p(boost * x_own)))
        return events - rate * (self.base + boost * integral)

    def profile_rate(self, boost: float, half_life_hours: float) -> tuple[float, float]:
        """``(ĉ, ℓ(ĉ, b, h))``: the scale maximised in closed form, ĉ = n / ∫ w (1 + X)."""
        n = self.own.size
        integral, x_own = self.pieces(LN2 * 24.0 / half_life_hours)
        total = self.base + boost * integral
        if n == 0:
            return 0.0, self.own_weight_log
        rate = n / total
        ll = n * math.log(rate) - n + self.own_weight_log
        return rate, ll + float(np.sum(np.log1p(boost * x_own)))

    def compensator_at(
        self, times: np.ndarray, rate: float, boost: float, half_life_hours: float
    ) -> np.ndarray:
        """Λ(t) = ∫_A^t λ for each of ``times`` (inside the span; for time rescaling)."""
        times = np.asarray(times, float)
        beta = LN2 * 24.0 / half_life_hours
        grid = np.unique(np.concatenate([self.grid, self.hostile, times]))
        starts = grid[:-1]
        w = _weights(self.weight_of_day, starts)
        widths = np.diff(grid)
        pieces = w * widths
        if self.hostile.size and boost > 0:
            acc = np.logaddexp.accumulate(beta * self.hostile)
            k = np.searchsorted(self.hostile, starts, side="right")
            x = _excitation(acc, k, beta * starts)
            pieces = pieces + w * boost * x * -np.expm1(-beta * widths) / beta
        cum = np.concatenate([[0.0], np.cumsum(rate * pieces)])
        return cum[np.searchsorted(grid, times)]


__all__ = ["LN2", "PartyData", "day_edges"]
