"""``report.html``: one self-contained page per result folder (figures embedded as base64 PNG,
inline CSS, no scripts, nothing fetched from the network) that can be mailed or archived.

It holds the scenario's title and description, the outcome table, every figure, the
assumptions table (every parameter with its key path, its value, where it was set and the
comment written beside it in the scenario file: its source or "judgement"), the scenario's
sources, and the command that reproduces the folder. All text is HTML-escaped.
"""

from __future__ import annotations

import base64
import contextlib
import html
import shlex
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from .results import Results
from .scenario import UNUSED_WITH_PHASES, Scenario
from .source import Source, display_path, read_source

_SKIP = ("name", "title", "description", "sources")
"""Top-level keys shown elsewhere in the report, not in the assumptions table."""
_QUIET_NULLS = {
    "violation_prob",
    "violation_rate",
    "attack_prob",
    "attack_rate",
    "label",
    "incident_target",
    "blamed_on",
    "targets",
    "humanitarian",
}
"""Keys whose null only means "not used" (an alternative was given): left out of the table."""
_NULL_MEANS = {
    "tolerance": "never walks away",
    "max_strain": "no violence condition",
    "quiet_days": "the whole window",
    "seed": "a fresh seed",
    "start": "no calendar dates",
}

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: #222; max-width: 1000px; margin: 2em auto; padding: 0 1.2em; line-height: 1.45; }
h1 { font-size: 1.55em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; padding-bottom: 0.2em; }
.meta { color: #555; font-size: 0.92em; }
table { border-collapse: collapse; font-size: 0.9em; margin: 0.8em 0; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3em 0.6em; text-align: left;
         vertical-align: top; }
th { background: #f2f2f2; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
code, pre { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 0.92em; }
pre { background: #f4f4f4; padding: 0.7em 1em; overflow-x: auto; white-space: pre-wrap; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; font-size: 0.9em; margin-top: 0.3em; }
td.where { color: #666; white-space: nowrap; font-size: 0.9em; }
td.basis { color: #333; font-size: 0.92em; }
.default { color: #888; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


# --------------------------------------------------------------------------- assumptions


def yaml_comment(line: str) -> str | None:
    """The comment at the end of a YAML line (``# ...`` outside quotes), if any."""
    quote = None
    i = 0
    while i < len(line):
        ch = line[i]
        if quote == '"':
            if ch == "\\":
                i += 1
            elif ch == '"':
                quote = None
        elif quote == "'":
            if ch == "'":
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[i + 1 :].strip() or None
        i += 1
    return None


class _Comments:
    """Comments beside (or, for nested keys, just above) each key of the scenario's files."""

    def __init__(self, source: Source | None) -> None:
        self.source = source
        self.lines: dict[str, list[str]] = {}
        if source is not None:
            for f in source.files:
                with contextlib.suppress(OSError):
                    text = Path(f).read_text(encoding="utf-8")
                    self.lines[display_path(Path(f))] = text.splitlines()
        self.original: Source | None = None
        if source is not None and source.files:
            try:
                self.original = read_source(source.files[0])
            except Exception:  # the file changed or vanished since: no provenance check
                self.original = None

    def where(self, path: tuple[str | int, ...], value: Any) -> tuple[str, str | None]:
        """``(where the value was set, the comment there)``."""
        if self.source is None:
            return "", None
        loc = self.source.positions.get(path)
        if loc is None:
            return "default", None
        if loc.file == "--set" or self._overridden(path, value):
            return "--set", self._file_value(path)
        lines = self.lines.get(loc.file)
        if not lines or not 0 < loc.line <= len(lines):
            return str(loc), None
        return f"{Path(loc.file).name}:{loc.line}", self._comment(lines, loc.line, loc.column)

    def _file_value(self, path: tuple[str | int, ...]) -> str | None:
        """What the file itself says of a key set on the command line, and where, with the
        file's note: the reader sees what the override replaced."""
        if self.original is None:
            return None
        found, node = self._in_file(path)
        if not found:
            return "not in the file"
        loc = self.original.positions.get(path)
        if loc is None or isinstance(node, Mapping):
            return None
        told = f"the file says {_format_value(path[-1], node)} ({Path(loc.file).name}:{loc.line})"
        lines = self.lines.get(loc.file)
        note = self._comment(lines, loc.line, loc.column) if lines else None
        return f"{told}: {note}" if note else told

    def _in_file(self, path: tuple[str | int, ...]) -> tuple[bool, Any]:
        """Whether the scenario file itself holds ``path``, and its value there."""
        node: Any = self.original.data if self.original is not None else None
        for key in path:
            try:
                node = node[key]
            except (KeyError, IndexError, TypeError):
                return False, None
        return True, node

    @staticmethod
    def _comment(lines: list[str], line: int, column: int) -> str | None:
        """The comment beside line ``line``, or for a nested key the comment lines just above
        it, indented at least as far."""
        if not 0 < line <= len(lines):
            return None
        comment = yaml_comment(lines[line - 1])
        if comment is None and column > 1:
            above = []
            k = line - 2
            while k >= 0 and lines[k].strip().startswith("#"):
                text = lines[k]
                if len(text) - len(text.lstrip()) < column - 1:
                    break
                above.append(text.strip().lstrip("#").strip())
                k -= 1
            comment = " ".join(reversed(above)) or None
        return comment

    def _overridden(self, path: tuple[str | int, ...], value: Any) -> bool:
        """True when the value differs from the file's (an override such as ``--set``)."""
        if self.original is None:
            return False
        found, node = self._in_file(path)
        if not found:
            return True
        if any(isinstance(v, Mapping) for v in (*_items(node), *_items(value))):
            return False  # entries the file leaves partly to defaults; --set marks its own
        if isinstance(node, list | tuple) and isinstance(value, list | tuple):
            return list(node) != list(value)
        if isinstance(node, bool) or isinstance(value, bool):
            return node is not value
        if isinstance(node, int | float) and isinstance(value, int | float):
            return float(node) != float(value)
        return isinstance(node, str | int | float) and str(node) != str(value)


LONG_LIST = 12
"""A list of entries (phases, observed points) longer than this is one row: "N entries"."""


def _items(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, list | tuple) else ()


def _leaves(data: Any, path: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    """Every leaf under ``data`` with its key path: mappings and lists of numbers are opened
    key by key, and so is a short list of entries (a phase, an observed point)."""
    if isinstance(data, Mapping):
        for k, v in data.items():
            yield from _leaves(v, (*path, k))
    elif (
        isinstance(data, list | tuple)
        and data
        and all(isinstance(x, int | float) and not isinstance(x, bool) for x in data)
    ):
        for i, v in enumerate(data):
            yield (*path, i), v
    elif (
        isinstance(data, list | tuple)
        and 0 < len(data) <= LONG_LIST
        and all(isinstance(x, Mapping) for x in data)
    ):
        for i, v in enumerate(data):
            yield from _leaves(v, (*path, i))
    else:
        yield path, data


def _format_value(key: str | int, value: Any) -> str:
    if value is None:
        meaning = _NULL_MEANS.get(str(key))
        return f"null ({meaning})" if meaning else "null"
    if isinstance(value, list | tuple) and any(isinstance(v, Mapping) for v in value):
        return f"({len(value)} entries)"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) if value else "(none)"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def assumptions(scenario: Scenario) -> list[tuple[str, str, str, str | None]]:
    """Every parameter of ``scenario``: ``(key.path, value, where set, comment)``.

    "where set" is ``file:line`` for values written in a scenario file, ``default`` for the
    documented defaults, ``--set`` for overrides; the comment is the file's own note beside
    the key (its source tag or "judgement: ...")."""
    source = (scenario.__pydantic_private__ or {}).get("_source")
    comments = _Comments(source)
    data = scenario.model_dump(mode="json")
    rows = []
    for key in data:
        if key in _SKIP:
            continue
        if key == "uncertainties":  # one row per assumption: its distribution in words
            for name, dist in scenario.uncertainties.items():
                where, comment = comments.where(("uncertainties", name), None)
                rows.append((f"uncertainties.{name}", dist.describe(), where, comment))
            continue
        for path, value in _leaves(data[key], (key,)):
            leaf = next((p for p in reversed(path) if isinstance(p, str)), "")
            if value is None and leaf in _QUIET_NULLS:
                continue
            where, comment = comments.where(path, value)
            if scenario.phases is not None and path in UNUSED_WITH_PHASES:
                comment = f"not used with phases: each phase's gate.{leaf} decides"
            rows.append(
                (".".join(str(p) for p in path), _format_value(leaf, value), where, comment)
            )
    return rows


# --------------------------------------------------------------------------- the page


def report_html(
    results: Results,
    figures: Sequence[Path] | Mapping[str, bytes],
    manifest: Mapping[str, Any],
) -> str:
    """The report page for ``results`` with the given PNG figures (paths, or ``{stem: bytes}``)
    and ``manifest`` (as written to ``manifest.json``)."""
    from .plots import CAPTIONS, PHASE_CAPTIONS, integration_note, outcome_labels, shown_outcomes
    from .plots.phases import PHASED_CAPTIONS

    s = results.scenario
    summary = results.summary()
    if isinstance(figures, Mapping):
        images = dict(figures)
    else:
        images = {Path(p).stem: Path(p).read_bytes() for p in figures}
    out: list[str] = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{_e(s.title)} — ceasefire-sim report</title>",
        f"<style>{CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{_e(s.title)}</h1>",
        f'<p class="meta">Scenario <code>{_e(s.name)}</code> — {results.runs:,} runs, seed '
        f"{_e(results.seed)}, engine {_e(results.engine)}; created "
        f"{_e(manifest.get('created', ''))} by ceasefire-sim "
        f"{_e(manifest.get('versions', {}).get('ceasefire-sim', ''))}</p>",
    ]
    if results.integrated:
        out.append(
            f'<p class="meta">{_e(integration_note(results).capitalize())}: every run '
            "drew its own value of each (see the uncertainties below).</p>"
        )
    if s.description:
        out.append(f"<p>{_e(s.description.strip())}</p>")

    # outcomes
    labels = outcome_labels(results)
    out += [
        "<h2>Outcomes</h2>",
        "<table>",
        "<tr><th>outcome</th><th>meaning</th><th>runs</th><th>probability</th>"
        "<th>95% interval</th></tr>",
    ]
    for code in shown_outcomes(results):
        o = summary["outcomes"][code]
        lo, hi = o["ci95"]
        out.append(
            f"<tr><td><code>{_e(code)}</code></td><td>{_e(labels[code])}</td>"
            f'<td class="num">{o["count"]:,}</td><td class="num">{o["p"]:.1%}</td>'
            f'<td class="num">{lo:.1%} – {hi:.1%}</td></tr>'
        )
    out.append("</table>")
    out.append(f"<ul>{''.join(f'<li>{_e(line)}</li>' for line in results.findings(summary))}</ul>")
    out += phases_html(results)

    # figures
    if images:
        out.append("<h2>Figures</h2>")
        captions = {**CAPTIONS, **PHASE_CAPTIONS}
        if results.scenario.phases is not None:
            captions |= PHASED_CAPTIONS
        for stem, png in images.items():
            data = base64.b64encode(png).decode("ascii")
            caption = captions.get(stem, stem)
            out.append(
                f'<figure id="fig-{_e(stem)}"><img src="data:image/png;base64,{data}" '
                f'alt="{_e(caption)}"><figcaption>{_e(caption)}</figcaption></figure>'
            )

    # assumptions and sources
    out += [
        "<h2>Assumptions</h2>",
        "<p>Every parameter of the resolved scenario (after <code>extends</code> and "
        "<code>--set</code>), where it was set, and the note written beside it in the "
        "scenario file; for a value set with <code>--set</code>, what the file says instead. "
        '<span class="default">default</span> marks a documented default.</p>',
        "<table>",
        "<tr><th>parameter</th><th>value</th><th>set in</th><th>basis (from the file)</th></tr>",
    ]
    used = {"monte_carlo.runs": str(results.runs), "monte_carlo.seed": str(results.seed)}
    for path, value, where, comment in assumptions(s):
        if path in used and value != used[path]:  # --runs / --seed (or a fresh seed) won
            value, where, comment = used[path], "command line", f"the scenario says {value}"
        cls = ' class="where default"' if where == "default" else ' class="where"'
        out.append(
            f"<tr><td><code>{_e(path)}</code></td><td>{_e(value)}</td>"
            f'<td{cls}>{_e(where)}</td><td class="basis">{_e(comment or "")}</td></tr>'
        )
    out.append("</table>")
    if s.sources:
        out += ["<h2>Sources</h2>", "<ol>"]
        for src in s.sources:
            if src.url and src.url.lower().startswith(("http://", "https://")):
                out.append(f'<li><a href="{_e(src.url)}">{_e(src.label)}</a></li>')
            else:
                extra = f" ({_e(src.url)})" if src.url else ""
                out.append(f"<li>{_e(src.label)}{extra}</li>")
        out.append("</ol>")

    # reproduction
    out += [
        "<h2>Reproduce</h2>",
        "<p>From this result folder (its <code>scenario.yaml</code> is the resolved scenario):</p>",
        f"<pre>{_e(manifest.get('reproduce', ''))}</pre>",
    ]
    command = manifest.get("command")
    if command:
        out += [
            "<p>The command that made it:</p>",
            f"<pre>{_e(shlex.join(str(c) for c in command))}</pre>",
        ]
    versions = manifest.get("versions") or {}
    if versions:
        out.append(
            '<p class="meta">Versions: '
            + ", ".join(f"{_e(k)} {_e(v)}" for k, v in versions.items())
            + "</p>"
        )
    out += ["</body>", "</html>", ""]
    return "\n".join(out)


def _gate_text(gate: Any, on_fail: Any) -> str:
    parts = []
    if gate.max_strain is not None:
        days = "the whole phase" if gate.quiet_days is None else f"the last {gate.quiet_days} d"
        parts.append(f"strain ≤ {gate.max_strain:g} over {days}")
    if gate.required_deliveries:
        parts.append(f"≥ {gate.required_deliveries} deliveries")
    text = ", ".join(parts) or "none"
    if on_fail != "cancel":
        text += f"; if failed, extend {on_fail.extend_days} d (at most {on_fail.times}×)"
    return text


def phases_html(results: Results) -> list[str]:
    """The "Phases" section: each phase's days, gate, the share of runs that reached it and
    passed its gate (95% intervals), and why the others stopped there (with per-run rows)."""
    from .funnel import STOPS, funnel

    f = funnel(results)
    phases = results.scenario.phases
    if f is None or phases is None:
        return []
    out = [
        "<h2>Phases</h2>",
        "<p>The agreement runs in phases; each phase's gate is checked at its end, and passing "
        "the last gate is <code>triggered</code>. Shares are of all runs, with 95% intervals."
        "</p>",
        "<table>",
        "<tr><th>phase</th><th>what starts</th><th>days</th><th>gate</th><th>reached</th>"
        "<th>passed</th>"
        + ("<th>stopped here: collapse / violence / access</th>" if f.stops is not None else "")
        + "</tr>",
    ]
    for i, row in enumerate(f.rows()):
        cells = [
            f"<td><code>{_e(row['phase'])}</code></td>",
            f"<td>{_e(row['label'])}</td>",
            f'<td class="num">{row["days"]}</td>',
            f"<td>{_e(_gate_text(phases[i].gate, phases[i].on_fail))}</td>",
        ]
        for what in ("reached", "passed"):
            lo, hi = row[what]["ci95"]
            cells.append(f'<td class="num">{row[what]["p"]:.1%} ({lo:.1%} – {hi:.1%})</td>')
        if f.stops is not None:
            stops = " / ".join(f"{row['stopped'][code] / f.runs:.1%}" for code in STOPS)
            cells.append(f'<td class="num">{stops}</td>')
        out.append(f"<tr>{''.join(cells)}</tr>")
    out.append("</table>")
    return out


def write_report(
    results: Results,
    path: str | Path,
    figures: Sequence[Path] | Mapping[str, bytes],
    manifest: Mapping[str, Any],
) -> Path:
    """Write :func:`report_html` to ``path``."""
    path = Path(path)
    path.write_text(
        report_html(results, figures, manifest), encoding="utf-8", errors="backslashreplace"
    )
    return path
