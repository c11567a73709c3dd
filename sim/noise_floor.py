"""The Monte Carlo noise floor of a sensitivity analysis: how large an index can be when the
assumption behind it does nothing.

Each design point's output is estimated from a finite number of runs, so every index carries
Monte Carlo noise. The Sobol' total index is biased upwards by it (it averages squared
differences between points), so an assumption with no effect still gets a positive ST.

The floor is measured with a *dummy assumption* (Khorashadi Zadeh et al. 2017): one more column
in the design whose only role is to choose the random numbers. Points where the dummy moves are
simulated with a second seed, the others with the first (each base sample or trajectory has its
pair, :func:`point_seeds`), and the model ignores its value. So
the dummy has no effect on any probability (its true index is exactly 0), and the index it gets
is the index that Monte Carlo noise alone gives an assumption whose change draws fresh random
numbers for every run. That is the worst case: a change that keeps some runs' random numbers
(common random numbers) gets less noise. The floor of a measure is the upper end of the dummy's
95% interval for it; an index at or below the floor, or whose own 95% interval reaches zero,
is *not distinguishable from zero*.

Sobol' design (SALib's Saltelli layout): the dummy is the last column; in each block of
``k + 3`` points (A, A with each column from B, B) it moves in the last two, which take the
second seed. Morris (4 levels): a step of the dummy always crosses ½ (steps are ⅔ long), so the
points whose dummy coordinate is at least ½ take the second seed; no other step changes seed.

How the floor shrinks with more runs per point (measured in docs/sensitivity.md): ST's floor
is a bias of order (binomial variance of a point) / (variance across points), so it falls as
1/runs; S1's and Morris mu*'s are the spread of a mean of noise differences, so they fall as
1/√runs. :func:`runs_for_floor` extrapolates along these laws.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

DUMMY = "(random numbers: dummy)"
"""The name of the dummy assumption in the SALib problem and the output."""

FLOOR_MEASURES = {"sobol": ("S1", "ST"), "morris": ("mu_star",)}
"""The measures that are indices (compared with a floor), by method."""

SCALING = {"S1": 0.5, "ST": 1.0, "mu_star": 0.5}
"""The floor of each measure falls as runs^-SCALING[measure] (measured: docs/sensitivity.md)."""

SCALING_WORDS = {0.5: "1/√runs", 1.0: "1/runs"}
SEED_TAG = 7
"""Mixed into the points' seeds (apart from the design's and the bootstrap's)."""


def fresh_points(method: str, unit: np.ndarray) -> np.ndarray:
    """Which points of a design (in unit coordinates, the dummy last) are simulated with the
    dummy's second seed."""
    d = unit.shape[1] - 1
    if method == "sobol":
        # SALib's layout without second order: A, AB_0 … AB_d, B per block of d + 3 points;
        # the dummy takes B's value in AB_d and B.
        return np.arange(unit.shape[0]) % (d + 3) >= d + 1
    return unit[:, d] >= 0.5


def point_seeds(method: str, unit: np.ndarray, seed: int) -> np.ndarray:
    """The seed of every point: one per base sample (Sobol') or trajectory (Morris) for the
    points where the dummy has not moved, another for those where it has. So the points that
    SALib compares share random numbers (common random numbers), and the noise of different
    base samples or trajectories is independent, as SALib's bootstrap assumes."""
    d = unit.shape[1] - 1
    group = np.arange(unit.shape[0]) // (d + 3 if method == "sobol" else d + 2)
    fresh = fresh_points(method, unit)
    cache: dict[tuple[int, int], int] = {}
    out = np.empty(unit.shape[0], dtype=np.int64)
    for i, key in enumerate(zip(group.tolist(), fresh.astype(int).tolist(), strict=True)):
        if key not in cache:
            state = np.random.SeedSequence([seed, SEED_TAG, *key]).generate_state(1, np.uint64)
            cache[key] = int(state[0] % 2**62)
        out[i] = cache[key]
    return out


def floors(method: str, dummy: Mapping[str, float]) -> dict[str, float]:
    """The floor of every index measure: the upper end of the dummy's 95% interval (for S1,
    which noise makes negative as often as positive, of its absolute value)."""
    return {m: abs(float(dummy[m])) + float(dummy[f"{m}_conf"]) for m in FLOOR_MEASURES[method]}


def distinguishable(value: float, floor: float, conf: float = 0.0) -> bool:
    """An index is distinguishable from zero when it is above the noise floor and its own 95%
    interval (half-width ``conf``) does not reach zero."""
    return bool(value > floor and value - conf > 0)


def runs_for_floor(floor: float, runs: int, target: float, measure: str) -> int:
    """About how many runs per point bring a floor measured at ``runs`` under ``target``
    (extrapolated along the floor's scaling law; never fewer than ``runs`` is advised when the
    floor is already under the target: then ``runs`` itself is returned)."""
    if not target > 0:
        raise ValueError(f"the target floor must be positive, got {target}")
    if floor <= target:
        return int(runs)
    return math.ceil(runs * (floor / target) ** (1.0 / SCALING[measure]))


__all__ = [
    "DUMMY",
    "FLOOR_MEASURES",
    "SCALING",
    "distinguishable",
    "floors",
    "fresh_points",
    "point_seeds",
    "runs_for_floor",
]
