"""Notebook views: DataFrames of results and the HTML a notebook shows for result objects."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from conftest import ROOT

import sim
from sim import frames, uncertainty
from sim.compare import compare_results
from sim.errors import UsageError
from sim.experiments import evaluate

pd = pytest.importorskip("pandas")

NO_AID = {
    "name": "no_aid",
    "title": "No aid <b>here</b>",
    "parties": {
        "gov": {"side": "a", "violation_prob": 0.3, "tolerance": 2},
        "reb": {"side": "b", "violation_prob": 0.2},
    },
}


@pytest.fixture(scope="module")
def results() -> sim.Results:
    scenario = sim.load_scenario(ROOT / "scenarios" / "uncertain_geneva_2016.yaml")
    return sim.simulate(scenario, runs=300, seed=5, integrate=True, progress=False)


def test_dataframe_is_runs_csv(results: sim.Results) -> None:
    frame = frames.to_dataframe(results)
    csv = pd.read_csv(io.StringIO(results.csv_text()), index_col="run")
    assert list(frame.columns) == list(csv.columns)
    assert len(frame) == results.runs
    assert (frame["outcome"].astype(str) == csv["outcome"]).all()
    assert list(frame["outcome"].cat.categories) == list(sim.OUTCOMES)
    np.testing.assert_allclose(frame["collapse_day"], csv["collapse_day"], atol=1e-6)
    assert (frame["collapsed_by"].fillna("") == csv["collapsed_by"].fillna("")).all()
    for key in results.scenario.uncertainties:
        np.testing.assert_allclose(frame[key], csv[key])


def test_a_phased_dataframe_is_its_runs_csv() -> None:
    """The phase columns as runs.csv has them: an empty cancelled_day is missing, not -1."""
    scenario = sim.load_scenario(ROOT / "scenarios" / "geneva_2016_phases.yaml")
    results = sim.simulate(scenario, runs=500, seed=3, engine="fast", progress=False)
    frame = frames.to_dataframe(results)
    csv = pd.read_csv(io.StringIO(results.csv_text()), index_col="run")
    assert list(frame.columns) == list(csv.columns)
    assert (frame["phase"].astype(str) == csv["phase"]).all()
    assert (frame["phases_passed"] == csv["phases_passed"]).all()
    assert (frame["cancelled_day"].isna() == csv["cancelled_day"].isna()).all()
    assert frame["cancelled_day"].isna().any() and frame["cancelled_day"].notna().any()
    given = frame["cancelled_day"].notna()
    assert (frame["cancelled_day"][given] == csv["cancelled_day"][given]).all()


def test_summary_frame_is_the_outcome_table(results: sim.Results) -> None:
    frame = frames.summary_frame(results)
    probs = results.outcome_probabilities()
    assert list(frame.index) == list(sim.OUTCOMES)  # the flagship can end every way
    for code, row in frame.iterrows():
        assert (row["p"], row["ci95_lo"], row["ci95_hi"]) == probs[code]
        assert row["count"] == results.outcome_counts()[code]


def test_outcomes_a_scenario_cannot_produce_are_left_out() -> None:
    scenario = sim.scenario_from_dict(NO_AID)
    assert scenario.possible_outcomes == ("triggered", "cancelled_collapse")
    r = sim.simulate(scenario, runs=200, seed=1, progress=False)
    assert list(frames.summary_frame(r).index) == ["triggered", "cancelled_collapse"]
    page = frames.results_html(r)
    assert "cancelled_access" not in page and "aid did not get through" not in page
    assert "<b>here</b>" not in page and "&lt;b&gt;here&lt;/b&gt;" in page


def test_without_pandas_the_error_names_the_extra(
    results: sim.Results, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(UsageError, match=r"ceasefire-sim\[pandas\]"):
        frames.summary_frame(results)


def test_summary_only_results_have_no_per_run_frame() -> None:
    scenario = sim.scenario_from_dict(NO_AID)
    r = sim.simulate(scenario, runs=50, seed=1, keep_runs=False, progress=False)
    with pytest.raises(UsageError, match="no per-run rows"):
        frames.to_dataframe(r)


def test_notebook_views_show_tables_not_addresses(results: sim.Results) -> None:
    html = frames.results_html(results)
    assert "<table>" in html and uncertainty.integration_note(results.scenario) in html
    scenario = results.scenario.with_overrides({"humanitarian.success_prob": 0.5})
    page = scenario._repr_html_()
    assert "<table>" in page and "government" in page and "success_prob=0.5" in page
    other = sim.simulate(scenario, runs=300, seed=5, progress=False)
    base = sim.simulate(results.scenario, runs=300, seed=5, progress=False)
    comparison = compare_results([base, other])
    page = comparison._repr_html_()
    assert "<table>" in page and "humanitarian.success_prob=0.5" in page
    points = evaluate(
        results.scenario, ["humanitarian.success_prob"], [[0.2], [0.8]], runs=100, seed=1,
        progress=False,
    )  # fmt: skip
    page = points._repr_html_()
    assert page.count("<tr>") == 3 and "P(triggered)" in page
