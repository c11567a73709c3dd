"""Engines: the same model (docs/model.md), simulated in two ways, identical run by run.

Both engines simulate run ``i`` under ``seed`` from the random streams keyed by
(seed, i, mechanism) (:mod:`sim.streams`) with the rules of :mod:`sim.engines.rules`, so
they produce the same runs: ``simpy`` as SimPy processes, one run at a time, and able to
tell a run's story; ``fast`` as a compiled loop. Results never depend on how runs are split
into chunks or workers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ..records import Columns
from . import fast_engine, simpy_engine
from .params import Params, Tables


class RunBatch(Protocol):
    """Simulate runs ``runs`` of ``p`` under ``seed`` (``which[i]``: the parameter set of
    ``tables`` that run ``runs[i]`` uses; default: ``p``'s own)."""

    def __call__(
        self,
        p: Params,
        seed: int,
        runs: np.ndarray,
        tables: Tables | None = None,
        which: np.ndarray | None = None,
    ) -> Columns: ...


@dataclass(frozen=True)
class Engine:
    """A simulation engine and how the runner drives it."""

    name: str
    summary: str
    chunk: int
    """Runs per unit of work (a worker's task); results do not depend on it."""
    run_batch: RunBatch


ENGINES: dict[str, Engine] = {
    "simpy": Engine(
        "simpy", "reference: SimPy processes, one run at a time", 2_000, simpy_engine.run_batch
    ),
    "fast": Engine("fast", "compiled (numba), identical runs", 65_536, fast_engine.run_batch),
}
"""Engines by name, the reference first."""

__all__ = ["ENGINES", "Engine", "Params"]
