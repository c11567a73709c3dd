"""Experiments: many parameter points, each simulated with the same seed.

A *point* sets some key paths to values (a grid cell, a Sobol sample, a draw from the
uncertainties). Every point is simulated with the same seed and number of runs — common random
numbers — so differences between points come from the parameters, not from the noise. Points
run in worker processes or on a Dask cluster, in tasks of several points, and come back in
order: results never depend on where they ran.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import console, parallel
from .engines import ENGINES, Params, paramsets
from .errors import UsageError
from .frames import points_html
from .progress import progress_bar
from .records import Columns
from .runner import check_arguments, simulate_chunk
from .scenario import OUTCOMES, Scenario, did_you_mean
from .stats import wilson
from .tally import phase_funnel
from .uncertainty import plain_number

PHASE_OUTCOMES = ("reached", "passed")
"""Per-phase outcomes: ``reached:<phase>`` and ``passed:<phase>`` (its gate passed)."""

POINTS_PER_TASK = 8
"""Points per unit of work sent to a worker (amortises scheduling; never affects results)."""


@dataclass
class PointTable:
    """What every point gave: one row per point, in the order of the points."""

    keys: tuple[str, ...]
    values: np.ndarray  # [points, keys]
    runs: int
    seed: int
    engine: str
    window: int
    counts: np.ndarray = field(repr=False)  # [points, 4] outcome counts
    holding_days: np.ndarray = field(repr=False)  # [points] mean of min(collapse day, window)
    violations: np.ndarray = field(repr=False)  # [points, parties] mean violations per run
    deliveries: np.ndarray = field(repr=False)  # [points] mean deliveries per run
    parties: tuple[str, ...] = ()
    elapsed: float = 0.0
    phases: tuple[str, ...] = ()
    """The scenario's phase names (empty without phases)."""
    reached: np.ndarray | None = field(default=None, repr=False)
    """``[points, phases]``: runs that reached each phase (None without phases)."""
    passed: np.ndarray | None = field(default=None, repr=False)
    """``[points, phases]``: runs that passed each phase's gate (None without phases)."""

    def count(self, outcome: str = "triggered") -> np.ndarray:
        """Runs with ``outcome`` at every point: an outcome code, ``reached:<phase>`` or
        ``passed:<phase>`` (see :func:`check_outcome`)."""
        kind, _, name = outcome.partition(":")
        if name:
            table = self.reached if kind == "reached" else self.passed
            if table is None or kind not in PHASE_OUTCOMES or name not in self.phases:
                raise UsageError(f"unknown outcome '{outcome}' for these points")
            return table[:, self.phases.index(name)]
        return self.counts[:, OUTCOMES.index(outcome)]

    def p(self, code: str = "triggered") -> np.ndarray:
        """P(outcome) at every point (``code`` as in :meth:`count`)."""
        return self.count(code) / self.runs

    def ci95(self, code: str = "triggered") -> np.ndarray:
        """Wilson 95% intervals ``[points, 2]`` of P(outcome)."""
        return np.array([wilson(int(x), self.runs) for x in self.count(code)])

    def outcomes(self) -> tuple[str, ...]:
        """Every outcome :meth:`p` can read: the codes, then reached/passed per phase."""
        return OUTCOMES + tuple(f"{k}:{name}" for name in self.phases for k in PHASE_OUTCOMES)

    def _repr_html_(self) -> str:
        return points_html(self)

    def rows(self) -> list[dict[str, Any]]:
        """One plain dict per point (for CSV and JSON)."""
        out = []
        ps = {code: self.p(code) for code in self.outcomes()}
        cis = {code: self.ci95(code) for code in self.outcomes()}  # once, not once per row
        for i in range(self.values.shape[0]):
            row: dict[str, Any] = {
                k: float(v) for k, v in zip(self.keys, self.values[i], strict=True)
            }
            for code in self.outcomes():
                lo, hi = cis[code][i]
                col = column_name(code)
                row[col] = float(ps[code][i])
                row[f"{col}_lo"], row[f"{col}_hi"] = float(lo), float(hi)
            row["holding_days"] = float(self.holding_days[i])
            for j, party in enumerate(self.parties):
                row[f"violations_{party}"] = float(self.violations[i, j])
            row["deliveries"] = float(self.deliveries[i])
            out.append(row)
        return out


def _summarise(params: Params, engine: str, seed: int, runs: int) -> tuple[Any, ...]:
    """Simulate one point and reduce it to its summary numbers (in the worker)."""
    size = ENGINES[engine].chunk
    chunks = [
        simulate_chunk(params, engine, seed, a, min(a + size, runs)) for a in range(0, runs, size)
    ]
    return _reduce(params, chunks, runs)


def _reduce(params: Params, chunks: Sequence[Columns], runs: int) -> tuple[Any, ...]:
    """A point's summary numbers from the columns of its runs."""
    counts = np.zeros(4, np.int64)
    holding = 0.0
    violations = np.zeros(len(params.parties))
    deliveries = 0.0
    n_phases = len(params.phase_names)
    ended = np.zeros(n_phases, np.int64)
    gates = np.zeros(n_phases + 1, np.int64)
    for c in chunks:
        counts += np.bincount(c.outcome, minlength=4)
        holding += float(np.where(np.isnan(c.collapse_time), params.window, c.collapse_time).sum())
        violations += c.violations.sum(0)
        deliveries += float(c.deliveries.sum())
        ended += np.bincount(c.phase, minlength=n_phases)[:n_phases]
        gates += np.bincount(c.phases_passed, minlength=n_phases + 1)[: n_phases + 1]
    reached, passed = phase_funnel(ended, gates)
    return counts, holding / runs, violations / runs, deliveries / runs, reached, passed


def _evaluate_in_tables(
    base: Scenario, keys: Sequence[str], values: np.ndarray, runs: int, seeds: np.ndarray,
    engine: str,
) -> list[tuple[Any, ...]]:  # fmt: skip
    """Every point at once: its values written into the engine's tables (one parameter set
    per point, as ``--integrate`` does), one engine call per seed. The same runs as building
    and validating a scenario per point (tests/test_sweep.py checks it)."""
    params = Params.from_scenario(base)
    spec = ENGINES[engine]
    out: list[tuple[Any, ...] | None] = [None] * values.shape[0]
    for seed in np.unique(seeds).tolist():
        points = np.flatnonzero(seeds == seed)
        step = max(1, spec.chunk // runs)
        for first in range(0, points.size, step):
            group = points[first : first + step]
            # the tables of this group's points only: memory bounded by the engine's chunk
            tables = paramsets.param_sets(params, base, keys, values[group])
            which = np.repeat(np.arange(group.size), runs)
            cols = spec.run_batch(params, seed, np.tile(np.arange(runs), group.size), tables, which)
            console.check()  # a signal while compiling may have been lost in numba's callbacks
            for k, point in enumerate(group.tolist()):
                rows = slice(k * runs, (k + 1) * runs)
                part = Columns({name: a[rows] for name, a in cols.arrays.items()})
                out[point] = _reduce(params, [part], runs)
    return [x for x in out if x is not None]


def evaluate_task(
    scenario: Scenario,
    keys: Sequence[str],
    values: np.ndarray,
    runs: int,
    seed: int | np.ndarray,
    engine: str,
) -> list[tuple[Any, ...]]:
    """Simulate the points ``values`` (``[n, keys]``) of ``scenario``: one task of work.
    ``seed``: one for every point, or one per point."""
    base = scenario.model_copy(update={"uncertainties": {}})
    values = np.atleast_2d(values)
    seeds = np.broadcast_to(np.asarray(seed, dtype=np.int64), (values.shape[0],))
    if keys and paramsets.supports_keys(base, keys):
        return _evaluate_in_tables(base, keys, values, runs, seeds, engine)
    out = []
    for row, point_seed in zip(values, seeds, strict=True):
        point = {k: plain_number(v) for k, v in zip(keys, row, strict=True)}
        params = Params.from_scenario(base.with_overrides(point) if point else base)
        out.append(_summarise(params, engine, int(point_seed), runs))
        console.check()
    return out


def check_points(scenario: Scenario, keys: Sequence[str], values: np.ndarray) -> None:
    """Fail early, with the key path, if any value is invalid for its key (corners suffice
    for grids and boxes: each key is checked at its lowest and highest value)."""
    base = scenario.model_copy(update={"uncertainties": {}})
    for j, key in enumerate(keys):
        for v in {float(values[:, j].min()), float(values[:, j].max())}:
            base.with_overrides({key: plain_number(v)})


def evaluate(
    scenario: Scenario,
    keys: Sequence[str],
    values: np.ndarray | Sequence[Sequence[float]],
    *,
    runs: int,
    seed: int,
    engine: str = "fast",
    workers: int = 1,
    dask: Any = None,
    progress: bool | None = None,
    seeds: np.ndarray | Sequence[int] | None = None,
) -> PointTable:
    """Simulate every point (row of ``values``, one column per key) with the same seed, or with
    its own of ``seeds`` (one per point; the table still records ``seed``).

    ``dask`` is a scheduler address, ``"local"`` for a local cluster of ``workers``
    processes, or a client from :func:`dask_session`; otherwise points run here
    (``workers=1``) or in worker processes.
    """
    values = np.atleast_2d(np.asarray(values, dtype=float))
    keys = tuple(keys)
    if values.shape[1] != len(keys):
        raise UsageError(f"each point needs {len(keys)} values, got {values.shape[1]}")
    check_arguments(engine, runs, workers, seed)
    check_points(scenario, keys, values)
    if seeds is None:
        per_point = np.full(len(values), seed, dtype=np.int64)
    else:
        per_point = np.asarray(seeds, dtype=np.int64)
        if per_point.shape != (len(values),) or (per_point < 0).any():
            raise UsageError(f"seeds must be {len(values)} non-negative integers, one per point")
    tasks = [
        (values[i : i + POINTS_PER_TASK], per_point[i : i + POINTS_PER_TASK])
        for i in range(0, len(values), POINTS_PER_TASK)
    ]
    started = time.perf_counter()
    bar = progress_bar(total=len(values), unit="point", progress=progress)
    results: list[tuple[Any, ...]] = []
    with bar:
        if dask is not None:
            stream = _on_dask(dask, workers, scenario, keys, tasks, (runs, engine))
        elif workers > 1 and len(tasks) > 1:
            stream = parallel.ordered(
                evaluate_task, [(scenario, keys, v, runs, s, engine) for v, s in tasks], workers
            )
        else:
            stream = (evaluate_task(scenario, keys, v, runs, s, engine) for v, s in tasks)
        for done in stream:
            results += done
            bar.update(len(done))
            rate = len(results) * runs / max(time.perf_counter() - started, 1e-9)
            bar.set_postfix_str(f"{rate:,.0f} runs/s", refresh=False)
    counts, holding, violations, deliveries, reached, passed = (
        np.array(x) for x in zip(*results, strict=True)
    )
    phases = tuple(p.name for p in scenario.phases) if scenario.phases else ()
    return PointTable(
        keys=keys,
        values=values,
        runs=runs,
        seed=seed,
        engine=engine,
        window=scenario.window_days,
        counts=counts,
        holding_days=holding,
        violations=violations,
        deliveries=deliveries,
        parties=tuple(scenario.parties),
        elapsed=time.perf_counter() - started,
        phases=phases,
        reached=reached if phases else None,
        passed=passed if phases else None,
    )


@contextmanager
def dask_session(address: str | None, workers: int) -> Iterator[Any]:
    """A Dask client for ``address`` (``"local"``: a local cluster of ``workers`` processes),
    closed on exit; ``None`` when ``address`` is ``None``. Pass it as ``evaluate(dask=...)`` to
    run several experiments on one cluster."""
    if address is None:
        yield None
        return
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise UsageError(
            "--dask needs the 'dask' extra: pip install 'ceasefire-sim[dask]'"
        ) from None
    cluster = None
    try:
        if address == "local":
            cluster = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
            client = Client(cluster)
        else:
            client = Client(address, timeout="10s")
    except OSError as exc:
        raise UsageError(f"cannot reach the Dask scheduler at {address}: {exc}") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _on_dask(
    dask: Any,
    workers: int,
    scenario: Scenario,
    keys: tuple[str, ...],
    tasks: list[tuple[np.ndarray, np.ndarray]],
    args: tuple[Any, ...],
) -> Iterator[list[Any]]:
    """Tasks on a Dask cluster (an address, ``"local"``, or an open client), in order."""
    if isinstance(dask, str):
        with dask_session(dask, workers) as client:
            yield from _on_dask(client, workers, scenario, keys, tasks, args)
        return
    remote = dask.scatter(scenario, broadcast=True, hash=False)
    runs, engine = args
    futures = [
        dask.submit(evaluate_task, remote, keys, v, runs, s, engine, pure=False) for v, s in tasks
    ]
    for future in futures:
        yield future.result()


def column_name(outcome: str) -> str:
    """The CSV/JSON column of P(``outcome``): ``p_triggered``, ``p_reached_jic``, …"""
    return "p_" + outcome.replace(":", "_")


def check_outcome(scenario: Scenario, outcome: str) -> str:
    """``outcome`` if the scenario can have it (an outcome code, or ``reached:<phase>`` /
    ``passed:<phase>`` naming one of its phases); else a :class:`UsageError` naming the
    choices."""
    phases = [p.name for p in scenario.phases] if scenario.phases else []
    kind, sep, name = outcome.partition(":")
    if not sep and outcome in OUTCOMES:
        return outcome
    choices = ", ".join(OUTCOMES) + ", reached:<phase>, passed:<phase>"
    if not sep or kind not in PHASE_OUTCOMES:
        hint = did_you_mean(
            outcome, [*OUTCOMES, *(f"{k}:{p}" for k in PHASE_OUTCOMES for p in phases)]
        )
        raise UsageError(f"--outcome {outcome}: unknown outcome (choose from {choices}){hint}")
    if not phases:
        raise UsageError(
            f"--outcome {outcome}: scenario '{scenario.name}' has no phases "
            f"(choose from {', '.join(OUTCOMES)})"
        )
    if name not in phases:
        raise UsageError(
            f"--outcome {outcome}: unknown phase '{name}' (the phases: {', '.join(phases)})"
            + did_you_mean(name, phases)
        )
    return outcome


def outcome_label(outcome: str) -> str:
    """``P(...)`` in words for figures and text: ``P(triggered)``, ``P(phase jic reached)``."""
    kind, sep, name = outcome.partition(":")
    return f"P(phase {name} {kind})" if sep else f"P({outcome})"


def grid(spec: Mapping[str, tuple[float, float, int]]) -> tuple[tuple[str, ...], np.ndarray]:
    """The full grid of ``{key: (low, high, n)}``: keys and ``[points, keys]`` values."""
    keys = tuple(spec)
    # twelve significant digits: 0.3, not linspace's 0.30000000000000004
    axes = [
        np.array([float(f"{v:.12g}") for v in np.linspace(lo, hi, n)])
        for lo, hi, n in spec.values()
    ]
    mesh = np.meshgrid(*axes, indexing="ij")
    return keys, np.column_stack([m.ravel() for m in mesh]) if axes else np.zeros((1, 0))


__all__ = [
    "PHASE_OUTCOMES",
    "PointTable",
    "check_outcome",
    "column_name",
    "evaluate",
    "grid",
    "outcome_label",
]
