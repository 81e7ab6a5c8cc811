"""A sweep's results as a pandas DataFrame or an xarray Dataset.

Example
-------
::

    from experiments.sweeps import load_results, to_xarray

    df = load_results("out/leverage_grid")
    ds = to_xarray(df)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from experiments.analysis.metrics import METRICS
from experiments.sweeps.store import (
    check_unique_runs,
    load_manifest,
    manifest_spec,
    part_files,
    read_part,
    result_schema,
)

__all__ = ["load_results", "to_xarray"]


def load_results(out_dir: str | Path) -> Any:
    """All recorded runs of the sweep in ``out_dir`` as a pandas DataFrame, sorted by point and replicate.

    Columns: ``run_id, point, replicate, seed``, the parameters (dotted names), the metrics,
    ``status, error, version``. Failed runs are included (``status == "error"``, metrics NaN).
    ``df.attrs`` holds the sweep's name, design, parameters, metrics, replicates and run count.

    Raises
    ------
    SpecError
        ``out_dir`` holds no sweep, its manifest lacks an entry or is damaged, a part file is damaged, or
        a run is recorded twice (a part file copied in twice: the sweep never writes a run twice); the
        message names the file. A ``ValueError``, as every ``SpecError``.
    """
    import pyarrow as pa

    out = Path(out_dir)
    manifest = load_manifest(out)
    spec = manifest_spec(out, manifest)
    schema = result_schema(spec)
    parts = part_files(out)
    tables = [read_part(p, schema=schema) for p in parts]
    check_unique_runs(out, parts, tables)
    table = pa.concat_tables(tables) if tables else schema.empty_table()
    df = table.to_pandas()
    df = df.sort_values(["point", "replicate"], kind="stable").reset_index(drop=True)
    df.attrs.update(
        name=spec.name,
        design=spec.design,
        scenario=spec.scenario,
        days=spec.days,
        parameters=spec.names,
        metrics=list(spec.metrics),
        replicates=spec.replicates,
        n_points=manifest["n_points"],
        n_runs=manifest["n_runs"],
    )
    return df


def to_xarray(results: Any, *, dims: Sequence[str] | None = None, metrics: Sequence[str] | None = None) -> Any:
    """The results as an ``xarray.Dataset``, one variable per metric (plus ``status``).

    Parameters
    ----------
    results
        From :func:`load_results` (its ``attrs`` name the parameters, metrics and design).
    dims
        Dimensions. Default: the parameters and ``replicate`` for a grid design (a dense cube, NaN
        where a run is missing), else ``point`` and ``replicate`` with the parameters as
        coordinates along ``point``.
    metrics
        Metrics to include (default: all of the sweep's).

    The replicates' seeds are a coordinate along ``replicate``.
    """
    import xarray as xr

    attrs = dict(getattr(results, "attrs", {}) or {})
    params = list(attrs.get("parameters") or [c for c in results.columns if "." in c])
    metrics = list(metrics or attrs.get("metrics") or [c for c in METRICS if c in results.columns])
    if dims is None:
        dims = [*params, "replicate"] if attrs.get("design") == "grid" else ["point", "replicate"]
    dims = list(dims)
    indexed = results.set_index(dims)
    if not indexed.index.is_unique:
        raise ValueError(f"the dimensions {dims} do not identify the runs uniquely")
    ds = xr.Dataset.from_dataframe(indexed[[*metrics, "status"]])
    if "replicate" in dims:
        seeds = results.groupby("replicate")["seed"].first()
        ds = ds.assign_coords(seed=("replicate", seeds.reindex(ds["replicate"].values).to_numpy()))
    if "point" in dims:
        first = results.groupby("point")[params].first().reindex(ds["point"].values)
        ds = ds.assign_coords({p: ("point", first[p].to_numpy()) for p in params if p not in dims})
    for m in metrics:
        if m in METRICS:
            ds[m].attrs["description"] = METRICS[m]
    ds.attrs = {k: v for k, v in attrs.items() if isinstance(v, (str, int, float))}
    return ds
