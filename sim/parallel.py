"""Work in worker processes, results in order: the one place that manages a process pool.

At most ``2 * workers`` tasks are in flight, so memory stays bounded however many tasks there
are; Ctrl-C stops the workers at once (they ignore it and leave it to the parent, so the user
sees one message, not a traceback per worker); a worker that dies is reported clearly.
"""

from __future__ import annotations

import itertools
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from .errors import WorkerError

T = TypeVar("T")


def _quiet_worker() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def ordered(fn: Callable[..., T], tasks: Iterable[tuple[Any, ...]], workers: int) -> Iterator[T]:
    """``fn(*task)`` for every task, computed in ``workers`` processes, yielded in order."""
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_quiet_worker)
    pending: deque[Future[T]] = deque()
    todo = iter(tasks)
    try:
        for task in itertools.islice(todo, 2 * workers):
            pending.append(pool.submit(fn, *task))
        while pending:
            result = pending.popleft().result()
            for task in itertools.islice(todo, 1):
                pending.append(pool.submit(fn, *task))
            yield result
    except BrokenProcessPool:
        raise WorkerError(
            "a worker process died (killed, or out of memory?); rerun with --workers 1 to see "
            "the cause"
        ) from None
    except BaseException:
        _stop(pool)
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel queued work and end the workers now (Ctrl-C, or an error in the parent)."""
    terminate = getattr(pool, "terminate_workers", None)  # Python ≥ 3.14
    if terminate is not None:
        terminate()
        return
    # End the workers first, then let the pool's manager thread see them gone and wind down
    # (shutting down without waiting leaves that thread racing the interpreter's exit).
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()
    pool.shutdown(wait=True, cancel_futures=True)
