"""The files of a result folder, written from :class:`~sim.results.Results` (pure data).

``runs.csv``, ``summary.json``, ``manifest.json``, ``scenario.yaml`` (the resolved scenario),
and with ``plots`` the figures and ``report.html``: the views sit on top of the data, and this
module is the one place that puts them on disk.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from . import plots as plotting
from .folders import new_folder, write_json
from .report import write_report
from .results import Results
from .scenario import UNUSED_WITH_PHASES


def save(
    results: Results, path: str | Path, *, plots: bool = True, command: list[str] | None = None
) -> Path:
    """Write the result folder of ``results`` at ``path`` (never overwriting).

    Files are written to a temporary folder beside ``path`` and renamed into place, so an
    interrupted save leaves no half-written folder.
    """
    with new_folder(path) as tmp:
        if results.columns is not None:
            (tmp / "runs.csv").write_text(
                results.csv_text(), encoding="utf-8", errors="backslashreplace"
            )
        write_json(tmp / "summary.json", results.summary())
        manifest = results.manifest(command)
        write_json(tmp / "manifest.json", manifest)
        resolved = results.scenario.model_dump(mode="json")
        resolved["monte_carlo"].update(seed=results.seed, runs=results.runs)
        if resolved.get("phases"):  # the gates decide: values phases do not use are left out
            for block, key in UNUSED_WITH_PHASES:
                if isinstance(resolved.get(block), dict):
                    resolved[block].pop(key, None)
        (tmp / "scenario.yaml").write_text(
            "# The resolved scenario of this result folder (extends and --set applied).\n"
            + yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True),
            encoding="utf-8",
            errors="backslashreplace",
        )
        if plots:
            figures = plotting.save_figures(results, tmp / "figures")
            write_report(results, tmp / "report.html", figures, manifest)
    return Path(path)
