"""Errors a user can cause, each rendered as one line that names the file, line and key."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

MAX_MESSAGE_CHARS = 2000
"""Longest error line printed (user text echoed in it is cut beyond that)."""


def printable(text: str, limit: int = MAX_MESSAGE_CHARS) -> str:
    """``text`` made safe to echo on one line: control and format characters (newlines,
    escapes, NUL, bidirectional overrides) shown as ``\\xNN``/``\\uNNNN``; cut with ``…``
    beyond ``limit`` characters."""
    if text.isprintable() and len(text) <= limit:
        return text
    out = []
    for ch in text[: limit + 1]:
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            out.append(ascii(ch)[1:-1])
        else:
            out.append(ch)
    joined = "".join(out)
    return joined if len(text) <= limit else joined[:limit] + "…"


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


class ScenarioError(CeasefireError, ValueError):
    """A scenario (file, override or key) is invalid.

    ``str(err)`` is the one line the CLI prints: ``FILE:LINE:COL: key.path: message``.
    """

    def __init__(self, message: str, *, location: Location | None = None, key: str = "") -> None:
        self.message = message
        self.location = location
        self.key = key
        super().__init__(str(self))

    def __str__(self) -> str:
        parts = []
        if self.location is not None:
            parts.append(str(self.location))
        if self.key:
            parts.append(self.key)
        parts.append(self.message)
        return printable(": ".join(parts))


class UsageError(CeasefireError, ValueError):
    """A bad command-line or API argument (not a scenario problem)."""


class SaveError(UsageError):
    """Results could not be written (a full disk, no permission); nothing was left behind."""


class RunawayError(CeasefireError, RuntimeError):
    """A run exceeded its event cap: the excitation is (close to) explosive."""


class WorkerError(CeasefireError, RuntimeError):
    """A worker process died while simulating (not a problem of the input)."""
