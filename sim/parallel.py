"""Work in worker processes, results in order: the one place that manages a process pool.

At most ``2 * workers`` tasks are in flight, so memory stays bounded however many tasks there
are; Ctrl-C, SIGTERM and SIGHUP stop the workers at once (they ignore Ctrl-C and leave it to
the parent, so the user sees one message, not a traceback per worker); workers die with their
parent even when it is killed outright; a worker that dies is reported clearly.
"""

from __future__ import annotations

import contextlib
import ctypes
import itertools
import os
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from .errors import WorkerError

T = TypeVar("T")


PARENT_POLL_SECONDS = 0.5
"""How often a worker checks that the process that started it is still alive."""


def _worker_init(parent: int) -> None:
    """Run in each worker: leave Ctrl-C to the parent, die by default on SIGTERM/SIGHUP (the
    parent's handlers are inherited through fork), and never outlive the parent."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for name in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_DFL)
    _die_with_parent(parent)


def _die_with_parent(parent: int) -> None:
    """End this worker when ``parent`` goes, even by ``kill -9``: on Linux the kernel sends
    SIGKILL (``PR_SET_PDEATHSIG``); everywhere a daemon thread polls the parent."""
    direct = os.getppid() == parent  # not so under the forkserver start method
    if direct and sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL, 0, 0, 0)  # PR_SET_PDEATHSIG = 1

    def gone() -> bool:
        if direct:
            return os.getppid() != parent
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            return True
        except OSError:
            return False
        return False

    if gone():  # the parent died before the lines above took effect
        os._exit(1)

    def watch() -> None:
        while not gone():
            time.sleep(PARENT_POLL_SECONDS)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def ordered(fn: Callable[..., T], tasks: Iterable[tuple[Any, ...]], workers: int) -> Iterator[T]:
    """``fn(*task)`` for every task, computed in ``workers`` processes, yielded in order."""
    pool = ProcessPoolExecutor(
        max_workers=workers, initializer=_worker_init, initargs=(os.getpid(),)
    )
    pending: deque[Future[T]] = deque()
    todo = iter(tasks)
    stopped = False
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
        stopped = True
        _stop(pool)
        raise
    finally:
        if not stopped:
            pool.shutdown(wait=True, cancel_futures=True)


STOP_SECONDS = 10.0
"""Longest wait for the pool's manager thread to wind down after the workers are ended."""


def _stop(pool: ProcessPoolExecutor) -> None:
    """Cancel queued work and end the workers now (a signal, or an error in the parent).

    Never waits without bound: the queue of tasks is told not to wait for its writer (which
    can block forever on a pipe no worker reads any more), and workers still alive after
    :data:`STOP_SECONDS` are killed.
    """
    terminate = getattr(pool, "terminate_workers", None)  # Python ≥ 3.14
    if terminate is not None:
        terminate()
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    call_queue = getattr(pool, "_call_queue", None)
    if call_queue is not None:
        call_queue.cancel_join_thread()
    for process in processes:
        process.terminate()
    pool.shutdown(wait=False, cancel_futures=True)
    manager = getattr(pool, "_executor_manager_thread", None)
    if manager is not None:
        manager.join(timeout=STOP_SECONDS)
    for process in processes:
        if process.is_alive():
            process.kill()
            process.join(timeout=STOP_SECONDS)
