"""Analysis of model runs: validation against data, hypotheses, statistics, sensitivity, figures.

Modules: :mod:`~experiments.analysis.metrics` (scalar metrics of a run),
:mod:`~experiments.analysis.statistics` (stylised facts of returns),
:mod:`~experiments.analysis.validation` (``carry-unwind validate``),
:mod:`~experiments.analysis.hypotheses` (``carry-unwind hypotheses``),
:mod:`~experiments.analysis.sensitivity` (Sobol' and Morris indices of a sweep),
:mod:`~experiments.analysis.figures` (the paper figures), :mod:`~experiments.analysis.plots`
(figures of one run) and :mod:`~experiments.analysis.style` (the one plotting style).
"""
