"""Parameter sets without re-validation: each run's uncertain values written into the tables.

Under ``--integrate`` every run draws its own value of each uncertain assumption. Building
and validating a scenario per run would cost more than simulating it, so the values are
written straight into the engine's tables (one parameter set per run), by the same formulas
as :meth:`Params.from_scenario`. The scenario's ``uncertainties`` block was validated when
it was loaded (every distribution stays inside its key's allowed values), so nothing here
can produce an invalid set. Keys this module does not know (the structure of the scenario:
days, counts of convoys, quiet days) are handled by :func:`supports` returning False, and
the runner then builds a validated scenario per run instead.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..scenario import Scenario, phase_key, phase_scenarios, split_path
from .params import PER_SET, Params, Tables, finish_rates, stack_phases

_LN2 = math.log(2)
DERIVED = ("peak", "active")

PARTY_KEYS = {"violation_prob", "violation_rate", "major_share", "tolerance"}
RETALIATION_KEYS = {"boost", "half_life_hours"}
SPOILER_KEYS = {"attack_prob", "attack_rate", "major_share", "blame_prob"}
GUARANTOR_KEYS = {"pressure", "tolerance", "incident_prob"}
SCALARS = {
    ("humanitarian", "success_prob"): "success",
    ("humanitarian", "major_violation_penalty"): "penalty",
    ("humanitarian", "permission_prob"): "permission",
    ("humanitarian", "required_deliveries"): "required",
    ("rules", "major_weight"): "major_weight",
    ("rules", "strain_half_life_days"): "recovery",
    ("trigger", "max_strain"): "max_strain",
}


def _known(path: tuple[str | int, ...]) -> bool:
    head = path[0]
    if head == "observations":  # applied after simulating (sim.observations): nothing to write
        return True
    if head == "parties" and len(path) >= 3:
        if path[2] == "retaliation":
            return len(path) == 4 and path[3] in RETALIATION_KEYS
        if path[2] in ("violation_prob", "violation_rate"):
            return len(path) in (3, 4)
        return len(path) == 3 and path[2] in PARTY_KEYS
    if head == "spoilers":
        return len(path) == 3 and path[2] in SPOILER_KEYS
    if head == "guarantors":
        return len(path) == 3 and path[2] in GUARANTOR_KEYS
    return path[:2] in SCALARS and len(path) == 2


def supports(scenario: Scenario) -> bool:
    """Whether every uncertain assumption can be written into the tables directly."""
    return supports_keys(scenario, tuple(scenario.uncertainties))


def supports_keys(scenario: Scenario, keys: Sequence[str]) -> bool:
    """Whether values of ``keys`` can be written into the tables of ``scenario`` directly
    (with phases, into each phase's tables, where the phase does not set the key itself)."""
    return all(
        _known(path) and not _new_tolerance(scenario, path)
        for path in (split_path(key) for key in keys)
    )


def _new_tolerance(scenario: Scenario, path: tuple[str | int, ...]) -> bool:
    """A tolerance for an actor that has none: the tables hold no slot for it (the values
    go through validated scenarios instead)."""
    if len(path) != 3 or path[2] != "tolerance" or path[0] not in ("parties", "guarantors"):
        return False
    actor = getattr(scenario, str(path[0])).get(str(path[1]))
    return actor is not None and actor.tolerance is None


def param_sets(p: Params, scenario: Scenario, keys: Sequence[str], values: np.ndarray) -> Tables:
    """Tables with one parameter set per row of ``values`` (``[runs, keys]``): the base
    scenario's numbers with each key set to its value. With phases, set ``r`` holds one entry
    per phase (at ``r · phases + f``, as the engines read them), each phase's numbers with the
    values written where that phase takes them from the scenario
    (:func:`~sim.scenario.phase_key`)."""
    if not p.phase_params:
        return _param_sets(p, scenario, keys, values)
    assert scenario.phases is not None
    per_phase, start = [], 0
    for phase, q, own in zip(
        scenario.phases, p.phase_params, phase_scenarios(scenario), strict=True
    ):
        taken = [(j, k) for j, key in enumerate(keys) if (k := phase_key(phase, start, key))]
        cols = np.asarray([j for j, _ in taken], np.int64)
        per_phase.append(_param_sets(q, own, [k for _, k in taken], values[:, cols]))
        start += phase.days
    return stack_phases(per_phase)


def _rate(p: np.ndarray) -> np.ndarray:
    """Daily rates from daily probabilities, −ln(1 − p), by the same function as a validated
    scenario (``math.log1p``: numpy's differs in the last bits, which could flip a run)."""
    return np.fromiter((-math.log1p(-x) for x in p.tolist()), float, count=p.size)


def _param_sets(p: Params, scenario: Scenario, keys: Sequence[str], values: np.ndarray) -> Tables:
    """:func:`param_sets` of one window (a scenario without phases, or one phase)."""
    runs = values.shape[0]
    base = p.tables()
    # "peak" and "active" are derived from the rates below, not copied
    out = {name: np.repeat(base[name], runs, axis=0) for name in PER_SET if name not in DERIVED}
    out.update({name: base[name] for name in base if name not in PER_SET})
    n_p, n_s, w = len(p.parties), len(p.spoilers), p.window
    mu = np.repeat(np.asarray(p.party_mu, float).reshape(1, n_p, w), runs, axis=0)
    pressure = np.repeat(np.asarray(p.party_pressure, float)[None, :], runs, axis=0)
    rates = out["rates"]
    actor_slot = {
        actor: (side, j)
        for side, pairs in enumerate(p.side_tolerances)
        for j, (actor, _) in enumerate(pairs)
    }
    for key, v in zip(keys, values.T, strict=True):
        path = split_path(key)
        head, name = path[0], path[1] if len(path) > 1 else None
        field = path[-1] if not isinstance(path[-1], int) else path[-2]
        if head == "observations":
            continue
        if head == "parties":
            i = p.parties.index(str(name))
            if field == "violation_prob":
                day = slice(None) if len(path) == 3 else int(path[3])
                mu[:, i, day] = _rate(v)[:, None] if len(path) == 3 else _rate(v)
            elif field == "violation_rate":
                day = slice(None) if len(path) == 3 else int(path[3])
                mu[:, i, day] = v[:, None] if len(path) == 3 else v
            elif field == "major_share":
                out["major"][:, i] = v
            elif field == "boost":
                out["boost"][:, i] = v
            elif field == "half_life_hours":
                out["decay"][:, i] = _LN2 * 24 / v
            elif field == "tolerance":
                side, j = actor_slot[i]
                out["tol"][:, side, j] = v
        elif head == "spoilers":
            k = p.spoilers.index(str(name))
            if field == "attack_prob":
                rates[:, n_p + k, :w] = _rate(v)[:, None]
            elif field == "attack_rate":
                rates[:, n_p + k, :w] = v[:, None]
            elif field == "major_share":
                out["major"][:, n_p + k] = v
            elif field == "blame_prob":
                out["attributed"][:, n_p + k] = v if p.spoiler_blamed_on[k] >= 0 else 0.0
        elif head == "guarantors":
            g = p.guarantors.index(str(name))
            if field == "pressure":
                for client in scenario.guarantors[str(name)].clients:
                    pressure[:, p.parties.index(client)] = v
            elif field == "incident_prob":
                rates[:, n_p + n_s + g, :w] = _rate(v)[:, None]
            elif field == "tolerance":
                side, j = actor_slot[n_p + g]
                out["tol"][:, side, j] = v
        else:
            table = SCALARS[(str(head), str(name))]
            if table == "recovery":
                out[table][:] = _LN2 / v
            elif table == "required":
                out[table][:] = np.rint(v).astype(np.int64)
            else:
                out[table][:] = v
    rates[:, :n_p, :w] = mu * (1.0 - pressure)[:, :, None]
    out.update(finish_rates(rates, w))
    return out
