"""report.html: self-contained (figures embedded, nothing fetched), escaped, complete
(assumptions with their basis, sources, outcomes, reproduction), and it renders in a real
headless browser (Debian's chromium; skipped only where none is installed)."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.image import imread

import sim
from sim import plots
from sim.cli import main
from sim.report import assumptions, report_html, yaml_comment

ROOT = Path(__file__).resolve().parent.parent
FLAGSHIP = ROOT / "scenarios" / "geneva_2016.yaml"

NASTY = {
    "name": "nasty",
    "title": "<script>alert('title')</script> & \"quotes\"",
    "description": "A <b>bold</b> claim & <img src=x onerror=alert(1)>",
    "sources": [
        {"label": "<i>label</i>", "url": "javascript:alert(1)"},
        {"label": "fine & dandy", "url": "https://example.org/?a=1&b=<2>"},
    ],
    "window_days": 2,
    "parties": {
        "a": {"label": "</td><td>evil", "side": "x", "violation_prob": 0.3, "tolerance": 4},
        "b": {"side": "y", "violation_prob": 0.3},
    },
    "trigger": {"label": "<u>step</u>"},
}


def run_folder(tmp_path: Path, capsys, *argv: str) -> Path:
    out = tmp_path / "result"
    assert main(["run", *argv, "--out", str(out), "--quiet"]) == 0
    capsys.readouterr()
    return out


@pytest.fixture(scope="module")
def flagship_folder(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("report") / "flagship"
    code = main(
        [
            "run",
            str(FLAGSHIP),
            "--runs",
            "400",
            "--seed",
            "3",
            "--set",
            "humanitarian.success_prob=0.5",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    return out


def test_report_is_written_with_plots_only(tmp_path: Path, capsys) -> None:
    folder = run_folder(tmp_path, capsys, str(FLAGSHIP), "--runs", "50", "--no-plots")
    assert not (folder / "report.html").exists()
    assert not (folder / "figures").exists()


def test_report_embeds_every_figure(flagship_folder: Path) -> None:
    page = (flagship_folder / "report.html").read_text(encoding="utf-8")
    embedded = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    files = sorted((flagship_folder / "figures").glob("*.png"))
    assert len(embedded) == len(files) == len(plots.FIGURES)
    assert sorted(base64.b64decode(e) for e in embedded) == sorted(f.read_bytes() for f in files)


def test_report_needs_no_network(flagship_folder: Path) -> None:
    page = (flagship_folder / "report.html").read_text(encoding="utf-8").lower()
    assert "<script" not in page and "<link" not in page and "<iframe" not in page
    assert "@import" not in page and "url(" not in page
    for src in re.findall(r'src="([^"]*)"', page):
        assert src.startswith("data:image/png;base64,")


def test_report_content(flagship_folder: Path) -> None:
    page = (flagship_folder / "report.html").read_text(encoding="utf-8")
    text = html.unescape(page)
    scenario = sim.load_scenario(flagship_folder / "scenario.yaml")
    summary = json.loads((flagship_folder / "summary.json").read_text(encoding="utf-8"))
    manifest = json.loads((flagship_folder / "manifest.json").read_text(encoding="utf-8"))
    assert f"<title>{html.escape(scenario.title)}" in page
    assert " ".join(scenario.description.split()) in " ".join(text.split())
    # outcome table: every code with its count and probability
    for code in sim.OUTCOMES:
        o = summary["outcomes"][code]
        assert re.search(
            rf"<code>{code}</code>.*?{o['count']:,}.*?{o['p']:.1%}.*?{o['ci95'][0]:.1%}", page
        )
    # every source, as a link
    for src in scenario.sources:
        assert f'<a href="{html.escape(src.url)}">{html.escape(src.label)}</a>' in page
    # the runs and seed used, not the scenario's defaults
    assert re.search(r"<code>monte_carlo.runs</code></td><td>400</td><td[^>]*>command line", page)
    assert re.search(r"<code>monte_carlo.seed</code></td><td>3</td><td[^>]*>command line", page)
    # the reproduction command and the original command line
    assert html.escape(manifest["reproduce"]) in page
    assert "--set humanitarian.success_prob=0.5" in text


def test_assumptions_cover_every_parameter_with_its_basis() -> None:
    scenario = sim.load_scenario(FLAGSHIP).with_overrides({"humanitarian.success_prob": 0.5})
    rows = {path: (value, where, note) for path, value, where, note in assumptions(scenario)}
    data = scenario.model_dump(mode="json")
    for key in ("window_days", "start", "rules.major_weight", "trigger.max_strain"):
        assert key in rows
    for name, party in data["parties"].items():
        if isinstance(party["violation_prob"], list):
            for day in range(len(party["violation_prob"])):
                assert f"parties.{name}.violation_prob.{day}" in rows
        else:
            assert f"parties.{name}.violation_prob" in rows
        for key in ("major_share", "tolerance", "retaliation.boost", "retaliation.half_life_hours"):
            assert f"parties.{name}.{key}" in rows
    for name in data["spoilers"]:
        assert f"spoilers.{name}.blame_prob" in rows
    for name in data["guarantors"]:
        assert f"guarantors.{name}.pressure" in rows
    # the basis is the comment written beside the key in the file
    value, where, note = rows["parties.government.tolerance"]
    assert value == "8" and where.startswith("geneva_2016.yaml:")
    line = FLAGSHIP.read_text(encoding="utf-8").splitlines()[int(where.split(":")[1]) - 1]
    assert line.strip().startswith("tolerance: 8")
    assert note.startswith("judgement: army walked away on day 7")
    assert rows["parties.government.violation_prob.3"][2].startswith("day 3 (16 Sep): src: sohr-d4")
    assert rows["start"][2].startswith("src: sana")
    # overrides and defaults say so
    assert rows["humanitarian.success_prob"][:2] == ("0.5", "--set")
    # ... with what the file says, where, and its note
    line = next(
        i for i, text in enumerate(FLAGSHIP.read_text(encoding="utf-8").splitlines(), 1)
        if text.strip().startswith("success_prob: 0.6")
    )  # fmt: skip
    assert rows["humanitarian.success_prob"][2].startswith(
        f"the file says 0.6 (geneva_2016.yaml:{line}): judgement: a permitted convoy"
    )
    assert rows["monte_carlo.max_events"][1] == "default"
    # an extending file's own values point at it
    variant = sim.load_scenario(ROOT / "scenarios" / "geneva_2016_separated.yaml")
    rows = {p: (v, w, n) for p, v, w, n in assumptions(variant)}
    assert rows["spoilers.nusra.blame_prob"][0] == "0.1"
    assert rows["spoilers.nusra.blame_prob"][1].startswith("geneva_2016_separated.yaml:")
    assert rows["spoilers.nusra.blame_prob"][2].startswith("what if: was 0.5")


@pytest.mark.parametrize("name", ["geneva_2016", "geneva_2016_phases", "gaza_2025"])
def test_entries_are_opened_key_by_key_and_never_taken_for_overrides(name: str) -> None:
    """Phases and observed points are lists of entries the file leaves partly to defaults:
    each key gets its own row with its file and line, and none is said to come from --set
    when nothing was set."""
    scenario = sim.load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    rows = {p: (v, w) for p, v, w, _ in assumptions(scenario)}
    assert not [p for p, (_, w) in rows.items() if w == "--set"]
    assert not [p for p, (v, _) in rows.items() if "{" in v]  # no raw mapping shown
    if scenario.phases:
        first = scenario.phases[0]
        assert rows["phases.0.name"][0] == first.name
        assert rows["phases.0.days"] == (str(first.days), rows["phases.0.days"][1])
        assert rows["phases.0.days"][1].startswith(f"{name}.yaml:")
    for obs, spec in (scenario.observations or {}).items():
        assert re.fullmatch(
            r"geneva_2016(_phases)?\.yaml:\d+", rows[f"observations.{obs}.data.0.count"][1]
        )
        assert float(rows[f"observations.{obs}.data.0.count"][0]) == spec.data[0].count


@pytest.mark.parametrize(
    ("line", "comment"),
    [
        ("a: 1   # src: x", "src: x"),
        ('a: "x # not a comment"  # but this', "but this"),
        ("a: 'it''s # no'", None),
        ('a: "esc \\" # no"', None),
        ("url: http://x/#frag", None),
        ("# whole line", "whole line"),
    ],
)
def test_yaml_comment(line: str, comment: str | None) -> None:
    assert yaml_comment(line) == comment


def test_report_escapes_all_text(tmp_path: Path) -> None:
    scenario = sim.scenario_from_dict(NASTY)
    results = sim.simulate(scenario, runs=30, seed=1, progress=False)
    manifest = results.manifest(["ceasefire", "run", "<x>.yaml"])
    page = report_html(results, {"outcomes": b"\x89PNG fake"}, manifest)
    for raw in ("<script>", "<b>", "<img src=x", "<i>label</i>", "</td><td>evil", "<u>", "<x>"):
        assert raw not in page
    assert "&lt;script&gt;alert(&#x27;title&#x27;)&lt;/script&gt; &amp; &quot;quotes&quot;" in page
    assert 'href="javascript' not in page  # only http(s) sources become links
    assert '<a href="https://example.org/?a=1&amp;b=&lt;2&gt;">fine &amp; dandy</a>' in page


def _chromium() -> str | None:
    return shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )


@pytest.mark.skipif(_chromium() is None, reason="no chromium installed (apt-get install chromium)")
def test_report_renders_in_headless_chromium(tmp_path: Path, capsys) -> None:
    folder = run_folder(
        tmp_path,
        capsys,
        str(ROOT / "scenarios" / "geneva_2016_aid_day_one.yaml"),
        "--runs",
        "300",
        "--seed",
        "1",
    )
    shot = tmp_path / "shot.png"
    proc = subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1200,3000",
            (folder / "report.html").resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    pixels = imread(shot)[:, :, :3]
    assert pixels.shape[:2] == (3000, 1200)
    colours = np.unique((pixels * 255).round().astype(np.uint8).reshape(-1, 3), axis=0)
    assert len(colours) > 100  # text, tables and figures, not a blank page
    # the embedded figures were decoded and drawn: the outcome figure's green bar is there
    green = np.array([0x00, 0x9E, 0x73]) / 255
    near = np.abs(pixels - green).max(axis=2) < 12 / 255
    assert near.sum() > 2000
    # and the page is mostly the white background with dark text on it
    white = (pixels > 0.97).all(axis=2).mean()
    dark = (pixels < 0.3).all(axis=2).mean()
    assert 0.4 < white < 0.99 and dark > 0.002
