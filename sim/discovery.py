"""Scenario discovery (``ceasefire discover``): where, among the uncertain assumptions, does
the deal work?

Points are sampled from the scenario's ``uncertainties`` (a Latin hypercube in unit coordinates,
mapped to values by each distribution's quantile function) and simulated with common random
numbers (:func:`sim.experiments.evaluate`). A point is a *success* when its P(triggered) (or
the probability of the outcome chosen with ``outcome``) is at least a threshold (by default the
75th percentile of the sampled values). A shallow
scikit-learn decision tree separates successes from the rest; among its leaves holding a
reasonable share of the successes, the one with the highest share of successes is the *box*: a
range for each assumption (the conditions on the leaf's decision path).

- **coverage**: the share of all successes that lie inside the box;
- **density**: the share of the points inside the box that are successes.

scikit-learn is an optional dependency (the ``analysis`` extra), imported only here.
"""

from __future__ import annotations

import inspect
import math
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from .distributions import Choice
from .errors import UsageError
from .experiments import PointTable, check_outcome, evaluate, outcome_label
from .folders import new_folder, write_json
from .frames import text_html
from .plots.style import INK, short, suptitle, tidy
from .scenario import Scenario
from .sensitivity import TOP, design_seed
from .uncertainty import keys as uncertain_keys
from .uncertainty import values as unit_to_values

DEFAULT_SAMPLES = 1_000
DEFAULT_QUANTILE = 0.75
MAX_DEPTH = 3
MIN_LEAF_SHARE = 0.03
"""A leaf holds at least this share of the points (and at least 5)."""
MIN_COVERAGE = 0.2
"""The box is chosen among leaves holding at least this share of the successes."""


def require_sklearn() -> Any:
    """Import scikit-learn's tree module, or fail with a one-line message naming the extra."""
    try:
        from sklearn import tree
    except ImportError:
        raise UsageError(
            "scenario discovery needs scikit-learn: pip install 'ceasefire-sim[analysis]'"
        ) from None
    return tree


@dataclass
class Discovery:
    """The result of :func:`discover`."""

    scenario: Scenario
    keys: tuple[str, ...]
    table: PointTable
    threshold: float
    threshold_rule: str
    success: np.ndarray  # [points] bool
    box: np.ndarray  # [k, 2] low and high limit of each assumption (its support if unrestricted)
    support: np.ndarray  # [k, 2]
    restricted: tuple[str, ...]  # assumptions the box restricts, most restricted first
    inside: np.ndarray  # [points] bool
    importances: np.ndarray  # [k] the tree's feature importances
    tree_text: str
    leaves: list[dict[str, Any]]
    seed: int
    sample_seed: int
    samples: int
    outcome: str = "triggered"
    """The outcome whose probability defines a success (``--outcome``)."""

    def _repr_html_(self) -> str:
        """What a notebook shows: the box and its coverage, as ``ceasefire discover`` prints."""
        return text_html(text(self))

    @property
    def coverage(self) -> float:
        n = int(self.success.sum())
        return float((self.success & self.inside).sum() / n) if n else float("nan")

    @property
    def density(self) -> float:
        n = int(self.inside.sum())
        return float((self.success & self.inside).sum() / n) if n else float("nan")

    def restriction(self) -> np.ndarray:
        """The share of each assumption's range that the box cuts away (0: unrestricted)."""
        full = self.support[:, 1] - self.support[:, 0]
        kept = self.box[:, 1] - self.box[:, 0]
        return np.where(full > 0, 1 - kept / np.where(full > 0, full, 1), 0.0)

    def limits(self, key: str) -> str:
        """The box's condition on ``key`` in words: ``[low, high]``, the values allowed for a
        choice, or ``(any)`` when the box does not restrict it."""
        j = self.keys.index(key)
        if key not in self.restricted:
            return "(any)"
        lo, hi = self.box[j]
        dist = self.scenario.uncertainties[key]
        if isinstance(dist, Choice):
            allowed = sorted(
                {v for v in dist.values if (v > lo or v == lo == self.support[j, 0]) and v <= hi}
            )
            return "{" + ", ".join(f"{v:.4g}" for v in allowed) + "}"
        return f"[{lo:.4g}, {hi:.4g}]"

    def range_text(self, key: str) -> str:
        """The values ``key`` may take: ``[low, high]``, or the values of a choice."""
        dist = self.scenario.uncertainties[key]
        if isinstance(dist, Choice):
            return "{" + ", ".join(f"{v:.4g}" for v in sorted(set(dist.values))) + "}"
        lo, hi = self.support[self.keys.index(key)]
        return f"[{lo:.4g}, {hi:.4g}]"

    def axes(self) -> tuple[int, int]:
        """The two assumptions to draw: the most restricted by the box, then by importance."""
        cut = self.restriction()
        order = sorted(range(len(self.keys)), key=lambda j: (-cut[j], -self.importances[j], j))
        return order[0], order[1]

    def to_json(self, command: list[str] | None = None) -> dict[str, Any]:
        from .results import library_versions

        p = self.table.p(self.outcome)
        cut = self.restriction()
        return {
            "scenario": self.scenario.name,
            "title": self.scenario.title,
            "samples": self.samples,
            "sampling": "Latin hypercube in unit coordinates (scipy.stats.qmc), mapped by each "
            "distribution's quantile function",
            "runs_per_point": self.table.runs,
            "total_runs": self.table.runs * self.samples,
            "seed": self.seed,
            "sample_seed": self.sample_seed,
            "engine": self.table.engine,
            "elapsed_seconds": round(self.table.elapsed, 3),
            "outcome": self.outcome,
            "success": f"{outcome_label(self.outcome)} >= {self.threshold:.6g} "
            f"({self.threshold_rule})",
            "threshold": self.threshold,
            "successes": int(self.success.sum()),
            "p_triggered": {
                "mean": float(p.mean()),
                "min": float(p.min()),
                "max": float(p.max()),
                "mean_in_box": float(p[self.inside].mean()) if self.inside.any() else None,
                "mean_outside_box": float(p[~self.inside].mean()) if (~self.inside).any() else None,
            },
            "box": {
                key: {
                    "low": float(self.box[j, 0]),
                    "high": float(self.box[j, 1]),
                    "support": [float(x) for x in self.support[j]],
                    "restricted": key in self.restricted,
                    "share_cut": float(cut[j]),
                }
                for j, key in enumerate(self.keys)
            },
            "restricted": list(self.restricted),
            "points_in_box": int(self.inside.sum()),
            "coverage": self.coverage,
            "density": self.density,
            "method": {
                "model": "sklearn.tree.DecisionTreeClassifier",
                "max_depth": MAX_DEPTH,
                "min_samples_leaf": _min_leaf(self.samples),
                "random_state": 0,
                "box": f"the leaf with the highest density among leaves with coverage >= "
                f"{MIN_COVERAGE:g}",
            },
            "feature_importances": {
                k: float(v) for k, v in zip(self.keys, self.importances, strict=True)
            },
            "leaves": [
                {
                    **{k: v for k, v in leaf.items() if k != "box"},
                    "box": {
                        key: limits
                        for j, (key, limits) in enumerate(leaf["box"].items())
                        if list(limits) != [float(x) for x in self.support[j]]
                    },
                }
                for leaf in self.leaves
            ],
            "tree": self.tree_text,
            "versions": library_versions(),
            "command": command,
            "resolved_scenario": self.scenario.model_dump(mode="json"),
        }


def _min_leaf(n: int) -> int:
    return max(5, math.ceil(MIN_LEAF_SHARE * n))


def latin_hypercube(k: int, n: int, seed: int) -> np.ndarray:
    """``[n, k]`` Latin hypercube sample in unit coordinates (scipy.stats.qmc)."""
    from scipy.stats import qmc

    arg = "rng" if "rng" in inspect.signature(qmc.LatinHypercube).parameters else "seed"
    return qmc.LatinHypercube(d=k, **{arg: np.random.default_rng(seed)}).random(n)


def discover(
    scenario: Scenario,
    samples: int = DEFAULT_SAMPLES,
    threshold: float | None = None,
    *,
    runs: int = 1_000,
    seed: int,
    engine: str = "fast",
    workers: int = 1,
    dask: str | None = None,
    progress: bool | None = None,
    outcome: str = "triggered",
) -> Discovery:
    """Sample ``samples`` points from the uncertainties, simulate them, and find the box of
    assumptions where P(``outcome``) ≥ ``threshold`` is concentrated (``outcome``: an outcome
    code, ``reached:<phase>`` or ``passed:<phase>``)."""
    check(scenario, samples, threshold)
    check_outcome(scenario, outcome)
    label = outcome_label(outcome)
    tree_mod = require_sklearn()
    keys = uncertain_keys(scenario)
    sample_seed = design_seed(seed, 3)
    unit = latin_hypercube(len(keys), samples, sample_seed)
    values = unit_to_values(scenario, np.clip(unit, 0.0, TOP))
    table = evaluate(
        scenario,
        keys,
        values,
        runs=runs,
        seed=seed,
        engine=engine,
        workers=workers,
        dask=dask,
        progress=progress,
    )
    p = table.p(outcome)
    if threshold is None:
        threshold = float(np.quantile(p, DEFAULT_QUANTILE))
        rule = f"the {DEFAULT_QUANTILE:.0%} quantile of the sampled {label}"
    else:
        rule = "given"
    success = p >= threshold
    if success.all() or not success.any():
        how = "every" if success.all() else "no"
        raise UsageError(
            f"{how} sampled point has {label} >= {threshold:.4g} "
            f"(sampled: {p.min():.1%} to {p.max():.1%}); choose a --threshold in between"
        )
    support = np.array([scenario.uncertainties[k].support() for k in keys], float)
    clf = tree_mod.DecisionTreeClassifier(
        max_depth=MAX_DEPTH, min_samples_leaf=_min_leaf(samples), random_state=0
    )
    clf.fit(values, success)
    leaf_of = clf.apply(values)
    leaves: list[dict[str, Any]] = []
    total = int(success.sum())
    for leaf in np.unique(leaf_of):
        mask = leaf_of == leaf
        hits = int(success[mask].sum())
        leaves.append(
            {
                "leaf": int(leaf),
                "points": int(mask.sum()),
                "successes": hits,
                "coverage": hits / total,
                "density": hits / int(mask.sum()),
                "box": _path_box(clf.tree_, int(leaf), keys, support),
            }
        )
    eligible = [lf for lf in leaves if lf["coverage"] >= MIN_COVERAGE] or leaves
    best = max(eligible, key=lambda lf: (lf["density"], lf["coverage"], -lf["leaf"]))
    box = np.array([best["box"][k] for k in keys], float)
    # the box is the leaf's region: the conjunction of its path's conditions ("x <= t" on
    # left branches, "x > t" on right ones), so the points inside are the leaf's points
    inside = leaf_of == best["leaf"]
    cut = 1 - (box[:, 1] - box[:, 0]) / np.where(np.ptp(support, 1) > 0, np.ptp(support, 1), 1)
    restricted = tuple(
        keys[j] for j in sorted(range(len(keys)), key=lambda j: -cut[j]) if cut[j] > 1e-12
    )
    return Discovery(
        scenario=scenario,
        keys=keys,
        table=table,
        threshold=float(threshold),
        threshold_rule=rule,
        success=success,
        box=box,
        support=support,
        restricted=restricted,
        inside=inside,
        importances=np.asarray(clf.feature_importances_, float),
        tree_text=tree_mod.export_text(clf, feature_names=list(keys), decimals=4),
        leaves=leaves,
        seed=seed,
        sample_seed=sample_seed,
        samples=samples,
        outcome=outcome,
    )


def check(scenario: Scenario, samples: int, threshold: float | None) -> None:
    """Fail early (before simulating) on an unusable scenario or settings."""
    k = len(scenario.uncertainties)
    if k < 2:
        raise UsageError(
            f"{scenario.file_label()}: scenario discovery needs at least 2 uncertain assumptions "
            f"(the scenario's uncertainties: block has {k})"
        )
    if samples < 20:
        raise UsageError(f"--samples must be at least 20 points, not {samples}")
    if threshold is not None and not 0 <= threshold <= 1:
        raise UsageError(f"--threshold is a probability in [0, 1], not {threshold:g}")


def _path_box(
    tree: Any, leaf: int, keys: tuple[str, ...], support: np.ndarray
) -> dict[str, list[float]]:
    """The per-assumption limits ``{key: [low, high]}`` of the path from the root to ``leaf``."""
    parent: dict[int, tuple[int, bool]] = {}
    for node in range(tree.node_count):
        left, right = tree.children_left[node], tree.children_right[node]
        if left != -1:
            parent[int(left)] = (node, True)
            parent[int(right)] = (node, False)
    box = {k: [float(support[j, 0]), float(support[j, 1])] for j, k in enumerate(keys)}
    node = leaf
    while node in parent:
        up, is_left = parent[node]
        key = keys[int(tree.feature[up])]
        t = float(tree.threshold[up])
        if is_left:  # x <= t
            box[key][1] = min(box[key][1], t)
        else:  # x > t
            box[key][0] = max(box[key][0], t)
        node = up
    return box


# --------------------------------------------------------------------------- text and figure


def text(d: Discovery) -> str:
    """What ``ceasefire discover`` prints."""
    s = d.scenario
    t = d.table
    p = t.p(d.outcome)
    label = outcome_label(d.outcome)
    width = max(24, *(len(k) for k in d.keys))
    n_in = int(d.inside.sum())
    lines = [
        f"{s.title} ({s.name}): scenario discovery over {len(d.keys)} assumptions",
        f"{d.samples:,} points (Latin hypercube) × {t.runs:,} runs, seed {d.seed}, "
        f"engine {t.engine}, {t.elapsed:.1f} s",
        f"{label} over the points: mean {p.mean():.1%}, from {p.min():.1%} to {p.max():.1%} "
        "(all points share the seed, so the mean carries its luck; `run --integrate` "
        "estimates it)",
        f"success: {label} >= {d.threshold:.1%} ({d.threshold_rule}): "
        f"{int(d.success.sum()):,} points",
        "",
        f"box: {n_in:,} points, coverage {d.coverage:.0%} (of all successes, the share inside), "
        f"density {d.density:.0%} (of the points inside, the share of successes)",
        f"  {'assumption':<{width}}  {'box':>24}  {'distribution range':>24}",
    ]
    for j in np.argsort(-d.restriction(), kind="stable"):
        key = d.keys[j]
        lines.append(f"  {key:<{width}}  {d.limits(key):>24}  {d.range_text(key):>24}")
    if (~d.inside).any():
        lines.append(
            f"\nmean {outcome_label(d.outcome)} inside the box {p[d.inside].mean():.1%}, "
            f"outside {p[~d.inside].mean():.1%}"
        )
    return "\n".join(lines)


def _within(d: Discovery, j: int) -> np.ndarray:
    """Which points satisfy the box's condition on assumption ``j`` (``lo < x <= hi``; the
    lower end of the distribution itself counts as inside)."""
    x = d.table.values[:, j]
    lo, hi = d.box[j]
    return ((x > lo) | ((x == lo) & (lo == d.support[j, 0]))) & (x <= hi)


def _axis(d: Discovery, j: int) -> dict[str, Any]:
    """Plot positions of assumption ``j``: its values, or for a choice one column per value
    (points jittered sideways so they do not hide each other), with the box's extent."""
    x = d.table.values[:, j]
    dist = d.scenario.uncertainties[d.keys[j]]
    if isinstance(dist, Choice):
        cats = np.unique(np.asarray(dist.values, float))
        idx = np.searchsorted(cats, x)
        jitter = np.random.default_rng(j).uniform(-0.28, 0.28, x.size)
        inside = np.flatnonzero(
            ((cats > d.box[j, 0]) | ((cats == d.box[j, 0]) & (cats[0] == d.box[j, 0])))
            & (cats <= d.box[j, 1])
        )
        return {
            "pos": idx + jitter,
            "box": (inside.min() - 0.4, inside.max() + 0.4) if inside.size else (0.0, 0.0),
            "lim": (-0.5, cats.size - 0.5),
            "ticks": (np.arange(cats.size), [f"{c:.4g}" for c in cats]),
        }
    lo, hi = d.support[j]
    pad = 0.02 * (hi - lo)
    return {"pos": x, "box": tuple(d.box[j]), "lim": (lo - pad, hi + pad), "ticks": None}


def figure(d: Discovery) -> Figure:
    """The points over the two assumptions the box restricts most, coloured by P(triggered),
    with the box drawn; coverage and density in the title."""
    i, j = d.axes()
    ax_x, ax_y = _axis(d, i), _axis(d, j)
    x, y = ax_x["pos"], ax_y["pos"]
    p = d.table.p(d.outcome)
    fig = Figure(figsize=(8, 6.2), layout="constrained")
    ax = fig.add_subplot()
    order = np.argsort(p, kind="stable")  # successes drawn last, on top
    sc = ax.scatter(
        x[order],
        y[order],
        c=p[order],
        cmap="viridis",
        s=14 if d.samples <= 2000 else 6,
        linewidths=0,
        alpha=0.9,
        gid="points",
    )
    hits = d.success[order]
    ax.scatter(
        x[order][hits],
        y[order][hits],
        s=30 if d.samples <= 2000 else 14,
        facecolors="none",
        edgecolors=INK,
        linewidths=0.5,
        label=f"success: {outcome_label(d.outcome)} ≥ {d.threshold:.1%}",
    )
    (xlo, xhi), (ylo, yhi) = ax_x["box"], ax_y["box"]
    others = [k for k in d.restricted if k not in (d.keys[i], d.keys[j])]
    label = "the box"
    if others:
        also = "; ".join(f"{k} in {d.limits(k)}" for k in others)
        label = textwrap.fill(f"the box (it also needs {also})", 90)
        # points inside the rectangle but outside the box (on another assumption): faded
        rect = _within(d, i) & _within(d, j) & ~d.inside
        ax.scatter(
            x[rect],
            y[rect],
            s=16 if d.samples <= 2000 else 7,
            color="white",
            alpha=0.6,
            linewidths=0,
        )
    ax.add_patch(
        Rectangle(
            (xlo, ylo),
            xhi - xlo,
            yhi - ylo,
            fill=False,
            edgecolor="#D55E00",
            linewidth=2.2,
            label=label,
            gid="box",
        )
    )
    ax.set_xlim(*ax_x["lim"])
    ax.set_ylim(*ax_y["lim"])
    if ax_x["ticks"] is not None:
        ax.set_xticks(*ax_x["ticks"])
    if ax_y["ticks"] is not None:
        ax.set_yticks(*ax_y["ticks"])
    spread = " (a choice: points spread sideways)"
    ax.set_xlabel(d.keys[i] + (spread if ax_x["ticks"] else ""), fontsize=9)
    ax.set_ylabel(d.keys[j] + (spread if ax_y["ticks"] else ""), fontsize=9)
    bar = fig.colorbar(sc, ax=ax)
    bar.set_label(f"{outcome_label(d.outcome)} at the point", fontsize=9)
    bar.ax.tick_params(labelsize=8.5)
    bar.ax.yaxis.set_major_formatter(lambda v, _: f"{v:.0%}")
    tidy(ax)
    handles, labels = ax.get_legend_handles_labels()
    if others:
        handles.insert(1, Line2D([], [], marker="o", linestyle="none", color="#C8C8C8"))
        labels.insert(1, "faded: inside the rectangle, outside the box on another assumption")
    fig.legend(
        handles,
        labels,
        loc="outside lower center",
        ncols=1 if others else 2,
        frameon=False,
        fontsize=8.5,
    )
    suptitle(
        fig,
        d.scenario.title,
        f"Where {short(d.scenario.trigger.label, 50)} is likely: coverage {d.coverage:.0%}, "
        f"density {d.density:.0%}\n{d.samples:,} points × {d.table.runs:,} runs, seed {d.seed}",
    )
    return fig


def save(
    d: Discovery, path: str | Path, *, plots: bool = True, command: list[str] | None = None
) -> Path:
    """Write ``discovery.json``, ``points.csv`` (with a ``success`` and an ``in_box`` column)
    and ``figures/discovery.png``."""
    import csv
    import io

    rows = d.table.rows()
    buf = io.StringIO()
    fields = [*rows[0], "success", "in_box"]
    w = csv.DictWriter(buf, fieldnames=fields, lineterminator="\n")
    w.writeheader()
    for row, hit, inside in zip(rows, d.success, d.inside, strict=True):
        out = {k: repr(v) if isinstance(v, float) else v for k, v in row.items()}
        w.writerow({**out, "success": int(hit), "in_box": int(inside)})
    with new_folder(path) as tmp:
        write_json(tmp / "discovery.json", d.to_json(command))
        (tmp / "points.csv").write_text(buf.getvalue(), encoding="utf-8", errors="backslashreplace")
        if plots:
            (tmp / "figures").mkdir()
            figure(d).savefig(tmp / "figures" / "discovery.png", dpi=150)
    return Path(path)


__all__ = ["Discovery", "discover", "save", "text"]
