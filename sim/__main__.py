"""``python -m sim`` is the ``ceasefire`` command."""

from .cli import entry

entry()
