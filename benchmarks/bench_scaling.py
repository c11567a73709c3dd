"""Workers and memory: 1 vs 2 worker processes, and peak memory in summary-only mode.

    python benchmarks/bench_scaling.py [--runs 1000000] [--memory-runs 10000000]

Each measurement runs in a fresh Python process so peak memory (ru_maxrss, the resident set
of the process and of its worker children) is that measurement's alone.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "geneva_2016.yaml"

CHILD = """
import json, resource, sys, time
import sim
runs, workers, keep = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "keep"
scenario = sim.load_scenario(sys.argv[4])
t0 = time.perf_counter()
res = sim.simulate(scenario, runs=runs, seed=1, engine="fast", workers=workers,
                   keep_runs=keep, progress=False)
seconds = time.perf_counter() - t0
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": seconds, "peak_mib": max(own, children) / 1024,
                  "p_triggered": res.outcome_probabilities()["triggered"][0]}))
"""


def measure(runs: int, workers: int, keep: bool) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(runs),
            str(workers),
            "keep" if keep else "lean",
            str(SCENARIO),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1_000_000)
    ap.add_argument("--memory-runs", type=int, default=10_000_000)
    args = ap.parse_args()
    print("fast engine, flagship, summary-only unless said otherwise\n")
    one = measure(args.runs, 1, keep=False)
    two = measure(args.runs, 2, keep=False)
    print(
        f"{args.runs:,} runs, 1 worker : {one['seconds']:6.2f} s "
        f"({args.runs / one['seconds']:,.0f} runs/s)"
    )
    speedup = one["seconds"] / two["seconds"]
    print(
        f"{args.runs:,} runs, 2 workers: {two['seconds']:6.2f} s "
        f"({args.runs / two['seconds']:,.0f} runs/s)  speed-up {speedup:.2f}x"
    )
    assert one["p_triggered"] == two["p_triggered"], "results must not depend on workers"
    big = measure(args.memory_runs, 2, keep=False)
    print(
        f"{args.memory_runs:,} runs, 2 workers, summary only: {big['seconds']:6.1f} s, "
        f"peak memory {big['peak_mib']:,.0f} MiB per process"
    )


if __name__ == "__main__":
    main()
