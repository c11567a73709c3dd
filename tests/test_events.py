"""The events file: what it accepts, and one clear located error for everything else."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from sim import load_scenario
from sim.cli import main
from sim.errors import ScenarioError
from sim.events import parse_span, read_events

DATA = Path(__file__).parent / "data"
SCENARIO = DATA / "testland.yaml"  # start 2030-03-01T12:00:00+00:00, 7 days; north, south


@pytest.fixture
def scenario():
    return load_scenario(SCENARIO)


def write(tmp_path: Path, text: str, name: str = "events.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_days_dates_and_optional_columns(tmp_path, scenario):
    path = write(
        tmp_path,
        "time,actor,major,target_side,blamed,source\n"
        "0.25,north,1,southern,,monitor A\n"
        "2030-03-02T00:00:00+00:00,raiders,0,northern,0,\n"
        "2030-03-02T06:00:00,south,,,,\n",  # no zone: read in the zone of start
    )
    ev = read_events(path, scenario)
    assert ev.times.tolist() == [0.25, 0.5, 0.75]
    assert ev.actors == ("north", "raiders", "south")
    assert ev.kinds == ("party", "spoiler", "party")
    assert ev.targets == ("southern", "northern", "northern")  # the only target side
    assert ev.major[0] == 1 and ev.major[1] == 0 and math.isnan(ev.major[2])
    assert ev.blamed[1] == 0 and math.isnan(ev.blamed[0])
    assert ev.counts() == {"north": 1, "raiders": 1, "south": 1}
    assert ev.span == (0.0, 7.0)


def test_a_date_in_another_zone_is_converted(tmp_path, scenario):
    path = write(tmp_path, "time,actor\n2030-03-01T15:00:00+03:00,north\n2030-03-01T18:00Z,south\n")
    assert read_events(path, scenario).times.tolist() == [0.0, 0.25]


def test_span_option(tmp_path, scenario):
    path = write(tmp_path, "time,actor\n8.5,north\n")
    assert read_events(path, scenario, span=(7.0, 10.0)).times.tolist() == [8.5]
    # a span given explicitly selects part of a longer record: the rest is checked, then
    # left out and counted
    path = write(tmp_path, "time,actor\n0.5,south\n3.5,north\n8.5,north\n12,south\n")
    part = read_events(path, scenario, span=(3.0, 10.0))
    assert part.times.tolist() == [3.5, 8.5] and part.left_out == 2
    path = write(tmp_path, "time,actor\n0.5,south\n12,westerners\n")
    with pytest.raises(ScenarioError, match="unknown actor 'westerners'"):
        read_events(path, scenario, span=(0.0, 1.0))  # outside the span, still checked
    with pytest.raises(ScenarioError, match=r"no events in the span \[3, 10\) .*\(2 outside it\)"):
        read_events(
            write(tmp_path, "time,actor\n0.5,south\n12,north\n"), scenario, span=(3.0, 10.0)
        )
    assert parse_span("0:7") == (0.0, 7.0)
    for bad in ("7", "7:3", "a:b", "0:inf"):
        with pytest.raises(ValueError):
            parse_span(bad)


BAD = [
    # (file text, line, column, column name, words in the message)
    ("time,actor\n0.5,north\n7.5,south\n", 3, 1, "time", "outside the window [0, 7)"),
    ("time,actor\n-0.5,north\n", 2, 1, "time", "or the part to fit, with --span A:B"),
    ("time,actor\n0.5,north\n0.7,westerners\n", 3, 5, "actor", "unknown actor 'westerners'"),
    ("time,actor\n0.5,north\n0.4,south\n", 3, 1, "time", "time order"),
    ("time,actor\n0.5,north\n0.5,south\n", 3, 1, "time", "duplicate time"),
    ("", 1, 1, "", "empty events file"),
    ("\n\n", 1, 1, "", "empty events file"),
    ("time,actor\n", 1, 1, "time", "no events"),
    ("time,actor\nsoon,north\n", 2, 1, "time", "ISO 8601"),
    ("time,actor\nnan,north\n", 2, 1, "time", "finite"),
    ("time,actor,major\n0.5,north,2\n", 2, 11, "major", "expected 0, 1 or empty"),
    ("time,actor,blamed\n0.5,north,1\n", 2, 11, "blamed", "only spoiler attacks"),
    ("time,actor,blamed\n0.5,raiders,1\n", 2, 13, "blamed", "no blamed_on"),
    ("time,actor,target_side\n0.5,north,northern\n", 2, 11, "target_side", "does not attack"),
    ("time,actor,colour\n0.5,north,red\n", 1, 12, "colour", "unknown column"),
    ("time,actor,time\n0.5,north,1\n", 1, 12, "time", "duplicate column"),
    ("time,major\n0.5,1\n", 1, 1, "actor", "required column"),
    ("time,actor\n0.5,north,extra\n", 2, 1, "row", "has 3 fields"),
    ("time,actor\n,north\n", 2, 1, "time", "missing value"),
]


@pytest.mark.parametrize(("text", "line", "col", "column", "words"), BAD)
def test_bad_input_is_one_located_error(tmp_path, scenario, text, line, col, column, words):
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as err:
        read_events(path, scenario)
    message = str(err.value)
    where = f"{err.value.location}"
    assert where.endswith(f"events.csv:{line}:{col}"), message
    if column:
        assert f": {column}: " in message
    assert words in message


def test_dates_need_a_scenario_start(tmp_path):
    text = SCENARIO.read_text(encoding="utf-8").replace("start: 2030-03-01T12:00:00+00:00\n", "")
    no_start = write(tmp_path, text, "no_start.yaml")
    scenario = load_scenario(no_start)
    assert scenario.start is None
    path = write(tmp_path, "time,actor\n2030-03-01T13:00:00+00:00,north\n")
    with pytest.raises(ScenarioError, match=r"events.csv:2:1: time: .*no 'start'"):
        read_events(path, scenario)


def test_zone_given_but_start_has_none(tmp_path):
    text = SCENARIO.read_text(encoding="utf-8").replace("+00:00", "")
    naive = load_scenario(write(tmp_path, text, "naive.yaml"))
    path = write(tmp_path, "time,actor\n2030-03-01T13:00:00+00:00,north\n")
    with pytest.raises(ScenarioError, match="time zone"):
        read_events(path, naive)


def test_several_target_sides_need_target_side(tmp_path):
    text = SCENARIO.read_text(encoding="utf-8").replace(
        "parties:\n", "parties:\n  east: {side: eastern, violation_rate: 0.5}\n"
    )
    three = load_scenario(write(tmp_path, text, "three.yaml"))
    path = write(tmp_path, "time,actor\n0.5,north\n")
    with pytest.raises(ScenarioError, match="targets several sides"):
        read_events(path, three)
    ok = write(tmp_path, "time,actor,target_side\n0.5,north,eastern\n", "ok.csv")
    assert read_events(ok, three).targets == ("eastern",)


def test_missing_file(tmp_path, scenario):
    with pytest.raises(ScenarioError, match="no such file"):
        read_events(tmp_path / "nope.csv", scenario)


@pytest.mark.parametrize("text", [BAD[0][0], BAD[2][0], BAD[3][0], BAD[4][0], BAD[5][0]])
def test_cli_exits_2_and_writes_nothing(tmp_path, capsys, text):
    path = write(tmp_path, text)
    out = tmp_path / "out"
    code = main(["fit", str(SCENARIO), "--events", str(path), "--out", str(out)])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "events.csv" in err and "Traceback" not in err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["events.csv"]
