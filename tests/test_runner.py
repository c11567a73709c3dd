"""The runner: workers that die, Ctrl-C, and seeding that does not depend on chunking."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.errors import WorkerError

ROOT = Path(__file__).resolve().parents[1]
FLAGSHIP = ROOT / "scenarios" / "geneva_2016.yaml"


_SIMULATE_CHUNK = sim.runner.simulate_chunk


def _dies(params, engine, seed, start, stop, integrate=None):
    """A chunk whose worker is killed mid-run (the OOM killer, kill -9…)."""
    if start > 0:
        os._exit(3)
    return _SIMULATE_CHUNK(params, engine, seed, start, stop, integrate)


def test_a_worker_that_dies_gives_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    if sys.platform != "linux":
        pytest.skip("relies on fork to see the patched function in workers")
    monkeypatch.setattr(sim.runner, "simulate_chunk", _dies)
    scenario = sim.load_scenario(FLAGSHIP)
    with pytest.raises(WorkerError, match="worker process died"):
        sim.simulate(
            scenario, runs=3 * sim.ENGINES["simpy"].chunk, seed=1, workers=2, progress=False
        )


def test_ctrl_c_stops_the_workers_at_once_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sim",
            "run",
            str(FLAGSHIP),
            "--runs",
            "2000000",
            "--workers",
            "2",
            "--out",
            str(out),
            "--quiet",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    time.sleep(3.0)  # past start-up: the workers are simulating
    assert proc.poll() is None
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 60  # a hang, not a speed measurement
    assert proc.returncode == 130
    assert err.strip() == "ceasefire: interrupted; nothing was written"
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no half-written temporary folder either
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):  # no worker left behind in its process group
        os.killpg(proc.pid, 0)


@pytest.mark.parametrize("engine", list(sim.ENGINES))
def test_results_of_a_prefix_do_not_change_with_more_runs(engine: str) -> None:
    scenario = sim.load_scenario(FLAGSHIP)
    short = sim.simulate(scenario, runs=300, seed=9, engine=engine, progress=False)
    long = sim.simulate(scenario, runs=2_500, seed=9, engine=engine, progress=False)
    assert short.columns is not None and long.columns is not None
    assert np.array_equal(short.columns.outcome, long.columns.outcome[:300])
    assert np.array_equal(short.columns.violations, long.columns.violations[:300])


def test_workers_run_inside_a_notebook_kernel_without_hanging() -> None:
    """Parallel runs from Jupyter: a kernel has no __main__ file, and progress bars go to the
    notebook; the run must finish (a timeout here would mean a silent hang)."""
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    code = (
        "import sim\n"
        f"scenario = sim.load_scenario({str(FLAGSHIP)!r})\n"
        "one = sim.simulate(scenario, runs=4_500, seed=2, workers=1)\n"
        "two = sim.simulate(scenario, runs=4_500, seed=2, workers=2)\n"
        "print(two.runs, one.csv_text() == two.csv_text())\n"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    out = "".join(o.get("text", "") for o in nb.cells[0].outputs if o.get("name") == "stdout")
    assert out.strip() == "4500 True"


def test_fading_strain_is_counted_in_memory_that_does_not_grow_with_runs() -> None:
    """With a strain half-life every run's strain is a different real number; the tally
    counts it to three significant digits (so its size is bounded), and its quantiles are
    those of the rounded per-run values, exactly; without fading it counts exact values."""
    from sim.tally import STRAIN_DIGITS, STRAIN_FLOOR, significant

    path = ROOT / "scenarios" / "geneva_2016_phases.yaml"
    scenario = sim.load_scenario(path)
    assert scenario.strain_fades()
    res = sim.simulate(scenario, runs=20_000, seed=3, engine="fast", progress=False)
    sizes = [len(day) for side in res.tally.strain for day in side]
    assert max(sizes) <= 3 * 9 * 10 ** (STRAIN_DIGITS - 1)  # three decades at most
    c = res.columns
    assert c is not None
    rounded = significant(c.strain_daily, STRAIN_DIGITS, STRAIN_FLOOR)
    assert np.abs(rounded - c.strain_daily).max() <= 5e-3 * c.strain_daily.max()
    # a short half-life over a long window: strain spans hundreds of decades, and the
    # counts stay bounded all the same (a few decades above the floor, 900 values each)
    long = sim.scenario_from_dict({
        "name": "long", "title": "long", "window_days": 365,
        "rules": {"strain_half_life_days": 0.5},
        "parties": {"a": {"side": "A", "violation_rate": 0.02},
                    "b": {"side": "B", "violation_rate": 0.02}},
    })  # fmt: skip
    held = sim.simulate(long, runs=4_000, seed=1, engine="fast", progress=False, keep_runs=False)
    assert max(len(day) for side in held.tally.strain for day in side) <= 6 * 900
    q = res.strain_quantiles((0.5, 0.9))
    for s in range(len(res.shape.sides)):
        for d in range(res.shape.window):
            values = np.sort(rounded[:, s, d])
            for k, level in enumerate((0.5, 0.9)):
                expected = values[int(np.ceil(level * values.size)) - 1]
                assert q[s, d + 1, k] == pytest.approx(expected, abs=1e-12)
    flat = sim.load_scenario(ROOT / "scenarios" / "geneva_2016.yaml")
    assert not flat.strain_fades()
    res = sim.simulate(flat, runs=2_000, seed=3, engine="fast", progress=False)
    assert set(res.tally.strain[0][-1]) == set(np.unique(res.columns.strain_daily[:, 0, -1]))
