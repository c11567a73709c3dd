"""Runs per second of the engines on the flagship, beside a reference measured in the same run.

References for the SimPy engine, both with per-run seeding (a SeedSequence-derived Generator,
uniforms drawn in blocks) and a fresh SimPy Environment per run:

* "bare SimPy floor": one Poisson process with as many events as the flagship has on average
  (hostile events plus convoy days) — what SimPy and seeding alone cost;
* "minimal SimPy model": the flagship's structure written the simplest way — one Poisson
  process per source of events (each party at its observed mean rate, each spoiler, each
  guarantor's incidents), a convoy process with one timeout a day and a window process — but no
  excitation, thinning, strain, tolerances or records. The target for the reference engine is
  at least half its speed.

References for the fast engine:

* "numpy floor": one uniform per day for every random decision of a daily model of the
  scenario, thresholded and counted (see :func:`numpy_floor`);
* "streams floor": the random numbers the exact engines consume and nothing else — as many
  Philox blocks per run as the flagship uses, each source's with its exponential gap (see
  :func:`streams_floor`). No engine that keeps streams by mechanism can be faster.

    python benchmarks/bench_engines.py [--runs 20000] [--repeat 3] [--scenario FILE]
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numba as nb
import numpy as np
import simpy

import sim
from sim import streams
from sim.engines import ENGINES, Params
from sim.records import Columns
from sim.runner import simulate_chunk

ROOT = Path(__file__).resolve().parents[1]


def run_generator(seed: int, run: int) -> np.random.Generator:
    """A generator per run (the references' seeding: a SeedSequence per run)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(run,))))


def block_generator(seed: int, block: int) -> np.random.Generator:
    """A generator per block of runs (the numpy floor's seeding)."""
    ss = np.random.SeedSequence(seed, spawn_key=(2**32, block))
    return np.random.Generator(np.random.PCG64(ss))


def _uniforms(rng: np.random.Generator) -> Iterator[float]:
    while True:
        yield from rng.random(64).tolist()


def _poisson(env: simpy.Environment, draw: Callable[[], float], rate: float, window: float):
    t = 0.0
    while rate > 0:
        t_next = t - math.log(1.0 - draw()) / rate
        if t_next >= window:
            return
        yield env.timeout(t_next - t)
        t = t_next


def _daily(env: simpy.Environment, first: int, window: int):
    yield env.timeout(first + 0.5)
    for _ in range(first + 1, window):
        yield env.timeout(1.0)


def bare_floor(runs: int, events_per_run: float, window: int, seed: int) -> float:
    """Seconds for ``runs`` runs of one Poisson process with ``events_per_run`` events."""
    started = time.perf_counter()
    for i in range(runs):
        draw = _uniforms(run_generator(seed, i)).__next__
        env = simpy.Environment()
        env.process(_poisson(env, draw, events_per_run / window, window))
        env.run(until=window)
    return time.perf_counter() - started


def minimal_model(runs: int, rates: list[float], first_day: int, window: int, seed: int) -> float:
    """Seconds for ``runs`` runs of the flagship's structure without its mechanisms."""
    started = time.perf_counter()
    for i in range(runs):
        draw = _uniforms(run_generator(seed, i)).__next__
        env = simpy.Environment()
        for rate in rates:
            env.process(_poisson(env, draw, rate, window))
        env.process(_daily(env, first_day, window))
        end = env.timeout(window)
        env.run(until=end)
    return time.perf_counter() - started


def engine_time(params: Params, engine: str, runs: int, seed: int) -> float:
    """Seconds to simulate ``runs`` runs (seeding included, aggregation and files not)."""
    size = ENGINES[engine].chunk
    started = time.perf_counter()
    for a in range(0, runs, size):
        simulate_chunk(params, engine, seed, a, min(a + size, runs))
    return time.perf_counter() - started


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def numpy_floor(params: Params, runs: int, seed: int) -> float:
    """Seconds for the numpy floor: one uniform per day for every random decision of a daily
    model of the scenario (per party: occurrence, severity, target if several; per spoiler:
    occurrence, severity, blame if blamed on someone; per guarantor with incidents; per
    convoy), thresholded and counted, in blocks of the fast engine's size."""
    p = params
    decisions = sum(2 + (len(t) > 1) for t in p.party_targets)
    decisions += sum(2 + (b > 0) for b in p.spoiler_blame)
    decisions += sum(r > 0 for r in p.incident_rate) + p.convoys_per_day
    thresholds = np.linspace(0.1, 0.5, decisions)[:, None]
    block = ENGINES["fast"].chunk
    started = time.perf_counter()
    for b, a in enumerate(range(0, runs, block)):
        rng = block_generator(seed, b)
        u = rng.random((min(block, runs - a), decisions, p.window))
        (u < thresholds).sum(axis=2)
    return time.perf_counter() - started


def integrate_time(scenario: sim.Scenario, engine: str, runs: int, seed: int) -> float:
    """Seconds to simulate ``runs`` runs, each with its own parameter set (``--integrate``)."""
    params = Params.from_scenario(scenario)
    size = ENGINES[engine].chunk
    started = time.perf_counter()
    for a in range(0, runs, size):
        simulate_chunk(params, engine, seed, a, min(a + size, runs), scenario)
    return time.perf_counter() - started


@nb.njit(cache=True)
def _draw_streams(runs, seed, keys, blocks, gaps):  # type: ignore[no-untyped-def]
    total = 0.0
    for r in range(runs.size):
        for i in range(keys.size):
            for j in range(blocks[i]):
                u0, u1, _, _ = streams.block(seed, keys[i], runs[r], j)
                total += -math.log1p(-u0) if j < gaps[i] else u1
    return total


def convoy_days(p: Params, c: Columns) -> float:
    """Convoy days per run on average: the days from ``first_day`` whose convoy time (mid-day)
    comes before the run ended (its collapse, or the end of the window); 0 without convoys."""
    if not p.convoys_per_day:
        return 0.0
    end = np.where(np.isnan(c.collapse_time), p.window, c.collapse_time)
    return float((np.arange(p.first_day, p.window)[None, :] + 0.5 < end[:, None]).sum(1).mean())


def stream_blocks(params: Params, pilot: sim.Results) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per mechanism: its key, the Philox blocks a flagship run reads from its stream on
    average, and how many of them give an exponential gap. A source reads one block for its
    first event and one after each event, each with a gap; the convoys one block a day while
    the agreement holds; the permission one block."""
    p, c = params, pilot.columns
    counts = np.concatenate([c.violations, c.attacks, c.incidents], axis=1).mean(0)
    names = [("party", x) for x in p.parties] + [("spoiler", x) for x in p.spoilers]
    names += [("incident", x) for x in p.guarantors]
    rates = np.asarray(p.tables()["rates"][0])
    active = [bool((rates[i, : p.window] > 0).any()) for i in range(len(names))]
    per_day = (p.convoys_per_day + 3) // 4 if p.convoys_per_day else 0
    blocks = [round(1 + n) if a else 0 for n, a in zip(counts, active, strict=True)]
    gaps = [*blocks, 0, 0]
    blocks += [round(convoy_days(p, c) * per_day), 1]
    keys = [streams.mechanism_key(*n) for n in names]
    keys += [streams.mechanism_key("convoys"), streams.mechanism_key("permission")]
    return tuple(np.asarray(x, np.int64) for x in (keys, blocks, gaps))  # type: ignore[return-value]


def streams_floor(mechanisms: tuple[np.ndarray, ...], runs: int, seed: int) -> float:
    """Seconds for the exact engines' random numbers alone (see :func:`stream_blocks`)."""
    seed_key = np.int64(streams.seed_key(seed))
    _draw_streams(np.arange(10), seed_key, *mechanisms)  # compiled (or loaded) first
    started = time.perf_counter()
    _draw_streams(np.arange(runs), seed_key, *mechanisms)
    return time.perf_counter() - started


def compile_seconds() -> float:
    """Seconds for the first fast-engine call in a fresh process with an empty numba cache
    (what a new install pays once; later processes load the compiled code from disk)."""
    import subprocess
    import sys
    import tempfile

    flagship = str(ROOT / "scenarios" / "geneva_2016.yaml")
    code = (
        "import time, numpy as np, sim\n"
        "from sim.engines import ENGINES, Params\n"
        f"p = Params.from_scenario(sim.load_scenario({flagship!r}))\n"
        "t = time.perf_counter(); ENGINES['fast'].run_batch(p, 1, np.arange(10))\n"
        "print(time.perf_counter() - t)\n"
    )
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    return float(out.stdout.strip() or "nan")


def table(
    title: str, runs: int, rows: list[tuple[str, Callable[[], float]]], ref: int, repeat: int
) -> None:
    """Time every row ``repeat`` times, taking turns (so a slow spell of a shared machine hits
    every row alike), and print the best of each beside the reference row."""
    best = [math.inf] * len(rows)
    for _ in range(repeat):
        for i, (_, timed) in enumerate(rows):
            gc.collect()
            best[i] = min(best[i], timed())
    print(f"{title} ({runs:,} runs, one core, best of {repeat})")
    print(f"  {'':36}{'seconds':>9}{'runs/s':>12}{'vs ' + rows[ref][0].split(' (')[0]:>28}")
    base = runs / best[ref]
    for (label, _), secs in zip(rows, best, strict=True):
        rate = runs / secs
        print(f"  {label:36}{secs:9.2f}{rate:12,.0f}{rate / base:27.2f}x")
    print()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20_000, help="runs for the SimPy comparison")
    ap.add_argument("--fast-runs", type=int, default=500_000, help="runs for the numpy comparison")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3, help="timings per row (the best is kept)")
    ap.add_argument("--scenario", default=str(ROOT / "scenarios" / "geneva_2016.yaml"))
    args = ap.parse_args()
    scenario = sim.load_scenario(args.scenario)
    params = Params.from_scenario(scenario)

    pilot = sim.simulate(scenario, runs=2_000, seed=args.seed, progress=False)
    c = pilot.columns
    w = scenario.window_days
    h = scenario.humanitarian
    first = h.first_day if h else w
    # observed mean rates (excitation included), so both models have as many events
    rates = [float(x) / w for x in c.violations.mean(0)]
    rates += list(params.spoiler_rate) + list(params.incident_rate)
    per_run = sum(rates) * w + (w - first)

    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cores, {platform.system()}, "
        f"Python {platform.python_version()}, numpy {np.__version__}, simpy {simpy.__version__}"
    )
    print(f"scenario: {scenario.name}; {per_run:.1f} events per run on average\n")
    n, seed = args.runs, args.seed
    table(
        "SimPy engine against SimPy references",
        n,
        [
            ("bare SimPy floor", lambda: bare_floor(n, per_run, w, seed)),
            ("minimal SimPy model (reference)", lambda: minimal_model(n, rates, first, w, seed)),
            ("engine 'simpy'", lambda: engine_time(params, "simpy", n, seed)),
        ],
        ref=1,
        repeat=args.repeat,
    )
    fast = args.fast_runs
    mechanisms = stream_blocks(params, pilot)
    print(
        f"streams floor: {mechanisms[1].sum()} Philox blocks, {mechanisms[2].sum()} of them "
        "with an exponential gap, per run"
    )
    rows = [
        ("numpy floor (reference)", lambda: numpy_floor(params, fast, seed)),
        ("streams floor", lambda: streams_floor(mechanisms, fast, seed)),
        ("engine 'fast'", lambda: engine_time(params, "fast", fast, seed)),
    ]
    uncertain = ROOT / "scenarios" / "uncertain_geneva_2016.yaml"
    if uncertain.exists():
        integrated = sim.load_scenario(uncertain)
        rows.append(
            ("engine 'fast', --integrate", lambda: integrate_time(integrated, "fast", fast, seed))
        )
    table("fast engine against the numpy floor", fast, rows, ref=0, repeat=args.repeat)
    print(
        f"first call of the fast engine with an empty cache (compiling): {compile_seconds():.1f} s"
    )


if __name__ == "__main__":
    main()
