"""Random streams keyed by (seed, run, mechanism): numpy's Philox, read by block index."""

from __future__ import annotations

import hashlib

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sim import streams

WORD = st.integers(min_value=0, max_value=2**64 - 1)


def _signed(word: int) -> int:
    return word - 2**64 if word >= 2**63 else word


@settings(max_examples=200, deadline=None)
@given(c0=WORD, c1=WORD, k0=WORD, k1=WORD)
def test_blocks_are_numpys_philox(c0: int, c1: int, k0: int, k1: int) -> None:
    """Our compiled Philox4x64-10 gives numpy's words for any counter and key (numpy
    increments its counter before generating, hence the − 1)."""
    counter = (c0 + (c1 << 64) - 1) % 2**256
    reference = np.random.Philox(counter=counter, key=k0 + (k1 << 64)).random_raw(4)
    mine = streams.philox(_signed(c0), _signed(c1), 0, 0, _signed(k0), _signed(k1))
    assert [int(x) for x in mine] == [int(x) for x in reference]


@settings(max_examples=100, deadline=None)
@given(j=st.integers(0, 2**40), run=st.integers(0, 2**40), i=st.integers(0, 100), k1=WORD)
def test_a_row_continues_past_its_first_block(j: int, run: int, i: int, k1: int) -> None:
    """Uniform ``i`` of row ``j`` is word ``i % 4`` of Philox at counter (j, run, i // 4, 0):
    the first four are block ``j``'s."""
    counter = (j + (run << 64) + ((i // 4) << 128) - 1) % 2**256
    raw = np.random.Philox(counter=counter, key=7 + (k1 << 64)).random_raw(4)
    expected = float(int(raw[i % 4]) >> 11) * 2.0**-53
    assert streams.word(7, _signed(k1), run, j, i) == expected
    if i < 4:
        assert streams.word(7, _signed(k1), run, j, i) == streams.block(7, _signed(k1), run, j)[i]


def test_mechanism_keys_come_from_names_not_positions() -> None:
    digest = hashlib.blake2b(b"party:government", digest_size=8).digest()
    assert streams.mechanism_key("party", "government") == int.from_bytes(
        digest, "little", signed=True
    )
    keys = {streams.mechanism_key(kind, name) for kind in ("party", "spoiler") for name in "abc"}
    assert len(keys) == 6


def test_streams_differ_by_seed_run_mechanism_and_block() -> None:
    a, b = streams.mechanism_key("party", "a"), streams.mechanism_key("party", "b")
    draws = {
        streams.block(seed, key, run, j)
        for seed in (1, 2)
        for key in (a, b)
        for run in range(20)
        for j in range(5)
    }
    assert len(draws) == 2 * 2 * 20 * 5


def test_uniforms_are_uniform() -> None:
    """Chi-square of 100,000 first uniforms of consecutive runs' streams over 20 bins."""
    from scipy import stats

    u = streams.uniforms(streams.seed_key(7), streams.mechanism_key("x"), np.arange(100_000), 0)
    assert ((u >= 0) & (u < 1)).all()
    counts = np.bincount((u * 20).astype(int), minlength=20)
    assert stats.chisquare(counts).pvalue > 1e-4
    assert u[5] == streams.block(streams.seed_key(7), streams.mechanism_key("x"), 5, 0)[0]


def test_large_seeds_are_their_low_64_bits() -> None:
    assert streams.seed_key(2**64 + 5) == 5
    assert streams.seed_key(2**64 - 1) == -1
