"""Agreements in phases: each phase as a one-window scenario of its own.

A phase runs for its ``days`` with the scenario's values, changed by its ``set``; its ``gate``
plays the role of the trigger at its end. :func:`phase_scenarios` builds, for every phase, the
scenario of that phase alone — per-day lists cut to the phase's days, ``set`` applied, the
gate as its trigger — validated like any scenario, so a phase's values are checked with the
same rules and compiled by the same code (:class:`sim.engines.Params`). A scenario without
``phases`` is one phase: itself.
"""

from __future__ import annotations

from typing import Any

from .errors import CeasefireError, ScenarioError
from .scenario import Phase, Scenario, assign, scenario_from_dict, split_path

PER_DAY = ("violation_prob", "violation_rate")


def phase_list(scenario: Scenario) -> tuple[Phase, ...]:
    """The phases of ``scenario``: its own, or the window and trigger as one phase."""
    if scenario.phases is not None:
        return scenario.phases
    h = scenario.humanitarian
    return (
        Phase(
            name="window",
            label=scenario.trigger.label,
            days=scenario.window_days,
            gate={
                "quiet_days": scenario.trigger.quiet_days,
                "max_strain": scenario.trigger.max_strain,
                "required_deliveries": h.required_deliveries if h else 0,
            },
        ),
    )


def phase_scenarios(scenario: Scenario) -> tuple[Scenario, ...]:
    """One validated single-window scenario per phase (the scenario itself without phases)."""
    if scenario.phases is None:
        return (scenario,)
    cached = (scenario.__pydantic_private__ or {}).get("_phase_scenarios")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    base = scenario.model_dump(mode="python", exclude_none=True)
    for key in ("phases", "uncertainties", "extends"):
        base.pop(key, None)
    out = []
    start = 0
    for i, phase in enumerate(scenario.phases):
        out.append(_one(scenario, base, i, phase, start))
        start += phase.days
    result = tuple(out)
    if scenario.__pydantic_private__ is not None:
        scenario.__pydantic_private__["_phase_scenarios"] = result
    return result


def _one(scenario: Scenario, base: dict[str, Any], i: int, phase: Phase, start: int) -> Scenario:
    data = _plain(base)
    data["window_days"] = phase.days
    for party in data["parties"].values():
        for key in PER_DAY:
            if isinstance(party.get(key), list):
                party[key] = party[key][start : start + phase.days]
    data["trigger"] = {
        "label": phase.label or phase.name,
        "quiet_days": phase.gate.quiet_days,
        "max_strain": phase.gate.max_strain,
    }
    data["trigger"] = {k: v for k, v in data["trigger"].items() if v is not None}
    if "humanitarian" in data:
        # convoys run from the scenario's first_day on; the phase's own count is the gate's
        data["humanitarian"].update(first_day=0, required_deliveries=phase.gate.required_deliveries)
    for key, value in phase.set.items():
        value = list(value) if isinstance(value, tuple) else value
        assign(data, split_path(key), value, key)
    try:
        return scenario_from_dict(data, name=f"phase {phase.name}")
    except ScenarioError as exc:
        key = next((k for k in phase.set if exc.key.startswith(k)), None)
        path = ("phases", i, "set", key) if key else ("phases", i)
        where = scenario.locate(path)
        shown = ".".join(str(p) for p in path)
        raise ScenarioError(exc.message, location=where, key=shown) from None
    except CeasefireError:
        raise


def _plain(value: Any) -> Any:
    """A deep copy with tuples as lists and frozen mappings as dicts (assignable data)."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value
