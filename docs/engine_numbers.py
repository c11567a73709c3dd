"""Print the measurements quoted in docs/what_if.md ("Common random numbers") and
docs/performance.md ("The engines give the same runs").

    python docs/engine_numbers.py [--runs 20000] [--seed 20160912]

1. Discordance: the share of runs whose P(triggered) indicator changes between the flagship
   and a variant, both run with the same seed, on every engine.
2. Engine identity: for every scenario file, how many rows of runs.csv differ between the
   SimPy and the fast engine.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import sim

ROOT = Path(__file__).resolve().parents[1]


def reordered(s: sim.Scenario) -> sim.Scenario:
    data = s.model_dump(mode="json", exclude_none=True)
    for block in ("parties", "spoilers", "guarantors"):
        data[block] = dict(reversed(list(data[block].items())))
    return sim.scenario_from_dict(data)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=20160912)
    args = ap.parse_args()
    base = sim.load_scenario(ROOT / "scenarios" / "geneva_2016.yaml")
    variants = {
        "identical copy": base.with_overrides({}),
        "parties, spoilers and guarantors listed in reverse order": reordered(base),
        "spoilers.isis.attack_prob 0.400 → 0.401": base.with_overrides(
            {"spoilers.isis.attack_prob": 0.401}
        ),
        "guarantors.usa.incident_prob → 0": base.with_overrides(
            {"guarantors.usa.incident_prob": 0.0}
        ),
        "spoilers.nusra.blame_prob 0.5 → 0.1": base.with_overrides(
            {"spoilers.nusra.blame_prob": 0.1}
        ),
    }
    print(f"## Discordance on P(triggered), {args.runs:,} runs, seed {args.seed}\n")
    print("| variant | " + " | ".join(f"`{e}`" for e in sim.ENGINES) + " |")
    print("|---|" + "---:|" * len(sim.ENGINES))
    incident_share = {}
    for label, variant in variants.items():
        cells = []
        for engine in sim.ENGINES:
            a = sim.simulate(base, runs=args.runs, seed=args.seed, engine=engine, progress=False)
            b = sim.simulate(variant, runs=args.runs, seed=args.seed, engine=engine, progress=False)
            assert a.columns is not None and b.columns is not None
            changed = int(((a.columns.outcome == 0) != (b.columns.outcome == 0)).sum())
            cells.append(f"{changed} ({changed / args.runs:.2%})")
            incident_share[engine] = float((a.columns.incidents.sum(1) > 0).mean())
        print(f"| {label} | " + " | ".join(cells) + " |")
    shares = ", ".join(f"{e}: {v:.2%}" for e, v in incident_share.items())
    print(f"\nRuns with a US incident in the flagship: {shares}.\n")

    print(f"## Engine identity, {args.runs:,} runs per file, seed {args.seed}\n")
    print("| scenario | rows that differ |")
    print("|---|---:|")
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        scenario = sim.load_scenario(path)
        rows = [
            sim.simulate(scenario, runs=args.runs, seed=args.seed, engine=e, progress=False)
            .csv_text()
            .splitlines()
            for e in ("simpy", "fast")
        ]
        differ = sum(x != y for x, y in zip(*rows, strict=True))
        print(f"| `{path.name}` | {differ} of {args.runs:,} |")


if __name__ == "__main__":
    main()
