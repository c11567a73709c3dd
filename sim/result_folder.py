"""Reading a result folder back (``compare`` takes them as inputs): validated like a scenario.

A result folder is input too: its ``summary.json`` may have been edited, truncated or
replaced. It is read only if it is a regular file of at most
:data:`~sim.limits.MAX_RESULT_FILE_BYTES`, nested at most :data:`~sim.limits.MAX_JSON_DEPTH`
deep, with finite numbers only, and with the fields ``compare`` uses in range; otherwise one
line names the file and what is wrong (exit 2). ``scenario.yaml`` is read by
:func:`~sim.scenario.load_scenario`, with all its limits.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

from . import limits
from .errors import UsageError, printable
from .folders import unfinished
from .scenario import OUTCOMES, Scenario, load_scenario

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class BadFile(Exception):
    """Why a file of a result folder cannot be read (worded to follow its name)."""


def read_result_folder(path: str | Path) -> tuple[Scenario, dict[str, Any]]:
    """The resolved scenario and the checked summary of a folder written by ``ceasefire run``.

    Raises :class:`~sim.errors.UsageError` (one line naming the file) when it is not one.
    """
    path = Path(path)
    if unfinished(path):
        raise UsageError(
            f"{printable(str(path))}: an unfinished result folder (a command writing it was "
            "stopped before it finished); it is not a result"
        )
    summary_file, scenario_file = path / "summary.json", path / "scenario.yaml"
    if not summary_file.is_file() or not scenario_file.is_file():
        raise UsageError(
            f"{printable(str(path))}: not a result folder (it needs summary.json and "
            "scenario.yaml, as `ceasefire run` writes them)"
        )
    try:
        summary = _check_summary(read_json(summary_file))
    except BadFile as exc:
        raise UsageError(
            f"{printable(str(summary_file))}: not a readable summary ({exc})"
        ) from None
    return load_scenario(scenario_file), summary


def read_json(file: Path) -> Any:
    """Parse a JSON file of bounded size and depth, with finite numbers only."""
    cap = limits.MAX_RESULT_FILE_BYTES
    try:
        with open(file, "rb", opener=_nonblocking) as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise BadFile("not a regular file")
            data = f.read(cap + 1)
    except OSError as exc:
        raise BadFile(f"cannot read: {(exc.strerror or str(exc)).lower()}") from None
    if len(data) > cap:
        raise BadFile(f"larger than {cap:,} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadFile("not UTF-8 text") from None
    depth = deepest = 0
    for m in _BRACKET.finditer(_STRING.sub("", text)):
        depth += 1 if m.group() in "[{" else -1
        deepest = max(deepest, depth)
        if deepest > limits.MAX_JSON_DEPTH:
            raise BadFile(f"nested more than {limits.MAX_JSON_DEPTH} levels deep")
    try:
        return json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except BadFile:
        raise
    except (ValueError, RecursionError) as exc:
        raise BadFile(f"invalid JSON: {str(exc)[:200]}") from None


def _nonblocking(file: str, flags: int) -> int:
    return os.open(file, flags | getattr(os, "O_NONBLOCK", 0))


def _no_constant(name: str) -> Any:
    raise BadFile(f"{name} is not a number a summary can hold")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadFile(f"{text[:40]} is not a finite number")
    return value


def _number(value: Any, what: str, low: float = -math.inf, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadFile(f"{what} must be a number, got {printable(repr(value), limit=60)}")
    if not low <= value <= high or not math.isfinite(value):
        raise BadFile(f"{what} must be between {low:g} and {high:g}, got {value:g}")
    return float(value)


def _check_summary(summary: Any) -> dict[str, Any]:
    """The fields ``compare`` reads: present, of the right type and in range."""
    if not isinstance(summary, dict):
        raise BadFile("expected a JSON object")
    try:
        runs = summary["runs"]
        if isinstance(runs, bool) or not isinstance(runs, int) or not 1 <= runs <= limits.MAX_RUNS:
            raise BadFile(f"runs must be an integer from 1 to {limits.MAX_RUNS:,}")
        outcomes = summary["outcomes"]
        if not isinstance(outcomes, dict):
            raise BadFile("outcomes must be an object")
        for code in OUTCOMES:
            o = outcomes[code]
            if not isinstance(o, dict):
                raise BadFile(f"outcomes.{code} must be an object")
            count = o["count"]
            if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= runs:
                raise BadFile(f"outcomes.{code}.count must be an integer from 0 to runs")
            _number(o["p"], f"outcomes.{code}.p", 0, 1)
            ci = o["ci95"]
            if not isinstance(ci, list) or len(ci) != 2:
                raise BadFile(f"outcomes.{code}.ci95 must be [low, high]")
            for x in ci:
                _number(x, f"outcomes.{code}.ci95", 0, 1)
        survival = summary["survival"]
        if not isinstance(survival, list) or not survival:
            raise BadFile("survival must be a non-empty list of [day, fraction]")
        if len(survival) > 100 * limits.MAX_WINDOW_DAYS:
            raise BadFile("survival has too many points")
        for point in survival:
            if not isinstance(point, list) or len(point) != 2:
                raise BadFile("survival must be a list of [day, fraction]")
            _number(point[0], "survival day", 0, limits.MAX_WINDOW_DAYS)
            _number(point[1], "survival fraction", 0, 1)
    except KeyError as exc:
        raise BadFile(f"missing {exc}") from None
    except TypeError as exc:
        raise BadFile(str(exc)) from None
    return summary


__all__ = ["BadFile", "read_json", "read_result_folder"]
