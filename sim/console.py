"""The ``ceasefire`` console entry point: signals are handled before anything heavy loads.

Ctrl-C (SIGINT), SIGTERM (``kill``, ``timeout``) and SIGHUP (a closed terminal) all stop the
command the same way: the signal becomes :class:`Interrupted` (a ``KeyboardInterrupt``)
in the main thread, worker processes are ended, temporary folders are removed, and the
command exits with ``128 + signal number`` (130, 143, 129) after one line on stderr. A second
signal while that cleanup runs ends the process at once. This module imports only the
standard library, and the package installs the handling (:func:`startup`) before its own
slow imports, so even a signal during start-up gives that one line, not a traceback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from types import FrameType
from typing import NoReturn

PROG = "ceasefire"
HANDLED = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Interrupted(KeyboardInterrupt):
    """The command was stopped by a signal (``signum``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _exit_now(signum: int, _frame: FrameType | None) -> None:
    os._exit(128 + signum)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    for s in HANDLED:
        signal.signal(s, _exit_now)
    raise Interrupted(signum)


def install() -> None:
    """Turn SIGINT, SIGTERM and SIGHUP into :class:`Interrupted` (main thread only)."""
    for s in HANDLED:
        if signal.getsignal(s) is not signal.SIG_IGN:  # e.g. nohup: keep ignoring SIGHUP
            signal.signal(s, _interrupt)


def interrupted(exc: BaseException) -> int:
    """Say that the command was interrupted (one line); return its exit status."""
    signum = getattr(exc, "signum", signal.SIGINT)
    name = signal.Signals(signum).name if signum in signal.Signals._value2member_map_ else signum
    how = "" if signum == signal.SIGINT else f" by {name}"
    with contextlib.suppress(OSError, ValueError):
        print(f"{PROG}: interrupted{how}; nothing was written", file=sys.stderr)
    return 128 + int(signum)


def is_command() -> bool:
    """Whether this process is the ``ceasefire`` command (the console script, or
    ``python -m sim``, during whose package import ``sys.argv[0]`` is ``-m``)."""
    argv0 = sys.argv[0] if sys.argv else ""
    return argv0 == "-m" or os.path.basename(argv0) in ("ceasefire", "ceasefire.exe")


@contextlib.contextmanager
def startup() -> Iterator[None]:
    """Around the package's (slow) imports: when running as the command, install the signal
    handling first and turn an interrupt into one line and its exit status."""
    if not is_command():
        yield
        return
    try:
        install()
        yield
    except KeyboardInterrupt as exc:
        raise SystemExit(interrupted(exc)) from None


def entry() -> NoReturn:  # pragma: no cover - exercised through subprocesses in the tests
    """The ``ceasefire`` command."""
    try:
        install()
        from .cli import main

        code = main()
    except KeyboardInterrupt as exc:
        code = interrupted(exc)
    if code > 128:  # interrupted: cleanup is done; skip the interpreter's teardown, which
        _flush()  # would wait for any thread a signal left stuck
        os._exit(code)
    sys.exit(code)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


__all__ = ["HANDLED", "Interrupted", "entry", "install", "interrupted", "startup"]
