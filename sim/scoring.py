"""Proper scoring rules for ceasefire forecasts, and skill scores with bootstrap intervals.

Every score here is negatively oriented (lower is better, 0 is a perfect forecast), so the
skill of a forecast against a reference is ``1 - mean(score) / mean(reference score)``:
1 is perfect, 0 is no better than the reference, negative is worse.

- **Brier**: ``(p - o)^2`` for a binary event with forecast probability ``p`` and outcome
  ``o`` in {0, 1}.
- **Log score**: ``-ln p(observed)`` in nats (the "ignorance" score), with the probability
  clipped to ``[EPS, 1 - EPS]`` so that a forecast of exactly 0 for what happened costs
  ``-ln EPS`` (about 5.3 nats) instead of infinity. Simulated forecasts are frequencies of a
  finite number of runs, so an outcome no run produced is "rare", not "impossible".
- **RPS** (ranked probability score) over the four outcome codes in the order of
  :data:`ORDER` (from the best outcome to the worst): ``sum_k (F_k - O_k)^2 / (K - 1)``
  over the first ``K - 1`` cumulative probabilities, so it lies in [0, 1].
- **CRPS** of the collapse day, censored at the window end ``W``: the forecast quantity is
  ``Y = min(collapse time, W)`` (``W`` when nothing collapsed) and
  ``CRPS(F, y) = ∫_0^W (F(x) - 1{y <= x})^2 dx``, in days. For an ensemble of simulated days
  it is computed exactly for the ensemble's empirical distribution,
  ``E|X - y| - E|X - X'| / 2`` (not the "fair" estimator, which would divide the second
  term by ``m (m - 1)`` instead of ``m^2``: the simulated runs are the forecast itself, not
  a sample from it; the fair value is smaller by ``E|X - X'| / (2 (m - 1))``, at most
  ``W / (2 (m - 1))`` days).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ORDER = ("triggered", "cancelled_access", "cancelled_violence", "cancelled_collapse")
"""The outcome codes from best to worst: the order of the ranked probability score."""

EPS = 0.005
"""Probabilities are clipped to [EPS, 1 - EPS] in the log score."""


def brier(p: float, happened: bool) -> float:
    """Brier score of probability ``p`` for a binary event."""
    return float((p - float(happened)) ** 2)


def log_score(p: float, happened: bool) -> float:
    """``-ln`` of the (clipped) probability given to what happened, in nats."""
    q = float(np.clip(p, EPS, 1 - EPS))
    return float(-np.log(q if happened else 1 - q))


def log_score_code(probs: dict[str, float], observed: str) -> float:
    """``-ln`` of the (clipped) probability given to the observed outcome code."""
    return float(-np.log(np.clip(probs.get(observed, 0.0), EPS, 1.0)))


def rps(probs: dict[str, float], observed: str, order: Sequence[str] = ORDER) -> float:
    """Ranked probability score of a forecast over ordered categories, in [0, 1]."""
    if observed not in order:
        raise ValueError(f"unknown outcome {observed!r}")
    f = np.cumsum([probs.get(code, 0.0) for code in order])[:-1]
    o = np.cumsum([code == observed for code in order])[:-1]
    return float(np.sum((f - o) ** 2) / (len(order) - 1))


def crps_ensemble(samples: np.ndarray, y: float, *, presorted: bool = False) -> float:
    """CRPS of the empirical distribution of ``samples`` at ``y`` (exact, not "fair").

    ``E|X - y| - E|X - X'| / 2`` with ``E|X - X'| = (2 / m^2) sum_i (2i - m - 1) x_(i)``
    over the sorted sample (i = 1..m)."""
    x = np.asarray(samples, dtype=float) if presorted else np.sort(np.asarray(samples, float))
    m = x.size
    if m == 0:
        raise ValueError("an ensemble needs at least one member")
    spread = 2.0 * np.sum((2.0 * np.arange(1, m + 1) - m - 1.0) * x) / m**2
    return float(np.mean(np.abs(x - y)) - spread / 2.0)


def crps_uniform_collapse(p: float, window: float, y: float) -> float:
    """CRPS of "collapse with probability ``p`` at a uniform time in [0, W], else none".

    The censored day ``Y`` has CDF ``F(x) = p x / W`` on [0, W) and 1 at ``W``; ``y = W``
    means no collapse. With ``a = p / W``:
    ``∫_0^y a² x² dx + ∫_y^W (a x - 1)² dx
      = a² y³ / 3 + [(a W - 1)³ - (a y - 1)³] / (3 a)`` (``W - y`` when ``p = 0``)."""
    if not 0.0 <= y <= window:
        raise ValueError(f"day {y} outside [0, {window}]")
    if p == 0.0:
        return float(window - y)
    a = p / window
    return float(a**2 * y**3 / 3.0 + ((a * window - 1.0) ** 3 - (a * y - 1.0) ** 3) / (3.0 * a))


def skill(model: np.ndarray, reference: np.ndarray) -> float:
    """``1 - mean(model) / mean(reference)`` (nan when the reference scores 0)."""
    ref = float(np.mean(reference))
    return float("nan") if ref == 0.0 else 1.0 - float(np.mean(model)) / ref


def bootstrap_indices(n_cases: int, n_boot: int, seed: int) -> np.ndarray:
    """``n_boot`` resamples of case indices with replacement (seeded), shape (n_boot, n)."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed)))
    return rng.integers(0, n_cases, size=(n_boot, n_cases))


def bootstrap_skill(model: np.ndarray, reference: np.ndarray, indices: np.ndarray) -> list[float]:
    """95% percentile interval of the skill over case resamples ``indices``.

    Resamples whose reference mean is 0 (skill undefined) are left out; ``[nan, nan]``
    when all are."""
    m = np.asarray(model, float)[indices].mean(axis=1)
    r = np.asarray(reference, float)[indices].mean(axis=1)
    ok = r > 0
    if not ok.any():
        return [float("nan"), float("nan")]
    values = 1.0 - m[ok] / r[ok]
    lo, hi = np.percentile(values, [2.5, 97.5])
    return [float(lo), float(hi)]


__all__ = [
    "EPS",
    "ORDER",
    "bootstrap_indices",
    "bootstrap_skill",
    "brier",
    "crps_ensemble",
    "crps_uniform_collapse",
    "log_score",
    "log_score_code",
    "rps",
    "skill",
]
