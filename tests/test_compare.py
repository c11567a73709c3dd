"""`ceasefire compare`: common random numbers, the table equals each scenario's own run, the
two-proportion test, result folders as inputs, files written once, one-line errors."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from conftest import Cli
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from scipy import stats

import sim
from sim import plots
from sim.compare import compare, normal_sf, paired_test, two_proportion_test

ROOT = Path(__file__).resolve().parent.parent
FLAGSHIP = ROOT / "scenarios" / "geneva_2016.yaml"
AID = ROOT / "scenarios" / "geneva_2016_aid_day_one.yaml"
VARIANTS = sorted((ROOT / "scenarios").glob("geneva_2016_*.yaml"))
RUNS, SEED = 300, 4


# --------------------------------------------------------------------------- statistics


@pytest.mark.parametrize("z", [0.0, 0.5, 1.0, 1.959963984540054, 3.0, 6.0, -1.3])
def test_normal_tail_matches_scipy(z: float) -> None:
    assert normal_sf(z) == pytest.approx(stats.norm.sf(z), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize(
    ("k1", "n1", "k2", "n2"), [(88, 1000, 120, 1000), (5, 300, 0, 300), (40, 200, 90, 500)]
)
def test_two_proportion_test_matches_the_textbook(k1, n1, k2, n2) -> None:
    diff, z, p = two_proportion_test(k1, n1, k2, n2)
    pooled = (k1 + k2) / (n1 + n2)
    z_ref = (k2 / n2 - k1 / n1) / math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert diff == pytest.approx(k2 / n2 - k1 / n1)
    assert z == pytest.approx(z_ref)
    assert p == pytest.approx(2 * stats.norm.sf(abs(z_ref)), rel=1e-9)
    # the same as scipy's chi-square test of the 2x2 table without continuity correction
    table = np.array([[k1, n1 - k1], [k2, n2 - k2]])
    assert p == pytest.approx(stats.chi2_contingency(table, correction=False)[1], rel=1e-9)


def test_two_proportion_test_without_variation_is_no_evidence() -> None:
    assert two_proportion_test(0, 100, 0, 50) == (0.0, 0.0, 1.0)
    assert two_proportion_test(30, 30, 10, 10) == (0.0, 0.0, 1.0)


# --------------------------------------------------------------------------- the comparison


@pytest.fixture(scope="module")
def variants() -> sim.compare.Comparison:
    return compare([FLAGSHIP, *VARIANTS], RUNS, SEED, progress=False)


def test_table_equals_each_scenarios_own_run(variants) -> None:
    assert variants.entries[0].label == "geneva_2016"
    assert len(variants.entries) == 1 + len(VARIANTS) >= 6
    first = None
    for entry, row in zip(variants.entries, variants.table(), strict=True):
        own_results = sim.simulate(sim.load_scenario(entry.source), RUNS, SEED, progress=False)
        own = own_results.summary()
        triggered = own_results.columns.outcome == 0
        assert entry.summary["outcomes"] == own["outcomes"]
        assert entry.summary["survival"] == own["survival"]
        assert row["p_triggered"] == own["outcomes"]["triggered"]["p"]
        assert [row["ci95_lo"], row["ci95_hi"]] == own["outcomes"]["triggered"]["ci95"]
        for code in sim.OUTCOMES[1:]:
            assert row[f"p_{code}"] == own["outcomes"][code]["p"]
        if first is None:
            first = triggered
            assert row["diff_vs_first"] == 0 and row["p_value"] is None
        else:
            # common random numbers pair run i of every file: McNemar on the changed runs
            diff, _, p = paired_test(first, triggered)
            assert row["test"] == "paired"
            assert row["diff_vs_first"] == pytest.approx(diff)
            assert row["p_value"] == pytest.approx(p)
        assert (row["runs"], row["seed"]) == (RUNS, SEED)


def test_common_random_numbers_a_file_against_itself(here: Path) -> None:
    c = compare([FLAGSHIP, FLAGSHIP], 200, 9, progress=False)
    _, b = c.table()
    assert [e.label for e in c.entries] == ["geneva_2016", "geneva_2016 #2"]
    assert b["diff_vs_first"] == 0 and b["z"] == 0 and b["p_value"] == 1
    assert c.entries[0].summary == c.entries[1].summary
    # identical bars in every outcome panel, identical curves
    fig = plots.compare_outcome_figure(c)
    for code in sim.OUTCOMES:
        bars = [r for r in fig.findobj(Rectangle) if r.get_gid() == f"compare:{code}"]
        heights = [r.get_height() for r in bars]
        widths = [r.get_width() for r in bars]
        assert len(widths) == 2 and widths[0] == widths[1] and heights[0] == heights[1]
    fig = plots.compare_survival_figure(c)
    lines = [ln for ln in fig.findobj(Line2D) if (ln.get_gid() or "").startswith("survival:")]
    assert len(lines) == 2
    assert list(lines[0].get_ydata()) == list(lines[1].get_ydata())
    # the second curve hides under the first: the legend says so, and only of that one
    labels = [line.get_label() for line in lines]
    assert "the same curve as geneva_2016)" in labels[1]
    assert "the same curve" not in labels[0]


def test_compare_figures_plot_the_summaries(variants) -> None:
    fig = plots.compare_outcome_figure(variants)
    for code in sim.OUTCOMES:
        bars = [r for r in fig.findobj(Rectangle) if r.get_gid() == f"compare:{code}"]
        bars.sort(key=lambda r: -r.get_y())  # the first scenario at the top
        assert [b.get_width() for b in bars] == pytest.approx(
            [e.summary["outcomes"][code]["p"] for e in variants.entries]
        )
    ax = fig.axes[0]
    (bars,) = [c for c in ax.containers if hasattr(c, "errorbar") and c.errorbar]
    segs = bars.errorbar.lines[2][0].get_segments()
    for seg, e in zip(segs, variants.entries, strict=True):
        assert sorted(seg[:, 0]) == pytest.approx(e.summary["outcomes"]["triggered"]["ci95"])
    fig = plots.compare_survival_figure(variants)
    for e in variants.entries:
        (line,) = [ln for ln in fig.findobj(Line2D) if ln.get_gid() == f"survival:{e.label}"]
        assert list(line.get_ydata()) == pytest.approx([s for _, s in e.summary["survival"]])
        earlier = [f.summary["survival"] for f in variants.entries[: variants.entries.index(e)]]
        # aid from day one changes no collapse: its curve lies under the flagship's, and says so
        assert ("the same curve" in line.get_label()) == (e.summary["survival"] in earlier)
    assert any("the same curve" in ln.get_label() for ln in fig.findobj(Line2D))


# --------------------------------------------------------------------------- command line


def test_cli_compare_writes_the_table_and_figures(here: Path, cli: Cli) -> None:
    code, out, err = cli("compare", FLAGSHIP, AID, "--runs", RUNS, "--seed", SEED, "--quiet")
    assert code == 0, err
    (folder,) = (here / "results" / "compare").iterdir()
    assert sorted(p.name for p in folder.iterdir()) == [
        "comparison.csv",
        "comparison.json",
        "figures",
    ]
    figures = sorted(p.name for p in (folder / "figures").iterdir())
    assert figures == ["outcomes.png", "survival.png"]
    data = json.loads((folder / "comparison.json").read_text(encoding="utf-8"))
    assert (data["runs"], data["seed"], data["engine"]) == (RUNS, SEED, "simpy")
    assert data["common_random_numbers"] is True
    assert data["command"][:2] == ["ceasefire", "compare"]
    rows = list(csv.DictReader((folder / "comparison.csv").open(encoding="utf-8")))
    assert [r["label"] for r in rows] == ["geneva_2016", "geneva_2016_aid_day_one"]
    for row, jrow, path in zip(rows, data["table"], (FLAGSHIP, AID), strict=True):
        own = sim.simulate(sim.load_scenario(path), RUNS, SEED, progress=False).summary()
        assert float(row["p_triggered"]) == own["outcomes"]["triggered"]["p"]
        assert jrow["p_triggered"] == own["outcomes"]["triggered"]["p"]
        assert f"{own['outcomes']['triggered']['p']:.1%}" in out
    assert rows[0]["p_value"] == "" and float(rows[1]["p_value"]) < 0.05
    assert "geneva_2016_aid_day_one" in out and "pp" in out and "wrote results/compare/" in out
    # a second comparison goes to a new folder
    assert cli("compare", FLAGSHIP, AID, "--runs", 50, "--quiet", "--no-plots")[0] == 0
    folders = sorted((here / "results" / "compare").iterdir())
    assert len(folders) == 2
    # names made in the same second differ by a random suffix: find the new one by exclusion
    (second,) = [f for f in folders if f != folder]
    assert not (second / "figures").exists()


def test_cli_compare_result_folders_and_files(here: Path, cli: Cli) -> None:
    args = ("--runs", RUNS, "--seed", SEED, "--quiet")
    assert cli("run", FLAGSHIP, "--out", "base", "--no-plots", *args)[0] == 0
    code, _, err = cli("compare", "base", FLAGSHIP, "--out", "cmp", "--no-plots", *args)
    assert code == 0, err
    data = json.loads((here / "cmp" / "comparison.json").read_text(encoding="utf-8"))
    first, second = data["table"]
    assert (first["kind"], second["kind"]) == ("folder", "scenario")
    # the folder holds the same runs as the file simulated with the same seed: no difference
    assert first["p_triggered"] == second["p_triggered"]
    assert second["diff_vs_first"] == 0 and second["p_value"] == 1
    saved = json.loads((here / "base" / "summary.json").read_text(encoding="utf-8"))
    assert data["scenarios"][0]["summary"] == saved


def test_a_folder_made_like_the_files_is_paired_run_by_run(here: Path, cli: Cli) -> None:
    """A result folder made by this version with the same runs, seed and engine shares the
    files' random numbers: it is paired (the same p-value as two files); made with another
    seed, it is an independent sample (unpaired z-test)."""
    variant = str(Path(FLAGSHIP).with_name("geneva_2016_no_incident.yaml"))
    args = ("--runs", RUNS, "--seed", SEED, "--quiet", "--no-plots")
    assert cli("run", variant, "--out", "same", *args)[0] == 0
    other = ("--runs", RUNS, "--seed", "12345", "--quiet", "--no-plots")
    assert cli("run", variant, "--out", "other", *other)[0] == 0
    tables = {}
    for name, second in (("files", variant), ("same", "same"), ("other", "other")):
        code, _, err = cli("compare", FLAGSHIP, second, "--out", f"cmp_{name}", *args)
        assert code == 0, err
        data = json.loads((here / f"cmp_{name}" / "comparison.json").read_text())
        tables[name] = data["table"][1]
        assert data["common_random_numbers"] == (name != "other")
    assert tables["same"]["test"] == tables["files"]["test"] == "paired"
    assert tables["same"]["p_value"] == tables["files"]["p_value"]
    assert tables["other"]["test"] == "unpaired"


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ([FLAGSHIP], "at least two"),
        ([FLAGSHIP, "missing.yaml"], "missing.yaml: no such scenario file or result folder"),
        ([FLAGSHIP, "bad.yaml"], "bad.yaml:3:"),
        ([FLAGSHIP, "empty_dir"], "not a result folder"),
    ],
)
def test_cli_compare_errors_write_nothing(here: Path, cli: Cli, inputs, message) -> None:
    (here / "bad.yaml").write_text(
        "name: bad\ntitle: Bad\nwindow_days: -1\nparties: {}\n", encoding="utf-8"
    )
    (here / "empty_dir").mkdir()
    before = sorted(p.name for p in here.rglob("*"))
    code, out, err = cli("compare", *inputs, "--runs", 20)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert out == ""
    assert sorted(p.name for p in here.rglob("*")) == before


def test_cli_compare_never_overwrites(here: Path, cli: Cli) -> None:
    (here / "out").mkdir()
    code, _, err = cli("compare", FLAGSHIP, AID, "--runs", 20, "--out", "out")
    assert code == 2 and "already exists" in err
    assert list((here / "out").iterdir()) == []


def test_paired_test_counts_only_the_runs_that_changed() -> None:
    first = np.array([1, 1, 0, 0, 1], dtype=bool)
    other = np.array([1, 0, 1, 1, 1], dtype=bool)
    diff, z, p = paired_test(first, other)
    assert diff == pytest.approx((2 - 1) / 5)
    assert z == pytest.approx(1 / math.sqrt(3))
    assert p == pytest.approx(1.0)  # exact: 2 · P(Binomial(3, 1/2) ≤ 1) = 2 · 4/8
    assert paired_test(first, first) == (0.0, 0.0, 1.0)
    many_first = np.repeat(first, 10)  # 30 discordant pairs: the normal approximation
    _, z, p = paired_test(many_first, np.repeat(other, 10))
    assert p == pytest.approx(2 * normal_sf(10 / math.sqrt(30)))


def test_compare_results_in_memory_pairs_runs_like_files() -> None:
    flagship = sim.load_scenario(ROOT / "scenarios" / "geneva_2016.yaml")
    variant = flagship.with_overrides({"guarantors.usa.incident_prob": 0.0})
    a = sim.simulate(flagship, 3_000, 5, progress=False)
    b = sim.simulate(variant, 3_000, 5, progress=False)
    table = sim.compare.compare_results([a, b], ["base", "no incident"]).table()
    assert [row["label"] for row in table] == ["base", "no incident"]
    expected = paired_test(a.columns.outcome == 0, b.columns.outcome == 0)
    assert (table[1]["diff_vs_first"], table[1]["p_value"]) == pytest.approx(
        (expected[0], expected[2])
    )
    assert table[1]["test"] == "paired"
    c = sim.simulate(variant, 3_000, 6, progress=False)  # another seed: not paired
    assert sim.compare.compare_results([a, c]).table()[1]["test"] == "unpaired"
    with pytest.raises(sim.UsageError):
        sim.compare.compare_results([a])


def test_few_discordant_pairs_use_the_exact_binomial_mcnemar() -> None:
    """With b = 1 lost and c = 6 gained (7 < 25 discordant pairs) the p-value is the exact
    two-sided binomial one: 2 · P(X ≤ 1), X ~ Binomial(7, 1/2) = 2 · 8/128 = 0.125."""
    from sim.compare import paired_test

    first = np.array([1] * 1 + [0] * 6 + [1] * 50 + [0] * 43, bool)
    other = np.array([0] * 1 + [1] * 6 + [1] * 50 + [0] * 43, bool)
    diff, _, p = paired_test(first, other)
    assert diff == pytest.approx(5 / 100)
    assert p == pytest.approx(0.125)
    many = np.array([1] * 10 + [0] * 40, bool)
    _, z, p_normal = paired_test(many, ~many)  # 50 discordant: normal approximation
    assert z == pytest.approx(30 / np.sqrt(50))
    assert p_normal < 1e-4


# --------------------------------------------------------------------------- labels and scales


def test_labels_say_what_differs() -> None:
    from sim.compare import labels_by_difference

    def facets(name: str, engine: str = "simpy", seed: int = 1, **overrides: object) -> dict:
        return {"name": name, "overrides": overrides, "engine": engine, "seed": seed, "runs": 10}

    got = labels_by_difference(
        [
            facets("geneva_2016"),
            facets("geneva_2016", **{"humanitarian.success_prob": 0.6}),
            facets("geneva_2016", engine="fast", seed=7),
            facets("other"),
            facets("other"),
        ]
    )
    assert got == [
        "geneva_2016",
        "geneva_2016 (humanitarian.success_prob=0.6)",
        "geneva_2016 (engine fast, seed 7)",
        "other",
        "other #2",
    ]
    # a folder made with --set keeps its change beside another scenario, not only beside its
    # own file; a change every input shares distinguishes none
    changed = {"humanitarian.permission_prob": 1.0}
    assert labels_by_difference([facets("geneva_2016", **changed), facets("variant")]) == [
        "geneva_2016 (humanitarian.permission_prob=1)",
        "variant",
    ]
    assert labels_by_difference([facets("a", **changed), facets("b", **changed)]) == ["a", "b"]


def test_mixed_inputs_state_each_inputs_runs_seed_and_engine(here: Path, cli: Cli) -> None:
    args = ("--runs", "200", "--seed", "3", "--no-plots", "--quiet")
    assert cli("run", FLAGSHIP, *args, "--out", "plain")[0] == 0
    code, _, err = cli(
        "run", FLAGSHIP, *args, "--out", "aid", "--set", "humanitarian.success_prob=0.6"
    )
    assert code == 0, err
    code, _, err = cli("run", FLAGSHIP, "--runs", "400", "--seed", "9", "--engine", "fast",
                       "--no-plots", "--quiet", "--out", "fast")  # fmt: skip
    assert code == 0, err
    code, out, err = cli("compare", "plain", "aid", "fast", AID, "--runs", "100", "--seed", "1",
                         "--no-plots", "--quiet", "--out", "cmp")  # fmt: skip
    assert code == 0, err
    head = out.split("P(triggered)")[0]
    assert "geneva_2016 (humanitarian.success_prob=0.6)" in head
    assert "geneva_2016 (engine fast, seed 9, 400 runs)" in head
    assert "#2" not in out
    assert "result folder fast: 400 runs, seed 9, engine fast" in head
    assert "result folder plain: 200 runs, seed 3, engine simpy" in head
    assert f"scenario file {AID}: 100 runs, seed 1, engine simpy" in head
    assert "common random numbers" not in out  # only one scenario file ran here


def test_outcome_panels_share_one_scale_within_100_percent(variants) -> None:
    fig = plots.compare_outcome_figure(variants)
    limits = {ax.get_xlim() for ax in fig.axes}
    assert len(limits) == 1
    ((lo, hi),) = limits
    assert lo == 0 and hi <= 1.0
    for ax in fig.axes:  # every value label sits on a white box over the reference line
        for text in ax.texts:
            if text.get_gid() and text.get_gid().startswith("value:"):
                assert text.get_zorder() > 1
                assert text.get_bbox_patch() is None or text.get_bbox_patch().get_facecolor()[
                    :3
                ] == (1, 1, 1)


def test_panels_only_for_outcomes_some_scenario_can_produce() -> None:
    data = {
        "name": "plain",
        "title": "No aid",
        "parties": {
            "gov": {"side": "a", "violation_prob": 0.3, "tolerance": 2},
            "reb": {"side": "b", "violation_prob": 0.2},
        },
    }
    one = sim.scenario_from_dict(data)
    two = one.with_overrides({"parties.reb.violation_prob": 0.4})
    comparison = sim.compare.compare_results(
        [sim.simulate(s, runs=100, seed=1, progress=False) for s in (one, two)]
    )
    fig = plots.compare_outcome_figure(comparison)
    titles = [" ".join(ax.get_title().split()) for ax in fig.axes]
    assert titles == ["went ahead: the next step", "cancelled: ceasefire collapsed"]
    assert comparison.entries[1].label == "plain (parties.reb.violation_prob=0.4)"


def test_scenarios_with_different_next_steps_are_not_labelled_as_one() -> None:
    """P(triggered) of scenarios whose triggers differ is each one's own next step: the table
    lists each label instead of heading every row with the first's."""
    root = Path(__file__).parents[1] / "scenarios"
    files = [root / "geneva_2016.yaml", root / "geneva_2016_phases.yaml"]
    text = compare(files, runs=300, seed=1, engine="fast", progress=False).text()
    labels = [sim.load_scenario(f).trigger.label for f in files]
    assert labels[0] != labels[1]
    assert "each scenario's own next step — they differ" in text
    assert all(label in text for label in labels)
    same = compare([files[0], files[0]], runs=300, seed=1, engine="fast", progress=False)
    assert f"P(triggered): {labels[0]}" in same.text()


def test_phase_intervals_are_printed_as_run_prints_them():
    """The phase table's intervals have one decimal, as `run` and the phase summary give
    them (they were whole percents rounded outwards beside one-decimal shares)."""
    path = Path(__file__).parents[1] / "scenarios" / "geneva_2016_phases.yaml"
    comparison = compare([path, path], runs=2_000, seed=1, engine="fast", progress=False)
    text = "\n".join(comparison.phase_text())
    for v in comparison.entries[0].phases.values():
        for what in ("reached", "passed"):
            lo, hi = v[what]["ci95"]
            assert f"[{lo:.1%}, {hi:.1%}]" in text


def test_files_take_a_folders_runs_seed_and_engine_so_they_pair(here: Path, cli: Cli) -> None:
    """Compared with a result folder and given no --runs, --seed or --engine, scenario files
    run like the folder was made, and pair with it run by run; told otherwise, the output
    says why the folder is not paired and what would pair it; a folder saved without its
    runs says so; a folder made with --integrate is labelled so."""
    variant = str(Path(FLAGSHIP).with_name("geneva_2016_no_incident.yaml"))
    made = ("--runs", "300", "--seed", "5", "--engine", "fast", "--quiet", "--no-plots")
    assert cli("run", FLAGSHIP, "--out", "base", *made)[0] == 0
    code, out, err = cli("compare", "base", variant, "--out", "c1", "--quiet", "--no-plots")
    assert code == 0, err
    data = json.loads((here / "c1" / "comparison.json").read_text())
    assert data["table"][1]["test"] == "paired" and data["common_random_numbers"]
    assert f"scenario file {variant}: 300 runs, seed 5, engine fast" in out
    code, out, _ = cli("compare", "base", variant, "--runs", "200", "--out", "c2", "--quiet",
                       "--no-plots")  # fmt: skip
    assert code == 0 and "p-value (inputs not paired run by run)" in out
    assert ("geneva_2016: not paired — made with 300 runs, seed 5, engine fast; give --runs "
            "300 --seed 5 --engine fast to pair it with the files") in out  # fmt: skip
    assert cli("run", FLAGSHIP, "--out", "bare", "--summary-only", *made)[0] == 0
    code, out, _ = cli("compare", "bare", variant, "--out", "c3", "--quiet", "--no-plots")
    assert "not paired — it has no runs.csv (saved with --summary-only)" in out


def test_inputs_with_no_stream_in_common_are_not_claimed_paired(here: Path, cli: Cli) -> None:
    other = ROOT / "tests" / "data" / "testland.yaml"  # none of the flagship's actor names
    code, out, err = cli("compare", FLAGSHIP, other, "--runs", "200", "--out", "c", "--quiet",
                         "--no-plots")  # fmt: skip
    assert code == 0, err
    data = json.loads((here / "c" / "comparison.json").read_text())
    assert data["table"][1]["test"] == "unpaired" and not data["common_random_numbers"]
    assert "testland: not paired — it shares no party, spoiler or guarantor name" in out
    assert "common random numbers" not in out.split("P(triggered)")[0]


def test_a_folder_made_with_integrate_is_labelled_so() -> None:
    from sim.compare import labels_by_difference

    base = {"name": "u", "overrides": {}, "engine": "fast", "seed": 1, "runs": 10}
    labels = labels_by_difference([{**base, "integrate": True}, {**base, "integrate": False}])
    assert labels == ["u (--integrate)", "u"]


def test_a_long_label_keeps_its_end_in_the_figures() -> None:
    """What differs is at a label's end (``…permission_prob=1)``): it is cut in the middle."""
    from sim.plots.compare import _clip

    label = "geneva_2016 (humanitarian.permission_prob=1, guarantors.russia.pressure=0.6)"
    clipped = _clip(label, 40)
    assert len(clipped) == 40 and clipped.endswith("pressure=0.6)") and "…" in clipped
    assert clipped.startswith("geneva_2016 (")
    assert _clip("short", 40) == "short"
