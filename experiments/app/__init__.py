"""The browser app for students (Mesa's SolaraViz), served offline by ``carry-unwind app``.

Modules: :mod:`~experiments.app.page` (the page: model, view, components; what ``solara run``
serves), :mod:`~experiments.app.specs` (what the app shows, as data: sliders, charts, shocks),
:mod:`~experiments.app.charts` (incremental matplotlib charts), :mod:`~experiments.app.server`
(starting the server offline), :mod:`~experiments.app.browser` (a headless-Chromium driver for
tests and benchmarks), :mod:`~experiments.app.bench` (``python -m experiments.app.bench``:
latency of a Step).
"""
