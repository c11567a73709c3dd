"""Distributions of uncertain assumptions (the scenario's ``uncertainties:`` block).

Each distribution maps a uniform number ``u`` in [0, 1) to a value by its quantile function
(``ppf``), so the same code serves random draws (``--integrate``), low-discrepancy designs
(Sobol, Morris) and grids.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, Strict, model_validator

Number = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Positive = Annotated[float, Strict(), Field(gt=0, allow_inf_nan=False)]


class _Dist(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def ppf(self, u: np.ndarray) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def support(self) -> tuple[float, float]:  # pragma: no cover - abstract
        raise NotImplementedError

    def describe(self) -> str:  # pragma: no cover - abstract
        """The distribution in words, for tables."""
        raise NotImplementedError

    def values_to_check(self) -> tuple[float, ...]:
        """Values that must all give a valid scenario: the lowest value drawn and one just
        below the top of the support (continuous distributions never draw their upper end,
        so a probability may be uniform up to 1 but never equal 1)."""
        return tuple(float(x) for x in self.ppf(np.array([0.0, 1.0 - 1e-9])))


class Uniform(_Dist):
    """Every value between ``low`` and ``high`` equally likely."""

    dist: Literal["uniform"]
    low: Number
    high: Number

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if not self.low < self.high:
            raise ValueError("needs low < high")
        return self

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.low + np.asarray(u, float) * (self.high - self.low)

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    def describe(self) -> str:
        return f"uniform {self.low:g} to {self.high:g}"


class Triangular(_Dist):
    """Most likely at ``mode``, falling linearly to zero at ``low`` and ``high``."""

    dist: Literal["triangular"]
    low: Number
    mode: Number
    high: Number

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not (self.low <= self.mode <= self.high and self.low < self.high):
            raise ValueError("needs low <= mode <= high and low < high")
        return self

    def ppf(self, u: np.ndarray) -> np.ndarray:
        u = np.asarray(u, float)
        lo, mo, hi = self.low, self.mode, self.high
        cut = (mo - lo) / (hi - lo)
        left = lo + np.sqrt(u * (hi - lo) * (mo - lo))
        right = hi - np.sqrt((1 - u) * (hi - lo) * (hi - mo))
        return np.where(u < cut, left, right)

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    def describe(self) -> str:
        return f"triangular {self.low:g} to {self.high:g}, most likely {self.mode:g}"


class Beta(_Dist):
    """A beta(a, b) distribution, rescaled from [0, 1] to [low, high]."""

    dist: Literal["beta"]
    a: Positive
    b: Positive
    low: Number = 0.0
    high: Number = 1.0

    @model_validator(mode="after")
    def _ordered(self) -> Beta:
        if not self.low < self.high:
            raise ValueError("needs low < high")
        return self

    def ppf(self, u: np.ndarray) -> np.ndarray:
        return self.low + beta_quantile(self.a, self.b, u) * (self.high - self.low)

    def support(self) -> tuple[float, float]:
        return (self.low, self.high)

    def describe(self) -> str:
        return f"beta({self.a:g}, {self.b:g}) on {self.low:g} to {self.high:g}"


class Choice(_Dist):
    """One of ``values`` (with ``weights`` if given, else equally likely)."""

    dist: Literal["choice"]
    values: Annotated[tuple[Number, ...], Field(min_length=1)]
    weights: tuple[Annotated[float, Strict(), Field(ge=0, allow_inf_nan=False)], ...] | None = None

    @model_validator(mode="after")
    def _weights(self) -> Choice:
        if self.weights is not None and (
            len(self.weights) != len(self.values) or sum(self.weights) <= 0
        ):
            raise ValueError("weights need one non-negative number per value, not all zero")
        return self

    def ppf(self, u: np.ndarray) -> np.ndarray:
        w = np.ones(len(self.values)) if self.weights is None else np.array(self.weights)
        cum = np.cumsum(w) / w.sum()
        idx = np.searchsorted(cum, np.asarray(u, float), side="right")
        return np.array(self.values)[np.minimum(idx, len(self.values) - 1)]

    def support(self) -> tuple[float, float]:
        return (min(self.values), max(self.values))

    def values_to_check(self) -> tuple[float, ...]:
        return tuple(self.values)

    def describe(self) -> str:
        values = ", ".join(f"{v:g}" for v in self.values)
        if self.weights is None:
            return f"one of {values}"
        return f"one of {values} (weights {', '.join(f'{w:g}' for w in self.weights)})"


Distribution = Annotated[Uniform | Triangular | Beta | Choice, Field(discriminator="dist")]
"""An uncertain assumption: ``{dist: uniform|triangular|beta|choice, ...}``."""

BY_NAME: dict[str, type[_Dist]] = {"uniform": Uniform, "triangular": Triangular, "beta": Beta,
                                   "choice": Choice}  # fmt: skip
"""The distributions by their ``dist`` name."""


GRID = 4096
"""Intervals of the table that starts :func:`beta_quantile`'s Newton steps."""


@lru_cache(maxsize=32)
def _beta_table(a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy.special import betaincinv

    q = np.linspace(0.0, 1.0, GRID + 1)
    return q, betaincinv(a, b, q)


def beta_quantile(a: float, b: float, u: np.ndarray) -> np.ndarray:
    """The beta(a, b) quantile of each ``u``: :func:`scipy.special.betaincinv`'s value to
    within what one rounding of F(x) = u allows (``tests/test_uncertainty.py``), at about a
    third of its cost on large arrays.

    ``betaincinv`` costs about 1 µs a value, as much as simulating a quarter of a run, and
    ``--integrate`` needs one per run. Here a table of exact quantiles gives a start within
    about 10⁻⁸, and two Newton steps on the exact distribution function (``betainc``) take it
    to the root; a value whose second step is not below 10⁻¹² of it, or that lies at the ends
    of [0, 1], is computed by ``betaincinv`` instead, so the result never depends on the
    table."""
    from scipy.special import betainc, betaincinv, betaln

    u = np.asarray(u, float)
    if u.size < 4 * GRID:  # the table would cost more than it saves
        return np.asarray(betaincinv(a, b, u), float)
    q, table = _beta_table(a, b)
    x = np.interp(u, q, table)
    norm = betaln(a, b)
    inside = (x > 0.0) & (x < 1.0)
    x = np.where(inside, x, 0.5)
    for _ in range(2):
        with np.errstate(all="ignore"):
            density = np.exp((a - 1.0) * np.log(x) + (b - 1.0) * np.log1p(-x) - norm)
            step = (betainc(a, b, x) - u) / density
        x = x - step
    good = inside & (np.abs(step) <= 1e-12 * x) & (x > 0.0) & (x < 1.0)
    if not good.all():
        bad = ~good
        x[bad] = betaincinv(a, b, u[bad])
    return x
