"""Faults: hostile inputs, signals, killed parents, full disks, concurrent runs, extreme values.

Every case ends as promised in docs/reliability.md: exit 0, or exit 2 (or 128 + the signal)
with one line and no traceback; nothing half-written; no process left behind. Caps are
lowered through :mod:`sim.limits` so the inputs stay small. Subprocess tests wait at most
60 s: the bound only catches hangs, it is not a speed claim.
"""

from __future__ import annotations

import errno
import json
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

import sim
from sim import limits
from sim.cli import main
from sim.console import Interrupted, startup
from sim.errors import SaveError, ScenarioError, printable
from sim.folders import (
    MARKER,
    STALE_SECONDS,
    check_output,
    default_folder,
    new_folder,
    remove_stale_partials,
)

ROOT = Path(__file__).resolve().parent.parent
HANG = 60  # seconds: only to catch a hang

BASE = """\
name: base
title: Base
window_days: 3
parties:
  gov: {side: a, violation_prob: 0.3, tolerance: 4}
  reb: {side: b, violation_prob: 0.2, tolerance: 6}
"""

# Slow enough per run (SimPy, excitation, a long window) that a signal lands mid-simulation.
SLOW = """\
name: slow
title: Slow
window_days: 60
parties:
  gov: {side: a, violation_prob: 0.5, retaliation: {boost: 0.3, half_life_hours: 24}}
  reb: {side: b, violation_prob: 0.5, retaliation: {boost: 0.3, half_life_hours: 24}}
monte_carlo: {max_events: 1000000}
"""


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    Path("base.yaml").write_text(BASE, encoding="utf-8")
    return tmp_path


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


def one_error_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def write(name: str, text: str) -> Path:
    path = Path(name)
    path.write_text(text, encoding="utf-8")
    return path


def no_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any simulation fail the test: the check must come before it."""

    def refuse(*_a: object, **_k: object) -> None:
        raise AssertionError("simulated before checking")

    monkeypatch.setattr("sim.cli.simulate", refuse)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob("*") if ".ceasefire-partial-" in p.name)


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "sim", *args]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def spawn(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    """A ``ceasefire`` process with SIGHUP and SIGTERM at their defaults (as in a terminal)."""

    def defaults() -> None:
        for s in (signal.SIGHUP, signal.SIGTERM, signal.SIGINT):
            signal.signal(s, signal.SIG_DFL)

    return subprocess.Popen(
        args,
        cwd=cwd,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=defaults,
    )


def children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rfind(")") + 2 :].split()
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry.name))
    return out


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] != "Z"


def wait_gone(pids: list[int], seconds: float = HANG) -> list[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.1)
    return [p for p in pids if alive(p)]


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")
posix = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


# --------------------------------------------------------------------------- result folders


def test_default_folders_are_unique_within_one_second(
    here: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Frozen(datetime):
        @classmethod
        def now(cls, tz: object = None) -> Frozen:  # type: ignore[override]
            return cls(2026, 11, 29, 13, 10, 50)

    monkeypatch.setattr("sim.folders.datetime", Frozen)
    names = {default_folder("x") for _ in range(500)}
    assert len(names) == 500
    assert {p.name[:15] for p in names} == {"20261129-131050"}


def test_two_concurrent_runs_with_the_default_folder_both_keep_their_results(here: Path) -> None:
    args = command("run", "base.yaml", "--runs", "2000", "--seed", "1", "--no-plots", "--quiet")
    procs = [spawn(args, here) for _ in range(2)]
    results = [p.communicate(timeout=HANG) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], results
    folders = sorted((here / "results" / "base").iterdir())
    assert len(folders) == 2
    assert all((f / "summary.json").is_file() for f in folders)
    assert leftovers(here) == []


def test_new_folder_never_replaces_a_folder_that_appeared_meanwhile(here: Path) -> None:
    target = here / "out"
    with pytest.raises(Exception, match="already exists"), new_folder(target) as tmp:
        (tmp / "a.txt").write_text("mine")
        target.mkdir()
        (target / "theirs.txt").write_text("theirs")
    assert sorted(p.name for p in target.iterdir()) == ["theirs.txt"]
    assert leftovers(here) == []


@pytest.mark.parametrize(
    ("out", "setup", "message"),
    [
        ("f.txt/sub", lambda: Path("f.txt").write_text("x"), "not a folder"),
        ("f.txt", lambda: Path("f.txt").write_text("x"), "already exists"),
        ("link", lambda: os.symlink("nowhere", "link"), "symbolic link to nothing"),
        ("link/sub", lambda: os.symlink("nowhere", "link"), "symbolic link to nothing"),
        ("x" * 300, lambda: None, "longer than"),
    ],
)
def test_save_problems_are_found_before_simulating(
    here: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    out,
    setup,
    message,
) -> None:
    setup()
    no_simulation(monkeypatch)
    before = sorted(p.name for p in here.iterdir())
    code, _, err = cli(capsys, "run", "base.yaml", "--runs", "10", "--out", out)
    assert code == 2
    assert message in one_error_line(err)
    assert sorted(p.name for p in here.iterdir()) == before


def test_a_read_only_place_is_refused_before_simulating(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def read_only(*_a: object, **_k: object) -> str:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("sim.folders.tempfile.mkdtemp", read_only)
    no_simulation(monkeypatch)
    code, _, err = cli(capsys, "run", "base.yaml", "--runs", "10", "--out", "ro/sub")
    assert code == 2
    assert "read-only file system" in one_error_line(err)
    assert not Path("ro").exists()


def test_a_full_disk_is_one_line_and_leaves_nothing(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Path.write_bytes

    def full(self: Path, *args: object, **kwargs: object) -> int:
        if self.name == "summary.json":
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "write_bytes", full)  # JSON files are written as UTF-8 bytes
    code, _, err = cli(
        capsys,
        "run",
        "base.yaml",
        "--runs",
        "50",
        "--seed",
        "1",
        "--quiet",
        "--no-plots",
        "--out",
        "a/b/c",
    )
    assert code == 2
    assert "disk full" in one_error_line(err)
    assert not Path("a").exists()  # the temporary folder and the parents made for it are gone


def test_an_interrupted_save_leaves_nothing(here: Path) -> None:
    with pytest.raises(Interrupted), new_folder(here / "deep" / "out") as tmp:
        (tmp / "runs.csv").write_text("run\n0\n")
        raise Interrupted(signal.SIGTERM)
    assert sorted(here.iterdir()) == [here / "base.yaml"]


def test_partial_folders_of_dead_processes_are_removed(here: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = here / f".out.ceasefire-partial-{dead.pid}"
    (stale / "figures").mkdir(parents=True)
    (stale / "runs.csv").write_text("run\n")
    (stale / MARKER).write_text("")
    stale_file = here / f".x.png.ceasefire-partial-{dead.pid}.png"  # from trace --plot
    stale_file.write_text("png")
    mine = here / f".other.ceasefire-partial-{os.getpid()}"  # a live process: left alone
    (mine).mkdir()
    (mine / MARKER).write_text("")
    recent = here / f".recent.ceasefire-partial-{dead.pid}"  # touched lately: another machine's?
    recent.mkdir()
    (recent / MARKER).write_text("")
    # the user's own files and folders, however alike: never this tool's to remove
    users = [here / ".partial-notes", here / f".photos.partial-{dead.pid}",
             here / f".thesis.partial-{dead.pid}.docx"]  # fmt: skip
    users[0].mkdir()
    users[1].mkdir()
    (users[1] / "a.jpg").write_text("x")
    users[2].write_text("x")
    unmarked = here / f".mine.ceasefire-partial-{dead.pid}"  # the name, but not the marker
    unmarked.mkdir()
    (unmarked / "keep.txt").write_text("x")
    old = time.time() - 2 * STALE_SECONDS
    for path in [stale, stale / "figures", stale / "runs.csv", stale / MARKER, stale_file, mine,
                 *users, users[1] / "a.jpg", unmarked, unmarked / "keep.txt"]:  # fmt: skip
        os.utime(path, (old, old))
    with new_folder(here / "out") as tmp:
        assert (tmp / MARKER).is_file()
        (tmp / "x").write_text("x")
    assert not stale.exists() and not stale_file.exists()
    assert mine.exists() and recent.exists() and unmarked.exists()
    assert all(p.exists() for p in users)
    assert (here / "out" / "x").read_text() == "x"
    assert not (here / "out" / MARKER).exists()
    assert remove_stale_partials(here) == []


def test_compare_refuses_a_folder_left_unfinished(here: Path, capsys) -> None:
    """A temporary folder left by a command killed outright (``kill -9``) holds runs.csv,
    summary.json and scenario.yaml already; it is not a result to compare."""
    code, _, _ = cli(capsys, "run", "base.yaml", "--runs", "50", "--no-plots", "--out", "r")
    assert code == 0
    left = here / ".r2.ceasefire-partial-999999"
    shutil.copytree(here / "r", left)
    (left / MARKER).write_text("")
    code, out, err = cli(capsys, "compare", str(left), "base.yaml", "--runs", "50")
    assert code == 2 and not out
    assert "an unfinished result folder" in one_error_line(err)


def test_check_output_accepts_a_new_folder_in_a_new_parent(here: Path) -> None:
    check_output(here / "new" / "deeper" / "out")
    assert sorted(here.iterdir()) == [here / "base.yaml"]  # the probe was removed


def test_save_error_is_a_usage_error_with_one_line() -> None:
    err = SaveError("out: cannot write the results (disk full)")
    assert isinstance(err, sim.UsageError)


# --------------------------------------------------------------------------- signals


@posix
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_signal_during_a_run_exits_128_plus_signal_and_writes_nothing(
    tmp_path: Path, sig: signal.Signals
) -> None:
    (tmp_path / "slow.yaml").write_text(SLOW)
    proc = spawn(
        command(
            "run",
            "slow.yaml",
            "--runs",
            "5000000",
            "--summary-only",
            "--seed",
            "1",
            "--quiet",
            "--out",
            "out",
        ),
        tmp_path,
    )
    time.sleep(3)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=HANG)
    assert proc.returncode == 128 + sig, err
    assert (
        one_error_line(err)
        == f"ceasefire: interrupted{'' if sig == signal.SIGINT else ' by ' + sig.name}; "
        "nothing was written"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slow.yaml"]


@posix
@needs_proc
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL])
def test_workers_never_outlive_the_command(tmp_path: Path, sig: signal.Signals) -> None:
    (tmp_path / "slow.yaml").write_text(SLOW)
    proc = spawn(
        command(
            "run",
            "slow.yaml",
            "--runs",
            "5000000",
            "--summary-only",
            "--seed",
            "1",
            "--quiet",
            "--workers",
            "2",
            "--out",
            "out",
        ),
        tmp_path,
    )
    deadline = time.monotonic() + HANG
    while len(children(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = children(proc.pid)
    assert len(workers) == 2
    time.sleep(1)
    proc.send_signal(sig)
    proc.communicate(timeout=HANG)
    assert proc.returncode == (128 + sig if sig != signal.SIGKILL else -sig)
    assert wait_gone(workers) == []
    if sig != signal.SIGKILL:
        assert sorted(p.name for p in tmp_path.iterdir()) == ["slow.yaml"]


@posix
@pytest.mark.parametrize("module", ["numpy", "pydantic", "matplotlib"])
def test_ctrl_c_during_the_imports_is_one_line_not_a_traceback(tmp_path: Path, module: str) -> None:
    """SIGINT while the package imports its libraries (``-X importtime`` tells when)."""
    (tmp_path / "base.yaml").write_text(BASE)
    args = [sys.executable, "-X", "importtime", "-m", "sim", "run", "base.yaml", "--runs", "10"]
    proc = spawn(args, tmp_path)
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if re.search(rf"\|\s+{module}$", line.rstrip()):
            break
    proc.send_signal(signal.SIGINT)
    _, rest = proc.communicate(timeout=HANG)
    err = "".join(line for line in [*seen, *rest.splitlines(True)] if "import time:" not in line)
    assert proc.returncode == 130, err
    assert one_error_line(err) == "ceasefire: interrupted; nothing was written"


def test_startup_turns_an_interrupt_into_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sim.console.is_command", lambda: True)
    monkeypatch.setattr("sim.console.install", lambda: None)
    with pytest.raises(SystemExit) as exit_, startup():
        raise Interrupted(signal.SIGHUP)
    assert exit_.value.code == 128 + signal.SIGHUP
    line = one_error_line(capsys.readouterr().err)
    assert line == "ceasefire: interrupted by SIGHUP; nothing was written"


def test_the_library_leaves_signal_handling_alone() -> None:
    assert signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None)


# --------------------------------------------------------------------------- memory and sizes


def test_rows_that_would_not_fit_are_refused_before_simulating(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "ROW_MEMORY_BUDGET", 100_000)
    no_simulation(monkeypatch)
    code, _, err = cli(capsys, "run", "base.yaml", "--runs", "5000", "--quiet")
    assert code == 2
    line = one_error_line(err)
    assert "--summary-only" in line and "5,000 runs" in line
    assert not Path("results").exists()


def test_summary_only_is_not_limited_by_row_memory(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "ROW_MEMORY_BUDGET", 1_000)
    code, _, err = cli(
        capsys,
        "run",
        "base.yaml",
        "--runs",
        "200",
        "--seed",
        "1",
        "--quiet",
        "--no-plots",
        "--summary-only",
        "--out",
        "o",
    )
    assert code == 0, err
    assert Path("o/summary.json").is_file()


def test_row_estimate_grows_with_every_kind_of_actor() -> None:
    from sim.records import Columns, Shape, row_bytes

    def shape(sides: int, window: int, parties: int, spoilers: int, guarantors: int) -> Shape:
        names = [tuple(f"{k}{i}" for i in range(n)) for k, n in
                 (("p", parties), ("s", spoilers), ("g", guarantors), ("side", sides))]  # fmt: skip
        return Shape(*names, window)

    base = row_bytes(shape(2, 7, 2, 0, 0))
    for more in [
        (3, 7, 2, 0, 0),
        (2, 8, 2, 0, 0),
        (2, 7, 3, 0, 0),
        (2, 7, 2, 1, 0),
        (2, 7, 2, 0, 1),
    ]:
        assert row_bytes(shape(*more)) > base
    # the arrays' share is exactly what Columns allocates for one run
    cols = Columns.empty(shape(2, 7, 2, 1, 1), 1)
    in_memory = sum(a.nbytes for a in cols.arrays.values())
    assert row_bytes(shape(2, 7, 2, 1, 1)) > in_memory


@pytest.mark.parametrize("runs", ["1000000000000000", "10000000000000"])
def test_absurd_runs_are_refused(here: Path, capsys: pytest.CaptureFixture[str], runs: str) -> None:
    code, _, err = cli(capsys, "run", "base.yaml", "--runs", runs, "--summary-only")
    assert code == 2
    assert "at most 1,000,000,000,000" in one_error_line(err)


# --------------------------------------------------------------------------- scenario files


def validate(capsys: pytest.CaptureFixture[str], *files: str) -> tuple[int, str]:
    """``validate`` FILES: the exit code and the first problem (one line each, no traceback)."""
    code, _, err = cli(capsys, "validate", *files)
    if not code:
        return code, err
    assert "Traceback" not in err and err.strip()
    return code, err.strip().splitlines()[0]


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_devices_are_refused_directly_and_through_extends(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert validate(capsys, "/dev/zero") == (
        2,
        "/dev/zero:1:1: not a regular file (a device, FIFO or socket), not a scenario file",
    )
    write("z.yaml", "name: z\nextends: /dev/zero\n")
    code, line = validate(capsys, "z.yaml")
    assert code == 2 and line.startswith("z.yaml:2:1: extends: /dev/zero: not a regular file")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_waiting(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    os.mkfifo("pipe")
    write("p.yaml", "extends: pipe\n")
    assert validate(capsys, "pipe")[1] == (
        "pipe:1:1: not a regular file (a device, FIFO or socket), not a scenario file"
    )
    assert validate(capsys, "p.yaml")[1].startswith("p.yaml:1:1: extends: pipe: not a regular")


def test_extends_a_folder_names_the_extends_line(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    Path("sub").mkdir()
    write("d.yaml", "name: d\n\nextends: sub\n")
    assert (
        validate(capsys, "d.yaml")[1]
        == "d.yaml:3:1: extends: sub: is a directory, not a scenario file"
    )


def test_files_above_the_size_cap_are_refused_before_parsing(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", len(BASE) - 1)
    code, line = validate(capsys, "base.yaml")
    assert code == 2 and line.startswith("base.yaml:1:1: file too large")
    monkeypatch.setattr(limits, "MAX_FILE_BYTES", len(BASE))
    assert validate(capsys, "base.yaml")[0] == 0


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("rules: &x {<<: *x}\n", "1:8: rules", "recursive alias"),
        ("description: &x [*x]\n", "1:14: description.0", "recursive alias"),
        ("a: " + "[" * 40 + "]" * 40 + "\n", "1:", "nested too deeply"),
        (
            "a:\n" + "".join(f"{'  ' * i}k{i}:\n" for i in range(1, 40)) + "\n",
            "",
            "nested too deeply",
        ),
    ],
)
def test_recursion_and_depth_are_one_line(
    here: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    text: str,
    where: str,
    message: str,
) -> None:
    monkeypatch.setattr(limits, "MAX_DEPTH", 20)
    write("r.yaml", text)
    code, line = validate(capsys, "r.yaml")
    assert code == 2
    assert line.startswith(f"r.yaml:{where}") and message in line


def test_deep_nesting_far_past_the_stack_is_one_line(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write("deep.yaml", "a: " + "[" * 5000 + "]" * 5000 + "\n")
    code, line = validate(capsys, "deep.yaml")
    assert code == 2 and "nested too deeply" in line


def test_long_extends_chains_are_refused(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_EXTENDS", 4)
    for i in range(6):
        write(f"c{i}.yaml", f"extends: c{i + 1}.yaml\n")
    write("c6.yaml", BASE)
    code, line = validate(capsys, "c0.yaml")
    assert code == 2 and line == "c3.yaml:1:1: extends: 'extends' chain longer than 4 files"


def test_nul_bytes_are_one_line(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    Path("n.yaml").write_bytes(BASE.encode().replace(b"title: Base", b"title: B\x00ase"))
    assert validate(capsys, "n.yaml")[1] == (
        "n.yaml:2:9: invalid YAML: character U+0000 is not allowed in a scenario file"
    )


@pytest.mark.parametrize(
    ("start", "message"),
    [
        ("2016-02-30", "day is out of range for month"),
        ("2016-02-03T10:00:00+99:00", "a UTC offset is within ±24:00"),
        ("9999-12-30", "must fall between the years 1000 and 9000"),
        ("0001-01-01", "must fall between the years 1000 and 9000"),
    ],
)
def test_dates_that_cannot_be_shown_are_refused(
    here: Path, capsys: pytest.CaptureFixture[str], start: str, message: str
) -> None:
    write("d.yaml", BASE + f"start: {start}\n")
    code, line = validate(capsys, "d.yaml")
    assert code == 2
    assert line.startswith("d.yaml:7:") and "start" in line and message in line


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ("window_days: 1000000000000", "window_days"),
        ("window_days: 3651", "window_days"),
        ("monte_carlo: {runs: 1000000000000000}", "monte_carlo.runs"),
        ("monte_carlo: {max_events: 100000000}", "monte_carlo.max_events"),
    ],
)
def test_sizes_are_bounded_in_validation(
    here: Path, capsys: pytest.CaptureFixture[str], change: str, key: str
) -> None:
    write("s.yaml", BASE.replace("window_days: 3\n", "") + change + "\n")
    code, line = validate(capsys, "s.yaml")
    assert code == 2 and f": {key}: input should be less than or equal to" in line


@pytest.mark.parametrize(
    "party",
    [
        "{side: a, violation_rate: 1.0e+308}",
        "{side: a, violation_prob: 0.1, retaliation: {boost: 1.0e+308}}",
        "{side: a, violation_prob: 0.1, retaliation: {boost: 1.0e+308, half_life_hours: 1.0e+300}}",
        "{side: a, violation_rate: .inf}",
    ],
)
def test_absurd_rates_are_refused_not_crashed(
    here: Path, capsys: pytest.CaptureFixture[str], party: str
) -> None:
    write("r.yaml", BASE.replace("{side: a, violation_prob: 0.3, tolerance: 4}", party))
    code, line = validate(capsys, "r.yaml")
    assert code == 2 and line.startswith("r.yaml:5:") and "parties.gov" in line


def test_the_largest_allowed_values_validate_and_give_a_finite_branching_ratio(here: Path) -> None:
    write(
        "big.yaml",
        BASE.replace(
            "{side: a, violation_prob: 0.3, tolerance: 4}",
            f"{{side: a, violation_rate: {limits.MAX_RATE:.1e}, retaliation: "
            f"{{boost: {limits.MAX_RATE:.1e}, "
            f"half_life_hours: {limits.MAX_HALF_LIFE_HOURS:.1e}}}}}",
        ).replace(
            "{side: b, violation_prob: 0.2, tolerance: 6}",
            f"{{side: b, violation_rate: 1.0, retaliation: {{boost: {limits.MAX_RATE:.1e}}}}}",
        ),
    )
    scenario = sim.load_scenario("big.yaml")
    assert scenario.branching_ratio() > 1 and scenario.branching_ratio() < float("inf")


# --------------------------------------------------------------------------- uncertainty keys

UNCERTAIN = (
    BASE.replace(
        "violation_prob: 0.3, tolerance: 4", "violation_prob: [0.3, 0.3, 0.3], tolerance: 4"
    )
    + "uncertainties:\n"
)


def test_two_spellings_of_one_key_path_are_refused_at_the_second(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        "u.yaml",
        UNCERTAIN
        + "  parties.gov.violation_prob.0: {dist: uniform, low: 0.1, high: 0.2}\n"
        + "  parties.gov.violation_prob.00: {dist: uniform, low: 0.1, high: 0.3}\n",
    )
    assert validate(capsys, "u.yaml")[1] == (
        "u.yaml:9:3: uncertainties.parties.gov.violation_prob.00: names the same value as "
        "'parties.gov.violation_prob.0' (line 8)"
    )


def test_key_paths_are_stored_in_one_spelling(here: Path) -> None:
    write(
        "u.yaml",
        UNCERTAIN + "  parties.gov.violation_prob.01: {dist: uniform, low: 0.1, high: 0.2}\n",
    )
    scenario = sim.load_scenario("u.yaml")
    assert list(scenario.uncertainties) == ["parties.gov.violation_prob.1"]
    assert str(scenario.locate(("uncertainties", "parties.gov.violation_prob.1"))) == "u.yaml:8:3"


def test_a_bad_key_path_in_the_file_is_reported_at_its_line(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write("u.yaml", UNCERTAIN + "  parties.gov.tolerance.: {dist: uniform, low: 1, high: 3}\n")
    assert validate(capsys, "u.yaml")[1] == (
        "u.yaml:8:3: uncertainties.parties.gov.tolerance.: empty key path"
    )


# --------------------------------------------------------------------------- result folders read


def summary_folder(here: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    code, _, err = cli(
        capsys,
        "run",
        "base.yaml",
        "--runs",
        "100",
        "--seed",
        "1",
        "--quiet",
        "--no-plots",
        "--out",
        "r",
    )
    assert code == 0, err
    return here / "r"


def with_survival(text: str, value: float) -> str:
    summary = json.loads(text)
    summary["survival"][1][1] = value
    return json.dumps(summary)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda text: "[" * 100_000, "nested more than"),
        (lambda text: with_survival(text, float("nan")), "NaN is not a number"),
        (lambda text: with_survival(text, 1.5), "survival fraction must be between 0 and 1"),
        (lambda text: text.replace('"runs": 100', '"runs": 1e999'), "not a finite number"),
        (lambda text: text.replace('"runs": 100', '"runs": -3'), "runs must be an integer"),
        (lambda text: text[: len(text) // 2], "invalid JSON"),
    ],
)
def test_compare_validates_result_folders(
    here: Path, capsys: pytest.CaptureFixture[str], edit, message: str
) -> None:
    folder = summary_folder(here, capsys)
    summary = folder / "summary.json"
    text = summary.read_text()
    edited = edit(text)
    assert edited != text
    summary.write_text(edited)
    code, _, err = cli(capsys, "compare", "base.yaml", "r", "--runs", "50", "--quiet", "--no-plots")
    assert code == 2
    line = one_error_line(err)
    assert (
        line.startswith("ceasefire compare: error: r/summary.json: not a readable summary")
        and message in line
    )


def test_compare_caps_the_size_of_a_summary(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    summary_folder(here, capsys)
    monkeypatch.setattr(limits, "MAX_RESULT_FILE_BYTES", 100)
    code, _, err = cli(capsys, "compare", "base.yaml", "r", "--runs", "50", "--quiet", "--no-plots")
    assert code == 2 and "larger than 100 bytes" in one_error_line(err)


# --------------------------------------------------------------------------- figures and messages


def test_labels_are_clipped_and_escaped() -> None:
    from sim.plots.style import clip

    assert clip("x" * 1_000_000, 20) == "x" * 19 + "…"
    assert clip("a\x1bb\nc") == "a\\x1bb\\nc"
    assert printable("ok") == "ok"


def test_figures_stay_bounded_and_quiet_with_many_parties_and_a_huge_title(
    here: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parties = "".join(
        f"  p{i}_{'x' * 55}: {{side: s{i}, violation_prob: 0.{i % 9 + 1}}}\n" for i in range(30)
    )
    title = "A very long title " * 16
    write("many.yaml", f'name: many\ntitle: "{title}"\nwindow_days: 2\nparties:\n{parties}')
    code, _, err = cli(
        capsys, "run", "many.yaml", "--runs", "50", "--seed", "1", "--quiet", "--out", "m"
    )
    assert code == 0, err
    assert err == ""  # no matplotlib warnings (missing glyphs, layout)
    from matplotlib.image import imread

    for png in Path("m/figures").glob("*.png"):
        height, width = imread(png).shape[:2]
        assert width <= 6000 and height <= 6000, png


def test_summary_figure_past_a_dozen_parties_shows_the_top_and_the_rest(here: Path) -> None:
    from sim.plots import violations_figure

    parties = "".join(f"  p{i}: {{side: s{i}, violation_prob: 0.{i % 9 + 1}}}\n" for i in range(20))
    write("many.yaml", f"name: many\ntitle: Many\nwindow_days: 2\nparties:\n{parties}")
    results = sim.simulate(sim.load_scenario("many.yaml"), runs=50, seed=1, progress=False)
    fig = violations_figure(results)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == limits.MAX_FIGURE_ACTORS
    assert labels[-1] == f"average of the {20 - limits.MAX_FIGURE_ACTORS + 1} other parties"


def test_errors_echo_user_text_on_one_line(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write("e.yaml", BASE + '"bad\\nkey\\x1b": 1\n')
    code, line = validate(capsys, "e.yaml")
    assert code == 2 and "bad\\nkey\\x1b" in line


def test_scenario_errors_are_printable() -> None:
    err = ScenarioError("unknown key", key="a\nb")
    assert "\n" not in str(err)


def test_set_values_are_read_like_a_file(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deep = "parties.gov.label=" + "[" * 3000 + "]" * 3000
    code, _, err = cli(capsys, "run", "base.yaml", "--set", deep, "--runs", "10")
    assert code == 2
    line = one_error_line(err)
    assert "argument --set: cannot read the value" in line and "nested too deeply" in line


def test_absurd_worker_counts_are_refused(here: Path, capsys: pytest.CaptureFixture[str]) -> None:
    too_many = str(limits.max_workers() + 1)
    code, _, err = cli(capsys, "run", "base.yaml", "--workers", too_many, "--runs", "10")
    assert code == 2 and "worker processes is more than" in one_error_line(err)


def test_compare_refuses_rows_that_would_not_fit(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "ROW_MEMORY_BUDGET", 100_000)
    monkeypatch.setattr("sim.compare.compare", lambda *a, **k: pytest.fail("simulated"))
    code, _, err = cli(capsys, "compare", "base.yaml", "base.yaml", "--runs", "5000")
    assert code == 2 and "5,000 runs would keep about" in one_error_line(err)


@pytest.mark.parametrize(
    ("phase", "message"),
    [
        ("{name: calm, days: 1000000000000}", "phases last 1,000,000,000,000 days in total"),
        (
            "{name: calm, days: 2, on_fail: {extend_days: 3000, times: 3000}}",
            "could last 9,000,002 days (at most 3,650)",
        ),
    ],
)
def test_phases_cannot_stretch_the_window_past_its_limit(
    here: Path, capsys: pytest.CaptureFixture[str], phase: str, message: str
) -> None:
    write("p.yaml", BASE.replace("window_days: 3\n", "") + f"phases:\n  - {phase}\n")
    code, line = validate(capsys, "p.yaml")
    assert code == 2 and line.startswith(("p.yaml:6:", "p.yaml:7:")) and message in line


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ("title: Base", "title: " + "t" * 301, "title"),
        ("gov: {", "g" * 65 + ": {", "parties." + "g" * 65),
        ("side: a,", "side: " + "a" * 65 + ",", "parties.gov.side"),
    ],
)
def test_names_and_labels_have_bounded_length(
    here: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, key: str
) -> None:
    write("t.yaml", BASE.replace(old, new, 1))
    code, line = validate(capsys, "t.yaml")
    assert code == 2 and f": {key}: " in line and "at most" in line


@posix
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_during_the_save_leaves_no_partial_folder(
    tmp_path: Path, sig: signal.Signals
) -> None:
    (tmp_path / "base.yaml").write_text(BASE)
    proc = spawn(
        command("run", "base.yaml", "--runs", "2000", "--seed", "1", "--quiet", "--out", "out"),
        tmp_path,
    )
    deadline = time.monotonic() + HANG
    while not leftovers(tmp_path) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert leftovers(tmp_path) or proc.poll() is not None  # saving, or already done
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=HANG)
    assert "Traceback" not in err
    assert leftovers(tmp_path) == []
    # the folder is whole or absent, whenever the signal came: before the save was renamed
    # into place (cut: nothing of it remains) or after (even if the process was then killed)
    if (tmp_path / "out").exists():
        assert (tmp_path / "out" / "manifest.json").is_file()
        assert (tmp_path / "out" / "runs.csv").is_file()
    else:
        assert proc.returncode == 128 + sig


@posix
def test_a_signal_whose_exception_is_lost_still_stops_the_command(tmp_path: Path) -> None:
    """A signal's exception raised inside a C callback (numba compiling the engine) is
    ignored by Python; the command checks again once the step is over, so it still exits
    130 with one line and writes nothing (it used to finish and write its results)."""
    (tmp_path / "base.yaml").write_text(BASE)
    script = (
        "import os, signal, sys, time\n"
        "from sim import console\n"
        "console.install()\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "    time.sleep(5)\n"
        "except KeyboardInterrupt:\n"
        "    pass  # lost, as in a callback whose exceptions are ignored\n"
        "sys.argv = ['ceasefire', 'run', 'base.yaml', '--runs', '50', '--no-plots',\n"
        "            '--out', 'out']\n"
        "console.entry()\n"
    )
    trace = "'trace', 'base.yaml', '--seed', '1', '--run', '0', '--plot', 'out.png'"
    for argv in ("'run', 'base.yaml', '--runs', '50', '--no-plots', '--out', 'out'", trace):
        done = subprocess.run(
            [sys.executable, "-c", script.replace("'run', 'base.yaml', '--runs', '50', "
                                                  "'--no-plots',\n            '--out', 'out'",
                                                  argv)],
            cwd=tmp_path, capture_output=True, text=True, timeout=HANG,
        )  # fmt: skip
        assert done.returncode == 130, (argv, done.stderr)
        assert done.stderr.strip() == "ceasefire: interrupted; nothing was written"
        assert not (tmp_path / "out").exists() and not (tmp_path / "out.png").exists()
        assert leftovers(tmp_path) == []


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args",
    [
        ("schema",),
        ("validate", "base.yaml"),
        ("run", "base.yaml", "--runs", "20", "--no-plots", "--out", "out"),
    ],
)
def test_standard_output_on_a_full_disk_is_one_line(tmp_path: Path, args: tuple[str, ...]) -> None:
    """Output that cannot be written (stdout on a full disk) ends with exit 2 and one line on
    stderr, not a traceback; a result folder saved before it stays whole."""
    (tmp_path / "base.yaml").write_text(BASE)
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            command(*args), cwd=tmp_path, stdout=full, stderr=subprocess.PIPE, text=True,
            timeout=HANG,
        )  # fmt: skip
    assert done.returncode == 2, done.stderr
    line = one_error_line(done.stderr)
    assert (
        line
        == f"ceasefire {args[0]}: error: cannot write to standard output (No space left on device)"
    )
    if args[0] == "run":
        assert (tmp_path / "out" / "manifest.json").is_file()


@posix
def test_a_path_that_is_not_utf8_is_saved_escaped(tmp_path: Path) -> None:
    """An output folder (or scenario file) whose name has bytes that are not UTF-8: the
    results are written, and the manifest and report record the name escaped."""
    (tmp_path / "base.yaml").write_text(BASE)
    out = os.fsdecode(b"bad\xffname")
    done = subprocess.run(
        command("run", "base.yaml", "--runs", "20", "--out", out), cwd=tmp_path,
        capture_output=True, timeout=HANG,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    folder = tmp_path / out
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert out in manifest["command"]
    assert "bad" in (folder / "report.html").read_text(encoding="utf-8")


@posix
@pytest.mark.parametrize("which", ["events", "export", "mapping"])
def test_data_inputs_that_are_fifos_are_refused_not_waited_on(tmp_path: Path, which: str) -> None:
    """An events file, an export or a mapping that is a FIFO (or a device) is refused at
    once, as scenario files are: reading it would wait for a writer for ever."""
    fifo = tmp_path / "f.csv"
    os.mkfifo(fifo)
    data = ROOT / "tests" / "data"
    args = {
        "events": ("fit", str(ROOT / "docs" / "examples" / "known_two_party.yaml"),
                   "--events", str(fifo)),
        "export": ("events", "--from", "acled", str(fifo), "--map",
                   str(data / "testland_mapping.yaml")),
        "mapping": ("events", "--from", "acled", str(data / "acled_synthetic.csv"), "--map",
                    str(fifo)),
    }[which]  # fmt: skip
    done = subprocess.run(command(*args), cwd=tmp_path, capture_output=True, text=True,
                          timeout=HANG)  # fmt: skip
    assert done.returncode == 2
    assert "not a regular file (a device, FIFO or socket)" in one_error_line(done.stderr)


def test_an_events_file_larger_than_the_limit_is_refused_before_reading(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "MAX_DATA_FILE_BYTES", 1000)
    big = here / "big.csv"
    big.write_text("time,actor\n" + "0.5,a\n" * 400)
    scenario = ROOT / "docs" / "examples" / "known_two_party.yaml"
    code, out, err = cli(capsys, "fit", str(scenario), "--events", str(big))
    assert code == 2 and not out
    assert "big.csv:1:1: file too large" in one_error_line(err)
    bad = here / "latin.csv"
    bad.write_bytes(b"time,actor\n0.5,a\n0.7,caf\xe9\n")
    code, _, err = cli(capsys, "fit", str(scenario), "--events", str(bad))
    assert code == 2 and "not UTF-8 text (line 3)" in one_error_line(err)


def test_aliases_of_long_text_cannot_make_a_small_file_huge(here: Path) -> None:
    """A 100 KB file whose aliases repeat one long string 2,000 times (200 MB once expanded,
    written three times into a result folder) is refused as it is read, quickly."""
    url = "x" * 9_000
    aliases = ", *s" * 1999
    text = f"extends: base.yaml\nsources: [&s {{label: a, url: {url}}}{aliases}]\n"
    (here / "bomb.yaml").write_text(text)
    started = time.monotonic()
    with pytest.raises(ScenarioError, match=r"document too large .* once its aliases are expanded"):
        sim.load_scenario(here / "bomb.yaml")
    assert time.monotonic() - started < HANG


def test_a_scenario_and_what_it_extends_must_fit_in_one_readable_file(here: Path) -> None:
    """Each file under the size cap, but together over it: the result folder's resolved
    scenario.yaml could not be read back, so the pair is refused; free text is bounded too."""
    text = "x" * 9_000
    (here / "one.yaml").write_text(
        BASE + "sources:\n" + "".join(f"  - {{label: s{i}, url: {text}}}\n" for i in range(80))
    )
    sim.load_scenario(here / "one.yaml")
    points = ", ".join(f"{{day: {i % 3}, count: 1, source: {text}}}" for i in range(80))
    (here / "two.yaml").write_text(
        "extends: one.yaml\nname: two\nobservations:\n"
        f"  o: {{label: x, counts: [gov], per_event: 1, data: [{points}]}}\n"
    )
    with pytest.raises(ScenarioError, match=r"scenario\.yaml could not be read back"):
        sim.load_scenario(here / "two.yaml")
    (here / "long.yaml").write_text(BASE + f"description: {'d' * 10_001}\n")
    with pytest.raises(ScenarioError, match=r"description: .*at most 10000 characters"):
        sim.load_scenario(here / "long.yaml")


def _raised_in_numbas_cache(exc: Exception) -> None:
    """Raise ``exc`` from a frame whose file is numba's cache module (as numba does)."""
    code = compile("raise exc", "/site-packages/numba/core/caching.py", "exec")
    exec(code, {"exc": exc})


@pytest.mark.parametrize(
    "exc",
    [OSError(errno.EFBIG, "File too large"), pickle.UnpicklingError("pickle data was truncated")],
)
def test_an_unusable_compile_cache_is_one_line_not_a_traceback(
    here: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
    exc: Exception,
) -> None:  # fmt: skip
    """numba writing its cache to a full disk, or reading a damaged cache file: exit 2, one
    line saying what to do, nothing written; any other error is not disguised as one."""
    monkeypatch.setattr("sim.cli.simulate", lambda *a, **k: _raised_in_numbas_cache(exc))
    code, out, err = cli(capsys, "run", "base.yaml", "--runs", "10", "--out", "o")
    assert code == 2 and not out
    line = one_error_line(err)
    assert line.startswith("ceasefire run: error: the engine's compiled-code cache cannot be used")
    assert "NUMBA_CACHE_DIR" in line and not (here / "o").exists()
    other = type(exc)(*exc.args)  # the same error from elsewhere (a fresh traceback)
    monkeypatch.setattr("sim.cli.simulate", lambda *a, **k: (_ for _ in ()).throw(other))
    with pytest.raises(type(exc)):
        cli(capsys, "run", "base.yaml", "--runs", "10", "--out", "o")


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("NUMBA_NUM_THREADS", "ceasefire: error: numba cannot start: "),
        ("NUMBA_DISABLE_JIT", "ceasefire run: error: NUMBA_DISABLE_JIT is set"),
    ],
)
def test_a_numba_environment_the_engines_cannot_use_is_one_line(
    tmp_path: Path, variable: str, expected: str
) -> None:
    (tmp_path / "base.yaml").write_text(BASE)
    value = "0" if variable == "NUMBA_NUM_THREADS" else "1"
    done = subprocess.run(
        command("run", "base.yaml", "--runs", "10", "--out", "o"), cwd=tmp_path,
        capture_output=True, text=True, timeout=HANG, env={**env(), variable: value},
    )  # fmt: skip
    assert done.returncode == 2
    assert one_error_line(done.stderr).startswith(expected)
    assert not (tmp_path / "o").exists()
