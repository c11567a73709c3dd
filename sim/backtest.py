"""Out-of-sample backtest: simulate historical ceasefires and score them against what happened.

For every case (see :mod:`sim.cases`) and every point of the shared prior's grid, the case's
scenario (with the shared values applied) is simulated with its own seed, a stable hash of
the case name and the backtest seed, so results do not depend on the order or the set of
cases. The shared parameters are then refitted **leave one case out**: the forecast scored
for case ``i`` uses the grid point with the lowest mean log score of the observed outcome
code over the *other* cases (ties: the first grid point in file order), never case ``i``.

Scores (see :mod:`sim.scoring`): Brier and log score of P(collapse in the window) and of
P(triggered), the ranked probability score over the four codes, and the CRPS of the collapse
day censored at the window end. Baselines: the leave-one-out frequency of the other cases'
outcomes (collapse day: the other cases' censored days as fractions of their windows),
"always collapse" (at a uniform time in the window) and uniform over the four codes (a
collapse, 1/4, at a uniform time). Skill ``1 - model / baseline`` with a seeded case
bootstrap 95% interval.

Hooks for richer cases: an outcome's ``phase`` is recorded in each case's entry, and
:func:`observation_scores` is where the scores of recorded observation series (CRPS and
coverage of what monitors reported) will go once scenarios can describe observations.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import scoring
from .cases import Case, SharedPrior, apply_shared, load_cases
from .errors import RunawayError, ScenarioError
from .folders import check_output, default_folder, new_folder, write_json
from .progress import progress_bar
from .runner import simulate
from .scenario import OUTCOMES

DEFAULT_RUNS = 2_000
DEFAULT_SEED = 20_260_101
BOOTSTRAP = 2_000
COLLAPSE = "cancelled_collapse"
TRIGGERED = "triggered"
METRICS = (
    "brier_collapse",
    "brier_triggered",
    "log_collapse",
    "log_triggered",
    "rps",
    "crps_day",
    "crps_fraction",
)
BASELINES = ("loo_frequency", "always_collapse", "uniform")
REFERENCE = "loo_frequency"


def case_seed(name: str, seed: int) -> int:
    """The seed of one case: a stable hash of its name and the backtest seed."""
    digest = hashlib.sha256(f"{name}\x00{seed}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % 2**63


def grid_points(shared: SharedPrior) -> list[dict[str, float]]:
    """Every combination of the shared parameters' grids (one empty point when none)."""
    keys = [p.key for p in shared.params]
    return [
        dict(zip(keys, v, strict=True)) for v in itertools.product(*(p.grid for p in shared.params))
    ]


class Forecast:
    """A case's simulated outcome distribution and sorted censored collapse days."""

    def __init__(self, p: dict[str, float], days: np.ndarray, by: dict[str, float]) -> None:
        self.p = p
        self.days = days
        self.by = by

    @classmethod
    def simulate(
        cls, case: Case, values: dict[str, float], runs: int, seed: int, engine: str
    ) -> Forecast:
        scenario = apply_shared(case.scenario, values)
        try:
            results = simulate(scenario, runs, seed, engine=engine, progress=False)
        except RunawayError as exc:
            where = case.scenario.locate(("monte_carlo", "max_events"))
            raise ScenarioError(str(exc), location=where, key="monte_carlo.max_events") from None
        cols = results.columns
        assert cols is not None  # simulate keeps per-run rows by default
        counts = np.bincount(cols.outcome, minlength=len(OUTCOMES))
        p = {code: float(counts[i] / runs) for i, code in enumerate(OUTCOMES)}
        days = np.sort(np.where(np.isnan(cols.collapse_time), case.window, cols.collapse_time))
        by = {a: n / runs for a, n in results.collapse_by_actor().items() if n}
        return cls(p, days, by)


def case_scores(p: dict[str, float], crps: float, case: Case) -> dict[str, float]:
    """Every metric of one forecast ``p`` (and its collapse-day CRPS) for one case."""
    observed = case.outcome.outcome
    collapsed, triggered = observed == COLLAPSE, observed == TRIGGERED
    return {
        "brier_collapse": scoring.brier(p.get(COLLAPSE, 0.0), collapsed),
        "brier_triggered": scoring.brier(p.get(TRIGGERED, 0.0), triggered),
        "log_collapse": scoring.log_score(p.get(COLLAPSE, 0.0), collapsed),
        "log_triggered": scoring.log_score(p.get(TRIGGERED, 0.0), triggered),
        "rps": scoring.rps(p, observed),
        "crps_day": crps,
        "crps_fraction": crps / case.window,
    }


def baseline_scores(cases: list[Case], i: int) -> dict[str, dict[str, Any]]:
    """The three baselines' forecasts and scores for case ``i``."""
    case = cases[i]
    others = [c for j, c in enumerate(cases) if j != i]
    freq = {code: sum(c.outcome.outcome == code for c in others) / len(others) for code in OUTCOMES}
    fractions = np.array([c.observed_day / c.window for c in others])
    y, w = case.observed_day, case.window
    uniform = {code: 1 / len(OUTCOMES) for code in OUTCOMES}
    always = {code: float(code == COLLAPSE) for code in OUTCOMES}
    return {
        "loo_frequency": {
            "p": freq,
            **case_scores(freq, scoring.crps_ensemble(fractions * w, y), case),
        },
        "always_collapse": {
            "p": always,
            **case_scores(always, scoring.crps_uniform_collapse(1.0, w, y), case),
        },
        "uniform": {
            "p": uniform,
            **case_scores(uniform, scoring.crps_uniform_collapse(0.25, w, y), case),
        },
    }


def observation_scores(case: Case, forecast: Forecast) -> dict[str, Any]:
    """Scores of the case's recorded observation series (CRPS, coverage): none yet.

    Hook: scenarios can say how monitors report events (``observations:``, scored for one
    scenario by ``ceasefire check``), but no case records a monitor's counts yet. Once cases
    do, score each series here against the runs of ``forecast`` and return ``{series:
    {"crps_mean", "coverage50", "coverage90"}}``; the result is stored under the case's
    ``observations`` key."""
    return {}


def run_backtest(
    cases: list[Case],
    shared: SharedPrior,
    *,
    runs: int = DEFAULT_RUNS,
    seed: int = DEFAULT_SEED,
    engine: str = "fast",
    n_boot: int = BOOTSTRAP,
    progress: bool | None = None,
) -> dict[str, Any]:
    """Simulate and score every case; return the content of ``backtest.json``.

    Cases are taken in name order, so the result does not depend on the order given."""
    cases = sorted(cases, key=lambda c: c.name)
    points = grid_points(shared)
    seeds = {c.name: case_seed(c.name, seed) for c in cases}
    bar = progress_bar(total=len(cases) * len(points), unit="sim", progress=progress)
    forecasts: list[list[Forecast]] = []
    with bar:
        for case in cases:
            row = []
            for point in points:
                row.append(Forecast.simulate(case, point, runs, seeds[case.name], engine))
                bar.update(1)
            forecasts.append(row)
    loss = np.array(
        [
            [scoring.log_score_code(f.p, c.outcome.outcome) for f in row]
            for c, row in zip(cases, forecasts, strict=True)
        ]
    )
    out_cases: dict[str, Any] = {}
    table: dict[str, list[dict[str, float]]] = {"model": [], **{b: [] for b in BASELINES}}
    g0 = points.index(shared.prior())  # the prior values: a diagnostic, never refitted
    at_prior: list[dict[str, float]] = []
    for i, case in enumerate(cases):
        others = np.delete(loss, i, axis=0).mean(axis=0)
        g = int(np.argmin(others))  # first minimum: grid order breaks ties
        f = forecasts[i][g]
        model = case_scores(
            f.p, scoring.crps_ensemble(f.days, case.observed_day, presorted=True), case
        )
        f0 = forecasts[i][g0]
        prior = case_scores(
            f0.p, scoring.crps_ensemble(f0.days, case.observed_day, presorted=True), case
        )
        at_prior.append(prior)
        base = baseline_scores(cases, i)
        table["model"].append(model)
        for b in BASELINES:
            table[b].append(base[b])
        out_cases[case.name] = {
            "p": f.p,
            "observed": case.outcome.outcome,
            **model,
            "collapse_day": case.outcome.collapse_day,
            "collapsed_by": case.outcome.collapsed_by,
            "phase": case.outcome.phase,
            "window_days": case.window,
            "title": case.scenario.title,
            "start": case.scenario.start.isoformat() if case.scenario.start else None,
            "p_collapsed_by": f.by,
            "shared": points[g],
            "fit_loss_others": float(others[g]),
            "seed": seeds[case.name],
            "baselines": base,
            "at_prior": {"p": f0.p, **prior},
            "observations": observation_scores(case, f),
        }
    scores = {
        who: {m: float(np.mean([row[m] for row in rows])) for m in METRICS}
        for who, rows in table.items()
    }
    indices = scoring.bootstrap_indices(len(cases), n_boot, seed)
    skill: dict[str, Any] = {}
    for m in METRICS:
        ours = np.array([row[m] for row in table["model"]])
        vs = {}
        for b in BASELINES:
            ref = np.array([row[m] for row in table[b]])
            vs[b] = {
                "value": _finite(scoring.skill(ours, ref)),
                "ci95": [_finite(v) for v in scoring.bootstrap_skill(ours, ref, indices)],
            }
        skill[m] = {**vs[REFERENCE], "reference": REFERENCE, "vs": vs}
    return {
        "cases": out_cases,
        "scores": scores,
        "skill": skill,
        "model_at_prior": {
            "scores": {m: float(np.mean([row[m] for row in at_prior])) for m in METRICS},
            "note": "every case with the shared prior values (no refit): a diagnostic of what "
            "the leave-one-out refit changes; not part of the skill scores",
        },
        "runs": runs,
        "seed": seed,
        "engine": engine,
        "shared": {
            "file": shared.file,
            "prior": shared.prior(),
            "grid": {p.key: list(p.grid) for p in shared.params},
            "fit": "leave one case out: the grid point with the lowest mean log score of the "
            "observed outcome code over the other cases (ties: first grid point)",
        },
        "bootstrap": {"resamples": n_boot, "seed": seed, "interval": "percentile 95%"},
        "log_eps": scoring.EPS,
        "rps_order": list(scoring.ORDER),
        "crps": "exact CRPS of the empirical distribution of simulated days, censored at the "
        "window end (not the fair estimator); crps_fraction = crps_day / window_days",
    }


def _finite(x: float) -> float | None:
    return None if x is None or not np.isfinite(x) else float(x)


# --------------------------------------------------------------------------- report


def _pct(x: float) -> str:
    return f"{x:.0%}"


def _skill_text(entry: dict[str, Any]) -> str:
    v, (lo, hi) = entry["value"], entry["ci95"]
    if v is None:
        return "undefined"
    interval = "" if lo is None else f" [{lo:+.2f}, {hi:+.2f}]"
    return f"{v:+.2f}{interval}"


def report_markdown(data: dict[str, Any]) -> str:
    """The one-page report: per-case forecasts, mean scores, skill with intervals."""
    lines = [
        "# Backtest report",
        "",
        f"{len(data['cases'])} historical ceasefires, {data['runs']:,} runs each "
        f"(engine {data['engine']}, seed {data['seed']}). Lower scores are better; skill is "
        "`1 - model / baseline` (positive: the model beats the baseline) with a case-bootstrap "
        "95% interval.",
        "",
        "![forecast beside what happened](figures/cases.png)",
        "",
        "| case | P(triggered) | P(access) | P(violence) | P(collapse) | observed "
        "| Brier (collapse) | RPS | CRPS (days) | shared |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, c in data["cases"].items():
        p = c["p"]
        shared = ", ".join(f"{k}={v:g}" for k, v in c["shared"].items()) or "-"
        day = f" (day {c['collapse_day']:.2f})" if c["collapse_day"] is not None else ""
        lines.append(
            f"| {name} | {_pct(p['triggered'])} | {_pct(p['cancelled_access'])} | "
            f"{_pct(p['cancelled_violence'])} | {_pct(p['cancelled_collapse'])} | "
            f"{c['observed']}{day} | {c['brier_collapse']:.3f} | {c['rps']:.3f} | "
            f"{c['crps_day']:.2f} | {shared} |"
        )
    lines += ["", "## Mean scores", "", "| metric | model | " + " | ".join(BASELINES) + " |"]
    lines.append("|---" * (len(BASELINES) + 2) + "|")
    for m in METRICS:
        row = [f"{data['scores'][who][m]:.3f}" for who in ("model", *BASELINES)]
        lines.append(f"| {m} | " + " | ".join(row) + " |")
    lines += ["", "## Skill of the model against each baseline", ""]
    lines.append("| metric | " + " | ".join(f"vs {b}" for b in BASELINES) + " |")
    lines.append("|---" * (len(BASELINES) + 1) + "|")
    for m in METRICS:
        lines.append(
            f"| {m} | "
            + " | ".join(_skill_text(data["skill"][m]["vs"][b]) for b in BASELINES)
            + " |"
        )
    lines += [
        "",
        "![reliability](figures/reliability.png)",
        "",
        f"Shared parameters refitted leave one case out on the grid {data['shared']['grid']} "
        f"(prior {data['shared']['prior']}). At the prior values, without refitting, the "
        f"mean Brier score of P(collapse) would be "
        f"{data['model_at_prior']['scores']['brier_collapse']:.3f} and of P(triggered) "
        f"{data['model_at_prior']['scores']['brier_triggered']:.3f} (a diagnostic only). "
        f"Log scores clip probabilities to "
        f"[{data['log_eps']}, {1 - data['log_eps']}]. With about ten cases only gross "
        "miscalibration and skill against naive baselines can show; fine calibration cannot.",
        "",
    ]
    return "\n".join(lines)


def text_summary(data: dict[str, Any]) -> str:
    """What the command prints."""
    lines = [
        f"backtest: {len(data['cases'])} cases, {data['runs']:,} runs each, seed {data['seed']}",
        "",
        f"  {'case':<28} {'P(trig)':>7} {'P(coll)':>7}  {'observed':<20} "
        f"{'Brier(c)':>8} {'RPS':>6}",
    ]
    for name, c in data["cases"].items():
        lines.append(
            f"  {name:<28} {c['p']['triggered']:7.1%} {c['p']['cancelled_collapse']:7.1%}  "
            f"{c['observed']:<20} {c['brier_collapse']:8.3f} {c['rps']:6.3f}"
        )
    lines += ["", "  skill (95% interval)      " + "  ".join(f"{'vs ' + b:>24}" for b in BASELINES)]
    for m in METRICS:
        lines.append(
            f"  {m:<24}"
            + "  ".join(f"{_skill_text(data['skill'][m]['vs'][b]):>24}" for b in BASELINES)
        )
    return "\n".join(lines)


def save(data: dict[str, Any], out: Path, command: Sequence[str] | None = None) -> Path:
    """Write ``backtest.json``, ``report.md`` and the figures into a new folder ``out``."""
    from .plots.backtest import cases_figure, reliability_figure
    from .plots.run import save_atomic

    with new_folder(out) as tmp:
        write_json(tmp / "backtest.json", {**data, "command": list(command or [])})
        (tmp / "report.md").write_text(
            report_markdown(data), encoding="utf-8", errors="backslashreplace"
        )
        save_atomic(reliability_figure(data), tmp / "figures" / "reliability.png")
        save_atomic(cases_figure(data), tmp / "figures" / "cases.png")
    return out


# --------------------------------------------------------------------------- command line


def add_arguments(p: argparse.ArgumentParser, positive: Any, non_negative: Any) -> None:
    """The options of ``ceasefire backtest``."""
    p.add_argument(
        "dirs", nargs="+", type=Path, metavar="DIR", help="a case folder or a folder of cases"
    )
    p.add_argument(
        "--runs",
        type=positive,
        default=DEFAULT_RUNS,
        help=f"runs per case (default {DEFAULT_RUNS:,})",
    )
    p.add_argument(
        "--seed", type=non_negative, default=DEFAULT_SEED, help=f"seed (default {DEFAULT_SEED})"
    )
    from .engines import ENGINES

    p.add_argument(
        "--engine", choices=list(ENGINES), default="fast", help="simulation engine (default: fast)"
    )
    p.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="output folder (default results/backtest/<timestamp>-<random>/)",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def command(args: argparse.Namespace, argv: Sequence[str], prog: str = "ceasefire") -> int:
    """``ceasefire backtest``: check every case, simulate, score, write the folder."""
    from .runner import check_arguments

    check_arguments(args.engine, args.runs, 1, args.seed)
    cases, shared = load_cases(list(args.dirs))
    out = args.out if args.out is not None else default_folder("backtest")
    check_output(out)
    data = run_backtest(
        cases,
        shared,
        runs=args.runs,
        seed=args.seed,
        engine=args.engine,
        progress=False if args.quiet else None,
    )
    save(data, out, [prog, *argv])
    print(text_summary(data))
    print(f"\nwrote {out}/ (backtest.json, report.md, figures/)")
    return 0


__all__ = [
    "BASELINES",
    "METRICS",
    "Forecast",
    "add_arguments",
    "baseline_scores",
    "case_scores",
    "case_seed",
    "command",
    "grid_points",
    "observation_scores",
    "report_markdown",
    "run_backtest",
    "save",
]
