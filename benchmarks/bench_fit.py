"""Fitting speed: maximum likelihood, standard errors, profile intervals and goodness of fit
for about 10,000 events of 3 actors (two retaliating parties and a spoiler), on one core.

    python benchmarks/bench_fit.py [--days 1500] [--repeat 3]

The events are simulated once by the reference engine (not timed); then ``sim.fit.fit``
fits every default key (rates, boosts, half-lives, shares) and the best of ``--repeat``
timings is printed with the estimates, as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # one core: no threaded BLAS anywhere
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from sim.events import from_trace
from sim.fit import fit
from sim.runner import trace_run
from sim.scenario import scenario_from_dict


def scenario(days: int):
    party = {"violation_rate": 2.0, "major_share": 0.3}
    return scenario_from_dict(
        {
            "name": "bench_fit",
            "title": "Fitting benchmark",
            "window_days": days,
            "parties": {
                "north": {
                    "side": "a",
                    **party,
                    "retaliation": {"boost": 0.8, "half_life_hours": 4},
                },
                "south": {
                    "side": "b",
                    **party,
                    "retaliation": {"boost": 0.8, "half_life_hours": 4},
                },
            },
            "spoilers": {
                "raiders": {
                    "attack_rate": 0.5,
                    "targets": "a",
                    "blamed_on": "south",
                    "blame_prob": 0.4,
                }
            },
            "monte_carlo": {"max_events": 1_000_000},
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=1500, help="span simulated (default 1500)")
    parser.add_argument("--repeat", type=int, default=3, help="timings (best is kept)")
    args = parser.parse_args()
    s = scenario(args.days)
    _, trace = trace_run(s, 1, 0)
    events = from_trace(s, trace)
    timings = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        result = fit(s, events)
        timings.append(time.perf_counter() - started)
    print(
        json.dumps(
            {
                "events": len(events.times),
                "n_events": result.n_events,
                "seconds_best": round(min(timings), 3),
                "seconds_all": [round(t, 3) for t in timings],
                "estimates": {k: e.value for k, e in result.estimates.items()},
                "ci95": {k: e.ci95 for k, e in result.estimates.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
