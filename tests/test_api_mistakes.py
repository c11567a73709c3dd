"""Mistakes a notebook user makes with the Python API get a message that says what to do,
not a Python internal error."""

from __future__ import annotations

import pytest
from conftest import ROOT, fresh_python

import sim
from sim import ScenarioError, UsageError

FLAGSHIP = ROOT / "scenarios" / "geneva_2016.yaml"


@pytest.fixture(scope="module")
def flagship() -> sim.Scenario:
    return sim.load_scenario(FLAGSHIP)


def test_submodules_are_reached_after_a_plain_import() -> None:
    code = (
        "import sim; "
        "print(sim.plots.outcome_figure.__name__, sim.compare.compare_results.__name__, "
        "sim.trace.story.__name__, sim.sweep.__name__)"
    )
    assert fresh_python(code).split() == ["outcome_figure", "compare_results", "story", "sim.sweep"]
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        sim.nothing  # noqa: B018


@pytest.mark.parametrize("given", [str(FLAGSHIP), {"name": "x"}])
def test_simulate_names_what_it_takes(given: object) -> None:
    with pytest.raises(UsageError, match=r"expected a Scenario \(from sim.load_scenario"):
        sim.simulate(given, runs=10)  # type: ignore[arg-type]


def test_too_many_workers_is_refused_as_on_the_command_line(flagship: sim.Scenario) -> None:
    from sim import limits

    with pytest.raises(UsageError, match=r"worker processes is more than this machine"):
        sim.simulate(flagship, runs=10, workers=limits.max_workers() + 1)


def test_compare_of_scenarios_in_memory_points_to_compare_results(
    flagship: sim.Scenario,
) -> None:
    with pytest.raises(UsageError, match="compare_results"):
        sim.compare.compare([flagship, flagship])  # type: ignore[list-item]
    with pytest.raises(UsageError, match="a list of scenario files"):
        sim.compare.compare(str(FLAGSHIP))  # type: ignore[arg-type]


def test_with_overrides_takes_a_mapping(flagship: sim.Scenario) -> None:
    with pytest.raises(UsageError, match=r"takes a mapping of key paths to values"):
        flagship.with_overrides([("parties.government.violation_prob", 0.2)])  # type: ignore[arg-type]


def test_a_mapping_override_is_blamed_not_the_file(flagship: sim.Scenario) -> None:
    """A mapping replaces the whole block: what it lacks is the override's doing, and the
    message says how to change one value."""
    with pytest.raises(ScenarioError) as info:
        flagship.with_overrides({"parties": {"government": {"violation_prob": 0.2}}})
    first = info.value.problems[0]
    assert first.location.file == "with_overrides"
    assert first.key == "parties.government.side"
    assert "such as parties.government.violation_prob" in str(first)


def test_print_shows_a_few_lines_not_every_value(flagship: sim.Scenario) -> None:
    assert str(flagship) == (
        "<Scenario geneva_2016: 2 parties, 2 spoilers, 2 guarantors, 7-day window "
        f"({flagship.file_label()})>"
    )
    assert flagship.file_label().endswith("geneva_2016.yaml")
    results = sim.simulate(flagship, runs=200, seed=1, engine="fast", progress=False)
    lines = repr(results).splitlines()
    assert lines[0] == "Results of geneva_2016: 200 runs, seed 1, engine fast"
    for line, (code, (p, _, _)) in zip(
        lines[1:], results.outcome_probabilities().items(), strict=True
    ):
        assert line.split()[:2] == [code, f"{p:.1%}"]


def test_columns_are_read_by_name_or_attribute() -> None:
    res = sim.simulate(
        sim.load_scenario(ROOT / "scenarios" / "geneva_2016.yaml"), runs=50, seed=1,
        engine="fast", progress=False,
    )  # fmt: skip
    c = res.columns
    assert c is not None
    assert c["deliveries"] is c.deliveries and "outcome" in c and "nope" not in c
    assert list(c) == list(c.arrays) and c.runs == 50
    with pytest.raises(KeyError, match="'nope': no such field"):
        c["nope"]
