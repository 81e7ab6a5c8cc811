"""Parameter sweeps: specifications, designs, execution on processes or Dask, resumable storage.

A sweep is described by a TOML specification (examples in ``experiments/specs/``)::

    [sweep]
    scenario = "risk_off"          # built-in name, or a scenario .toml path (relative to this file)
    days = 250                     # horizon of every run, trading days
    design = "grid"                # grid | lhs | sobol | saltelli | morris
    replicates = 4                 # runs per design point, with common random numbers
    base_seed = 1                  # replicate r runs with seed replicate_seed(base_seed, r)
    metrics = ["usdjpy_max_fall_pct", "hf_failures_total"]   # default: all of experiments.metrics.METRICS
    timeseries = false             # also keep every run's full time series

    [fixed]                        # applied to every run
    hedge_funds.n_funds = 200

    [parameters]                   # what varies: dotted section.field names of the configuration
    hedge_funds.max_leverage = { values = [2.0, 5.0, 10.0, 20.0] }
    hedge_funds.trend_share = { range = [0.0, 0.6], num = 4 }        # num: grid points of a range
    dealers.fx_capacity_usd_bn = { range = [100.0, 1600.0], log = true }

Designs (``[sweep] design``):

``grid``
    The full factorial product of every parameter's ``values`` (or ``num`` points spread over its
    ``range``); the last parameter varies fastest.
``lhs``, ``sobol``
    ``samples`` points of a Latin hypercube or a scrambled Sobol' sequence (``scipy.stats.qmc``;
    ``samples`` a power of two for Sobol'), scrambled with ``design_seed``. A ``values`` list is
    sampled as a discrete uniform choice.
``saltelli``
    SALib's Sobol'-index design (``SALib.sample.sobol``, Saltelli's scheme): ``samples`` = N (a
    power of two) gives N·(D+2) points, or N·(2D+2) with ``second_order = true``.
``morris``
    SALib's Morris design: ``samples`` trajectories on a grid of ``levels`` levels, N·(D+1) points.

The last two are what ``carry-unwind sensitivity`` analyses (:mod:`experiments.sensitivity`).
A range with ``log = true`` is sampled uniformly in log10; an integer field is rounded.

Randomness and identity. Every design point runs ``replicates`` times, replicate ``r`` with the
seed ``replicate_seed(base_seed, r)``, the same at every point: differences between points are
then differences of parameters, not of luck (common random numbers), which is what makes
sensitivity indices of a stochastic model meaningful. Each run has a stable id, a hash of its
point index, parameter values, replicate and seed (:func:`run_id`), so that a resumed sweep
recognises exactly the runs already done.

Execution. Every executor submits the same pure function, :func:`run_batch` (a list of
:func:`run_one` calls), to: this process (``serial``), local worker processes (``local``,
``concurrent.futures.ProcessPoolExecutor`` with the spawn start method), or a Dask cluster
(``dask``: a ``LocalCluster`` started for the sweep, or an existing scheduler). A run depends
only on its configuration and seed and the kernels are sequential (no ``prange``), so the rows
are identical, bit for bit, whichever executor computed them. Worker processes set
``NUMBA_NUM_THREADS=1`` before numba is imported (one process per core; see ENVIRONMENT.md).

Storage (``DIR`` = ``--out``)::

    spec.toml            the specification as given (comments included)
    manifest.json        the normalised specification and its digest, parameters, metrics, run
                         count, package version, git commit, and one record per session
    design.parquet       the design points (point index and parameter values); a resumed sweep
                         uses these, not a regenerated design, so a library upgrade cannot shift them
    runs/part-*.parquet  the results: one row per finished run (run_id, point, replicate, seed,
                         the parameters, the metrics, status "ok"/"error", error text, package version)
    timeseries/<run_id>.parquet   each run's full time series, if the spec asks for them

Rows stream to disk as runs finish: buffered for at most ``flush_seconds`` and written as a new
part file, atomically (written to a temporary name, fsync'ed, then ``os.replace``d), so a part
file is either complete or absent, whatever kills the sweep. A run counts as done when its row
is in a part file; ``--resume`` skips exactly those, so nothing is duplicated and nothing is
lost (a run that was finished but not yet written is simply run again, with the same result).
A run that raises (e.g. the clearing fails) is a row with ``status = "error"`` and the error
text; it does not stop the sweep and is retried on a resume only with ``retry_failed``. A lock
on ``DIR/.sweep.lock`` (released by the kernel even on SIGKILL) stops two sweeps writing into
one directory at once.

Interruptions. Ctrl-C cancels the queued batches, gives those already on a worker
``GRACE_SECONDS`` to finish, writes everything finished and raises :class:`SweepInterrupted`
(the command line says how to resume). A local worker process that dies (killed, out of memory)
breaks its pool: the pool is restarted and the unfinished batches resubmitted, up to
``MAX_POOL_RESTARTS`` times. Dask restarts a dead worker and reschedules its tasks itself; a task
that keeps killing workers is reported as lost, to be run again by a resume.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import dataclasses
import difflib
import hashlib
import itertools
import json
import logging
import math
import os
import sys
import time
import tomllib
import uuid
from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from experiments.metrics import METRICS
from model.validation import ConfigError

__all__ = [
    "DESIGNS",
    "EXECUTORS",
    "Parameter",
    "SweepSpec",
    "SpecError",
    "SweepError",
    "SweepInterrupted",
    "SweepReport",
    "load_spec",
    "parse_spec",
    "spec_to_toml",
    "design_table",
    "replicate_seed",
    "run_id",
    "make_tasks",
    "run_one",
    "run_batch",
    "run_sweep",
    "load_manifest",
    "load_design",
    "load_results",
    "to_xarray",
]

log = logging.getLogger(__name__)

DESIGNS = ("grid", "lhs", "sobol", "saltelli", "morris")
EXECUTORS = ("local", "dask", "serial")
FORMAT = 1  # version of the directory layout, recorded in the manifest

SPEC_FILE = "spec.toml"
MANIFEST_FILE = "manifest.json"
DESIGN_FILE = "design.parquet"
RUNS_DIR = "runs"
TIMESERIES_DIR = "timeseries"
LOCK_FILE = ".sweep.lock"

ID_COLUMNS = ("run_id", "point", "replicate", "seed")
TAIL_COLUMNS = ("status", "error", "version")
STATUS_OK, STATUS_ERROR = "ok", "error"
TIMESERIES_KEY = "_timeseries"  # a row's time series on its way from the worker to the writer

MAX_BATCH = 16  # runs per task: amortises the per-task cost of IPC and of Dask's scheduler
MAX_POOL_RESTARTS = 3  # a local worker that dies takes the pool down; restart it this often
GRACE_SECONDS = 5.0  # after Ctrl-C, how long batches already running may take to finish

_SWEEP_KEYS = {
    "name": "a name for the sweep (default: the file name)",
    "description": "one line about the sweep",
    "scenario": "built-in scenario name or scenario .toml path (default: baseline)",
    "days": "trading days per run (default: the scenario's simulation.days)",
    "design": "one of " + ", ".join(DESIGNS),
    "samples": "design points (lhs, sobol), base samples N (saltelli) or trajectories (morris)",
    "replicates": "runs per design point (default: 1)",
    "base_seed": "seed from which the replicates' seeds are derived (default: 1)",
    "design_seed": "seed of the design's scrambling (default: 0)",
    "second_order": "saltelli: also estimate second-order indices (default: false)",
    "levels": "morris: number of grid levels (default: 4)",
    "metrics": "summary metrics to keep (default: all)",
    "timeseries": "also save each run's full time series (default: false)",
}
_PARAM_KEYS = ("values", "range", "num", "log")


class SpecError(ConfigError):
    """A sweep specification (or an output directory's contents) is not acceptable: bad input."""


class SweepError(RuntimeError):
    """The sweep could not go on (executor failure, unwritable output)."""


class SweepInterrupted(Exception):
    """Ctrl-C: what was finished has been written; ``--resume`` continues."""

    def __init__(self, out_dir: Path, done: int, total: int) -> None:
        super().__init__(f"interrupted: {done} of {total} runs saved in {out_dir}")
        self.out_dir, self.done, self.total = out_dir, done, total


# -- specification ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    """One swept configuration field.

    Either explicit ``values`` or a ``range`` ``[lo, hi]`` (numbers only), sampled uniformly, in
    log10 if ``log``; ``num`` is the number of grid points of a range (grid design only).
    ``kind`` is the field's type in the configuration: "float", "int", "bool" or "str".
    """

    name: str
    kind: str
    values: tuple[Any, ...] | None = None
    lo: float | None = None
    hi: float | None = None
    num: int | None = None
    log: bool = False

    def sampling_bounds(self) -> tuple[float, float]:
        """The range in the space where it is sampled uniformly (log10 if ``log``)."""
        assert self.lo is not None and self.hi is not None
        return (math.log10(self.lo), math.log10(self.hi)) if self.log else (self.lo, self.hi)

    def to_sampling(self, x: np.ndarray) -> np.ndarray:
        """Parameter values → sampling space (the inverse of :meth:`from_sampling` up to rounding)."""
        x = np.asarray(x, dtype=float)
        return np.log10(x) if self.log else x

    def from_sampling(self, z: np.ndarray) -> list[Any]:
        """Points of the sampling space → parameter values (clipped to the range, integers rounded)."""
        z = np.asarray(z, dtype=float)
        x = np.clip(10.0**z if self.log else z, self.lo, self.hi)  # 10**log10(hi) may overshoot hi
        return self._coerce_array(x)

    def from_unit(self, u: np.ndarray) -> list[Any]:
        """Points of [0, 1) → parameter values (a ``values`` list is a discrete uniform choice)."""
        u = np.asarray(u, dtype=float)
        if self.values is not None:
            k = len(self.values)
            return [self.values[i] for i in np.minimum((u * k).astype(int), k - 1)]
        a, b = self.sampling_bounds()
        return self.from_sampling(a + u * (b - a))

    def grid(self) -> list[Any]:
        """The grid design's values."""
        if self.values is not None:
            return list(self.values)
        assert self.num is not None and self.lo is not None and self.hi is not None
        x = np.geomspace(self.lo, self.hi, self.num) if self.log else np.linspace(self.lo, self.hi, self.num)
        return self._coerce_array(x)

    def _coerce_array(self, x: np.ndarray) -> list[Any]:
        if self.kind == "int":
            return [int(v) for v in np.rint(x)]
        return [float(v) for v in x]

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "values": None if self.values is None else list(self.values),
            "range": None if self.lo is None else [self.lo, self.hi],
            "num": self.num,
            "log": self.log,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Parameter:
        lo, hi = d["range"] if d.get("range") is not None else (None, None)
        values = d.get("values")
        return cls(
            name=d["name"],
            kind=d["kind"],
            values=None if values is None else tuple(values),
            lo=lo,
            hi=hi,
            num=d.get("num"),
            log=bool(d.get("log", False)),
        )


@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep specification (see the module docstring for the TOML form).

    ``scenario_text`` holds the scenario file's contents when the scenario is a path, so that
    workers (on any machine) rebuild it without the file, and a changed file changes the digest.
    ``fixed`` maps dotted field names to the values applied to every run.
    """

    name: str
    design: str
    parameters: tuple[Parameter, ...]
    scenario: str = "baseline"
    scenario_text: str | None = None
    days: int = 500
    replicates: int = 1
    base_seed: int = 1
    design_seed: int = 0
    samples: int | None = None
    second_order: bool = False
    levels: int = 4
    metrics: tuple[str, ...] = tuple(METRICS)
    timeseries: bool = False
    fixed: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    @property
    def names(self) -> list[str]:
        """The swept parameters' dotted names, in the specification's order."""
        return [p.name for p in self.parameters]

    @property
    def n_points(self) -> int:
        d = len(self.parameters)
        if self.design == "grid":
            return math.prod(len(p.grid()) for p in self.parameters)
        assert self.samples is not None
        if self.design == "saltelli":
            return self.samples * (2 * d + 2 if self.second_order else d + 2)
        if self.design == "morris":
            return self.samples * (d + 1)
        return self.samples

    @property
    def n_runs(self) -> int:
        return self.n_points * self.replicates

    @property
    def seeds(self) -> list[int]:
        """The replicates' seeds, shared by every design point (common random numbers)."""
        return [replicate_seed(self.base_seed, r) for r in range(self.replicates)]

    def problem(self) -> dict[str, Any]:
        """The SALib problem: names and bounds in the sampling space."""
        return {
            "num_vars": len(self.parameters),
            "names": self.names,
            "bounds": [list(p.sampling_bounds()) for p in self.parameters],
        }

    def to_dict(self) -> dict[str, Any]:
        """The normalised specification: plain JSON types, enough to rebuild it anywhere."""
        return {
            "format": FORMAT,
            "name": self.name,
            "description": self.description,
            "design": self.design,
            "scenario": self.scenario,
            "scenario_text": self.scenario_text,
            "days": self.days,
            "replicates": self.replicates,
            "base_seed": self.base_seed,
            "design_seed": self.design_seed,
            "samples": self.samples,
            "second_order": self.second_order,
            "levels": self.levels,
            "metrics": list(self.metrics),
            "timeseries": self.timeseries,
            "fixed": dict(self.fixed),
            "parameters": [p.to_dict() for p in self.parameters],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SweepSpec:
        """Rebuild from :meth:`to_dict` (already validated when the sweep started; not re-checked)."""
        return cls(
            name=d["name"],
            description=d.get("description", ""),
            design=d["design"],
            parameters=tuple(Parameter.from_dict(p) for p in d["parameters"]),
            scenario=d["scenario"],
            scenario_text=d.get("scenario_text"),
            days=int(d["days"]),
            replicates=int(d["replicates"]),
            base_seed=int(d["base_seed"]),
            design_seed=int(d["design_seed"]),
            samples=d.get("samples"),
            second_order=bool(d.get("second_order", False)),
            levels=int(d.get("levels", 4)),
            metrics=tuple(d["metrics"]),
            timeseries=bool(d.get("timeseries", False)),
            fixed=dict(d.get("fixed", {})),
        )

    def digest(self) -> str:
        """SHA-256 of everything that decides the runs and their columns (not name/description)."""
        d = {k: v for k, v in self.to_dict().items() if k not in ("name", "description")}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()


def replicate_seed(base_seed: int, replicate: int) -> int:
    """The seed of replicate ``replicate`` (the same at every design point).

    Hashed through ``numpy.random.SeedSequence`` rather than ``base_seed + replicate``, so that
    sweeps with neighbouring base seeds share no replicates. The value is recorded in every row;
    ``carry-unwind run --seed <seed>`` with the same configuration reruns the run.
    """
    state = np.random.SeedSequence([int(base_seed), int(replicate)]).generate_state(1, dtype=np.uint32)
    return int(state[0])


def run_id(point: int, replicate: int, seed: int, params: Mapping[str, Any]) -> str:
    """Stable identifier of a run: a hash of its point index, parameter values, replicate and seed.

    The point index is part of it because a design may visit the same parameter values twice
    (Morris trajectories do), and each visit is a separate row of the design.
    """
    key = json.dumps(
        {"point": int(point), "replicate": int(replicate), "seed": int(seed), "params": dict(params)},
        sort_keys=True,
    )
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def load_spec(path: str | Path) -> SweepSpec:
    """Read and validate a sweep specification file (raises :class:`SpecError`)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise SpecError(f"{path}: cannot read the sweep specification: {exc.strerror or exc}") from None
    return parse_spec(text, where=str(path), base_dir=path.parent)


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")


def spec_to_toml(spec: SweepSpec) -> str:
    """The specification as TOML (what ``DIR/spec.toml`` holds when no file text was given)."""
    lines = ["[sweep]"]
    keys = ["name", "description", "scenario", "days", "design", "samples", "replicates", "base_seed", "design_seed"]
    keys += ["second_order"] if spec.design == "saltelli" else ["levels"] if spec.design == "morris" else []
    keys += ["metrics", "timeseries"]
    for key in keys:
        value = getattr(spec, key)
        if value is not None and value != "":
            lines.append(f"{key} = {_toml(value)}")
    if spec.fixed:
        lines += ["", "[fixed]", *(f"{k} = {_toml(v)}" for k, v in spec.fixed.items())]
    lines += ["", "[parameters]"]
    for p in spec.parameters:
        if p.values is not None:
            body = f"values = {_toml(p.values)}"
        else:
            body = f"range = {_toml([p.lo, p.hi])}"
            body += f", num = {p.num}" if p.num is not None else ""
            body += ", log = true" if p.log else ""
        lines.append(f"{p.name} = {{ {body} }}")
    return "\n".join(lines) + "\n"


def _field_kind(name: str, ctx: str) -> str:
    """The type of configuration field ``section.field``; a clear error if there is none."""
    from model.config import SECTIONS

    section, dot, fname = name.partition(".")
    if not dot or section not in SECTIONS:
        raise SpecError(
            f"{ctx}: unknown parameter {name!r}; expected 'section.field' with section one of {', '.join(SECTIONS)}"
        )
    fields = {f.name: f for f in dataclasses.fields(SECTIONS[section])}  # type: ignore[arg-type]
    if fname not in fields:
        close = difflib.get_close_matches(fname, fields, n=1)
        hint = f" (did you mean '{section}.{close[0]}'?)" if close else f"; known fields: {', '.join(sorted(fields))}"
        raise SpecError(f"{ctx}: unknown parameter {name!r}: section {section!r} has no field {fname!r}{hint}")
    if name == "simulation.days":
        raise SpecError(f"{ctx}: 'simulation.days' cannot be set here; the horizon is [sweep] days")
    default = fields[fname].default
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    return "str"


def _flatten(table: Any, ctx: str) -> dict[str, Any]:
    """``{"a.b": v}`` from ``[t] a.b = v``, ``[t.a] b = v`` or ``[t] "a.b" = v``."""
    if not isinstance(table, dict):
        raise SpecError(f"{ctx} must be a table")
    out: dict[str, Any] = {}
    for key, value in table.items():
        if "." in key:
            out[key] = value
        elif isinstance(value, dict) and not (set(value) & set(_PARAM_KEYS)):
            for sub, v in value.items():
                out[f"{key}.{sub}"] = v
        else:
            out[key] = value  # rejected by _field_kind with the list of sections
    return out


def _coerce(value: Any, kind: str, ctx: str) -> Any:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = {
        "bool": isinstance(value, bool),
        "int": number and float(value).is_integer(),
        "float": number,
        "str": isinstance(value, str),
    }[kind]
    if not ok:
        expected = {"bool": "true or false", "int": "an integer", "float": "a number", "str": "a string"}[kind]
        raise SpecError(f"{ctx} = {value!r} is not allowed; expected {expected}")
    if kind == "int":
        return int(value)
    if kind == "float":
        value = float(value)
        if not math.isfinite(value):
            raise SpecError(f"{ctx} = {value!r} is not allowed; expected a finite number")
    return value


def _parse_parameter(name: str, raw: Any, design: str, where: str) -> Parameter:
    ctx = f"{where}: [parameters] {name}"
    kind = _field_kind(name, f"{where}: [parameters]")
    if isinstance(raw, list):
        raw = {"values": raw}
    if not isinstance(raw, dict):
        raise SpecError(
            f"{ctx} = {raw!r} is not allowed; expected {{ values = [...] }} or {{ range = [lo, hi] }} "
            "(with num = N for a grid)"
        )
    unknown = sorted(set(raw) - set(_PARAM_KEYS))
    if unknown:
        raise SpecError(f"{ctx}: unknown key {unknown[0]!r}; allowed: {', '.join(_PARAM_KEYS)}")
    if ("values" in raw) == ("range" in raw):
        raise SpecError(f"{ctx}: give exactly one of 'values' (a list) or 'range' ([lo, hi])")
    log_scale = raw.get("log", False)
    if not isinstance(log_scale, bool):
        raise SpecError(f"{ctx}.log = {log_scale!r} is not allowed; expected true or false")
    if "values" in raw:
        values = raw["values"]
        if not isinstance(values, list) or not values:
            raise SpecError(f"{ctx}.values = {values!r} is not allowed; expected a non-empty list")
        values = [_coerce(v, kind, f"{ctx}.values[{i}]") for i, v in enumerate(values)]
        if len(set(values)) != len(values):
            raise SpecError(f"{ctx}.values = {values!r} repeats a value")
        for key in ("num", "log"):
            if key in raw:
                raise SpecError(f"{ctx}: '{key}' goes with 'range', not with 'values'")
        if design in ("saltelli", "morris"):
            raise SpecError(f"{ctx}: the {design} design needs a continuous 'range = [lo, hi]', not a list of values")
        return Parameter(name=name, kind=kind, values=tuple(values))
    if kind not in ("int", "float"):
        raise SpecError(f"{ctx}: a {kind} field takes 'values', not a 'range'")
    rng = raw["range"]
    if not isinstance(rng, list) or len(rng) != 2:
        raise SpecError(f"{ctx}.range = {rng!r} is not allowed; expected [lo, hi]")
    lo, hi = (_coerce(v, "float", f"{ctx}.range[{i}]") for i, v in enumerate(rng))
    if not lo < hi:
        raise SpecError(f"{ctx}.range = {rng!r} is not allowed; expected lo < hi")
    if log_scale and lo <= 0:
        raise SpecError(f"{ctx}: log = true needs a positive range, got [{lo:g}, {hi:g}]")
    num = raw.get("num")
    if design == "grid":
        if num is None:
            raise SpecError(f"{ctx}: the grid design needs 'num' (grid points) with a 'range', or a 'values' list")
        if isinstance(num, bool) or not isinstance(num, int) or num < 2:
            raise SpecError(f"{ctx}.num = {num!r} is not allowed; expected an integer >= 2")
    elif num is not None:
        raise SpecError(f"{ctx}: 'num' is only used by the grid design (this one is {design!r})")
    p = Parameter(name=name, kind=kind, lo=lo, hi=hi, num=num, log=log_scale)
    if kind == "int" and design == "grid" and len(set(p.grid())) != num:
        raise SpecError(f"{ctx}: range [{lo:g}, {hi:g}] with num = {num} repeats integer values")
    return p


def _check_bounds(p: Parameter, base: Any, where: str) -> None:
    """Every value the parameter can take must be a valid configuration (on top of ``base``)."""
    if p.values is not None:
        probes = [(f"value {v!r}", v) for v in p.values]
    else:
        lo, hi = p._coerce_array(np.array([p.lo, p.hi]))
        probes = [(f"lower bound {lo!r}", lo), (f"upper bound {hi!r}", hi)]
    for what, value in probes:
        try:
            base.with_overrides({p.name: value})
        except ConfigError as exc:
            raise SpecError(f"{where}: [parameters] {p.name}: {what}: {exc}") from None


def _int_key(table: dict, key: str, default: int | None, lo: int, ctx: str) -> int | None:
    value = table.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < lo:
        raise SpecError(f"{ctx} {key} = {value!r} is not allowed; expected an integer >= {lo}")
    return value


def _bool_key(table: dict, key: str, default: bool, ctx: str) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise SpecError(f"{ctx} {key} = {value!r} is not allowed; expected true or false")
    return value


def _load_sweep_scenario(value: Any, where: str, base_dir: Path) -> tuple[Any, str | None]:
    """The scenario and, for a file, its text (a built-in scenario is found by name anywhere)."""
    from model.scenarios import load_scenario, parse_scenario

    if not isinstance(value, str) or not value:
        raise SpecError(f"{where}: [sweep] scenario = {value!r} is not allowed; expected a name or a .toml path")
    path = Path(value) if Path(value).is_absolute() else base_dir / value
    if value.endswith(".toml") or path.exists():
        try:
            text = path.read_text()
        except OSError as exc:
            raise SpecError(f"{where}: [sweep] scenario: cannot read {str(path)!r}: {exc.strerror or exc}") from None
        try:
            return parse_scenario(text, value), text
        except ConfigError as exc:
            raise SpecError(f"{where}: [sweep] scenario: {exc}") from None
    try:
        return load_scenario(value), None
    except ConfigError as exc:
        raise SpecError(f"{where}: [sweep] scenario: {exc}") from None


def parse_spec(text: str, where: str = "<spec>", base_dir: str | Path = ".") -> SweepSpec:
    """Parse and validate a sweep specification.

    Every name is checked against the configuration, and every value a parameter can take
    (its list of values, or both ends of its range) is applied to the scenario's configuration
    with the ``[fixed]`` values, so that an unknown field or an out-of-range bound is reported
    before anything runs, naming the parameter.

    Raises
    ------
    SpecError
        With the file (``where``), the table and the offending key in the message.
    """
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SpecError(f"{where}: malformed TOML: {exc}") from None
    unknown = sorted(set(data) - {"sweep", "parameters", "fixed"})
    if unknown:
        raise SpecError(f"{where}: unknown table {unknown[0]!r}; allowed: [sweep], [parameters], [fixed]")
    sweep = data.get("sweep")
    if not isinstance(sweep, dict):
        raise SpecError(f"{where}: missing [sweep] table (with at least design = one of {', '.join(DESIGNS)})")
    unknown = sorted(set(sweep) - set(_SWEEP_KEYS))
    if unknown:
        close = difflib.get_close_matches(unknown[0], _SWEEP_KEYS, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f"; allowed: {', '.join(_SWEEP_KEYS)}"
        raise SpecError(f"{where}: unknown key {unknown[0]!r} in [sweep]{hint}")
    ctx = f"{where}: [sweep]"
    design = sweep.get("design")
    if design not in DESIGNS:
        raise SpecError(f"{ctx} design = {design!r} is not allowed; expected one of {', '.join(DESIGNS)}")

    scenario, scenario_text = _load_sweep_scenario(sweep.get("scenario", "baseline"), where, Path(base_dir))
    days = _int_key(sweep, "days", scenario.config.simulation.days, 1, ctx)
    replicates = _int_key(sweep, "replicates", 1, 1, ctx)
    base_seed = _int_key(sweep, "base_seed", 1, 0, ctx)
    design_seed = _int_key(sweep, "design_seed", 0, 0, ctx)
    timeseries = _bool_key(sweep, "timeseries", False, ctx)
    second_order = _bool_key(sweep, "second_order", False, ctx)
    levels = _int_key(sweep, "levels", 4, 2, ctx)
    if "second_order" in sweep and design != "saltelli":
        raise SpecError(f"{ctx} second_order is only used by the saltelli design")
    if "levels" in sweep and design != "morris":
        raise SpecError(f"{ctx} levels is only used by the morris design")

    samples = _int_key(sweep, "samples", None, 1, ctx)
    if design == "grid" and samples is not None:
        raise SpecError(f"{ctx} samples is not used by the grid design (its size is the product of the grids)")
    if design != "grid" and samples is None:
        raise SpecError(f"{ctx} the {design} design needs samples = N ({_SWEEP_KEYS['samples']})")
    if design in ("sobol", "saltelli") and samples is not None and samples & (samples - 1):
        raise SpecError(
            f"{ctx} samples = {samples} is not allowed; the {design} design needs a power of two "
            "(Sobol' sequences are balanced only then)"
        )
    if design == "morris" and samples is not None and samples < 2:
        raise SpecError(f"{ctx} samples = {samples} is not allowed; Morris needs at least 2 trajectories")

    metrics = sweep.get("metrics", list(METRICS))
    if not isinstance(metrics, list) or not metrics or not all(isinstance(m, str) for m in metrics):
        raise SpecError(f"{ctx} metrics = {metrics!r} is not allowed; expected a non-empty list of metric names")
    for m in metrics:
        if m not in METRICS:
            close = difflib.get_close_matches(m, METRICS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f"; known: {', '.join(METRICS)}"
            raise SpecError(f"{ctx} metrics: unknown metric {m!r}{hint}")
    if len(set(metrics)) != len(metrics):
        raise SpecError(f"{ctx} metrics lists a metric twice")

    fixed_raw = _flatten(data.get("fixed", {}), f"{where}: [fixed]")
    fixed = {
        name: _coerce(v, _field_kind(name, f"{where}: [fixed]"), f"{where}: [fixed] {name}")
        for name, v in fixed_raw.items()
    }
    try:
        base = scenario.config.with_overrides(fixed)
    except ConfigError as exc:
        raise SpecError(f"{where}: [fixed]: {exc}") from None

    params_raw = _flatten(data.get("parameters", {}), f"{where}: [parameters]")
    if not params_raw:
        raise SpecError(f"{where}: [parameters] is empty; name at least one section.field to vary")
    parameters = []
    for name, raw in params_raw.items():
        if name in fixed:
            raise SpecError(f"{where}: {name!r} is both in [fixed] and in [parameters]")
        p = _parse_parameter(name, raw, design, where)
        _check_bounds(p, base, where)
        parameters.append(p)
    if design == "morris":
        for p in parameters:
            if p.kind == "int" and p.hi - p.lo < levels - 1:
                raise SpecError(
                    f"{where}: [parameters] {p.name}: an integer range needs hi - lo >= levels - 1 = {levels - 1}, "
                    "or rounding merges Morris levels"
                )

    return SweepSpec(
        name=str(sweep.get("name", Path(where).stem)),
        description=str(sweep.get("description", "")),
        design=design,
        parameters=tuple(parameters),
        scenario=sweep.get("scenario", "baseline"),
        scenario_text=scenario_text,
        days=days,
        replicates=replicates,
        base_seed=base_seed,
        design_seed=design_seed,
        samples=samples,
        second_order=second_order,
        levels=levels,
        metrics=tuple(metrics),
        timeseries=timeseries,
        fixed=fixed,
    )


# -- designs ------------------------------------------------------------------------------------


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


# -- running ------------------------------------------------------------------------------------


QUIET_LOGGERS = ("model", "agents", "MESA", "experiments.sweep", "experiments.hypotheses")


@contextlib.contextmanager
def quiet_model_logs(names: Sequence[str] = QUIET_LOGGERS) -> Iterator[None]:
    """Silence the per-run INFO lines (model set-up, scenario events, Mesa steps) while many runs go."""
    loggers = [logging.getLogger(name) for name in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


_SCENARIOS: dict[tuple[str, str | None], Any] = {}


def _scenario(spec: Mapping[str, Any]) -> Any:
    """The spec's scenario, parsed once per process."""
    from model.scenarios import load_scenario, parse_scenario

    key = (spec["scenario"], spec.get("scenario_text"))
    if key not in _SCENARIOS:
        text = key[1]
        _SCENARIOS[key] = parse_scenario(text, key[0]) if text is not None else load_scenario(key[0])
    return _SCENARIOS[key]


def run_one(spec: Mapping[str, Any], task: Mapping[str, Any]) -> dict[str, Any]:
    """Run one task and return its result row (a pure function of its arguments).

    Parameters
    ----------
    spec
        ``SweepSpec.to_dict()`` (plain data, so it pickles to any worker).
    task
        One entry of :func:`make_tasks`.

    Returns
    -------
    dict
        ``run_id, point, replicate, seed``, the parameters, the spec's metrics (floats),
        ``status`` ("ok" or "error"), ``error`` (None, or the exception's type and message) and
        ``version`` (the package version that ran it); with ``timeseries`` also the run's time
        series under ``"_timeseries"`` (the writer stores it and drops the key).
    """
    from model import __version__

    row: dict[str, Any] = {k: task[k] for k in ID_COLUMNS}
    row.update(task["params"])
    timeseries = None
    try:
        from experiments.metrics import run_metrics
        from model.results import run_simulation

        with quiet_model_logs():
            scenario = _scenario(spec)
            config = scenario.config.with_overrides({**spec["fixed"], **task["params"]})
            result = run_simulation(config, scenario=scenario, seed=task["seed"], days=spec["days"])
            values = run_metrics(result.timeseries, result.summary)
        row.update({m: values[m] for m in spec["metrics"]})
        row["status"], row["error"] = STATUS_OK, None
        timeseries = result.timeseries if spec.get("timeseries") else None
    except Exception as exc:  # a failed run is a result too: recorded, and the sweep goes on
        row.update({m: math.nan for m in spec["metrics"]})
        row["status"], row["error"] = STATUS_ERROR, _describe(exc)
    row["version"] = __version__
    if timeseries is not None:
        row[TIMESERIES_KEY] = timeseries
    return row


def _describe(exc: BaseException) -> str:
    """``Type: message (file.py:line in function)``: the innermost frame says where it failed."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    where = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def run_batch(spec: Mapping[str, Any], tasks: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """:func:`run_one` over a few tasks: the unit of work sent to a worker."""
    return [run_one(spec, task) for task in tasks]


def _init_worker() -> None:
    """Initializer of local worker processes: runs before the model (hence numba) is imported."""
    import signal

    os.environ["NUMBA_NUM_THREADS"] = "1"
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    # Ctrl-C reaches the whole process group: the parent alone handles it (writes what is
    # finished, then stops the workers), so the workers do not print tracebacks of their own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _SerialBackend:
    """Runs each batch in this process when it is submitted (debugging, tests, tiny sweeps)."""

    label = "this process"

    def __init__(self) -> None:
        self.workers = 1

    def submit(self, fn: Any, *args: Any) -> concurrent.futures.Future:
        fut: concurrent.futures.Future = concurrent.futures.Future()
        try:
            fut.set_result(fn(*args))
        except Exception as exc:
            fut.set_exception(exc)
        return fut

    def wait(self, futures: Any, timeout: float | None) -> set:
        return {f for f in futures if f.done()}

    def restart(self) -> None:
        pass

    def close(self, cancel: bool, pending: Sequence[Any] = ()) -> None:
        pass


class _LocalBackend:
    """``ProcessPoolExecutor`` with the spawn start method (no fork of a process holding numba/threads)."""

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self.label = f"{workers} local worker process{'es' if workers != 1 else ''}"
        self._start()

    def _start(self) -> None:
        import multiprocessing

        self._pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker
        )

    def submit(self, fn: Any, *args: Any) -> concurrent.futures.Future:
        return self._pool.submit(fn, *args)

    def wait(self, futures: Any, timeout: float | None) -> set:
        done, _ = concurrent.futures.wait(futures, timeout=timeout, return_when=concurrent.futures.FIRST_COMPLETED)
        return done

    def restart(self) -> None:
        self.close(cancel=True)
        self._start()

    def close(self, cancel: bool, pending: Sequence[Any] = ()) -> None:
        if not cancel:
            self._pool.shutdown(wait=True)
            return
        # Python 3.12 cannot terminate a pool's workers through the public API (3.14 adds
        # terminate_workers): stop the queue, let idle workers leave, and end those still busy
        # with a batch, so that a long run does not delay the exit.
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            p.join(timeout=1.0)
        for p in processes:
            if p.is_alive():
                p.terminate()
                p.join(timeout=10)
        self._pool.shutdown(wait=True)  # joins the pool's manager thread, which releases its queues


class _DaskBackend:
    """A ``distributed.Client`` on a LocalCluster started here, or on an existing scheduler."""

    def __init__(self, workers: int, scheduler: str | None) -> None:
        from distributed import Client, LocalCluster

        self._cluster = None
        if scheduler:
            try:
                self._client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError) as exc:
                raise SweepError(f"cannot connect to the Dask scheduler at {scheduler}: {exc}") from None
            n = len(self._client.scheduler_info().get("workers", {}))
            self.workers = max(n, 1)
            self.label = f"the Dask cluster at {scheduler} ({n} worker{'s' if n != 1 else ''})"
        else:
            self._cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=logging.ERROR,
                env={"NUMBA_NUM_THREADS": "1"},  # set before the worker imports numba
            )
            self._client = Client(self._cluster)
            self.workers = workers
            self.label = f"a local Dask cluster of {workers} worker{'s' if workers != 1 else ''}"

    def submit(self, fn: Any, *args: Any) -> Any:
        return self._client.submit(fn, *args, pure=False)

    def wait(self, futures: Any, timeout: float | None) -> set:
        from distributed import wait

        try:
            return set(wait(list(futures), timeout=timeout, return_when="FIRST_COMPLETED").done)
        except TimeoutError:
            return set()

    def restart(self) -> None:
        pass  # Dask's nannies restart dead workers and reschedule their tasks themselves

    def close(self, cancel: bool, pending: Sequence[Any] = ()) -> None:
        # errors while tearing down a cluster (a worker already gone) must not hide the sweep's outcome
        if cancel and pending:
            with contextlib.suppress(Exception):
                self._client.cancel(list(pending))
        with contextlib.suppress(Exception):
            self._client.close()
        if self._cluster is not None:
            with contextlib.suppress(Exception):
                self._cluster.close()


def _backend(executor: str, workers: int, scheduler: str | None) -> Any:
    if executor == "serial":
        return _SerialBackend()
    if executor == "local":
        return _LocalBackend(workers)
    if executor == "dask":
        return _DaskBackend(workers, scheduler)
    raise SpecError(f"executor = {executor!r} is not allowed; expected one of {', '.join(EXECUTORS)}")


def default_workers() -> int:
    """The CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# -- storage ------------------------------------------------------------------------------------


def _schema(spec: SweepSpec) -> Any:
    """The Arrow schema of the result rows: the same for every part file of a sweep."""
    import pyarrow as pa

    types = {"float": pa.float64(), "int": pa.int64(), "bool": pa.bool_(), "str": pa.string()}
    return pa.schema(
        [
            ("run_id", pa.string()),
            ("point", pa.int64()),
            ("replicate", pa.int64()),
            ("seed", pa.int64()),
            *[(p.name, types[p.kind]) for p in spec.parameters],
            *[(m, pa.float64()) for m in spec.metrics],
            ("status", pa.string()),
            ("error", pa.string()),
            ("version", pa.string()),
        ]
    )


def _fsync_dir(path: Path) -> None:
    """Make a rename durable (a killed machine must not lose a part file it reported written)."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _atomic_write(path: Path, write: Any) -> None:
    """``write(file)`` to a temporary name in the same directory, fsync, then rename onto ``path``."""
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex[:8]}-{path.name}")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def _write_json(path: Path, data: Any) -> None:
    text = json.dumps(data, indent=2, allow_nan=False) + "\n"
    _atomic_write(path, lambda f: f.write(text.encode()))


def load_manifest(out_dir: str | Path) -> dict[str, Any]:
    """``DIR/manifest.json`` as a dict (raises SpecError if DIR holds no sweep)."""
    path = Path(out_dir) / MANIFEST_FILE
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise SpecError(f"{out_dir} holds no sweep (no {MANIFEST_FILE})") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise SpecError(f"{path}: cannot read the sweep's manifest: {exc}") from None


def load_design(out_dir: str | Path) -> Any:
    """``DIR/design.parquet``: the design points, one row per point."""
    import pandas as pd

    return pd.read_parquet(Path(out_dir) / DESIGN_FILE, engine="pyarrow")


def _part_files(out: Path) -> list[Path]:
    return sorted((out / RUNS_DIR).glob("part-*.parquet"))


class _Store:
    """The output directory: layout, lock, manifest, part files (see the module docstring)."""

    def __init__(self, out: Path, spec: SweepSpec) -> None:
        self.out = out
        self.spec = spec
        self.runs = out / RUNS_DIR
        self.schema = _schema(spec)
        self._session = uuid.uuid4().hex[:10]
        self._seq = 0

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        self.out.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            yield
            return
        with open(self.out / LOCK_FILE, "a+") as f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SweepError(f"another sweep is writing to {self.out}; wait for it to finish") from None
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)

    def prepare(self, spec_text: str | None, resume: bool) -> tuple[Any, dict[str, Any]]:
        """Create the directory's files, or check that they belong to this spec; returns (design, manifest)."""
        manifest_path = self.out / MANIFEST_FILE
        for tmp in itertools.chain(self.out.glob(".tmp-*"), self.runs.glob(".tmp-*")):
            tmp.unlink(missing_ok=True)  # left by a writer that was killed mid-write
        if manifest_path.exists():
            manifest = load_manifest(self.out)
            done = len(self.done_ids())
            if not resume:
                raise SpecError(
                    f"{self.out} already holds a sweep ({done} of {manifest['n_runs']} runs done); "
                    "pass --resume to continue it, or choose another --out"
                )
            if manifest.get("spec_sha256") != self.spec.digest():
                diff = _spec_diff(manifest["spec"], self.spec.to_dict())
                raise SpecError(
                    f"the specification differs from the sweep in {self.out} ({diff}); "
                    "resume it with the specification it was started with, or choose another --out"
                )
            design = load_design(self.out)
            fresh = design_table(self.spec)
            if not fresh.equals(design):
                log.warning(
                    "the design generated now differs from the stored one (library upgrade?); using the stored design"
                )
            return design, manifest
        if _part_files(self.out):
            raise SpecError(f"{self.out} holds result files but no {MANIFEST_FILE}; choose another --out")
        if resume:
            log.info("nothing to resume in %s: starting the sweep", self.out)
        from model.results import git_commit

        self.runs.mkdir(parents=True, exist_ok=True)
        design = design_table(self.spec)
        _atomic_write(self.out / DESIGN_FILE, lambda f: design.to_parquet(f, engine="pyarrow", index=False))
        text = spec_text if spec_text is not None else spec_to_toml(self.spec)
        _atomic_write(self.out / SPEC_FILE, lambda f: f.write(text.encode()))
        manifest = {
            "format": FORMAT,
            "name": self.spec.name,
            "spec_sha256": self.spec.digest(),
            "spec": self.spec.to_dict(),
            "design": self.spec.design,
            "parameters": self.spec.names,
            "metrics": list(self.spec.metrics),
            "n_points": len(design),
            "replicates": self.spec.replicates,
            "seeds": self.spec.seeds,
            "n_runs": len(design) * self.spec.replicates,
            **_code_identity(),
            "git_commit": git_commit(),
            "created": _now(),
            "sessions": [],
        }
        _write_json(manifest_path, manifest)
        return design, manifest

    def read_status(self) -> Any:
        """``run_id`` and ``status`` of every recorded row (a pandas DataFrame)."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        parts = _part_files(self.out)
        if not parts:
            return pa.table({"run_id": pa.array([], pa.string()), "status": pa.array([], pa.string())}).to_pandas()
        return pa.concat_tables([pq.read_table(p, columns=["run_id", "status"]) for p in parts]).to_pandas()

    def done_ids(self) -> set[str]:
        return set(self.read_status()["run_id"])

    def drop_errors(self) -> int:
        """Remove the error rows (each part file rewritten atomically), so their runs run again."""
        import pyarrow.compute as pc
        import pyarrow.parquet as pq

        dropped = 0
        for part in _part_files(self.out):
            table = pq.read_table(part)
            keep = pc.equal(table["status"], STATUS_OK)
            n_keep = pc.sum(keep).as_py() or 0
            if n_keep == table.num_rows:
                continue
            dropped += table.num_rows - n_keep
            if n_keep == 0:
                part.unlink()
                _fsync_dir(part.parent)
            else:
                kept = table.filter(keep)
                _atomic_write(part, lambda f, t=kept: pq.write_table(t, f))
        return dropped

    def write_rows(self, rows: list[dict[str, Any]]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pylist(rows, schema=self.schema)
        self._seq += 1
        path = self.runs / f"part-{self._session}-{self._seq:06d}.parquet"
        _atomic_write(path, lambda f: pq.write_table(table, f))

    def write_timeseries(self, rid: str, df: Any) -> None:
        folder = self.out / TIMESERIES_DIR
        folder.mkdir(exist_ok=True)
        _atomic_write(folder / f"{rid}.parquet", lambda f: df.to_parquet(f, engine="pyarrow", index=False))

    def record_session(self, session: dict[str, Any], interrupted: bool) -> dict[str, Any]:
        """Append this session's record and the run counts to the manifest."""
        manifest = load_manifest(self.out)
        status = self.read_status()
        complete = len(status) == manifest["n_runs"]
        session["outcome"] = "interrupted" if interrupted else ("complete" if complete else "incomplete")
        manifest["sessions"] = [*manifest.get("sessions", []), session]
        manifest["runs_done"] = len(status)
        manifest["runs_ok"] = int((status["status"] == STATUS_OK).sum())
        manifest["runs_error"] = int((status["status"] == STATUS_ERROR).sum())
        manifest["complete"] = complete
        _write_json(self.out / MANIFEST_FILE, manifest)
        return manifest


def _code_identity() -> dict[str, str]:
    """The package version and a hash of the model's and sectors' source files.

    The version alone does not change with every edit; the source hash does, so a resumed sweep
    can tell whether the code that runs now is the code that ran the recorded runs.
    """
    from model import __version__
    from model._numba_cache import source_hash

    return {"version": __version__, "source_hash": source_hash()}


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _spec_diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> str:
    keys = [k for k in sorted(set(old) | set(new)) if k not in ("name", "description") and old.get(k) != new.get(k)]
    shown = []
    for k in keys[:3]:
        a, b = old.get(k), new.get(k)
        if k == "scenario_text":
            shown.append("the scenario file's contents")
        else:
            shown.append(f"{k}: {json.dumps(a)[:60]} there, {json.dumps(b)[:60]} here")
    return "; ".join(shown) + ("; ..." if len(keys) > 3 else "")


# -- the sweep ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepReport:
    """What a call of :func:`run_sweep` did.

    ``n_done``/``n_ok``/``n_error`` count the whole directory (all sessions); ``n_new`` the runs
    written by this call; ``n_lost`` runs whose worker died repeatedly (rerun with resume).
    ``steady_runs_per_min`` is the rate after the first batch came back (start-up excluded);
    ``where`` says what ran them ("2 local worker processes").
    """

    out_dir: Path
    n_runs: int
    n_done: int
    n_ok: int
    n_error: int
    n_new: int
    n_lost: int
    elapsed_s: float
    startup_s: float | None
    steady_runs_per_min: float | None
    executor: str
    where: str = ""

    @property
    def complete(self) -> bool:
        return self.n_done == self.n_runs


@contextlib.contextmanager
def _deferred_sigint() -> Iterator[None]:
    """Hold Ctrl-C back until the block is done, then raise it.

    A part file written but still in the buffer when KeyboardInterrupt strikes would be written
    again by the final flush: a duplicated run. Python runs signal handlers in the main thread
    only, so swapping the handler there is enough (blocking the signal would not be: the kernel
    may hand it to another thread).
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if received and callable(previous):
            previous(signal.SIGINT, None)


def _restart_pool(backend: Any, queue: deque, pending: dict[Any, Any], restarts: int) -> int:
    """A local worker died (killed, out of memory) and took the pool with it: start a new pool.

    Every batch that was on the dead pool goes back to the front of the queue (none of them
    was recorded, so none is duplicated). Returns the new restart count; raises SweepError
    past MAX_POOL_RESTARTS.
    """
    lost = list(pending.values())
    pending.clear()
    queue.extendleft(reversed(lost))
    restarts += 1
    if restarts > MAX_POOL_RESTARTS:
        raise SweepError(f"worker processes died {restarts} times; stopping (continue with --resume)")
    log.warning("a worker process died; restarting the pool and resubmitting %d runs", sum(len(b) for b in queue))
    backend.restart()
    return restarts


def _harvest(backend: Any, pending: dict[Any, Any], accept: Any) -> None:
    """After Ctrl-C: cancel the queued batches, keep those that finish within GRACE_SECONDS."""
    if backend is None:
        return
    for fut in list(pending):
        if fut.cancel():
            pending.pop(fut)
    deadline = time.monotonic() + GRACE_SECONDS
    while pending and time.monotonic() < deadline:
        for fut in backend.wait(pending, timeout=max(deadline - time.monotonic(), 0.01)):
            pending.pop(fut, None)
            if not fut.cancelled() and fut.exception() is None:
                accept(fut.result())


def _batches(tasks: list[dict[str, Any]], workers: int) -> deque[list[dict[str, Any]]]:
    """Split into batches: at least ~8 per worker (load balance), at most MAX_BATCH runs each."""
    size = max(1, min(MAX_BATCH, len(tasks) // (8 * max(workers, 1))))
    return deque(tasks[i : i + size] for i in range(0, len(tasks), size))


def run_sweep(
    spec: SweepSpec,
    out_dir: str | Path,
    *,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    retry_failed: bool = False,
    progress: bool = True,
    flush_seconds: float = 1.0,
    spec_text: str | None = None,
) -> SweepReport:
    """Run (or resume) a sweep into ``out_dir``.

    Worker processes are started with the spawn method, which imports the calling script again
    in each worker: a script that calls this with the local executor must do so under
    ``if __name__ == "__main__":`` (as with any use of multiprocessing).

    Parameters
    ----------
    spec
        From :func:`load_spec` / :func:`parse_spec`.
    out_dir
        Output directory (created); see the module docstring for its layout.
    executor
        "local" (worker processes), "dask" (a LocalCluster, or ``scheduler``) or "serial".
    workers
        Worker processes for "local" and a local Dask cluster (default: the usable CPU cores).
    scheduler
        Address of a running Dask scheduler (``tcp://host:8786``); implies executor "dask".
    resume
        Continue the sweep already in ``out_dir`` (the same specification), skipping its runs.
    retry_failed
        With ``resume``: run the runs recorded as errors again (their error rows are removed).
    progress
        tqdm progress bar on stderr: runs done, rate, time left.
    flush_seconds
        Longest time a finished run waits in memory before it is written (0: write every batch
        as it arrives). Bounds what a kill can cost: at most this much work is run again.
    spec_text
        The specification file's text, copied to ``DIR/spec.toml`` with its comments.

    Raises
    ------
    SpecError
        ``out_dir`` holds another sweep, or a sweep without ``resume``.
    SweepInterrupted
        Ctrl-C: finished runs were written; the exception says how many.
    SweepError
        The executor failed beyond repair (local worker pool broke repeatedly, unreachable scheduler).
    """
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    t0 = time.perf_counter()
    out = Path(out_dir)
    if scheduler:
        executor = "dask"
    if executor not in EXECUTORS:
        raise SpecError(f"executor = {executor!r} is not allowed; expected one of {', '.join(EXECUTORS)}")
    workers = workers or default_workers()
    store = _Store(out, spec)
    spec_dict = spec.to_dict()
    session: dict[str, Any] = {"id": store._session, "started": _now(), "executor": executor, **_code_identity()}

    with store.lock():
        design, manifest = store.prepare(spec_text, resume)
        if resume and manifest.get("source_hash") not in (None, session["source_hash"]):
            log.warning(
                "the model's source has changed since the sweep started (version %s, source %s; now %s, %s): "
                "the new runs may differ from the recorded ones",
                manifest.get("version"),
                manifest.get("source_hash"),
                session["version"],
                session["source_hash"],
            )
        if retry_failed:
            n = store.drop_errors()
            if n:
                log.info("retrying %d failed run%s", n, "s" if n != 1 else "")
        done = store.done_ids()
        all_tasks = make_tasks(spec, design)
        tasks = [t for t in all_tasks if t["run_id"] not in done]
        n_total = len(all_tasks)
        log.info(
            "sweep %r: %s design, %d points x %d replicates = %d runs of %d days (%s); %d done, %d to run",
            spec.name,
            spec.design,
            len(design),
            spec.replicates,
            n_total,
            spec.days,
            spec.scenario,
            n_total - len(tasks),
            len(tasks),
        )

        n_new = n_lost = restarts = 0
        startup_s: float | None = None
        n_at_startup = 0
        t_last = t0
        interrupted = False
        backend = None
        buffer: list[dict[str, Any]] = []
        pending: dict[Any, list[dict[str, Any]]] = {}
        queue: deque[list[dict[str, Any]]] = deque()
        bar = tqdm(
            total=n_total,
            initial=n_total - len(tasks),
            desc=spec.name,
            unit="run",
            file=sys.stderr,
            disable=not progress or not tasks,
            dynamic_ncols=True,
            smoothing=0.1,
        )
        redirect = logging_redirect_tqdm() if progress else contextlib.nullcontext()
        last_flush = time.monotonic()

        def flush() -> None:
            nonlocal last_flush, n_new
            if buffer:
                with _deferred_sigint():  # written and forgotten together, or the rows are written twice
                    store.write_rows(buffer)
                    n_new += len(buffer)
                    buffer.clear()
            last_flush = time.monotonic()

        def accept(rows: list[dict[str, Any]]) -> None:
            nonlocal startup_s, n_at_startup, t_last
            for row in rows:
                ts = row.pop(TIMESERIES_KEY, None)
                if ts is not None:  # written before its row, so a recorded run always has its series
                    store.write_timeseries(row["run_id"], ts)
                if row["status"] == STATUS_ERROR:
                    log.warning(
                        "run %s (point %d, replicate %d) failed: %s",
                        row["run_id"],
                        row["point"],
                        row["replicate"],
                        row["error"],
                    )
                buffer.append(row)
            t_last = time.perf_counter()
            if startup_s is None:
                startup_s, n_at_startup = t_last - t0, len(rows)
            bar.update(len(rows))

        try:
            with bar, redirect:
                if tasks:
                    backend = _backend(executor, workers, scheduler)
                    session.update(workers=backend.workers, where=backend.label)
                    log.info("running on %s", backend.label)
                    queue = _batches(tasks, backend.workers)
                    in_flight = 1 if executor == "serial" else 2 * backend.workers
                    while queue or pending:
                        try:
                            while queue and len(pending) < in_flight:
                                batch = queue.popleft()
                                pending[backend.submit(run_batch, spec_dict, batch)] = batch
                        except concurrent.futures.process.BrokenProcessPool:
                            queue.appendleft(batch)
                            restarts = _restart_pool(backend, queue, pending, restarts)
                            continue
                        for fut in backend.wait(pending, flush_seconds if flush_seconds > 0 else None):
                            if fut not in pending:
                                continue  # already handled with a broken pool
                            batch = pending.pop(fut)
                            try:
                                rows = fut.result()
                            except concurrent.futures.process.BrokenProcessPool:
                                queue.appendleft(batch)
                                restarts = _restart_pool(backend, queue, pending, restarts)
                                break
                            except Exception as exc:  # e.g. dask KilledWorker: a task kept killing workers
                                n_lost += len(batch)
                                log.error(
                                    "%d runs lost (%s: %s); rerun with --resume", len(batch), type(exc).__name__, exc
                                )
                                continue
                            accept(rows)
                        if buffer and (flush_seconds <= 0 or time.monotonic() - last_flush >= flush_seconds):
                            flush()
        except KeyboardInterrupt:
            interrupted = True
            with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C skips the grace period
                _harvest(backend, pending, accept)
        finally:
            try:
                flush()
            finally:
                if backend is not None:
                    backend.close(cancel=interrupted or bool(pending) or bool(queue), pending=list(pending))
                session.update(finished=_now(), runs_written=n_new, runs_lost=n_lost)
                manifest = store.record_session(session, interrupted)

    elapsed = time.perf_counter() - t0
    steady = None
    if startup_s is not None and t_last - t0 > startup_s and n_new > n_at_startup:
        steady = 60.0 * (n_new - n_at_startup) / (t_last - t0 - startup_s)
    if interrupted:
        raise SweepInterrupted(out, manifest["runs_done"], n_total)
    return SweepReport(
        out_dir=out,
        n_runs=n_total,
        n_done=manifest["runs_done"],
        n_ok=manifest["runs_ok"],
        n_error=manifest["runs_error"],
        n_new=n_new,
        n_lost=n_lost,
        elapsed_s=elapsed,
        startup_s=startup_s,
        steady_runs_per_min=steady,
        executor=executor,
        where=session.get("where", ""),
    )


# -- loading ------------------------------------------------------------------------------------


def load_results(out_dir: str | Path) -> Any:
    """All recorded runs of the sweep in ``out_dir`` as a pandas DataFrame, sorted by point and replicate.

    Columns: ``run_id, point, replicate, seed``, the parameters (dotted names), the metrics,
    ``status, error, version``. Failed runs are included (``status == "error"``, metrics NaN).
    ``df.attrs`` holds the sweep's name, design, parameters, metrics, replicates and run count.

    Raises
    ------
    SpecError
        ``out_dir`` holds no sweep.
    ValueError
        A run id appears twice (the directory was edited by hand: the sweep never writes one twice).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = Path(out_dir)
    manifest = load_manifest(out)
    spec = SweepSpec.from_dict(manifest["spec"])
    schema = _schema(spec)
    parts = _part_files(out)
    table = pa.concat_tables([pq.read_table(p, schema=schema) for p in parts]) if parts else schema.empty_table()
    df = table.to_pandas()
    if df["run_id"].duplicated().any():
        dup = df.loc[df["run_id"].duplicated(), "run_id"].iloc[0]
        raise ValueError(f"{out}: run {dup} is recorded more than once")
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
