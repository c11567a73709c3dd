"""Print the tables and numbers quoted in docs/backtest.md from a backtest folder.

ceasefire backtest cases/ --out results/backtest-docs
python docs/backtest_numbers.py results/backtest-docs
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

SHORT = {
    "triggered": "triggered",
    "cancelled_access": "access",
    "cancelled_violence": "violence",
    "cancelled_collapse": "collapse",
}
NAMES = {
    "brier_collapse": "Brier, P(collapse)",
    "brier_triggered": "Brier, P(triggered)",
    "log_collapse": "log, P(collapse)",
    "log_triggered": "log, P(triggered)",
    "rps": "RPS",
    "crps_day": "CRPS, collapse day",
    "crps_fraction": "CRPS, fraction of window",
}
BASELINES = ("loo_frequency", "always_collapse", "uniform")


def skill(entry: dict) -> str:
    v, (lo, hi) = entry["value"], entry["ci95"]
    return f"{v:+.2f} [{lo:+.2f}, {hi:+.2f}]".replace("-", "−")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", type=Path, help="a folder written by `ceasefire backtest`")
    data = json.loads((ap.parse_args().folder / "backtest.json").read_text(encoding="utf-8"))
    print(
        f"{len(data['cases'])} cases, {data['runs']:,} runs, seed {data['seed']}, "
        f"engine {data['engine']}\n"
    )
    print(
        "| case | P(triggered) | P(access) | P(violence) | P(collapse) | observed "
        "| Brier (collapse) | RPS | CRPS (days) | shared refit |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, c in data["cases"].items():
        p = c["p"]
        day = f" (day {c['collapse_day']:g})" if c["collapse_day"] is not None else ""
        shared = ", ".join(f"{k.split('.')[-1]} {v:g}" for k, v in c["shared"].items())
        print(
            f"| {name} | {p['triggered']:.0%} | {p['cancelled_access']:.0%} | "
            f"{p['cancelled_violence']:.0%} | {p['cancelled_collapse']:.0%} | "
            f"{SHORT[c['observed']]}{day} | {c['brier_collapse']:.3f} | {c['rps']:.3f} | "
            f"{c['crps_day']:.2f} | {shared} |"
        )
    print("\n| metric | model | leave-one-out frequency | always collapse | uniform |")
    print("|---|---|---|---|---|")
    for m in NAMES:
        row = [data["scores"][w][m] for w in ("model", *BASELINES)]
        best = min(row)
        cells = [f"**{v:.3f}**" if v == best else f"{v:.3f}" for v in row]
        print(f"| {m} | " + " | ".join(cells) + " |")
    print("\n| metric | vs leave-one-out frequency | vs always collapse | vs uniform |")
    print("|---|---|---|---|")
    for m, label in NAMES.items():
        vs = data["skill"][m]["vs"]
        print(f"| {label} | " + " | ".join(skill(vs[b]) for b in BASELINES) + " |")
    prior = data["model_at_prior"]["scores"]
    print(
        f"\nat the prior values (no refit): Brier P(collapse) {prior['brier_collapse']:.3f}, "
        f"log P(collapse) {prior['log_collapse']:.3f}, Brier P(triggered) "
        f"{prior['brier_triggered']:.3f}"
    )
    for name, c in data["cases"].items():
        print(
            f"  {name}: P(collapse) {c['p']['cancelled_collapse']:.1%} refitted, "
            f"{c['at_prior']['p']['cancelled_collapse']:.1%} at the prior; "
            f"log(collapse) {c['log_collapse']:.2f}"
        )


if __name__ == "__main__":
    main()
