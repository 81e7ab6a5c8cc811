"""The sweep specification: what varies, over which design, how often, and what is kept.

The format is described in :mod:`experiments.sweeps`; :func:`parse_spec` checks every key
against the configuration's fields and their ranges and says what is wrong, where.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import math
import tomllib
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
    "load_spec",
    "parse_spec",
    "spec_to_toml",
    "replicate_seed",
    "run_id",
]

DESIGNS = ("grid", "lhs", "sobol", "saltelli", "morris")
FORMAT = 1  # version of the directory layout, recorded in the manifest

ID_COLUMNS = ("run_id", "point", "replicate", "seed")
TAIL_COLUMNS = ("status", "error", "version")
STATUS_OK, STATUS_ERROR = "ok", "error"
TIMESERIES_KEY = "_timeseries"  # a row's time series on its way from the worker to the writer

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
