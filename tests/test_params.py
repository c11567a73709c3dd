"""The engine tables built from a scenario's numbers."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from sim.engines.params import finish_rates

RATE = st.sampled_from([0.0, 0.05, 0.1, 0.7, 2.0])  # repeats make constant and zero rows likely


@settings(max_examples=200, deadline=None)
@given(
    hnp.arrays(
        np.float64, hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=6), elements=RATE
    )
)
def test_finish_rates_marks_constant_rates_the_peak_to_come_and_activity(body: np.ndarray) -> None:
    """Against the definitions, day by day: a constant row is stored as −rate in the spare
    last column (0 otherwise), the peak of day d is the highest rate from d on, a source is
    active when any of its days has a positive rate."""
    w = body.shape[-1]
    rates = np.concatenate([body, np.full((*body.shape[:-1], 1), 9.0)], axis=-1)
    out = finish_rates(rates.copy(), w)
    constant = (body == body[..., :1]).all(axis=-1)
    assert np.array_equal(out["rates"][..., :w], body)
    assert np.array_equal(out["rates"][..., w], np.where(constant, -body[..., 0], 0.0))
    peak = np.maximum.accumulate(body[..., ::-1], axis=-1)[..., ::-1]
    assert np.array_equal(out["peak"], peak)
    assert np.array_equal(out["active"], (body > 0).any(axis=-1))
