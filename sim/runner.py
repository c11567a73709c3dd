"""The Monte Carlo runner: seeding, chunks, worker processes and aggregation.

Seeding. With a per-run engine (``simpy``) run ``i`` draws from
``Generator(PCG64(SeedSequence(seed, spawn_key=(i,))))``, so any run can be replayed alone.
A batch engine (``fast``) simulates fixed blocks of run indices, block ``b`` drawing from
``SeedSequence(seed, spawn_key=(BLOCK_KEY, b))``. Either way results depend only on the
scenario, seed, number of runs and engine, never on chunking or the number of workers.
"""

from __future__ import annotations

import time

import numpy as np
from tqdm.auto import tqdm

from . import parallel, uncertainty
from .columns import Columns
from .engines import ENGINES, Params
from .errors import RunawayError, UsageError
from .records import RunRecord, TraceEvent
from .results import Results
from .scenario import Scenario
from .tally import Tally
from .uncertainty import THETA_KEY

BLOCK_KEY = 2**32
"""First word of the spawn key of batch generators (distinct from every run index)."""


def run_generator(seed: int, run: int) -> np.random.Generator:
    """The random generator of run ``run`` under ``seed``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(run,))))


def block_generator(seed: int, block: int) -> np.random.Generator:
    """The random generator of block ``block`` of a batch engine under ``seed``."""
    ss = np.random.SeedSequence(seed, spawn_key=(BLOCK_KEY, block))
    return np.random.Generator(np.random.PCG64(ss))


def fresh_seed() -> int:
    """A new random seed (used, printed and recorded when none is given)."""
    return int(np.random.SeedSequence().entropy % (2**63))


def check_arguments(engine: str, runs: int, workers: int, seed: int) -> None:
    if engine not in ENGINES:
        raise UsageError(f"unknown engine '{engine}' (choose from {', '.join(ENGINES)})")
    if isinstance(runs, bool) or not isinstance(runs, int | np.integer) or runs < 1:
        raise UsageError(f"runs must be a positive integer, got {runs!r}")
    if isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1:
        raise UsageError(f"workers must be a positive integer, got {workers!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise UsageError(f"seed must be a non-negative integer, got {seed!r}")


def theta_generator(seed: int, run: int) -> np.random.Generator:
    """The generator that draws run ``run``'s parameter set under ``--integrate``."""
    ss = np.random.SeedSequence(seed, spawn_key=(THETA_KEY, run))
    return np.random.Generator(np.random.PCG64(ss))


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
    parameter set from its own stream, then runs that scenario with its usual stream."""
    spec = ENGINES[engine]
    if integrate is not None:
        assert spec.run is not None
        cols = Columns.empty(params, stop - start, len(integrate.uncertainties))
        for i in range(start, stop):
            theta = uncertainty.draw(integrate, theta_generator(seed, i))
            run_params = Params.from_scenario(uncertainty.apply(integrate, theta))
            try:
                cols.put(i - start, spec.run(run_params, run_generator(seed, i), None))
            except RunawayError as exc:
                raise RunawayError(f"run {i}: {exc}") from None
            cols.theta[i - start] = theta
        return cols
    if spec.run_batch is not None:
        rng = block_generator(seed, start // spec.chunk)
        try:
            return spec.run_batch(params, rng, stop - start)
        except RunawayError as exc:
            raise RunawayError(f"runs {start}..{stop - 1}: {exc}") from None
    assert spec.run is not None
    cols = Columns.empty(params, stop - start)
    for i in range(start, stop):
        try:
            cols.put(i - start, spec.run(params, run_generator(seed, i), None))
        except RunawayError as exc:
            raise RunawayError(f"run {i}: {exc}") from None
    return cols


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
    runs = scenario.monte_carlo.runs if runs is None else runs
    if seed is None:
        seed = scenario.monte_carlo.seed if scenario.monte_carlo.seed is not None else fresh_seed()
    check_arguments(engine, runs, workers, seed)
    if integrate and not scenario.uncertainties:
        raise UsageError("--integrate needs an 'uncertainties:' block in the scenario")
    if integrate and ENGINES[engine].run is None:
        raise UsageError(
            f"--integrate draws a parameter set per run; engine '{engine}' "
            "simulates blocks of runs with one: use --engine simpy"
        )
    params = Params.from_scenario(scenario)
    theta_of = scenario if integrate else None
    size = ENGINES[engine].chunk
    bounds = [(a, min(a + size, runs)) for a in range(0, runs, size)]
    tally = Tally(params)
    cols = (
        Columns.empty(params, runs, len(scenario.uncertainties) if integrate else 0)
        if (keep_runs)
        else None
    )
    started = time.perf_counter()
    bar = tqdm(
        total=runs,
        unit="run",
        disable=None if progress is None else not progress,
        leave=False,
        dynamic_ncols=True,
    )

    def collect(a: int, b: int, chunk: Columns) -> None:
        tally.add(chunk)
        if cols is not None:
            cols.fill(a, chunk)
        bar.update(b - a)

    with bar:
        if workers == 1 or len(bounds) == 1:
            for a, b in bounds:
                collect(a, b, simulate_chunk(params, engine, seed, a, b, theta_of))
        else:
            tasks = [(params, engine, seed, a, b, theta_of) for a, b in bounds]
            chunks = parallel.ordered(simulate_chunk, tasks, min(workers, len(bounds)))
            for (a, b), chunk in zip(bounds, chunks, strict=True):
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
    )


def trace_run(
    scenario: Scenario, seed: int, run: int, *, engine: str = "simpy"
) -> tuple[RunRecord, list[TraceEvent]]:
    """Replay run ``run`` of ``simulate(scenario, seed=seed)`` with its story."""
    check_arguments(engine, max(run + 1, 1), 1, seed)
    if run < 0:
        raise UsageError(f"run must be a non-negative integer, got {run}")
    events: list[TraceEvent] = []
    spec = ENGINES[engine]
    if spec.run is None:
        replayable = ", ".join(name for name, e in ENGINES.items() if e.replays)
        raise UsageError(
            f"engine '{engine}' simulates runs in blocks and cannot replay one "
            f"run; trace uses {replayable}"
        )
    record = spec.run(Params.from_scenario(scenario), run_generator(seed, run), events)
    return record, events
