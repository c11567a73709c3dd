"""Reading scenario files: safe YAML with positions, duplicate-key checks and ``extends``.

This is the only module that touches YAML. It returns plain data (dicts, lists, scalars)
plus a table mapping each key path to the :class:`~sim.errors.Location` it was written at,
so that validation errors can name the file, line and column of the offending key.
"""

from __future__ import annotations

import difflib
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import limits
from .errors import Location, ScenarioError

KeyPath = tuple[str | int, ...]
Positions = dict[KeyPath, Location]

_MAX_NODES = 200_000  # guards against alias ("billion laughs") expansion
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
Pair = tuple[yaml.Node, yaml.Node]


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


class _TooDeep(Exception):
    def __init__(self, mark: Any) -> None:  # a PyYAML or libyaml mark
        self.mark = mark


_FLOAT_1_2 = re.compile(r"^[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9_]+)[eE][-+]?[0-9]+$")


class ScenarioLoader(yaml.SafeLoader):
    """YAML's safe loader, reading ``1e-3`` as a number as YAML 1.2 does (YAML 1.1 needs a
    dot and a signed exponent, ``1.0e-3``, and would read ``1e-3`` as text), and refusing to
    compose nesting deeper than :data:`limits.MAX_DEPTH` (PyYAML composes recursively: deep
    nesting would exhaust the stack)."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        self.depth += 1
        try:
            if self.depth > limits.MAX_DEPTH:
                raise _TooDeep(self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


ScenarioLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_1_2, list("-+0123456789."))


def load_value(text: str) -> Any:
    """One value written on the command line (``--set key=VALUE``), read as scenario YAML
    (with the same limits as a file; raises :class:`~sim.errors.ScenarioError`)."""
    return parse_yaml(text, "--set")[0]


def _too_deep() -> str:
    return f"nested too deeply (more than {limits.MAX_DEPTH} levels, or a recursive alias)"


class _Walker:
    """Turns a composed YAML node tree into plain data, recording positions."""

    def __init__(self, loader: yaml.SafeLoader, file: str) -> None:
        self.loader = loader
        self.file = file
        self.positions: Positions = {}
        self.count = 0
        self.chars = 0
        self.open: set[int] = set()  # nodes being walked: an alias to one is a cycle

    def _tick(self, node: yaml.Node, path: KeyPath) -> None:
        self.count += 1
        if self.count > _MAX_NODES:
            raise ScenarioError(
                "document too large (too many nodes or aliases)",
                location=_loc(self.file, node.start_mark),
                key=format_path(path),
            )
        if isinstance(node, yaml.ScalarNode):
            self.chars += len(node.value)
            if self.chars > limits.MAX_FILE_BYTES:  # aliases of long strings
                raise ScenarioError(
                    f"document too large (more than {_size(limits.MAX_FILE_BYTES)} of text once "
                    "its aliases are expanded)",
                    location=_loc(self.file, node.start_mark),
                    key=format_path(path),
                )

    def _construct(self, node: yaml.Node, path: KeyPath) -> Any:
        try:
            return self.loader.construct_object(node, deep=True)
        except (ValueError, OverflowError) as exc:  # 2016-02-30, +99:00, 10**5000
            why = "a UTC offset is within ±24:00" if "offset" in str(exc) else str(exc)[:200]
            raise ScenarioError(
                f"invalid value {node.value!r}"[:120] + f" ({why})",
                location=_loc(self.file, node.start_mark),
                key=format_path(path),
            ) from None

    def _key(self, key_node: yaml.Node, path: KeyPath) -> str:
        if not isinstance(key_node, yaml.ScalarNode):
            raise ScenarioError(
                "keys must be text, got a mapping or list",
                location=_loc(self.file, key_node.start_mark),
                key=format_path(path),
            )
        key = self._construct(key_node, path)
        if not isinstance(key, str) and path == ("phases",):  # meant: change phase N
            raise ScenarioError(
                "is a list of phases, not a mapping by number: a variant's phases replace the "
                "inherited ones whole, so list them all (one value of one phase: "
                "--set phases.N.KEY=value)",
                location=_loc(self.file, key_node.start_mark),
                key=format_path(path),
            )
        if not isinstance(key, str):
            raise ScenarioError(
                f"keys must be text, got {key!r} (quote it)",
                location=_loc(self.file, key_node.start_mark),
                key=format_path(path),
            )
        return key

    def _pairs(
        self, node: yaml.MappingNode, path: KeyPath, merging: tuple[int, ...] = ()
    ) -> tuple[list[Pair], list[Pair]]:
        """The (merged, explicit) key/value pairs of a mapping; ``<<`` merge keys resolved.

        Explicit keys win over merged ones (YAML merge-key rules)."""
        if id(node) in merging or len(merging) > limits.MAX_DEPTH:
            raise ScenarioError(
                "'<<' merges a mapping into itself (a recursive alias)"
                if id(node) in merging
                else _too_deep(),
                location=_loc(self.file, node.start_mark),
                key=format_path(path),
            )
        merged: list[Pair] = []
        explicit: list[Pair] = []
        for key_node, value_node in node.value:
            self._tick(key_node, path)
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
                inner_merged, inner_explicit = self._pairs(src, path, (*merging, id(node)))
                merged += inner_explicit + inner_merged
        return merged, explicit

    def walk(self, node: yaml.Node, path: KeyPath) -> Any:
        self._tick(node, path)
        if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            return self._construct(node, path)
        if id(node) in self.open or len(path) > limits.MAX_DEPTH:
            raise ScenarioError(
                "an alias refers to a mapping or list that contains it (a recursive alias)"
                if id(node) in self.open
                else _too_deep(),
                location=_loc(self.file, node.start_mark),
                key=format_path(path),
            )
        self.open.add(id(node))
        try:
            return self._walk_collection(node, path)
        finally:
            self.open.discard(id(node))

    def _walk_collection(self, node: yaml.Node, path: KeyPath) -> Any:
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            expected = _MAP if isinstance(node, yaml.MappingNode) else _SEQ
            if node.tag != expected:
                raise ScenarioError(
                    f"unsupported YAML tag '{node.tag}' (a scenario is plain data)",
                    location=_loc(self.file, node.start_mark),
                    key=format_path(path),
                )
        if isinstance(node, yaml.MappingNode):
            merged, explicit = self._pairs(node, path)
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
        return self._construct(node, path)  # pragma: no cover - collections only


def parse_yaml(text: str, file: str) -> tuple[Any, Positions]:
    """Safely parse one YAML document; return the data and its key positions."""
    try:
        if _CLoader is not None:
            _check_depth(text)
        loader = ScenarioLoader(text) if _CLoader is None else _CLoader(text)
    except _TooDeep as exc:
        raise ScenarioError(_too_deep(), location=_loc(file, exc.mark)) from None
    except yaml.reader.ReaderError as exc:  # a control character such as NUL
        raise _reader_error(exc, text, file) from None
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, file, text) from None
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        walker = _Walker(loader, file)
        walker.positions[()] = _loc(file, node.start_mark)
        return walker.walk(node, ()), walker.positions
    except _TooDeep as exc:
        raise ScenarioError(_too_deep(), location=_loc(file, exc.mark)) from None
    except yaml.reader.ReaderError as exc:
        raise _reader_error(exc, text, file) from None
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, file, text) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"invalid YAML: {exc}", location=Location(file)) from None
    finally:
        loader.dispose()


def _syntax_error(exc: yaml.MarkedYAMLError, file: str, text: str) -> ScenarioError:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    if "nesting depth" in problem:  # PyYAML ≥ 6.0.4 has a depth limit of its own
        return ScenarioError(_too_deep(), location=_loc(file, mark))
    if mark is not None and _char_at(text, mark.line, mark.column) == "\t":
        problem += ": a tab (YAML is indented with spaces, never tabs)"
    return ScenarioError(f"invalid YAML: {problem}", location=_loc(file, mark))


def _char_at(text: str, line: int, column: int) -> str:
    """The character at 0-based ``line`` and ``column`` of ``text`` ("" past its end)."""
    lines = text.splitlines()
    return lines[line][column] if line < len(lines) and column < len(lines[line]) else ""


class _FastLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """:class:`ScenarioLoader` on libyaml's parser (depth is checked on its events first)."""


_FastLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT_1_2, list("-+0123456789."))
_CLoader: type[yaml.SafeLoader] | None = (
    _FastLoader if getattr(yaml, "__with_libyaml__", False) else None
)
"""libyaml's parser when installed: about five times faster on large files (the size cap
keeps even the pure-Python parser within seconds)."""


def _check_depth(text: str) -> None:
    """Refuse nesting deeper than :data:`limits.MAX_DEPTH` from the event stream (iterative,
    so it cannot exhaust the stack), before libyaml composes the document recursively."""
    assert _CLoader is not None
    parser = _CLoader(text)
    depth = 0
    try:
        while (event := parser.get_event()) is not None:
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                depth += 1
                if depth > limits.MAX_DEPTH:
                    raise _TooDeep(event.start_mark)
            elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                depth -= 1
            elif isinstance(event, yaml.StreamEndEvent):
                break
    finally:
        parser.dispose()


def _reader_error(exc: yaml.reader.ReaderError, text: str, file: str) -> ScenarioError:
    """A character YAML does not allow (NUL, other control characters), at its position."""
    if _CLoader is not None:  # libyaml counts bytes of UTF-8
        before = text.encode("utf-8")[: exc.position].decode("utf-8", "ignore")
    else:
        before = text[: exc.position]
    line = before.count("\n") + 1
    column = len(before) - (before.rfind("\n") + 1) + 1
    char = exc.character
    shown = f"U+{char:04X}" if isinstance(char, int) else repr(char)
    return ScenarioError(
        f"invalid YAML: character {shown} is not allowed in a scenario file",
        location=Location(file, line, column),
    )


def deep_merge(
    base: Mapping[str, Any], over: Mapping[str, Any], base_pos: Positions, over_pos: Positions
) -> tuple[dict[str, Any], Positions]:
    """Merge ``over`` into ``base``: mappings merge, ``null`` removes (the key takes its
    default), everything else replaces — except that an uncertainty given with another kind
    of distribution (``dist``) replaces the inherited one whole (a triangular's ``mode``
    means nothing to a uniform that replaces it)."""
    positions = dict(base_pos)

    def merge(b: Mapping[str, Any], o: Mapping[str, Any], path: KeyPath) -> dict[str, Any]:
        out = dict(b)
        for key, value in o.items():
            sub = (*path, key)
            both = isinstance(value, Mapping) and isinstance(out.get(key), Mapping)
            other_kind = (
                both
                and path == ("uncertainties",)
                and value.get("dist", out[key].get("dist")) != out[key].get("dist")
            )
            if both and not other_kind:
                out[key] = merge(out[key], value, sub)
            else:  # replaced or removed: none of the parent's positions under it hold
                for p in [p for p in positions if p[: len(sub)] == sub]:
                    del positions[p]
                if value is None:
                    # null removes what the parent gave (if anything): the key takes its
                    # default (``humanitarian: null`` drops the parent's convoys); the null's
                    # own position is kept, so an error about what it removed can cite it
                    out.pop(key, None)
                    if sub in over_pos:
                        positions[sub] = over_pos[sub]
                    continue
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


class _Unreadable(Exception):
    """Why a file cannot be read as a scenario (worded to follow its name)."""


def closest(name: str, known: Any) -> str | None:
    """The one of ``known`` that a misspelt ``name`` most likely meant, or None."""
    close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1, cutoff=0.6)
    return close[0] if close else None


def _nearby(path: Path) -> str:
    """``; did you mean …?`` naming the YAML file of the same folder nearest to ``path``."""
    try:
        names = [
            p.name
            for p in path.parent.iterdir()
            if p.suffix in (".yaml", ".yml") and p.name != path.name  # not itself (a dead link)
        ]
    except OSError:
        return ""
    meant = closest(path.name, names)
    return f"; did you mean {display_path(path.parent / meant)}?" if meant else ""


def read_file(path: Path) -> str:
    """The text of a scenario file: a regular file of at most :data:`limits.MAX_FILE_BYTES`.

    Devices (``/dev/zero``), FIFOs, sockets and directories are refused before reading, and
    the size is capped before parsing, so no input can hang or exhaust memory here.
    """
    return read_bounded(
        path, limits.MAX_FILE_BYTES, "a scenario file", "a scenario is a few kilobytes"
    )


def read_input(path: str | Path, what: str, cap: int, typical: str, encoding: str = "utf-8") -> str:
    """The text of an input file other than a scenario (an events CSV, a mapping, a case's
    outcome), bounded as :func:`read_file` bounds scenarios; errors are one-line
    :class:`~sim.errors.ScenarioError` naming the file."""
    path = Path(path)
    try:
        return read_bounded(path, cap, what, typical, encoding)
    except _Unreadable as exc:
        raise ScenarioError(str(exc), location=Location(display_path(path))) from None


def read_bounded(
    path: Path, cap: int, what: str, typical: str, encoding: str = "utf-8"
) -> str:  # fmt: skip
    """A regular file's text, at most ``cap`` bytes; :class:`_Unreadable` says why not."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)  # non-blocking: opening a FIFO does not wait for a writer
    except FileNotFoundError:
        missing = "no such file"
        if os.path.islink(path):
            missing += " (a symbolic link to nothing)"
        raise _Unreadable(missing + _nearby(path)) from None
    except IsADirectoryError:
        raise _Unreadable(f"is a directory, not {what}") from None
    except OSError as exc:
        raise _Unreadable(f"cannot read: {exc.strerror or exc}") from None
    too_large = f"file too large ({typical}; at most {_size(cap)})"
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise _Unreadable(f"is a directory, not {what}")
        if not stat.S_ISREG(info.st_mode):
            raise _Unreadable(f"not a regular file (a device, FIFO or socket), not {what}")
        if info.st_size > cap:
            raise _Unreadable(too_large)
        chunks: list[bytes] = []
        size = 0
        while size <= cap:
            chunk = os.read(fd, cap + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise _Unreadable(f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if size > cap:
        raise _Unreadable(too_large)
    data = b"".join(chunks)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise _Unreadable(f"not UTF-8 text (line {line})") from None


def _size(n: int) -> str:
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n:,} bytes"


def read_source(
    path: str | Path, _chain: tuple[Path, ...] = (), _via: Location | None = None
) -> Source:
    """Read a scenario file, following ``extends`` (relative to the file) with deep merge."""
    path = Path(path)
    name = display_path(path)
    try:
        text = read_file(path)
    except _Unreadable as exc:
        if _via is not None:  # name the ``extends`` line of the file that points here
            raise ScenarioError(f"{name}: {exc}", location=_via, key="extends") from None
        raise ScenarioError(str(exc), location=Location(name)) from None
    resolved = path.resolve()
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
    if not isinstance(parent_ref, str) or not parent_ref.strip() or "\0" in parent_ref:
        raise ScenarioError("must be a file path", location=ext_loc, key="extends")
    parent_path = path.parent / parent_ref
    try:
        exists, parent_resolved = parent_path.exists(), parent_path.resolve()
    except (OSError, RuntimeError) as exc:  # a name too long, a symlink loop
        raise ScenarioError(
            f"cannot read {parent_ref!r}: {getattr(exc, 'strerror', None) or exc}",
            location=ext_loc,
            key="extends",
        ) from None
    if not exists:
        raise ScenarioError(f"no such file: {parent_path}", location=ext_loc, key="extends")
    if parent_resolved in chain:
        cycle = " -> ".join(p.name for p in (*chain, parent_resolved))
        raise ScenarioError(f"'extends' cycle: {cycle}", location=ext_loc, key="extends")
    if len(chain) >= limits.MAX_EXTENDS:
        raise ScenarioError(
            f"'extends' chain longer than {limits.MAX_EXTENDS} files",
            location=ext_loc,
            key="extends",
        )
    parent = read_source(parent_path, chain, ext_loc)
    merged, merged_pos = deep_merge(parent.data, data, parent.positions, positions)
    merged_pos[()] = positions[()]
    if not _chain and _text_size(merged) > limits.MAX_FILE_BYTES:  # the whole chain, once
        raise ScenarioError(
            f"with what it extends, the scenario holds more than {_size(limits.MAX_FILE_BYTES)} "
            "of text: its result folder's scenario.yaml could not be read back",
            location=Location(name),
        )
    return Source(merged, merged_pos, (*parent.files, resolved))


def _text_size(data: Any) -> int:
    """Characters of the keys and text values of ``data`` (plain data, bounded in size)."""
    if isinstance(data, dict):
        return sum(len(k) + _text_size(v) for k, v in data.items())
    if isinstance(data, list | tuple):
        return sum(_text_size(v) for v in data)
    return len(data) if isinstance(data, str) else 8
