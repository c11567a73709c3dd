"""Scenario loading and validation through the API.

Every rejected input must raise one :class:`sim.ScenarioError` whose text is
``FILE:LINE:COL: key.path: message`` naming where the problem was written. The tests run in
``tmp_path`` (``chdir``) and load files by relative name, so ``FILE`` is the bare file name.
"""

from __future__ import annotations

import json
import math
import re
import textwrap
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import yaml

import sim
from sim import ScenarioError, load_scenario, scenario_from_dict

FLAGSHIP = Path(__file__).resolve().parent.parent / "scenarios" / "geneva_2016.yaml"

# Line numbers below are 1-based; BASE occupies lines 1-9, so appended blocks start at line 10.
BASE = """\
name: mini
title: Mini ceasefire
parties:
  gov:
    side: a
    violation_prob: 0.2
  reb:
    side: b
    violation_prob: 0.1
"""


def gov(extra: str) -> str:
    """BASE with the ``gov`` party's block (lines 5..) replaced by ``extra``'s lines."""
    body = textwrap.dedent(extra).strip("\n")
    lines = "\n".join("    " + line for line in body.splitlines())
    return (
        f"name: mini\ntitle: Mini ceasefire\nparties:\n  gov:\n{lines}\n  reb:\n    side: b\n"
        "    violation_prob: 0.1\n"
    )


def write(name: str, text: str) -> str:
    Path(name).write_text(text, encoding="utf-8")
    return name


def error_of(path: str | Path) -> str:
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    lines = str(info.value).splitlines()
    assert len(lines) == len(info.value.problems), "one line per problem"
    for line in lines:
        assert re.match(r"^.+?:\d+:\d+: ", line), f"not FILE:LINE:COL: {line!r}"
    return lines[0]


def assert_error(text: str, file: str, line: int, col: int, key: str, *fragments: str) -> None:
    prefix = f"{file}:{line}:{col}: {key}: " if key else f"{file}:{line}:{col}: "
    assert text.startswith(prefix), f"expected {prefix!r}..., got {text!r}"
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in {text!r}"


# --------------------------------------------------------------------------- bad input

# (id, file text, line, column, key path, fragments the message must contain)
BAD: list[tuple[str, str, int, int, str, tuple[str, ...]]] = [
    # YAML syntax
    (
        "syntax-mapping-value",
        "name: mini\ntitle: Mini: bad\n",
        2,
        12,
        "",
        ("invalid YAML", "mapping values"),
    ),
    (
        "syntax-unclosed-flow",
        "name: mini\ntitle: [unclosed\nwindow_days: 3\n",
        3,
        12,
        "",
        ("invalid YAML",),
    ),
    # unknown keys
    ("unknown-top", BASE + "colour: red\n", 10, 1, "colour", ("unknown key",)),
    (
        "unknown-nested-typo",
        gov("side: a\nviolaton_prob: 0.2"),
        6,
        5,
        "parties.gov.violaton_prob",
        ("unknown key",),
    ),
    (
        "unknown-deep",
        gov("side: a\nviolation_prob: 0.2\nretaliation:\n  boots: 1"),
        8,
        7,
        "parties.gov.retaliation.boots",
        ("unknown key",),
    ),
    # duplicate keys
    ("duplicate-top", BASE + "name: again\n", 10, 1, "name", ("duplicate key",)),
    (
        "duplicate-nested",
        gov("side: a\nviolation_prob: 0.2\nside: c"),
        7,
        5,
        "parties.gov.side",
        ("duplicate key",),
    ),
    # wrong types
    (
        "string-for-number",
        gov("side: a\nviolation_prob: high"),
        6,
        5,
        "parties.gov.violation_prob",
        ("number", "'high'"),
    ),
    (
        "bool-for-number",
        gov("side: a\nviolation_prob: true"),
        6,
        5,
        "parties.gov.violation_prob",
        ("number", "True"),
    ),
    (
        "bool-for-tolerance",
        gov("side: a\nviolation_prob: 0.2\ntolerance: yes"),
        7,
        5,
        "parties.gov.tolerance",
        ("True",),
    ),
    ("bool-for-int", BASE + "window_days: true\n", 10, 1, "window_days", ("integer",)),
    ("float-for-int", BASE + "window_days: 2.5\n", 10, 1, "window_days", ("integer",)),
    (
        "string-for-mapping",
        gov("side: a\nviolation_prob: 0.2\nretaliation: strong"),
        7,
        5,
        "parties.gov.retaliation",
        (),
    ),
    # out of range
    (
        "violation-prob-1.0",
        gov("side: a\nviolation_prob: 1.0"),
        6,
        5,
        "parties.gov.violation_prob",
        ("less than 1", "1.0"),
    ),
    (
        "violation-prob-1.5",
        gov("side: a\nviolation_prob: 1.5"),
        6,
        5,
        "parties.gov.violation_prob",
        ("less than 1", "1.5"),
    ),
    (
        "violation-prob-negative",
        gov("side: a\nviolation_prob: -0.1"),
        6,
        5,
        "parties.gov.violation_prob",
        ("greater than or equal to 0",),
    ),
    (
        "schedule-item-1.5",
        "name: mini\ntitle: M\nwindow_days: 3\nparties:\n  gov:\n    side: a\n"
        "    violation_prob: [0.1, 0.2, 1.5]\n  reb: {side: b, violation_prob: 0.1}\n",
        7,
        32,
        "parties.gov.violation_prob.2",
        ("less than 1",),
    ),
    (
        "negative-rate",
        gov("side: a\nviolation_rate: -0.5"),
        6,
        5,
        "parties.gov.violation_rate",
        ("greater than or equal to 0", "-0.5"),
    ),
    (
        "negative-attack-rate",
        BASE + "spoilers:\n  sp:\n    targets: a\n    attack_rate: -1\n",
        13,
        5,
        "spoilers.sp.attack_rate",
        ("greater than or equal to 0",),
    ),
    (
        "pressure-1.2",
        BASE + "guarantors:\n  g:\n    clients: [gov]\n    pressure: 1.2\n",
        13,
        5,
        "guarantors.g.pressure",
        ("less than or equal to 1", "1.2"),
    ),
    (
        "half-life-0",
        gov("side: a\nviolation_prob: 0.2\nretaliation: {boost: 1, half_life_hours: 0}"),
        7,
        29,
        "parties.gov.retaliation.half_life_hours",
        ("greater than 0",),
    ),
    (
        "negative-tolerance",
        gov("side: a\nviolation_prob: 0.2\ntolerance: -1"),
        7,
        5,
        "parties.gov.tolerance",
        ("greater than or equal to 0",),
    ),
    ("window-0", BASE + "window_days: 0\n", 10, 1, "window_days", ("greater than or equal to 1",)),
    (
        "major-share-2",
        gov("side: a\nviolation_prob: 0.2\nmajor_share: 2"),
        7,
        5,
        "parties.gov.major_share",
        ("less than or equal to 1",),
    ),
    # schedules
    (
        "schedule-too-short",
        "name: mini\ntitle: M\nwindow_days: 3\nparties:\n  gov:\n    side: a\n"
        "    violation_prob: [0.1, 0.2]\n  reb: {side: b, violation_prob: 0.1}\n",
        7,
        5,
        "parties.gov.violation_prob",
        ("has 2 values", "(3)"),
    ),
    (
        "schedule-too-long",
        "name: mini\ntitle: M\nwindow_days: 2\nparties:\n  gov:\n    side: a\n"
        "    violation_rate: [1, 2, 3]\n  reb: {side: b, violation_prob: 0.1}\n",
        7,
        5,
        "parties.gov.violation_rate",
        ("has 3 values", "(2)"),
    ),
    (
        "schedule-default-window",
        gov("side: a\nviolation_prob: [0.2]"),
        6,
        5,
        "parties.gov.violation_prob",
        ("has 1 values", "(7)"),
    ),
    # dangling references
    (
        "party-target-unknown",
        gov("side: a\nviolation_prob: 0.2\ntargets: [b, c]"),
        7,
        18,
        "parties.gov.targets.1",
        ("unknown side 'c'",),
    ),
    (
        "party-target-own-side",
        gov("side: a\nviolation_prob: 0.2\ntargets: [a]"),
        7,
        15,
        "parties.gov.targets.0",
        ("own side",),
    ),
    (
        "spoiler-target-unknown",
        BASE + "spoilers:\n  sp:\n    attack_prob: 0.1\n    targets: c\n",
        13,
        5,
        "spoilers.sp.targets",
        ("unknown side 'c'",),
    ),
    (
        "blamed-on-unknown",
        BASE + "spoilers:\n  sp:\n    attack_prob: 0.1\n    targets: a\n"
        "    blamed_on: nobody\n    blame_prob: 0.5\n",
        14,
        5,
        "spoilers.sp.blamed_on",
        ("unknown party 'nobody'",),
    ),
    (
        "blamed-on-attacked-side",
        BASE + "spoilers:\n  sp:\n    attack_prob: 0.1\n    targets: a\n    blamed_on: gov\n",
        14,
        5,
        "spoilers.sp.blamed_on",
        ("'gov'", "attacked side 'a'"),
    ),
    (
        "client-unknown",
        BASE + "guarantors:\n  g:\n    clients: [gov, nobody]\n",
        12,
        20,
        "guarantors.g.clients.1",
        ("unknown party 'nobody'",),
    ),
    (
        "incident-target-unknown",
        BASE + "guarantors:\n  g:\n    clients: [gov]\n"
        "    incident_prob: 0.1\n    incident_target: zz\n",
        14,
        5,
        "guarantors.g.incident_target",
        ("unknown side 'zz'",),
    ),
    (
        "incident-target-own-side",
        BASE + "guarantors:\n  g:\n    clients: [gov]\n"
        "    incident_prob: 0.1\n    incident_target: a\n",
        14,
        5,
        "guarantors.g.incident_target",
        ("other than its own",),
    ),
    (
        "clients-on-two-sides",
        BASE + "guarantors:\n  g:\n    clients: [gov, reb]\n",
        12,
        5,
        "guarantors.g.clients",
        ("one side",),
    ),
    (
        "client-of-two-guarantors",
        BASE + "guarantors:\n  g:\n    clients: [gov]\n  h:\n    clients: [reb, gov]\n",
        14,
        20,
        "guarantors.h.clients.1",
        ("'gov'", "already a client of 'g'"),
    ),
    # structure
    (
        "one-side",
        gov("side: b\nviolation_prob: 0.2"),
        3,
        1,
        "parties",
        ("at least two sides", "found 1"),
    ),
    ("no-parties", "name: mini\ntitle: M\nparties: {}\n", 3, 1, "parties", ("at least two sides",)),
    ("parties-missing", "name: mini\ntitle: M\n", 1, 1, "parties", ("required",)),
    (
        "both-prob-and-rate",
        gov("side: a\nviolation_prob: 0.2\nviolation_rate: 0.2"),
        4,
        3,
        "parties.gov",
        ("exactly one of violation_prob or violation_rate", "both"),
    ),
    (
        "neither-prob-nor-rate",
        gov("side: a\nmajor_share: 0.5"),
        4,
        3,
        "parties.gov",
        ("exactly one of violation_prob or violation_rate", "neither"),
    ),
    (
        "spoiler-both",
        BASE + "spoilers:\n  sp:\n    attack_prob: 0.1\n    attack_rate: 0.1\n    targets: a\n",
        11,
        3,
        "spoilers.sp",
        ("exactly one of attack_prob or attack_rate",),
    ),
    (
        "bad-name-pattern",
        BASE.replace("name: mini", "name: Mini Scenario"),
        1,
        1,
        "name",
        ("pattern", "'Mini Scenario'"),
    ),
    (
        "first-day-outside-window",
        BASE + "window_days: 3\nhumanitarian:\n  first_day: 3\n  success_prob: 0.5\n",
        12,
        3,
        "humanitarian.first_day",
        ("within the window",),
    ),
    (
        "quiet-days-over-window",
        BASE + "window_days: 3\ntrigger:\n  quiet_days: 4\n",
        12,
        3,
        "trigger.quiet_days",
        ("within the window",),
    ),
    (
        "name-used-twice",
        BASE + "spoilers:\n  gov:\n    attack_prob: 0.1\n    targets: b\n",
        11,
        3,
        "spoilers.gov",
        ("already used in parties",),
    ),
    (
        "blame-prob-without-blamed-on",
        BASE + "spoilers:\n  sp:\n    attack_prob: 0.1\n    targets: b\n    blame_prob: 0.3\n",
        14,
        5,
        "spoilers.sp.blame_prob",
        ("blamed_on",),
    ),
    (
        "incident-prob-without-target",
        BASE + "guarantors:\n  g:\n    clients: [gov]\n    incident_prob: 0.1\n",
        13,
        5,
        "guarantors.g.incident_prob",
        ("incident_target",),
    ),
    (
        "no-clients",
        BASE + "guarantors:\n  g:\n    clients: []\n",
        12,
        5,
        "guarantors.g.clients",
        ("at least 1",),
    ),
    (
        "empty-targets",
        gov("side: a\nviolation_prob: 0.2\ntargets: []"),
        7,
        5,
        "parties.gov.targets",
        ("at least one side",),
    ),
    (
        "targets-twice",
        gov("side: a\nviolation_prob: 0.2\ntargets: [b, b]"),
        7,
        5,
        "parties.gov.targets",
        ("twice",),
    ),
    (
        "bad-side-name",
        gov("side: 'a b'\nviolation_prob: 0.2"),
        5,
        5,
        "parties.gov.side",
        ("pattern",),
    ),
    ("bad-party-name", BASE.replace("  gov:", "  1gov:"), 4, 3, "parties.1gov", ("pattern",)),
    ("non-text-key", BASE + "1: x\n", 10, 1, "", ("keys must be text",)),
    (
        "infinite-rate",
        gov("side: a\nviolation_rate: .inf"),
        6,
        5,
        "parties.gov.violation_rate",
        ("finite",),
    ),
    (
        "nan-tolerance",
        gov("side: a\nviolation_prob: 0.2\ntolerance: .nan"),
        7,
        5,
        "parties.gov.tolerance",
        ("finite",),
    ),
    (
        "humanitarian-missing-success",
        BASE + "humanitarian:\n  first_day: 0\n",
        10,
        1,
        "humanitarian.success_prob",
        ("required",),
    ),
    (
        "null-party",
        "name: mini\ntitle: M\nparties:\n  gov:\n  reb: {side: b, violation_prob: 0.1}\n",
        4,
        3,
        "parties.gov",
        ("dictionary",),
    ),
    ("empty-file", "", 1, 1, "", ("empty",)),
    ("comment-only-file", "# nothing here\n", 1, 1, "", ("empty",)),
    ("top-level-list", "- name: mini\n- title: M\n", 1, 1, "", ("mapping",)),
    ("top-level-scalar", "just words\n", 1, 1, "", ("mapping",)),
]


@pytest.mark.parametrize(
    ("text", "line", "col", "key", "fragments"),
    [pytest.param(*case[1:], id=case[0]) for case in BAD],
)
def test_bad_input_names_file_line_column_and_key(
    here: Path, text: str, line: int, col: int, key: str, fragments: tuple[str, ...]
) -> None:
    err = error_of(write("bad.yaml", text))
    assert_error(err, "bad.yaml", line, col, key, *fragments)


def test_error_is_a_value_error_with_parts(here: Path) -> None:
    write("bad.yaml", gov("side: a\nviolation_prob: 1.5"))
    with pytest.raises(ValueError) as info:  # ScenarioError is a ValueError
        load_scenario("bad.yaml")
    err = info.value
    assert isinstance(err, ScenarioError)
    assert err.key == "parties.gov.violation_prob"
    assert (err.location.file, err.location.line, err.location.column) == ("bad.yaml", 6, 5)


def test_every_error_is_listed_in_file_order(here: Path) -> None:
    text = gov("side: a\nviolation_prob: 2\nmajor_share: 3") + "window_days: -1\n"
    err = error_of(write("bad.yaml", text))
    assert_error(err, "bad.yaml", 6, 5, "parties.gov.violation_prob", "less than 1")
    with pytest.raises(ScenarioError) as info:
        load_scenario("bad.yaml")
    lines = str(info.value).splitlines()
    assert [line.split(": ")[0] for line in lines] == [
        "bad.yaml:6:5",
        "bad.yaml:7:5",
        "bad.yaml:11:1",
    ]
    assert [line.split(": ")[1] for line in lines] == [
        "parties.gov.violation_prob",
        "parties.gov.major_share",
        "window_days",
    ]


def test_reference_errors_are_all_listed(here: Path) -> None:
    text = gov("side: a\nviolation_prob: 0.2\ntargets: [zz]") + (
        "guarantors:\n  g: {clients: [nobody]}\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(write("bad.yaml", text))
    keys = [p.key for p in info.value.problems]
    assert keys == ["parties.gov.targets.0", "guarantors.g.clients.0"]


def test_unknown_names_are_listed_beside_field_errors(here: Path) -> None:
    """A field error does not hide a misspelt name elsewhere: both come in one report."""
    text = gov("side: a\nviolation_prob: 2\ntargets: [zz]") + (
        "spoilers:\n  s: {attack_prob: 0.1, targets: bb, blamed_on: reb}\n"
        "guarantors:\n  g: {clients: [gob]}\n"
        "observations:\n  m:\n    label: monitor\n    counts: [gov, nobody]\n    per_event: 1\n"
        "    data: [{day: 0, count: 1, source: a bulletin}]\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(write("bad.yaml", text))
    problems = {p.key: p.reason for p in info.value.problems}
    assert list(problems) == [
        "parties.gov.violation_prob",
        "parties.gov.targets.0",
        "spoilers.s.targets",
        "guarantors.g.clients.0",
        "observations.m.counts.1",
    ]
    assert "did you mean 'b'" in problems["spoilers.s.targets"]
    assert "did you mean 'gov'" in problems["guarantors.g.clients.0"]


def test_names_are_not_checked_against_a_broken_list_of_sides(here: Path) -> None:
    """With a party's side itself wrong, the sides are unknown: no target is called unknown."""
    text = gov("side: [a]\nviolation_prob: 0.2\ntargets: [b]")
    with pytest.raises(ScenarioError) as info:
        load_scenario(write("bad.yaml", text))
    assert [p.key for p in info.value.problems] == ["parties.gov.side"]


def test_many_errors_are_capped(here: Path) -> None:
    from sim.errors import MAX_SHOWN

    extra = "".join(f"bogus{i}: 1\n" for i in range(MAX_SHOWN + 5))
    with pytest.raises(ScenarioError) as info:
        load_scenario(write("bad.yaml", BASE + extra))
    lines = str(info.value).splitlines()
    assert len(lines) == MAX_SHOWN + 1
    assert lines[-1] == "bad.yaml: 5 more errors not shown"


@pytest.mark.parametrize(
    ("text", "line", "key", "suggestion"),
    [
        (gov("side: a\nviolation_prb: 0.2"), 6, "parties.gov.violation_prb", "violation_prob"),
        (BASE + "windw_days: 3\n", 10, "windw_days", "window_days"),
        (BASE + "trigger: {quiet_day: 2}\n", 10, "trigger.quiet_day", "quiet_days"),
        (
            gov("side: a\nviolation_prob: 0.2\nretaliation: {bost: 1}"),
            7,
            "parties.gov.retaliation.bost",
            "boost",
        ),
        (gov("side: a\nviolation_prob: 0.2\ntargets: [bb]"), 7, "parties.gov.targets.0", "b"),
    ],
    ids=["party-key", "top-level", "trigger", "retaliation", "side-name"],
)
def test_unknown_names_suggest_the_closest(
    here: Path, text: str, line: int, key: str, suggestion: str
) -> None:
    err = error_of(write("bad.yaml", text))
    assert err.startswith(f"bad.yaml:{line}:"), err
    assert f"{key}: " in err
    assert f"did you mean '{suggestion}'?" in err


def test_exponent_without_a_dot_is_a_number(here: Path) -> None:
    s = load_scenario(write("s.yaml", BASE.replace("violation_prob: 0.1", "violation_rate: 1e-3")))
    assert s.parties["reb"].violation_rate == pytest.approx(0.001)
    err = error_of(write("q.yaml", BASE.replace("0.1", "'0.1'")))
    assert "numbers are written without quotes" in err


@pytest.mark.parametrize("bad", ["\x1b[2J", "\r", "\x07", "\u2028"])
def test_control_characters_are_escaped_in_errors(here: Path, bad: str) -> None:
    s = load_scenario(write("s.yaml", BASE))
    with pytest.raises(ScenarioError) as info:
        s.with_overrides({f"parties.x{bad}y.side": "c"})
    text = str(info.value)
    assert bad not in text
    assert repr(bad)[1:-1] in text
    err = error_of(write("k.yaml", BASE + f'"col{bad}our": red\n'))
    assert bad not in err and "\n" not in err


def test_absolute_path_outside_cwd_is_shown_in_full(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(BASE + "colour: red\n", encoding="utf-8")
    assert_error(error_of(path), str(path), 10, 1, "colour", "unknown key")


def test_missing_file(here: Path) -> None:
    assert_error(error_of("nothere.yaml"), "nothere.yaml", 1, 1, "", "no such file")
    write("mini.yaml", BASE)
    assert error_of("mnii.yaml").endswith("no such file; did you mean mini.yaml?")


def test_not_utf8(here: Path) -> None:
    Path("latin.yaml").write_bytes(BASE.replace("Mini", "Mini caf\xe9").encode("latin-1"))
    assert_error(error_of("latin.yaml"), "latin.yaml", 1, 1, "", "UTF-8")


def test_yaml_merge_key_can_be_overridden(here: Path) -> None:
    """YAML merge keys (`<<`, which the loader supports): an explicit key overrides a merged
    one (YAML 1.1 merge spec); it is not a duplicate key."""
    text = (
        "name: mini\ntitle: M\nparties:\n  gov: &party {side: a, violation_prob: 0.2}\n"
        "  reb:\n    <<: *party\n    side: b\n"
    )
    s = load_scenario(write("merge.yaml", text))
    assert (s.parties["reb"].side, s.parties["reb"].violation_prob) == ("b", 0.2)


def test_yaml_merge_key_without_override(here: Path) -> None:
    text = (
        "name: mini\ntitle: M\nparties:\n  gov: &party {side: a, violation_prob: 0.2}\n"
        "  reb:\n    <<: *party\n    violaton: 1\n"
    )
    assert_error(
        error_of(write("merge.yaml", text)),
        "merge.yaml",
        7,
        5,
        "parties.reb.violaton",
        "unknown key",
    )


def test_directory_instead_of_file(here: Path) -> None:
    Path("adir.yaml").mkdir()
    assert_error(error_of("adir.yaml"), "adir.yaml", 1, 1, "", "directory")


def test_scenario_from_dict_errors_name_the_key() -> None:
    data = yaml.safe_load(BASE)
    data["parties"]["gov"]["violaton_prob"] = 0.1
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data, name="notebook")
    assert str(info.value).startswith("notebook:")
    assert "parties.gov.violaton_prob: unknown key" in str(info.value)


# --------------------------------------------------------------------------- extends


PARENT = """\
name: parent
title: Parent scenario
window_days: 3
sources:
  - {label: one}
  - {label: two}
parties:
  gov:
    side: a
    violation_prob: [0.1, 0.2, 0.3]
    targets: [b]
    retaliation: {boost: 0.5, half_life_hours: 6}
    tolerance: 5
  reb:
    side: b
    violation_prob: 0.1
monte_carlo: {runs: 10, seed: 3}
"""


def test_extends_deep_merges_mappings_and_replaces_lists(here: Path) -> None:
    write("parent.yaml", PARENT)
    write(
        "child.yaml",
        textwrap.dedent("""\
        extends: parent.yaml
        name: child
        sources:
          - {label: three}
        parties:
          gov:
            violation_prob: [0.3, 0.2, 0.1]
            retaliation: {boost: 0.9}
          reb:
            violation_rate: [1, 2, 3]
            violation_prob: null
            targets: [a]
        monte_carlo: {seed: 4}
        """),
    )
    s = load_scenario("child.yaml")
    assert s.name == "child"
    assert s.title == "Parent scenario"  # inherited
    assert s.window_days == 3
    assert [src.label for src in s.sources] == ["three"]  # lists replace
    g = s.parties["gov"]
    assert g.violation_prob == (0.3, 0.2, 0.1)  # list replaced, not concatenated
    assert g.retaliation.boost == 0.9  # mapping merged ...
    assert g.retaliation.half_life_hours == 6  # ... keeping the parent's other keys
    assert g.targets == ("b",)
    assert g.tolerance == 5
    assert s.parties["reb"].violation_rate == (1, 2, 3)
    assert s.parties["reb"].targets == ("a",)
    assert (s.monte_carlo.runs, s.monte_carlo.seed) == (10, 4)
    assert list(s.parties) == ["gov", "reb"]
    # the parent is unchanged by being extended
    p = load_scenario("parent.yaml")
    assert p.parties["gov"].retaliation.boost == 0.5


def test_null_in_a_child_removes_what_the_parent_gave(here: Path) -> None:
    """``null`` drops an inherited key or block: it takes its default (no tolerance, no
    convoys), and a required key dropped is reported as missing."""
    write("parent.yaml", PARENT + "humanitarian: {first_day: 0, success_prob: 0.5}\n")
    write(
        "child.yaml",
        "extends: parent.yaml\nname: child\nhumanitarian: null\nrules: null\n"
        "parties:\n  gov: {tolerance: null}\n",
    )
    s = load_scenario("child.yaml")
    assert s.humanitarian is None and s.parties["gov"].tolerance is None
    assert s.parties["gov"].retaliation.boost == 0.5  # the rest still inherited
    write("bad.yaml", "extends: parent.yaml\nname: bad\nparties:\n  reb: {side: null}\n")
    err = error_of("bad.yaml")
    assert "parties.reb.side: required key is missing" in err


def test_extends_replaces_a_distribution_of_another_kind(here: Path) -> None:
    """An uncertainty of the same kind merges (a bound changed alone); one of another kind
    replaces the inherited one whole (a triangular's mode would mean nothing to a uniform)."""
    write(
        "parent.yaml",
        PARENT
        + "uncertainties:\n"
        + "  parties.reb.violation_prob: {dist: triangular, low: 0.05, mode: 0.1, high: 0.3}\n"
        + "  parties.gov.tolerance: {dist: uniform, low: 3, high: 8}\n",
    )
    write(
        "child.yaml",
        textwrap.dedent("""\
        extends: parent.yaml
        uncertainties:
          parties.reb.violation_prob: {dist: uniform, low: 0.05, high: 0.2}
          parties.gov.tolerance: {high: 9}
        """),
    )
    u = load_scenario("child.yaml").uncertainties
    reb, tol = u["parties.reb.violation_prob"], u["parties.gov.tolerance"]
    assert (reb.dist, reb.low, reb.high) == ("uniform", 0.05, 0.2)
    assert (tol.dist, tol.low, tol.high) == ("uniform", 3, 9)


def test_an_unknown_distribution_lists_the_known_ones(here: Path) -> None:
    write("dist.yaml", BASE + "uncertainties:\n  parties.gov.violation_prob: {dist: uniforn}\n")
    assert_error(
        error_of("dist.yaml"), "dist.yaml", 11, 3, "uncertainties.parties.gov.violation_prob",
        "unknown distribution 'uniforn' in 'dist' (known: uniform, triangular, beta, choice);"
        " did you mean 'uniform'?",
    )  # fmt: skip


def test_an_unbounded_distribution_is_not_taken_for_a_misspelling(here: Path) -> None:
    """`normal` is close to `uniform` in spelling, not in meaning: the error says why it is
    not offered and what to use instead."""
    write("dist.yaml", BASE + "uncertainties:\n  parties.gov.violation_prob: {dist: normal}\n")
    message = error_of("dist.yaml")
    assert_error(
        message, "dist.yaml", 11, 3, "uncertainties.parties.gov.violation_prob",
        "unknown distribution 'normal' in 'dist' (known: uniform, triangular, beta, choice); a"
        " normal distribution is unbounded and could draw values the key does not allow: use"
        " beta (a, b, low, high) or triangular for a bell-shaped range",
    )  # fmt: skip
    assert "did you mean" not in message


def test_a_misspelt_actor_in_a_variant_suggests_the_name(here: Path) -> None:
    """A variant that writes `goverment` makes a new party, missing its side: the error says
    so and suggests the existing name (spoilers and guarantors alike)."""
    write("parent.yaml", PARENT)
    write("typo.yaml", "extends: parent.yaml\nparties:\n  gvo: {tolerance: 5}\n")
    assert_error(
        error_of("typo.yaml"), "typo.yaml", 3, 3, "parties.gvo.side",
        "required key is missing (a new party 'gvo', did you mean 'gov'?)",
    )  # fmt: skip
    write("new.yaml", "extends: parent.yaml\nparties:\n  militia: {tolerance: 5}\n")
    assert "did you mean" not in error_of("new.yaml")  # a new name, not a near one


def test_a_key_of_another_distribution_is_named_as_such(here: Path) -> None:
    """A key another kind of distribution has (here a triangular's mode on a uniform): the
    error names the distribution and the keys it does have."""
    write(
        "mode.yaml",
        BASE + "uncertainties:\n  parties.gov.violation_prob: {dist: uniform, low: 0.1,"
        " high: 0.3, mode: 0.2}\n",
    )
    assert_error(
        error_of("mode.yaml"), "mode.yaml", 11, 68, "uncertainties.parties.gov.violation_prob.mode",
        "unknown key for a uniform distribution (its keys: dist, low, high)",
    )  # fmt: skip


def test_extends_chain_and_relative_to_file(here: Path) -> None:
    Path("base").mkdir()
    write("base/parent.yaml", PARENT)
    write("base/middle.yaml", "extends: parent.yaml\nname: middle\nwindow_days: 3\n")
    write("child.yaml", "extends: base/middle.yaml\nname: child\n")
    s = load_scenario("child.yaml")
    assert (s.name, s.title) == ("child", "Parent scenario")


def test_extends_error_in_child_points_into_child(here: Path) -> None:
    write("parent.yaml", PARENT)
    write("child.yaml", "extends: parent.yaml\nname: child\nparties:\n  gov:\n    major_share: 2\n")
    assert_error(
        error_of("child.yaml"),
        "child.yaml",
        5,
        5,
        "parties.gov.major_share",
        "less than or equal to 1",
    )


def test_extends_error_inherited_from_parent_points_into_parent(here: Path) -> None:
    write("parent.yaml", PARENT.replace("tolerance: 5", "tolerance: -5"))
    write(
        "child.yaml", "extends: parent.yaml\nname: child\nparties:\n  gov:\n    major_share: 0.5\n"
    )
    assert_error(
        error_of("child.yaml"),
        "parent.yaml",
        13,
        5,
        "parties.gov.tolerance",
        "greater than or equal to 0",
    )


def test_extends_cross_file_reference_error_points_into_child(here: Path) -> None:
    write("parent.yaml", PARENT)
    write("child.yaml", "extends: parent.yaml\nname: child\nparties:\n  gov:\n    targets: [zz]\n")
    assert_error(
        error_of("child.yaml"), "child.yaml", 5, 15, "parties.gov.targets.0", "unknown side 'zz'"
    )


def test_extends_missing_file(here: Path) -> None:
    write("child.yaml", "name: child\nextends: nothere.yaml\n")
    assert_error(
        error_of("child.yaml"), "child.yaml", 2, 1, "extends", "no such file", "nothere.yaml"
    )


def test_extends_not_a_path(here: Path) -> None:
    write("child.yaml", "name: child\nextends: [a.yaml]\n")
    assert_error(error_of("child.yaml"), "child.yaml", 2, 1, "extends", "file path")


def test_extends_cycle(here: Path) -> None:
    write("a.yaml", "extends: b.yaml\nname: a\n")
    write("b.yaml", "# b\nextends: a.yaml\nname: b\n")
    err = error_of("a.yaml")
    # detected when b.yaml names a.yaml again: the error points at b.yaml's `extends`
    assert_error(err, "b.yaml", 2, 1, "extends", "cycle", "a.yaml -> b.yaml -> a.yaml")


def test_extends_self_cycle(here: Path) -> None:
    write("a.yaml", "name: a\nextends: ./a.yaml\n")
    assert_error(error_of("a.yaml"), "a.yaml", 2, 1, "extends", "cycle")


def test_extends_parent_syntax_error_points_into_parent(here: Path) -> None:
    write("parent.yaml", "name: parent\ntitle: Bad: yaml\n")
    write("child.yaml", "extends: parent.yaml\nname: child\n")
    assert_error(error_of("child.yaml"), "parent.yaml", 2, 11, "", "invalid YAML")


# --------------------------------------------------------------------------- good input


def test_violation_prob_and_rate_forms(here: Path) -> None:
    text = textwrap.dedent("""\
        name: forms
        title: Both forms
        window_days: 3
        parties:
          p_scalar: {side: a, violation_prob: 0.5}
          p_list: {side: a, violation_prob: [0, 0.5, 0.75]}
          r_scalar: {side: b, violation_rate: 2}
          r_list: {side: b, violation_rate: [0.5, 1.5, 0]}
        """)
    s = load_scenario(write("forms.yaml", text))
    assert s.base_rates("p_scalar") == pytest.approx((math.log(2),) * 3)
    assert s.base_rates("p_list") == pytest.approx((0.0, math.log(2), math.log(4)))
    assert s.base_rates("r_scalar") == pytest.approx((2.0, 2.0, 2.0))
    assert s.base_rates("r_list") == pytest.approx((0.5, 1.5, 0.0))
    assert s.sides == ("a", "b")


def test_start_is_parsed_as_datetime(here: Path) -> None:
    s = load_scenario(write("s.yaml", BASE + "start: 2016-09-12T19:00:00+03:00\n"))
    assert isinstance(s.start, datetime)
    assert s.start == datetime(2016, 9, 12, 19, 0, tzinfo=timezone(timedelta(hours=3)))
    d = load_scenario(write("d.yaml", BASE + "start: 2016-09-12\n"))
    assert isinstance(d.start, datetime)
    assert (d.start.year, d.start.month, d.start.day, d.start.hour) == (2016, 9, 12, 0)
    assert load_scenario(write("n.yaml", BASE)).start is None


def test_bad_start(here: Path) -> None:
    err = error_of(write("bad.yaml", BASE + "start: not a date\n"))
    assert_error(err, "bad.yaml", 10, 1, "start", "datetime")


def test_defaults(here: Path) -> None:
    s = load_scenario(write("s.yaml", BASE))
    assert s.window_days == 7
    assert s.rules.major_weight == 3
    g = s.parties["gov"]
    assert (g.major_share, g.retaliation.boost, g.tolerance, g.targets) == (0.2, 0, None, None)
    assert s.target_sides("gov") == ("b",)
    assert s.humanitarian is None and s.trigger.max_strain is None
    assert s.quiet_days == 7


def test_flagship_loads(here: Path) -> None:
    s = load_scenario(FLAGSHIP)
    assert s.name == "geneva_2016"
    assert s.window_days == 7
    assert s.warnings() == []
    assert 0 < s.branching_ratio() < 1


def test_scenario_is_immutable(here: Path) -> None:
    s = load_scenario(write("s.yaml", BASE))
    with pytest.raises((TypeError, ValueError, AttributeError)):
        s.name = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        s.parties["new"] = s.parties["gov"]  # type: ignore[index]
    with pytest.raises(TypeError):
        del s.parties["gov"]  # type: ignore[attr-defined]
    with pytest.raises((TypeError, ValueError, AttributeError)):
        s.parties["gov"].side = "b"  # type: ignore[misc]
    with pytest.raises((TypeError, ValueError, AttributeError)):
        s.parties["gov"].retaliation.boost = 5  # type: ignore[misc]
    assert s.name == "mini" and list(s.parties) == ["gov", "reb"]
    assert s.parties["gov"].side == "a"


def test_scenario_from_dict_copies_its_input() -> None:
    data = yaml.safe_load(BASE)
    s = scenario_from_dict(data)
    data["parties"]["gov"]["violation_prob"] = 0.9
    data["parties"]["extra"] = {"side": "c", "violation_prob": 0.1}
    assert s.parties["gov"].violation_prob == 0.2
    assert list(s.parties) == ["gov", "reb"]


def test_with_overrides_returns_new_scenario(here: Path) -> None:
    s = load_scenario(write("s.yaml", BASE))
    t = s.with_overrides(
        {
            "parties.gov.violation_prob": 0.5,
            "window_days": 3,
            "spoilers.sp": {"attack_prob": 0.2, "targets": "a"},
        }
    )
    assert t is not s
    assert t.parties["gov"].violation_prob == 0.5
    assert t.window_days == 3
    assert list(t.spoilers) == ["sp"]
    # the original is unchanged
    assert s.parties["gov"].violation_prob == 0.2
    assert s.window_days == 7
    assert dict(s.spoilers) == {}
    # overrides stack, and a later one starts from its own scenario
    u = t.with_overrides({"parties.reb.violation_prob": 0.3})
    assert (u.parties["gov"].violation_prob, u.parties["reb"].violation_prob) == (0.5, 0.3)
    assert t.parties["reb"].violation_prob == 0.1


def test_with_overrides_list_item(here: Path) -> None:
    s = load_scenario(
        write("s.yaml", gov("side: a\nviolation_prob: [0.1, 0.1, 0.1]") + "window_days: 3\n")
    )
    t = s.with_overrides({"parties.gov.violation_prob.1": 0.5})
    assert t.parties["gov"].violation_prob == (0.1, 0.5, 0.1)
    assert s.parties["gov"].violation_prob == (0.1, 0.1, 0.1)


def test_with_overrides_on_dict_scenario() -> None:
    s = scenario_from_dict(yaml.safe_load(BASE))
    assert s.with_overrides({"title": "T"}).title == "T"


def test_bad_override_names_key_and_set(here: Path) -> None:
    s = load_scenario(write("s.yaml", BASE))
    with pytest.raises(ScenarioError) as info:
        s.with_overrides({"parties.gov.violation_prob": 2})
    text = str(info.value)
    assert "parties.gov.violation_prob: " in text
    assert "(from with_overrides parties.gov.violation_prob)" in text
    assert "--set" not in text
    assert "less than 1" in text
    assert s.parties["gov"].violation_prob == 0.2


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ({"parties.gov.violaton_prob": 0.1}, "parties.gov.violaton_prob"),
        ({"window_days": 0}, "window_days"),
        ({"monte_carlo.runs": 0}, "monte_carlo.runs"),
        ({"spoilers.sp": {"attack_prob": 0.1, "targets": "a", "bogus": 1}}, "spoilers.sp.bogus"),
        ({"spoilers.sp": {"attack_prob": 0.1, "targets": "zz"}}, "spoilers.sp.targets"),
    ],
    ids=["typo", "window", "runs", "new-spoiler-unknown-key", "new-spoiler-bad-target"],
)
def test_bad_overrides_name_key_and_set(here: Path, override: dict[str, Any], key: str) -> None:
    s = load_scenario(write("s.yaml", BASE))
    with pytest.raises(ScenarioError) as info:
        s.with_overrides(override)
    text = str(info.value)
    assert f"{key}: " in text
    assert "with_overrides" in text
    with pytest.raises(ScenarioError) as info:
        s.with_overrides(override, origin="--set")
    assert "(from --set " in str(info.value)


def test_override_of_an_unknown_party_says_it_is_not_a_party(here: Path) -> None:
    """`--set parties.goverment.tolerance=5`: a misspelt party is not a new party; the error
    says so, names where the change came from and suggests the right name."""
    s = load_scenario(write("s.yaml", BASE.replace("gov:", "government:")))
    with pytest.raises(ScenarioError) as info:
        s.with_overrides({"parties.goverment.tolerance": 5}, origin="--set")
    text = str(info.value)
    assert text.startswith("--set: parties.goverment.tolerance: 'goverment' is not a party")
    assert "did you mean 'government'?" in text
    assert "required key" not in text and "s.yaml" not in text
    with pytest.raises(ScenarioError) as info:
        s.with_overrides({"parties.nobody.side": "x"})
    assert str(info.value).startswith("with_overrides: parties.nobody.side: 'nobody' is not")
    # a complete new party is still allowed, part by part
    made = s.with_overrides({"parties.new.side": "c", "parties.new.violation_prob": 0.1})
    assert made.sides == ("a", "b", "c")


@pytest.mark.parametrize("key", ["", "a..b", "name.x", "parties.gov.violation_prob.3"])
def test_unsettable_override_paths(here: Path, key: str) -> None:
    s = load_scenario(write("s.yaml", BASE))
    with pytest.raises(ScenarioError) as info:
        s.with_overrides({key: 1})
    assert "\n" not in str(info.value)


# --------------------------------------------------------------------------- excitation


def two_party(
    gov_p: float,
    reb_p: float,
    boost: tuple[float, float],
    hours: tuple[float, float],
    pressure: tuple[float, float] = (0.0, 0.0),
) -> dict[str, Any]:
    return {
        "name": "pair",
        "title": "Pair",
        "parties": {
            "gov": {
                "side": "a",
                "violation_prob": gov_p,
                "retaliation": {"boost": boost[0], "half_life_hours": hours[0]},
            },
            "reb": {
                "side": "b",
                "violation_prob": reb_p,
                "retaliation": {"boost": boost[1], "half_life_hours": hours[1]},
            },
        },
        "guarantors": {
            "ru": {"clients": ["gov"], "pressure": pressure[0]},
            "us": {"clients": ["reb"], "pressure": pressure[1]},
        },
    }


@pytest.mark.parametrize(
    ("gov_p", "reb_p", "boost", "hours", "pressure"),
    [
        (0.3, 0.2, (0.6, 0.4), (24, 12), (0.3, 0.2)),
        (0.5, 0.5, (1.0, 1.0), (24, 24), (0.0, 0.0)),
        (0.1, 0.7, (2.0, 0.3), (48, 6), (0.5, 0.9)),
    ],
)
def test_branching_ratio_closed_form(
    gov_p: float,
    reb_p: float,
    boost: tuple[float, float],
    hours: tuple[float, float],
    pressure: tuple[float, float],
) -> None:
    s = scenario_from_dict(two_party(gov_p, reb_p, boost, hours, pressure))

    def m(p: float, press: float, b: float, h: float) -> float:
        return -math.log(1 - p) * (1 - press) * b * (h / 24) / math.log(2)

    # m12: gov's offspring per reb event; m21: reb's offspring per gov event
    m12 = m(gov_p, pressure[0], boost[0], hours[0])
    m21 = m(reb_p, pressure[1], boost[1], hours[1])
    assert s.branching_ratio() == pytest.approx(math.sqrt(m12 * m21), rel=1e-9)


def test_branching_ratio_zero_without_mutual_excitation() -> None:
    s = scenario_from_dict(two_party(0.3, 0.3, (1.0, 0.0), (24, 24)))
    assert s.branching_ratio() == pytest.approx(0.0, abs=1e-12)


def test_supercritical_scenario_validates_with_warning() -> None:
    s = scenario_from_dict(two_party(0.3, 0.3, (5.0, 5.0), (72, 72)))
    assert s.branching_ratio() >= 1
    warnings = s.warnings()
    assert any("supercritical" in w for w in warnings), warnings


def test_subcritical_scenario_has_no_warning() -> None:
    s = scenario_from_dict(two_party(0.1, 0.1, (0.2, 0.2), (12, 12)))
    assert s.branching_ratio() < 1
    assert s.warnings() == []


def test_impossible_deliveries_warn() -> None:
    data = two_party(0.1, 0.1, (0, 0), (12, 12))
    data["window_days"] = 3
    data["humanitarian"] = {
        "first_day": 1,
        "convoys_per_day": 1,
        "success_prob": 0.5,
        "required_deliveries": 5,
    }
    assert any("required_deliveries" in w for w in scenario_from_dict(data).warnings())


# --------------------------------------------------------------------------- JSON Schema


def _json_ready(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _json_ready(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_ready(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def test_json_schema_accepts_flagship_and_rejects_unknown_key() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = sim.json_schema()
    json.dumps(schema)  # plain JSON
    validator_cls = jsonschema.validators.validator_for(schema)
    validator_cls.check_schema(schema)
    validator = validator_cls(schema)
    flagship = _json_ready(yaml.safe_load(FLAGSHIP.read_text(encoding="utf-8")))
    errors = [e.message for e in validator.iter_errors(flagship)]
    assert errors == []
    bad = json.loads(json.dumps(flagship))
    bad["colour"] = "red"
    assert not validator.is_valid(bad)
    nested = json.loads(json.dumps(flagship))
    nested["parties"]["government"]["violaton_prob"] = 0.2
    assert not validator.is_valid(nested)
    child = {"extends": "geneva_2016.yaml", **flagship}
    assert validator.is_valid(child)
    # every scenario shipped, variants included: a file with `extends` inherits what it
    # leaves out, so nothing is required of it, but its keys keep their names and ranges
    root = FLAGSHIP.parents[1]
    for path in [*root.glob("scenarios/*.yaml"), *root.glob("cases/*/scenario.yaml")]:
        data = _json_ready(yaml.safe_load(path.read_text(encoding="utf-8")))
        assert [e.message for e in validator.iter_errors(data)] == [], path
    partial = {"extends": "geneva_2016.yaml", "parties": {"government": {"tolerance": 5}},
               "uncertainties": {"parties.government.tolerance": {"high": 9}}}  # fmt: skip
    assert validator.is_valid(partial)
    # null removes an inherited key or block
    assert validator.is_valid(
        {**partial, "humanitarian": None, "parties": {"government": {"tolerance": None}}}
    )
    for bad in (
        {**partial, "parties": {"government": {"tolerence": 5}}},  # a typo'd key
        {**partial, "parties": {"government": {"tolerance": -1}}},  # out of range
        {"name": "x", "parties": {"government": {"tolerance": 5}}},  # no extends: incomplete
    ):
        assert not validator.is_valid(bad), bad


# --------------------------------------------------------------------------- safe loading


EVIL_SEQ = '!!python/object/apply:os.system ["echo pwned; touch PWNED"]'
EVIL_STR = '!!python/object/apply:os.system "echo pwned; touch PWNED"'


@pytest.mark.parametrize(
    ("text", "line"),
    [
        (BASE.replace("title: Mini ceasefire", f"title: {EVIL_SEQ}"), 2),
        (BASE.replace("title: Mini ceasefire", f"title: {EVIL_STR}"), 2),
        (BASE + f"description: {EVIL_SEQ}\n", 10),
        (EVIL_SEQ + "\n", 1),
    ],
    ids=["title-sequence", "title-scalar", "description-sequence", "document"],
)
def test_python_tags_are_rejected_and_never_executed(
    here: Path, capfd: pytest.CaptureFixture[str], text: str, line: int
) -> None:
    err = error_of(write("evil.yaml", text))
    assert err.startswith(f"evil.yaml:{line}:")
    assert not Path("PWNED").exists()
    assert "pwned" not in capfd.readouterr().out


def test_python_tag_on_a_list_valued_key_is_rejected(here: Path) -> None:
    """A python tag must be an error wherever it is, not silently dropped: here the tagged
    sequence would otherwise be accepted as the party's `targets` list."""
    text = gov('side: a\nviolation_prob: 0.2\ntargets: !!python/object/apply:os.system ["b"]')
    err = error_of(write("evil.yaml", text))
    assert err.startswith("evil.yaml:7:"), err
    assert not Path("PWNED").exists()


def test_python_tag_on_a_mapping_is_rejected(here: Path) -> None:
    text = gov(
        "side: a\nviolation_prob: 0.2\nretaliation: !!python/object/new:os.system {boost: 1}"
    )
    err = error_of(write("evil.yaml", text))
    assert err.startswith("evil.yaml:7:"), err


def test_alias_bomb_is_rejected(here: Path) -> None:
    lines = ["name: mini", "title: M", "a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    err = error_of(write("bomb.yaml", "\n".join(lines) + "\n"))
    assert err.startswith("bomb.yaml:")
    assert "too large" in err


PHASED = (
    BASE
    + """\
phases:
  - name: one
    days: 3
    gate: {max_strain: 2}
    on_fail: cancel
observations:
  monitors:
    label: a monitor
    per_event: 1
    counts: [gov]
    data:
      - {day: 1, count: 4, source: a report}
"""
)


@pytest.mark.parametrize(
    ("old", "new", "line", "col", "key", "message"),
    [
        # nested keys are suggested from the models' own fields, at any depth
        ("{max_strain: 2}", "{max_strian: 2}", 13, 12, "phases.0.gate.max_strian",
         "unknown key; did you mean 'max_strain'?"),
        # a misspelt required key is one mistake, not also "source: required key is missing"
        ("source: a report", "sorce: a report", 21, 28, "observations.monitors.data.0.sorce",
         "unknown key; did you mean 'source'?"),
        # on_fail is 'cancel' or an extension: the error says which form was meant
        ("on_fail: cancel", "on_fail: extend", 14, 5, "phases.0.on_fail",
         "input should be 'cancel' or a mapping {extend_days, times} (got 'extend')"),
        ("on_fail: cancel", "on_fail: {extend_days: 2, times: 0}", 14, 31,
         "phases.0.on_fail.times", "input should be greater than or equal to 1 (got 0)"),
    ],
)  # fmt: skip
def test_nested_mistakes_get_one_line_that_says_what_was_meant(
    here: Path, old: str, new: str, line: int, col: int, key: str, message: str
) -> None:
    assert old in PHASED
    write("nested.yaml", PHASED.replace(old, new))
    with pytest.raises(ScenarioError) as info:
        load_scenario("nested.yaml")
    assert len(info.value.problems) == 1, str(info.value)
    assert_error(error_of("nested.yaml"), "nested.yaml", line, col, key, message)


@pytest.mark.parametrize(
    ("text", "line", "col", "key", "message"),
    [
        (BASE.replace("  gov:\n    side: a", "  gov:\n\tside: a"), 5, 1, "",
         "invalid YAML: found character that cannot start any token: a tab (YAML is indented"
         " with spaces, never tabs)"),
        (BASE + "uncertainties:\n  parties.gov.violation_prob: 0.3\n", 11, 3,
         "uncertainties.parties.gov.violation_prob",
         "an uncertain assumption is a distribution, such as {dist: uniform, low: 0.1, "
         "high: 0.3} (got 0.3; the scenario's own value stays in its key)"),
    ],
)  # fmt: skip
def test_parser_wording_is_translated(
    here: Path, text: str, line: int, col: int, key: str, message: str
) -> None:
    write("odd.yaml", text)
    assert_error(error_of("odd.yaml"), "odd.yaml", line, col, key, message)


def test_setting_a_day_of_a_single_number_says_to_give_a_list() -> None:
    scenario = scenario_from_dict(yaml.safe_load(BASE))
    with pytest.raises(ScenarioError) as err:
        scenario.with_overrides({"parties.gov.violation_prob.3": 0.2}, origin="--set")
    assert str(err.value) == (
        "--set: parties.gov.violation_prob.3: cannot set: 'parties.gov.violation_prob' is one "
        "number, not a per-day list (give a list, parties.gov.violation_prob=[...], one value "
        "per day)"
    )
    with pytest.raises(ScenarioError, match="cannot set: 'title' holds no keys"):
        scenario.with_overrides({"title.x": 1}, origin="--set")


def test_an_error_in_a_phase_set_names_its_line_and_key(here: Path) -> None:
    text = BASE + (
        "window_days: 4\nphases:\n  - {name: one, days: 2}\n"
        "  - name: two\n    days: 2\n    set:\n      parties.reb.violation_prob: 1.5\n"
    )
    err = error_of(write("bad.yaml", text))
    assert_error(err, "bad.yaml", 16, 7, "phases.1.set.parties.reb.violation_prob", "less than 1")


def test_a_phase_may_give_a_rate_where_the_scenario_gives_a_probability(here: Path) -> None:
    """The phase's form replaces the other (exactly one of the two is in force)."""
    text = BASE + (
        "window_days: 4\nphases:\n  - {name: one, days: 2}\n"
        "  - {name: two, days: 2, set: {parties.reb.violation_rate: 0.7}}\n"
    )
    scenario = load_scenario(write("ok.yaml", text))
    one, two = sim.scenario.phase_scenarios(scenario)
    assert one.parties["reb"].violation_prob == 0.1 and one.parties["reb"].violation_rate is None
    assert two.parties["reb"].violation_rate == 0.7 and two.parties["reb"].violation_prob is None


def test_a_phase_giving_both_forms_is_an_error(here: Path) -> None:
    text = BASE + (
        "window_days: 4\nphases:\n  - {name: one, days: 2}\n"
        "  - {name: two, days: 2, set: {parties.reb.violation_prob: 0.5,"
        " parties.reb.violation_rate: 0.01}}\n"
    )
    err = error_of(write("bad.yaml", text))
    assert "give exactly one of violation_prob or violation_rate (both given)" in err


@pytest.mark.parametrize("parties", ["parties: [gov, reb]\n", "parties: null\n", ""])
def test_no_names_are_checked_against_a_broken_parties_block(here: Path, parties: str) -> None:
    """Without a mapping of parties, a spoiler's target or a guarantor's client is not
    called unknown: the parties block's own error is the one mistake."""
    text = (
        "name: x\ntitle: x\n" + parties
        + "spoilers:\n  s: {attack_prob: 0.1, targets: a, blamed_on: gov}\n"
        + "guarantors:\n  g: {clients: [gov]}\n"
    )  # fmt: skip
    with pytest.raises(ScenarioError) as info:
        load_scenario(write("bad.yaml", text))
    assert [p.key for p in info.value.problems] == ["parties"]


def test_a_phased_file_is_warned_about_an_unused_zero(here: Path) -> None:
    """max_strain 0 is a value the file gives (the strictest), not "none": the gates replace
    it, and validate says so; required_deliveries 0 is the default and is not named."""
    text = BASE + (
        "window_days: 2\ntrigger: {max_strain: 0}\n"
        "humanitarian: {success_prob: 0.5, required_deliveries: 0}\n"
        "phases:\n  - {name: one, days: 2}\n"
    )
    warnings = load_scenario(write("ok.yaml", text)).warnings()
    assert len(warnings) == 1 and warnings[0].startswith("trigger.max_strain (0.0, line 11)")


def test_a_phases_set_value_can_be_changed_like_any_key(here: Path) -> None:
    """``phases.N.set.KEY.PATH``: the set key is itself a key path (for --set and sweeps)."""
    text = BASE + (
        "window_days: 4\nphases:\n  - {name: one, days: 2}\n"
        "  - {name: two, days: 2, set: {parties.reb.violation_prob: 0.3}}\n"
    )
    scenario = load_scenario(write("ok.yaml", text))
    changed = scenario.with_overrides(
        {"phases.1.set.parties.reb.violation_prob": 0.6, "phases.1.set.parties.gov.tolerance": 2}
    )
    _, two = sim.scenario.phase_scenarios(changed)
    assert two.parties["reb"].violation_prob == 0.6 and two.parties["gov"].tolerance == 2
    with pytest.raises(ScenarioError, match="unknown party 'rbe'"):
        scenario.with_overrides({"phases.1.set.parties.rbe.violation_prob": 0.6})


def test_a_gate_requiring_deliveries_needs_convoys(here: Path) -> None:
    """Without a humanitarian block no convoy runs: a gate's requirement is an error; with
    one, a requirement its phase can never meet is a warning."""
    phases = "window_days: 4\nphases:\n  - {name: one, days: 2, gate: {required_deliveries: 1}}\n"
    phases += "  - {name: two, days: 2, gate: {required_deliveries: 5}}\n"
    err = error_of(write("bad.yaml", BASE + phases))
    assert_error(
        err, "bad.yaml", 12, 33, "phases.0.gate.required_deliveries", "needs a humanitarian"
    )
    aid = "humanitarian: {first_day: 1, success_prob: 0.5, convoys_per_day: 2}\n"
    warnings = load_scenario(write("ok.yaml", BASE + aid + phases)).warnings()
    # phase one: 1 convoy day (day 1) × 2 ≥ 1; phase two: 2 days × 2 = 4 < 5
    assert warnings == [
        "phase two: its gate requires 5 deliveries but at most 4 convoys run in it: it can "
        "never pass"
    ]


def test_a_misspelt_key_in_a_phase_set_gets_the_nearest(here: Path) -> None:
    text = BASE + (
        "window_days: 2\nphases:\n  - {name: one, days: 2, set: {parties.gov.tolerence: 3}}\n"
    )
    assert "did you mean 'tolerance'?" in error_of(write("bad.yaml", text))
    text = (
        BASE + "window_days: 2\nphases:\n  - {name: one, days: 2, set: {party.gov.tolerance: 3}}\n"
    )
    assert "unknown group 'party'; did you mean 'parties'?" in error_of(write("bad.yaml", text))


def test_a_phase_is_named_by_its_number_in_a_key_path(here: Path) -> None:
    text = BASE + "window_days: 2\nphases:\n  - {name: one, days: 2}\n"
    scenario = load_scenario(write("ok.yaml", text))
    for bad in ("phases.one.days", "phases.3.days"):
        with pytest.raises(ScenarioError, match=r"phases are numbered from 0 \(here: 0 one\)"):
            scenario.with_overrides({bad: 2})


def test_messages_do_not_name_the_models_classes(here: Path) -> None:
    text = BASE + "window_days: 2\nphases:\n  - {name: one, days: 2, gate: 3}\n"
    err = error_of(write("bad.yaml", text))
    assert "phases.0.gate: input should be a valid dictionary (got 3)" in err
    assert "instance of" not in err


def phase_problem_keys(window_days: int, *phases: str) -> list[str]:
    """The keys of the problems ``validate`` finds in BASE with these phases, in order."""
    text = BASE + f"window_days: {window_days}\nphases:\n" + "".join(f"  - {p}\n" for p in phases)
    with pytest.raises(ScenarioError) as info:
        load_scenario(write("bad.yaml", text))
    return [p.key for p in info.value.problems]


def test_every_phase_problem_is_listed_at_once(here: Path) -> None:
    assert phase_problem_keys(
        4,
        "{name: one, days: 2, set: {parties.gov.tolerence: 3}}",
        "{name: one, days: 2, gate: {quiet_days: 3}, set: {parties.rbe.tolerance: 3}}",
    ) == [
        "phases.0.set.parties.gov.tolerence",
        "phases.1.name",
        "phases.1.gate.quiet_days",
        "phases.1.set.parties.rbe.tolerance",
    ]


def test_structural_and_per_phase_problems_are_listed_with_the_others(here: Path) -> None:
    """Days that do not add up and each phase's values failing as a scenario of their own are
    listed with every other phase problem, not one at a time."""
    assert phase_problem_keys(
        5, "{name: one, days: 2, set: {parties.gov.tolerence: 3}}", "{name: two, days: 2}"
    ) == ["window_days", "phases.0.set.parties.gov.tolerence"]
    assert phase_problem_keys(
        4,
        "{name: one, days: 2, set: {parties.gov.tolerance: -3}}",
        "{name: two, days: 2, set: {parties.reb.tolerance: -1}}",
    ) == ["phases.0.set.parties.gov.tolerance", "phases.1.set.parties.reb.tolerance"]


@pytest.mark.parametrize("phases", ["{1: {gate: {max_strain: 12}}}", '{"1": {days: 3}}'])
def test_changing_one_phase_in_a_variant_says_lists_are_replaced_whole(
    here: Path, phases: str
) -> None:
    write("base.yaml", BASE + "phases:\n  - {name: one, days: 2}\n  - {name: two, days: 2}\n")
    err = error_of(write("v.yaml", f"extends: base.yaml\nname: v\nphases: {phases}\n"))
    assert "phases: is a list of phases" in err and "replace the inherited ones whole" in err
    assert "--set phases.N.KEY=value" in err and "quote it" not in err


def test_a_name_a_variant_removed_with_null_is_cited_where_it_is_still_used(here: Path) -> None:
    write("base.yaml", BASE + (
        "spoilers:\n  bandits: {attack_prob: 0.1, targets: a}\n"
        "observations:\n  panel: {label: x, counts: [gov, bandits], per_event: 1,"
        " data: [{day: 0, count: 1, source: s}]}\n"
    ))  # fmt: skip
    err = error_of(write("v.yaml", "extends: base.yaml\nname: v\nspoilers:\n  bandits: null\n"))
    assert "unknown actor 'bandits'" in err
    assert "(spoilers.bandits was removed by 'null' at v.yaml:4:" in err
