"""What a researcher runs with the model, one subpackage per job.

:mod:`experiments.cli` (the ``carry-unwind`` command line), :mod:`experiments.sweeps` (parameter
sweeps), :mod:`experiments.analysis` (validation, hypotheses, statistics, sensitivity, figures and
the plotting style) and :mod:`experiments.app` (the browser app). They share one parallel runner,
:mod:`experiments.runner`, and one logging helper, :mod:`experiments.logs`.
"""
