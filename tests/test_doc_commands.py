"""Every ``ceasefire`` command quoted in the README, the docs and the scenario files' comments
runs (exit 0), with small numbers of runs and samples, in a temporary folder."""

from __future__ import annotations

import glob
import re
import shlex
from pathlib import Path

import pytest
from conftest import ROOT, Cli

DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "results" / "README.md"]
SCENARIOS = sorted((ROOT / "scenarios").glob("*.yaml"))
PLACEHOLDER = re.compile(r"<|\b(FILE|DIR|INPUT|KEY\.PATH|ADDRESS|NAME)\b|\.\.\.")

# Small sizes: the point is that the command works as written, not its numbers.
SMALL = {
    "run": {"--runs": "200"},
    "compare": {"--runs": "100"},
    "sweep": {"--runs": "50"},
    "sensitivity": {"--runs": "50"},
    "discover": {"--runs": "50", "--samples": "60"},
    "check": {"--runs": "200"},
}
PLOTS = {"run", "compare", "sweep", "sensitivity", "discover", "check"}


SUBCOMMANDS = "validate|run|trace|check|compare|sweep|sensitivity|discover|schema"


def quoted_commands() -> list[tuple[str, str, str]]:
    """``(where, command, shown error)`` for every ``ceasefire ...`` line in a code block of
    the docs or in a comment of a scenario file (each command once). A ``$ command`` line
    followed by output shows an error: that command must fail with that message."""
    found: dict[str, tuple[str, str, str]] = {}
    for path in DOCS:
        text = path.read_text(encoding="utf-8")
        for block in re.findall(r"```[a-z]*\n(.*?)```", text, flags=re.S):
            lines = block.replace("\\\n", " ").splitlines()
            for n, line in enumerate(lines):
                shown = ""
                if (
                    line.startswith("$ ")
                    and n + 1 < len(lines)
                    and not lines[n + 1].startswith("$")
                ):
                    shown = lines[n + 1]
                for command in _commands(line):
                    found.setdefault(command, (f"{path.relative_to(ROOT)}", command, shown))
    for path in SCENARIOS:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith("#"):
                for command in _commands(line.lstrip("# ")):
                    found.setdefault(command, (f"{path.relative_to(ROOT)}:{n}", command, ""))
    return list(found.values())


def _commands(line: str) -> list[str]:
    line = line.strip().removeprefix("$ ")
    match = re.search(rf"(?:^|&& |: +)(ceasefire (?:{SUBCOMMANDS})\b.*)$", line)
    if not match:
        return []
    command = " ".join(re.split(r"\s+#|\s+\(", match.group(1))[0].split())
    return [] if PLACEHOLDER.search(command) else [command]


def argv_of(command: str) -> list[str]:
    words = shlex.split(command.split(" > ")[0])[1:]
    args: list[str] = []
    for word in words:
        if "*" in word:
            args += sorted(glob.glob(str(ROOT / word)))
        elif (ROOT / word).exists() and not word.startswith("-"):
            args.append(str(ROOT / word))
        else:
            args.append(word)
    sub = args[0]
    for option, value in SMALL.get(sub, {}).items():
        if option in args:
            args[args.index(option) + 1] = value
        else:
            args += [option, value]
    if sub == "sensitivity":
        morris = "morris" in args
        size = "4" if morris else "8"
        if "--samples" in args:
            args[args.index("--samples") + 1] = size
        else:
            args += ["--samples", size]
    if "--workers" in args:
        args[args.index("--workers") + 1] = "1"
    if sub in PLOTS:
        args.append("--no-plots")
    if sub != "schema" and sub != "validate" and "--quiet" not in args and sub != "trace":
        args.append("--quiet")
    return args


COMMANDS = quoted_commands()


def test_the_docs_quote_commands() -> None:
    subcommands = {command.split()[1] for _, command, _ in COMMANDS}
    assert set(SUBCOMMANDS.split("|")) <= subcommands


@pytest.mark.parametrize(
    ("where", "command", "shown"), COMMANDS, ids=[f"{w}: {c}" for w, c, _ in COMMANDS]
)
def test_quoted_command_runs(here: Path, cli: Cli, where: str, command: str, shown: str) -> None:
    code, _out, err = cli(*argv_of(command))
    if not shown:
        assert code == 0, f"{where}: {command}\n{err}"
        return
    assert code == 2, f"{where}: {command} should fail as shown"
    # the message, and the file's name, line and column where the docs show them (the
    # test runs with absolute paths)
    located = re.match(r"^(?:\S*/)?(\S+:\d+:\d+: .*)$", shown)
    message = located.group(1) if located else shown
    assert message in err, f"{where}: {command}\nshown: {shown}\ngot: {err}"
