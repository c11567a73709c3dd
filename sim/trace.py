"""The story of one run, event by event, in words (``ceasefire trace``)."""

from __future__ import annotations

from datetime import timedelta

from .records import Run, TraceEvent
from .scenario import OUTCOMES, Scenario


def _when(scenario: Scenario, t: float) -> str:
    day = f"day {t:6.3f}"
    if scenario.start is None:
        return day
    return f"{day}  {scenario.start + timedelta(days=t):%a %d %b %H:%M}"


def _describe(scenario: Scenario, e: TraceEvent) -> str:
    d = e.detail
    strain = d.get("levels", {})
    sev = "major" if d.get("major") else "minor"
    if e.kind == "violation":
        return f"{d['party']} violation against {d['target']} ({sev}); strain {_strain(strain)}"
    if e.kind == "attack":
        blame = f", blamed on {d['blamed_on']}" if d["blamed_on"] else ", not blamed"
        return (
            f"spoiler {d['spoiler']} attacks {d['target']} ({sev}{blame}); strain {_strain(strain)}"
        )
    if e.kind == "incident":
        return (
            f"guarantor {d['guarantor']} incident against {d['target']} (major); "
            f"strain {_strain(strain)}"
        )
    if e.kind == "convoys" and not d.get("permitted", True):
        return f"convoys: none of {d['attempted']} may pass (access not permitted)"
    if e.kind == "convoys":
        return (
            f"convoys: {d['delivered']} of {d['attempted']} delivered (chance {d['chance']:.2f}, "
            f"{d['majors_24h']} major event(s) in the last 24 h)"
        )
    if e.kind == "collapse":
        return (
            f"COLLAPSE: {d['actor']} walks away — strain on {d['side']} {d['strain']:g} "
            f"> tolerance {d['tolerance']:g}"
        )
    if e.kind == "gate":
        reason = {"cancelled_violence": "too much strain", "cancelled_access": "too few deliveries"}
        verdict = "passed" if d["passed"] else f"failed: {reason.get(d['outcome'], d['outcome'])}"
        what = "end of window" if scenario.phases is None else f"gate of phase {d['phase']}"
        return (
            f"{what}: strain in the last {d['quiet_days']:g} day(s) {d['late_strain']:g}, "
            f"deliveries {d['deliveries']} — {verdict}"
        )
    if e.kind == "access":
        if d["permitted"]:
            return "aid access permitted: convoys may pass"
        return "aid access NOT permitted: no convoy will pass"
    if e.kind == "phase":
        access = (
            ""
            if scenario.humanitarian is None
            else ("; access permitted" if d["permitted"] else "; access NOT permitted")
        )
        return f"phase {d['phase']} begins{access}"
    if e.kind == "extension":
        return f"gate of phase {d['phase']} failed: phase prolonged to day {d['until']:g}"
    return f"{e.kind} {d}"


def _strain(strain: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:g}" for k, v in strain.items())


def story(scenario: Scenario, record: Run, events: list[TraceEvent], *, seed: int, run: int) -> str:
    """Format a traced run as readable lines, ending with its outcome."""
    lines = [f"{scenario.title} — run {run}, seed {seed}"]
    if scenario.start is not None:
        lines.append(
            f"ceasefire starts {scenario.start:%a %d %b %Y %H:%M %z}; "
            f"window {scenario.window_days} days"
        )
    for e in events:
        lines.append(f"{_when(scenario, e.time)}  {_describe(scenario, e)}")
    outcome = OUTCOMES[record.outcome]
    lines.append(f"outcome: {outcome}")
    if record.collapsed_by >= 0:
        actors = (*scenario.parties, *scenario.guarantors)
        lines.append(
            f"collapse declared by {actors[record.collapsed_by]} at day {record.collapse_time:.3f}"
        )
    return "\n".join(lines)
