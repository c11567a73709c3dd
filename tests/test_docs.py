"""The documentation cannot drift from the code: README examples run, the API table matches."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

import sim

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def test_readme_opens_with_the_two_commands() -> None:
    lines = README.splitlines()
    assert lines[0] == "```"
    assert "ceasefire run scenarios/geneva_2016.yaml" in lines[1]
    assert "pytest" in lines[2]
    assert lines[3] == "```"
    assert lines[2].strip() in (ROOT / ".ci" / "run").read_text(encoding="utf-8")


@pytest.mark.parametrize("block", re.findall(r"```python\n(.*?)```", README, flags=re.S))
def test_readme_python_examples_run(block: str, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    code = block.replace('"scenarios/', f'"{ROOT}/scenarios/').replace("10_000", "500")
    exec(compile(code, "README.md", "exec"), {})
    assert (tmp_path / "results" / "my_run" / "runs.csv").exists()


def test_api_table_lists_exactly_the_public_names() -> None:
    documented = set(re.findall(r":(?:func|class|data):`(\w+)`", sim.__doc__ or ""))
    assert documented == set(sim.__all__)


def test_readme_scenario_example_is_valid() -> None:
    example = re.search(r"```yaml\n(.*?)```", README, flags=re.S)
    assert example is not None
    scenario = sim.scenario_from_dict(yaml.safe_load(example.group(1)))
    assert scenario.name == "geneva_2016"


def test_the_fields_table_is_generated_from_the_declaration() -> None:
    """docs/architecture.md shows the per-run fields exactly as sim.records declares them."""
    from sim.records import fields_table

    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    shown = re.search(r"<!-- fields-table -->\n(.*?)\n<!-- /fields-table -->", text, re.S)
    assert shown is not None
    assert shown.group(1) == fields_table()


def test_engines_do_not_import_the_layers_above_them() -> None:
    """Dependencies point one way: engines know the scenario, streams and records only."""
    for path in (ROOT / "sim" / "engines").glob("*.py"):
        imports = re.findall(r"^from \.\.(\w+)", path.read_text(encoding="utf-8"), re.M)
        assert set(imports) <= {"scenario", "streams", "records", "errors", "outcomes"}, path
    for name in ("results", "tally"):
        text = (ROOT / "sim" / f"{name}.py").read_text(encoding="utf-8")
        assert not re.search(r"^from \.(plots|report|engines)", text, re.M), name
