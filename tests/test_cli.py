"""The ``ceasefire`` command line, called in-process through ``sim.cli.main``.

Every test runs in its own ``tmp_path`` (``chdir``), so the default output folder is
``tmp_path/results``. One test runs the installed console script end to end.
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from conftest import Cli

import sim

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
CODES = ("triggered", "cancelled_collapse", "cancelled_violence", "cancelled_access")

# A cheap scenario with every mechanism, so collapses, deliveries and all outcomes occur.
SMALL = """\
name: small
title: Small test ceasefire
window_days: 3
parties:
  gov:
    side: a
    violation_prob: 0.3
    major_share: 0.3
    retaliation: {boost: 0.5, half_life_hours: 12}
    tolerance: 4
  reb:
    side: b
    violation_prob: 0.2
    tolerance: 6
spoilers:
  sp: {attack_prob: 0.3, targets: a, blamed_on: reb, blame_prob: 0.5}
guarantors:
  g: {clients: [gov], pressure: 0.2, tolerance: 8, incident_prob: 0.05, incident_target: b}
humanitarian: {first_day: 1, convoys_per_day: 1, success_prob: 0.7,
               major_violation_penalty: 0.5, required_deliveries: 1}
trigger: {quiet_days: 1, max_strain: 3}
"""

SUPERCRITICAL = """\
name: explosive
title: Explosive retaliation
parties:
  gov: {side: a, violation_prob: 0.3, retaliation: {boost: 5, half_life_hours: 72}}
  reb: {side: b, violation_prob: 0.3, retaliation: {boost: 5, half_life_hours: 72}}
monte_carlo: {max_events: 300}
"""

ERROR_LINE = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?P<col>\d+): (?P<rest>.+)$")


@pytest.fixture
def here(here: Path) -> Path:
    """The shared working directory, with this module's scenario file."""
    Path("small.yaml").write_text(SMALL, encoding="utf-8")
    return here


def result_folders(name: str = "small") -> list[Path]:
    return sorted(p for p in (Path("results") / name).glob("*") if p.is_dir())


def run_folder(cli: Cli, *args: str) -> Path:
    """``ceasefire run small.yaml ARGS``; returns the single new result folder."""
    before = set(result_folders())
    code, _out, err = cli("run", "small.yaml", "--quiet", *args)
    assert code == 0, err
    new = set(result_folders()) - before
    assert len(new) == 1, new
    return new.pop()


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def tree(path: Path) -> dict[str, str]:
    """Relative path -> sha256 of every file under ``path``."""
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def assert_one_error_line(err: str) -> str:
    assert "Traceback" not in err
    lines = err.splitlines()
    assert len(lines) == 1, err
    return lines[0]


# --------------------------------------------------------------------------- validate


def test_validate_ok_prints_one_summary_line_per_file(here: Path, cli: Cli) -> None:
    Path("other.yaml").write_text(SMALL.replace("name: small", "name: other"), encoding="utf-8")
    code, out, err = cli("validate", "small.yaml", "other.yaml")
    assert code == 0
    assert err == ""
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("small.yaml: ok")
    assert lines[1].startswith("other.yaml: ok")
    assert "2 sides" in lines[0] and "2 parties" in lines[0]


@pytest.mark.parametrize(
    ("text", "where", "key"),
    [
        (
            SMALL.replace("violation_prob: 0.3", "violation_prob: 1.5"),
            "7:5",
            "parties.gov.violation_prob",
        ),
        (
            SMALL.replace("    tolerance: 6\n", "    tolerance: 6\n    tolrance: 1\n"),
            "15:5",
            "parties.reb.tolrance",
        ),
        (SMALL.replace("targets: a,", "targets: c,"), "16:26", "spoilers.sp.targets"),
        ("name: bad\ntitle: Bad: yaml\n", "2:11", ""),
        ("", "1:1", ""),
    ],
    ids=["out-of-range", "unknown-key", "dangling-reference", "yaml-syntax", "empty"],
)
def test_validate_bad_file_one_line_exit_2(
    here: Path, cli: Cli, text: str, where: str, key: str
) -> None:
    Path("bad.yaml").write_text(text, encoding="utf-8")
    code, out, err = cli("validate", "bad.yaml")
    assert code == 2
    assert out == ""
    line = assert_one_error_line(err)
    m = ERROR_LINE.match(line)
    assert m, line
    assert f"{m['file']}:{m['line']}:{m['col']}" == f"bad.yaml:{where}"
    if key:
        assert m["rest"].startswith(f"{key}: ")


def test_validate_missing_file(here: Path, cli: Cli) -> None:
    code, _out, err = cli("validate", "nothere.yaml")
    assert code == 2
    assert ERROR_LINE.match(assert_one_error_line(err))


def test_validate_good_and_bad(here: Path, cli: Cli) -> None:
    Path("bad.yaml").write_text(SMALL + "colour: red\n", encoding="utf-8")
    code, out, err = cli("validate", "bad.yaml", "small.yaml")
    assert code == 2
    assert len(out.splitlines()) == 1 and out.startswith("small.yaml: ok")
    assert assert_one_error_line(err).startswith("bad.yaml:22:1: colour: unknown key")


def test_validate_warns_about_supercritical(here: Path, cli: Cli) -> None:
    Path("boom.yaml").write_text(SUPERCRITICAL, encoding="utf-8")
    code, out, err = cli("validate", "boom.yaml")
    assert code == 0
    assert len(out.splitlines()) == 1
    assert "warning" in err and "supercritical" in err


PHASED_BOOM = """\
name: boom
title: Calm, then explosive
parties:
  a: {side: A, violation_rate: 0.5, retaliation: {boost: 0.1, half_life_hours: 24}}
  b: {side: B, violation_rate: 0.5, retaliation: {boost: 0.1, half_life_hours: 24}}
trigger: {label: the next step, max_strain: 3}
phases:
  - {name: calm, days: 3}
  - {name: hot, days: 4, set: {parties.a.retaliation.boost: 4, parties.b.retaliation.boost: 4}}
"""


def test_validate_warns_about_a_supercritical_phase_and_unused_keys(here: Path, cli: Cli) -> None:
    """The branching ratio is the highest of the phases' (each with its set values); a
    trigger value the gates replace is named."""
    Path("boom.yaml").write_text(PHASED_BOOM, encoding="utf-8")
    code, out, err = cli("validate", "boom.yaml")
    assert code == 0
    scenario = sim.load_scenario("boom.yaml")
    ratio = scenario.branching_ratio()
    assert ratio == max(x.branching_ratio() for x in sim.scenario.phase_scenarios(scenario))
    assert ratio > 1 > sim.scenario.phase_scenarios(scenario)[0].branching_ratio()
    assert f"branching ratio {ratio:.2f}" in out
    warnings = err.splitlines()
    assert any("supercritical in phase hot" in w for w in warnings), err
    assert any("trigger.max_strain (3.0, line 6) is not used with phases" in w for w in warnings)
    assert len(warnings) == 2


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.name for p in SCENARIOS])
def test_validate_project_scenarios(path: Path, cli: Cli) -> None:
    code, out, err = cli("validate", str(path))
    assert code == 0, err
    assert len(out.splitlines()) == 1
    assert "ok" in out
    assert "warning" not in err  # a phased variant's inherited trigger is not named


def test_project_has_scenarios() -> None:
    assert SCENARIOS, "no scenarios/*.yaml found"


# --------------------------------------------------------------------------- run


def test_run_writes_result_folder(here: Path, cli: Cli) -> None:
    runs, seed = 300, 5
    argv = ["run", "small.yaml", "--runs", str(runs), "--seed", str(seed), "--quiet"]
    code, out, err = cli(*argv)
    assert code == 0, err
    folders = result_folders()
    assert len(folders) == 1
    folder = folders[0]
    assert re.fullmatch(r"\d{8}-\d{6}-[0-9a-f]{6}", folder.name), folder.name
    assert str(folder) in out
    for c in CODES:
        assert c in out  # the printed table

    scenario = sim.load_scenario("small.yaml")
    parties = list(scenario.parties)
    actors = [*scenario.parties, *scenario.guarantors]

    # runs.csv
    rows = read_csv(folder / "runs.csv")
    assert len(rows) == runs
    header = list(rows[0])
    required = [
        "run",
        "outcome",
        "collapse_day",
        "collapsed_by",
        "deliveries",
        *[f"violations_{p}" for p in parties],
    ]
    assert all(col in header for col in required), header
    assert header[:5] == required[:5]
    assert [int(r["run"]) for r in rows] == list(range(runs))
    for r in rows:
        assert r["outcome"] in CODES
        collapsed = r["outcome"] == "cancelled_collapse"
        assert (r["collapse_day"] != "") == collapsed, r
        assert (r["collapsed_by"] != "") == collapsed, r
        if collapsed:
            assert 0 <= float(r["collapse_day"]) < scenario.window_days
            assert r["collapsed_by"] in actors
        assert int(r["deliveries"]) >= 0
        for p in parties:
            assert int(r[f"violations_{p}"]) >= 0
    counts = Counter(r["outcome"] for r in rows)
    assert counts["cancelled_collapse"] > 0 and counts["triggered"] > 0  # not vacuous

    # summary.json
    summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    for key in ("scenario", "runs", "seed", "outcomes", "survival"):
        assert key in summary
    assert (summary["scenario"], summary["runs"], summary["seed"]) == ("small", runs, seed)
    assert set(summary["outcomes"]) == set(CODES)
    assert sum(o["count"] for o in summary["outcomes"].values()) == runs
    for c, o in summary["outcomes"].items():
        assert o["count"] == counts[c]
        assert o["p"] == pytest.approx(o["count"] / runs)
        lo, hi = o["ci95"]
        assert 0 <= lo <= hi <= 1
        assert lo - 1e-12 <= o["p"] <= hi + 1e-12
    days = [d for d, _ in summary["survival"]]
    assert days[: scenario.window_days + 1] == list(range(scenario.window_days + 1))
    assert all(float(d).is_integer() for d in days)
    fractions = [f for _, f in summary["survival"]]
    assert fractions[0] == 1
    assert all(a >= b for a, b in itertools.pairwise(fractions))
    assert fractions[scenario.window_days] == pytest.approx(1 - counts["cancelled_collapse"] / runs)
    for p in parties:
        mean = sum(int(r[f"violations_{p}"]) for r in rows) / runs
        assert summary["violations"][p]["mean"] == pytest.approx(mean)

    # manifest.json
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    for key in ("scenario", "seed", "runs", "engine", "versions", "command"):
        assert key in manifest
    assert manifest["scenario"] == scenario.model_dump(mode="json")
    assert (manifest["seed"], manifest["runs"], manifest["engine"]) == (seed, runs, "simpy")
    for lib in ("ceasefire-sim", "numpy", "simpy"):
        assert lib in manifest["versions"]
    assert manifest["command"] == ["ceasefire", *argv]

    # figures
    pngs = list((folder / "figures").glob("*.png"))
    assert pngs
    for png in pngs:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_run_no_plots(here: Path, cli: Cli) -> None:
    folder = run_folder(cli, "--runs", "50", "--seed", "1", "--no-plots")
    assert not (folder / "figures").exists()
    assert not list(folder.rglob("*.png"))
    assert (folder / "runs.csv").is_file()


def test_run_twice_never_overwrites(here: Path, cli: Cli) -> None:
    first = run_folder(cli, "--runs", "50", "--seed", "1", "--no-plots")
    before = tree(first)
    second = run_folder(cli, "--runs", "50", "--seed", "2", "--no-plots")
    assert second != first
    assert len(result_folders()) == 2
    assert tree(first) == before


def test_run_out_existing_dir_is_refused(here: Path, cli: Cli) -> None:
    out = Path("mine")
    out.mkdir()
    (out / "notes.txt").write_text("keep me", encoding="utf-8")
    before = tree(out)
    listing = sorted(p.name for p in here.iterdir())
    code, _stdout, err = cli(
        "run", "small.yaml", "--runs", "50", "--seed", "1", "--no-plots", "--out", "mine"
    )
    assert code == 2
    assert "mine" in assert_one_error_line(err)
    assert tree(out) == before
    assert sorted(p.name for p in here.iterdir()) == listing  # nothing else written


def test_run_out_new_dir(here: Path, cli: Cli) -> None:
    code, _, err = cli(
        "run",
        "small.yaml",
        "--runs",
        "50",
        "--seed",
        "1",
        "--no-plots",
        "--quiet",
        "--out",
        "deep/new/folder",
    )
    assert code == 0, err
    assert (here / "deep/new/folder/runs.csv").is_file()
    assert not Path("results").exists()


def test_same_seed_same_bytes_different_seed_different(here: Path, cli: Cli) -> None:
    a = run_folder(cli, "--runs", "300", "--seed", "7", "--no-plots")
    b = run_folder(cli, "--runs", "300", "--seed", "7", "--no-plots")
    c = run_folder(cli, "--runs", "300", "--seed", "8", "--no-plots")
    assert (a / "runs.csv").read_bytes() == (b / "runs.csv").read_bytes()
    assert (a / "runs.csv").read_bytes() != (c / "runs.csv").read_bytes()
    sa = json.loads((a / "summary.json").read_text(encoding="utf-8"))
    sb = json.loads((b / "summary.json").read_text(encoding="utf-8"))
    assert sa["outcomes"] == sb["outcomes"]


def test_workers_do_not_change_results(here: Path, cli: Cli) -> None:
    runs = "4321"  # three chunks of at most 2,000 runs
    one = run_folder(cli, "--runs", runs, "--seed", "11", "--no-plots", "--workers", "1")
    two = run_folder(cli, "--runs", runs, "--seed", "11", "--no-plots", "--workers", "2")
    assert (one / "runs.csv").read_bytes() == (two / "runs.csv").read_bytes()
    assert len((one / "runs.csv").read_text(encoding="utf-8").splitlines()) == 4322


def test_seed_recorded_when_none_given(here: Path, cli: Cli) -> None:
    a = run_folder(cli, "--runs", "100", "--no-plots")
    seed = json.loads((a / "summary.json").read_text(encoding="utf-8"))["seed"]
    assert isinstance(seed, int) and seed >= 0
    b = run_folder(cli, "--runs", "100", "--no-plots", "--seed", str(seed))
    assert (a / "runs.csv").read_bytes() == (b / "runs.csv").read_bytes()


def test_run_uses_scenario_monte_carlo_defaults(here: Path, cli: Cli) -> None:
    Path("small.yaml").write_text(SMALL + "monte_carlo: {runs: 30, seed: 5}\n", encoding="utf-8")
    a = run_folder(cli, "--no-plots")
    summary = json.loads((a / "summary.json").read_text(encoding="utf-8"))
    assert (summary["runs"], summary["seed"]) == (30, 5)
    b = run_folder(cli, "--no-plots", "--runs", "40")  # the command line wins
    summary = json.loads((b / "summary.json").read_text(encoding="utf-8"))
    assert (summary["runs"], summary["seed"]) == (40, 5)


def test_resolved_scenario_reproduces_the_run(here: Path, cli: Cli) -> None:
    a = run_folder(
        cli,
        "--runs",
        "200",
        "--seed",
        "3",
        "--no-plots",
        "--set",
        "parties.gov.violation_prob=0.5",
    )
    manifest = json.loads((a / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["scenario"]["parties"]["gov"]["violation_prob"] == 0.5  # --set applied
    code, _, err = cli("run", str(a / "scenario.yaml"), "--no-plots", "--quiet", "--out", "again")
    assert code == 0, err
    assert (a / "runs.csv").read_bytes() == Path("again/runs.csv").read_bytes()


def test_run_supercritical_stops_with_clear_error(here: Path, cli: Cli) -> None:
    Path("boom.yaml").write_text(SUPERCRITICAL, encoding="utf-8")
    code, _out, err = cli("run", "boom.yaml", "--runs", "20", "--seed", "1", "--no-plots")
    assert code == 2
    assert "max_events" in assert_one_error_line(err)
    assert not Path("results").exists()


BAD_ARGS = {
    "runs-0": ["--runs", "0"],
    "runs-x": ["--runs", "x"],
    "runs-float": ["--runs", "1.5"],
    "seed-negative": ["--seed", "-1"],
    "workers-0": ["--workers", "0"],
    "engine-nope": ["--engine", "nope"],
    "set-novalue": ["--set", "novalue"],
    "set-empty-key": ["--set", "=3"],
    "set-bad-yaml": ["--set", "title=[unclosed"],
    "set-out-of-range": ["--set", "parties.gov.violation_prob=2"],
    "set-unknown-party": ["--set", "parties.nobody.side=x"],
    "set-unknown-key": ["--set", "parties.gov.violaton_prob=0.1"],
    "set-not-a-mapping": ["--set", "title.x=1"],
}


@pytest.mark.parametrize("extra", BAD_ARGS.values(), ids=BAD_ARGS.keys())
def test_run_bad_values_exit_2_write_nothing(here: Path, cli: Cli, extra: list[str]) -> None:
    listing = sorted(p.name for p in here.iterdir())
    code, out, err = cli("run", "small.yaml", "--runs", "20", "--seed", "1", *extra)
    code2, _, _ = cli("run", "small.yaml", *extra)  # with the flag last, too
    assert (code, code2) == (2, 2)
    assert out == ""
    line = assert_one_error_line(err)
    assert not Path("results").exists()
    assert sorted(p.name for p in here.iterdir()) == listing
    if extra[0] == "--set" and "." in extra[1].split("=")[0]:
        key = extra[1].split("=")[0]
        named = ".".join(key.split(".")[:2])  # at least the party named in the path
        assert named in line, line
    if extra == ["--set", "parties.gov.violation_prob=2"]:
        assert "parties.gov.violation_prob" in line and "--set" in line


def test_run_missing_scenario_file(here: Path, cli: Cli) -> None:
    code, _out, err = cli("run", "nothere.yaml", "--runs", "10")
    assert code == 2
    line = assert_one_error_line(err)
    assert line.startswith("nothere.yaml:1:1: ")
    assert not Path("results").exists()


def test_run_bad_scenario_file(here: Path, cli: Cli) -> None:
    Path("bad.yaml").write_text(SMALL.replace("tolerance: 4", "tolerance: -4"), encoding="utf-8")
    code, _, err = cli("run", "bad.yaml", "--runs", "10")
    assert code == 2
    assert assert_one_error_line(err).startswith("bad.yaml:10:5: parties.gov.tolerance: ")
    assert not Path("results").exists()


# --------------------------------------------------------------------------- trace


def parse_trace(text: str, parties: list[str]) -> dict[str, Any]:
    lines = text.splitlines()
    violations = dict.fromkeys(parties, 0)
    deliveries = 0
    for line in lines:
        m = re.search(r"  (\w+) violation against ", line)
        if m:
            violations[m.group(1)] += 1
        m = re.search(r"convoys: (\d+) of (\d+) delivered", line)
        if m:
            deliveries += int(m.group(1))
    outcome_lines = [ln for ln in lines if ln.startswith("outcome: ")]
    assert len(outcome_lines) == 1, text
    m = re.fullmatch(r"collapse declared by (\w+) at day ([\d.]+)", lines[-1])
    if m:
        assert lines[-2] == outcome_lines[0], "the outcome comes right before the collapse line"
    else:
        assert lines[-1] == outcome_lines[0], "the story ends with the outcome"
    return {
        "outcome": outcome_lines[0].removeprefix("outcome: "),
        "violations": violations,
        "deliveries": deliveries,
        "collapsed_by": m.group(1) if m else "",
        "collapse_day": float(m.group(2)) if m else None,
    }


def test_trace_matches_run_rows(here: Path, cli: Cli) -> None:
    seed, runs = 13, 40
    folder = run_folder(cli, "--runs", str(runs), "--seed", str(seed), "--no-plots")
    rows = read_csv(folder / "runs.csv")
    parties = list(sim.load_scenario("small.yaml").parties)
    seen = Counter()
    for i in range(runs):
        code, out, err = cli("trace", "small.yaml", "--seed", str(seed), "--run", str(i))
        assert code == 0, err
        t = parse_trace(out, parties)
        row = rows[i]
        assert t["outcome"] == row["outcome"] and t["outcome"] in CODES, (i, out)
        assert t["violations"] == {p: int(row[f"violations_{p}"]) for p in parties}, (i, out)
        assert t["deliveries"] == int(row["deliveries"]), (i, out)
        assert t["collapsed_by"] == row["collapsed_by"], (i, out)
        if row["collapse_day"]:
            assert t["collapse_day"] == pytest.approx(float(row["collapse_day"]), abs=6e-4)
        else:
            assert t["collapse_day"] is None
        seen[row["outcome"]] += 1
        seen["deliveries"] += int(row["deliveries"]) > 0
        seen["violations"] += sum(int(row[f"violations_{p}"]) for p in parties) > 0
    assert seen["cancelled_collapse"] and seen["deliveries"] and seen["violations"], seen


def test_trace_ends_with_outcome_and_collapse(here: Path, cli: Cli) -> None:
    code, out, err = cli("trace", "small.yaml", "--seed", "1", "--run", "0")
    assert code == 0, err
    last = out.strip().splitlines()[-1]
    assert last.startswith(("outcome: ", "collapse declared by "))
    assert "Small test ceasefire" in out.splitlines()[0]


def test_trace_says_when_aid_access_is_refused(cli: Cli) -> None:
    """The flagship's access is one decision a window: the trace says it at the start, and a
    convoy day without access says why nothing passed (not 'chance 0.00')."""
    flagship = str(Path(__file__).parents[1] / "scenarios" / "geneva_2016.yaml")
    told = {}
    for run in range(12):
        code, out, err = cli("trace", flagship, "--run", str(run))
        assert code == 0, err
        lines = out.splitlines()
        access = [line for line in lines if "aid access" in line]
        assert len(access) == 1 and "day  0.000" in access[0], access
        refused = "NOT permitted" in access[0]
        convoys = [line for line in lines if "convoys:" in line]
        assert convoys
        assert all(("may pass (access not permitted)" in line) == refused for line in convoys)
        told[refused] = run
    assert set(told) == {True, False}, "both kinds of run among the first twelve"


def test_integrate_without_uncertainties_and_a_run_index_too_large_say_so(cli: Cli) -> None:
    """`--integrate` on a scenario with nothing uncertain names the file; `trace --run`
    beyond the largest run index says it is the index that is out of range."""
    flagship = str(Path(__file__).parents[1] / "scenarios" / "geneva_2016.yaml")
    for argv in (
        ["run", flagship, "--integrate"],
        ["trace", flagship, "--run", "0", "--integrate"],
    ):
        code, out, err = cli(*argv)
        assert code == 2 and out == ""
        line = assert_one_error_line(err)
        assert "geneva_2016.yaml: --integrate needs an 'uncertainties:' block" in line
    code, out, err = cli("trace", flagship, "--run", str(10**12))
    assert code == 2
    assert "run index must be from 0 to 999,999,999,999, got 1,000,000,000,000" in err


def test_trace_without_seed_needs_one(here: Path, cli: Cli) -> None:
    code, out, err = cli("trace", "small.yaml", "--run", "0")
    assert code == 2
    assert out == ""
    assert "--seed" in assert_one_error_line(err)


def test_trace_uses_scenario_seed(here: Path, cli: Cli) -> None:
    Path("seeded.yaml").write_text(SMALL + "monte_carlo: {seed: 99}\n", encoding="utf-8")
    code, default, err = cli("trace", "seeded.yaml", "--run", "3")
    assert code == 0, err
    code, explicit, err = cli("trace", "seeded.yaml", "--run", "3", "--seed", "99")
    assert code == 0, err
    assert default == explicit


def test_trace_applies_overrides(here: Path, cli: Cli) -> None:
    _, base, _ = cli("trace", "small.yaml", "--seed", "4", "--run", "0")
    code, quiet, err = cli(
        "trace",
        "small.yaml",
        "--seed",
        "4",
        "--run",
        "0",
        "--set",
        "parties.gov.violation_prob=0",
        "--set",
        "parties.reb.violation_prob=0",
        "--set",
        "spoilers.sp.attack_prob=0",
        "--set",
        "guarantors.g.incident_prob=0",
    )
    assert code == 0, err
    assert "violation against" not in quiet and "attacks" not in quiet
    assert base != quiet


# --------------------------------------------------------------------------- schema


def test_schema_prints_json(here: Path, cli: Cli) -> None:
    code, out, err = cli("schema")
    assert code == 0, err
    schema = json.loads(out)
    assert schema == json.loads(json.dumps(sim.json_schema()))
    assert "parties" in schema["properties"]


# --------------------------------------------------------------------------- console script


def test_console_script_end_to_end(here: Path) -> None:
    exe = shutil.which("ceasefire") or str(Path(sys.executable).with_name("ceasefire"))
    assert Path(exe).exists(), "the `ceasefire` console script is not installed"
    proc = subprocess.run(
        [exe, "run", "small.yaml", "--runs", "200", "--no-plots"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=here,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    folders = result_folders()
    assert len(folders) == 1
    rows = read_csv(folders[0] / "runs.csv")
    assert len(rows) == 200
    summary = json.loads((folders[0] / "summary.json").read_text(encoding="utf-8"))
    assert summary["runs"] == 200
    assert not (folders[0] / "figures").exists()
    for code in CODES:
        assert code in proc.stdout


# --------------------------------------------------------------------------- what users trip on


@pytest.mark.parametrize("name", ["x.jpg", "x.JPEG", "x.eps", "x"])
def test_trace_plot_takes_only_png_svg_pdf(here: Path, cli: Cli, name: str) -> None:
    code, out, err = cli("trace", "small.yaml", "--seed", "1", "--run", "0", "--plot", name)
    assert code == 2 and not out
    assert "unsupported figure format" in err and "(use .png, .svg or .pdf)" in err
    assert not Path(name).exists()


def test_python_m_sim_cli_help_works(here: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sim.cli", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: ceasefire")


def test_every_help_page_reads_as_written() -> None:
    """Each subcommand's help is printed without a doubled percent sign or a leftover
    format field (argparse formats argument help with %, but not descriptions)."""
    import argparse

    from sim.cli import build_parser

    parser = build_parser()
    (choices,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    assert len(choices.choices) >= 8
    for name, sub in choices.choices.items():
        page = sub.format_help()
        assert "%%" not in page and "%(" not in page, name


def test_misspelt_party_in_set_is_named_with_a_suggestion(here: Path, cli: Cli) -> None:
    code, out, err = cli("run", "small.yaml", "--runs", "10", "--set", "parties.gv.tolerance=5")
    assert code == 2 and not out
    assert err.strip() == (
        "--set: parties.gv.tolerance: 'gv' is not a party of this scenario (known: gov, reb); "
        "did you mean 'gov'? (from --set parties.gv.tolerance)"
    )
    assert not Path("results").exists()


def test_all_problems_are_printed_one_per_line(here: Path, cli: Cli) -> None:
    Path("bad.yaml").write_text(
        SMALL.replace("tolerance: 4", "tolerence: 4").replace("0.2\n", "1.5\n", 1),
        encoding="utf-8",
    )
    code, _out, err = cli("validate", "bad.yaml")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 2
    assert all(ERROR_LINE.match(line) for line in lines)
    assert "did you mean 'tolerance'?" in err


def test_exponent_is_a_number_on_the_command_line(here: Path, cli: Cli) -> None:
    code, _out, err = cli(
        "run", "small.yaml", "--runs", "20", "--seed", "1", "--no-plots", "--quiet",
        "--set", "parties.reb.violation_prob=1e-3",
    )  # fmt: skip
    assert code == 0, err


def test_control_characters_never_reach_the_terminal(here: Path, cli: Cli) -> None:
    Path("evil.yaml").write_text(
        SMALL.replace("Small test ceasefire", '"Evil \\e[2J title \\a"'), encoding="utf-8"
    )
    code, out, err = cli("run", "evil.yaml", "--runs", "20", "--seed", "1", "--no-plots")
    assert code == 0, err
    assert "\x1b" not in out + err and "\x07" not in out + err
    assert "Evil \\x1b[2J title \\x07" in out
    code, out, err = cli("run", "small.yaml", "--set", "parties.gov.x\x1b[2J=1")
    assert code == 2 and "\x1b" not in err and "\\x1b[2J" in err


def test_one_number_for_a_per_day_list_is_noted(here: Path, cli: Cli) -> None:
    """--set or --param of one number on a key that holds a per-day list replaces every day:
    legal, but easy to do by mistake, so it is noted on stderr with how to change one day."""
    flagship = str(ROOT / "scenarios" / "geneva_2016.yaml")
    key = "parties.government.violation_prob"
    args = ("--runs", "50", "--no-plots", "--quiet", "--engine", "fast")
    code, _, err = cli("run", flagship, "--set", f"{key}=0.35", *args, "--out", "a")
    assert code == 0
    assert (f"note: --set {key}: one number replaces the 7 per-day values (0.2, 0.2, 0.25, "
            f"0.35, 0.4, 0.55, 0.65); to change day D alone, set {key}.D") in err  # fmt: skip
    for change in (f"{key}.3=0.3", f"{key}=[0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2]"):
        code, _, err = cli("run", flagship, "--set", change, *args, "--out", change[-3:])
        assert code == 0 and "note:" not in err
    code, _, err = cli("sweep", flagship, "--param", f"{key}=0.1:0.5:3", "--runs", "20",
                       "--no-plots", "--quiet", "--out", "s")  # fmt: skip
    assert code == 0 and f"note: --param {key}: one number replaces the 7" in err


def test_an_option_the_subcommand_lacks_points_to_its_own_help(here: Path, cli: Cli) -> None:
    code, out, err = cli("validate", "small.yaml", "--set", "a=1")
    assert code == 2 and not out
    assert err.strip() == (
        "ceasefire validate: error: unrecognized arguments: --set a=1 "
        "(see ceasefire validate --help)"
    )


def test_a_rate_is_printed_only_over_half_a_second_or_more(here: Path) -> None:
    """A rate over a fraction of a second measures the start-up, not the engine."""
    import dataclasses

    from sim.cli import report

    results = sim.simulate(sim.load_scenario("small.yaml"), runs=3, seed=1, progress=False)
    quick = report(dataclasses.replace(results, elapsed=0.2)).splitlines()[1]
    slow = report(dataclasses.replace(results, elapsed=2.0)).splitlines()[1]
    assert quick.endswith("0.2 s") and "runs/s" not in quick
    assert slow.endswith("2.0 s (2 runs/s)")


def test_a_phased_folders_scenario_reproduces_it_without_warnings(here: Path, cli: Cli) -> None:
    """The resolved scenario leaves out what phases do not use (the gates decide), so
    validating it says nothing about values its user never wrote."""
    phased = Path(__file__).resolve().parents[1] / "scenarios" / "geneva_2016_phases.yaml"
    args = ("--runs", "100", "--no-plots", "--quiet", "--engine", "fast")
    assert cli("run", phased, *args, "--out", "a")[0] == 0
    code, _, err = cli("validate", "a/scenario.yaml")
    assert code == 0 and "warning" not in err
    assert cli("run", "a/scenario.yaml", *args, "--out", "b")[0] == 0
    assert Path("a/runs.csv").read_text() == Path("b/runs.csv").read_text()


def test_run_says_what_validate_warns_about(here: Path, cli: Cli) -> None:
    Path("boom.yaml").write_text(PHASED_BOOM, encoding="utf-8")
    code, _, err = cli("run", "boom.yaml", "--runs", "5", "--seed", "1", "--engine", "fast",
                       "--no-plots", "--quiet", "--out", "r")  # fmt: skip
    assert code in (0, 2)  # a run may explode: exit 2 and the max_events line
    assert "boom.yaml: warning: trigger.max_strain (3.0, line 6) is not used with phases" in err
    assert "supercritical" not in err  # validate's; a run that explodes says so itself


def test_an_error_a_set_causes_elsewhere_names_the_set(here: Path, cli: Cli) -> None:
    """A --set that makes another key wrong (a phase's days against window_days) names the
    --set that did it, at the key it made wrong."""
    phased = ROOT / "scenarios" / "geneva_2016_phases.yaml"
    code, out, err = cli("run", str(phased), "--runs", "10", "--set", "phases.1.days=10")
    assert code == 2 and not out
    first = err.splitlines()[0]
    assert first.endswith(
        "window_days: is 21 but the phases last 29 days in total (after --set phases.1.days)"
    )
    assert not Path("results").exists()


def test_compiling_the_engine_is_not_counted_in_the_runs_per_second() -> None:
    """The first call compiles the engine (or loads it from the cache) on run 0, before the
    clock starts; `run` says how long compiling took when it took long (a new machine)."""
    from dataclasses import replace

    from sim.cli import report

    res = sim.simulate(sim.load_scenario(ROOT / "scenarios" / "geneva_2016.yaml"), runs=20,
                       seed=1, engine="fast", progress=False)  # fmt: skip
    assert res.warmup > 0 and res.elapsed > 0
    assert "compiling" not in report(replace(res, warmup=0.3))
    assert "compiling the engine for this machine took 8.3 s more" in report(
        replace(res, warmup=8.3)
    )


def test_set_cannot_change_extends_or_take_bytes_that_are_not_text(here: Path, cli: Cli) -> None:
    code, out, err = cli("run", "small.yaml", "--runs", "10", "--set", "extends=other.yaml")
    assert code == 2 and not out
    assert err.strip().startswith("--set: extends: cannot be changed here")
    code, out, err = cli("run", "small.yaml", "--runs", "10", "--set", "title=ab\udcffc")
    assert code == 2 and "is not UTF-8 text" in err and "_override" not in err
    assert len(err.strip().splitlines()) == 1 and not Path("results").exists()
