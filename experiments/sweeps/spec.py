"""The sweep specification: what varies, over which design, how often, and what is kept.

The format is described in :mod:`experiments.sweeps`; :mod:`experiments.sweeps.parsing` reads
it from TOML, checking every key against the configuration's fields and their ranges.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from experiments.analysis.metrics import METRICS
from model.validation import ConfigError

__all__ = [
    "DESIGNS",
    "FORMAT",
    "Parameter",
    "SweepSpec",
    "SpecError",
    "SweepError",
    "SweepInterrupted",
    "spec_to_toml",
    "replicate_seed",
    "run_id",
]

DESIGNS = ("grid", "lhs", "sobol", "saltelli", "morris")
# the fewest samples (saltelli: base samples N; morris: trajectories) whose sensitivity indices and their
# intervals mean anything (experiments.analysis.sensitivity refuses fewer); they are still wide there
MIN_SENSITIVITY_SAMPLES = {"saltelli": 8, "morris": 4}
FORMAT = 1  # version of the directory layout, recorded in the manifest

ID_COLUMNS = ("run_id", "point", "replicate", "seed")
TAIL_COLUMNS = ("status", "error", "version")
STATUS_OK, STATUS_ERROR = "ok", "error"
TIMESERIES_KEY = "_timeseries"  # a row's time series on its way from the worker to the writer


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
        return self.coerce_values(x)

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
        return self.coerce_values(x)

    def coerce_values(self, x: np.ndarray) -> list[Any]:
        """Numbers → the field's values: rounded to ``int`` for an integer field, else ``float``."""
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
