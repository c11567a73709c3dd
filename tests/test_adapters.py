"""ACLED and UCDP GED exports to events files, on synthetic files in their column layouts
(no real ACLED or UCDP rows: ACLED's terms forbid redistributing them)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sim import load_scenario
from sim.adapters import convert, load_mapping, read_acled, read_ucdp
from sim.cli import main
from sim.errors import ScenarioError
from sim.events import read_events

DATA = Path(__file__).parent / "data"
SCENARIO = DATA / "testland.yaml"  # start 2030-03-01T12:00:00+00:00, window 7 days
MAPPING = DATA / "testland_mapping.yaml"


@pytest.fixture
def scenario():
    return load_scenario(SCENARIO)


def test_acled_rows_become_events(scenario):
    _, rows = read_acled(DATA / "acled_synthetic.csv")
    result = convert(rows, load_mapping(MAPPING, scenario), scenario, "acled")
    times, actors, major, targets, sources = zip(*result.rows, strict=True)
    # 1 March (day 0 from 12:00): two events spread evenly over the half day after the start,
    # ordered by event id; 2 and 4 March: one event each, at mid-day
    assert times == pytest.approx((0.125, 0.375, 1.0, 2.0, 3.0))
    assert actors == ("north", "south", "north", "raiders", "south")
    # major: a shelling sub-event type, then 7 fatalities >= 5
    assert major == ("1", "1", "0", "0", "0")
    assert targets == ("southern", "northern", "southern", "", "northern")
    assert sources[0] == "acled:XYZ1"
    assert result.kept == 5
    assert result.dropped == {
        "of other event types": 1,  # a protest
        "not dated to the day": 1,  # time_precision 2
        "with unmapped actors": 1,
        "before the start": 1,  # 27 February
    }
    assert "Unidentified Armed Group" in result.summary()


def test_older_upper_case_export_gives_the_same_events(scenario):
    mapping = load_mapping(MAPPING, scenario)
    _, new = read_acled(DATA / "acled_synthetic.csv")
    _, old = read_acled(DATA / "acled_synthetic_upper.csv")
    a = convert(new, mapping, scenario, "acled")
    b = convert(old, mapping, scenario, "acled")
    assert a.rows == b.rows


def test_ucdp_rows_become_events(scenario):
    _, rows = read_ucdp(DATA / "ucdp_synthetic.csv")
    result = convert(rows, load_mapping(MAPPING, scenario), scenario, "ucdp")
    times, actors, major, targets, _ = zip(*result.rows, strict=True)
    assert times == pytest.approx((0.125, 0.375, 2.0))
    assert actors == ("north", "north", "raiders")  # side_a mapped first
    assert major == ("0", "1", "0")  # best 12 >= 5
    assert targets == ("southern", "southern", "")
    assert result.dropped == {"not dated to the day": 1}  # 2 to 5 March


def test_jitter_is_reproducible_and_day_local(tmp_path, scenario):
    text = MAPPING.read_text().replace("{rule: even}", "{rule: jitter, seed: 3}")
    path = tmp_path / "map.yaml"
    path.write_text(text)
    mapping = load_mapping(path, scenario)
    _, rows = read_acled(DATA / "acled_synthetic.csv")
    first = convert(rows, mapping, scenario, "acled")
    again = convert(rows, mapping, scenario, "acled")
    assert first.rows == again.rows
    times = np.array([r[0] for r in first.rows])
    assert np.all(np.diff(times) > 0)
    assert 0 <= times[0] < times[1] < 0.5  # 1 March after 12:00
    # removing another day's rows moves nothing on 1 March
    fewer = convert([r for r in rows if r.ident != "XYZ3"], mapping, scenario, "acled")
    assert fewer.rows[:2] == first.rows[:2]


def test_cli_writes_an_events_file_fit_accepts(tmp_path, capsys):
    out = tmp_path / "events.csv"
    args = ["events", "--from", "acled", str(DATA / "acled_synthetic.csv"), "--map", str(MAPPING)]
    args += ["--scenario", str(SCENARIO), "--out", str(out)]
    assert main(args) == 0
    assert "kept 5 of 9 rows" in capsys.readouterr().err
    events = read_events(out, load_scenario(SCENARIO))
    assert events.counts() == {"north": 2, "south": 2, "raiders": 1}
    assert main(args) == 2  # never overwritten
    assert "already exists" in capsys.readouterr().err


def test_cli_to_standard_output_without_scenario(tmp_path, capsys):
    text = MAPPING.read_text() + "start: 2030-03-01\n"
    path = tmp_path / "map.yaml"
    path.write_text(text)
    args = ["events", "--from", "ucdp", str(DATA / "ucdp_synthetic.csv"), "--map", str(path)]
    assert main(args) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "time,actor,major,target_side,source"
    assert lines[1] == "0.250000,north,0,,ucdp:900001"  # midnight start: quarter past day 0


BAD_MAPPINGS = [
    ("actors: {west: [X]}\n", 1, "actors.west", "unknown actor"),
    ("actors: {north: X}\n", 1, "actors.north", "list of names"),
    ("colour: red\nactors: {north: [X]}\n", 1, "colour", "unknown key"),
    ("actors: {north: [X]}\nmajor: {fatalities: -1}\n", 2, "major.fatalities", ">= 0"),
    ("actors: {north: [X]}\nmajor: {deaths: 3}\n", 2, "major.deaths", "unknown key"),
    ("actors: {north: [X]}\nsame_day: {rule: random}\n", 2, "same_day.rule", "even or jitter"),
    ("actors: {north: [X], south: [X]}\n", 1, "actors.south.0", "already mapped"),
    ("actors: {north: [X]}\nstart: soon\n", 2, "start", "date"),
    ("start: 2030-03-01\n", 1, "actors", "required"),
    ("actors: {north: [X]\n", 2, "", "invalid YAML"),
]


@pytest.mark.parametrize(("text", "line", "key", "words"), BAD_MAPPINGS)
def test_bad_mapping_is_one_located_error(tmp_path, scenario, text, line, key, words):
    path = tmp_path / "map.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError) as err:
        load_mapping(path, scenario)
    assert err.value.location is not None and err.value.location.line == line
    assert err.value.key == key
    assert words in str(err.value)


def test_cli_bad_mapping_exits_2_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "map.yaml"
    path.write_text(BAD_MAPPINGS[0][0])
    out = tmp_path / "events.csv"
    args = ["events", "--from", "acled", str(DATA / "acled_synthetic.csv"), "--map", str(path)]
    assert main([*args, "--scenario", str(SCENARIO), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.endswith(
        "map.yaml:1:10: actors.west: unknown actor (scenario has: north, south, raiders)"
    )
    assert not out.exists()


def test_cli_with_no_event_kept_exits_2_and_writes_nothing(tmp_path, capsys):
    """A mapping whose names match no row would write a header-only file that fit refuses:
    the command says so, with what was dropped, and writes nothing."""
    path = tmp_path / "map.yaml"
    path.write_text(
        'actors:\n  north: ["Norhtern Army"]\n  south: ["Suthern Front"]\n  raiders: ["Raider"]\n'
    )
    out = tmp_path / "events.csv"
    args = ["events", "--from", "acled", str(DATA / "acled_synthetic.csv"), "--map", str(path)]
    assert main([*args, "--scenario", str(SCENARIO), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "acled_synthetic.csv: no events to write (kept 0 of 9 rows" in err
    assert "check the actors and event types in" in err and "map.yaml" in err
    assert not out.exists() and not list(tmp_path.glob(".*partial"))


def test_wrong_export_and_missing_start(tmp_path, capsys):
    with pytest.raises(ScenarioError, match="not a UCDP GED export: missing column"):
        read_ucdp(DATA / "acled_synthetic.csv")
    with pytest.raises(ScenarioError, match="not an ACLED export"):
        read_acled(DATA / "ucdp_synthetic.csv")
    _, rows = read_acled(DATA / "acled_synthetic.csv")
    with pytest.raises(ScenarioError, match="needs a start"):
        convert(rows, load_mapping(MAPPING), None, "acled")
    bad = tmp_path / "bad.csv"
    bad.write_text((DATA / "acled_synthetic.csv").read_text().replace("2030-03-02", "tomorrow", 1))
    with pytest.raises(ScenarioError, match=r"bad.csv:2:1: event_date: cannot read the date"):
        read_acled(bad)


@pytest.mark.parametrize(
    ("export", "source"), [("acled_synthetic.csv", "acled"), ("ucdp_synthetic.csv", "ucdp")]
)
def test_an_export_given_to_fit_is_named_with_the_command_that_converts_it(
    scenario, export, source
):
    with pytest.raises(ScenarioError) as err:
        read_events(DATA / export, scenario)
    message = str(err.value)
    assert "unknown column" in message and len(message.splitlines()) == 1
    assert f"convert it first with `ceasefire events --from {source} FILE" in message


def test_every_mapping_problem_is_reported_at_once_in_file_order(tmp_path, scenario):
    path = tmp_path / "map.yaml"
    path.write_text(
        'actors:\n  north: ["Northern Army"]\n  suoth: ["Southern Front"]\nmajor:\n'
        "  sub_event_type: [Shelling]\n  fatalities: -1\nsame_day: {rule: jiter}\n"
    )
    with pytest.raises(ScenarioError) as err:
        load_mapping(path, scenario)
    problems = err.value.problems
    assert [(p.location.line, p.key) for p in problems] == [
        (3, "actors.suoth"),
        (5, "major.sub_event_type"),
        (6, "major.fatalities"),
        (7, "same_day.rule"),
    ]
    assert "did you mean 'south'?" in problems[0].message
    assert "did you mean 'sub_event_types'?" in problems[1].message
    assert "did you mean 'jitter'?" in problems[3].message
    assert len(str(err.value).splitlines()) == 4
