"""Engines: the same model (SPEC §2–7), simulated in different ways.

An engine either simulates **one run** from a generator (``run(params, rng, trace)``, the
reference ``simpy`` engine, which can also tell a run's story) or a **batch** of runs from one
generator (``run_batch(params, rng, n)``, the vectorised ``fast`` engine). The runner owns the
seeding: one stream per run for per-run engines, one per fixed block of run indices for batch
engines, so results never depend on workers or chunking.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from ..columns import Columns
from ..records import RunRecord, TraceEvent
from . import fast_engine, simpy_engine
from .params import Params

RunOne = Callable[[Params, np.random.Generator, "list[TraceEvent] | None"], RunRecord]
RunBatch = Callable[[Params, np.random.Generator, int], Columns]


@dataclass(frozen=True)
class Engine:
    """A simulation engine and how the runner drives it."""

    name: str
    summary: str
    chunk: int
    """Runs per unit of work. For batch engines also the block each generator covers, so it
    is part of the engine's definition: changing it changes results."""
    run: RunOne | None = None
    run_batch: RunBatch | None = None

    @property
    def replays(self) -> bool:
        """Whether single runs can be replayed with their story (``ceasefire trace``)."""
        return self.run is not None


ENGINES: dict[str, Engine] = {
    "simpy": Engine(
        "simpy", "reference: SimPy processes, one run at a time", 2_000, run=simpy_engine.run
    ),
    "fast": Engine(
        "fast", "numpy, vectorised across blocks of runs", 16_384, run_batch=fast_engine.run_batch
    ),
}
"""Engines by name, the reference first."""

__all__ = ["ENGINES", "Engine", "Params"]
