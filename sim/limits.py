"""The limits that keep every command bounded in time and memory, in one place.

Each is a module-level constant read when it is used, so tests can lower it
(``monkeypatch.setattr(limits, "MAX_FILE_BYTES", 100)``). The README lists them.
"""

from __future__ import annotations

import os

MAX_FILE_BYTES = 1 << 20
"""Largest scenario file read (1 MiB); a scenario is a few kilobytes."""

MAX_DEPTH = 64
"""Deepest nesting of mappings and lists in a scenario file (a scenario needs about 6)."""

MAX_EXTENDS = 32
"""Longest chain of ``extends`` (a file, its parent, the parent's parent, ...)."""

MAX_NAME_CHARS = 64
"""Longest name of a scenario, party, side, spoiler, guarantor or phase."""

MAX_TEXT_CHARS = 300
"""Longest title or label (descriptions and notes are limited only by the file size)."""

MAX_WINDOW_DAYS = 3650
"""Longest window (ten years)."""

MAX_RUNS = 10**12
"""Most runs of one Monte Carlo (with ``--summary-only``; per-run rows are limited by memory)."""

MAX_EVENTS = 10**7
"""Largest ``monte_carlo.max_events`` (the per-run cap on hostile events)."""

MAX_RATE = 1e6
"""Largest rate (events per day) and retaliation boost: larger is not a ceasefire."""

MAX_HALF_LIFE_HOURS = 1e6
"""Longest ``retaliation.half_life_hours`` (about a century)."""

MAX_DATA_FILE_BYTES = 128 << 20
"""Largest events CSV or ACLED/UCDP export read by ``fit`` and ``events`` (128 MiB: a
multi-year country export is a few tens)."""

MAX_LONG_TEXT_CHARS = 10_000
"""Longest free text of a scenario: a description, a source's URL or reference."""

MAX_RESULT_FILE_BYTES = 64 << 20
"""Largest ``summary.json`` of a result folder read by ``compare`` (64 MiB)."""

MAX_JSON_DEPTH = 64
"""Deepest nesting of lists and objects in a result folder's JSON."""

ROW_MEMORY_BUDGET = 4 << 30
"""Most memory (bytes) per-run rows may take (4 GiB, or half the machine's memory if less)."""

MAX_LABEL_CHARS = 60
"""Longest label or title drawn in a figure (longer ones end with an ellipsis)."""

MAX_FIGURE_ACTORS = 12
"""Most parties drawn one by one in a figure; the rest are summed as "others"."""


WORKERS_PER_CORE = 4
"""Most worker processes per CPU core (at least 8 in all): each is a full Python process."""


def max_workers() -> int:
    """The most ``--workers`` this machine accepts."""
    return max(8, WORKERS_PER_CORE * (os.cpu_count() or 1))


def memory_budget() -> int:
    """:data:`ROW_MEMORY_BUDGET`, or half the physical memory when that is smaller."""
    try:
        physical = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        return ROW_MEMORY_BUDGET
    return min(ROW_MEMORY_BUDGET, physical // 2) if physical > 0 else ROW_MEMORY_BUDGET
