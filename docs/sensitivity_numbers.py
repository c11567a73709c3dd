"""Regenerate every number and figure quoted in docs/sensitivity.md.

python docs/sensitivity_numbers.py [PART ...] [--workers 2] [--figures]

PART is any of integrate, sobol, morris, discover, scaling, advice, inert (default: all). The
first four run the commands the page shows (their output is printed as the command prints it);
the last three are the noise-floor measurements. --figures copies the figures of the Sobol' and
discover runs into docs/figures/. The simulated numbers depend on the engine's random streams:
re-run this script whenever they change.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

import sim
from sim import sensitivity
from sim.cli import main as ceasefire
from sim.observations import engine_scenario

DOCS = Path(__file__).resolve().parent
SCENARIO = DOCS.parent / "scenarios" / "uncertain_geneva_2016.yaml"
# The parts below call the API directly; like the command line, they leave out the uncertain
# observation keys (engine_scenario), which cannot change a run.
FILE = "scenarios/uncertain_geneva_2016.yaml"
SEED = 20160912
SCALING_RUNS = (250, 500, 1_000, 2_000, 4_000)
SCALING_SAMPLES = 256
INERT = "spoilers.isis.attack_prob"


def command(argv: list[str], out: Path, figures: dict[str, str] | None = None) -> None:
    """Run ``ceasefire ARGV --out OUT`` and print what it prints (and copy figures)."""
    print(f"$ ceasefire {' '.join(argv)}")
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        code = ceasefire([*argv, "--out", str(out), "--quiet"])
    print(text.getvalue().split("\nwrote ")[0].rstrip() + "\n")
    assert code == 0, code
    for name, target in (figures or {}).items():
        # a 256-colour palette keeps the repository small (the figures have few colours)
        Image.open(out / "figures" / name).convert("RGB").quantize(256).save(
            DOCS / "figures" / target, optimize=True
        )
        print(f"(copied {name} to docs/figures/{target})\n")


def scaling(workers: int) -> None:
    """The floor at several runs per point (same design), and the fitted power law."""
    scenario = engine_scenario(sim.load_scenario(SCENARIO))
    print(
        f"noise floor against runs per point: Sobol', {SCALING_SAMPLES} base samples, "
        f"seed {SEED}, engine fast\n"
    )
    rows = []
    for runs in SCALING_RUNS:
        sens = sensitivity.analyse(
            scenario, "sobol", SCALING_SAMPLES, runs=runs, seed=SEED, workers=workers,
            progress=False, tornado_runs=1,
        )  # fmt: skip
        row = [runs]
        for out in sensitivity.OUTPUTS:
            dummy, floor = sens.dummy[out], sens.floor(out)
            assert dummy is not None and floor is not None
            row += [dummy["ST"], floor["ST"], abs(dummy["S1"]), floor["S1"]]
        rows.append(row)
    table = np.array(rows)
    head = "  runs   " + "  ".join(
        f"{out[:12]:>12}: dummy ST, floor ST, |dummy S1|, floor S1" for out in sensitivity.OUTPUTS
    )
    print(head)
    for r in table:
        cells = "   ".join(
            "  ".join(f"{x:8.4f}" for x in r[1 + 4 * i : 5 + 4 * i])
            for i in range(len(sensitivity.OUTPUTS))
        )
        print(f"  {int(r[0]):>5}  {cells}")
    print("\nlog-log slope of each column against runs (floor ∝ runs^slope):")
    x = np.log(table[:, 0])
    names = ("dummy ST", "floor ST", "|dummy S1|", "floor S1")
    for i, out in enumerate(sensitivity.OUTPUTS):
        slopes = [np.polyfit(x, np.log(table[:, 1 + 4 * i + c]), 1)[0] for c in range(4)]
        print(f"  {out}: " + ", ".join(f"{n} {s:+.2f}" for n, s in zip(names, slopes, strict=True)))
    print()


def advice(workers: int) -> None:
    """Ask for a quarter of the floor measured at 250 runs; measure it at the advised runs."""
    scenario = engine_scenario(sim.load_scenario(SCENARIO))
    kw = {"seed": SEED, "workers": workers, "progress": False, "tornado_runs": 1}
    first = sensitivity.analyse(scenario, "sobol", SCALING_SAMPLES, runs=250, **kw)
    floor = first.floor()
    assert floor is not None
    target = round(floor["ST"] / 4, 4)
    first.target_floor = target
    runs = first.advice()["ST"]  # type: ignore[index]
    second = sensitivity.analyse(scenario, "sobol", SCALING_SAMPLES, runs=runs, **kw)
    got = second.floor()
    assert got is not None
    print(
        f"advice check: at 250 runs per point the ST floor of P(triggered) is {floor['ST']:.4f}; "
        f"asked for {target}, the tool advises {runs:,} runs per point; measured there: "
        f"{got['ST']:.4f}\n"
    )


def inert(workers: int) -> None:
    """An assumption with almost no effect (the issue's test case) against the floor."""
    scenario = engine_scenario(sim.load_scenario(SCENARIO))
    extra = {INERT: {"dist": "uniform", "low": 0.3995, "high": 0.4005}}
    scenario = scenario.with_overrides({"uncertainties": {**_plain(scenario), **extra}})
    for runs in (250, 1_000):
        sens = sensitivity.analyse(
            scenario, "sobol", SCALING_SAMPLES, runs=runs, seed=SEED, workers=workers,
            progress=False, tornado_runs=1,
        )  # fmt: skip
        idx, floor, above = sens.indices["p_triggered"], sens.floor(), sens.above_floor()
        assert idx is not None and floor is not None and above is not None
        j = sens.keys.index(INERT)
        print(
            f"{INERT} uniform 0.3995–0.4005, {runs:,} runs per point: ST {idx['ST'][j]:.4f} ± "
            f"{idx['ST_conf'][j]:.4f} (floor {floor['ST']:.4f}, distinguishable: "
            f"{above['ST'][j]}); S1 {idx['S1'][j]:.4f} ± {idx['S1_conf'][j]:.4f} (floor "
            f"{floor['S1']:.4f}); assumptions above the ST floor: {sum(above['ST'])} of "
            f"{len(sens.keys)}"
        )
    print()


def _plain(scenario: sim.Scenario) -> dict[str, object]:
    return {k: v.model_dump(mode="json") for k, v in scenario.uncertainties.items()}


PARTS = ("integrate", "sobol", "morris", "discover", "scaling", "advice", "inert")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("parts", nargs="*", metavar="PART", help=f"any of {', '.join(PARTS)}")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--figures", action="store_true", help="copy the figures into docs/figures")
    args = ap.parse_args()
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        ap.error(f"unknown part(s) {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}")
    os.chdir(DOCS.parent)  # the commands name the scenario as the page does
    w = ["--workers", str(args.workers)]
    figs = args.figures
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for part in args.parts or PARTS:
            if part == "integrate":
                command(["run", FILE, "--integrate", "--no-plots", *w], out / part)
            elif part == "sobol":
                command(
                    ["sensitivity", FILE, "--samples", "1024", "--floor", "0.005", *w],
                    out / part,
                    {
                        "indices.png": "sensitivity_indices.png",
                        "tornado.png": "sensitivity_tornado.png",
                    }
                    if figs
                    else None,
                )
            elif part == "morris":
                command(["sensitivity", FILE, "--method", "morris", "--samples", "64", *w],
                        out / part)  # fmt: skip
            elif part == "discover":
                command(["discover", FILE, *w], out / part,
                        {"discovery.png": "discovery.png"} if figs else None)  # fmt: skip
                command(["discover", FILE, "--threshold", "0.2", "--samples", "2000", *w],
                        out / f"{part}-strict")  # fmt: skip
                for seed in ("2", "3"):  # the highest point and the mean at other seeds
                    command(["discover", FILE, "--seed", seed, *w], out / f"{part}-{seed}")
            else:
                {"scaling": scaling, "advice": advice, "inert": inert}[part](args.workers)


if __name__ == "__main__":
    main()
