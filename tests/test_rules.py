"""The compiled rules against their definitions, and the compiled cache tied to its sources."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate

from sim import compiled
from sim.engines import fast_engine, rules

positive = st.floats(0.01, 20.0)


def hazard_integral(t0: float, t1: float, x0: float, rates: np.ndarray, beta: float) -> float:
    """Λ by quadrature, day by day: ∫ m_d · (1 + x0 · e^(−β(t − t0))) dt."""
    total, t = 0.0, t0
    while t < t1:
        stop = min(math.floor(t) + 1.0, t1)
        m = rates[int(t)]
        total += integrate.quad(
            lambda s, m=m: m * (1.0 + x0 * math.exp(-beta * (s - t0))), t, stop, epsabs=0
        )[0]
        t = stop
    return total


@settings(max_examples=300, deadline=None)
@given(m=positive, x=st.floats(0.0, 40.0), beta=st.floats(0.05, 40.0), span=st.floats(1e-3, 1.0),
       share=st.floats(1e-6, 1.0))  # fmt: skip
def test_invert_piece_finds_the_time_the_piece_reaches_its_target(m, x, beta, span, share):
    """Halley's method returns the Δ at which Λ of a piece reaches the target, to the
    rounding of Λ itself (its terms, c = target/m and a = x/β, are known to a few ulps)."""
    true = share * span
    target = rules.piece(m, x, beta, true, math.exp(-beta * true))
    found = rules.invert_piece(m, x, beta, target, span)
    assert 0.0 <= found <= span
    rounding = 8 * 2.0**-52 * (target / m + x / beta)
    assert abs(found - true) <= 1e-12 * true + rounding


day_rates = st.lists(st.floats(0.0, 3.0), min_size=7, max_size=7)


def table(rates: list[float]) -> np.ndarray:
    """A source's per-day rates with the engines' last slot (−rate when every day is equal)."""
    flat = all(r == rates[0] for r in rates)
    return np.asarray([*rates, -rates[0] if flat else 0.0])


@settings(max_examples=150, deadline=None)
@given(rates=day_rates, x0=st.floats(0.0, 10.0), beta=st.floats(0.1, 20.0),
       t0=st.floats(0.0, 6.9), length=st.floats(0.0, 7.0))  # fmt: skip
def test_walk_is_the_integral_of_the_hazard_and_the_decay(rates, x0, beta, t0, length):
    """walk: Λ between two times by quadrature, and the excitation decayed over them."""
    t1 = min(t0 + length, 7.0)
    r = table(rates)
    total, x1 = rules.walk(t0, t1, x0, r, beta)
    assert total == pytest.approx(hazard_integral(t0, t1, x0, r, beta), rel=1e-9, abs=1e-12)
    assert x1 == pytest.approx(x0 * math.exp(-beta * (t1 - t0)), rel=1e-12, abs=1e-300)
    used, left = rules.rebase(t0, x0, total + 0.5, t1, r, beta)
    assert (used, left) == pytest.approx((x1, 0.5), rel=1e-9)


@settings(max_examples=150, deadline=None)
@given(rates=day_rates, x0=st.floats(0.0, 10.0), beta=st.floats(0.1, 20.0),
       t0=st.floats(0.0, 6.9), target=st.floats(1e-4, 8.0))  # fmt: skip
def test_solve_is_where_the_compensator_reaches_the_target(rates, x0, beta, t0, target):
    """solve: the first time Λ(t0, t) reaches the target, or inf when it does not by the end."""
    r = table(rates)
    t = rules.solve(t0, x0, target, r, beta, 7.0)
    if t == math.inf:
        assert rules.walk(t0, 7.0, x0, r, beta)[0] < target * (1 + 1e-12)
    else:
        assert t0 <= t < 7.0
        assert rules.walk(t0, t, x0, r, beta)[0] == pytest.approx(target, rel=1e-9)


def test_compiled_code_is_cached_against_every_source_it_inlines():
    """The fast engine's and the rules' disk caches carry the stamp of their sources, so a
    change to the rules recompiles the fast engine (numba alone would check only its file)."""
    for module, stamp in ((rules, rules.CACHE_STAMP), (fast_engine, fast_engine.CACHE_STAMP)):
        tied = compiled.dispatchers(module)
        assert tied, module.__name__
        for f in tied:
            assert f._cache._cache_file._source_stamp == stamp
    assert fast_engine.CACHE_STAMP != rules.CACHE_STAMP


CALLER = """
import sys
import numba as nb
import callee
from sim import compiled

@nb.njit(cache=True)
def caller():
    return callee.value() + 1

if sys.argv[1] == "tied":
    compiled.tie(sys.modules[__name__], (callee, sys.modules[__name__]))
print(caller())
"""


@pytest.mark.parametrize("tied", [True, False])
def test_a_changed_callee_recompiles_a_tied_caller(tmp_path, tied):
    """End to end in fresh processes: a cached caller is rebuilt after its callee's module
    changes when tied; untied, numba serves the stale code (why :func:`compiled.tie` exists)."""
    (tmp_path / "caller.py").write_text(CALLER)
    callee = tmp_path / "callee.py"

    def run(value: int) -> str:
        callee.write_text(
            textwrap.dedent(f"""
            import numba as nb
            @nb.njit(cache=True)
            def value():
                return {value}
            """)
        )
        env = {"PYTHONPATH": f"{tmp_path}:{sys.path[0]}", "NUMBA_CACHE_DIR": str(tmp_path / "c")}
        out = subprocess.run(
            [sys.executable, str(tmp_path / "caller.py"), "tied" if tied else "plain"],
            capture_output=True, text=True, env={**env, "PATH": "/usr/bin:/bin"}, check=True,
        )  # fmt: skip
        return out.stdout.strip()

    assert run(1) == "2"
    assert run(41) == ("42" if tied else "2")
