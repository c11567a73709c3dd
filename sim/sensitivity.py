"""Global sensitivity analysis (``ceasefire sensitivity``): which uncertain assumption matters
most for the outcome?

The assumptions are the scenario's ``uncertainties``. A design of points in unit coordinates
(Sobol' or Morris, sampled by SALib) is mapped to values by each distribution's quantile
function (:func:`sim.uncertainty.values`), the points that SALib compares (one base sample or
trajectory) are simulated with the same seed and runs (common random numbers,
:func:`sim.experiments.evaluate`), and SALib apportions the variation of two outputs among the
assumptions:

- ``p_triggered``: P(triggered), the chance that the next step starts (or the probability of
  the outcome chosen with ``outcome``: e.g. ``cancelled_collapse``, ``passed:jic``);
- ``holding_days``: the mean collapse day — the expected number of days until the ceasefire
  collapses, counting the whole window for runs in which it does not collapse.

Sobol' gives first-order (``S1``: the share of the output's variance due to the assumption
alone) and total indices (``ST``: including its interactions), each with a 95% bootstrap
confidence half-width. Morris gives ``mu_star`` (the mean absolute elementary effect: how much
the output moves when the assumption goes across its distribution), its 95% half-width, and
``sigma`` (how much that effect depends on the other assumptions). Both work in unit
coordinates, so an assumption's effect is measured over its whole distribution.

Every index is reported beside its Monte Carlo noise floor, measured with a dummy assumption
that only changes the random numbers (:mod:`sim.noise_floor`): the points where the dummy moves
run with a second seed. An index at or below the floor, or whose own 95% interval reaches zero,
is not distinguishable from zero.

A tornado complements them: each assumption at the low and at the high end of its distribution,
the others at the scenario's own values (the baseline).

SALib is an optional dependency (the ``analysis`` extra), imported only here.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from .errors import ScenarioError, UsageError
from .experiments import PointTable, check_outcome, dask_session, evaluate, outcome_label
from .folders import new_folder, write_json
from .frames import text_html
from .noise_floor import (
    DUMMY,
    FLOOR_MEASURES,
    SCALING,
    SCALING_WORDS,
    distinguishable,
    floors,
    fresh_points,
    point_seeds,
    runs_for_floor,
)
from .plots.style import GREY, INK, PALETTE, percent, short, suptitle, tidy
from .scenario import Scenario
from .uncertainty import baseline as scenario_baseline
from .uncertainty import keys as uncertain_keys
from .uncertainty import plain_number
from .uncertainty import values as unit_to_values

METHODS = ("sobol", "morris")
DEFAULT_SAMPLES = {"sobol": 256, "morris": 32}
"""Default ``samples``: Sobol' base samples N (points: N·(k+3) with the noise-floor dummy);
Morris trajectories (N·(k+2))."""
MORRIS_LEVELS = 4
TORNADO_FACTOR = 10
"""The tornado's few points get this many times the runs of the design's points."""
TOP = 1.0 - 1e-9
"""Unit coordinates are clipped to [0, TOP]: continuous distributions never reach their upper
end (a probability may be uniform up to 1 but never equal 1; see ``values_to_check``)."""

OUTPUTS = {
    "p_triggered": "P(triggered)",
    "holding_days": "mean collapse day (days until collapse; the whole window when none)",
}
"""The outputs analysed, with their labels."""


def require_salib() -> Any:
    """Import SALib, or fail with a one-line message naming the extra to install."""
    try:
        import SALib
    except ImportError:
        raise UsageError(
            "sensitivity analysis needs SALib: pip install 'ceasefire-sim[analysis]'"
        ) from None
    return SALib


def design_seed(seed: int, tag: int) -> int:
    """A non-zero seed for SALib's samplers and bootstraps, derived from the run seed (SALib's
    Sobol' analysis ignores a seed of 0)."""
    return int(np.random.SeedSequence([seed, tag]).generate_state(1, np.uint64)[0] % 2**62) + 1


@dataclass
class Sensitivity:
    """The result of :func:`analyse`."""

    scenario: Scenario
    method: str
    samples: int
    keys: tuple[str, ...]
    unit: np.ndarray  # [points, k + 1] design in unit coordinates (the dummy last)
    table: PointTable  # the design points
    indices: dict[str, dict[str, Any] | None]  # output -> {"S1": [...], ...}; None: constant
    dummy: dict[str, dict[str, float] | None]  # output -> the dummy assumption's measures
    tornado: PointTable  # baseline, then (low, high) for each assumption
    tornado_values: np.ndarray  # [k, 2] low and high value of each assumption
    baseline: dict[str, float]
    seed: int
    sample_seed: int
    seeds: np.ndarray  # [points] the seed of each point (sim.noise_floor.point_seeds)
    fresh: np.ndarray  # [points] bool: the dummy has moved (the second seed of its pair)
    elapsed: float
    target_floor: float | None = None  # the floor the user wants advice for (``--floor``)
    outcome: str = "triggered"
    """The outcome whose probability is the output ``p_triggered`` (``--outcome``)."""

    def _repr_html_(self) -> str:
        """What a notebook shows: the table ``ceasefire sensitivity`` prints."""
        return text_html(text(self))

    @property
    def runs(self) -> int:
        return self.table.runs

    @property
    def total_runs(self) -> int:
        return (
            self.runs * self.table.values.shape[0]
            + self.tornado.runs * (self.tornado.values.shape[0])
        )

    def measures(self) -> tuple[str, ...]:
        return ("S1", "S1_conf", "ST", "ST_conf") if self.method == "sobol" else MORRIS_MEASURES

    def floor(self, output: str = "p_triggered") -> dict[str, float] | None:
        """The noise floor of each index measure of ``output`` (None when it is constant)."""
        dummy = self.dummy[output]
        return None if dummy is None else floors(self.method, dummy)

    def above_floor(self, output: str = "p_triggered") -> dict[str, list[bool]] | None:
        """For each index measure, whether each assumption's index is distinguishable from zero
        (above the noise floor, and its own 95% interval clear of zero)."""
        idx, floor = self.indices[output], self.floor(output)
        if idx is None or floor is None:
            return None
        return {
            m: [
                distinguishable(v, floor[m], c)
                for v, c in zip(idx[m], idx[f"{m}_conf"], strict=True)
            ]
            for m in floor
        }

    def advice(self, output: str = "p_triggered") -> dict[str, int] | None:
        """About how many runs per point would bring each floor under :attr:`target_floor`."""
        floor = self.floor(output)
        if floor is None or self.target_floor is None:
            return None
        return {m: runs_for_floor(f, self.runs, self.target_floor, m) for m, f in floor.items()}

    def ranking(self, output: str = "p_triggered") -> list[str]:
        """Assumptions from the most to the least influential (by ST, or mu_star)."""
        idx = self.indices[output]
        if idx is None:
            return list(self.keys)
        score = np.nan_to_num(np.array(idx["ST" if self.method == "sobol" else "mu_star"]))
        return [self.keys[i] for i in np.argsort(-score, kind="stable")]

    def tornado_p(self, output: str = "p_triggered") -> tuple[float, np.ndarray]:
        """The baseline value of ``output`` and ``[k, 2]`` values at each assumption's ends."""
        y = _output(self.tornado, output, self.outcome)
        return float(y[0]), y[1:].reshape(-1, 2)

    def labels(self) -> dict[str, str]:
        """:data:`OUTPUTS` with ``p_triggered`` named for the analysed outcome (and, with
        phases, what a run that did not collapse counts)."""
        labels = {**OUTPUTS, "p_triggered": outcome_label(self.outcome)}
        if self.scenario.phases is not None:
            labels["holding_days"] = (
                "mean collapse day (days until collapse; when none, the longest the agreement "
                f"can last: {self.scenario.horizon} days with every extension)"
            )
        return labels

    def to_json(self, command: list[str] | None = None) -> dict[str, Any]:
        from .results import library_versions

        base_p, ends_p = self.tornado_p("p_triggered")
        base_h, ends_h = self.tornado_p("holding_days")
        ci = self.tornado.ci95(self.outcome)
        indices: dict[str, Any] = {}
        noise: dict[str, Any] = {}
        for out, idx in self.indices.items():
            above, floor, dummy = self.above_floor(out), self.floor(out), self.dummy[out]
            if idx is None or above is None or floor is None or dummy is None:
                indices[out] = noise[out] = None
                continue
            indices[out] = {
                key: {m: _num(idx[m][j]) for m in self.measures()}
                | {f"{m}_distinguishable": above[m][j] for m in above}
                for j, key in enumerate(self.keys)
            }
            advice = self.advice(out)
            noise[out] = {
                "floor": {m: _num(f) for m, f in floor.items()},
                "dummy": {m: _num(dummy[m]) for m in self.measures()},
                "above_floor": {
                    m: [k for k, a in zip(self.keys, above[m], strict=True) if a] for m in above
                },
                "scaling": {m: SCALING_WORDS[SCALING[m]] for m in floor},
                "advice": None
                if advice is None
                else {"target": self.target_floor, "runs_per_point": advice},
            }
        dists = self.scenario.uncertainties
        return {
            "scenario": self.scenario.name,
            "title": self.scenario.title,
            "method": self.method,
            "samples": self.samples,
            "points": int(self.table.values.shape[0]),
            "runs_per_point": self.runs,
            "total_runs": self.total_runs,
            "seed": self.seed,
            "sample_seed": self.sample_seed,
            "engine": self.table.engine,
            "elapsed_seconds": round(self.elapsed, 3),
            "outcome": self.outcome,
            "outputs": self.labels(),
            "assumptions": {
                key: {
                    "distribution": dists[key].model_dump(mode="json"),
                    "baseline": _num(self.baseline[key]),
                }
                for key in self.keys
            },
            "measures": _MEASURE_NOTES[self.method],
            "indices": indices,
            "noise_floor": {
                "note": _FLOOR_NOTE,
                "dummy": DUMMY,
                "seeds": "each base sample (Sobol') or trajectory (Morris) has two seeds derived "
                "from seed: one for its points where the dummy has not moved, one for those where "
                "it has (points.csv lists each point's)",
                "dummy_points": int(self.fresh.sum()),
                "outputs": noise,
            },
            "ranking": {out: self.ranking(out) for out in OUTPUTS},
            "tornado": {
                "note": "each assumption at the low and high end of its distribution, the "
                "others at the baseline (the scenario's own values)",
                "runs_per_point": self.tornado.runs,
                "baseline": {"p_triggered": base_p, "holding_days": base_h},
                "assumptions": {
                    key: {
                        "low": _num(self.tornado_values[j, 0]),
                        "high": _num(self.tornado_values[j, 1]),
                        "p_triggered": [float(x) for x in ends_p[j]],
                        "p_triggered_ci95": [
                            [float(x) for x in ci[1 + 2 * j]],
                            [float(x) for x in ci[2 + 2 * j]],
                        ],
                        "holding_days": [float(x) for x in ends_h[j]],
                    }
                    for j, key in enumerate(self.keys)
                },
            },
            "versions": library_versions(),
            "command": command,
            "resolved_scenario": self.scenario.model_dump(mode="json"),
        }


MORRIS_MEASURES = ("mu_star", "mu_star_conf", "sigma", "mu")
_MEASURE_NOTES = {
    "sobol": {
        "S1": "first-order index: share of the output's variance due to the assumption alone",
        "S1_conf": "half-width of the 95% bootstrap confidence interval of S1",
        "ST": "total index: share of the variance involving the assumption (with interactions)",
        "ST_conf": "half-width of the 95% bootstrap confidence interval of ST",
    },
    "morris": {
        "mu_star": "mean absolute elementary effect (output change over the whole distribution "
        "of the assumption, in unit coordinates)",
        "mu_star_conf": "half-width of the 95% bootstrap confidence interval of mu_star",
        "sigma": "standard deviation of the elementary effects (interactions, non-linearity)",
        "mu": "mean elementary effect (signed)",
    },
}


_FLOOR_NOTE = (
    "Monte Carlo noise floor: the upper end of the 95% interval of the index of a dummy "
    "assumption that only changes the random numbers (the points where it moves are simulated "
    "with other seeds; its true index is 0). An index at or below the floor is not "
    "distinguishable from zero (<measure>_distinguishable false). scaling: how the floor falls "
    "with more runs per point; advice: about how many runs per point would bring it under the "
    "target (--floor)."
)


def _num(x: float) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def _output(table: PointTable, output: str, outcome: str = "triggered") -> np.ndarray:
    if output == "p_triggered":
        return table.p(outcome)
    if output == "holding_days":
        return np.asarray(table.holding_days, float)
    raise UsageError(f"unknown output '{output}' (choose from {', '.join(OUTPUTS)})")


def _take(table: PointTable, rows: slice) -> PointTable:
    return dataclasses.replace(
        table,
        values=table.values[rows],
        counts=table.counts[rows],
        holding_days=table.holding_days[rows],
        violations=table.violations[rows],
        deliveries=table.deliveries[rows],
        reached=None if table.reached is None else table.reached[rows],
        passed=None if table.passed is None else table.passed[rows],
    )


def problem(scenario: Scenario) -> dict[str, Any]:
    """The SALib problem: the uncertain assumptions in unit coordinates, and last the dummy
    assumption that measures the noise floor (:mod:`sim.noise_floor`)."""
    names = [*uncertain_keys(scenario), DUMMY]
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def check(scenario: Scenario, method: str, samples: int, target_floor: float | None = None) -> None:
    """Fail early (before simulating) on an unusable scenario, design or target floor."""
    if target_floor is not None and not (math.isfinite(target_floor) and target_floor > 0):
        raise UsageError(f"--floor must be a positive number, not {target_floor}")
    if method not in METHODS:
        raise UsageError(f"unknown method '{method}' (choose from {', '.join(METHODS)})")
    k = len(scenario.uncertainties)
    if k < 2:
        raise UsageError(
            f"{scenario.file_label()}: sensitivity analysis needs at least 2 uncertain assumptions "
            f"(the scenario's uncertainties: block has {k})"
        )
    if method == "sobol" and (samples < 2 or samples & (samples - 1)):
        raise UsageError(
            f"--samples for sobol must be a power of 2 (e.g. 256, 1024), not {samples}"
        )
    if method == "morris" and samples < 2:
        raise UsageError(f"--samples for morris must be at least 2 trajectories, not {samples}")


def ends(scenario: Scenario) -> np.ndarray:
    """``[k, 2]``: the low and high end of each assumption's distribution (its support; an end
    that is not a valid value, e.g. a probability of exactly 1, is replaced by the highest value
    the distribution draws)."""
    base = scenario.model_copy(update={"uncertainties": {}})
    out = []
    for key, dist in scenario.uncertainties.items():
        pair = []
        for end, u in zip(dist.support(), (0.0, TOP), strict=True):
            try:
                base.with_overrides({key: plain_number(end)})
            except ScenarioError:
                end = float(dist.ppf(np.array([u]))[0])
            pair.append(float(end))
        out.append(pair)
    return np.array(out, float)


def analyse(
    scenario: Scenario,
    method: str = "sobol",
    samples: int | None = None,
    *,
    runs: int = 1_000,
    seed: int,
    engine: str = "fast",
    workers: int = 1,
    dask: str | None = None,
    progress: bool | None = None,
    tornado_runs: int | None = None,
    outcome: str = "triggered",
    target_floor: float | None = None,
) -> Sensitivity:
    """Sobol' or Morris sensitivity of P(triggered) and the mean collapse day to the scenario's
    uncertain assumptions, plus a tornado; all points simulated with common random numbers.

    ``samples``: Sobol' base samples N, a power of 2 (N·(k+3) points), or Morris trajectories
    (N·(k+2) points); default :data:`DEFAULT_SAMPLES`. ``outcome`` (an outcome code,
    ``reached:<phase>`` or ``passed:<phase>``) replaces P(triggered) by P(outcome). The
    tornado's 2k+1 points get
    ``tornado_runs`` runs each (default :data:`TORNADO_FACTOR` times ``runs``: they are few, and
    small effects need the precision).

    The design has one more column, a dummy assumption that only changes the random numbers:
    its indices give the noise floor of every index (:mod:`sim.noise_floor`).
    ``target_floor``: a floor for which :meth:`Sensitivity.advice` says how many runs per
    point would be needed.
    """
    samples = DEFAULT_SAMPLES.get(method, 0) if samples is None else int(samples)
    check(scenario, method, samples, target_floor)
    check_outcome(scenario, outcome)
    require_salib()
    keys = uncertain_keys(scenario)
    prob = problem(scenario)
    sample_seed = design_seed(seed, 1)
    if method == "sobol":
        from SALib.sample import sobol as sobol_sample

        unit = sobol_sample.sample(
            prob, samples, calc_second_order=False, scramble=True, seed=sample_seed
        )
    else:
        from SALib.sample import morris as morris_sample

        unit = morris_sample.sample(prob, samples, num_levels=MORRIS_LEVELS, seed=sample_seed)
    k = len(keys)
    fresh = fresh_points(method, unit)
    design = unit_to_values(scenario, np.clip(unit[:, :k], 0.0, TOP))
    seeds = point_seeds(method, unit, seed)

    base = scenario_baseline(scenario)
    dists = scenario.uncertainties
    base_row = np.array(
        [
            base[k] if not math.isnan(base[k]) else float(dists[k].ppf(np.array([0.5]))[0])
            for k in keys
        ]
    )
    low_high = ends(scenario)
    torn = [base_row]
    for j in range(len(keys)):
        for end in low_high[j]:
            row = base_row.copy()
            row[j] = end
            torn.append(row)
    with dask_session(dask, workers) as client:  # one cluster for both experiments
        common = {"seed": seed, "engine": engine, "workers": workers, "dask": client}
        points = evaluate(
            scenario, keys, design, runs=runs, progress=progress, seeds=seeds, **common
        )
        tornado = evaluate(
            scenario,
            keys,
            np.array(torn),
            runs=tornado_runs or TORNADO_FACTOR * runs,
            progress=progress,
            **common,
        )
    both = {
        out: _indices(method, prob, unit, _output(points, out, outcome), design_seed(seed, 2))
        for out in OUTPUTS
    }
    indices = {out: _split(res, k)[0] for out, res in both.items()}
    dummy = {out: _split(res, k)[1] for out, res in both.items()}
    return Sensitivity(
        scenario=scenario,
        method=method,
        samples=samples,
        keys=keys,
        unit=unit,
        table=points,
        indices=indices,
        dummy=dummy,
        tornado=tornado,
        tornado_values=low_high,
        baseline={k: float(v) for k, v in zip(keys, base_row, strict=True)},
        seed=seed,
        sample_seed=sample_seed,
        seeds=seeds,
        fresh=fresh,
        elapsed=points.elapsed + tornado.elapsed,
        outcome=outcome,
        target_floor=target_floor,
    )


def _split(
    res: dict[str, list[float]] | None, k: int
) -> tuple[dict[str, list[float]] | None, dict[str, float] | None]:
    """The measures of the ``k`` assumptions, and those of the dummy (the last column)."""
    if res is None:
        return None, None
    return {m: v[:k] for m, v in res.items()}, {m: v[k] for m, v in res.items()}


def _indices(
    method: str, prob: dict[str, Any], unit: np.ndarray, y: np.ndarray, seed: int
) -> dict[str, list[float]] | None:
    """SALib's indices of one output (None when the output is the same at every point)."""
    if not np.ptp(y) > 0:
        return None
    if method == "sobol":
        from SALib.analyze import sobol

        res = sobol.analyze(prob, y, calc_second_order=False, conf_level=0.95, seed=seed)
        names = ("S1", "S1_conf", "ST", "ST_conf")
    else:
        from SALib.analyze import morris

        res = morris.analyze(prob, unit, y, conf_level=0.95, num_levels=MORRIS_LEVELS, seed=seed)
        names = MORRIS_MEASURES
    return {m: [float(x) for x in np.asarray(res[m], float)] for m in names}


# --------------------------------------------------------------------------- text


def text(sens: Sensitivity) -> str:
    """The ranking tables ``ceasefire sensitivity`` prints, each index with the noise floor."""
    s = sens.scenario
    t = sens.table
    width = max(24, *(len(k) for k in sens.keys), len(DUMMY))
    rate = sens.total_runs / sens.elapsed if sens.elapsed else float("nan")
    lines = [
        f"{s.title} ({s.name}): {sens.method} sensitivity over {len(sens.keys)} assumptions",
        f"{sens.samples:,} {'base samples' if sens.method == 'sobol' else 'trajectories'}, "
        f"{t.values.shape[0]:,} points × {t.runs:,} runs + {sens.tornado.values.shape[0]} "
        f"tornado points × {sens.tornado.runs:,} ({sens.total_runs:,} runs), seed {sens.seed}, "
        f"engine {t.engine}, {sens.elapsed:.1f} s ({rate:,.0f} runs/s)",
    ]
    base_p, ends_p = sens.tornado_p("p_triggered")
    p_label = outcome_label(sens.outcome)
    sobol = sens.method == "sobol"
    measures = FLOOR_MEASURES[sens.method]
    for out, label in sens.labels().items():
        lines += ["", f"{label}:"]
        idx, dummy, floor, above = (
            sens.indices[out],
            sens.dummy[out],
            sens.floor(out),
            sens.above_floor(out),
        )
        if idx is None or dummy is None or floor is None or above is None:
            y = _output(t, out, sens.outcome)
            lines.append(f"  the same at every point ({y[0]:.4g}): nothing to apportion")
            continue
        if sobol:
            head = f"  {'#':>2}  {'assumption':<{width}}  {'S1':>16}     {'ST':>16}   "
        else:
            head = f"  {'#':>2}  {'assumption':<{width}}  {'mu_star':>18}     {'sigma':>7}"
        if out == "p_triggered":
            head += f"  tornado: {p_label} at the low → high end"
        lines.append(head)

        def cells(m: dict[str, Any], mark: dict[str, bool] | None = None) -> str:
            def flag(name: str) -> str:
                return "   " if mark is None or mark[name] else " ≈0"

            if sobol:
                return (
                    f"{m['S1']:7.3f} ± {m['S1_conf']:<6.3f}{flag('S1')}  "
                    f"{m['ST']:7.3f} ± {m['ST_conf']:<6.3f}{flag('ST')}"
                )
            return (
                f"{m['mu_star']:8.4f} ± {m['mu_star_conf']:<7.4f}{flag('mu_star')}  "
                f"{m['sigma']:7.4f}"
            )

        for rank, key in enumerate(sens.ranking(out), 1):
            j = sens.keys.index(key)
            row = f"  {rank:>2}  {key:<{width}}  " + cells(
                {m: idx[m][j] for m in idx}, {m: above[m][j] for m in measures}
            )
            if out == "p_triggered":
                lo, hi = sens.tornado_values[j]
                row += f"  {ends_p[j, 0]:6.1%} → {ends_p[j, 1]:6.1%}  (at {lo:.4g} → {hi:.4g})"
            lines.append(row.rstrip())
        lines.append(f"      {DUMMY:<{width}}  {cells(dummy)}".rstrip())
        if sobol:
            row = f"{floor['S1']:7.3f}{'':12}{floor['ST']:7.3f}"
        else:
            row = f"{floor['mu_star']:8.4f}"
        lines.append(f"      {'noise floor':<{width}}  {row}")
        main = measures[-1]
        n_above = sum(above[main])
        lines.append(
            f"  distinguishable from zero ({main}): {n_above} of {len(sens.keys)} assumptions"
            + (
                ""
                if n_above == len(sens.keys)
                else "; ≈0: at or below the noise floor, or its 95% interval reaches zero"
            )
        )
        advice = sens.advice(out)
        if advice is not None and sens.target_floor is not None:
            lines.append(_advice_line(advice, floor, sens.runs, sens.target_floor))
    lines.append(f"\nbaseline (the scenario's own values): {p_label} {base_p:.1%}")
    if sobol:
        lines.append("S1: variance share of the assumption alone; ST: with its interactions; ± 95%")
    else:
        lines.append("mu_star: mean |effect| of moving the assumption across its distribution")
    lines.append(
        f"noise floor: the upper end of the 95% interval of the dummy {DUMMY}, which changes "
        "only the random numbers (true index 0); it falls as "
        + ", ".join(f"{SCALING_WORDS[SCALING[m]]} ({m})" for m in measures)
    )
    return "\n".join(lines)


def _advice_line(advice: dict[str, int], floor: dict[str, float], runs: int, target: float) -> str:
    """The runs per point needed to bring the main floor (ST or mu*) under ``target``."""
    main = list(advice)[-1]
    if floor[main] <= target:
        head = f"  the noise floor ({main}) is already under {target:g} at {runs:,} runs per point"
    else:
        head = (
            f"  about {advice[main]:,} runs per point would bring the noise floor ({main}) "
            f"under {target:g}"
        )
    rest = [f"{m}: {n:,}" for m, n in advice.items() if m != main]
    if "S1" in advice and advice["S1"] > runs:  # S1's floor also falls with more samples
        rest.append("or more --samples: S1's floor falls as 1/√samples too")
    return head + (f" ({'; '.join(rest)})" if rest else "")


# --------------------------------------------------------------------------- figures


def _label(key: str, width: int = 44) -> str:
    """A key path for an axis: whole when it fits, else its end (the informative part)."""
    return key if len(key) <= width else "…" + key[-(width - 1) :]


def indices_figure(sens: Sensitivity) -> Figure:
    """Sobol': S1 and ST with 95% intervals, side by side per assumption, sorted by ST, one
    panel per output. Morris: mu_star with its 95% interval, and sigma."""
    k = len(sens.keys)
    outputs = list(OUTPUTS)
    rows = [k if sens.indices[out] is not None else 1.2 for out in outputs]
    fig = Figure(figsize=(8.8, 1.9 + 0.5 * sum(rows)), layout="constrained")
    axes = fig.subplots(len(outputs), 1, height_ratios=rows)
    sobol = sens.method == "sobol"
    first, second = ("S1", "ST") if sobol else ("mu_star", "sigma")
    names = {
        "S1": "S1, first order: the assumption alone",
        "ST": "ST, total: with its interactions",
        "mu_star": "mu*: mean |elementary effect| (95% interval)",
        "sigma": "sigma: spread of the effects (interactions)",
    }
    for ax, out in zip(axes, outputs, strict=True):
        idx = sens.indices[out]
        ax.set_title(sens.labels()[out], fontsize=9.5, loc="left")
        tidy(ax)
        if idx is None:
            y = _output(sens.table, out, sens.outcome)
            ax.text(
                0.5,
                0.5,
                f"{y[0]:.4g} at every point: no variation to apportion",
                transform=ax.transAxes,
                ha="center",
                va="center",
                color=GREY,
                fontsize=9,
            )
            ax.set_xticks([])
            ax.set_yticks([])
            ax.spines[["left", "bottom"]].set_visible(False)
            continue
        order = [sens.keys.index(key) for key in sens.ranking(out)]
        y = np.arange(k)[::-1]
        h = 0.38
        a = np.array([idx[first][j] for j in order])
        b = np.array([idx[second][j] for j in order])
        a_err = np.array([idx[f"{first}_conf"][j] for j in order])
        b_err = np.array([idx["ST_conf"][j] for j in order]) if sobol else np.zeros(k)
        floor = sens.floor(out) or {}
        above = sens.above_floor(out) or {}
        colours = {first: PALETTE[0], second: PALETTE[1] if sobol else PALETTE[5]}
        for measure, x, err, dy in ((first, a, a_err, h / 2), (second, b, b_err, -h / 2)):
            bars = ax.barh(
                y + dy,
                x,
                height=h,
                color=colours[measure],
                xerr=err if measure != "sigma" else None,
                capsize=2.5,
                error_kw={"ecolor": INK, "linewidth": 0.9},
                label=names[measure],
                gid=f"{out}:{measure}",
            )
            if measure in above:
                for bar, j in zip(bars.patches, order, strict=True):
                    if not above[measure][j]:  # not distinguishable from zero: hatched, pale
                        bar.set(facecolor="white", edgecolor=colours[measure], hatch="/////")
                        bar.set_gid(f"{out}:{measure}:below_floor")
                ax.axvline(
                    floor[measure],
                    color=colours[measure],
                    linestyle="--" if measure == first else ":",
                    linewidth=1.2,
                    label=f"noise floor of {_SHORT[measure]}",
                    gid=f"{out}:{measure}:floor",
                )
        ax.set_yticks(y, [_label(sens.keys[j]) for j in order], fontsize=8.5)
        ax.tick_params(axis="y", length=0)
        ax.axvline(0, color=INK, linewidth=0.8)
        lo = float(np.nanmin(np.concatenate([a - a_err, b - b_err, [0.0]])))
        hi = float(np.nanmax(np.concatenate([a + a_err, b + b_err, list(floor.values())])))
        ax.set_xlim(lo - 0.02 * (hi - lo), hi + 0.03 * (hi - lo))
        if sobol:
            ax.set_xlabel("share of the output's variance (bars: 95% intervals)", fontsize=8.5)
        else:
            unit = "probability" if out == "p_triggered" else "days"
            ax.set_xlabel(
                f"effect on the output ({unit}) of moving the assumption across its distribution",
                fontsize=8.5,
            )
    handles, labels = axes[outputs.index(_first_analysed(sens))].get_legend_handles_labels()
    if handles:
        from matplotlib.patches import Patch

        order = sorted(range(len(labels)), key=lambda i: labels[i].startswith("noise floor"))
        handles, labels = [handles[i] for i in order], [labels[i] for i in order]
        handles.append(Patch(facecolor="white", edgecolor=GREY, hatch="/////"))
        labels.append(
            "hatched: not distinguishable from zero (under the floor, or its interval reaches 0)"
        )
        fig.legend(
            handles, labels, loc="outside lower center", ncols=2, frameon=False, fontsize=8.5
        )
    what = (
        f"{'Sobol’' if sobol else 'Morris'} sensitivity indices — "
        f"{sens.table.values.shape[0]:,} points × {sens.runs:,} runs, seed {sens.seed} "
        "(common random numbers)\nnoise floor: the upper end of the 95% interval of a dummy "
        "assumption that only changes the random numbers"
    )
    suptitle(fig, sens.scenario.title, what)
    return fig


_SHORT = {"S1": "S1", "ST": "ST", "mu_star": "mu*"}


def _first_analysed(sens: Sensitivity) -> str:
    return next((out for out in OUTPUTS if sens.indices[out] is not None), next(iter(OUTPUTS)))


def tornado_figure(sens: Sensitivity) -> Figure:
    """P(triggered) with each assumption at the low and the high end of its distribution, the
    others at the baseline; widest at the top. The numbers are the assumption's values."""
    base_p, ends_p = sens.tornado_p("p_triggered")
    k = len(sens.keys)
    width = np.abs(ends_p[:, 1] - ends_p[:, 0])
    order = np.argsort(-width, kind="stable")
    fig = Figure(figsize=(8.8, 1.9 + 0.42 * k), layout="constrained")
    ax = fig.add_subplot()
    y = np.arange(k)[::-1]
    colours = (PALETTE[0], PALETTE[1])
    lo_all = min(float(ends_p.min()), base_p)
    hi_all = max(float(ends_p.max()), base_p)
    span = max(hi_all - lo_all, 0.02)
    gap = 0.012 * span
    for yi, j in zip(y, order, strict=True):
        for end in (0, 1):
            ax.barh(
                yi,
                ends_p[j, end] - base_p,
                left=base_p,
                height=0.6,
                color=colours[end],
                gid=f"tornado:{sens.keys[j]}:{'low' if end == 0 else 'high'}",
            )
        # the value of the end with the lower P(triggered) left of the bar, the other right
        left_end = 0 if ends_p[j, 0] <= ends_p[j, 1] else 1
        row_lo = min(ends_p[j].min(), base_p)
        row_hi = max(ends_p[j].max(), base_p)
        for end, x, ha in ((left_end, row_lo - gap, "right"), (1 - left_end, row_hi + gap, "left")):
            ax.text(
                x,
                yi,
                f"{sens.tornado_values[j, end]:.3g}",
                va="center",
                ha=ha,
                fontsize=7.5,
                color=colours[end],
            )
    ax.axvline(base_p, color=INK, linewidth=1)
    ax.set_yticks(y, [_label(sens.keys[j]) for j in order], fontsize=8.5)
    ax.tick_params(axis="y", length=0)
    pad = 0.13 * span
    ax.set_xlim(lo_all - pad, hi_all + pad)
    shown = (max(lo_all - pad, 0.0), min(hi_all + pad, 1.0))
    ax.set_xticks([t for t in ax.get_xticks() if shown[0] - 1e-9 <= t <= shown[1] + 1e-9])
    ax.spines["bottom"].set_bounds(*shown)
    ax.spines["left"].set_visible(False)
    percent(ax, "x", decimals=0 if span >= 0.05 else 1)
    ax.set_xlabel(
        f"{outcome_label(sens.outcome)}; baseline {base_p:.1%} (the scenario's own values)",
        fontsize=9,
    )
    from matplotlib.patches import Patch

    fig.legend(
        handles=[
            Patch(color=colours[0], label="assumption at the low end of its distribution"),
            Patch(color=colours[1], label="assumption at the high end of its distribution"),
        ],
        loc="outside lower center",
        ncols=2,
        frameon=False,
        fontsize=8.5,
    )
    tidy(ax)
    suptitle(
        fig,
        sens.scenario.title,
        f"Tornado: P({short(sens.scenario.trigger.label, 50)}) at each assumption's low and "
        f"high end\nthe others at baseline; {sens.tornado.runs:,} runs per point, seed "
        f"{sens.seed} (common random numbers)\nat the bars: the assumption's value",
    )
    return fig


def save(
    sens: Sensitivity,
    path: str | Path,
    *,
    plots: bool = True,
    command: list[str] | None = None,
) -> Path:
    """Write ``sensitivity.json``, ``points.csv`` (with the seed of each point) and
    ``figures/{indices,tornado}.png``."""
    from .sweep import csv_text

    with new_folder(path) as tmp:
        write_json(tmp / "sensitivity.json", sens.to_json(command))
        (tmp / "points.csv").write_text(
            csv_text(sens.table, {"seed": sens.seeds.tolist()}),
            encoding="utf-8",
            errors="backslashreplace",
        )
        if plots:
            (tmp / "figures").mkdir()
            indices_figure(sens).savefig(tmp / "figures" / "indices.png", dpi=150)
            tornado_figure(sens).savefig(tmp / "figures" / "tornado.png", dpi=150)
    return Path(path)


__all__ = ["METHODS", "OUTPUTS", "Sensitivity", "analyse", "save", "text"]
