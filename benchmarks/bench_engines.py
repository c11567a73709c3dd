"""Runs per second of the engines on the flagship, beside a reference measured in the same run.

Reference ("minimal SimPy model"): per run, the same seeding (a fresh SeedSequence-derived
Generator) and a fresh SimPy Environment with one Poisson process that has as many events as
the flagship's mean number of hostile events and convoy attempts. It is the floor that SimPy
plus per-run seeding impose; the target for the reference engine is at least half its speed.

    python benchmarks/bench_engines.py [--runs 20000] [--scenario scenarios/geneva_2016.yaml]
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time
from pathlib import Path

import numpy as np
import simpy

import sim
from sim.engines import ENGINES, Params
from sim.runner import run_generator

ROOT = Path(__file__).resolve().parents[1]


def minimal_simpy(runs: int, events_per_run: float, window: float, seed: int) -> float:
    """Seconds for ``runs`` runs of the minimal SimPy model."""
    rate = events_per_run / window

    def poisson(env: simpy.Environment, draw) -> object:
        t = 0.0
        while True:
            t_next = t - math.log(1.0 - draw()) / rate
            if t_next >= window:
                return
            yield env.timeout(t_next - t)
            t = t_next

    started = time.perf_counter()
    for i in range(runs):
        rng = run_generator(seed, i)
        draw = iter(rng.random(64).tolist()).__next__
        env = simpy.Environment()
        env.process(poisson(env, draw))
        env.run(until=window)
    return time.perf_counter() - started


def engine_time(params: Params, engine: str, runs: int, seed: int) -> float:
    run_one = ENGINES[engine]
    started = time.perf_counter()
    for i in range(runs):
        run_one(params, run_generator(seed, i), None)
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
    events = float((c.violations.sum(1) + c.attacks.sum(1) + c.incidents.sum(1)).mean())
    convoys = scenario.humanitarian.convoys_per_day if scenario.humanitarian else 0
    days = scenario.window_days - (scenario.humanitarian.first_day if scenario.humanitarian else 0)
    per_run = events + (days if convoys else 0)

    print(
        f"machine: {cpu_name()}, {os.cpu_count()} cores, {platform.system()}, "
        f"Python {platform.python_version()}, numpy {np.__version__}, simpy {simpy.__version__}"
    )
    print(
        f"scenario: {scenario.name}; {args.runs:,} runs on one core; "
        f"{per_run:.1f} events per run on average\n"
    )
    rows = [
        (
            "minimal SimPy model (reference)",
            minimal_simpy(args.runs, per_run, scenario.window_days, args.seed),
        )
    ]
    for name in ENGINES:
        rows.append((f"engine '{name}'", engine_time(params, name, args.runs, args.seed)))
    ref = args.runs / rows[0][1]
    print(f"{'':34}{'seconds':>9}{'runs/s':>11}{'vs reference':>14}")
    for label, secs in rows:
        rate = args.runs / secs
        print(f"{label:34}{secs:9.2f}{rate:11,.0f}{rate / ref:13.2f}x")


if __name__ == "__main__":
    main()
