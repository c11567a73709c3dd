"""A scenario compiled to flat numbers for the engines (no pydantic on the hot path)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..scenario import Scenario


@dataclass(frozen=True, slots=True)
class Params:
    """Every number an engine needs, indexed by position (file order)."""

    window: int
    major_weight: float
    max_events: int
    sides: tuple[str, ...]
    parties: tuple[str, ...]
    spoilers: tuple[str, ...]
    guarantors: tuple[str, ...]
    actors: tuple[str, ...]
    """Parties then guarantors: who can declare a collapse (``collapsed_by`` indexes this)."""
    # parties
    party_side: tuple[int, ...]
    party_rate: tuple[tuple[float, ...], ...]
    """μ_i(d)·(1 − pressure_i) for each party and day."""
    party_major: tuple[float, ...]
    party_targets: tuple[tuple[int, ...], ...]
    party_boost: tuple[float, ...]
    party_decay: tuple[float, ...]
    """ln 2 / half-life, per day."""
    # spoilers
    spoiler_rate: tuple[float, ...]
    spoiler_major: tuple[float, ...]
    spoiler_target: tuple[int, ...]
    spoiler_blame: tuple[float, ...]
    spoiler_blamed_on: tuple[int, ...]
    # guarantors
    incident_rate: tuple[float, ...]
    incident_target: tuple[int, ...]
    # collapse: for each side, the (actor index, tolerance) pairs in file order
    side_tolerances: tuple[tuple[tuple[int, float], ...], ...]
    side_members: tuple[tuple[int, ...], ...]
    """Parties of each side (all excited by a hostile event against it)."""
    # humanitarian and trigger
    convoys_per_day: int
    first_day: int
    success_prob: float
    penalty: float
    required_deliveries: int
    quiet_from: float
    """Strain from events at t ≥ quiet_from counts for the violence condition."""
    max_strain: float | None

    @classmethod
    def from_scenario(cls, s: Scenario) -> Params:
        sides = s.sides
        side_ix = {name: i for i, name in enumerate(sides)}
        parties = tuple(s.parties)
        party_ix = {name: i for i, name in enumerate(parties)}
        rates = []
        for name in parties:
            keep = 1.0 - s.pressure_on(name)
            r = tuple(mu * keep for mu in s.base_rates(name))
            rates.append(r)
        actors = parties + tuple(s.guarantors)
        tolerances: list[list[tuple[int, float]]] = [[] for _ in sides]
        for i, name in enumerate(parties):
            tol = s.parties[name].tolerance
            if tol is not None:
                tolerances[side_ix[s.parties[name].side]].append((i, tol))
        for j, name in enumerate(s.guarantors):
            tol = s.guarantors[name].tolerance
            if tol is not None:
                tolerances[side_ix[s.guarantor_side(name)]].append((len(parties) + j, tol))
        h = s.humanitarian
        sp = s.spoilers.values()
        gs = s.guarantors.values()
        return cls(
            window=s.window_days,
            major_weight=s.rules.major_weight,
            max_events=s.monte_carlo.max_events,
            sides=sides,
            parties=parties,
            spoilers=tuple(s.spoilers),
            guarantors=tuple(s.guarantors),
            actors=actors,
            party_side=tuple(side_ix[p.side] for p in s.parties.values()),
            party_rate=tuple(rates),
            party_major=tuple(p.major_share for p in s.parties.values()),
            party_targets=tuple(tuple(side_ix[t] for t in s.target_sides(n)) for n in parties),
            party_boost=tuple(p.retaliation.boost for p in s.parties.values()),
            party_decay=tuple(
                math.log(2) * 24 / p.retaliation.half_life_hours for p in s.parties.values()
            ),
            spoiler_rate=tuple(s.attack_rate(n) for n in s.spoilers),
            spoiler_major=tuple(x.major_share for x in sp),
            spoiler_target=tuple(side_ix[x.targets] for x in sp),
            spoiler_blame=tuple(x.blame_prob if x.blamed_on else 0.0 for x in sp),
            spoiler_blamed_on=tuple(
                party_ix.get(x.blamed_on, -1) if x.blamed_on else -1 for x in sp
            ),
            incident_rate=tuple(-math.log1p(-g.incident_prob) for g in gs),
            incident_target=tuple(
                side_ix[g.incident_target] if g.incident_target else -1 for g in gs
            ),
            side_tolerances=tuple(tuple(t) for t in tolerances),
            side_members=tuple(
                tuple(i for i, p in enumerate(parties) if s.parties[p].side == side)
                for side in sides
            ),
            convoys_per_day=h.convoys_per_day if h else 0,
            first_day=h.first_day if h else 0,
            success_prob=h.success_prob if h else 0.0,
            penalty=h.major_violation_penalty if h else 0.0,
            required_deliveries=h.required_deliveries if h else 0,
            quiet_from=float(s.window_days - s.quiet_days),
            max_strain=s.trigger.max_strain,
        )
