"""Command line, benchmarks, figures and experiments built on :mod:`model`."""
