"""Uncertain assumptions: turning the ``uncertainties:`` block into concrete scenarios.

An assumption is a key path (``parties.government.violation_prob``) with a distribution
(:mod:`sim.distributions`). A *point* is one value for each assumption; :func:`apply` gives
the scenario at a point. Designs (grids, Sobol, Morris, random draws) live in unit
coordinates ``u`` in [0, 1) and are mapped to values by each distribution's quantile function
(:func:`values`), so every method samples the same distributions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .errors import UsageError
from .scenario import Scenario, lookup, split_path


def keys(scenario: Scenario) -> tuple[str, ...]:
    """The uncertain assumptions' key paths, in file order."""
    return tuple(scenario.uncertainties)


def integration_note(scenario: Scenario) -> str:
    """How ``--integrate`` results were made, in words: the assumptions drawn per run, those
    that only change how monitors report (observations) counted apart."""
    reporting = sum(key.startswith("observations.") for key in scenario.uncertainties)
    n = len(scenario.uncertainties) - reporting
    note = f"parameters integrated over {n} uncertain assumption{'s' * (n != 1)}"
    if reporting:
        note += f" (and {reporting} of how monitors report)"
    return note


def values(scenario: Scenario, u: np.ndarray) -> np.ndarray:
    """Map unit coordinates ``u`` (``[n, k]``) to values of the ``k`` assumptions."""
    u = np.atleast_2d(np.asarray(u, float))
    dists = list(scenario.uncertainties.values())
    if u.shape[1] != len(dists):
        raise UsageError(f"expected {len(dists)} coordinates per point, got {u.shape[1]}")
    out = np.empty(u.shape)
    for j, d in enumerate(dists):
        out[:, j] = d.ppf(u[:, j])
    return out


def baseline(scenario: Scenario) -> dict[str, float]:
    """The value each uncertain assumption has in the scenario itself."""
    data = scenario.model_dump()
    out = {}
    for key in scenario.uncertainties:
        value = lookup(data, split_path(key))
        out[key] = float(value) if value is not None else float("nan")
    return out


def apply(
    scenario: Scenario, point: Mapping[str, float] | Sequence[float] | np.ndarray
) -> Scenario:
    """The scenario with each assumption set to its value at ``point`` (a mapping by key, or
    values in the order of :func:`keys`). The result has no uncertainties left."""
    if not isinstance(point, Mapping):
        point = dict(zip(keys(scenario), point, strict=True))
    overrides: dict[str, Any] = {key: plain_number(value) for key, value in point.items()}
    overrides["uncertainties"] = {}
    return scenario.with_overrides(overrides)


def explosive_corner(scenario: Scenario) -> tuple[dict[str, float], float]:
    """The corner of the assumptions' ranges most prone to explosive excitation: each
    assumption that moves the branching ratio (``ceasefire validate`` explains it), at the end
    of its range that gives the higher ratio; and the ratio there. The ratio rises with rates,
    boosts and half-lives and falls with pressure, one assumption at a time, so moving each
    alone finds the corner. Drawn independently, assumptions can land near it together even
    when each is harmless at the scenario's values."""
    corner: dict[str, float] = {}
    for key, dist in scenario.uncertainties.items():
        ends = dist.support()
        ratios = [apply(scenario, {key: end}).branching_ratio() for end in ends]
        if ratios[0] != ratios[1]:
            corner[key] = ends[int(np.argmax(ratios))]
    return corner, apply(scenario, corner).branching_ratio()


def explosive_warning(scenario: Scenario) -> str | None:
    """A warning when the explosive corner of the uncertainties is supercritical (None
    otherwise): which assumptions, at which ends, and the branching ratio there."""
    if not scenario.uncertainties:
        return None
    corner, ratio = explosive_corner(scenario)
    if ratio < 1:
        return None
    ends = ", ".join(f"{key} = {plain_number(value)}" for key, value in corner.items())
    return (
        f"uncertainties: drawn together at the ends of their ranges ({ends}) the assumptions "
        f"give a branching ratio of {ratio:.2f} >= 1 (at the scenario's values "
        f"{scenario.branching_ratio():.2f}): under --integrate, a run drawn near there has "
        "explosive excitation, and one that exceeds monte_carlo.max_events stops the whole "
        "command; narrow those ranges"
    )


def plain_number(value: float) -> float | int:
    """Numpy scalars as Python numbers; whole numbers stay integers (counts)."""
    value = float(value)
    return int(value) if value.is_integer() and abs(value) < 2**53 else value
