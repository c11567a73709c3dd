"""Where the fast engine's time goes on the flagship: the same runs with mechanisms switched off.

    python benchmarks/bench_breakdown.py [--runs 200000] [--repeat 3]

Each row is the flagship with some assumptions changed (``--set`` style overrides), timed
best of ``--repeat`` in turns on one core, with its hostile events and convoy days per run.
Differences between rows price a mechanism: no retaliation removes the re-solving of provoked
parties; no hostile events leaves the per-run set-up and the convoys; no convoys leaves the
set-up alone.
"""

from __future__ import annotations

import argparse
import gc
import math
import time
from pathlib import Path

import numpy as np
from bench_engines import convoy_days  # this folder: the scripts run from it

import sim
from sim.engines import ENGINES, Params

ROOT = Path(__file__).resolve().parents[1]
QUIET = {
    "parties.government.violation_prob": 0.0,
    "parties.opposition.violation_prob": 0.0,
    "spoilers.nusra.attack_prob": 0.0,
    "spoilers.isis.attack_prob": 0.0,
    "guarantors.usa.incident_prob": 0.0,
}
VARIANTS: dict[str, dict[str, object]] = {
    "flagship": {},
    "no retaliation (boost 0)": {
        "parties.government.retaliation.boost": 0.0,
        "parties.opposition.retaliation.boost": 0.0,
    },
    "no hostile events": QUIET,
    "no hostile events, no convoys": {**QUIET, "humanitarian.convoys_per_day": 0},
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    base = sim.load_scenario(ROOT / "scenarios" / "geneva_2016.yaml")
    run_batch = ENGINES["fast"].run_batch
    runs = np.arange(args.runs)
    params = {name: Params.from_scenario(base.with_overrides(v)) for name, v in VARIANTS.items()}
    best = dict.fromkeys(VARIANTS, math.inf)
    columns = {}
    for p in params.values():
        run_batch(p, 1, runs[:100])  # compiled (or loaded) before timing
    for _ in range(args.repeat):
        for name, p in params.items():
            gc.collect()
            started = time.perf_counter()
            columns[name] = run_batch(p, 1, runs)
            best[name] = min(best[name], time.perf_counter() - started)
    print(f"fast engine, flagship variants ({args.runs:,} runs, one core, best of {args.repeat})")
    print(f"  {'':32}{'runs/s':>10}{'µs/run':>9}{'events/run':>12}{'convoy days':>13}")
    for name, secs in best.items():
        c = columns[name]
        events = np.concatenate([c.violations, c.attacks, c.incidents], axis=1).sum(1).mean()
        p = params[name]
        convoys = convoy_days(p, c)
        rate = args.runs / secs
        print(f"  {name:32}{rate:10,.0f}{1e6 / rate:9.2f}{events:12.1f}{convoys:13.1f}")


if __name__ == "__main__":
    main()
