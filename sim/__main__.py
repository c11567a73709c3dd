"""``python -m sim`` is the ``ceasefire`` command."""

from .console import entry

entry()
