"""Print the numbers quoted in docs/what_if.md and docs/phases.md.

python docs/what_if_numbers.py [--runs 10000] [--seed 20160912]

Every scenario runs with the same seed and runs (common random numbers), with the fast engine:
it gives the same runs as `ceasefire compare` and `ceasefire run` (the reference engine), only
faster.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from scipy import stats

import sim
from sim.compare import compare, compare_results

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
VARIANTS = ("aid_day_one", "no_incident", "pessimistic", "russian_pressure", "separated")


def p_triggered(scenario: sim.Scenario, runs: int, seed: int, **change: float) -> str:
    r = sim.simulate(
        scenario.with_overrides(change) if change else scenario,
        runs=runs,
        seed=seed,
        engine="fast",
        progress=False,
    )
    p, lo, hi = r.outcome_probabilities()["triggered"]
    return f"{p:.1%} [{lo:.1%}, {hi:.1%}]"


def aid_lever(runs: int, seed: int) -> None:
    """P(2+ deliveries) in closed form (no violence) and P(triggered) simulated, under the
    old access model (a daily coin flip of 0.2) and the new one (one permission, then 0.6)."""
    flagship = sim.load_scenario(SCENARIOS / "geneva_2016.yaml")
    h = flagship.humanitarian
    assert h is not None
    q, perm = h.success_prob, h.permission_prob
    print("\n## The aid lever: P(2+ deliveries), closed form without violence")
    old6 = stats.binom.sf(1, 6, 0.2)
    new6 = perm * stats.binom.sf(1, 6, q)
    day_one = stats.binom.sf(1, 7, q)
    print(f"- old flagship (daily flips 0.2, 6 convoys): {old6:.3f}")
    print(f"- new flagship (permission {perm}, then {q} a convoy, 6 convoys): {new6:.3f}")
    print(f"- aid from day one, old variant (0.6 a day, 7 convoys): {day_one:.3f}")
    print(f"- aid from day one, new variant (permitted, {q} a convoy, 7 convoys): {day_one:.3f}")
    print("\n## The aid lever: P(triggered) simulated")
    old = {"humanitarian.permission_prob": 1.0, "humanitarian.success_prob": 0.2}
    old_aid = {"humanitarian.permission_prob": 1.0, "humanitarian.success_prob": 0.6}
    print(f"- old flagship (permission 1, success 0.2): {p_triggered(flagship, runs, seed, **old)}")
    print(f"- new flagship: {p_triggered(flagship, runs, seed)}")
    aid = sim.load_scenario(SCENARIOS / "geneva_2016_aid_day_one.yaml")
    print(f"- old aid from day one (success 0.6): {p_triggered(aid, runs, seed, **old_aid)}")
    print(f"- new aid from day one: {p_triggered(aid, runs, seed)}")
    print("- changed alone from the new flagship:")
    for key, value in (("humanitarian.permission_prob", 1.0), ("humanitarian.first_day", 0)):
        print(f"  - {key}={value}: {p_triggered(flagship, runs, seed, **{key: value})}")
    combo = {"guarantors.russia.pressure": 0.6}
    print(f"- aid from day one + Russian pressure 0.6: {p_triggered(aid, runs, seed, **combo)}")
    combo |= {"spoilers.nusra.blame_prob": 0.1, "guarantors.usa.incident_prob": 0.0}
    print(f"- ... + separation + no incident: {p_triggered(aid, runs, seed, **combo)}")


def phases(runs: int, seed: int) -> None:
    """The funnel of the phased Geneva scenario, and what the JIC phase adds."""
    scenario = sim.load_scenario(SCENARIOS / "geneva_2016_phases.yaml")
    r = sim.simulate(scenario, runs=runs, seed=seed, engine="fast", progress=False)
    print("\n## geneva_2016_phases: the funnel")
    for name, v in r.phase_summary().items():
        (rl, rh), (pl, ph) = v["reached"]["ci95"], v["passed"]["ci95"]
        print(
            f"- {name}: reached {v['reached']['p']:.1%} [{rl:.1%}, {rh:.1%}], "
            f"passed {v['passed']['p']:.1%} [{pl:.1%}, {ph:.1%}]"
        )
    reached, passed = r.tally.phase_counts()
    jic = list(r.shape.phases).index("jic")
    k, n = int(passed[jic]), int(reached[jic])
    lo, hi = sim.stats.wilson(k, n)
    print(f"- P(jic passed | jic reached) = {k / n:.1%} [{lo:.1%}, {hi:.1%}] ({k} of {n} runs)")
    c = r.columns
    for i, name in enumerate(r.shape.phases[:2]):  # the renewals: why runs stop there
        stopped = c.phase == i
        reasons = ", ".join(
            f"{code} {int((stopped & (c.outcome == j)).sum())}"
            for j, code in enumerate(sim.OUTCOMES)
            if j
        )
        print(f"- stopped in {name}: {int(stopped.sum())} of {r.runs} runs ({reasons})")
    in_jic = c.phase == jic
    for code in sim.OUTCOMES[1:]:
        share = (in_jic & (c.outcome == sim.OUTCOMES.index(code))).sum() / max(n, 1)
        print(f"  - of the runs that reached the JIC, {code}: {share:.1%}")
    flat = {
        "spoilers.nusra.attack_prob": 0.4,
        "spoilers.isis.attack_prob": 0.4,
        "parties.government.major_share": 0.4,
        "parties.government.violation_prob": 0.65,
    }
    keys = ",".join(f"phases.3.set.{k}" for k in flat)
    print(f"- the JIC without its effects (the calm's last values; {keys}):")
    data = scenario.model_dump(mode="python", exclude_none=True)
    data["phases"] = [dict(p) for p in data["phases"]]
    data["phases"][3]["set"] = dict(data["phases"][3]["set"]) | flat
    for key in ("uncertainties", "extends"):
        data.pop(key, None)
    no_effect = sim.scenario_from_dict(data)
    r0 = sim.simulate(no_effect, runs=runs, seed=seed, engine="fast", progress=False)
    reached0, passed0 = r0.tally.phase_counts()
    k0, n0 = int(passed0[jic]), int(reached0[jic])
    lo0, hi0 = sim.stats.wilson(k0, n0)
    print(f"  P(jic passed | jic reached) = {k0 / n0:.1%} [{lo0:.1%}, {hi0:.1%}]")
    data = scenario.model_dump(mode="python", exclude_none=True)
    for key in ("uncertainties", "extends"):
        data.pop(key, None)
    data["phases"] = [dict(p) for p in data["phases"]]
    data["phases"][2]["on_fail"] = "cancel"
    r2 = sim.simulate(
        sim.scenario_from_dict(data), runs=runs, seed=seed, engine="fast", progress=False
    )
    p2 = r2.phase_summary()["jic"]["reached"]["p"]
    print(f"- calm without its extension: P(jic reached) = {p2:.1%}")
    data["phases"][2]["gate"] = dict(data["phases"][2]["gate"]) | {"required_deliveries": 2}
    r3 = sim.simulate(
        sim.scenario_from_dict(data), runs=runs, seed=seed, engine="fast", progress=False
    )
    p3 = r3.phase_summary()["jic"]["reached"]["p"]
    print(f"  ... and 2 deliveries required: P(jic reached) = {p3:.1%}")
    no_fade = scenario.with_overrides({"rules.strain_half_life_days": None})
    r1 = sim.simulate(no_fade, runs=runs, seed=seed, engine="fast", progress=False)
    reached1, passed1 = r1.tally.phase_counts()
    k1, n1 = int(passed1[jic]), int(reached1[jic])
    print(f"- without strain recovery: P(jic passed | jic reached) = {k1 / n1:.1%} ({k1} of {n1})")
    flagship = sim.load_scenario(SCENARIOS / "geneva_2016.yaml")
    f = sim.simulate(flagship, runs=runs, seed=seed, engine="fast", progress=False)
    print("- against the flagship (one 7-day window):")
    print(compare_results([f, r], labels=["geneva_2016", "geneva_2016_phases"]).text())
    gaza = sim.load_scenario(SCENARIOS / "gaza_2025.yaml")
    g = sim.simulate(gaza, runs=runs, seed=gaza.monte_carlo.seed, engine="fast", progress=False)
    print("\n## gaza_2025")
    for code, (p, lo, hi) in g.outcome_probabilities().items():
        print(f"- P({code}) = {p:.1%} [{lo:.1%}, {hi:.1%}]")
    for name, v in g.phase_summary().items():
        print(f"- {name}: reached {v['reached']['p']:.1%}, passed {v['passed']['p']:.1%}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--seed", type=int, default=20160912)
    args = ap.parse_args()
    files = [
        SCENARIOS / "geneva_2016.yaml",
        *(SCENARIOS / f"geneva_2016_{v}.yaml" for v in VARIANTS),
    ]
    print("## What-if table (ceasefire compare of the flagship and its variants)\n")
    table = compare(files, args.runs, args.seed, engine="fast", progress=False)
    print(table.text().replace(str(SCENARIOS.parent) + "/", ""))
    # the paired test against an unpaired one on the same counts (the flagship and no incident)
    rows = {row["label"]: row for row in table.table()}
    a, b = rows["geneva_2016"], rows["geneva_2016_no_incident"]
    k1, k2 = round(a["p_triggered"] * args.runs), round(b["p_triggered"] * args.runs)
    pooled = (k1 + k2) / (2 * args.runs)
    z = (k2 - k1) / args.runs / math.sqrt(2 * pooled * (1 - pooled) / args.runs)
    unpaired = math.erfc(abs(z) / math.sqrt(2))
    print(f"\n- no incident against the flagship: {k1} → {k2} triggered runs; paired (McNemar) "
          f"p = {b['p_value']:.2g}, unpaired two-proportion p = {unpaired:.2f}")  # fmt: skip
    aid_lever(args.runs, args.seed)
    phases(args.runs, args.seed)


if __name__ == "__main__":
    main()
