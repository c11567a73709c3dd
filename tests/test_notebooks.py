"""The notebooks in notebooks/ run top to bottom in a clean kernel and carry their figures.

Each notebook is executed with nbclient in a fresh kernel of this interpreter (so the kernel
imports the same, installed ``sim``), from the notebooks/ folder as Jupyter runs it; one is
also run from the repository root. Any error fails the test. The stored copies (what a
code-hosting site shows) must have been executed, hold at least one figure and no error, and
stay under 1 MB.
"""

from __future__ import annotations

import copy
import importlib.util
import re
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from ipykernel.kernelspec import RESOURCES, get_kernel_dict  # noqa: E402
from jupyter_client.kernelspec import KernelSpec, KernelSpecManager  # noqa: E402
from jupyter_client.manager import KernelManager  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("*.ipynb"))
CELL_TIMEOUT = 120  # seconds per cell (every notebook takes well under a minute in all)
MAX_BYTES = 1_000_000


class ThisPython(KernelSpecManager):
    """Every kernel is this interpreter's ipykernel, whatever kernelspecs are installed."""

    def get_kernel_spec(self, kernel_name: str) -> KernelSpec:
        return KernelSpec(resource_dir=RESOURCES, **get_kernel_dict())


def execute(nb: nbformat.NotebookNode, cwd: Path) -> nbformat.NotebookNode:
    """Run ``nb`` (a copy) top to bottom in a new kernel started in ``cwd``."""
    nb = copy.deepcopy(nb)
    km = KernelManager(kernel_name="python3", kernel_spec_manager=ThisPython())
    client = nbclient.NotebookClient(
        nb,
        km=km,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        allow_errors=False,
        resources={"metadata": {"path": str(cwd)}},
    )
    client.execute()
    return nb


def outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]


def images(nb: nbformat.NotebookNode) -> int:
    return sum("image/png" in o.get("data", {}) for o in outputs(nb))


def text(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []))


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def test_there_are_notebooks() -> None:
    names = [p.name for p in NOTEBOOKS]
    assert names == [
        "01_quickstart.ipynb",
        "02_tweak_assumptions.ipynb",
        "03_september_2016.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_notebook_is_executed_small_and_clean(path: Path) -> None:
    assert path.stat().st_size < MAX_BYTES
    nb = read(path)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    # Executed top to bottom in one go: execution counts 1, 2, 3, ...
    assert [c.execution_count for c in code] == list(range(1, len(code) + 1))
    assert not [o for o in outputs(nb) if o["output_type"] == "error"]
    assert not [o for o in outputs(nb) if o.get("name") == "stderr"]
    assert images(nb) >= 1
    assert nb.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_in_a_clean_kernel(path: Path) -> None:
    nb = read(path)
    extra = []
    if path.stem.startswith("02"):
        extra = _change_one_value(nb)
    done = execute(nb, FOLDER)  # speed is measured in benchmarks/, not here
    assert images(done) >= 1
    assert not [o for o in outputs(done) if o["output_type"] == "error"]
    if extra:
        _check_changed_value(read(path), done, extra)


def test_notebook_runs_from_the_repository_root() -> None:
    done = execute(read(FOLDER / "01_quickstart.ipynb"), ROOT)
    assert images(done) >= 4


def test_sliders_fall_back_to_a_static_grid_without_ipywidgets() -> None:
    nb = read(FOLDER / "02_tweak_assumptions.ipynb")
    block = nbformat.v4.new_code_cell("import sys\nsys.modules['ipywidgets'] = None")
    nb.cells.insert(0, block)
    done = execute(nb, FOLDER)
    last = done.cells[-1]
    assert "ipywidgets is not installed" in text(last)
    assert sum("image/png" in o.get("data", {}) for o in last.outputs) == 1


# ------------------------------------------------------------------ notebook 02: one change


def _cell_index(nb: nbformat.NotebookNode, marker: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and marker in c.source)


def _change_one_value(nb: nbformat.NotebookNode) -> list[int]:
    """Append to notebook 02 what an analyst does: edit one value of ``CHANGES``, re-run the
    cells that use it, and move a slider when ipywidgets is there."""
    changes = nb.cells[_cell_index(nb, "CHANGES = {")].source
    edited = re.sub(r'("guarantors\.russia\.pressure": )0\.6', r"\g<1>0.9", changes)
    assert edited != changes, "notebook 02 no longer sets guarantors.russia.pressure to 0.6"
    figure = nb.cells[_cell_index(nb, "compare_outcome_figure(comparison)")].source
    cells = [
        "pass",
        edited,
        figure,
        'print(f"LABEL {comparison.entries[1].label!r}")',
    ]
    if importlib.util.find_spec("ipywidgets") is not None:
        cells.append(
            'sliders["guarantors.russia.pressure"].value = 0.9\n'
            'print(f"SLIDER {len(figure.outputs)}")\n'
            "heading = what_if({'guarantors.russia.pressure': 0.9}).axes[0].get_title()\n"
            'print(f"HEADING {heading}")'
        )
    first = len(nb.cells)
    nb.cells += [nbformat.v4.new_code_cell(c) for c in cells]
    return list(range(first, len(nb.cells)))


def _check_changed_value(stored, done, extra: list[int]) -> None:
    at = _cell_index(stored, "CHANGES = {")
    before, after = text(done.cells[at]), text(done.cells[extra[1]])
    assert "with guarantors.russia.pressure=0.6" in before
    assert "with guarantors.russia.pressure=0.9" in after

    def triggered(table: str) -> str:
        return next(line for line in table.splitlines() if line.startswith("triggered"))

    assert triggered(before) != triggered(after)
    report = text(done.cells[extra[3]])
    assert "guarantors.russia.pressure=0.9" in report
    if len(extra) > 4:
        slider = text(done.cells[extra[4]])
        redrawn = re.search(r"SLIDER (\d+)", slider).group(1)
        assert int(redrawn) == 1
        assert "russia.pressure = 0.90" in slider


@pytest.mark.skipif(importlib.util.find_spec("ipywidgets") is None, reason="needs ipywidgets")
def test_long_runs_show_a_notebook_progress_bar() -> None:
    """In Jupyter, progress defaults to tqdm's widget bar (not text on stderr), and a cell
    ending in a scenario or comparison shows a table."""
    flagship = ROOT / "scenarios" / "geneva_2016.yaml"
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import sim\nimport tqdm.notebook\nfrom sim.progress import progress_bar\n"
            "print(isinstance(progress_bar(total=3, unit='point'), tqdm.notebook.tqdm))"
        ),
        nbformat.v4.new_code_cell(
            f"scenario = sim.load_scenario({str(flagship)!r})\n"
            "results = sim.simulate(scenario, runs=300, seed=1)"
        ),
        nbformat.v4.new_code_cell("scenario"),
    ]
    done = execute(nb, FOLDER)
    assert text(done.cells[0]).strip() == "True"
    widgets = [
        o
        for o in done.cells[1].outputs
        if "application/vnd.jupyter.widget-view+json" in o.get("data", {})
    ]
    assert widgets, "simulate showed no progress bar in a notebook"
    assert not [o for o in outputs(done) if o.get("name") == "stderr"]
    html = done.cells[2].outputs[0]["data"]["text/html"]
    assert "<table>" in html and "government" in html
