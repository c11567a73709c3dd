"""The Monte Carlo runner: seeding, chunks, worker processes and aggregation.

Seeding. Run ``i`` under ``seed`` draws every random number from the streams keyed by
(seed, i, mechanism) (:mod:`sim.streams`), on every engine; with ``integrate`` its parameter
set comes from the streams keyed by (seed, i, assumption). So results depend only on the
scenario, seed, number of runs and engine — and the engines agree run by run — never on
chunking or the number of workers.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import replace

import numpy as np

from . import console, limits, parallel, streams, uncertainty
from .engines import ENGINES, Params, paramsets
from .engines.params import PER_SET
from .engines.simpy_engine import story
from .errors import RunawayError, UsageError
from .progress import progress_bar
from .records import Columns, Run, Shape, TraceEvent, row_bytes
from .results import Results
from .scenario import Scenario
from .tally import Tally


def fresh_seed() -> int:
    """A new random seed (used, printed and recorded when none is given)."""
    return secrets.randbits(63)


def check_arguments(engine: str, runs: int, workers: int, seed: int) -> None:
    if engine not in ENGINES:
        raise UsageError(f"unknown engine '{engine}' (choose from {', '.join(ENGINES)})")
    if isinstance(runs, bool) or not isinstance(runs, int | np.integer) or runs < 1:
        raise UsageError(f"runs must be a positive integer, got {runs!r}")
    if runs > limits.MAX_RUNS:
        raise UsageError(f"runs must be at most {limits.MAX_RUNS:.0e}, got {runs}")
    if isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1:
        raise UsageError(f"workers must be a positive integer, got {workers!r}")
    if workers > limits.max_workers():
        raise UsageError(
            f"{workers:,} worker processes is more than this machine can run usefully "
            f"(at most {limits.max_workers()}: {limits.WORKERS_PER_CORE} per CPU core)"
        )
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed!r}")
    if seed >= 2**64:
        raise UsageError(f"seed must be below 2**64, got {seed}")


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def settings(
    scenario: Scenario,
    runs: int | None,
    seed: int | None,
    engine: str,
    workers: int,
    integrate: bool,
) -> tuple[int, int]:
    """``runs`` and ``seed``, defaulting to the scenario's ``monte_carlo`` block (a fresh seed
    when neither gives one), checked with the other arguments of a simulation."""
    if not isinstance(scenario, Scenario):
        raise UsageError(
            f"expected a Scenario (from sim.load_scenario or sim.scenario_from_dict), got "
            f"{type(scenario).__name__} {_short(scenario)}"
        )
    runs = scenario.monte_carlo.runs if runs is None else runs
    if seed is None:
        seed = scenario.monte_carlo.seed if scenario.monte_carlo.seed is not None else fresh_seed()
    check_arguments(engine, runs, workers, seed)
    if integrate:
        check_integrable(scenario)
    return runs, seed


def check_integrable(scenario: Scenario) -> None:
    """Refuse ``--integrate`` for a scenario with nothing uncertain, naming its file."""
    if not scenario.uncertainties:
        raise UsageError(
            f"{scenario.file_label()}: --integrate needs an 'uncertainties:' block (this "
            "scenario has none)"
        )


def check_row_memory(shape: Shape, runs: int, summary_only: bool = True) -> None:
    """Refuse, before simulating, per-run rows that would not fit in memory."""
    per_run = row_bytes(shape)
    need, budget = per_run * runs, limits.memory_budget()
    if need > budget:
        use = "--summary-only (memory independent of runs; no runs.csv) or " * summary_only
        raise UsageError(
            f"{runs:,} runs would keep about {need / 2**30:.1f} GiB of per-run rows (more than "
            f"{budget / 2**30:.1f} GiB): use {use}at most {budget // per_run:,} runs"
        )


TABLE_BYTES = 32 << 20
"""Most memory the per-run parameter tables of ``--integrate`` take at once."""


def draw_theta(scenario: Scenario, seed: int, runs: np.ndarray) -> np.ndarray:
    """Each run's parameter set (``[runs, assumptions]``) under ``--integrate``: assumption
    ``key`` of run ``i`` comes from the stream (seed, i, ``uncertainty:key``), so adding or
    reordering assumptions leaves the others' draws unchanged."""
    seed_key = streams.seed_key(seed)
    runs = np.asarray(runs, np.int64)
    mechanisms = [streams.mechanism_key("uncertainty", key) for key in uncertainty.keys(scenario)]
    u = streams.uniform_table(seed_key, np.asarray(mechanisms, np.int64), runs)
    return uncertainty.values(scenario, u)


def simulate_chunk(
    params: Params,
    engine: str,
    seed: int,
    start: int,
    stop: int,
    integrate: Scenario | None = None,
) -> Columns:
    """Simulate runs ``start..stop-1`` into columns (the unit of work of a worker).

    With ``integrate`` (a scenario with uncertainties), each run first draws its own
    parameter set, then runs that scenario with its usual streams."""
    spec = ENGINES[engine]
    runs = np.arange(start, stop)
    if integrate is None:
        return spec.run_batch(params, seed, runs)
    thetas = draw_theta(integrate, seed, runs)
    keys = uncertainty.keys(integrate)
    cols = Columns.empty(replace(params.shape, assumptions=keys), len(runs))
    try:
        if paramsets.supports(integrate):
            # one parameter set per run: its tables are built for at most TABLE_BYTES of
            # runs at a time (a long window or many phases makes a set large)
            per_set = sum(params.tables()[name].nbytes for name in PER_SET)
            step = max(1, TABLE_BYTES // per_set)
            for a in range(0, len(runs), step):
                part = slice(a, a + step)
                tables = paramsets.param_sets(params, integrate, keys, thetas[part])
                n = len(runs[part])
                done = spec.run_batch(params, seed, runs[part], tables, np.arange(n))
                done.arrays["theta"] = thetas[part]
                cols.fill(a, done)
            return cols
        for row, (i, theta) in enumerate(zip(runs.tolist(), thetas, strict=True)):
            run_params = Params.from_scenario(uncertainty.apply(integrate, theta))
            one = spec.run_batch(run_params, seed, np.array([i]))
            one.arrays["theta"] = theta[None, :]
            cols.fill(row, one)
        return cols
    except RunawayError as exc:
        if exc.run is None:
            raise
        raise runaway_draw(exc, integrate, thetas[exc.run - start]) from None


def runaway_draw(exc: RunawayError, scenario: Scenario, theta: np.ndarray) -> RunawayError:
    """A runaway under ``--integrate``, told with the assumptions its run drew (those that
    move the branching ratio) and the branching ratio they give."""
    drawn = uncertainty.apply(scenario, theta)
    corner, _ = uncertainty.explosive_corner(scenario)
    values = dict(zip(uncertainty.keys(scenario), theta.tolist(), strict=True))
    told = ", ".join(f"{key} = {values[key]:.4g}" for key in corner)
    return RunawayError(
        f"{exc}; under --integrate this run drew {told} (branching ratio "
        f"{drawn.branching_ratio():.2f}; {scenario.branching_ratio():.2f} at the scenario's "
        "values): narrow those ranges (`ceasefire validate` warns when they can combine so)",
        exc.run,
    )


def chunks(runs: int, size: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of each chunk, made as needed (memory does not grow with runs)."""
    for a in range(0, runs, size):
        yield a, min(a + size, runs)


def simulate(
    scenario: Scenario,
    runs: int | None = None,
    seed: int | None = None,
    *,
    engine: str = "simpy",
    workers: int = 1,
    keep_runs: bool = True,
    integrate: bool = False,
    progress: bool | None = None,
) -> Results:
    """Run the Monte Carlo: ``runs`` independent runs of ``scenario``.

    ``runs`` and ``seed`` default to the scenario's ``monte_carlo`` block (a fresh seed is
    drawn, and recorded in the results, when neither gives one). ``keep_runs=False`` keeps
    only the streaming summaries (memory independent of ``runs``; no ``runs.csv``).
    ``integrate=True`` draws a fresh parameter set from the scenario's ``uncertainties`` for
    every run (second-order Monte Carlo), so the outcome distribution includes what we do
    not know; each run's values are kept in ``columns.theta``. ``progress=None`` shows a
    progress bar only on an interactive terminal. The results are identical for any
    ``workers``.
    """
    runs, seed = settings(scenario, runs, seed, engine, workers, integrate)
    params = Params.from_scenario(scenario)
    theta_of = scenario if integrate else None
    size = ENGINES[engine].chunk
    shape = replace(params.shape, assumptions=uncertainty.keys(scenario) if integrate else ())
    tally = Tally(shape, fading=scenario.strain_fades())
    if keep_runs:
        check_row_memory(shape, runs)
    cols = Columns.empty(shape, runs) if keep_runs else None
    # run 0 once, unrecorded: compiling the engine's code (or loading it from the disk cache)
    # happens here, and is not counted in the time (nor paid again by each worker)
    started = time.perf_counter()
    simulate_chunk(params, engine, seed, 0, 1, theta_of)
    console.check()  # a signal while compiling may have been lost in numba's callbacks
    warmup = time.perf_counter() - started
    started = time.perf_counter()
    bar = progress_bar(total=runs, unit="run", progress=progress)

    def collect(a: int, b: int, chunk: Columns) -> None:
        console.check()
        tally.add(chunk)
        if cols is not None:
            cols.fill(a, chunk)
        bar.update(b - a)

    with bar:
        if workers == 1 or runs <= size:
            for a, b in chunks(runs, size):
                collect(a, b, simulate_chunk(params, engine, seed, a, b, theta_of))
        else:
            tasks = ((params, engine, seed, a, b, theta_of) for a, b in chunks(runs, size))
            done = parallel.ordered(simulate_chunk, tasks, min(workers, -(-runs // size)))
            for (a, b), chunk in zip(chunks(runs, size), done, strict=True):
                collect(a, b, chunk)
    elapsed = time.perf_counter() - started
    return Results(
        integrated=integrate,
        scenario=scenario,
        seed=int(seed),
        engine=engine,
        tally=tally,
        columns=cols,
        elapsed=elapsed,
        workers=workers,
        warmup=warmup,
    )


def trace_run(
    scenario: Scenario, seed: int, run: int, *, engine: str = "simpy", integrate: bool = False
) -> tuple[Run, list[TraceEvent]]:
    """Replay run ``run`` of ``simulate(scenario, seed=seed, engine=engine, integrate=...)``
    with its story.

    The story is told by the SimPy engine; the engines give the same run for the same
    (scenario, seed, run), so it is the story of that run on either engine. With
    ``integrate`` the run first draws its own parameter set, as in :func:`simulate` (the
    values are in the record's ``theta``)."""
    if run < 0 or run >= limits.MAX_RUNS:
        raise UsageError(f"the run index must be from 0 to {limits.MAX_RUNS - 1:,}, got {run:,}")
    check_arguments(engine, 1, 1, seed)
    if not integrate:
        return story(Params.from_scenario(scenario), seed, run)
    check_integrable(scenario)
    theta = draw_theta(scenario, seed, np.array([run]))[0]
    record, events = story(Params.from_scenario(uncertainty.apply(scenario, theta)), seed, run)
    record.values["theta"] = theta
    return record, events
