"""Figures. Each function returns a matplotlib :class:`~matplotlib.figure.Figure` (no pyplot,
no global state), so notebooks can show them and the CLI can save them with any backend.

Figures of results read only the streaming summaries (``outcome_probabilities``, ``survival``,
``collapse_histogram``, ``violation_distribution``, ``strain_quantiles``,
``deliveries_distribution``, ``summary``), never the per-run rows, so they work for results
simulated with ``keep_runs=False`` too. Drawing never changes the results.

The main artists carry a ``gid`` (e.g. ``"survival"``, ``"median:opposition"``,
``"violation:government:major"``) so that tests and notebooks can read back the plotted data.

Modules: :mod:`.style` (colours, titles, axes), :mod:`.run` (a run's results),
:mod:`.trace` (one run's timeline), :mod:`.compare` (scenarios side by side), :mod:`.phases`
(the phase funnel and survival over the phases, for scenarios with phases).
"""

from .compare import (
    COMPARE_FIGURES,
    compare_outcome_figure,
    compare_survival_figure,
    save_comparison,
)
from .phases import PHASE_CAPTIONS, PHASE_FIGURES, funnel_figure, phase_survival_figure
from .run import (
    CAPTIONS,
    FIGURES,
    STRAIN_QS,
    collapse_figure,
    deliveries_figure,
    figures_for,
    outcome_figure,
    quiet,
    save_atomic,
    save_figure,
    save_figures,
    strain_figure,
    survival_figure,
    violations_figure,
)
from .style import (
    COLOURS,
    GREY,
    INCIDENT,
    INK,
    PALETTE,
    colour,
    integration_note,
    outcome_labels,
    outcome_words,
    shown_outcomes,
    went_ahead,
)
from .trace import trace_figure, trace_strain

__all__ = [
    "CAPTIONS",
    "COLOURS",
    "COMPARE_FIGURES",
    "FIGURES",
    "GREY",
    "INCIDENT",
    "INK",
    "PALETTE",
    "PHASE_CAPTIONS",
    "PHASE_FIGURES",
    "STRAIN_QS",
    "collapse_figure",
    "colour",
    "compare_outcome_figure",
    "compare_survival_figure",
    "deliveries_figure",
    "figures_for",
    "funnel_figure",
    "integration_note",
    "outcome_figure",
    "outcome_labels",
    "outcome_words",
    "phase_survival_figure",
    "quiet",
    "save_atomic",
    "save_comparison",
    "save_figure",
    "save_figures",
    "shown_outcomes",
    "strain_figure",
    "survival_figure",
    "trace_figure",
    "trace_strain",
    "violations_figure",
    "went_ahead",
]
