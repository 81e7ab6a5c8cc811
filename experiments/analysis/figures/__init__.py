"""The paper figures (``carry-unwind figures``): every figure of a paper about the model, from fixed seeds.

Each figure is computed by the experiments that already exist — :mod:`experiments.analysis.hypotheses`
(its arms, the H1/H2/H7 experiments and their intervals over seeds), :mod:`experiments.analysis.validation`
and :mod:`experiments.analysis.statistics` (return statistics, the Ecdat data, the August 2024 measures),
:mod:`experiments.sweeps` and :mod:`experiments.analysis.sensitivity` (a Saltelli sweep and its Sobol'
indices) — and drawn at its printed size in the style of :mod:`experiments.analysis.style`:

==========================  ======================================================================
``aug2024_replay``          ``boj_hike_2024`` over seeds (median, 5–95 % band) against two observed
                            USD/JPY closes (peak, trough) and the banks' estimates of the unwind
``replay_positioning``      the replay across the funds' capital: each seed's fall and its carry stock's
                            largest drawdown since 1 Jul against its starting carry stock, with the BIS
                            anchor and the observed
``phase_diagram``           yen surge and amplification ratio over leverage × trigger size
``feedback_ablation``       H1: amplification with each feedback channel switched off
``fiscal_vs_monetary``      H2: the yen's response to a fiscal and a monetary rise in JGB yields
``return_statistics``       return distribution and volatility clustering, model vs Ecdat data
``sensitivity``             Sobol' indices of the largest USD/JPY fall over the run and of the
                            carry-stock drawdown
``early_warning_roc``       H7: ROC curves of the two dashboards and each pillar's AUC
==========================  ======================================================================

For each figure ``NAME`` the command writes ``DIR/NAME.pdf`` and ``DIR/NAME.png`` and a sidecar
``DIR/NAME.json`` with the package version, the git commit, the seeds, the configuration and the
numbers plotted. The provenance (everything but the numbers) is also in the files' metadata: the
PDF's Title, Subject (the provenance as JSON) and Creator (``carry-unwind <version>``), the PNG's
Title, Description (the same JSON), Software and Source text chunks. Nothing in the files depends
on the time they were made or on ``--workers``: the same command gives the same numbers.

``--quick`` makes small versions (few seeds, short runs, coarse grids) for tests and previews.

Modules: :mod:`~experiments.analysis.figures.settings` (seeds, grids, labels, colours of every
figure), one module per group of figures (:mod:`~experiments.analysis.figures.episode`,
:mod:`~experiments.analysis.figures.phase`, :mod:`~experiments.analysis.figures.hypotheses`,
:mod:`~experiments.analysis.figures.sensitivity`) and :mod:`~experiments.analysis.figures.registry`
(the list of figures, saving and provenance).
"""

from experiments.analysis.figures.episode import draw_replay, plot_replay_carry, plot_replay_usdjpy, replay_paths
from experiments.analysis.figures.hypotheses import (
    plot_feedback_ablation,
    plot_fiscal_vs_monetary,
    plot_pillar_auc,
    plot_roc_curves,
)
from experiments.analysis.figures.phase import (
    phase_diagram_data,
    phase_legend_handles,
    plot_phase_amplification,
    plot_phase_surge,
)
from experiments.analysis.figures.registry import FIGURES, FigureDef, make_figure, make_figures, write_figure
from experiments.analysis.figures.sensitivity import plot_sensitivity, sensitivity_results, sensitivity_spec_text

__all__ = [
    "FIGURES",
    "FigureDef",
    "make_figure",
    "write_figure",
    "make_figures",
    "replay_paths",
    "draw_replay",
    "phase_diagram_data",
    "phase_legend_handles",
    "sensitivity_results",
    "sensitivity_spec_text",
    "plot_replay_usdjpy",
    "plot_replay_carry",
    "plot_phase_surge",
    "plot_phase_amplification",
    "plot_feedback_ablation",
    "plot_fiscal_vs_monetary",
    "plot_sensitivity",
    "plot_roc_curves",
    "plot_pillar_auc",
]
