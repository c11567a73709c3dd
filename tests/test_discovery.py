"""Scenario discovery (``ceasefire discover``) on a scenario whose answer is known.

In KNOWN only aid matters: 7 daily convoys, at least 5 must get through, nothing else can stop
the next step. So P(triggered) = P(Binomial(7, success_prob) >= 5), which is 1/2 at
success_prob = P_STAR: with a threshold of 1/2 the successes are exactly the points with
success_prob above P_STAR (up to the noise of finite runs), and the box must say so. The other
two assumptions cannot change the outcome.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import Cli

import sim
from sim import discovery

DECISIVE = "humanitarian.success_prob"
KNOWN_YAML = """\
name: known
title: Known answer
window_days: 7
parties:
  a: {side: A, violation_prob: 0.2, retaliation: {boost: 0}}
  b: {side: B, violation_prob: 0.1, retaliation: {boost: 0.5}}
humanitarian: {first_day: 0, success_prob: 0.5, required_deliveries: 5}
uncertainties:
  humanitarian.success_prob: {dist: uniform, low: 0.0, high: 1.0}
  parties.a.retaliation.half_life_hours: {dist: uniform, low: 1, high: 72}
  parties.a.violation_prob: {dist: triangular, low: 0.0, mode: 0.1, high: 0.5}
monte_carlo: {seed: 7}
"""


def p_triggered(p: float) -> float:
    """P(Binomial(7, p) >= 5)."""
    return sum(math.comb(7, k) * p**k * (1 - p) ** (7 - k) for k in range(5, 8))


def solve_p_star() -> float:
    lo, hi = 0.0, 1.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if p_triggered(mid) < 0.5 else (lo, mid)
    return lo


P_STAR = solve_p_star()  # about 0.636


@pytest.fixture(scope="module")
def scenario(tmp_path_factory: pytest.TempPathFactory) -> sim.Scenario:
    f = tmp_path_factory.mktemp("known") / "known.yaml"
    f.write_text(KNOWN_YAML, encoding="utf-8")
    return sim.load_scenario(f)


@pytest.fixture(scope="module")
def found(scenario: sim.Scenario) -> discovery.Discovery:
    return discovery.discover(scenario, 400, 0.5, runs=400, seed=2, progress=False)


def test_the_box_is_where_the_answer_is(found: discovery.Discovery) -> None:
    assert 0.6 < P_STAR < 0.65
    assert found.restricted[0] == DECISIVE
    j = found.keys.index(DECISIVE)
    low, high = found.box[j]
    assert abs(low - P_STAR) < 0.05 and high == 1.0
    assert found.density > 0.9 and found.coverage > 0.75
    # the points inside are exactly those within every limit of the box
    v = found.table.values
    within = np.all((v > found.box[:, 0]) | (v == found.support[:, 0]), axis=1) & np.all(
        v <= found.box[:, 1], axis=1
    )
    assert np.array_equal(within, found.inside)
    assert found.coverage == (found.success & found.inside).sum() / found.success.sum()
    p = found.table.p("triggered")
    assert p[found.inside].mean() > 0.75 > 0.2 > p[~found.inside].mean()


def test_points_follow_the_closed_form(found: discovery.Discovery) -> None:
    p = found.table.p("triggered")
    exact = np.array([p_triggered(v) for v in found.table.values[:, 0]])
    z = np.abs(p - exact) / np.sqrt(np.maximum(exact * (1 - exact), 1e-4) / found.table.runs)
    assert np.mean(z < 3) > 0.97
    # a Latin hypercube: one point in each of the 400 strata of every assumption
    u = found.table.values[:, 0]
    assert np.array_equal(np.sort(np.floor(u * 400)), np.arange(400))


def test_default_threshold_is_the_upper_quartile(scenario: sim.Scenario) -> None:
    d = discovery.discover(scenario, 200, runs=200, seed=2, progress=False)
    p = d.table.p("triggered")
    assert d.threshold == pytest.approx(np.quantile(p, 0.75))
    assert 0.25 <= d.success.mean() < 0.4
    assert d.restricted[0] == DECISIVE and d.density > 0.8


def test_same_numbers_on_two_workers(scenario: sim.Scenario) -> None:
    kw: dict[str, Any] = {"runs": 100, "seed": 9, "progress": False}
    one = discovery.discover(scenario, 60, **kw)
    two = discovery.discover(scenario, 60, workers=2, **kw)
    assert np.array_equal(one.table.counts, two.table.counts)
    assert np.array_equal(one.box, two.box) and one.tree_text == two.tree_text


def test_no_success_or_all_successes_is_a_usage_error(scenario: sim.Scenario) -> None:
    with pytest.raises(sim.UsageError, match="choose a --threshold in between"):
        discovery.discover(scenario, 40, 0.0, runs=50, seed=1, progress=False)


def test_missing_sklearn_says_what_to_install(
    scenario: sim.Scenario, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)
    with pytest.raises(sim.UsageError, match=r"pip install 'ceasefire-sim\[analysis\]'"):
        discovery.discover(scenario, 40, runs=10, seed=1, progress=False)


# --------------------------------------------------------------------------- command line


@pytest.fixture
def here(here: Path) -> Path:
    """The shared working directory, with this module's scenario file."""
    Path("known.yaml").write_text(KNOWN_YAML, encoding="utf-8")
    return here


def test_cli_writes_the_folder(here: Path, cli: Cli) -> None:
    argv = ("discover", "known.yaml", "--samples", "150", "--runs", "200", "--quiet")
    code, out, err = cli(*argv, "--threshold", "0.5")
    assert code == 0, err
    (folder,) = (here / "results" / "known").iterdir()
    assert folder.name.startswith("discover-")
    assert sorted(p.name for p in folder.iterdir()) == ["discovery.json", "figures", "points.csv"]
    assert [p.name for p in (folder / "figures").iterdir()] == ["discovery.png"]
    data = json.loads((folder / "discovery.json").read_text(encoding="utf-8"))
    assert data["seed"] == 7 and data["samples"] == 150 and data["threshold"] == 0.5
    assert data["restricted"][0] == DECISIVE
    with (folder / "points.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 150
    hits = [int(r["success"]) for r in rows]
    inside = [int(r["in_box"]) for r in rows]
    assert hits == [int(float(r["p_triggered"]) >= 0.5) for r in rows]
    both = sum(h and i for h, i in zip(hits, inside, strict=True))
    assert data["points_in_box"] == sum(inside) and data["successes"] == sum(hits)
    assert data["coverage"] == pytest.approx(both / sum(hits))
    assert data["density"] == pytest.approx(both / sum(inside))
    box = data["box"][DECISIVE]
    assert all(float(r[DECISIVE]) > box["low"] for r, i in zip(rows, inside, strict=True) if i)
    assert "coverage" in out and DECISIVE in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("--set", "uncertainties={}"), "at least 2 uncertain assumptions"),
        (("--threshold", "1.5"), "probability in [0, 1]"),
        (("--samples", "5"), "at least 20"),
        (("--out", "taken"), "already exists"),
    ],
)
def test_cli_errors_are_one_line_and_write_nothing(
    here: Path, cli: Cli, argv: tuple[str, ...], message: str
) -> None:
    Path("taken").mkdir()
    code, _out, err = cli("discover", "known.yaml", "--runs", "10", *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err
    assert not Path("results").exists() and not any(Path("taken").iterdir())


def test_cli_without_sklearn_exits_2_naming_the_extra(
    here: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "sklearn", None)
    code, out, err = cli("discover", "known.yaml", "--runs", "10")
    assert code == 2 and not out
    assert err.strip() == (
        "ceasefire discover: error: scenario discovery needs scikit-learn: "
        "pip install 'ceasefire-sim[analysis]'"
    )
    assert not Path("results").exists()


def test_limits_of_a_choice_are_its_allowed_values(found: discovery.Discovery) -> None:
    key = "parties.a.retaliation.half_life_hours"
    j = found.keys.index(key)
    s = found.scenario.with_overrides(
        {f"uncertainties.{key}": {"dist": "choice", "values": [6, 12, 24, 48]}}
    )
    support = found.support.copy()
    support[j] = (6, 48)

    def limits(low: float, high: float) -> str:
        box = found.box.copy()
        box[j] = (low, high)
        d = dataclasses.replace(
            found, scenario=s, box=box, support=support, restricted=(*found.restricted, key)
        )
        return d.limits(key)

    assert limits(9, 30) == "{12, 24}"  # 9 < x <= 30
    assert limits(6, 18) == "{6, 12}"  # the lowest value is inside when the box starts there
    assert limits(12, 48) == "{24, 48}"  # x > 12
    assert found.limits(key) == "(any)"
    assert found.limits(DECISIVE) == f"[{found.box[0, 0]:.4g}, 1]"
    # the range column lists a choice's values, not the interval between its ends
    d = dataclasses.replace(found, scenario=s, support=support)
    assert d.range_text(key) == "{6, 12, 24, 48}"
    assert "{6, 12, 24, 48}" in discovery.text(d)
    lo, hi = found.support[found.keys.index(DECISIVE)]
    assert found.range_text(DECISIVE) == f"[{lo:.4g}, {hi:.4g}]"


def test_the_figure_draws_the_box(found: discovery.Discovery) -> None:
    fig = discovery.figure(found)
    ax = fig.axes[0]
    assert ax.get_xlabel() == DECISIVE
    (box,) = [p for p in ax.patches if p.get_gid() == "box"]
    assert box.get_x() == pytest.approx(found.box[0, 0]) and box.get_width() == pytest.approx(
        1 - found.box[0, 0]
    )
    assert "coverage" in fig.get_suptitle() and "density" in fig.get_suptitle()
