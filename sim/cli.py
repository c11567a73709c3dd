"""The ``ceasefire`` command line: a thin layer over the Python API.

Exit codes: 0 success; 2 bad input or usage (one line on stderr, nothing written);
1 internal error; 128 + the signal's number when stopped by Ctrl-C (130), SIGTERM (143) or
SIGHUP (129), with nothing half-written (see :mod:`sim.console`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, NoReturn, TextIO

from . import compiled, limits, runner, uncertainty
from .console import interrupted
from .engines import ENGINES, Params
from .errors import (
    CeasefireError,
    RunawayError,
    ScenarioError,
    UsageError,
    WorkerError,
    plural,
    printable,
)
from .folders import check_output, default_folder
from .runner import simulate, trace_run
from .scenario import OUTCOMES, Scenario, json_schema, load_scenario
from .source import load_value

PROG = "ceasefire"
TRACE_FORMATS = (".png", ".svg", ".pdf")
"""The figure formats ``trace --plot`` writes."""


def say(*values: object, file: TextIO | None = None) -> None:
    """``print``, with control characters (ANSI escapes, carriage returns) from scenario
    text or file names escaped, so output cannot rewrite the user's terminal."""
    print(*(printable(str(v), newlines=True) for v in values), file=file)


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, printable(f"{self.prog}: error: {message} (see {self.prog} --help)") + "\n")


def _integer(minimum: int, what: str) -> Callable[[str], int]:
    """An argparse type: an integer ≥ ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, got '{text}'")
        return value

    return parse


_positive = _integer(1, "a positive integer")
_non_negative = _integer(0, "an integer ≥ 0")


def _runs(text: str) -> int:
    """An argparse type: a number of runs, 1..:data:`limits.MAX_RUNS`."""
    value = _positive(text)
    if value > limits.MAX_RUNS:
        raise argparse.ArgumentTypeError(
            f"{value:,} runs is more than this tool simulates (at most {limits.MAX_RUNS:,})"
        )
    return value


def _workers(text: str) -> int:
    """An argparse type: a number of worker processes, 1..:func:`limits.max_workers`."""
    value = _positive(text)
    if value > limits.max_workers():
        raise argparse.ArgumentTypeError(
            f"{value:,} worker processes is more than this machine can run usefully "
            f"(at most {limits.max_workers()}: {limits.WORKERS_PER_CORE} per CPU core)"
        )
    return value


def _override(text: str) -> tuple[str, Any]:
    key, sep, raw = text.partition("=")
    if any("\udc80" <= ch <= "\udcff" for ch in text):  # bytes that were not UTF-8
        raise argparse.ArgumentTypeError(
            f"'{printable(text.encode('utf-8', 'backslashreplace').decode(), limit=200)}' is not "
            "UTF-8 text (check the terminal's encoding)"
        )
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key.path=value, got '{text}'")
    try:  # the scenario reader: safe, and bounded in depth like a file
        value = load_value(raw) if raw.strip() else None
    except ScenarioError as exc:
        shown = printable(text, limit=200)
        raise argparse.ArgumentTypeError(
            f"cannot read the value of '{shown}' ({exc.message})"
        ) from None
    return key.strip(), value


def _subparser(parser: argparse.ArgumentParser, name: str) -> argparse.ArgumentParser | None:
    """The parser of subcommand ``name``."""
    for action in parser._actions:  # argparse keeps its subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            found = action.choices.get(name)
            return found if isinstance(found, argparse.ArgumentParser) else None
    return None


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=PROG, description="Monte Carlo simulation of ceasefires.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(
        dest="command",
        required=True,
        parser_class=_Parser,
        metavar="{validate,run,trace,check,compare,sweep,sensitivity,discover,backtest,fit,events,schema}",
    )

    p = sub.add_parser("validate", help="check scenario files")
    p.add_argument("files", nargs="+", metavar="FILE")

    def scenario_args(p: argparse.ArgumentParser) -> None:
        _file_and_overrides(p)
        p.add_argument(
            "--engine",
            choices=list(ENGINES),
            default="simpy",
            help="simulation engine (default: simpy, the reference)",
        )

    p = sub.add_parser(
        "run",
        help="run the Monte Carlo and write a result folder",
        description="Run the Monte Carlo and write a result folder. Time, roughly, for a "
        "flagship-sized scenario on one core: about 5,000 runs/s with the simpy engine "
        "(10,000 runs: 2-3 s) and about 40 times that with --engine fast (the same runs); "
        "--integrate about three quarters as fast. Long runs print a progress line every 30 s when "
        "output is not a terminal.",
    )
    scenario_args(p)
    p.add_argument("--runs", type=_runs, help="number of runs (default: the scenario's)")
    p.add_argument("--seed", type=_non_negative, help="random seed (default: the scenario's)")
    output_args(p, "results/<name>/<timestamp>-<random>/")
    p.add_argument(
        "--summary-only",
        action="store_true",
        help="keep only summaries (memory independent of --runs; no runs.csv)",
    )
    p.add_argument(
        "--integrate",
        action="store_true",
        help="draw each run's assumptions from the scenario's uncertainties",
    )
    p.add_argument("--workers", type=_workers, default=1, help="worker processes (default 1)")

    p = sub.add_parser("trace", help="tell the story of one run")
    scenario_args(p)
    p.add_argument("--seed", type=_non_negative, help="random seed (default: the scenario's)")
    p.add_argument("--run", type=_non_negative, required=True, help="run index (0-based)")
    p.add_argument(
        "--integrate",
        action="store_true",
        help="replay a run of `run --integrate`: the run draws its own assumptions first",
    )
    p.add_argument(
        "--plot",
        type=Path,
        metavar="FILE",
        help="also draw the run's timeline to FILE (.png, .svg or .pdf; never overwritten)",
    )

    p = sub.add_parser(
        "check",
        help="score the scenario against what monitors recorded (its observations)",
        description="Simulate the scenario, apply its observation models and score every "
        "recorded count against its predictive distribution (randomised PIT, CRPS, 50/90% "
        "coverage); write check.json and a fan figure per series.",
    )
    _file_and_overrides(p)
    p.add_argument("--runs", type=_positive, help="number of runs (default: the scenario's)")
    p.add_argument("--seed", type=_non_negative, help="random seed (default: the scenario's)")
    p.add_argument("--engine", choices=list(ENGINES), default="fast", help="engine (default: fast)")
    p.add_argument(
        "--integrate",
        action="store_true",
        help="draw each run's assumptions (observation keys included) from the uncertainties",
    )
    output_args(p, "results/<name>/check-<timestamp>-<random>/")

    p = sub.add_parser(
        "compare",
        help="compare scenarios (common random numbers) or result folders",
        description="Compare scenario files (run with the same seed and runs: common random "
        "numbers) and/or result folders of `ceasefire run`; the first is the reference.",
    )
    p.add_argument("inputs", nargs="+", metavar="INPUT", help="scenario file or result folder")
    p.add_argument(
        "--runs",
        type=_runs,
        help="runs per scenario file (default: a result folder's, so they pair; else the "
        "first file's)",
    )
    p.add_argument(
        "--seed", type=_non_negative, help="random seed (default: as --runs, the same way)"
    )
    p.add_argument(
        "--engine",
        choices=list(ENGINES),
        help="engine (default: a result folder's; else simpy)",
    )
    p.add_argument("--workers", type=_workers, default=1, help="worker processes (default 1)")
    output_args(p, "results/compare/<timestamp>-<random>/")

    p = sub.add_parser(
        "sweep",
        help="one or two assumptions over a grid (common random numbers)",
        description="Simulate a grid over one or two key paths, every point with the same "
        "seed and runs; write sweep.csv and a line chart (one) or heatmap (two). Time, "
        "roughly: 0.02 s per point at 2,000 runs on one idle core (a 10 × 10 grid: 2 s).",
    )
    experiment_args(p, default_runs=2_000, default_folder="sweep")
    p.add_argument(
        "--param",
        action="append",
        required=True,
        metavar="KEY.PATH=LOW:HIGH:N",
        help="an assumption and its grid (once or twice)",
    )

    p = sub.add_parser(
        "sensitivity",
        help="which uncertain assumption matters most (Sobol or Morris, via SALib)",
        description="Global sensitivity of P(triggered) and the mean collapse day to the "
        "scenario's uncertainties (SALib), and a tornado; write sensitivity.json, points.csv "
        "and figures. Time, roughly, at 1,000 runs per point: 200 points/s per idle core; "
        "with 12 assumptions Sobol --samples 256 (3,840 points) takes about 20 s and "
        "--samples 1024 (15,360 points) about 75 s on one core (divide by --workers).",
    )
    experiment_args(p, default_runs=1_000, default_folder="sensitivity")
    p.add_argument("--method", choices=["sobol", "morris"], default="sobol", help="(default sobol)")
    p.add_argument(
        "--samples",
        type=_positive,
        metavar="N",
        help="Sobol base samples, a power of 2 (N·(k+3) points; default 256), or Morris "
        "trajectories (N·(k+2) points; default 32); k assumptions and the noise-floor dummy",
    )
    p.add_argument("--runs-per-point", dest="runs", type=_positive, help="same as --runs")
    p.add_argument(
        "--floor",
        type=float,
        metavar="LEVEL",
        help="advise how many runs per point would bring the noise floor under LEVEL",
    )

    p = sub.add_parser(
        "discover",
        help="where the deal works: the box of assumptions where P(triggered) is high",
        description="Scenario discovery over the scenario's uncertainties: sample points, "
        "simulate them, and find the box (ranges of assumptions) where P(triggered) >= the "
        "threshold is concentrated (a scikit-learn decision tree); write discovery.json, "
        "points.csv and a figure. Time, roughly: 1,000 points at 1,000 runs take about 10 s "
        "on one idle core (divide by --workers).",
    )
    experiment_args(p, default_runs=1_000, default_folder="discover")
    p.add_argument(
        "--samples", type=_positive, default=1_000, metavar="N", help="points (default 1,000)"
    )
    p.add_argument(
        "--threshold",
        type=float,
        metavar="P",
        help="success: P(triggered) >= P (default: the 75th percentile of the points)",
    )

    from . import backtest

    p = sub.add_parser("backtest", help="score the model on historical ceasefire cases")
    backtest.add_arguments(p, _positive, _non_negative)

    data_parsers(sub)
    sub.add_parser("schema", help="print the JSON Schema of scenario files")
    return parser


def data_parsers(sub: Any) -> None:
    """``fit`` (parameters from event times) and ``events`` (convert ACLED/UCDP exports)."""
    p = sub.add_parser(
        "fit",
        help="estimate parameters from recorded event times (maximum likelihood)",
        description="Fit rates, retaliation and shares to an events file; write fit.json, "
        "fitted.yaml (a scenario extending FILE) and Q-Q figures.",
    )
    p.add_argument("file", metavar="FILE", help="scenario YAML file")
    p.add_argument("--events", required=True, type=Path, metavar="EVENTS.csv")
    p.add_argument(
        "--fit", action="append", metavar="KEY.PATH", help="fit only this key (repeatable)"
    )
    p.add_argument(
        "--span",
        metavar="A:B",
        help="days to fit, part of a longer record (rows outside are left out); default: the "
        "window, which the file must cover",
    )
    p.add_argument(
        "--out", type=Path, metavar="DIR", help="default results/<name>/fit-<timestamp>-<random>/"
    )
    p.add_argument("--no-plots", action="store_true", help="do not write figures")
    p = sub.add_parser(
        "events",
        help="convert an ACLED or UCDP GED export to an events file",
        description="Map an ACLED or UCDP GED CSV export to the events file of `ceasefire "
        "fit`, with a mapping YAML naming which actors are which parties.",
    )
    p.add_argument("input", metavar="FILE.csv", type=Path)
    p.add_argument("--from", dest="source", required=True, choices=["acled", "ucdp"])
    p.add_argument("--map", dest="mapping", required=True, type=Path, metavar="MAPPING.yaml")
    p.add_argument("--scenario", type=Path, metavar="FILE", help="check actors and the span")
    p.add_argument(
        "--out", type=Path, metavar="EVENTS.csv", help="write here (default: standard output)"
    )


def _file_and_overrides(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", metavar="FILE", help="scenario YAML file")
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        type=_override,
        default=[],
        metavar="KEY.PATH=VALUE",
        help="override a scenario value (repeatable)",
    )


def output_args(p: argparse.ArgumentParser, default: str) -> None:
    """Where a command writes (``--out``, never overwritten), and its figures and progress."""
    p.add_argument(
        "--out", type=Path, metavar="DIR",
        help=f"output folder (default {default}); never overwritten",
    )  # fmt: skip
    p.add_argument(
        "--no-plots",
        action="store_true",
        help="do not write figures (with run: nor report.html, which shows them)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def experiment_args(p: argparse.ArgumentParser, *, default_runs: int, default_folder: str) -> None:
    """Options shared by the commands that simulate many parameter points."""
    _file_and_overrides(p)
    p.add_argument(
        "--runs",
        type=_runs,
        default=default_runs,
        help=f"runs per point (default {default_runs:,})",
    )
    p.add_argument("--seed", type=_non_negative, help="random seed (default: the scenario's)")
    p.add_argument("--engine", choices=list(ENGINES), default="fast", help="engine (default: fast)")
    p.add_argument("--workers", type=_workers, default=1, help="worker processes (default 1)")
    p.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="run the points on a Dask cluster: a scheduler address, or 'local'",
    )
    output_args(p, f"results/<name>/{default_folder}-<timestamp>-<random>/")
    p.add_argument(
        "--outcome",
        default="triggered",
        metavar="OUTCOME",
        help="what to analyse: an outcome code (default triggered; e.g. cancelled_collapse), "
        "or reached:<phase> / passed:<phase> for scenarios with phases",
    )
    p.set_defaults(folder=default_folder)


def _experiment_setup(args: argparse.Namespace) -> tuple[Scenario, int, Path]:
    """The scenario, seed and (checked) output folder of an experiment command."""
    from .experiments import check_outcome
    from .observations import engine_scenario
    from .runner import fresh_seed

    # the outcomes do not depend on observation keys: leave them out of the design
    scenario = engine_scenario(_load(args))
    check_outcome(scenario, args.outcome)
    seed = args.seed if args.seed is not None else scenario.monte_carlo.seed
    seed = fresh_seed() if seed is None else seed
    out = args.out if args.out is not None else default_folder(scenario.name)
    if args.out is None:
        out = out.with_name(f"{args.folder}-{out.name}")
    check_output(out)
    if args.folder in ("sensitivity", "discover"):  # the design is the uncertainties
        for note in scenario.shadowed(list(scenario.uncertainties)):
            say(f"{args.file}: warning: uncertainties: {note}", file=sys.stderr)
    return scenario, seed, out


def _wrote(folder: Path) -> None:
    files = [p.name + ("/" if p.is_dir() else "") for p in sorted(folder.iterdir())]
    say(f"\nwrote {folder}/ ({', '.join(files)})")


def cmd_sweep(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from . import sweep
    from .experiments import evaluate, outcome_label

    params = [sweep.parse_param(text) for text in args.param]
    scenario, seed, out = _experiment_setup(args)
    keys, values = sweep.checked_grid(scenario, params)  # a bad --param is the one line printed
    for note in [*scenario.replaced_schedules(keys), *scenario.shadowed(keys)]:
        say(f"note: --param {note}", file=sys.stderr)
    table = evaluate(
        scenario,
        keys,
        values,
        runs=args.runs,
        seed=seed,
        engine=args.engine,
        workers=args.workers,
        dask=args.dask,
        progress=False if args.quiet else None,
    )
    folder = sweep.save(
        table, scenario, out, plots=not args.no_plots, command=[PROG, *argv], outcome=args.outcome
    )
    say(f"{scenario.title} ({scenario.name}): sweep of {' × '.join(table.keys)}")
    say(
        f"{table.runs:,} runs per point, seed {seed}, engine {table.engine}, "
        f"{table.elapsed:.1f} s\n"
    )
    lo_hi = table.ci95(args.outcome)
    head = outcome_label(args.outcome)
    widths = [max(12, len(k)) for k in table.keys]  # every column as wide as its header
    width = max(12, len(head))
    say(
        "  "
        + "  ".join(f"{k:>{w}}" for k, w in zip(table.keys, widths, strict=True))
        + f"  {head:>{width}}  95% interval"
    )
    p = table.p(args.outcome)
    for i in range(table.values.shape[0]):
        vals = "  ".join(f"{v:>{w}.4g}" for v, w in zip(table.values[i], widths, strict=True))
        say(f"  {vals}  {p[i]:{width}.1%}  [{lo_hi[i, 0]:.1%}, {lo_hi[i, 1]:.1%}]")
    _wrote(folder)
    return 0


def cmd_sensitivity(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from . import sensitivity

    scenario, seed, out = _experiment_setup(args)
    samples = args.samples or sensitivity.DEFAULT_SAMPLES[args.method]
    sensitivity.check(scenario, args.method, samples, args.floor)
    sensitivity.require_salib()
    result = sensitivity.analyse(
        scenario,
        args.method,
        samples,
        outcome=args.outcome,
        target_floor=args.floor,
        runs=args.runs,
        seed=seed,
        engine=args.engine,
        workers=args.workers,
        dask=args.dask,
        progress=False if args.quiet else None,
    )
    folder = sensitivity.save(result, out, plots=not args.no_plots, command=[PROG, *argv])
    say(sensitivity.text(result))
    _wrote(folder)
    return 0


def cmd_discover(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from . import discovery

    scenario, seed, out = _experiment_setup(args)
    discovery.check(scenario, args.samples, args.threshold)
    discovery.require_sklearn()
    result = discovery.discover(
        scenario,
        args.samples,
        args.threshold,
        outcome=args.outcome,
        runs=args.runs,
        seed=seed,
        engine=args.engine,
        workers=args.workers,
        dask=args.dask,
        progress=False if args.quiet else None,
    )
    folder = discovery.save(result, out, plots=not args.no_plots, command=[PROG, *argv])
    say(discovery.text(result))
    _wrote(folder)
    return 0


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("ceasefire-sim")
    except metadata.PackageNotFoundError:
        return "unknown"


def _load(args: argparse.Namespace) -> Scenario:
    scenario = load_scenario(args.file)
    if args.overrides:
        single = [k for k, v in args.overrides if not isinstance(v, list | tuple)]
        changed = scenario.with_overrides(dict(args.overrides), origin="--set")
        for note in scenario.replaced_schedules(single):
            say(f"note: --set {note}", file=sys.stderr)
        for note in scenario.shadowed([k for k, _ in args.overrides]):
            say(f"note: --set {note}", file=sys.stderr)
        scenario = changed
    return scenario


def cmd_validate(args: argparse.Namespace) -> int:
    status = 0
    for f in args.files:
        try:
            s = load_scenario(f)
        except ScenarioError as exc:
            say(exc, file=sys.stderr)
            status = 2
            continue
        say(
            f"{f}: ok — {s.name}: {plural(len(s.sides), 'side')}, "
            f"{plural(len(s.parties), 'party', 'parties')}, "
            f"{plural(len(s.spoilers), 'spoiler')}, {plural(len(s.guarantors), 'guarantor')}, "
            f"{s.window_days}-day window, branching ratio {s.branching_ratio():.2f}"
            + (f", {len(s.uncertainties)} uncertain assumptions" if s.uncertainties else "")
        )
        for w in [*s.warnings(), uncertainty.explosive_warning(s)]:
            if w is not None:
                say(f"{f}: warning: {w}", file=sys.stderr)
    return status


def cmd_run(args: argparse.Namespace, argv: Sequence[str]) -> int:
    scenario = _load(args)
    out = args.out if args.out is not None else default_folder(scenario.name)
    check_output(out)
    if not args.summary_only:
        check_row_memory(scenario, args.runs or scenario.monte_carlo.runs, args.integrate)
    warnings_ = [
        # what validate says (legal, but likely not what was meant), except explosive
        # excitation: a run that explodes stops with one line that says so
        *scenario.setting_warnings(),
        *([uncertainty.explosive_warning(scenario)] if args.integrate else []),
    ]
    for warning in warnings_:
        if warning is not None:
            say(f"{args.file}: warning: {warning}", file=sys.stderr)
    results = simulate(
        scenario,
        args.runs,
        args.seed,
        engine=args.engine,
        workers=args.workers,
        keep_runs=not args.summary_only,
        integrate=args.integrate,
        progress=False if args.quiet else None,
    )
    folder = results.save(out, plots=not args.no_plots, command=[PROG, *argv])
    say(report(results))
    _wrote(folder)
    return 0


def check_row_memory(
    scenario: Scenario, runs: int, integrate: bool = False, summary_only: bool = True
) -> None:
    """Refuse, before simulating, per-run rows that would not fit in memory."""
    shape = Params.from_scenario(scenario).shape
    if integrate:
        shape = replace(shape, assumptions=tuple(scenario.uncertainties))
    runner.check_row_memory(shape, runs, summary_only)


def _bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    raise AssertionError  # pragma: no cover


def report(results: Any) -> str:
    """The table ``ceasefire run`` prints."""
    from .plots import integration_note, outcome_labels, shown_outcomes

    s = results.scenario
    labels = outcome_labels(results)
    width = max(len(c) for c in OUTCOMES)
    rate = results.runs / results.elapsed if results.elapsed else float("nan")
    lines = [
        f"{printable(s.title, limit=200)} ({s.name})",
        f"{results.runs:,} runs, seed {results.seed}, engine {results.engine}, "
        f"{results.elapsed:.1f} s"
        + (f" ({rate:,.0f} runs/s)" if results.elapsed >= 0.5 else "")
        + (
            f"; compiling the engine for this machine took {results.warmup:.1f} s more (once: "
            "the compiled code is cached)"
            if results.warmup >= 1.0
            else ""
        ),
        # a rate over a fraction of a second measures the start-up, not the engine
        *([integration_note(results)] if results.integrated else []),
        "",
        f"  {'outcome':<{width}}  {'p':>6}  {'95% interval':<16}  meaning",
    ]
    shown = shown_outcomes(results)
    for code, (p, lo, hi) in results.outcome_probabilities().items():
        if code not in shown:
            continue
        interval = f"[{lo:.1%}, {hi:.1%}]"
        lines.append(f"  {code:<{width}}  {p:6.1%}  {interval:<16}  {labels[code]}")
    phases = results.phase_summary() if results.shape.phases else {}
    if phases:
        width = max(len("phase"), *(len(name) for name in phases))
        lines += ["", f"  {'phase':<{width}}  {'reached':>7}  {'passed':>7}  95% interval (passed)"]
        for name, v in phases.items():
            lo, hi = v["passed"]["ci95"]
            lines.append(
                f"  {name:<{width}}  {v['reached']['p']:7.1%}  {v['passed']['p']:7.1%}  "
                f"[{lo:.1%}, {hi:.1%}]"
            )
    lines += ["", *results.findings()]
    return "\n".join(lines)


def cmd_trace(args: argparse.Namespace) -> int:
    from .trace import story

    scenario = _load(args)
    seed = args.seed if args.seed is not None else scenario.monte_carlo.seed
    if seed is None:
        raise UsageError("--seed is required (the scenario has no monte_carlo.seed)")
    plot = args.plot
    if plot is not None:
        check_output(plot)
        if plot.suffix.lower() not in TRACE_FORMATS:
            raise UsageError(
                f"{plot}: unsupported figure format '{plot.suffix}' (use .png, .svg or .pdf)"
            )
    record, events = trace_run(
        scenario, seed, args.run, engine=args.engine, integrate=args.integrate
    )
    drawn = ""
    if args.integrate:
        drawn = ", ".join(
            f"{k} = {v:.4g}" for k, v in zip(scenario.uncertainties, record.theta, strict=True)
        )
        scenario = uncertainty.apply(scenario, record.theta)
    text = story(scenario, record, events, seed=seed, run=args.run)
    if drawn:  # under the story's title line
        title, _, rest = text.partition("\n")
        text = f"{title}\nthis run's assumptions (--integrate): {drawn}\n{rest}"
    say(text)
    if plot is not None:
        from .plots import save_atomic, trace_figure

        save_atomic(trace_figure(scenario, record, events, seed, args.run), plot)
        say(f"wrote {plot}")
    return 0


def cmd_check(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from . import check

    scenario = _load(args)
    out = args.out
    if out is None:
        out = default_folder(scenario.name)
        out = out.with_name(f"check-{out.name}")
    check_output(out)
    result = check.check(
        scenario,
        args.runs,
        args.seed,
        engine=args.engine,
        integrate=args.integrate,
        progress=False if args.quiet else None,
    )
    folder = check.save(result, out, plots=not args.no_plots, command=[PROG, *argv])
    print(check.text(result))
    _wrote(folder)
    return 0


def cmd_compare(args: argparse.Namespace, argv: Sequence[str]) -> int:
    from .compare import compare
    from .plots import COMPARE_FIGURES

    out = args.out if args.out is not None else default_folder("compare")
    check_output(out)
    files = [load_scenario(f) for f in args.inputs if Path(f).is_file()]
    for scenario in files:  # each is simulated with its per-run rows, one at a time
        check_row_memory(scenario, args.runs or files[0].monte_carlo.runs, summary_only=False)
    comparison = compare(
        args.inputs,
        args.runs,
        args.seed,
        engine=args.engine,
        workers=args.workers,
        progress=False if args.quiet else None,
    )
    figures = None if args.no_plots else COMPARE_FIGURES
    folder = comparison.save(out, figures=figures, command=[PROG, *argv])
    say(comparison.text())
    _wrote(folder)
    return 0


class _Stdout:
    """Standard output whose write errors (a full disk, a closed descriptor) become one
    :class:`~sim.errors.UsageError` line, not a traceback; a closed pipe (``| head``) stays a
    :class:`BrokenPipeError`, which ends the command quietly."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def write(self, text: str) -> int:
        return self._guarded(self.stream.write, text)

    def flush(self) -> None:
        self._guarded(self.stream.flush)

    def _guarded(self, call: Callable[..., Any], *args: Any) -> Any:
        try:
            return call(*args)
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise self._failed(exc) from None

    def _failed(self, exc: OSError) -> UsageError:
        # what could not be written is lost; point the descriptor at /dev/null so that the
        # interpreter's own flush at exit does not fail again with a traceback
        with contextlib.suppress(OSError, ValueError, AttributeError):
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, self.stream.fileno())
            finally:
                os.close(null)
        return UsageError(f"cannot write to standard output ({exc.strerror or exc})")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _jit_disabled() -> bool:
    import numba

    return bool(numba.config.DISABLE_JIT)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``ceasefire`` command line: its exit status."""
    stdout = sys.stdout
    if stdout is None:  # no standard output at all (``>&-``): nothing to guard
        return _main(argv)
    sys.stdout = guarded = _Stdout(stdout)
    try:
        code = _main(argv)
        guarded.flush()
        return code
    except UsageError as exc:  # the last output could not be flushed
        say(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    finally:
        sys.stdout = stdout


def _main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not sys.warnoptions:  # library warnings (matplotlib's glyphs, layout) are not output
        warnings.simplefilter("ignore")
        logging.getLogger("matplotlib").setLevel(logging.ERROR)
    try:
        parser = build_parser()
        args, extra = parser.parse_known_args(argv)
        if extra:  # the subcommand's own help lists what it takes
            command = getattr(args, "command", None)
            sub = _subparser(parser, command) if command else None
            (sub or parser).error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exc:  # usage errors (2), --help and --version (0)
        return exc.code if isinstance(exc.code, int) else 2
    prog = f"{PROG} {args.command}"  # errors name the subcommand, as argparse's do
    if args.command not in ("validate", "schema", "events") and _jit_disabled():
        say(f"{prog}: error: NUMBA_DISABLE_JIT is set: the engines run numba's compiled code "
            "(unset it)", file=sys.stderr)  # fmt: skip
        return 2
    try:
        if args.command == "validate":
            return cmd_validate(args)
        if args.command == "run":
            return cmd_run(args, argv)
        if args.command == "trace":
            return cmd_trace(args)
        if args.command == "check":
            return cmd_check(args, argv)
        if args.command == "compare":
            return cmd_compare(args, argv)
        if args.command == "sweep":
            return cmd_sweep(args, argv)
        if args.command == "sensitivity":
            return cmd_sensitivity(args, argv)
        if args.command == "discover":
            return cmd_discover(args, argv)
        if args.command == "backtest":
            from . import backtest

            return backtest.command(args, argv, PROG)
        if args.command == "fit":
            from .fitted import command as fit_command

            return fit_command(args, argv)
        if args.command == "events":
            from .adapters import command as events_command

            return events_command(args)
        if args.command == "schema":
            say(json.dumps(json_schema(), indent=2, ensure_ascii=False))
            return 0
    except RunawayError as exc:
        if args.command == "compare":  # the message names the scenario file
            say(f"{prog}: error: {exc}", file=sys.stderr)
            return 2
        where = load_scenario(args.file).locate(("monte_carlo", "max_events"))
        say(f"{where}: monte_carlo.max_events: {exc}", file=sys.stderr)
        return 2
    except WorkerError as exc:
        say(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    except CeasefireError as exc:
        say(f"{prog}: error: {exc}" if isinstance(exc, UsageError) else exc, file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        return interrupted(exc)
    except BrokenPipeError:
        return 0
    except Exception as exc:
        problem = compiled.cache_problem(exc)
        if problem is None:
            raise
        say(f"{prog}: error: {problem}", file=sys.stderr)
        return 2
    raise AssertionError(f"unhandled command {args.command}")  # pragma: no cover


def entry() -> NoReturn:  # pragma: no cover - console script (older installs)
    from .console import entry

    entry()


__all__ = ["OUTCOMES", "build_parser", "main"]

if __name__ == "__main__":  # python -m sim.cli
    entry()
