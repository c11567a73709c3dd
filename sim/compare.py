"""Comparing scenarios (``ceasefire compare``): outcome probabilities side by side, survival
curves overlaid, and P(triggered) of each scenario against the first with a two-proportion test.

Inputs are scenario files, simulated here with the same seed and number of runs (common random
numbers: run ``i`` of every scenario draws from the same random stream, so differences come
from the scenarios, not from the draws), or result folders written by ``ceasefire run`` (read
from their ``summary.json`` and ``scenario.yaml``). A comparison works from summary
dictionaries only (the ``summary.json`` format), so both kinds mix freely.
"""

from __future__ import annotations

import csv
import io
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from .engines import ENGINES
from .errors import RunawayError, UsageError
from .folders import new_folder, write_json
from .frames import comparison_html
from .result_folder import BadFile, read_json, read_result_folder
from .results import Results, library_versions
from .runner import fresh_seed, simulate
from .scenario import OUTCOMES, Scenario, load_scenario

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class Entry:
    """One compared scenario: its summary (the ``summary.json`` dict) and resolved scenario."""

    label: str
    """A unique name for tables and legends (the scenario's name, numbered if repeated)."""
    source: str
    """The path given on the command line."""
    kind: str
    """``"scenario"`` (simulated here), ``"folder"`` (an existing result folder) or
    ``"results"`` (results given in memory, :func:`compare_results`)."""
    scenario: Scenario
    summary: dict[str, Any]
    triggered: np.ndarray | None = field(default=None, repr=False, compare=False)
    """Per run, whether the trigger started (scenario files only: pairs runs across files)."""
    unpaired: str = ""
    """Why this input cannot be paired run by run with the others ("" when it can, or when
    nothing here is paired)."""

    @property
    def runs(self) -> int:
        return int(self.summary["runs"])

    def count(self, code: str) -> int:
        return int(self.summary["outcomes"][code]["count"])

    def p(self, code: str) -> float:
        return float(self.summary["outcomes"][code]["p"])

    def ci(self, code: str) -> tuple[float, float]:
        lo, hi = self.summary["outcomes"][code]["ci95"]
        return float(lo), float(hi)

    @property
    def phases(self) -> dict[str, dict[str, Any]]:
        """``{phase: {"reached": {...}, "passed": {...}}}`` (empty without phases)."""
        return dict(self.summary.get("phases") or {})


@dataclass
class Comparison:
    """Scenarios side by side; ``entries[0]`` is the reference the others are compared with."""

    entries: list[Entry]
    runs: int | None = None
    """Runs of every simulated scenario (None when all inputs are result folders)."""
    seed: int | None = None
    engine: str | None = None
    elapsed: float = 0.0
    created: str = field(
        default_factory=lambda: datetime.now(timezone.utc).isoformat(timespec="seconds")
    )

    # ----------------------------------------------------------------- the table

    def table(self) -> list[dict[str, Any]]:
        """One row per scenario: P(triggered) with its 95% interval, the difference to the
        first scenario and the two-sided p-value of the two-proportion z-test, and the
        probabilities of the other outcomes."""
        first = self.entries[0]
        rows = []
        for k, e in enumerate(self.entries):
            lo, hi = e.ci("triggered")
            test = None
            if k == 0:
                diff, z, pval = 0.0, None, None
            elif (
                first.triggered is not None
                and e.triggered is not None
                and first.triggered.size == e.triggered.size
            ):
                diff, z, pval = paired_test(first.triggered, e.triggered)
                test = "paired"
            else:
                diff, z, pval = two_proportion_test(
                    first.count("triggered"), first.runs, e.count("triggered"), e.runs
                )
                test = "unpaired"
            row: dict[str, Any] = {
                "label": e.label,
                "kind": e.kind,
                "source": e.source,
                "scenario": e.summary.get("scenario", e.scenario.name),
                "runs": e.runs,
                "seed": e.summary.get("seed"),
                "engine": e.summary.get("engine"),
                "p_triggered": e.p("triggered"),
                "ci95_lo": lo,
                "ci95_hi": hi,
                "diff_vs_first": diff,
                "z": z,
                "p_value": pval,
                "test": test,
            }
            for code in OUTCOMES[1:]:
                row[f"p_{code}"] = e.p(code)
            for name, ph in e.phases.items():
                for what in ("reached", "passed"):
                    row[f"p_{what}_{name}"] = float(ph[what]["p"])
            rows.append(row)
        return rows

    def phase_names(self) -> list[str]:
        """Every phase name of any input, in order of first appearance."""
        return list(dict.fromkeys(name for e in self.entries for name in e.phases))

    def phase_text(self) -> list[str]:
        """The phase table: P(reached) and P(passed) of each phase per input (with phases)."""
        names = self.phase_names()
        if not names:
            return []
        width = max(len("scenario"), *(len(e.label) for e in self.entries))
        cell = max(31, *(len(n) for n in names))
        lines = [
            "",
            "Phases: P(reached) / P(passed its gate), each with its 95% interval below",
            f"  {'scenario':<{width}}  " + "  ".join(f"{n:>{cell}}" for n in names),
        ]
        for e in self.entries:
            ph = e.phases
            top, low = [], []
            for n in names:
                if n not in ph:
                    top.append(f"{'—':>{cell}}")
                    low.append(" " * cell)
                    continue
                r_, p_ = ph[n]["reached"], ph[n]["passed"]
                pr, pp = float(r_["p"]), float(p_["p"])
                (rl, rh), (pl, phi) = r_["ci95"], p_["ci95"]
                shares = f"{pr:.1%} / {pp:.1%}"
                cis = f"[{rl:.1%}, {rh:.1%}] [{pl:.1%}, {phi:.1%}]"  # as `run` prints them
                top.append(f"{shares:>{cell}}")
                low.append(f"{cis:>{cell}}")
            lines.append(f"  {e.label:<{width}}  " + "  ".join(top))
            if ph:
                lines.append(f"  {'':<{width}}  " + "  ".join(low))
        return lines

    def text(self) -> str:
        """The table ``ceasefire compare`` prints."""
        width = max(len("scenario"), *(len(e.label) for e in self.entries))
        head = f"Comparison of {len(self.entries)} scenarios"
        if self.uniform():
            head += f"; {self.how()}"
            inputs = []
        else:
            inputs = [f"  {e.label:<{width}}  {self.describe(e)}" for e in self.entries] + (
                [f"  ({self.how()})"] if self.runs is not None else []
            )
        labels = dict.fromkeys(e.scenario.trigger.label for e in self.entries)
        if len(labels) == 1:
            what = [f"P(triggered): {self.entries[0].scenario.trigger.label}"]
        else:  # each row is the chance of its own next step: say so, they are not one event
            what = ["P(triggered): each scenario's own next step — they differ:"] + [
                f"  {e.label:<{width}}  {e.scenario.trigger.label}" for e in self.entries
            ]
        lines = [
            head,
            *inputs,
            *what,
            "",
            f"  {'scenario':<{width}}  {'P(trig.)':>8}  {'95% interval':<16}  "
            f"{'vs first':>9}  {'p-value':>8}   collapse  violence    access",
        ]
        for row in self.table():
            interval = f"[{row['ci95_lo']:.1%}, {row['ci95_hi']:.1%}]"
            if row["p_value"] is None:
                diff, pval = "—", "—"
            else:
                diff = f"{100 * row['diff_vs_first']:+.1f} pp"
                pval = _format_p(row["p_value"])
            lines.append(
                f"  {row['label']:<{width}}  {row['p_triggered']:8.1%}  {interval:<16}  "
                f"{diff:>9}  {pval:>8}   {row['p_cancelled_collapse']:8.1%}  "
                f"{row['p_cancelled_violence']:8.1%}  {row['p_cancelled_access']:8.1%}"
            )
        tests = {row["test"] for row in self.table()} - {None}
        if "paired" in tests:
            lines.append(
                "\np-value: two-sided paired test (McNemar) against the first scenario: these "
                "inputs share\ncommon random numbers, so run i of each is paired and only runs "
                "whose outcome changed count."
            )
        if "unpaired" in tests:
            lines.append(
                "\np-value (inputs not paired run by run): two-sided two-proportion z-test "
                "(pooled), treating the samples as independent."
            )
        lines += [f"  {e.label}: not paired — {e.unpaired}" for e in self.entries if e.unpaired]
        lines += self.phase_text()
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        return comparison_html(self)

    def uniform(self) -> bool:
        """Whether every input was simulated here (same runs, seed and engine)."""
        return self.runs is not None and all(e.kind != "folder" for e in self.entries)

    def how(self) -> str:
        """How the inputs were simulated, in words. Common random numbers are claimed only
        for what ran here with one seed and engine: the scenario files of one command."""
        if self.runs is None:
            return "from result folders, each as saved"
        n_files = sum(e.kind == "scenario" for e in self.entries)
        what, each = ("each scenario", "") if self.uniform() else ("scenario files", " each")
        if n_files == 1 and not self.uniform():
            what, each = "the scenario file", ""
        paired = sum(e.kind == "folder" and e.triggered is not None for e in self.entries)
        return (
            f"{what}: {self.runs:,} runs{each}, seed {self.seed}, engine {self.engine}"
            + (" (common random numbers)" if self.common_random_numbers() else "")
            + ("" if self.uniform() else "; result folders as saved")
            + (f", {paired} of them made the same way (paired run by run)" if paired else "")
        )

    def common_random_numbers(self) -> bool:
        """Whether at least two inputs share their runs' random numbers: scenario files run
        here, and result folders made by this version with the same runs, seed and engine."""
        return self.runs is not None and sum(e.triggered is not None for e in self.entries) > 1

    def describe(self, entry: Entry) -> str:
        """Where one input came from, with its runs, seed and engine."""
        what = {"scenario": "scenario file", "folder": "result folder", "results": "results"}
        summary = entry.summary
        return (
            f"{what.get(entry.kind, entry.kind)} {entry.source}: {entry.runs:,} runs, "
            f"seed {summary.get('seed')}, engine {summary.get('engine')}"
        )

    # ----------------------------------------------------------------- files

    def csv_text(self) -> str:
        rows = self.table()
        fields = list(dict.fromkeys(k for row in rows for k in row))  # phases may differ
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        for row in rows:
            w.writerow({k: "" if row.get(k) is None else row[k] for k in fields})
        return buf.getvalue()

    def to_json(self, command: list[str] | None = None) -> dict[str, Any]:
        return {
            "tool": "ceasefire-sim",
            "created": self.created,
            "runs": self.runs,
            "seed": self.seed,
            "engine": self.engine,
            "common_random_numbers": self.common_random_numbers(),
            "test": "P(triggered) against the first: paired McNemar test for inputs with common "
            "random numbers (scenario files run here, and result folders made by this version "
            "with the same runs, seed and engine), pooled two-proportion z-test otherwise",
            "table": self.table(),
            "scenarios": [
                {
                    "label": e.label,
                    "kind": e.kind,
                    "source": e.source,
                    "summary": e.summary,
                    "scenario": e.scenario.model_dump(mode="json"),
                }
                for e in self.entries
            ],
            "elapsed_seconds": round(self.elapsed, 3),
            "versions": library_versions(),
            "command": command,
            "reproduce": self.reproduce(),
        }

    def reproduce(self) -> str:
        cmd = "ceasefire compare " + " ".join(e.source for e in self.entries)
        if self.runs is not None:
            cmd += f" --runs {self.runs} --seed {self.seed} --engine {self.engine}"
        return cmd

    def save(
        self,
        path: str | Path,
        *,
        figures: Mapping[str, Callable[[Comparison], Figure]] | None = None,
        command: list[str] | None = None,
    ) -> Path:
        """Write ``comparison.csv``, ``comparison.json`` and, given ``figures`` (file stem ->
        function drawing it, e.g. :data:`sim.plots.COMPARE_FIGURES`), ``figures/`` (never
        overwriting; written to a temporary folder and renamed into place).
        :func:`sim.plots.save_comparison` saves with every figure."""
        with new_folder(path) as tmp:
            (tmp / "comparison.csv").write_text(
                self.csv_text(), encoding="utf-8", errors="backslashreplace"
            )
            write_json(tmp / "comparison.json", self.to_json(command))
            if figures:
                folder = tmp / "figures"
                folder.mkdir()
                for stem, make in figures.items():
                    make(self).savefig(folder / f"{stem}.png", dpi=150)
        return Path(path)


# --------------------------------------------------------------------------- statistics


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


EXACT_BELOW = 25
"""Below this many discordant pairs McNemar's test is exact (binomial), not normal."""


def paired_test(first: np.ndarray, other: np.ndarray) -> tuple[float, float, float]:
    """``(p2 − p1, z, two-sided p-value)`` for paired 0/1 outcomes (McNemar's test): only runs
    whose outcome differs carry information. With fewer than :data:`EXACT_BELOW` discordant
    pairs the p-value is the exact binomial one (b ~ Binomial(b + c, 1/2) under no effect);
    otherwise the normal approximation."""
    n = first.size
    b = int(np.count_nonzero(first & ~other))  # lost the trigger
    c = int(np.count_nonzero(~first & other))  # gained it
    diff = (c - b) / n
    if b + c == 0:
        return diff, 0.0, 1.0
    z = (c - b) / math.sqrt(b + c)
    if b + c < EXACT_BELOW:
        return diff, z, float(stats.binomtest(b, b + c, 0.5).pvalue)
    return diff, z, min(1.0, 2 * normal_sf(abs(z)))


def two_proportion_test(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float, float]:
    """``(p2 − p1, z, two-sided p-value)`` of the pooled two-proportion z-test.

    When both proportions are 0 or both 1 there is no evidence of a difference: ``z = 0``,
    p-value 1."""
    if n1 < 1 or n2 < 1:
        raise ValueError("both samples need at least one run")
    p1, p2 = k1 / n1, k2 / n2
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return p2 - p1, 0.0, 1.0
    z = (p2 - p1) / se
    return p2 - p1, z, min(1.0, 2 * normal_sf(abs(z)))


def _format_p(p: float) -> str:
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


# --------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class _Input:
    source: str
    kind: str
    scenario: Scenario
    summary: dict[str, Any] | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    """A result folder's ``manifest.json`` (empty when absent or unreadable)."""

    @property
    def overrides(self) -> dict[str, Any]:
        """The ``--set`` changes the result folder was made with (from its manifest)."""
        overrides = self.manifest.get("overrides")
        return dict(overrides) if isinstance(overrides, dict) else {}


def _folder_manifest(path: Path) -> dict[str, Any]:
    """A result folder's ``manifest.json``, read once (empty if absent or unreadable)."""
    try:  # bounded like every file of a result folder (size, depth, finite numbers)
        manifest = read_json(path / "manifest.json")
    except BadFile:
        return {}
    return manifest if isinstance(manifest, dict) else {}


def _shared_mechanisms(a: Scenario, b: Scenario) -> bool:
    """Whether two scenarios draw from at least one common stream (a source of hostile
    events with the same name: streams are keyed by mechanism names)."""
    names = {*a.parties, *a.spoilers, *a.guarantors}
    return bool(names & {*b.parties, *b.spoilers, *b.guarantors})


def _ours(manifest: dict[str, Any]) -> bool:
    """Whether a result folder's manifest says it was made by this version, with its runs,
    seed and engine (so scenario files run here can be paired with it)."""
    versions = manifest.get("versions")
    version = versions.get("ceasefire-sim") if isinstance(versions, dict) else None
    return (
        version == library_versions()["ceasefire-sim"]
        and isinstance(manifest.get("runs"), int)
        and isinstance(manifest.get("seed"), int)
        and manifest.get("engine") in ENGINES
    )


def folder_outcomes(
    path: Path, manifest: dict[str, Any], runs: int, seed: int, engine: str
) -> tuple[np.ndarray | None, str]:
    """Run by run, whether each run of a result folder triggered — when the folder was made
    by this version with ``runs``, ``seed`` and ``engine`` (its ``manifest``) and kept its
    ``runs.csv``, so that its run ``i`` is run ``i`` of a scenario file simulated here
    (common random numbers). Otherwise None, and why, in words (the folder is then compared
    as an independent sample)."""
    if not _ours(manifest):
        return None, "made by another version of ceasefire-sim"
    made = (manifest["runs"], manifest["seed"], manifest["engine"])
    if made != (runs, seed, engine):
        r, s, e = made
        return None, (
            f"made with {r:,} runs, seed {s}, engine {e}; give --runs {r} --seed {s} "
            f"--engine {e} to pair it with the files"
        )
    rows = path / "runs.csv"
    if not rows.is_file():
        return None, "it has no runs.csv (saved with --summary-only)"
    mismatch = None, "its runs.csv does not match its manifest"
    try:
        if rows.stat().st_size > 64 * (runs + 1) * 1024:  # far beyond any real row: not ours
            return mismatch
        with rows.open(encoding="utf-8", newline="") as f:
            reader = csv.DictReader(f)
            pairs = [(row.get("run"), row.get("outcome")) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error):
        return mismatch
    if [r for r, _ in pairs] != [str(i) for i in range(runs)] or any(
        o not in OUTCOMES for _, o in pairs
    ):
        return mismatch
    return np.array([o == "triggered" for _, o in pairs]), ""


def read_folder(path: Path) -> tuple[Scenario, dict[str, Any]]:
    """The resolved scenario and summary of a result folder written by ``ceasefire run``
    (validated: see :mod:`sim.result_folder`)."""
    return read_result_folder(path)


def _read_inputs(paths: Sequence[str | Path]) -> list[_Input]:
    if len(paths) < 2:
        raise UsageError(
            f"compare needs at least two scenario files or result folders (got {len(paths)})"
        )
    out = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            scenario, summary = read_folder(path)
            out.append(_Input(str(raw), "folder", scenario, summary, _folder_manifest(path)))
        elif path.is_file():
            out.append(_Input(str(raw), "scenario", load_scenario(path)))
        else:
            raise UsageError(f"{raw}: no such scenario file or result folder")
    return out


Facets = dict[str, Any]
"""What describes one input: its scenario name, ``--set`` changes, engine, seed and runs,
and ``integrate`` (a folder made with ``--integrate``)."""


def _value(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def labels_by_difference(facets: Sequence[Facets]) -> list[str]:
    """A unique label per input: the scenario name; its ``--set`` changes unless every input
    shares them (a folder made with ``--set`` is not its file); and for inputs that share a
    name, the engine, seed or runs where they differ from the first input of that name;
    ``#2``, ``#3`` … only when nothing does."""
    out = []
    for f in facets:
        same = [g for g in facets if g["name"] == f["name"]]
        parts: list[str] = []
        for k, v in f["overrides"].items():
            if any(repr(g["overrides"].get(k)) != repr(v) for g in facets):
                parts.append(f"{k}={_value(v)}")
        if len(same) > 1:
            if f.get("integrate") and not all(g.get("integrate") for g in same):
                parts.append("--integrate")
            for what, word in (("engine", "engine {}"), ("seed", "seed {}"), ("runs", "{:,} runs")):
                if f[what] is not None and f[what] != same[0][what]:  # vs the group's first
                    parts.append(word.format(f[what]))
        out.append(f"{f['name']} ({', '.join(parts)})" if parts else f["name"])
    seen: dict[str, int] = {}
    unique = []
    for label in out:
        seen[label] = seen.get(label, 0) + 1
        unique.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return unique


def compare(
    paths: Sequence[str | Path],
    runs: int | None = None,
    seed: int | None = None,
    *,
    engine: str | None = None,
    workers: int = 1,
    progress: bool | None = None,
) -> Comparison:
    """Compare scenario files (simulated with common random numbers) and result folders.

    Every scenario file is run with the same ``runs``, ``seed`` and ``engine``. Those not
    given are taken from the first result folder made by this version, when there is one, so
    that the files pair with it run by run; otherwise from the ``monte_carlo`` block of the
    first scenario file (a fresh seed when it has none), and the ``simpy`` engine. Every input
    is read and validated before anything is simulated.
    """
    if isinstance(paths, str | Path) or not all(isinstance(p, str | Path) for p in paths):
        raise UsageError(
            "compare takes a list of scenario files or result folders; for scenarios or results "
            "in memory, simulate them and use sim.compare.compare_results"
        )
    inputs = _read_inputs(paths)
    files = [i for i in inputs if i.kind == "scenario"]
    made = next((i.manifest for i in inputs if i.kind == "folder" and _ours(i.manifest)), None)
    if files:
        mc = files[0].scenario.monte_carlo
        if made is not None:
            runs = made["runs"] if runs is None else runs
            seed = made["seed"] if seed is None else seed
            engine = made["engine"] if engine is None else engine
        runs = mc.runs if runs is None else runs
        if seed is None:
            seed = mc.seed if mc.seed is not None else fresh_seed()
    else:
        runs = seed = None
    engine = "simpy" if engine is None else engine
    labels = labels_by_difference(
        [
            {
                "name": i.scenario.name,
                "overrides": i.overrides,
                "engine": engine if i.summary is None else i.summary.get("engine"),
                "seed": seed if i.summary is None else i.summary.get("seed"),
                "runs": runs if i.summary is None else i.summary.get("runs"),
                "integrate": i.kind == "folder" and bool(i.manifest.get("integrate")),
            }
            for i in inputs
        ]
    )
    entries: list[Entry] = []
    started = time.perf_counter()
    for label, i in zip(labels, inputs, strict=True):
        summary, why = i.summary, ""
        if summary is None:
            try:
                results = simulate(
                    i.scenario,
                    runs,
                    seed,
                    engine=engine,
                    workers=workers,
                    progress=progress,
                )
            except RunawayError as exc:
                raise RunawayError(f"{i.source}: {exc} (monte_carlo.max_events)") from None
            summary = results.summary()
            assert results.columns is not None
            triggered = results.columns.outcome == OUTCOMES.index("triggered")
        elif files:  # a folder made like the files run here pairs run by run
            assert runs is not None and seed is not None
            triggered, why = folder_outcomes(Path(i.source), i.manifest, runs, seed, engine)
        else:
            triggered = None
        if (
            entries
            and triggered is not None
            and not _shared_mechanisms(inputs[0].scenario, i.scenario)
        ):
            triggered = None  # no stream in common: pairing would claim what is not there
            why = (
                "it shares no party, spoiler or guarantor name with the first input, so no "
                "random numbers (streams are keyed by name)"
            )
        entries.append(Entry(label, i.source, i.kind, i.scenario, summary, triggered, why))
    engine_used = engine if files else None
    return Comparison(
        entries, runs=runs, seed=seed, engine=engine_used, elapsed=time.perf_counter() - started
    )


_NO_FACETS: Facets = {"name": "", "overrides": {}, "engine": None, "seed": None, "runs": None}


def compare_results(results: Sequence[Results], labels: Sequence[str] | None = None) -> Comparison:
    """Compare results already in memory (e.g. variants made with ``with_overrides`` in a
    notebook); the first is the reference. Runs are paired (McNemar's test) when every result
    kept its per-run rows and all share runs, seed and engine — common random numbers."""
    if len(results) < 2:
        raise UsageError(f"compare needs at least two results (got {len(results)})")
    if labels is None:
        names = labels_by_difference(
            [
                {
                    "name": r.scenario.name,
                    "overrides": r.scenario.overrides,
                    "engine": r.engine,
                    "seed": r.seed,
                    "runs": r.runs,
                }
                for r in results
            ]
        )
    else:
        names = labels_by_difference([{**_NO_FACETS, "name": str(n)} for n in labels])
    if len(names) != len(results):
        raise UsageError("give one label per result")
    shared = {(r.runs, r.seed, r.engine) for r in results}
    paired = len(shared) == 1 and all(r.columns is not None for r in results)
    entries = []
    for label, r in zip(names, results, strict=True):
        triggered = None
        if paired:
            assert r.columns is not None
            triggered = r.columns.outcome == OUTCOMES.index("triggered")
        entries.append(Entry(label, label, "results", r.scenario, r.summary(), triggered))
    runs, seed, engine = next(iter(shared)) if len(shared) == 1 else (None, None, None)
    return Comparison(entries, runs=runs, seed=seed, engine=engine)


__all__ = [
    "Comparison",
    "Entry",
    "compare",
    "compare_results",
    "paired_test",
    "read_folder",
    "two_proportion_test",
]
