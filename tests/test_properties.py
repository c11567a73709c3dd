"""Property tests: invariants of ``sim.simulate`` over random valid scenarios (Hypothesis).

Scenarios have 2–3 sides, 1–3 parties per side, random probabilities or rates (scalar or one
per day), and optional targets, retaliation, tolerances, spoilers, guarantors, humanitarian
access and trigger conditions. Excitation is kept subcritical so runs stay short.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import sim
from sim import OUTCOMES, scenario_from_dict, simulate, trace_run

COLLAPSE = OUTCOMES.index("cancelled_collapse")
VIOLENCE = OUTCOMES.index("cancelled_violence")
ACCESS = OUTCOMES.index("cancelled_access")
TRIGGERED = OUTCOMES.index("triggered")

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

unit = st.floats(0, 1, allow_nan=False)
daily_prob = st.floats(0, 0.85, allow_nan=False)
rate = st.floats(0, 2, allow_nan=False)
seeds = st.integers(0, 2**32)


def schedule(draw: st.DrawFn, item: st.SearchStrategy[float], window: int) -> Any:
    if draw(st.booleans()):
        return draw(item)
    return draw(st.lists(item, min_size=window, max_size=window))


@st.composite
def scenario_data(draw: st.DrawFn) -> dict[str, Any]:
    """A random valid scenario as plain data."""
    window = draw(st.integers(1, 7))
    sides = [f"s{k}" for k in range(draw(st.integers(2, 3)))]
    parties: dict[str, dict[str, Any]] = {}
    members: dict[str, list[str]] = {s: [] for s in sides}
    for side in sides:
        for _ in range(draw(st.integers(1, 3))):
            name = f"p{len(parties)}"
            p: dict[str, Any] = {"side": side, "major_share": draw(unit)}
            if draw(st.booleans()):
                p["violation_prob"] = schedule(draw, daily_prob, window)
            else:
                p["violation_rate"] = schedule(draw, rate, window)
            others = [s for s in sides if s != side]
            if draw(st.booleans()):
                p["targets"] = draw(st.lists(st.sampled_from(others), min_size=1, unique=True))
            if draw(st.booleans()):
                p["retaliation"] = {
                    "boost": draw(st.floats(0, 0.5)),
                    "half_life_hours": draw(st.floats(1, 12)),
                }
            if draw(st.integers(0, 2)) == 0:
                p["tolerance"] = draw(st.floats(0, 25))
            parties[name] = p
            members[side].append(name)
    data: dict[str, Any] = {
        "name": "prop",
        "title": "Property scenario",
        "window_days": window,
        "rules": {"major_weight": draw(st.sampled_from([1, 2, 3, 5]))},
        "parties": parties,
    }
    spoilers = {}
    for k in range(draw(st.integers(0, 2))):
        target = draw(st.sampled_from(sides))
        sp: dict[str, Any] = {"targets": target, "major_share": draw(unit)}
        if draw(st.booleans()):
            sp["attack_prob"] = draw(daily_prob)
        else:
            sp["attack_rate"] = draw(rate)
        blamable = [n for n, p in parties.items() if p["side"] != target]
        if draw(st.booleans()):
            sp["blamed_on"] = draw(st.sampled_from(blamable))
            sp["blame_prob"] = draw(unit)
        spoilers[f"sp{k}"] = sp
    if spoilers:
        data["spoilers"] = spoilers
    guarantors = {}
    taken: set[str] = set()
    for k in range(draw(st.integers(0, 2))):
        side = draw(st.sampled_from(sides))
        free = [n for n in members[side] if n not in taken]
        if not free:
            continue
        clients = draw(st.lists(st.sampled_from(free), min_size=1, unique=True))
        taken.update(clients)
        g: dict[str, Any] = {"clients": clients, "pressure": draw(unit)}
        if draw(st.booleans()):
            g["tolerance"] = draw(st.floats(0, 25))
        if draw(st.booleans()):
            g["incident_target"] = draw(st.sampled_from([s for s in sides if s != side]))
            g["incident_prob"] = draw(st.floats(0, 0.5))
        guarantors[f"g{k}"] = g
    if guarantors:
        data["guarantors"] = guarantors
    if draw(st.integers(0, 3)):  # usually
        data["humanitarian"] = {
            "first_day": draw(st.integers(0, window - 1)),
            "convoys_per_day": draw(st.integers(0, 3)),
            "success_prob": draw(unit),
            "major_violation_penalty": draw(unit),
            "required_deliveries": draw(st.integers(0, 4)),
        }
    trigger: dict[str, Any] = {}
    if draw(st.booleans()):
        trigger["quiet_days"] = draw(st.integers(0, window))
    if draw(st.integers(0, 3)):
        trigger["max_strain"] = draw(st.floats(0, 10))
    if trigger:
        data["trigger"] = trigger
    return data


def build(data: dict[str, Any]) -> sim.Scenario:
    scn = scenario_from_dict(data)
    assume(scn.branching_ratio() < 0.95)
    return scn


def zero_hazards(data: dict[str, Any]) -> dict[str, Any]:
    """The same scenario with every source of hostile events switched off."""
    for p in data["parties"].values():
        for key in ("violation_prob", "violation_rate"):
            if key in p:
                p[key] = [0.0] * len(p[key]) if isinstance(p[key], list) else 0.0
    for sp in data.get("spoilers", {}).values():
        for key in ("attack_prob", "attack_rate"):
            if key in sp:
                sp[key] = 0.0
    for g in data.get("guarantors", {}).values():
        if "incident_prob" in g:
            g["incident_prob"] = 0.0
    return data


# A small fixed scenario, used as an explicit example below.
FIXED: dict[str, Any] = {
    "name": "fixed",
    "title": "Fixed",
    "window_days": 3,
    "parties": {
        "gov": {"side": "a", "violation_prob": 0.2, "tolerance": 3},
        "reb": {"side": "b", "violation_prob": 0.1},
    },
}


def row(results: sim.Results, i: int) -> dict[str, Any]:
    c = results.columns
    return {
        "outcome": int(c.outcome[i]),
        "collapse_time": float(c.collapse_time[i]),
        "collapsed_by": int(c.collapsed_by[i]),
        "deliveries": int(c.deliveries[i]),
        "violations": tuple(c.violations[i].tolist()),
        "major_violations": tuple(c.major_violations[i].tolist()),
        "attacks": tuple(c.attacks[i].tolist()),
        "blamed": tuple(c.blamed[i].tolist()),
        "incidents": tuple(c.incidents[i].tolist()),
        "strain_daily": c.strain_daily[i].tolist(),
    }


def record_as_row(r: Any) -> dict[str, Any]:
    return {
        "outcome": int(r.outcome),
        "collapse_time": float(r.collapse_time),
        "collapsed_by": int(r.collapsed_by),
        "deliveries": int(r.deliveries),
        "violations": tuple(r.violations),
        "major_violations": tuple(r.major_violations),
        "attacks": tuple(r.attacks),
        "blamed": tuple(r.blamed),
        "incidents": tuple(r.incidents),
        "strain_daily": [list(map(float, s)) for s in r.strain_daily],
    }


def same_row(a: dict[str, Any], b: dict[str, Any]) -> bool:
    ta, tb = a["collapse_time"], b["collapse_time"]
    times = (math.isnan(ta) and math.isnan(tb)) or ta == tb
    rest = {k: v for k, v in a.items() if k != "collapse_time"}
    return times and rest == {k: v for k, v in b.items() if k != "collapse_time"}


# --------------------------------------------------------------------------- properties


@pytest.mark.parametrize("engine", list(sim.ENGINES))
@SETTINGS
@given(data=scenario_data(), runs=st.integers(1, 40), seed=seeds)
@example(data=FIXED, runs=3, seed=0)  # p = 0 for some outcomes with n = 3
@example(data=FIXED, runs=10, seed=0)
def test_outcome_probabilities_and_intervals(
    data: dict[str, Any], runs: int, seed: int, engine: str
) -> None:
    res = simulate(build(data), runs, seed, engine=engine)
    counts = res.outcome_counts()
    assert list(counts) == list(OUTCOMES)
    assert sum(counts.values()) == runs
    probs = res.outcome_probabilities()
    assert list(probs) == list(OUTCOMES)
    assert sum(p for p, _, _ in probs.values()) == pytest.approx(1.0)
    for code, (p, lo, hi) in probs.items():
        assert p == counts[code] / runs
        assert 0.0 <= lo <= 1.0 and 0.0 <= hi <= 1.0 and 0.0 <= p <= 1.0
        assert lo <= p <= hi, (code, counts[code], runs, lo, p, hi)


@pytest.mark.parametrize("engine", list(sim.ENGINES))
@SETTINGS
@given(data=scenario_data(), runs=st.integers(1, 25), seed=seeds)
def test_zero_hazards_never_collapse(
    data: dict[str, Any], runs: int, seed: int, engine: str
) -> None:
    scn = scenario_from_dict(zero_hazards(data))
    res = simulate(scn, runs, seed, engine=engine)
    c = res.columns
    assert COLLAPSE not in c.outcome.tolist()
    assert np.isnan(c.collapse_time).all()
    assert (c.collapsed_by == -1).all()
    assert not c.violations.any() and not c.attacks.any() and not c.incidents.any()
    assert not c.strain_daily.any()
    assert VIOLENCE not in c.outcome.tolist()  # no strain at all
    assert res.survival()[-1][1] == 1.0


@pytest.mark.parametrize("engine", list(sim.ENGINES))
@SETTINGS
@given(data=scenario_data(), runs=st.integers(1, 30), seed=seeds)
def test_per_run_invariants(data: dict[str, Any], runs: int, seed: int, engine: str) -> None:
    scn = build(data)
    res = simulate(scn, runs, seed, engine=engine)
    c, window = res.columns, scn.window_days
    collapsed = c.outcome == COLLAPSE
    present = ~np.isnan(c.collapse_time)
    assert (present == collapsed).all()
    assert ((c.collapsed_by >= 0) == collapsed).all()
    assert (c.collapse_time[present] >= 0).all() and (c.collapse_time[present] < window).all()
    assert (c.collapsed_by < len(scn.parties) + len(scn.guarantors)).all()
    assert (c.major_violations >= 0).all()
    assert (c.violations >= c.major_violations).all()
    assert (c.attacks >= c.blamed).all() and (c.blamed >= 0).all()
    assert (c.incidents >= 0).all()
    h = scn.humanitarian
    cap = h.convoys_per_day * (window - h.first_day) if h else 0
    assert ((c.deliveries >= 0) & (c.deliveries <= cap)).all()
    required = h.required_deliveries if h else 0
    assert (c.deliveries[c.outcome == TRIGGERED] >= required).all()
    assert (c.deliveries[c.outcome == ACCESS] < required).all()
    if scn.trigger.max_strain is None:
        assert VIOLENCE not in c.outcome.tolist()
    # convoys run only while the ceasefire holds
    if h is not None:
        for i in np.flatnonzero(collapsed):
            held = sum(1 for d in range(h.first_day, window) if d + 0.5 < c.collapse_time[i])
            assert c.deliveries[i] <= h.convoys_per_day * held
    # total strain = weighted violations + incidents + blamed attacks (unblamed add none)
    w = scn.rules.major_weight
    base = (
        (c.violations - c.major_violations).sum(axis=1)
        + w * c.major_violations.sum(axis=1)
        + w * c.incidents.sum(axis=1)
    )
    blamed = c.blamed.sum(axis=1)
    total = c.strain_daily[:, :, -1].sum(axis=1)
    lo_w, hi_w = min(1.0, w), max(1.0, w)
    assert (total >= base + lo_w * blamed - 1e-9).all()
    assert (total <= base + hi_w * blamed + 1e-9).all()
    # strain only accumulates; the final strain decides who walked away (docs/model.md)
    assert (np.diff(c.strain_daily, axis=2) >= 0).all()
    final = c.strain_daily[:, :, -1]
    sides = list(scn.sides)
    actors = [(n, p.side, p.tolerance) for n, p in scn.parties.items()]
    actors += [(n, scn.guarantor_side(n), g.tolerance) for n, g in scn.guarantors.items()]
    for i in range(runs):
        by = int(c.collapsed_by[i])
        for k, (_, side, tol) in enumerate(actors):
            if tol is None:
                continue
            strain = final[i, sides.index(side)]
            if k == by:
                assert strain > tol
            elif by < 0 or side != actors[by][1] or k < by:
                # nobody else had crossed (earlier actors of the collapsing side neither)
                assert strain <= tol, (i, k, by, strain, tol)


@pytest.mark.parametrize("engine", list(sim.ENGINES))
@SETTINGS
@given(data=scenario_data(), runs=st.integers(1, 30), seed=seeds)
def test_survival_curve(data: dict[str, Any], runs: int, seed: int, engine: str) -> None:
    scn = build(data)
    res = simulate(scn, runs, seed, engine=engine)
    surv = res.survival()
    days = [d for d, _ in surv]
    values = [v for _, v in surv]
    assert days == list(range(scn.window_days + 1))
    assert values[0] == 1.0
    assert all(a >= b for a, b in itertools.pairwise(values))
    assert all(0.0 <= v <= 1.0 for v in values)
    p_collapse = res.outcome_probabilities()["cancelled_collapse"][0]
    assert values[-1] == pytest.approx(1.0 - p_collapse)


@SETTINGS
@given(data=scenario_data(), runs=st.integers(1, 20), seed=seeds, pick=st.integers(0, 10**6))
def test_trace_run_replays_row(data: dict[str, Any], runs: int, seed: int, pick: int) -> None:
    scn = build(data)
    i = pick % runs
    for engine in sim.ENGINES:
        res = simulate(scn, runs, seed, engine=engine)
        record, events = trace_run(scn, seed, i, engine=engine)
        assert same_row(record_as_row(record), row(res, i)), (engine, i)
        kinds = [e.kind for e in events]
        assert kinds.count("violation") == sum(record.violations)
        assert kinds.count("collapse") == (record.collapsed_by >= 0)
        times = [e.time for e in events]
        assert times == sorted(times)


@SETTINGS
@given(data=scenario_data(), n=st.integers(1, 15), k=st.integers(1, 15), seed=seeds)
def test_prefix_stability(data: dict[str, Any], n: int, k: int, seed: int) -> None:
    scn = build(data)
    short = simulate(scn, n, seed)
    long = simulate(scn, n + k, seed)
    for i in range(n):
        assert same_row(row(short, i), row(long, i)), i


@SETTINGS
@given(data=scenario_data(), runs=st.integers(1, 30), seed=seeds)
def test_engines_agree_run_by_run(data: dict[str, Any], runs: int, seed: int) -> None:
    """The fast engine and the SimPy reference give the same runs on any valid scenario."""
    scn = build(data)
    a = simulate(scn, runs, seed, engine="simpy")
    b = simulate(scn, runs, seed, engine="fast")
    for i in range(runs):
        assert same_row(row(a, i), row(b, i)), i


# --------------------------------------------------------------------------- phases


@st.composite
def phased_data(draw: st.DrawFn) -> dict[str, Any]:
    """A random valid scenario in 1–3 phases: each with its days, a random gate, cancel or
    extensions, and values it sets (rates, tolerances, pressure, convoy success); with strain
    recovery and a permission to deliver sometimes."""
    data = draw(scenario_data())
    window = data["window_days"]
    data.pop("trigger", None)  # the gates decide
    cuts = sorted(draw(st.sets(st.integers(1, window - 1), max_size=2))) if window > 1 else []
    bounds = [0, *cuts, window]
    phases = []
    for k, (a, b) in enumerate(itertools.pairwise(bounds)):
        days = b - a
        gate: dict[str, Any] = {}
        if draw(st.booleans()):
            gate["quiet_days"] = draw(st.integers(0, days))
        if draw(st.booleans()):
            gate["max_strain"] = draw(st.floats(0, 10))
        if "humanitarian" in data and draw(st.booleans()):
            gate["required_deliveries"] = draw(st.integers(0, 2))
        phase: dict[str, Any] = {"name": f"f{k}", "days": days, "gate": gate}
        if draw(st.booleans()):
            phase["on_fail"] = {
                "extend_days": draw(st.integers(1, 2)),
                "times": draw(st.integers(1, 2)),
            }
        changes: dict[str, Any] = {}
        for name in data["parties"]:
            choice = draw(st.integers(0, 4))
            if choice == 0:
                changes[f"parties.{name}.violation_rate"] = draw(rate)
            elif choice == 1:
                changes[f"parties.{name}.tolerance"] = draw(st.floats(0, 25))
        for name in data.get("spoilers", {}):
            if draw(st.booleans()):
                changes[f"spoilers.{name}.attack_rate"] = draw(rate)
        for name in data.get("guarantors", {}):
            if draw(st.booleans()):
                changes[f"guarantors.{name}.pressure"] = draw(unit)
        if "humanitarian" in data and draw(st.booleans()):
            changes["humanitarian.success_prob"] = draw(unit)
        if "humanitarian" in data and draw(st.booleans()):
            changes["humanitarian.convoys_per_day"] = draw(st.integers(0, 5))
        if changes:
            phase["set"] = changes
        phases.append(phase)
    data["phases"] = phases
    if draw(st.booleans()):
        data["rules"]["strain_half_life_days"] = draw(st.floats(0.5, 10))
    if "humanitarian" in data and draw(st.booleans()):
        data["humanitarian"]["permission_prob"] = draw(unit)
    return data


@SETTINGS
@given(data=phased_data(), runs=st.integers(1, 30), seed=seeds)
def test_random_phased_scenarios_run_alike_on_both_engines(
    data: dict[str, Any], runs: int, seed: int
) -> None:
    """Phases, sets, extensions, recovery and permission: the engines give the same runs."""
    scn = build(data)
    simpy, fast = (simulate(scn, runs, seed, engine=e, progress=False) for e in sim.ENGINES)
    for name, a in simpy.columns.arrays.items():
        b = fast.columns.arrays[name]
        if a.dtype.kind == "f":
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-9, equal_nan=True, err_msg=name)
        else:
            np.testing.assert_array_equal(a, b, err_msg=name)


@SETTINGS
@given(data=phased_data(), runs=st.integers(1, 30), seed=seeds)
def test_phased_run_invariants(data: dict[str, Any], runs: int, seed: int) -> None:
    scn = build(data)
    res = simulate(scn, runs, seed, engine="fast", progress=False)
    c, n = res.columns, len(scn.phases)
    horizon = scn.horizon
    triggered = c.outcome == TRIGGERED
    assert ((c.phases_passed == n) == triggered).all()
    assert ((c.phase >= 0) & (c.phase < n)).all()
    assert (c.phases_passed[~triggered] == c.phase[~triggered]).all()
    gated = np.isin(c.outcome, [VIOLENCE, ACCESS])
    assert ((c.cancelled_day >= 0) == gated).all()
    assert ((c.cancelled_day[gated] > 0) & (c.cancelled_day[gated] <= horizon)).all()
    present = ~np.isnan(c.collapse_time)
    assert (present == (c.outcome == COLLAPSE)).all()
    assert (c.collapse_time[present] < horizon).all()
    # in force: below not collapsed by the runs cancelled at gates, and P(triggered) at the end
    force, surv = res.in_force(), res.survival()
    assert all(f <= s for (_, f), (_, s) in zip(force, surv, strict=True))
    assert force[-1][1] == pytest.approx(triggered.mean())
    assert all(a >= b for (_, a), (_, b) in itertools.pairwise(force))
    # a run that is over keeps the strain it ended with: no recovery after its end
    end = np.where(present, c.collapse_time, np.nan)
    for i in np.flatnonzero(present | gated):
        stop = int(np.floor(end[i] if present[i] else c.cancelled_day[i]))
        held = c.strain_daily[i, :, stop:]
        assert (held == held[:, :1]).all()
