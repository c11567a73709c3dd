"""Scoring rules (sim.scoring) against values worked out by hand, and their invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import scoring
from sim.scoring import EPS, ORDER


def test_brier_by_hand() -> None:
    # (0.7 - 1)^2 = 0.09 ; (0.7 - 0)^2 = 0.49
    assert scoring.brier(0.7, True) == pytest.approx(0.09)
    assert scoring.brier(0.7, False) == pytest.approx(0.49)
    assert scoring.brier(1.0, True) == 0.0


def test_log_score_by_hand_and_clipping() -> None:
    # -ln 0.8 = 0.223144 ; -ln(1 - 0.8) = -ln 0.2 = 1.609438
    assert scoring.log_score(0.8, True) == pytest.approx(0.2231436, abs=1e-6)
    assert scoring.log_score(0.8, False) == pytest.approx(1.6094379, abs=1e-6)
    # a forecast of 0 for what happened costs -ln EPS, not infinity; certainty costs -ln(1-EPS)
    assert scoring.log_score(0.0, True) == pytest.approx(-math.log(EPS))
    assert scoring.log_score(1.0, False) == pytest.approx(-math.log(EPS))
    assert scoring.log_score(1.0, True) == pytest.approx(-math.log(1 - EPS))
    assert scoring.log_score_code({"triggered": 0.25}, "triggered") == pytest.approx(math.log(4))
    assert scoring.log_score_code({"triggered": 1.0}, "cancelled_access") == pytest.approx(
        -math.log(EPS)
    )


def test_rps_by_hand() -> None:
    # forecast (triggered .5, access .2, violence .2, collapse .1), observed violence:
    # cumulative F = (.5, .7, .9), O = (0, 0, 1): (.25 + .49 + .01) / 3 = 0.25
    p = dict(zip(ORDER, (0.5, 0.2, 0.2, 0.1), strict=True))
    assert scoring.rps(p, "cancelled_violence") == pytest.approx(0.25)
    # all mass on "triggered", observed collapse: F = (1, 1, 1), O = (0, 0, 0): 3 / 3 = 1
    assert scoring.rps({"triggered": 1.0}, "cancelled_collapse") == pytest.approx(1.0)
    # all mass on access, observed triggered: F = (0, 1, 1), O = (1, 1, 1): 1 / 3
    assert scoring.rps({"cancelled_access": 1.0}, "triggered") == pytest.approx(1 / 3)
    with pytest.raises(ValueError):
        scoring.rps(p, "nonsense")


def test_crps_of_an_ensemble_by_hand() -> None:
    # ensemble {1, 3}, y = 2: E|X - y| = 1, E|X - X'| = (0 + 2 + 2 + 0) / 4 = 1 -> 1 - 1/2 = 0.5;
    # by the integral: F = .5 on [1, 3): .25 * 1 (on [1, 2)) + .25 * 1 (on [2, 3)) = 0.5
    assert scoring.crps_ensemble(np.array([3.0, 1.0]), 2.0) == pytest.approx(0.5)
    assert scoring.crps_ensemble(np.array([4.0]), 1.5) == pytest.approx(2.5)


def test_crps_of_a_censored_collapse_day_by_hand() -> None:
    # window 7; one run of four collapses at day 2, three hold (censored at 7); what happened:
    # no collapse (y = 7). F(x) = 1/4 on [2, 7), so CRPS = (1/4)^2 * 5 = 0.3125. By the formula:
    # E|X - 7| = 5/4; E|X - X'| = 6 ordered pairs * 5 / 16 = 1.875; 1.25 - 0.9375 = 0.3125.
    days = np.array([2.0, 7.0, 7.0, 7.0])
    assert scoring.crps_ensemble(days, 7.0) == pytest.approx(0.3125)
    # the same forecast when the ceasefire in fact collapsed at day 2:
    # F = 0 on [0, 2) (no penalty), (1/4 - 1)^2 on [2, 7) = 0.5625 * 5 = 2.8125
    assert scoring.crps_ensemble(days, 2.0) == pytest.approx(2.8125)


def test_crps_of_a_uniform_collapse_by_hand() -> None:
    # p = 1, W = 4, no collapse (y = 4): ∫_0^4 (x/4)^2 dx = 4/3
    assert scoring.crps_uniform_collapse(1.0, 4.0, 4.0) == pytest.approx(4 / 3)
    # p = .5, W = 2, y = 1: ∫_0^1 x²/16 dx + ∫_1^2 (1 - x/4)² dx = 1/48 + 19/48 = 5/12
    assert scoring.crps_uniform_collapse(0.5, 2.0, 1.0) == pytest.approx(5 / 12)
    # p = 0: the forecast is "no collapse" (a point at W): |W - y|
    assert scoring.crps_uniform_collapse(0.0, 7.0, 3.0) == pytest.approx(4.0)
    with pytest.raises(ValueError):
        scoring.crps_uniform_collapse(0.5, 7.0, 8.0)


def test_uniform_collapse_matches_its_ensemble() -> None:
    # a fine deterministic ensemble of p·U(0, W) + (1 - p)·δ_W converges to the closed form
    p, w, m = 0.3, 5.0, 100_000
    n_collapse = int(p * m)
    days = np.concatenate(
        [(np.arange(n_collapse) + 0.5) / n_collapse * w, np.full(m - n_collapse, w)]
    )
    for y in (0.0, 1.3, 4.9, 5.0):
        assert scoring.crps_ensemble(days, y) == pytest.approx(
            scoring.crps_uniform_collapse(p, w, y), abs=1e-3
        )


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0, 10, allow_nan=False), min_size=1, max_size=8),
    st.floats(0, 10, allow_nan=False),
)
def test_crps_ensemble_equals_the_integral(samples: list[float], y: float) -> None:
    x = np.array(samples)
    grid = np.linspace(-0.5, 10.5, 44_001)
    cdf = (x[None, :] <= grid[:, None]).mean(axis=1)
    integral = np.sum((cdf - (grid >= y)) ** 2) * (grid[1] - grid[0])
    value = scoring.crps_ensemble(x, y)
    assert value >= -1e-12
    assert value == pytest.approx(integral, abs=2e-3 * (1 + len(samples)))


@given(st.lists(st.floats(0, 1, allow_nan=False), min_size=4, max_size=4), st.sampled_from(ORDER))
def test_rps_bounds_and_perfect_forecast(weights: list[float], observed: str) -> None:
    total = sum(weights)
    p = dict(zip(ORDER, [w / total for w in weights] if total > 0 else [0.25] * 4, strict=True))
    assert 0.0 <= scoring.rps(p, observed) <= 1.0 + 1e-12
    assert scoring.rps({observed: 1.0}, observed) == 0.0


def test_skill_and_bootstrap() -> None:
    ref = np.array([0.2, 0.4, 0.6, 0.8])
    # model = ref / 2 in every case: skill 0.5 in every resample
    assert scoring.skill(ref / 2, ref) == pytest.approx(0.5)
    idx = scoring.bootstrap_indices(4, 500, seed=7)
    assert scoring.bootstrap_skill(ref / 2, ref, idx) == pytest.approx([0.5, 0.5])
    # seeded: the same seed gives the same resamples
    assert np.array_equal(idx, scoring.bootstrap_indices(4, 500, seed=7))
    lo, hi = scoring.bootstrap_skill(np.array([0.1, 0.5, 0.2, 0.9]), ref, idx)
    assert lo <= scoring.skill(np.array([0.1, 0.5, 0.2, 0.9]), ref) <= hi
    # a reference that scores 0 everywhere: skill undefined
    assert math.isnan(scoring.skill(ref, np.zeros(4)))
    assert all(math.isnan(v) for v in scoring.bootstrap_skill(ref, np.zeros(4), idx))
