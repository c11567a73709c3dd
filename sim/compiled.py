"""The on-disk cache of compiled code, tied to the source of everything it was compiled from.

numba caches a compiled function beside its module and reuses it while *that module's* file
is unchanged (its modification time and size). A function that calls compiled functions of
other modules is compiled with their code inlined, so after a change to one of those modules
(a rule in :mod:`sim.engines.rules`, the generator in :mod:`sim.streams`) the cache would
still serve machine code built from the old rules: the fast engine would silently disagree
with the SimPy engine, which calls the rules themselves. This happens with any checkout that
touches one file and not the other (an upgrade by pip rewrites every file and is safe).

:func:`tie` replaces the stamp each cache checks by a hash of the *contents* of every module
the compiled code comes from: a change to any of them recompiles all, and returning to a
version already compiled reuses its cache.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

from .console import raised_in


def cache_problem(exc: BaseException) -> str | None:
    """What to tell the user when ``exc`` came from numba reading or writing its disk cache
    (a full disk, a file-size limit, a damaged cache file); None for any other error."""
    if not raised_in(exc, "numba", "caching"):
        return None
    reason = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    folder = os.environ.get("NUMBA_CACHE_DIR") or "the __pycache__ folders of the sim package"
    return (
        f"the engine's compiled-code cache cannot be used ({reason}): free some disk space, "
        f"delete the cache ({folder}) if it is damaged, or set NUMBA_CACHE_DIR to a writable "
        "folder"
    )


def source_stamp(modules: Iterable[ModuleType]) -> str:
    """A hash of the source files of ``modules`` (in the order given)."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update(Path(str(module.__file__)).read_bytes())
    return digest.hexdigest()


def dispatchers(module: ModuleType) -> list[Any]:
    """The compiled functions defined in ``module`` that cache their code on disk."""
    return [
        f
        for f in vars(module).values()
        if getattr(f, "_cache", None) is not None
        and getattr(getattr(f, "py_func", None), "__module__", None) == module.__name__
    ]


def tie(module: ModuleType, sources: Iterable[ModuleType]) -> str:
    """Make the disk cache of every compiled function of ``module`` depend on the source of
    ``sources`` (the modules whose compiled code or constants it is built from, itself
    included); the stamp. Call it at the end of ``module``, before any function is called."""
    stamp = source_stamp(sources)
    for f in dispatchers(module):
        cache_file = getattr(f._cache, "_cache_file", None)
        if cache_file is None or not hasattr(cache_file, "_source_stamp"):
            # a numba whose cache is laid out otherwise: stay correct by not reusing it
            f._cache.disable()
            continue
        cache_file._source_stamp = stamp
    return stamp
