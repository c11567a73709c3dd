"""The files of a fit: ``fit.json``, ``fitted.yaml`` (a scenario extending the fitted one)
and the Q–Q figures; the table ``ceasefire fit`` prints; the command itself."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy import stats

from .errors import UsageError, plural
from .fit import Fit, check_keys, default_keys, fit
from .folders import new_folder, write_json
from .scenario import Scenario
from .uncertainty import explosive_warning


def _round(x: float) -> float:
    return float(f"{x:.6g}")


def fitted_scenario(result: Fit, file: str | Path, folder: str | Path) -> dict[str, Any]:
    """The ``fitted.yaml`` data: ``extends`` the scenario file (a path relative to
    ``folder``), with every estimate whose 95% interval the data identify set, and a
    triangular ``uncertainties`` entry over that interval, peaked at the estimate. An
    estimate that is not identified (no value, or an interval end at a search bound) is
    not written: the scenario keeps its own value, and the description says so."""
    s = result.scenario
    rel = os.path.relpath(Path(file).resolve(), Path(folder).resolve())
    events = Path(result.events.file).name
    skipped = [k for k, e in result.estimates.items() if e.value is None or None in e.ci95]
    description = (
        f"Estimates fitted by `ceasefire fit` to {events} over days "
        f"{result.events.span[0]:g} to {result.events.span[1]:g}. Each uncertainty is a "
        "triangular distribution over the estimate's 95% interval, peaked at the estimate."
    )
    if skipped:
        description += (
            " Not identified by these events, so kept at the scenario's values: "
            + ", ".join(skipped)
            + "."
        )
    data: dict[str, Any] = {
        "extends": Path(rel).as_posix(),
        "name": f"{s.name}_fitted",
        "title": f"{s.title} (fitted to {events})",
        "description": description,
    }
    uncertainties: dict[str, Any] = {}
    for key, est in result.estimates.items():
        if key in skipped:
            continue
        assert est.value is not None and est.ci95[0] is not None and est.ci95[1] is not None
        group, name, *rest = key.split(".")
        node = data.setdefault(group, {}).setdefault(name, {})
        if rest == ["violation_rate"] and s.parties[name].violation_prob is not None:
            node["violation_prob"] = None
        if rest == ["attack_rate"] and s.spoilers[name].attack_prob is not None:
            node["attack_prob"] = None
        for part in rest[:-1]:
            node = node.setdefault(part, {})
        mode = node[rest[-1]] = _round(est.value)
        lo, hi = min(_round(est.ci95[0]), mode), max(_round(est.ci95[1]), mode)
        if lo < hi:
            uncertainties[key] = {"dist": "triangular", "low": lo, "mode": mode, "high": hi}
    if uncertainties:
        data["uncertainties"] = uncertainties
    return data


def check_extends(scenario: Scenario, keys: Sequence[str]) -> None:
    """Refuse (before fitting) when the scenario's own uncertainties vary a value the
    fitted scenario replaces (a daily probability replaced by a fitted rate)."""
    replaced = []
    for key in keys:
        _, name, what = key.split(".", 2)
        if what == "violation_rate" and scenario.parties[name].violation_prob is not None:
            replaced.append(f"parties.{name}.violation_prob")
        if what == "attack_rate" and scenario.spoilers[name].attack_prob is not None:
            replaced.append(f"spoilers.{name}.attack_prob")
    for u in scenario.uncertainties:
        for r in replaced:
            if u == r or u.startswith(r + "."):
                raise UsageError(
                    f"the scenario's uncertainties vary {u}, which the fitted rate replaces: "
                    "fit a scenario without that uncertainty (e.g. the one it extends)"
                )


def qq_figure(
    actor: str, gaps: np.ndarray, gof: dict[str, float] | None, scenario: str = ""
) -> Any:
    """Q–Q plot of an actor's rescaled gaps against Exp(1) (``scenario``: its name, for the
    title)."""
    from matplotlib.figure import Figure

    from .plots.style import INK, tidy

    fig = Figure(figsize=(4.6, 4.4), layout="constrained")
    ax = fig.add_subplot()
    g = np.sort(gaps)
    n = g.size
    theory = stats.expon.ppf((np.arange(1, n + 1) - 0.5) / n)
    # pointwise 95% band of the i-th order statistic of n Exp(1) draws (beta quantiles)
    i = np.arange(1, n + 1)
    band_lo = stats.expon.ppf(stats.beta.ppf(0.025, i, n - i + 1))
    band_hi = stats.expon.ppf(stats.beta.ppf(0.975, i, n - i + 1))
    ax.fill_between(theory, band_lo, band_hi, color="0.85", label="95% pointwise band")
    top = max(theory.max(), g.max()) * 1.05
    ax.plot([0, top], [0, top], color="0.5", lw=1, label="Exp(1)")
    ax.plot(theory, g, "o", ms=3, color=INK, gid=f"qq:{actor}", label="rescaled gaps")
    ax.set_xlabel("Exp(1) quantile")
    ax.set_ylabel("rescaled gap (compensator increment)")
    title = f"{scenario}: {actor}" if scenario else actor
    title += f"\n{n} gap{'' if n == 1 else 's'} between events"
    if gof is not None:
        title += f", KS p = {gof['p_value']:.2f}"
    ax.set_title(title, fontsize=10)
    ax.legend(frameon=False, fontsize=8, loc="upper left")
    tidy(ax)
    return fig


def save(
    result: Fit,
    file: str | Path,
    path: str | Path,
    *,
    plots: bool = True,
    command: list[str] | None = None,
) -> Path:
    """Write ``fit.json``, ``fitted.yaml`` and ``figures/qq_<actor>.png`` to a new folder."""
    from .results import library_versions
    from .scenario import load_scenario

    path = Path(path)
    data = fitted_scenario(result, file, path)
    with new_folder(path) as tmp:
        header = (
            "# Written by `ceasefire fit`: the scenario it extends, with the fitted estimates "
            "set.\n# Each uncertainty is triangular over the estimate's 95% interval "
            "(see fit.json).\n"
        )
        text = header + yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
        (tmp / "fitted.yaml").write_text(text, encoding="utf-8", errors="backslashreplace")
        fitted = load_scenario(tmp / "fitted.yaml")  # must be a valid scenario
        # the intervals are drawn independently under --integrate, the estimates are not:
        # say so when their ends together make the excitation explosive
        warning = explosive_warning(fitted)
        meta = result.to_json()
        meta.update(
            scenario=str(file),
            versions=library_versions(),
            command=command,
            warnings=[f"fitted.yaml: {warning}"] if warning else [],
        )
        write_json(tmp / "fit.json", meta)
        if plots:
            (tmp / "figures").mkdir()
            for actor, gaps in result.rescaled.items():
                fig = qq_figure(actor, gaps, result.gof.get(actor), result.scenario.name)
                fig.savefig(tmp / "figures" / f"qq_{actor}.png", dpi=150)
    return path


def _fmt(x: float | None) -> str:
    return "—" if x is None else f"{x:.4g}"


def text(result: Fit) -> str:
    """The table ``ceasefire fit`` prints."""
    s, ev = result.scenario, result.events
    lines = [
        f"{s.title} ({s.name}) fitted to {ev.file}",
        f"{len(ev.times)} events over days {ev.span[0]:g}–{ev.span[1]:g}: "
        + ", ".join(f"{a} {n}" for a, n in result.n_events.items())
        + (f" ({ev.left_out} events of the file outside the span left out)" if ev.left_out else ""),
        "",
    ]
    width = max(len(k) for k in result.estimates)
    lines.append(f"  {'key':<{width}}  {'estimate':>9}  {'se':>9}  95% interval")
    for key, e in result.estimates.items():
        ci = f"[{_fmt(e.ci95[0])}, {_fmt(e.ci95[1])}]"
        note = f"  {e.note}" if e.note else ""
        lines.append(f"  {key:<{width}}  {_fmt(e.value):>9}  {_fmt(e.se):>9}  {ci}{note}")
    lines += ["", f"log-likelihood {result.loglik:.3f}", "goodness of fit (time rescaling, KS):"]
    for actor, g in result.gof.items():
        lines.append(
            f"  {actor}: {plural(int(g['n']), 'gap')}, KS {g['ks']:.3f}, p = {g['p_value']:.3f}"
        )
    return "\n".join(lines)


def command(args: Any, argv: Sequence[str]) -> int:
    """``ceasefire fit FILE --events EVENTS.csv [--fit KEY ...] [--span A:B] [--out DIR]``."""
    from .events import parse_span, read_events
    from .folders import check_output, default_folder
    from .scenario import load_scenario

    scenario = load_scenario(args.file)
    span = None
    if args.span is not None:
        try:
            span = parse_span(args.span)
        except ValueError as exc:
            raise UsageError(f"--span: {exc}") from None
    out = args.out
    if out is None:
        out = default_folder(scenario.name)
        out = out.with_name(f"fit-{out.name}")
    check_output(out)
    events = read_events(args.events, scenario, span)
    keys = args.fit if args.fit else default_keys(scenario, events)
    keys = check_keys(scenario, events, keys)
    check_extends(scenario, keys)
    result = fit(scenario, events, keys)
    folder = save(result, args.file, out, plots=not args.no_plots, command=["ceasefire", *argv])
    print(text(result))
    for warning in json.loads((folder / "fit.json").read_text(encoding="utf-8"))["warnings"]:
        print(f"warning: {warning}", file=sys.stderr)
    files = [p.name + ("/" if p.is_dir() else "") for p in sorted(folder.iterdir())]
    print(f"\nwrote {folder}/ ({', '.join(files)})")
    return 0


__all__ = ["check_extends", "command", "fitted_scenario", "qq_figure", "save", "text"]
