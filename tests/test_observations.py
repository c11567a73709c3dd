"""Observations (what monitors report) and ``ceasefire check``, against closed forms."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

import sim
from sim import observations as obs
from sim.check import check
from sim.cli import main

Z = 4.5
RUNS = 20_000
MU, BACKGROUND, PER_EVENT = 1.5, 3.0, 2.0

BASE = {
    "name": "observed",
    "title": "Poisson events, Poisson reports",
    "window_days": 5,
    "parties": {
        "a": {"side": "A", "violation_rate": MU},
        "b": {"side": "B", "violation_rate": 0.0},
    },
    "observations": {
        "mon": {
            "label": "a monitor's count of a's violations",
            "counts": ["a"],
            "per_event": PER_EVENT,
            "background": BACKGROUND,
            "data": [
                {"day": 2, "count": 7, "source": "test"},
                {"days": [0, 5], "count": 40, "source": "test"},
            ],
        }
    },
}


def scenario(**changes: object) -> sim.Scenario:
    return sim.scenario_from_dict({**BASE, **changes})


def closed_form_pmf(size: int, mu: float, b: float, c: float) -> np.ndarray:
    """P(Y = y), y < size, for Y | N ~ Poisson(b + c·N), N ~ Poisson(mu): summed over N."""
    n = np.arange(int(mu + 30 * math.sqrt(mu) + 40))
    y = np.arange(size)
    return stats.poisson.pmf(y[:, None], b + c * n[None, :]) @ stats.poisson.pmf(n, mu)


def quantile_ok(cdf_true: np.ndarray, k: float, q: float, runs: int) -> bool:
    """``k`` is the q-quantile of the true CDF up to the sampling error of ``runs`` runs."""
    k = int(k)
    tol = Z * math.sqrt(0.25 / runs)
    below = cdf_true[k - 1] if k > 0 else 0.0
    return bool(cdf_true[k] >= q - tol and below < q + tol)


@pytest.fixture(scope="module")
def closed() -> obs.SeriesCheck:
    return check(scenario(), RUNS, seed=11, engine="fast").series["mon"]


# --------------------------------------------------------------------------- exact mixtures


@pytest.mark.parametrize(("m", "a"), [(0.0, 0.0), (4.2, 0.0), (4.2, 0.3), (250.0, 0.5), (900.0, 0)])
def test_one_component_is_the_negative_binomial(m: float, a: float) -> None:
    pred = obs.exact_daily(np.array([m]), np.array([a]))
    k = np.arange(0, int(m * 3 + 50))
    dist = stats.poisson(m) if a == 0 else stats.nbinom(1 / a, 1 / (1 + a * m))
    expected = dist.cdf(k)
    got = np.array([pred.cdf(int(x)) for x in k])
    assert np.max(np.abs(got - expected)) < 1e-9
    assert pred.mean == pytest.approx(m)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0, 120, allow_nan=False), st.sampled_from([0.0, 0.05, 0.5, 2.0])),
        min_size=1,
        max_size=6,
    ),
    st.integers(0, 400),
    st.floats(0, 1, allow_nan=False),
)
def test_the_mixture_is_the_average_of_its_runs(
    runs: list[tuple[float, float]], y: int, v: float
) -> None:
    """F(k) of the mixture is the runs' mean F(k); quantiles and the PIT sit where they must."""
    m, a = np.array(runs).T
    pred = obs.exact_daily(m, a, at_least=y)
    singles = [obs.exact_daily(m[i : i + 1], a[i : i + 1], at_least=y) for i in range(m.size)]
    for k in (0, y // 2, y, int(m.max())):
        assert pred.cdf(k) == pytest.approx(np.mean([p.cdf(k) for p in singles]), abs=1e-9)
    assert pred.mean == pytest.approx(m.mean())
    qs = [pred.quantiles[q] for q in obs.QUANTILES]
    assert qs == sorted(qs)
    for q in obs.QUANTILES:
        k = int(pred.quantiles[q])
        assert pred.cdf(k) >= q - 1e-9 and pred.cdf(k - 1) < q + 1e-9
    pit = obs.randomised_pit(pred, y, v)
    assert pred.cdf(y - 1) - 1e-12 <= pit <= pred.cdf(y) + 1e-12


def test_exact_crps_is_the_energy_form() -> None:
    """Σ_k (F(k) − 1{y ≤ k})² equals E|X − y| − ½E|X − X'| for a two-run mixture."""
    m, a = np.array([3.0, 11.0]), np.array([0.0, 0.4])
    pred = obs.exact_daily(m, a)
    k = np.arange(400)
    pmf = np.diff([0.0, *[pred.cdf(int(x)) for x in k]])
    for y in (0, 5, 30):
        energy = np.sum(pmf * np.abs(k - y)) - 0.5 * np.sum(
            pmf[:, None] * pmf[None, :] * np.abs(k[:, None] - k[None, :])
        )
        assert pred.crps(y) == pytest.approx(energy, abs=1e-9)


def test_fair_crps_estimator_is_unbiased() -> None:
    """The sampled CRPS averages to the exact one (Poisson(6), many small samples)."""
    rng = np.random.default_rng(3)
    exact = obs.exact_daily(np.array([6.0]), np.array([0.0])).crps(9)
    scores = [obs.sampled(rng.poisson(6.0, 20).astype(float), np.full(20, 6.0)).crps(9)
              for _ in range(4000)]  # fmt: skip
    assert abs(np.mean(scores) - exact) < Z * np.std(scores) / math.sqrt(len(scores))


@pytest.mark.parametrize(("m", "a"), [(4.2, 0.0), (37.0, 0.3), (600.0, 0.05)])
def test_drawn_reports_follow_their_distribution(m: float, a: float) -> None:
    u = np.random.default_rng(8).random(100_000)
    x = obs.draw_reports(u, np.full(u.size, m), np.full(u.size, a))
    var = m + a * m * m
    assert abs(x.mean() - m) < Z * math.sqrt(var / x.size)
    # the sample variance's sd: √((μ₄ − σ⁴)/n), with the fourth moment estimated from the sample
    m4 = float(np.mean((x - x.mean()) ** 4))
    assert abs(x.var() - var) < Z * math.sqrt((m4 - x.var() ** 2) / x.size)
    k = int(m)
    cdf = stats.nbinom.cdf(k, 1 / a, 1 / (1 + a * m)) if a else stats.poisson.cdf(k, m)
    assert abs(np.mean(x <= k) - cdf) < Z * math.sqrt(cdf * (1 - cdf) / x.size)


# --------------------------------------------------------------------------- closed form


def test_daily_point_matches_the_closed_form(closed: obs.SeriesCheck) -> None:
    point = closed.points[0]
    assert point["day"] == 2 and point["runs"] == RUNS and point["left_out"] == 0
    assert abs(point["mean"] - (BACKGROUND + PER_EVENT * MU)) < Z * PER_EVENT * math.sqrt(MU / RUNS)
    cdf = np.cumsum(closed_form_pmf(200, MU, BACKGROUND, PER_EVENT))
    for q, key in ((0.05, "q05"), (0.25, "q25"), (0.5, "median"), (0.75, "q75"), (0.95, "q95")):
        assert quantile_ok(cdf, point[key], q, RUNS), (key, point[key])
    pit_lo, pit_hi = cdf[6], cdf[7]  # y = 7: the PIT lies between F(6) and F(7)
    tol = Z * math.sqrt(0.25 / RUNS)
    assert pit_lo - tol <= point["pit"] <= pit_hi + tol


def test_total_matches_the_closed_form(closed: obs.SeriesCheck) -> None:
    """A total over 5 days is the sum of 5 independent daily reports: mean 5(b + cμ);
    its distribution is the 5-fold convolution of the daily pmf."""
    point = closed.points[1]
    assert point["days"] == [0, 5]
    daily = closed_form_pmf(200, MU, BACKGROUND, PER_EVENT)
    pmf = daily
    for _ in range(4):
        pmf = np.convolve(pmf, daily)[:400]
    cdf = np.cumsum(pmf)
    mean = 5 * (BACKGROUND + PER_EVENT * MU)
    assert abs(point["mean"] - mean) < Z * PER_EVENT * math.sqrt(5 * MU / RUNS)
    for q, key in ((0.05, "q05"), (0.5, "median"), (0.95, "q95")):
        assert quantile_ok(cdf, point[key], q, RUNS), (key, point[key])


def test_pit_of_data_from_the_model_is_uniform() -> None:
    """Data simulated from the closed form (2,000 datasets) get uniform randomised PITs
    against the check's predictive distributions (daily: exact mixture; total: sampled)."""
    s = scenario()
    results = sim.simulate(s, 20_000, seed=5, engine="fast")
    values = obs.run_values(s, "mon", None, results.runs)
    means = obs.daily_means(s, "mon", results.columns, values)
    zero = np.zeros(results.runs)
    day = obs.exact_daily(means[:, 2], zero)
    sample = obs.reports_sample(5, "mon", means, zero)
    total = obs.sampled(sample.sum(axis=1), means.sum(axis=1))
    rng = np.random.default_rng(2024)
    n = rng.poisson(MU, (2000, 5))
    y = rng.poisson(BACKGROUND + PER_EVENT * n)
    v = rng.random((2000, 2))
    pit_day = [obs.randomised_pit(day, int(k), u) for k, u in zip(y[:, 2], v[:, 0], strict=True)]
    pit_total = [
        obs.randomised_pit(total, int(k), u) for k, u in zip(y.sum(1), v[:, 1], strict=True)
    ]
    assert stats.kstest(pit_day, "uniform").pvalue > 0.001
    assert stats.kstest(pit_total, "uniform").pvalue > 0.001
    # and the test has power: a shifted model is rejected
    shifted = [
        obs.randomised_pit(day, int(k) + 2, u) for k, u in zip(y[:, 2], v[:, 0], strict=True)
    ]
    assert stats.kstest(shifted, "uniform").pvalue < 1e-6


def test_coverage_and_summary_keys(closed: obs.SeriesCheck) -> None:
    summary = closed.summary()
    assert set(summary) >= {"points", "crps_mean", "coverage50", "coverage90", "left_out"}
    covered = [p["q05"] <= p["count"] <= p["q95"] for p in summary["points"]]
    assert summary["coverage90"] == sum(covered) / len(covered)
    assert summary["crps_mean"] == pytest.approx(np.mean([p["crps"] for p in summary["points"]]))
    for p in summary["points"]:
        assert 0 <= p["pit"] <= 1 and p["crps"] >= 0
        assert p["q05"] <= p["q25"] <= p["median"] <= p["q75"] <= p["q95"]


# --------------------------------------------------------------------------- collapse


def test_days_after_a_collapse_use_after_collapse_or_leave_the_run_out() -> None:
    collapsing = {
        "a": {"side": "A", "violation_rate": 1.0, "tolerance": 2},
        "b": {"side": "B", "violation_rate": 1.0, "tolerance": 2},
    }
    s = scenario(parties=collapsing)
    results = sim.simulate(s, 3000, seed=9, engine="fast")
    ct = results.columns.collapse_time
    assert np.isfinite(ct).sum() > 100  # the case is exercised
    days = np.arange(5)
    after = days[None, :] > np.nan_to_num(ct, nan=np.inf)[:, None]
    null = obs.daily_means(s, "mon", results.columns, obs.run_values(s, "mon", None, 3000))
    assert np.array_equal(np.isnan(null), after)
    events = results.columns.events_daily[:, 0, :]
    assert np.allclose(null[~after], (BACKGROUND + PER_EVENT * events)[~after])
    with_value = s.with_overrides({"observations.mon.after_collapse": 60.0})
    values = obs.run_values(with_value, "mon", None, 3000)
    m = obs.daily_means(with_value, "mon", results.columns, values)
    assert np.all(m[after] == 60.0)
    series = check(s, 3000, seed=9, engine="fast").series["mon"]
    assert series.points[0]["left_out"] == int(after[:, 2].sum())
    assert series.points[1]["left_out"] == int(after.any(axis=1).sum())
    assert series.summary()["left_out"] == int(after[:, 2].sum() + after.any(axis=1).sum())


# --------------------------------------------------------------------------- integrate


def test_integrate_uses_each_runs_own_observation_values() -> None:
    """With per_event uncertain, the daily mean is b + E[per_event]·μ, and each run's value
    is the runner's own draw (columns.theta)."""
    s = scenario(
        uncertainties={
            "observations.mon.per_event": {"dist": "uniform", "low": 0.0, "high": 4.0},
            "parties.b.violation_rate": {"dist": "uniform", "low": 0.0, "high": 1.0},
        }
    )
    series = check(s, RUNS, seed=4, engine="fast", integrate=True).series["mon"]
    point = series.points[0]
    # per_event ~ U(0, 4) independent of N ~ Poisson(μ): Var = E[P²]·E[N²] − (E[P]·E[N])²
    # = (16/3)(μ + μ²) − 4μ²
    sd = math.sqrt(MU * (4**2 / 12 + 2**2) + MU**2 * 4**2 / 12)
    assert abs(point["mean"] - (BACKGROUND + 2.0 * MU)) < Z * sd / math.sqrt(RUNS)
    theta = obs.draw_theta(s, 4, 300)
    runner = sim.simulate(s, 300, seed=4, engine="fast", integrate=True)
    assert np.array_equal(theta, runner.columns.theta)
    values = obs.run_values(s, "mon", theta, 300)
    assert np.array_equal(values["per_event"], runner.columns.theta[:, 0])
    # the engine's runs do not depend on the observation keys
    small = check(s, 300, seed=4, engine="fast", integrate=True).series["mon"]
    events = runner.columns.events_daily[:, 0, 2]
    assert small.points[0]["mean"] == pytest.approx(
        np.mean(BACKGROUND + values["per_event"] * events)
    )


def test_only_the_observation_numbers_can_be_uncertain() -> None:
    with pytest.raises(sim.ScenarioError, match="of an observation can be uncertain"):
        scenario(uncertainties={"observations.mon.data.0.count": {"dist": "choice", "values": [1]}})
    with pytest.raises(sim.ScenarioError, match="greater than or equal to 0"):
        scenario(
            uncertainties={"observations.mon.per_event": {"dist": "uniform", "low": -1, "high": 1}}
        )


# --------------------------------------------------------------------------- files and CLI

GOOD = """\
name: observed
title: observed
window_days: 5
parties:
  a: {side: A, violation_rate: 1.5}
  b: {side: B, violation_rate: 0.0}
observations:
  mon:
    label: test
    counts: [a]
    per_event: 2
    background: 3
    data:
      - {day: 2, count: 7, source: test}
      - {days: [0, 5], count: 40, source: test}
"""

ERROR_LINE = re.compile(r"^[^:\n]+\.yaml:(\d+):(\d+): (\S+): (.+)$")


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize(
    ("old", "new", "line", "key", "message"),
    [
        ("counts: [a]", "counts: [c]", 10, "observations.mon.counts.0", "unknown actor 'c'"),
        ("{day: 2,", "{day: 5,", 14, "observations.mon.data.0.day", "outside the runs' days"),
        ("{day: 2,", "{day: 2, days: [0, 2],", 14, "observations.mon.data.0", "exactly one"),
        ("[0, 5]", "[0, 6]", 15, "observations.mon.data.1.days", "past the runs' last day"),
        ("[0, 5]", "[3, 3]", 15, "observations.mon.data.1.days", "needs a < b"),
        ("per_event: 2", "per_event: -2", 11, "observations.mon.per_event", ">= 0|equal to 0"),
        ("label: test", "label: test\n    typo: 1", 10, "observations.mon.typo", "unknown key"),
    ],
)
def test_bad_observations_exit_2_with_the_place(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    old: str,
    new: str,
    line: int,
    key: str,
    message: str,
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(GOOD.replace(old, new, 1), encoding="utf-8")
    for command in (["validate", str(path)], ["check", str(path), "--out", str(tmp_path / "o")]):
        code, out, err = cli(capsys, *command)
        assert code == 2 and not out
        (where,) = err.splitlines()
        found = ERROR_LINE.match(where)
        assert found, where
        assert int(found.group(1)) == line and found.group(3) == key
        assert re.search(message, found.group(4)), where
    assert not (tmp_path / "o").exists()


def test_phases_extend_the_days_observations_may_cover(tmp_path: Path) -> None:
    phased = {
        "phases": [
            {"name": "one", "days": 3, "on_fail": {"extend_days": 2, "times": 2}},
            {"name": "two", "days": 2},
        ]
    }
    data = [{"day": 8, "count": 1, "source": "x"}]
    s = scenario(**phased, window_days=5)
    assert s.horizon == 9
    s.with_overrides({"observations.mon.data": data})
    with pytest.raises(sim.ScenarioError, match="outside the runs' days"):
        s.with_overrides({"observations.mon.data": [{"day": 9, "count": 1, "source": "x"}]})


def test_check_writes_files_and_never_overwrites(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "good.yaml"
    path.write_text(GOOD, encoding="utf-8")
    out = tmp_path / "out"
    code, text, err = cli(
        capsys, "check", str(path), "--runs", "2000", "--seed", "1", "--out", str(out), "--quiet"
    )
    assert code == 0, err
    assert "mon: test" in text and "coverage 50%" in text
    data = json.loads((out / "check.json").read_text())
    series = data["series"]["mon"]
    assert {"points", "crps_mean", "coverage50", "coverage90"} <= set(series)
    day, total = series["points"]
    assert day["day"] == 2 and total["days"] == [0, 5]
    for p in (day, total):
        assert {"count", "mean", "q05", "q95", "pit", "crps"} <= set(p)
    assert (out / "figures" / "check_mon.png").stat().st_size > 10_000
    before = (out / "check.json").read_bytes()
    code, text, err = cli(capsys, "check", str(path), "--runs", "50", "--out", str(out))
    assert code == 2 and "already exists" in err and not text
    assert (out / "check.json").read_bytes() == before
    # same seed, same numbers
    again = tmp_path / "again"
    args = ["--runs", "2000", "--seed", "1", "--out", str(again), "--quiet", "--no-plots"]
    assert cli(capsys, "check", str(path), *args)[0] == 0
    assert json.loads((again / "check.json").read_text())["series"] == data["series"]


def test_check_without_observations_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "plain.yaml"
    path.write_text(GOOD.split("observations:")[0], encoding="utf-8")
    code, _out, err = cli(capsys, "check", str(path), "--out", str(tmp_path / "o"))
    assert code == 2 and "no 'observations:' block" in err
    assert "plain.yaml: the scenario has no" in err  # the file, not the scenario's name
    assert not (tmp_path / "o").exists()


def test_check_integrate_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "unc.yaml"
    path.write_text(
        GOOD + "uncertainties:\n  observations.mon.background: {dist: uniform, low: 0, high: 6}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    args = ["--runs", "3000", "--seed", "2", "--integrate", "--out", str(out), "--quiet"]
    code, _text, err = cli(capsys, "check", str(path), *args)
    assert code == 0, err
    assert json.loads((out / "check.json").read_text())["integrated"] is True


@pytest.mark.parametrize("daily", [True, False])
def test_the_check_figure_has_one_legend_with_the_record(daily: bool) -> None:
    """The recorded points are in the main legend whether the series has daily points or
    only totals (a legend inside the totals panel read as a recorded total), and the totals
    panel says what its axis counts."""
    import yaml

    from sim.check import figure

    text = GOOD if daily else GOOD.replace("      - {day: 2, count: 7, source: test}\n", "")
    scenario = sim.scenario_from_dict(yaml.safe_load(text))
    result = check(scenario, runs=300, seed=2, progress=False)
    fig = figure(result, result.series["mon"])
    main, totals = fig.axes
    assert [t.get_text() for t in main.get_legend().get_texts()][-1] == "recorded"
    assert totals.get_legend() is None
    assert totals.get_ylabel() == "reported items over the days"
