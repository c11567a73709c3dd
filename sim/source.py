"""Reading scenario files: safe YAML with positions, duplicate-key checks and ``extends``.

This is the only module that touches YAML. It returns plain data (dicts, lists, scalars)
plus a table mapping each key path to the :class:`~sim.errors.Location` it was written at,
so that validation errors can name the file, line and column of the offending key.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .errors import Location, ScenarioError

KeyPath = tuple[str | int, ...]
Positions = dict[KeyPath, Location]

_MAX_NODES = 200_000  # guards against alias ("billion laughs") expansion
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
Pair = tuple[yaml.Node, yaml.Node]


class ScenarioLoader(yaml.SafeLoader):
    """YAML's safe loader, reading ``1e-3`` as a number as YAML 1.2 does (YAML 1.1 needs a
    dot and a signed exponent, ``1.0e-3``, and would read ``1e-3`` as text)."""


ScenarioLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def load_value(text: str) -> Any:
    """One value written on the command line (``--set key=VALUE``), read as scenario YAML."""
    return yaml.load(text, Loader=ScenarioLoader)


@dataclass
class Source:
    """Raw scenario data with the location of every key path."""

    data: dict[str, Any]
    positions: Positions = field(default_factory=dict)
    files: tuple[Path, ...] = ()

    def locate(self, path: KeyPath) -> Location | None:
        """The location of ``path`` or of its nearest ancestor that has one."""
        for n in range(len(path), -1, -1):
            loc = self.positions.get(tuple(path[:n]))
            if loc is not None:
                return loc
        return None


def format_path(path: KeyPath) -> str:
    """``('parties', 'gov', 'violation_prob', 2)`` -> ``parties.gov.violation_prob.2``."""
    return ".".join(str(p) for p in path)


def _loc(file: str, mark: yaml.Mark | None) -> Location:
    if mark is None:
        return Location(file)
    return Location(file, mark.line + 1, mark.column + 1)


class _Walker:
    """Turns a composed YAML node tree into plain data, recording positions."""

    def __init__(self, loader: yaml.SafeLoader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.positions: Positions = {}
        self.count = 0

    def _key(self, key_node: yaml.Node, path: KeyPath) -> str:
        key = self.loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise ScenarioError(
                f"keys must be text, got {key!r} (quote it)",
                location=_loc(self.file, key_node.start_mark),
                key=format_path(path),
            )
        return key

    def _pairs(self, node: yaml.MappingNode) -> tuple[list[Pair], list[Pair]]:
        """The (merged, explicit) key/value pairs of a mapping; ``<<`` merge keys resolved.

        Explicit keys win over merged ones (YAML merge-key rules)."""
        merged: list[Pair] = []
        explicit: list[Pair] = []
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE:
                explicit.append((key_node, value_node))
                continue
            sources = (
                value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            )
            for src in sources:
                if not isinstance(src, yaml.MappingNode):
                    raise ScenarioError(
                        "'<<' merges a mapping or a list of mappings",
                        location=_loc(self.file, src.start_mark),
                    )
                inner_merged, inner_explicit = self._pairs(src)
                merged += inner_explicit + inner_merged
        return merged, explicit

    def walk(self, node: yaml.Node, path: KeyPath) -> Any:
        self.count += 1
        if self.count > _MAX_NODES:
            raise ScenarioError(
                "document too large (too many nodes or aliases)",
                location=_loc(self.file, node.start_mark),
                key=format_path(path),
            )
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            expected = _MAP if isinstance(node, yaml.MappingNode) else _SEQ
            if node.tag != expected:
                raise ScenarioError(
                    f"unsupported YAML tag '{node.tag}' (a scenario is plain data)",
                    location=_loc(self.file, node.start_mark),
                    key=format_path(path),
                )
        if isinstance(node, yaml.MappingNode):
            merged, explicit = self._pairs(node)
            out: dict[str, Any] = {}
            seen: set[str] = set()
            for from_merge, pairs in ((True, merged), (False, explicit)):
                for key_node, value_node in pairs:
                    key = self._key(key_node, path)
                    if from_merge and key in out:
                        continue  # the first merged mapping wins
                    if not from_merge and key in seen:
                        raise ScenarioError(
                            "duplicate key",
                            location=_loc(self.file, key_node.start_mark),
                            key=format_path((*path, key)),
                        )
                    seen.update(() if from_merge else (key,))
                    at = (*path, key)
                    self.positions[at] = _loc(self.file, key_node.start_mark)
                    out[key] = self.walk(value_node, at)
            return out
        if isinstance(node, yaml.SequenceNode):
            items = []
            for i, item in enumerate(node.value):
                at = (*path, i)
                self.positions[at] = _loc(self.file, item.start_mark)
                items.append(self.walk(item, at))
            return items
        return self.loader.construct_object(node, deep=True)


def parse_yaml(text: str, file: str) -> tuple[Any, Positions]:
    """Safely parse one YAML document; return the data and its key positions."""
    try:
        loader = ScenarioLoader(text)
    except yaml.reader.ReaderError as exc:  # a control character in the text
        raise ScenarioError(f"invalid YAML: {exc.reason}", location=Location(file)) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        walker = _Walker(loader, file)
        walker.positions[()] = _loc(file, node.start_mark)
        return walker.walk(node, ()), walker.positions
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise ScenarioError(f"invalid YAML: {problem}", location=_loc(file, mark)) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"invalid YAML: {exc}", location=Location(file)) from None
    finally:
        loader.dispose()


def deep_merge(
    base: Mapping[str, Any], over: Mapping[str, Any], base_pos: Positions, over_pos: Positions
) -> tuple[dict[str, Any], Positions]:
    """Merge ``over`` into ``base``: mappings merge, everything else replaces."""
    positions = dict(base_pos)

    def merge(b: Mapping[str, Any], o: Mapping[str, Any], path: KeyPath) -> dict[str, Any]:
        out = dict(b)
        for key, value in o.items():
            sub = (*path, key)
            if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
                out[key] = merge(out[key], value, sub)
            else:
                for p in [p for p in positions if p[: len(sub)] == sub]:
                    del positions[p]
                out[key] = value
            positions.update({p: loc for p, loc in over_pos.items() if p[: len(sub)] == sub})
        return out

    return merge(base, over, ()), positions


def display_path(path: Path) -> str:
    """A path as users should read it: relative to the working directory when inside it."""
    path = Path(os.path.normpath(path.absolute()))
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def read_source(path: str | Path, _chain: tuple[Path, ...] = ()) -> Source:
    """Read a scenario file, following ``extends`` (relative to the file) with deep merge."""
    path = Path(path)
    name = display_path(path)
    resolved = path.resolve()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("no such file", location=Location(name)) from None
    except IsADirectoryError:
        raise ScenarioError(
            "is a directory, not a scenario file", location=Location(name)
        ) from None
    except UnicodeDecodeError:
        raise ScenarioError("not UTF-8 text", location=Location(name)) from None
    except OSError as exc:
        raise ScenarioError(f"cannot read: {exc.strerror}", location=Location(name)) from None
    data, positions = parse_yaml(text, name)
    if data is None:
        raise ScenarioError("empty scenario file", location=Location(name))
    if not isinstance(data, dict):
        raise ScenarioError(
            "a scenario must be a mapping of keys to values",
            location=positions.get((), Location(name)),
        )
    chain = (*_chain, resolved)
    if "extends" not in data:
        return Source(data, positions, chain)
    parent_ref = data.pop("extends")
    ext_loc = positions.pop(("extends",))
    if not isinstance(parent_ref, str) or not parent_ref.strip():
        raise ScenarioError("must be a file path", location=ext_loc, key="extends")
    parent_path = path.parent / parent_ref
    if not parent_path.exists():
        raise ScenarioError(f"no such file: {parent_path}", location=ext_loc, key="extends")
    if parent_path.resolve() in chain:
        cycle = " -> ".join(p.name for p in (*chain, parent_path.resolve()))
        raise ScenarioError(f"'extends' cycle: {cycle}", location=ext_loc, key="extends")
    parent = read_source(parent_path, chain)
    merged, merged_pos = deep_merge(parent.data, data, parent.positions, positions)
    merged_pos[()] = positions[()]
    return Source(merged, merged_pos, (*parent.files, resolved))
