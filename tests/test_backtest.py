"""The backtest (sim.cases, sim.backtest, ``ceasefire backtest``): shipped cases, hand-computed
scores on a toy set, leave-one-out refitting, determinism and bad-input handling."""

from __future__ import annotations

import json
import math
import re
import shutil
from datetime import date, datetime
from pathlib import Path

import pytest
import yaml

from sim import backtest
from sim.cases import load_cases
from sim.cli import main
from sim.scoring import EPS

ROOT = Path(__file__).resolve().parent.parent
CASES = ROOT / "cases"
CASE_DIRS = sorted(p for p in CASES.iterdir() if p.is_dir())

MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
    )
}
DAY_MONTH_YEAR = re.compile(r"\b(\d{1,2})(?:[–-]\d{1,2})? ([A-Z][a-z]{2})[a-z]* (\d{4})\b")
YEAR = re.compile(r"\b(19|20)\d{2}\b")


def _first_date(label: str) -> date | None:
    m = DAY_MONTH_YEAR.search(label)
    if not m or m.group(2).lower() not in MONTHS:
        return None
    return date(int(m.group(3)), MONTHS[m.group(2).lower()], int(m.group(1)))


# --------------------------------------------------------------------------- shipped cases


def test_shipped_cases_load_and_cover_the_brief() -> None:
    cases, shared = load_cases([CASES])
    assert len(cases) >= 11  # ten or more besides September 2016, plus that one
    held = [c for c in cases if c.outcome.outcome == "triggered"]
    assert len(held) >= 2
    assert {p.key for p in shared.params} == {"tolerance_scale", "rules.major_weight"}
    for case in cases:
        assert case.scenario.start is not None, case.name
        # the phased agreement is written in phases, and its outcome names the phase
        phased = case.scenario.phases is not None
        assert phased == (case.name == "gaza_2025"), case.name
        if phased:
            assert case.outcome.phase in {p.name for p in case.scenario.phases or ()}


@pytest.mark.parametrize("folder", CASE_DIRS, ids=lambda p: p.name)
def test_every_case_validates(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(folder / "scenario.yaml")]) == 0
    assert "ok" in capsys.readouterr().out


@pytest.mark.parametrize("folder", CASE_DIRS, ids=lambda p: p.name)
def test_every_case_has_dated_sources(folder: Path) -> None:
    scenario = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
    outcome = yaml.safe_load((folder / "outcome.yaml").read_text(encoding="utf-8"))
    for source in [*scenario["sources"], *outcome["sources"]]:
        assert YEAR.search(source["label"]), f"{folder.name}: undated source {source['label']!r}"
        assert source.get("url", "").startswith("http"), source
    # the outcome is coded from what happened: its sources are dated on or after the start
    start = scenario["start"].date() if isinstance(scenario["start"], datetime) else None
    for source in outcome["sources"]:
        d = _first_date(source["label"])
        if d is not None and start is not None:
            assert d >= start, f"{folder.name}: outcome source before the start: {source}"


@pytest.mark.parametrize("folder", CASE_DIRS, ids=lambda p: p.name)
def test_sourced_values_cite_pre_start_sources(folder: Path) -> None:
    """A value whose comment cites ``src: tag`` without calling itself a judgement must cite
    sources dated no later than the start (when the label gives a full date)."""
    text = (folder / "scenario.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    tags = {}
    for s in data["sources"]:
        m = re.match(r"\[([^\]]+)\]", s["label"])
        assert m, f"{folder.name}: source label without a [tag]: {s['label']}"
        tags[m.group(1)] = s["label"]
    start = data["start"].date()
    for line in text.splitlines():
        if "#" not in line or line.lstrip().startswith("#"):
            continue
        comment = line.split("#", 1)[1]
        for cited in re.findall(r"src: ([a-z0-9\-, ]+)", comment):
            for tag in (t.strip() for t in cited.split(",")):
                assert tag in tags, f"{folder.name}: unknown source tag {tag!r}"
                d = _first_date(tags[tag])
                if "judgement" not in comment and d is not None:
                    assert d <= start, f"{folder.name}: {tag} ({d}) is after the start ({start})"


def test_backtest_is_deterministic_and_independent_of_case_order() -> None:
    cases, shared = load_cases([CASES])
    a = backtest.run_backtest(cases, shared, runs=100, seed=3, n_boot=200, progress=False)
    b = backtest.run_backtest(cases[::-1], shared, runs=100, seed=3, n_boot=200, progress=False)
    assert json.dumps(a["cases"], sort_keys=True) == json.dumps(b["cases"], sort_keys=True)
    assert a["scores"] == b["scores"]
    assert a["skill"]["rps"]["value"] == b["skill"]["rps"]["value"]
    for name, c in a["cases"].items():
        assert math.isclose(sum(c["p"].values()), 1.0)
        # the refitted values are points of the grid, recorded per case
        for key, value in c["shared"].items():
            assert value in a["shared"]["grid"][key], name
    c = backtest.run_backtest(cases, shared, runs=100, seed=4, n_boot=200, progress=False)
    assert c["cases"] != a["cases"]  # the seed matters


# --------------------------------------------------------------------------- a toy set

# Three cases whose forecasts are certain, so every score can be worked out by hand:
#   calm:      nobody violates, no aid condition       -> triggered with p = 1; observed triggered
#   collapse:  violations at rate 1000/day, tolerance 0 -> collapse at ~0.001 days with p = 1;
#              observed: collapse at day 2
#   blocked:   no violations, convoys always fail       -> cancelled_access with p = 1;
#              observed triggered (the model is wrong here)
TOY = {
    "calm": ("parties:\n  a: {side: x, violation_prob: 0.0, tolerance: null}\n"
             "  b: {side: y, violation_prob: 0.0, tolerance: null}\n",
             "outcome: triggered\n"),
    "collapse": ("parties:\n  a: {side: x, violation_rate: 1000, major_share: 0.0}\n"
                 "  b: {side: y, violation_prob: 0.0, tolerance: 0}\n",
                 "outcome: cancelled_collapse\ncollapse_day: 2.0\ncollapsed_by: b\n"),
    "blocked": ("parties:\n  a: {side: x, violation_prob: 0.0}\n"
                "  b: {side: y, violation_prob: 0.0}\n"
                "humanitarian: {first_day: 0, convoys_per_day: 1, success_prob: 0.0,"
                " required_deliveries: 1}\n",
                "outcome: triggered\n"),
}  # fmt: skip


def write_toy(root: Path, shared: str | None = None) -> Path:
    for name, (scenario, outcome) in TOY.items():
        d = root / "toy" / name
        d.mkdir(parents=True)
        (d / "scenario.yaml").write_text(
            f"name: {name}\ntitle: Toy {name}\nwindow_days: 7\n{scenario}", encoding="utf-8"
        )
        (d / "outcome.yaml").write_text(
            outcome
            + 'sources:\n  - {label: "Toy source, 1 Jan 2020", url: "https://example.org"}\n',
            encoding="utf-8",
        )
    if shared is not None:
        (root / "toy" / "shared.yaml").write_text(shared, encoding="utf-8")
    return root / "toy"


def test_toy_scores_match_a_hand_computation(tmp_path: Path) -> None:
    cases, shared = load_cases([write_toy(tmp_path)])
    data = backtest.run_backtest(cases, shared, runs=400, seed=1, n_boot=300, progress=False)
    c = data["cases"]
    assert c["calm"]["p"]["triggered"] == 1.0
    assert c["collapse"]["p"]["cancelled_collapse"] == 1.0
    assert c["blocked"]["p"]["cancelled_access"] == 1.0
    sure = -math.log(1 - EPS)  # log score of a correct certain forecast
    # model, per case: calm and collapse perfect; blocked puts p = 0 on "triggered"
    assert c["blocked"]["brier_triggered"] == 1.0
    assert c["blocked"]["log_triggered"] == pytest.approx(-math.log(EPS))
    assert c["blocked"]["rps"] == pytest.approx(1 / 3)  # F = (0, 1, 1), O = (1, 1, 1)
    assert c["calm"]["log_collapse"] == pytest.approx(sure)
    # collapse forecast at ~0.001 days (Exp(1000)), observed day 2: CRPS ≈ 2 - 0.001 - 0.0005
    assert c["collapse"]["crps_day"] == pytest.approx(2.0, abs=0.01)
    model = data["scores"]["model"]
    assert model["brier_collapse"] == 0.0
    assert model["brier_triggered"] == pytest.approx(1 / 3)
    assert model["rps"] == pytest.approx(1 / 9)
    assert model["crps_day"] == pytest.approx(2 / 3, abs=0.004)
    # leave-one-out frequency, per case (the other two cases' outcomes):
    #   calm:     others collapse + triggered: P(trig) = P(coll) = .5 -> Brier .25, .25; RPS .25;
    #             days {2, 7}, y = 7: E|X - y| = 2.5, E|X - X'| = 2.5 -> CRPS 1.25
    #   collapse: others triggered, triggered: P(trig) = 1, P(coll) = 0, observed collapse
    #             -> Brier (coll) (0 - 1)^2 = 1, (trig) (1 - 0)^2 = 1; RPS 1;
    #             days {7, 7}, y = 2 -> CRPS 5
    #   blocked:  others triggered + collapse: as calm -> .25, .25, RPS .25, CRPS 1.25
    loo = data["scores"]["loo_frequency"]
    assert loo["brier_collapse"] == pytest.approx(0.5)
    assert loo["brier_triggered"] == pytest.approx(0.5)  # (.25 + 1 + .25) / 3
    assert loo["rps"] == pytest.approx(0.5)
    assert loo["crps_day"] == pytest.approx(2.5)
    # skill = 1 - model / baseline
    skill = data["skill"]
    assert skill["brier_collapse"]["value"] == pytest.approx(1.0)
    assert skill["brier_triggered"]["value"] == pytest.approx(1 - (1 / 3) / 0.5)
    assert skill["rps"]["value"] == pytest.approx(1 - (1 / 9) / 0.5)
    assert skill["crps_day"]["value"] == pytest.approx(1 - (2 / 3) / 2.5, abs=0.002)
    # always collapse: P(trig) = 0 -> Brier (trig) 1, 0, 1 -> 2/3; skill 1 - (1/3)/(2/3) = .5
    assert skill["brier_triggered"]["vs"]["always_collapse"]["value"] == pytest.approx(0.5)
    # uniform: P(trig) = 1/4 -> Brier (trig) (.5625 + .0625 + .5625) / 3 = 19/48; skill 3/19
    assert data["scores"]["uniform"]["brier_triggered"] == pytest.approx(19 / 48)
    assert skill["brier_triggered"]["vs"]["uniform"]["value"] == pytest.approx(3 / 19)
    lo, hi = skill["rps"]["ci95"]
    assert lo <= skill["rps"]["value"] <= hi


def test_shared_parameters_are_refitted_leaving_the_case_out(tmp_path: Path) -> None:
    # One party violates at 0.5/day over a 2-day window; the other side walks away above its
    # tolerance of 1 scaled by tolerance_scale. Scale 0: it walks away at the first violation,
    # P(collapse) = 1 - e^-1 = .63; scale 10: never within the window (11 events needed).
    # Two cases held and one collapsed. Leaving out the collapse, the others (both held) pick
    # scale 10; leaving out a held case, the others (one held, one collapsed) pick scale 0:
    # mean log score -(ln .37 + ln .63)/2 = .73 beats -(ln(1) + ln EPS)/2 = 2.6.
    for name, code in (("held_a", "triggered"), ("held_b", "triggered"), ("broke", "c")):
        d = tmp_path / "set" / name
        d.mkdir(parents=True)
        (d / "scenario.yaml").write_text(
            f"name: {name}\ntitle: {name}\nwindow_days: 2\nparties:\n"
            "  a: {side: x, violation_rate: 0.5, major_share: 0.0}\n"
            "  b: {side: y, violation_prob: 0.0, tolerance: 1}\n",
            encoding="utf-8",
        )
        outcome = (
            "outcome: cancelled_collapse\ncollapse_day: 1.0\ncollapsed_by: b\n"
            if code == "c"
            else "outcome: triggered\n"
        )
        (d / "outcome.yaml").write_text(
            outcome + 'sources: [{label: "Toy, 1 Jan 2020", url: "https://example.org"}]\n',
            encoding="utf-8",
        )
    (tmp_path / "set" / "shared.yaml").write_text(
        "tolerance_scale: {value: 1.0, grid: [0.0, 1.0, 10.0]}\n", encoding="utf-8"
    )
    cases, shared = load_cases([tmp_path / "set"])
    data = backtest.run_backtest(cases, shared, runs=2000, seed=5, n_boot=100, progress=False)
    assert data["cases"]["broke"]["shared"] == {"tolerance_scale": 10.0}
    assert data["cases"]["held_a"]["shared"] == {"tolerance_scale": 0.0}
    assert data["cases"]["held_b"]["shared"] == {"tolerance_scale": 0.0}
    # scored with scale 10, the collapse case gets P(collapse) = 0: the out-of-sample penalty
    assert data["cases"]["broke"]["p"]["cancelled_collapse"] == 0.0
    assert data["cases"]["held_a"]["p"]["cancelled_collapse"] == pytest.approx(
        1 - math.exp(-1), abs=0.04
    )


# --------------------------------------------------------------------------- command line


def test_cli_writes_the_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    toy = write_toy(tmp_path)
    out = tmp_path / "out"
    assert main(["backtest", str(toy), "--runs", "50", "--seed", "2", "--out", str(out)]) == 0
    assert "skill" in capsys.readouterr().out
    data = json.loads((out / "backtest.json").read_text(encoding="utf-8"))
    assert set(data["cases"]) == set(TOY)
    for c in data["cases"].values():
        assert {"p", "observed", "brier_collapse", "brier_triggered", "log_collapse", "rps"} <= set(
            c
        )
        assert "crps_day" in c
    assert set(data["scores"]) == {"model", "loo_frequency", "always_collapse", "uniform"}
    assert {"value", "ci95"} <= set(data["skill"]["brier_collapse"])
    assert (out / "report.md").exists()
    assert (out / "figures" / "reliability.png").exists()
    assert (out / "figures" / "cases.png").exists()
    # never overwritten
    assert main(["backtest", str(toy), "--runs", "50", "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err


BAD_OUTCOMES = [
    ("outcome: held\n", r"outcome.yaml:1:1: outcome: unknown outcome 'held'"),
    ("outcome: triggerd\n", r"unknown outcome 'triggerd' .*; did you mean 'triggered'\?"),
    (
        "outcome: cancelled_collapse\ncollapse_day: 9.5\ncollapsed_by: b\n",
        r"outcome.yaml:2:1: collapse_day: 9.5 is outside the window \[0, 7\)",
    ),
    (
        "outcome: cancelled_collapse\ncollapse_day: 2\ncollapsed_by: nobody\n",
        r"outcome.yaml:3:1: collapsed_by: 'nobody' is not a party or guarantor",
    ),
    ("outcome: triggered\ncollapse_day: 3\n", r"outcome.yaml:2:1: collapse_day: must be null"),
    ("outcom: triggered\n", r"outcome.yaml:1:1: outcom: unknown key"),
    ("outcome: triggered\nphase: calm\n", r"outcome.yaml:2:1: phase: the scenario has no phases"),
    ("outcome: [triggered\n", r"outcome.yaml:\d+:\d+: invalid YAML"),
]


@pytest.mark.parametrize(("text", "message"), BAD_OUTCOMES)
def test_bad_outcome_exits_2_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    toy = write_toy(tmp_path)
    (toy / "collapse" / "outcome.yaml").write_text(
        text + 'sources: [{label: "x, 1 Jan 2020", url: "https://example.org"}]\n'
        if "[triggered" not in text
        else text,
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert main(["backtest", str(toy), "--runs", "20", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert re.search(message, err), err
    assert not out.exists()
    assert not list(tmp_path.glob(".out*"))


def test_missing_outcome_and_bad_shared_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    toy = write_toy(tmp_path)
    (toy / "calm" / "outcome.yaml").unlink()
    assert main(["backtest", str(toy), "--runs", "20", "--out", str(tmp_path / "o")]) == 2
    assert re.search(r"calm/outcome.yaml:1:1: no such file", capsys.readouterr().err)
    shutil.rmtree(toy)
    toy = write_toy(tmp_path, shared="rules.major_weight: {value: 3, grid: [2, 4]}\n")
    assert main(["backtest", str(toy), "--runs", "20", "--out", str(tmp_path / "o")]) == 2
    assert re.search(r"shared.yaml:1:\d+: rules.major_weight.grid: ", capsys.readouterr().err)
    assert not (tmp_path / "o").exists()


def test_a_folder_that_does_not_exist_is_named_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing, plain = tmp_path / "nowhere", tmp_path / "file.txt"
    plain.write_text("x", encoding="utf-8")
    for path, words in ((missing, "no such folder"), (plain, "not a folder of backtest cases")):
        assert main(["backtest", str(path), "--runs", "20", "--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and err.endswith(f"{path}: {words}")
    assert not (tmp_path / "o").exists()


PHASED_CASE = """\
name: phased
title: Toy phases
parties:
  a: {side: A, violation_prob: 0.3, tolerance: 1}
  b: {side: B, violation_prob: 0.3, tolerance: 1}
phases:
  - {name: calm, days: 3, gate: {max_strain: 0}, on_fail: {extend_days: 2, times: 1}}
  - {name: jic, days: 4}
"""


@pytest.mark.parametrize(
    ("outcome", "message"),
    [
        (
            "phase: jc\n",
            r"phase: unknown phase 'jc' \(expected one of calm, jic\); did you mean 'jic'",
        ),
        ("phase: 3\n", r"phase: unknown phase 3"),
        (
            "collapse_day: 9.5\n",
            r"collapse_day: 9.5 is outside the phases with every extension \[0, 9\)",
        ),
    ],
)
def test_a_phased_case_checks_its_phase_and_days_against_the_phases(
    tmp_path: Path, outcome: str, message: str
) -> None:
    """A phase must be one of the scenario's; a collapse may come as late as the phases with
    every extension last (9 days here, not the 7 of the nominal window)."""
    import sim
    from sim.cases import load_outcome

    scenario_file = tmp_path / "scenario.yaml"
    scenario_file.write_text(PHASED_CASE, encoding="utf-8")
    scenario = sim.load_scenario(scenario_file)
    head = "outcome: cancelled_collapse\ncollapsed_by: a\n"
    good = tmp_path / "good.yaml"
    good.write_text(
        head + "collapse_day: 8.5\nphase: jic\nsources: [{label: x, url: y}]\n", encoding="utf-8"
    )
    loaded = load_outcome(good, scenario)
    assert (loaded.collapse_day, loaded.phase) == (8.5, "jic")
    bad = tmp_path / "outcome.yaml"
    day = "" if "collapse_day" in outcome else "collapse_day: 2\n"
    bad.write_text(head + day + outcome + "sources: [{label: x, url: y}]\n", encoding="utf-8")
    with pytest.raises(sim.ScenarioError, match=message):
        load_outcome(bad, scenario)
