"""Progress: plain lines on stderr when output is piped, a bar on terminals and notebooks."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import ROOT, Cli

from sim import progress
from sim.progress import ProgressLines, progress_bar


def test_lines_report_share_done_and_time_left(capsys: pytest.CaptureFixture[str]) -> None:
    lines = ProgressLines(200, "point", desc="sweep", every=0.0)
    with lines:
        for _ in range(4):
            lines.update(50)
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 3  # not after the last step: the command's own output follows
    assert err[0].startswith("sweep: 50/200 points (25%), ")
    assert "elapsed, about" in err[0] and err[0].endswith("left")


def test_lines_wait_for_their_interval(capsys: pytest.CaptureFixture[str]) -> None:
    lines = ProgressLines(10, "run", every=3600.0)
    for _ in range(9):
        lines.update()
    assert capsys.readouterr().err == ""


def test_default_is_lines_when_stderr_is_not_a_terminal() -> None:
    # pytest captures stderr: not a terminal, and not a notebook
    assert isinstance(progress_bar(total=5, unit="run"), ProgressLines)
    assert not isinstance(progress_bar(total=5, unit="run", progress=True), ProgressLines)
    quiet = progress_bar(total=5, unit="run", progress=False)
    assert not isinstance(quiet, ProgressLines) and quiet.disable


def test_piped_sweep_prints_progress_lines(
    here: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress, "PIPED_EVERY", 0.0)
    code, out, err = cli(
        "sweep", ROOT / "scenarios" / "geneva_2016.yaml", "--param",
        "humanitarian.success_prob=0.1:0.9:20", "--runs", "50", "--seed", "1", "--no-plots",
    )  # fmt: skip
    assert code == 0, err
    assert "ceasefire: " in err and "/20 points (" in err
    assert "points (" not in out
    code, out, err = cli(
        "sweep", ROOT / "scenarios" / "geneva_2016.yaml", "--param",
        "humanitarian.success_prob=0.1:0.9:20", "--runs", "50", "--seed", "1", "--no-plots",
        "--quiet", "--out", "again",
    )  # fmt: skip
    assert code == 0 and err == ""


@pytest.mark.parametrize("command", ["run", "sweep", "sensitivity", "discover"])
def test_help_gives_a_rough_time(cli: Cli, command: str) -> None:
    code, out, _ = cli(command, "--help")
    assert code == 0
    assert "Time, roughly" in " ".join(out.split())


def test_a_kernel_without_ipywidgets_gets_a_text_bar_and_no_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """tqdm.auto warns "IProgress not found" in a kernel without ipywidgets; the text bar is
    used there instead, silently."""
    import importlib.util
    import warnings

    import tqdm
    import tqdm.notebook

    real = importlib.util.find_spec
    monkeypatch.setattr(progress, "in_notebook", lambda: True)
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "ipywidgets" else real(name, *a),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bar = progress.progress_bar(total=3, unit="run", progress=True)
        bar.close()
    assert type(bar) is tqdm.tqdm and not isinstance(bar, tqdm.notebook.tqdm)
