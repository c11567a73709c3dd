"""Random streams keyed by (seed, run, mechanism): the only source of randomness in a run.

Every random decision of a run draws from a stream named by its *mechanism* — a party's
violations, a spoiler's attacks, a guarantor's incidents, the convoys, the permission to
deliver, an uncertain assumption — so that changing one assumption, or listing parties in
another order, leaves every other mechanism's draws where they were (common random numbers).

The generator is Philox4x64-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3",
SC 2011), the counter-based generator behind numpy's :class:`numpy.random.Philox`: block
``j`` of a stream is ``philox(counter=(j, run, 0, 0), key=(seed, mechanism))``, four 64-bit
words, with no state and no set-up cost, in compiled and in interpreted code alike. A stream
is read by *block index*, so an engine can give each event or each convoy day a block of its
own: event ``k`` of a source uses block ``k`` (its gap and its marks), the convoys of day
``d`` use block ``d``, and nothing shifts when another decision takes more or fewer draws.

``tests/test_streams.py`` checks the words against numpy's own Philox.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numba as nb
import numpy as np
from llvmlite import ir
from numba.extending import intrinsic

_M0 = np.uint64(0xD2E7470EE14C6C93)
_M1 = np.uint64(0xCA5A826395121157)
_W0 = np.uint64(0x9E3779B97F4A7C15)
_W1 = np.uint64(0xBB67AE8584CAA73B)
_S11 = np.uint64(11)
_TO_UNIT = 1.0 / 9007199254740992.0  # 2**-53

ROUNDS = 10


def mechanism_key(kind: str, name: str = "") -> int:
    """The 64-bit key of a mechanism, from its kind and name (never from a file position)."""
    digest = hashlib.blake2b(f"{kind}:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little", signed=True)


def seed_key(seed: int) -> int:
    """The seed as the first key word: its low 64 bits, as a signed integer (key words are
    passed to compiled code as int64 and reinterpreted as unsigned)."""
    word = int(seed) % 2**64
    return word - 2**64 if word >= 2**63 else word


@intrinsic
def _mulhilo(typingctx: Any, a: Any, b: Any) -> Any:
    """The high and low 64 bits of the 128-bit product ``a * b`` (one machine multiply)."""
    u64 = nb.types.uint64
    sig = nb.types.UniTuple(u64, 2)(u64, u64)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        wide = ir.IntType(128)
        product = builder.mul(builder.zext(args[0], wide), builder.zext(args[1], wide))
        hi = builder.trunc(builder.lshr(product, ir.Constant(wide, 64)), ir.IntType(64))
        lo = builder.trunc(product, ir.IntType(64))
        return context.make_tuple(builder, signature.return_type, [hi, lo])

    return sig, codegen


@nb.njit(cache=True)
def philox(
    c0: np.uint64, c1: np.uint64, c2: np.uint64, c3: np.uint64, k0: np.uint64, k1: np.uint64
) -> tuple[np.uint64, np.uint64, np.uint64, np.uint64]:
    """Philox4x64-10 of counter ``(c0, c1, c2, c3)`` under key ``(k0, k1)``."""
    c0, c1, c2, c3 = np.uint64(c0), np.uint64(c1), np.uint64(c2), np.uint64(c3)
    k0, k1 = np.uint64(k0), np.uint64(k1)
    for r in range(ROUNDS):
        if r:
            k0 += _W0
            k1 += _W1
        hi0, lo0 = _mulhilo(_M0, c0)
        hi1, lo1 = _mulhilo(_M1, c2)
        c0, c1, c2, c3 = hi1 ^ c1 ^ k0, lo1, hi0 ^ c3 ^ k1, lo0
    return c0, c1, c2, c3


@nb.njit(cache=True, inline="always")
def unit(word: np.uint64) -> float:
    """A uniform in [0, 1) from the top 53 bits of a word."""
    return float(word >> _S11) * _TO_UNIT


@nb.njit(cache=True)
def block(seed: np.uint64, mechanism: np.uint64, run: np.uint64, j: np.uint64):
    """Block ``j`` of stream (seed, run, mechanism): four uniforms in [0, 1)."""
    w0, w1, w2, w3 = philox(j, run, np.uint64(0), np.uint64(0), seed, mechanism)
    return unit(w0), unit(w1), unit(w2), unit(w3)


@nb.njit(cache=True)
def word(seed: np.uint64, mechanism: np.uint64, run: np.uint64, j: np.uint64, i: np.uint64):
    """Uniform ``i`` of row ``j`` of stream (seed, run, mechanism): word ``i % 4`` of the block
    with counter ``(j, run, i // 4, 0)``. Row ``j`` is an unbounded sequence of uniforms whose
    first four are those of :func:`block` ``j``, so how many a row gives never moves another
    row's draws."""
    w = philox(j, run, np.uint64(i // 4), np.uint64(0), seed, mechanism)
    return unit(w[i % 4])


def uniforms(seed: int, mechanism: int, runs: np.ndarray, j: int) -> np.ndarray:
    """The first uniform of block ``j`` of each run's stream, for an array of run indices."""
    mechanisms = np.asarray([mechanism], np.int64)
    return uniform_table(np.int64(seed), mechanisms, np.asarray(runs, np.int64), j)[:, 0]


@nb.njit(cache=True)
def uniform_table(
    seed: np.uint64, mechanisms: np.ndarray, runs: np.ndarray, j: int = 0
) -> np.ndarray:
    """``[runs, mechanisms]``: the first uniform of block ``j`` of each run's stream of each
    mechanism."""
    out = np.empty((runs.size, mechanisms.size))
    for i in range(runs.size):
        for m in range(mechanisms.size):
            w0, _, _, _ = philox(
                np.uint64(j), np.uint64(runs[i]), np.uint64(0), np.uint64(0), seed, mechanisms[m]
            )
            out[i, m] = unit(w0)
    return out
