"""Design points of a sweep and the runs they make (one task per point and replicate)."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from experiments.sweeps.spec import SweepSpec, run_id

__all__ = ["design_table", "make_tasks", "point_overrides", "spec_scenario"]


def design_table(spec: SweepSpec) -> Any:
    """The design points: a pandas DataFrame with ``point`` (0..n-1) and one column per parameter.

    Deterministic given the specification (``design_seed`` scrambles the random designs).
    For ``saltelli`` and ``morris`` the row order is SALib's, which its analysers rely on.
    """
    import pandas as pd

    params = spec.parameters
    d = len(params)
    if spec.design == "grid":
        rows = list(itertools.product(*(p.grid() for p in params)))
        columns = [[row[j] for row in rows] for j in range(d)]
    elif spec.design in ("lhs", "sobol"):
        from scipy.stats import qmc

        if spec.design == "lhs":
            u = qmc.LatinHypercube(d=d, rng=spec.design_seed).random(spec.samples)
        else:
            u = qmc.Sobol(d=d, scramble=True, rng=spec.design_seed).random_base2(int(math.log2(spec.samples)))
        columns = [p.from_unit(u[:, j]) for j, p in enumerate(params)]
    else:
        if spec.design == "saltelli":
            from SALib.sample import sobol as salib_sobol

            z = salib_sobol.sample(
                spec.problem(), spec.samples, calc_second_order=spec.second_order, scramble=True, seed=spec.design_seed
            )
        else:
            from SALib.sample import morris as salib_morris

            z = salib_morris.sample(spec.problem(), spec.samples, num_levels=spec.levels, seed=spec.design_seed)
        columns = [p.from_sampling(z[:, j]) for j, p in enumerate(params)]
    dtypes = {"float": "float64", "int": "int64", "bool": "bool", "str": "object"}
    data = {"point": pd.Series(np.arange(len(columns[0]), dtype=np.int64))}
    for p, col in zip(params, columns, strict=True):
        data[p.name] = pd.Series(col, dtype=dtypes[p.kind])
    return pd.DataFrame(data)


def point_overrides(fixed: Mapping[str, Any], params: Mapping[str, Any], days: int) -> dict[str, Any]:
    """The overrides a run of a design point applies to its scenario's configuration: the ``[fixed]`` values,
    the point's parameters and the horizon, in one step.

    :func:`~experiments.sweeps.executors.run_one` builds a run's configuration with them, and
    :func:`~experiments.sweeps.parsing.check_design` builds every point's with them before anything runs, so
    that a point the check accepts is one its runs accept.
    """
    return {**fixed, **params, "simulation.days": days}


def _design_records(design: Any, names: Sequence[str]) -> list[dict[str, Any]]:
    """Design rows as plain Python values (``tolist`` gives int/float/bool/str, not numpy scalars)."""
    cols = {name: design[name].tolist() for name in names}
    return [{name: cols[name][i] for name in names} for i in range(len(design))]


def make_tasks(spec: SweepSpec, design: Any) -> list[dict[str, Any]]:
    """One task per run: ``{run_id, point, replicate, seed, params}``, replicate by replicate.

    Replicate-major order: the first replicate of the whole design finishes first, so a sweep
    stopped early already holds complete designs.
    """
    points = _design_records(design, spec.names)
    pidx = design["point"].tolist()
    tasks = []
    for r, seed in enumerate(spec.seeds):
        for i, params in zip(pidx, points, strict=True):
            tasks.append(
                {"run_id": run_id(i, r, seed, params), "point": i, "replicate": r, "seed": seed, "params": params}
            )
    return tasks


_SCENARIOS: dict[tuple[str, str | None, bytes | None], Any] = {}


def spec_scenario(spec: Mapping[str, Any]) -> Any:
    """The scenario of a sweep's spec (its ``to_dict()``), parsed once per process and file content: what
    every run of the sweep and the check of its design points use.

    A scenario given as a file travels in the spec as its text; a built-in one by its name, so its file
    is read again at each call (a few microseconds) and a file edited in a long-lived session (a
    notebook) is parsed afresh rather than taken from the cache."""
    from model.scenarios import SCENARIO_DIR, load_scenario, parse_scenario

    name, text = spec["scenario"], spec.get("scenario_text")
    builtin = None
    if text is None:
        try:
            builtin = (SCENARIO_DIR / f"{name}.toml").read_bytes()
        except OSError:  # not a built-in file (load_scenario says what is wrong with the name)
            pass
    key = (name, text, builtin)
    if key not in _SCENARIOS:
        _SCENARIOS[key] = parse_scenario(text, name) if text is not None else load_scenario(name)
    return _SCENARIOS[key]
