"""Progress of long computations: a bar on a terminal or in a notebook, and a plain line
every :data:`PIPED_EVERY` seconds on stderr when output goes to a file or a pipe (a long
command must not look hung in a log)."""

from __future__ import annotations

import importlib.util
import sys
import time
from types import TracebackType
from typing import Any, Protocol

from tqdm import tqdm as plain_tqdm

PIPED_EVERY = 30.0
"""Seconds between progress lines when stderr is not a terminal."""


class Progress(Protocol):
    """What the simulation loops use of a progress bar (a subset of tqdm's interface)."""

    def update(self, n: float | None = 1) -> Any: ...

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> Any: ...

    def __enter__(self) -> Any: ...

    def __exit__(self, kind: Any, value: Any, tb: Any, /) -> Any: ...


def in_notebook() -> bool:
    """Whether we run in a Jupyter kernel (where tqdm draws a widget bar)."""
    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    return get is not None and type(get()).__name__ == "ZMQInteractiveShell"


def progress_bar(
    *, total: int, unit: str, progress: bool | None = None, desc: str | None = None
) -> Progress:
    """A progress display for ``total`` steps of ``unit``.

    ``progress=False``: none. ``True``: a tqdm bar. ``None`` (the default): a bar on an
    interactive terminal and in notebooks (tqdm's notebook widget when ipywidgets is
    installed), and elsewhere — output piped or redirected — a line on stderr every
    :data:`PIPED_EVERY` seconds with the share done and a rough time left.
    """
    if progress is False:
        return plain_tqdm(total=total, disable=True)
    if progress is None and not (in_notebook() or _isatty(sys.stderr)):
        return ProgressLines(total, unit, desc=desc)
    return _bar()(total=total, unit=unit, desc=desc, leave=False, dynamic_ncols=True)


def _bar() -> Any:
    """tqdm's notebook widget in a kernel with ipywidgets; its text bar otherwise (tqdm.auto
    would warn "IProgress not found" in a kernel without ipywidgets, on every import)."""
    if in_notebook() and importlib.util.find_spec("ipywidgets") is not None:
        from tqdm.notebook import tqdm as widget_tqdm

        return widget_tqdm
    return plain_tqdm


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


class ProgressLines:
    """Progress as occasional plain lines on stderr (for logs and pipes)."""

    def __init__(
        self, total: int, unit: str, *, desc: str | None = None, every: float | None = None
    ) -> None:
        self.total = total
        self.unit = unit
        self.desc = desc or "ceasefire"
        self.every = PIPED_EVERY if every is None else every
        self.done = 0
        self.postfix = ""
        self.started = time.monotonic()
        self.last = self.started

    def update(self, n: float | None = 1) -> None:
        self.done += int(n or 0)
        now = time.monotonic()
        if now - self.last >= self.every and self.done < self.total:
            self.last = now
            print(self.line(now - self.started), file=sys.stderr, flush=True)

    def line(self, elapsed: float) -> str:
        share = self.done / self.total if self.total else 1.0
        left = elapsed * (1 - share) / share if share > 0 else float("nan")
        text = (
            f"{self.desc}: {self.done:,}/{self.total:,} {self.unit}s ({share:.0%}), "
            f"{_duration(elapsed)} elapsed, about {_duration(left)} left"
        )
        return f"{text} ({self.postfix})" if self.postfix else text

    def set_postfix_str(self, s: str = "", refresh: bool = True) -> None:
        self.postfix = s

    def close(self) -> None:
        pass

    def __enter__(self) -> ProgressLines:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _duration(seconds: float) -> str:
    if seconds != seconds:  # nan: nothing done yet
        return "?"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


__all__ = ["PIPED_EVERY", "Progress", "ProgressLines", "in_notebook", "progress_bar"]
