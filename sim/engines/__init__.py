"""Engines: functions ``run(params, rng, trace=None) -> RunRecord`` for one Monte Carlo run.

``simpy`` is the reference engine (and the one ``ceasefire trace`` replays).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..records import RunRecord, TraceEvent
from . import simpy_engine
from .params import Params

Engine = Callable[[Params, np.random.Generator, "list[TraceEvent] | None"], RunRecord]

ENGINES: dict[str, Engine] = {"simpy": simpy_engine.run}
"""Engines by name, the reference first."""

__all__ = ["ENGINES", "Engine", "Params"]
