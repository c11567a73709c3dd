"""Errors a user can cause, each rendered as lines that name the file, line and key."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

MAX_SHOWN = 20
"""At most this many problems of one scenario are listed; the rest are counted."""

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029]")


def printable(text: str, *, newlines: bool = False, limit: int | None = None) -> str:
    """``text`` safe for a terminal: control characters (ANSI escapes, carriage returns,
    bells, and newlines unless ``newlines``) are shown escaped, as ``\\x1b`` or ``\\n``;
    with ``limit``, cut to that many characters with ``…`` (echoed user text)."""
    if limit is not None and len(text) > limit:
        text = text[: 4 * limit]
    if not newlines:
        text = text.replace("\n", "\\n")
    text = _CONTROL.sub(lambda m: repr(m.group())[1:-1], text)
    if limit is not None and len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 spoiler``, ``2 spoilers``."""
    return f"{n} {one if n == 1 else many or one + 's'}"


@dataclass(frozen=True)
class Location:
    """Where a value came from: a file (or ``--set``) and a 1-based line and column (0: none)."""

    file: str
    line: int = 1
    column: int = 1

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}" if self.line else self.file


class CeasefireError(Exception):
    """Base class of every error this package raises on purpose."""

    def __str__(self) -> str:
        return printable(super().__str__())


class ScenarioError(CeasefireError, ValueError):
    """A scenario (file, override or key) is invalid.

    ``str(err)`` is what the CLI prints: one ``FILE:LINE:COL: key.path: message`` line per
    problem (the first is this error's own; :attr:`others` holds the rest, at most
    :data:`MAX_SHOWN` shown). Control characters are escaped, so it is safe to print.
    ``reason`` is the message without where the value came from (``(from --set …)``).
    """

    def __init__(
        self,
        message: str,
        *,
        location: Location | None = None,
        key: str = "",
        reason: str | None = None,
        others: Sequence[ScenarioError] = (),
    ) -> None:
        self.message = message
        self.location = location
        self.key = key
        self.reason = message if reason is None else reason
        self.others = tuple(others)
        super().__init__(str(self))

    @property
    def problems(self) -> tuple[ScenarioError, ...]:
        """This problem and every other one found in the same scenario."""
        return (self, *self.others)

    def line(self) -> str:
        """This problem alone, as one printable line."""
        parts = []
        if self.location is not None:
            parts.append(str(self.location))
        if self.key:
            parts.append(self.key)
        parts.append(self.message)
        return printable(": ".join(parts))

    def __str__(self) -> str:
        problems = self.problems
        lines = [p.line() for p in problems[:MAX_SHOWN]]
        hidden = len(problems) - MAX_SHOWN
        if hidden > 0:
            where = self.location.file if self.location is not None else "scenario"
            lines.append(printable(f"{where}: {hidden} more error{'s' * (hidden > 1)} not shown"))
        return "\n".join(lines)


class UsageError(CeasefireError, ValueError):
    """A bad command-line or API argument (not a scenario problem)."""


class SaveError(UsageError):
    """Results could not be written (a full disk, no permission); nothing was left behind."""


class RunawayError(CeasefireError, RuntimeError):
    """A run exceeded its event cap: the excitation is (close to) explosive. ``run`` is the
    index of the run that did, when known."""

    def __init__(self, message: str, run: int | None = None) -> None:
        # both in ``args``: the run index survives a worker's pickling and SimPy, which
        # raises a process's error again as ``type(err)(*err.args)``
        super().__init__(message, run)
        self.run = run

    def __str__(self) -> str:
        return printable(str(self.args[0]))


class WorkerError(CeasefireError, RuntimeError):
    """A worker process died while simulating (not a problem of the input)."""
