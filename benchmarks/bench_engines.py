"""Runs per second of the engines on the flagship, beside a reference measured in the same run.

Two references, both with the engines' per-run seeding (a SeedSequence-derived Generator,
uniforms drawn in blocks) and a fresh SimPy Environment per run:

* "bare SimPy floor": one Poisson process with as many events as the flagship has on average
  (hostile events plus convoy days) — what SimPy and seeding alone cost;
* "minimal SimPy model": the flagship's structure written the simplest way — one Poisson
  process per source of events (each party at its observed mean rate, each spoiler, each
  guarantor's incidents), a convoy process with one timeout a day and a window process — but no
  excitation, thinning, strain, tolerances or records. The target for the reference engine is
  at least half its speed.

    python benchmarks/bench_engines.py [--runs 20000] [--scenario scenarios/geneva_2016.yaml]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import simpy

import sim
from sim.engines import ENGINES, Params
from sim.runner import run_generator, simulate_chunk

ROOT = Path(__file__).resolve().parents[1]


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=1)
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
    print(
        f"scenario: {scenario.name}; {args.runs:,} runs on one core; "
        f"{per_run:.1f} events per run on average\n"
    )
    rows = [
        ("bare SimPy floor", bare_floor(args.runs, per_run, w, args.seed)),
        ("minimal SimPy model (reference)", minimal_model(args.runs, rates, first, w, args.seed)),
    ]
    for name in ENGINES:
        rows.append((f"engine '{name}'", engine_time(params, name, args.runs, args.seed)))
    ref = args.runs / rows[1][1]
    print(f"{'':34}{'seconds':>9}{'runs/s':>11}{'vs reference':>14}")
    for label, secs in rows:
        rate = args.runs / secs
        print(f"{label:34}{secs:9.2f}{rate:11,.0f}{rate / ref:13.2f}x")


if __name__ == "__main__":
    main()
