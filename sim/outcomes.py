"""The four outcome codes of a run, once: one enum, everything else derives from it."""

from __future__ import annotations

from enum import IntEnum


class Outcome(IntEnum):
    """How a run ended. The values index every outcome array and table."""

    triggered = 0
    """The window (or every phase) held and the gate's conditions were met."""
    cancelled_collapse = 1
    """A party or guarantor walked away: its side's strain exceeded its tolerance."""
    cancelled_violence = 2
    """The window ended with too much strain in its last quiet days."""
    cancelled_access = 3
    """The window ended with too few convoys delivered."""


OUTCOMES: tuple[str, ...] = tuple(o.name for o in Outcome)
"""The outcome codes, in the order of :class:`Outcome`."""
