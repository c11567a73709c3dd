"""ceasefire-sim: how is a ceasefire likely to go?

Describe a ceasefire in a YAML scenario, run thousands of Monte Carlo runs, read the outcome
distribution. The public API:

===========================  ====================================================
:func:`load_scenario`        read and validate a scenario file (immutable result)
:func:`scenario_from_dict`   validate a scenario given as plain data
:class:`Scenario`            the validated scenario; ``with_overrides`` makes variants
:func:`simulate`             run the Monte Carlo, returns :class:`Results`
:class:`Results`             outcome probabilities, survival, statistics, ``save``
:func:`trace_run`            replay one run with its story
:func:`json_schema`          the JSON Schema of scenario files
:data:`OUTCOMES`             the four outcome codes
:data:`ENGINES`              the simulation engines by name
:class:`ScenarioError`       a bad scenario: ``FILE:LINE:COL: key.path: message``
:class:`UsageError`          a bad argument
:class:`RunawayError`        a run exceeded its event cap (explosive excitation)
===========================  ====================================================
"""

from .console import startup

with startup():  # as the ``ceasefire`` command, Ctrl-C or SIGTERM now gives one line
    from .engines import ENGINES
    from .errors import RunawayError, ScenarioError, UsageError
    from .results import Results
    from .runner import simulate, trace_run
    from .scenario import OUTCOMES, Scenario, json_schema, load_scenario, scenario_from_dict

__all__ = [
    "ENGINES",
    "OUTCOMES",
    "Results",
    "RunawayError",
    "Scenario",
    "ScenarioError",
    "UsageError",
    "json_schema",
    "load_scenario",
    "scenario_from_dict",
    "simulate",
    "trace_run",
]

_SUBMODULES = (
    "backtest", "check", "compare", "discovery", "events", "fit", "observations", "plots",
    "report", "sensitivity", "stats", "sweep", "trace", "uncertainty",
)  # fmt: skip
"""Modules a notebook reaches as ``sim.<name>`` after a plain ``import sim`` (imported when
first used: ``import sim`` stays quick)."""


def __getattr__(name: str) -> object:
    if name in _SUBMODULES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
