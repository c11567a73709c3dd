"""Print the numbers quoted in docs/calibration.md and draw its Q–Q figure.

    python docs/calibration_numbers.py [--replications 200]

Every data set is simulated by the reference engine from docs/examples/known_two_party.yaml
(``sim.runner.trace_run``, seed 7 for the coverage, 5 for the span comparison, 9 for the
7-day windows), then fitted with ``sim.fit.fit``.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import sim
from sim.events import from_trace
from sim.fit import fit
from sim.fitted import qq_figure
from sim.runner import trace_run
from sim.stats import wilson

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "known_two_party.yaml"
TRUTH = {"violation_rate": 2.0, "retaliation.boost": 0.8, "retaliation.half_life_hours": 4.0}
PARTIES = ("north", "south")
KEYS = [f"parties.{p}.{k}" for p in PARTIES for k in TRUTH]


def scenario(days: int) -> sim.Scenario:
    return sim.load_scenario(EXAMPLE).with_overrides({"window_days": days})


def events(s: sim.Scenario, seed: int, run: int):
    return from_trace(s, trace_run(s, seed, run)[1])


def fmt(x: float | None) -> str:
    return "not identified" if x is None else f"{x:.3g}"


def worked_example() -> None:
    s = scenario(60)
    ev = events(s, 7, 0)
    result = fit(s, ev)
    print("## Worked example (seed 7, run 0)")
    print(f"events: {result.n_events}")
    print("| key | truth | estimate | se | 95% interval |")
    truths = {f"parties.{p}.{k}": v for p in PARTIES for k, v in TRUTH.items()}
    truths.update({f"parties.{p}.major_share": 0.3 for p in PARTIES})
    truths.update({"spoilers.raiders.attack_rate": 0.5, "spoilers.raiders.blame_prob": 0.4})
    for key, e in result.estimates.items():
        print(
            f"| `{key}` | {truths[key]:g} | {fmt(e.value)} | {fmt(e.se)} | "
            f"{fmt(e.ci95[0])} – {fmt(e.ci95[1])} |"
        )
    print("gof:", {a: round(g["p_value"], 3) for a, g in result.gof.items()})
    fig = qq_figure("north", result.rescaled["north"], result.gof["north"], result.scenario.name)
    path = ROOT / "docs" / "figures" / "calibration_qq.png"
    fig.savefig(path, dpi=120)
    print(f"wrote {path.relative_to(ROOT)}")


def coverage(replications: int) -> None:
    s = scenario(60)
    covered = dict.fromkeys(TRUTH, 0)
    open_ends = dict.fromkeys(TRUTH, 0)
    total = 0
    started = time.perf_counter()
    for run in range(replications):
        result = fit(s, events(s, 7, run), KEYS)
        for p in PARTIES:
            total += 1
            for key, true in TRUTH.items():
                lo, hi = result.estimates[f"parties.{p}.{key}"].ci95
                covered[key] += (lo is None or lo <= true) and (hi is None or true <= hi)
                open_ends[key] += lo is None or hi is None
    elapsed = time.perf_counter() - started
    print(f"## Coverage: {replications} replications x 2 parties = {total} intervals each")
    for key in TRUTH:
        lo, hi = wilson(covered[key], total)
        print(
            f"{key}: {covered[key] / total:.1%} (Wilson 95% {lo:.1%}–{hi:.1%}); "
            f"an end not identified in {open_ends[key]}"
        )
    print(f"(simulation and fitting took {elapsed:.1f} s)")


def spans() -> None:
    print("## Median relative error by span (40 replications x 2 parties, seed 5)")
    print("| days | " + " | ".join(TRUTH) + " |")
    for days in (30, 60, 120):
        s = scenario(days)
        errors: dict[str, list[float]] = {k: [] for k in TRUTH}
        for run in range(40):
            result = fit(s, events(s, 5, run), KEYS)
            for p in PARTIES:
                for key, true in TRUTH.items():
                    v = result.estimates[f"parties.{p}.{key}"].value
                    errors[key].append(abs(v - true) / true if v is not None else 1.0)
        print(f"| {days} | " + " | ".join(f"{np.median(errors[k]):.0%}" for k in TRUTH) + " |")


def one_week(replications: int) -> None:
    s = scenario(7)
    rows = []
    for run in range(replications):
        ev = events(s, 9, run)
        result = fit(s, ev, KEYS)
        for p in PARTIES:
            h = result.estimates[f"parties.{p}.retaliation.half_life_hours"]
            b = result.estimates[f"parties.{p}.retaliation.boost"]
            r = result.estimates[f"parties.{p}.violation_rate"]
            rows.append((ev.counts().get(p, 0), h, b, r))
    n = len(rows)
    no_half = sum(h.value is None or None in h.ci95 for _, h, _, _ in rows)
    no_boost = sum(b.ci95[1] is None for _, _, b, _ in rows)
    boost_zero = sum(b.ci95[0] == 0 for _, _, b, _ in rows)
    no_rate = sum(None in r.ci95 for _, _, _, r in rows)
    print(f"## One 7-day window ({replications} replications x 2 parties = {n} fits, seed 9)")
    print(f"median events per party: {np.median([c for c, *_ in rows]):.0f}")
    print(f"half-life interval with an end not identified: {no_half / n:.0%}")
    print(
        f"boost: upper end not identified {no_boost / n:.0%}; interval reaching 0 "
        f"{boost_zero / n:.0%}"
    )
    print(f"rate: interval not identified {no_rate / n:.0%}")
    # the same windows with retaliation held at its (true) value: only rates and shares fitted
    rate_keys = [f"parties.{p}.violation_rate" for p in PARTIES]
    covered, ratios = 0, []
    for run in range(replications):
        result = fit(s, events(s, 9, run), rate_keys)
        for key in rate_keys:
            lo, hi = result.estimates[key].ci95
            covered += lo <= TRUTH["violation_rate"] <= hi
            ratios.append(hi / lo)
    lo, hi = wilson(covered, n)
    print(
        f"rate alone (retaliation held): covers the truth in {covered / n:.1%} "
        f"(Wilson 95% {lo:.1%}–{hi:.1%}); median ratio of the interval ends "
        f"{np.median(ratios):.2f}"
    )
    print("first three fits:")
    for count, h, b, r in rows[:3]:
        print(
            f"  {count} violations: half-life {fmt(h.value)} h [{fmt(h.ci95[0])}, "
            f"{fmt(h.ci95[1])}], boost {fmt(b.value)} [{fmt(b.ci95[0])}, {fmt(b.ci95[1])}], "
            f"rate {fmt(r.value)} [{fmt(r.ci95[0])}, {fmt(r.ci95[1])}]"
        )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--replications", type=int, default=200)
    args = ap.parse_args()
    worked_example()
    coverage(args.replications)
    spans()
    one_week(args.replications)


if __name__ == "__main__":
    main()
