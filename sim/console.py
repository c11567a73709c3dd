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
from typing import Any, NoReturn

PROG = "ceasefire"
HANDLED = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Interrupted(KeyboardInterrupt):
    """The command was stopped by a signal (``signum``)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


_pending: int | None = None
"""The signal that stopped the command, once one has: the :class:`Interrupted` it raised can
be lost, when it lands in a callback whose exceptions are ignored (numba compiling the engine
calls back from C), so the command checks again at safe points (:func:`check`)."""


def _exit_now(signum: int, _frame: FrameType | None) -> None:
    """A second signal while the first one's cleanup runs: one line, and out at once."""
    with contextlib.suppress(OSError):
        os.write(2, f"{PROG}: interrupted again; stopped at once\n".encode())
    os._exit(128 + signum)


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    global _pending
    _pending = signum
    for s in HANDLED:
        signal.signal(s, _exit_now)
    raise Interrupted(signum)


def check() -> None:
    """Raise :class:`Interrupted` again if a signal came and its exception was lost."""
    if _pending is not None:
        raise Interrupted(_pending)


def _unraisable(info: Any) -> None:
    """Python prints an exception raised where it cannot propagate (a C callback) and goes
    on; an :class:`Interrupted` lost that way is not an error to show (:func:`check` raises it
    again), anything else is printed as usual."""
    if isinstance(info.exc_value, Interrupted):
        return
    sys.__unraisablehook__(info)


def install() -> None:
    """Turn SIGINT, SIGTERM and SIGHUP into :class:`Interrupted` (main thread only)."""
    sys.unraisablehook = _unraisable
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
    except Exception as exc:  # numba refusing its environment (NUMBA_NUM_THREADS=0, ...)
        if not raised_in(exc, f"{os.sep}numba{os.sep}"):
            raise
        print(f"{PROG}: error: numba cannot start: {exc} (check the NUMBA_* environment "
              "variables)", file=sys.stderr)  # fmt: skip
        raise SystemExit(2) from None


def entry() -> NoReturn:  # pragma: no cover - exercised through subprocesses in the tests
    """The ``ceasefire`` command."""
    try:
        install()
        from .cli import main

        code = main()
    except KeyboardInterrupt as exc:
        code = interrupted(exc)
    except Exception:
        if _pending is None:
            raise
        code = 1  # the signal's exception broke a library mid-step (numba compiling)
    if _pending is not None and 0 < code <= 128:  # an error that follows is the interruption's
        code = interrupted(Interrupted(_pending))
    if code > 128:  # interrupted: cleanup is done; skip the interpreter's teardown, which
        _flush()  # would wait for any thread a signal left stuck
        os._exit(code)
    sys.exit(code)


def raised_in(exc: BaseException, *parts: str) -> bool:
    """Whether ``exc`` passed through a file whose path holds every one of ``parts``."""
    tb = exc.__traceback__
    while tb is not None:
        if all(part in tb.tb_frame.f_code.co_filename for part in parts):
            return True
        tb = tb.tb_next
    return False


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()


__all__ = ["HANDLED", "Interrupted", "check", "entry", "install", "interrupted", "startup"]
