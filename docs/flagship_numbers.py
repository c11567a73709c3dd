"""Print the numbers quoted in docs/flagship.md ("What the model says about what happened").

python docs/flagship_numbers.py [--runs 10000] [--seed 20160912]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import sim
from sim.stats import wilson

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "geneva_2016.yaml"


def share(mask: np.ndarray) -> str:
    k, n = int(mask.sum()), mask.size
    lo, hi = wilson(k, n)
    return f"{k / n:.1%} [{lo:.1%}, {hi:.1%}]"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20160912)
    args = ap.parse_args()
    scenario = sim.load_scenario(SCENARIO)
    res = sim.simulate(scenario, runs=args.runs, seed=args.seed, progress=False)
    c = res.columns
    codes = np.array(sim.OUTCOMES)[c.outcome]
    gov = list(scenario.parties).index("government")
    on_day6_by_gov = (c.collapsed_by == gov) & (np.floor(c.collapse_time) == 6)
    no_aid = c.deliveries == 0
    print(f"engine {res.engine}, {res.runs:,} runs, seed {res.seed}\n")
    for code, (p, lo, hi) in res.outcome_probabilities().items():
        print(f"- P({code}) = {p:.1%} [{lo:.1%}, {hi:.1%}]")
    print(f"- P(no deliveries) = {share(no_aid)}")
    print(f"- P(collapse declared by government on day 6) = {share(on_day6_by_gov)}")
    print(f"- P(not triggered and no deliveries) = {share((codes != 'triggered') & no_aid)}")
    print(f"- P(government collapse on day 6 and no deliveries) = {share(on_day6_by_gov & no_aid)}")
    surv = dict(res.survival())
    print(
        f"- P(collapse by day 2) = {1 - surv[2.0]:.1%}; "
        f"P(collapse on days 4–6) = {surv[4.0] - surv[7.0]:.1%}"
    )
    by = res.collapse_by_actor()
    print("- collapse declared by: " + ", ".join(f"{a} {n / res.runs:.1%}" for a, n in by.items()))
    g = list(scenario.guarantors).index("usa")
    print(f"- P(at least one usa incident) = {share(c.incidents[:, g] > 0)}")
    daily = np.diff(c.strain_daily, axis=2, prepend=0).mean(axis=0)
    for s, side in enumerate(scenario.sides):
        print(
            f"- mean strain added per day against {side}: "
            + ", ".join(f"{x:.2f}" for x in daily[s])
        )
    src = list(res.shape.sources)
    per_day = c.events_daily.mean(axis=0)  # [sources, days], over all runs (ended runs add 0)
    rebels = per_day[src.index("opposition")] + per_day[src.index("nusra")]
    print("- mean events a day, opposition and Nusra: " + ", ".join(f"{x:.2f}" for x in rebels))
    print(
        "- mean events a day, government: "
        + ", ".join(f"{x:.2f}" for x in per_day[src.index("government")])
    )
    print(
        "- mean violations: "
        + ", ".join(f"{k} {v['mean']:.2f}" for k, v in res.violation_stats().items())
    )
    for change in (
        {"humanitarian.permission_prob": 1.0},
        {"guarantors.usa.incident_prob": 0.0},
        {"spoilers.nusra.blame_prob": 0.1},
        {"guarantors.russia.pressure": 0.6},
    ):
        alt = sim.simulate(
            scenario.with_overrides(change), runs=args.runs, seed=args.seed, progress=False
        )
        p, lo, hi = alt.outcome_probabilities()["triggered"]
        key, value = next(iter(change.items()))
        print(f"- with {key}={value}: P(triggered) = {p:.1%} [{lo:.1%}, {hi:.1%}]")


if __name__ == "__main__":
    main()
