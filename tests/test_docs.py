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
