"""Tables for notebooks: pandas DataFrames of results (pandas is an optional extra) and the
HTML a notebook shows for a cell ending in a result object (``_repr_html_``).

Every function takes the object it describes and reads only its public attributes; nothing
here imports the classes at run time, so any module can use these views without a cycle.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from . import uncertainty
from .errors import UsageError
from .records import FIELDS, csv_header
from .scenario import OUTCOMES, outcome_words

if TYPE_CHECKING:  # pragma: no cover - types only
    import pandas as pd

    from .compare import Comparison
    from .experiments import PointTable
    from .results import Results

MAX_ROWS = 30
"""Rows an HTML table shows before it says how many more there are."""


def require_pandas() -> Any:
    """The pandas module, or a clear error naming the extra to install."""
    try:
        import pandas
    except ImportError:
        raise UsageError("DataFrames need pandas: pip install 'ceasefire-sim[pandas]'") from None
    return pandas


# --------------------------------------------------------------------------- DataFrames


def to_dataframe(results: Results) -> pd.DataFrame:
    """One row per run (indexed by run), with the columns of ``runs.csv`` as typed values:
    ``outcome`` (categorical, in :data:`~sim.OUTCOMES` order) and ``phase`` (categorical,
    with phases), ``collapse_day`` (NaN when none), ``collapsed_by`` (None when none), the
    per-actor counts, each side's final strain and, with ``integrate=True``, one column per
    uncertain assumption."""
    pd = require_pandas()
    c = results.columns
    if c is None:
        raise UsageError("these results kept no per-run rows (keep_runs=False): no DataFrame")
    shape = replace(
        results.shape,
        assumptions=tuple(results.scenario.uncertainties) if results.integrated else (),
    )
    actors = np.array([*shape.actors, None], dtype=object)
    columns: list[Any] = []
    for f in FIELDS:
        if f.csv is None or (f.phased and not shape.phases):
            continue
        a = c.arrays[f.name]
        if f.name == "outcome":
            columns.append(pd.Categorical.from_codes(a.astype(int), categories=list(OUTCOMES)))
        elif f.name == "phase":
            columns.append(pd.Categorical.from_codes(a.astype(int), categories=list(shape.phases)))
        elif f.name == "collapsed_by":
            columns.append(actors[np.where(a >= 0, a, -1)])
        elif f.name == "cancelled_day":  # empty in runs.csv when none: a nullable integer
            columns.append(pd.arrays.IntegerArray(np.where(a >= 0, a, 0).astype("int32"), a < 0))
        elif f.name == "strain_daily":
            columns += [a[:, s, -1] for s in range(a.shape[1])]
        elif f.axes:
            columns += [a[:, j] for j in range(a.shape[1])]
        else:
            columns.append(a)
    names = csv_header(shape)[1:]
    frame = pd.DataFrame(dict(zip(names, columns, strict=True)))
    frame.index.name = "run"
    return frame


def summary_frame(results: Results) -> pd.DataFrame:
    """The outcomes: ``meaning``, ``count``, ``p``, ``ci95_lo``, ``ci95_hi``, indexed by
    outcome code (only the outcomes the scenario can produce, or that occurred)."""
    pd = require_pandas()
    rows = outcome_rows(results)
    frame = pd.DataFrame(rows, columns=["outcome", "meaning", "count", "p", "ci95_lo", "ci95_hi"])
    return frame.set_index("outcome")


def outcome_rows(results: Results) -> list[tuple[str, str, int, float, float, float]]:
    """``(code, meaning, count, p, lo95, hi95)`` for each outcome worth showing."""
    s = results.scenario
    words = outcome_words(s.trigger.label, phased=s.phases is not None)
    counts = results.outcome_counts()
    possible = results.scenario.possible_outcomes
    return [
        (code, words[code], counts[code], p, lo, hi)
        for code, (p, lo, hi) in results.outcome_probabilities().items()
        if code in possible or counts[code] > 0
    ]


# --------------------------------------------------------------------------- HTML


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def table_html(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A plain HTML table (at most :data:`MAX_ROWS` rows, then a count of the rest)."""
    rows = list(rows)
    out = ["<table>", "<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>"]
    out.append("</thead><tbody>")
    for row in rows[:MAX_ROWS]:
        out.append("<tr>" + "".join(f"<td>{_e(v)}</td>" for v in row) + "</tr>")
    out.append("</tbody></table>")
    if len(rows) > MAX_ROWS:
        out.append(f"<p>… and {len(rows) - MAX_ROWS:,} more rows</p>")
    return "".join(out)


def results_html(results: Results) -> str:
    """A notebook's view of results: title, runs, and the outcome table."""
    s = results.scenario
    head = f"{results.runs:,} runs, seed {results.seed}, engine {results.engine}"
    if results.integrated:
        head += f"; {uncertainty.integration_note(s)}"
    if s.overrides:
        head += "; with " + ", ".join(f"{k}={v}" for k, v in s.overrides.items())
    rows = [
        (code, meaning, f"{count:,}", f"{p:.1%}", f"[{lo:.1%}, {hi:.1%}]")
        for code, meaning, count, p, lo, hi in outcome_rows(results)
    ]
    return (
        f"<div><strong>{_e(s.title)}</strong> (<code>{_e(s.name)}</code>)<br>{_e(head)}"
        + table_html(("outcome", "meaning", "runs", "p", "95% interval"), rows)
        + "</div>"
    )


def comparison_html(comparison: Comparison) -> str:
    """A notebook's view of a comparison: P(triggered) per scenario against the first."""
    rows = []
    for row in comparison.table():
        diff = "—" if row["p_value"] is None else f"{100 * row['diff_vs_first']:+.1f} pp"
        pval = "—" if row["p_value"] is None else f"{row['p_value']:.4g}"
        rows.append(
            (
                row["label"],
                f"{row['p_triggered']:.1%}",
                f"[{row['ci95_lo']:.1%}, {row['ci95_hi']:.1%}]",
                diff,
                pval,
                f"{row['p_cancelled_collapse']:.1%}",
            )
        )
    head = f"Comparison of {len(comparison.entries)} scenarios; {comparison.how()}"
    return (
        f"<div>{_e(head)}"
        + table_html(
            ("scenario", "P(triggered)", "95% interval", "vs first", "p-value", "collapse"), rows
        )
        + "</div>"
    )


def points_html(table: PointTable) -> str:
    """A notebook's view of simulated points (a sweep): each point's P(triggered)."""
    p, ci = table.p("triggered"), table.ci95("triggered")
    rows = [
        (*(f"{v:.4g}" for v in table.values[i]), f"{p[i]:.1%}", f"[{ci[i, 0]:.1%}, {ci[i, 1]:.1%}]")
        for i in range(table.values.shape[0])
    ]
    head = (
        f"{table.values.shape[0]:,} points, {table.runs:,} runs each, seed {table.seed}, "
        f"engine {table.engine}"
    )
    return (
        f"<div>{_e(head)}"
        + table_html((*table.keys, "P(triggered)", "95% interval"), rows)
        + "</div>"
    )


def text_html(text: str) -> str:
    """Preformatted text (the table a command prints) as HTML."""
    return f"<pre>{_e(text)}</pre>"


__all__ = [
    "comparison_html",
    "outcome_rows",
    "points_html",
    "require_pandas",
    "results_html",
    "summary_frame",
    "table_html",
    "text_html",
    "to_dataframe",
]
