"""Result folders: written whole or not at all, and never over an existing one."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from .errors import UsageError


def refuse_existing(path: Path) -> None:
    if path.exists():
        raise UsageError(f"{path}: already exists; results are never overwritten")


@contextmanager
def new_folder(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; on success rename it to ``path``.

    On any error (or Ctrl-C) the temporary folder is removed, so an interrupted write
    leaves nothing half-written; an existing ``path`` is never touched.
    """
    final = Path(path)
    refuse_existing(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = final.parent / f".{final.name}.partial-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
        refuse_existing(final)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def default_folder(*parts: str) -> Path:
    """``results/<parts...>/<timestamp>`` (numbered if that exists already)."""
    base = Path("results", *parts, datetime.now().strftime("%Y%m%d-%H%M%S"))
    out, n = base, 1
    while out.exists():
        n += 1
        out = base.with_name(f"{base.name}-{n}")
    return out


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
