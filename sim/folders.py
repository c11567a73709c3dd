"""Result folders: written whole or not at all, and never over an existing one.

- :func:`check_output` finds, before anything is simulated, every reason saving to a path
  would fail (it exists, a dangling link, a file where a folder is needed, no permission, a
  read-only disk), so a long run never ends in a save error it could have been told first.
- :func:`default_folder` names a new folder ``results/.../<timestamp>-<random>``: unique
  without the user's help, even for runs started in the same second.
- :func:`new_folder` writes into a hidden temporary folder beside the target and renames it
  into place; any failure or signal removes the temporary folder (and any parent folder it
  created). The final rename never replaces anything. A temporary folder left by a process
  that was killed outright (``kill -9``) is removed by a later save beside it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import secrets
import shutil
import signal
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from . import console
from .errors import SaveError, UsageError, printable

_PARTIAL = re.compile(r"^\..*\.ceasefire-partial-(?P<pid>\d+)(?:\.[A-Za-z0-9]+)?$")
MARKER = ".ceasefire-partial"
"""A file inside every temporary folder this tool writes (removed just before the folder is
renamed into place): only folders holding it are ever cleaned up, and ``compare`` refuses
them as unfinished."""


def partial_name(final: Path) -> str:
    """The temporary name beside ``final`` this process writes to."""
    return f".{final.name[:120]}.ceasefire-partial-{os.getpid()}"


def unfinished(folder: Path) -> bool:
    """Whether ``folder`` is a temporary folder this tool was still writing (its process
    may have been killed outright)."""
    return _PARTIAL.match(folder.name) is not None or (folder / MARKER).exists()


_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


def _show(path: Path) -> str:
    return printable(str(path))


def refuse_existing(path: Path) -> None:
    """Raise :class:`UsageError` when ``path`` exists (a dangling symbolic link counts)."""
    try:
        taken = os.path.lexists(path)
    except ValueError:  # a NUL character
        raise UsageError(f"{_show(path)}: not a valid path") from None
    if taken:
        what = " (a symbolic link to nothing)" if not os.path.exists(path) else ""
        raise UsageError(f"{_show(path)}: already exists{what}; results are never overwritten")


def check_output(path: str | Path) -> None:
    """Refuse now what would make writing the new folder (or file) ``path`` fail later.

    Checks that ``path`` does not exist (nor is a dangling symbolic link), that its nearest
    existing ancestor is a folder (not a file, not a dangling link) where this process may
    create folders (a probe folder is made and removed at once), and that the names are not
    too long. Raises :class:`UsageError` with one line.
    """
    path = Path(path)
    refuse_existing(path)
    ancestor = path.absolute().parent
    missing = [path.name]
    while not os.path.lexists(ancestor):
        missing.append(ancestor.name)
        ancestor = ancestor.parent
    if ancestor.is_symlink() and not ancestor.exists():
        raise UsageError(f"{_show(ancestor)}: a symbolic link to nothing; cannot write {path}")
    if not ancestor.is_dir():
        raise UsageError(f"{_show(ancestor)}: not a folder, so {_show(path)} cannot be made in it")
    try:
        limit = os.pathconf(ancestor, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):
        limit = 255
    for name in missing:
        if len(name.encode("utf-8", "surrogateescape")) > limit:
            raise UsageError(f"{_show(path)}: a name in it is longer than {limit} bytes")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise UsageError(f"{_show(ancestor)}: no permission to write here")
    try:
        os.rmdir(tempfile.mkdtemp(prefix=".ceasefire-probe-", dir=ancestor))
    except OSError as exc:
        raise UsageError(f"{_show(ancestor)}: cannot write here ({_reason(exc)})") from None


def _reason(exc: OSError) -> str:
    return (exc.strerror or str(exc)).lower() if exc.errno != errno.ENOSPC else "disk full"


def default_folder(*parts: str) -> Path:
    """``results/<parts...>/<timestamp>-<6 random hex digits>``, not yet taken.

    The random suffix makes runs started in the same second (even on different machines
    sharing a disk) choose different names; :func:`new_folder` never replaces a folder even
    in the one-in-16-million case that two choose the same.
    """
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    while True:
        out = Path("results", *parts, f"{stamp}-{secrets.token_hex(3)}")
        if not os.path.lexists(out):
            return out


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # exists but not ours, or cannot tell: leave it alone
    return True


STALE_SECONDS = 900
"""A temporary folder untouched this long, whose process is gone, is stale. (The age guards
against another machine or container writing to the same disk: its process ids are not ours.)"""


def _last_touched(entry: os.DirEntry[str]) -> float:
    try:
        newest = entry.stat(follow_symlinks=False).st_mtime
        if entry.is_dir(follow_symlinks=False):
            with os.scandir(entry.path) as inside:
                for e in inside:
                    newest = max(newest, e.stat(follow_symlinks=False).st_mtime)
    except OSError:
        return time.time()
    return newest


def remove_stale_partials(folder: Path) -> list[Path]:
    """Remove the temporary ``.NAME.ceasefire-partial-PID`` folders (holding :data:`MARKER`)
    and files in ``folder`` whose process is gone (killed outright, so it could not clean up)
    and that nothing has touched for :data:`STALE_SECONDS`; return what was removed. Nothing
    else is ever removed: a user's own ``.x.partial-1`` is not this tool's."""
    removed: list[Path] = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        m = _PARTIAL.match(entry.name)
        if m is None or _alive(int(m["pid"])):
            continue
        if time.time() - _last_touched(entry) < STALE_SECONDS:
            continue
        path = Path(entry.path)
        if entry.is_dir(follow_symlinks=False):
            if not (path / MARKER).is_file():
                continue  # not a folder this tool was writing
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                path.unlink()
        removed.append(path)
    return removed


@contextmanager
def signals_held() -> Iterator[None]:
    """Hold Ctrl-C, SIGTERM and SIGHUP (delivered on leaving) around a step that must not be
    cut in half: the final rename, or the removal of a temporary folder."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _rename_new(src: Path, dst: Path) -> None:
    """Rename ``src`` to ``dst``, never replacing anything at ``dst``.

    ``dst`` is claimed with ``mkdir`` (atomic: of two processes, one fails), then ``src``
    replaces the empty folder just made (``rename`` replaces an empty folder atomically).
    """
    try:
        os.mkdir(dst)
    except FileExistsError:
        raise UsageError(f"{_show(dst)}: already exists; results are never overwritten") from None
    try:
        os.rename(src, dst)
    except BaseException:
        with contextlib.suppress(OSError):
            os.rmdir(dst)
        raise


@contextmanager
def new_folder(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success rename it to ``path``.

    On any error (a full disk, no permission), Ctrl-C, SIGTERM or SIGHUP the temporary
    folder and any parent folder made for it are removed, so an interrupted or failed write
    leaves nothing half-written; an existing ``path`` is never touched. Errors of the file
    system become one-line :class:`~sim.errors.SaveError`.
    """
    final = Path(path)
    console.check()  # a signal lost while compiling: nothing is saved
    refuse_existing(final)
    made: list[Path] = []
    try:
        _make_parents(final, made)
        remove_stale_partials(final.parent)
        tmp = final.parent / partial_name(final)
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        (tmp / MARKER).write_bytes(b"")
    except OSError as exc:
        _remove(None, made)
        raise SaveError(f"{_show(final)}: cannot write the results ({_reason(exc)})") from None
    try:
        yield tmp
        refuse_existing(final)
        with signals_held():
            (tmp / MARKER).unlink()
            _rename_new(tmp, final)
    except OSError as exc:
        _remove(tmp, made)
        raise SaveError(
            f"{_show(final)}: cannot write the results ({_reason(exc)}); nothing was kept"
        ) from None
    except BaseException:
        _remove(tmp, made)
        raise


def _make_parents(final: Path, made: list[Path]) -> None:
    """Make the missing parent folders of ``final``, outermost first, noting each in
    ``made`` as it is made (so a failure part-way removes exactly those)."""
    for parent in reversed([final.parent, *final.parent.parents]):
        if not os.path.lexists(parent):
            os.mkdir(parent)
            made.append(parent)


@contextmanager
def new_file(path: str | Path) -> Iterator[Path]:
    """Like :func:`new_folder`, for one file: yield a temporary path beside ``path``; on
    success link it to ``path`` (never replacing anything), then remove the temporary name."""
    final = Path(path)
    console.check()  # a signal lost while compiling: nothing is saved
    refuse_existing(final)
    made: list[Path] = []
    tmp = final.parent / f"{partial_name(final)}{final.suffix[:10]}"
    try:
        _make_parents(final, made)
        remove_stale_partials(final.parent)
        yield tmp
        with signals_held():
            os.link(tmp, final)  # fails if ``path`` appeared meanwhile: nothing is replaced
            tmp.unlink()
    except FileExistsError:
        _remove_file(tmp, made)
        raise UsageError(f"{_show(final)}: already exists; files are never overwritten") from None
    except OSError as exc:
        _remove_file(tmp, made)
        raise SaveError(
            f"{_show(final)}: cannot write ({_reason(exc)}); nothing was kept"
        ) from None
    except BaseException:
        _remove_file(tmp, made)
        raise


def _remove_file(tmp: Path, made: list[Path]) -> None:
    with signals_held():
        with contextlib.suppress(OSError):
            tmp.unlink()
        _remove(None, made)


def _remove(tmp: Path | None, made: list[Path]) -> None:
    with signals_held():
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        for parent in reversed(made):
            with contextlib.suppress(OSError):
                os.rmdir(parent)  # only if still empty


def write_json(path: Path, data: Any) -> None:
    """``data`` as UTF-8 JSON; text that cannot be UTF-8 (a file name with bytes that are not,
    read by Python as lone surrogates) is written as its JSON escape."""
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    path.write_bytes(text.encode("utf-8", "backslashreplace"))
