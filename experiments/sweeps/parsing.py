"""Reading a sweep specification from TOML: every key checked, every error says where and why."""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import logging
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from experiments.analysis.metrics import METRICS
from experiments.sweeps.designs import design_table
from experiments.sweeps.spec import DESIGNS, Parameter, SpecError, SweepSpec
from model.config import toml_loads
from model.validation import ConfigError, shown

log = logging.getLogger(__name__)

# a sweep's name: the characters a scenario's name may have (it labels outputs, and may name them)
SWEEP_NAME = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,99}")

__all__ = ["load_spec", "parse_spec", "check_design", "MAX_RUNS", "MAX_DAYS", "MAX_VALUES", "MAX_LEVELS"]

# Caps that turn a typo (num = 10^8, samples = 2^30, days = 10^9) into an error before anything
# is generated. 10^6 runs of the default 500 days take about a CPU-month; days are capped at
# 100,000 trading days (about 400 years). A larger design is allowed with --max-runs.
MAX_RUNS = 1_000_000
MAX_DAYS = 100_000
# The longest 'values' list: a list is written by hand; more values than this are a range with num (a grid)
# or a range sampled by the design. Checked before any value is looked at.
MAX_VALUES = 10_000
# Morris levels: SALib's design is balanced only with an even number of levels (with an odd number it warns
# and never samples the top of the range); a screen gains nothing from more than 100.
MAX_LEVELS = 100

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


def read_spec_text(path: str | Path) -> str:
    """The text of a sweep specification file (a :class:`SpecError` naming it if it cannot be read)."""
    from model.scenarios import read_text_file

    try:
        return read_text_file(Path(path), "sweep specification")
    except ConfigError as exc:
        raise SpecError(str(exc)) from None


def load_spec(path: str | Path, *, max_runs: int = MAX_RUNS, text: str | None = None) -> SweepSpec:
    """Read and validate a sweep specification file (raises :class:`SpecError`); ``text``: the file's
    text, read already (a caller that keeps the text reads the file once: a pipe can be read only once,
    and a file edited in between would make the kept text another specification than the one run)."""
    path = Path(path)
    if text is None:
        text = read_spec_text(path)
    return parse_spec(text, where=str(path), base_dir=path.parent, max_runs=max_runs)


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
    """``{"a.b": v}`` from ``[t] a.b = v``, ``[t.a] b = v`` or ``[t] "a.b" = v``.

    TOML holds ``a.b = 1`` (a table ``a`` with a key ``b``) and ``"a.b" = 2`` (one key with a dot in it) as
    two keys: both name the field ``a.b``, which is then given twice, an error (neither silently wins).
    """
    if not isinstance(table, dict):
        raise SpecError(f"{ctx} must be a table")
    out: dict[str, Any] = {}

    def put(name: str, value: Any) -> None:
        if name in out:
            raise SpecError(
                f"{ctx} {name} is given twice, as {shown(out[name])} and as {shown(value)} (once as the quoted key "
                f'"{name}", once as a dotted key or under a table); expected each field once'
            )
        out[name] = value

    for key, value in table.items():
        if "." in key:
            put(key, value)
        elif isinstance(value, dict) and not (set(value) & set(_PARAM_KEYS)):
            for sub, v in value.items():
                put(f"{key}.{sub}", v)
        else:
            put(key, value)  # rejected by _field_kind with the list of sections
    return out


def _coerce(value: Any, kind: str, ctx: str) -> Any:
    raw_value = value
    if kind == "str" and isinstance(value, (dt.date, dt.time)):
        value = value.isoformat()  # an unquoted TOML date: the configuration holds ISO text
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    ok = {
        "bool": isinstance(value, bool),
        "int": number and (isinstance(value, int) or value.is_integer()),
        "float": number,
        "str": isinstance(value, str),
    }[kind]
    if not ok:
        expected = {"bool": "true or false", "int": "an integer", "float": "a number", "str": "a string"}[kind]
        raise SpecError(f"{ctx} = {shown(value)} is not allowed; expected {expected}")
    if kind == "int":
        return int(value)
    if kind == "float":
        try:
            value = float(value)
        except OverflowError:  # an integer beyond the largest float
            value = math.inf
        if not math.isfinite(value):
            raise SpecError(f"{ctx} = {shown(raw_value)} is not allowed; expected a finite number")
    return value


def _parse_parameter(name: str, raw: Any, design: str, where: str, max_runs: int = MAX_RUNS) -> Parameter:
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
            raise SpecError(f"{ctx}.values = {shown(values)} is not allowed; expected a non-empty list")
        if len(values) > MAX_VALUES:  # before any value is looked at
            raise SpecError(
                f"{ctx}.values is a list of {len(values):,} values, which is not allowed; expected at most "
                f"{MAX_VALUES:,} (for more, give a range: with num = N for a grid)"
            )
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
    if kind == "int" and math.floor(hi) - math.ceil(lo) < 1:  # [10.4, 10.6]: rounding gives values outside it
        raise SpecError(
            f"{ctx}.range = [{lo:g}, {hi:g}] is not allowed; an integer field's range must hold at least two "
            "integers (its values are rounded to integers)"
        )
    num = raw.get("num")
    if design == "grid":
        if num is None:
            raise SpecError(f"{ctx}: the grid design needs 'num' (grid points) with a 'range', or a 'values' list")
        if isinstance(num, bool) or not isinstance(num, int) or num < 2:
            raise SpecError(f"{ctx}.num = {num!r} is not allowed; expected an integer >= 2")
        _check_num(num, ctx, max_runs)
    elif num is not None:
        raise SpecError(f"{ctx}: 'num' is only used by the grid design (this one is {design!r})")
    p = Parameter(name=name, kind=kind, lo=lo, hi=hi, num=num, log=log_scale)
    if kind == "int" and design == "grid" and len(set(p.grid())) != num:
        raise SpecError(f"{ctx}: range [{lo:g}, {hi:g}] with num = {num} repeats integer values")
    return p


_ALONE: dict[type, type] = {}


def _field_problem(name: str, value: Any) -> str | None:
    """What is wrong with ``value`` for the field ``name`` by that field's own rules (its type, range or
    choices), in the configuration's words; None if nothing is.

    The rules that tie a field to others (a reserve floor at most the reserves, leverage at most one over
    the margin) are not applied here: whether a value breaks one depends on the values it meets, which
    only the design's points say (:func:`check_design`). A value is thus never refused here for a
    combination that the sweep does not run.
    """
    from model.config import SECTIONS

    section, _, field = name.partition(".")
    cls = SECTIONS[section]
    alone = _ALONE.get(cls)
    if alone is None:  # the section without its cross-field checks, under its own name (the messages name it)
        attrs = {"_check": lambda self: None, "__module__": cls.__module__, "__qualname__": cls.__qualname__}
        alone = _ALONE[cls] = type(cls.__name__, (cls,), attrs)
    try:
        alone(**{field: value})  # every other field at its default, which is valid
    except ConfigError as exc:
        return str(exc)
    return None


def _check_num(num: Any, ctx: str, max_runs: int) -> None:
    """Refuse a grid's ``num`` beyond the cap on a sweep's runs (a typo such as num = 100000000)."""
    if isinstance(num, int) and not isinstance(num, bool) and num > max_runs:
        raise SpecError(
            f"{ctx}.num = {num} is not allowed; expected at most {max_runs:,} grid points "
            "(the cap on a sweep's runs; raise it with --max-runs)"
        )


def _check_values(p: Parameter, where: str) -> None:
    """Every value of the parameter's list, or both ends of its range, must be allowed for its field on
    its own (:func:`_field_problem`): a clear message naming the parameter and the value."""
    if p.values is not None:
        probes = [(f"value {v!r}", v) for v in p.values]
    else:
        lo, hi = p.coerce_values(np.array([p.lo, p.hi]))
        probes = [(f"lower bound {lo!r}", lo), (f"upper bound {hi!r}", hi)]
    for what, value in probes:
        problem = _field_problem(p.name, value)
        if problem is not None:
            raise SpecError(f"{where}: [parameters] {p.name}: {what}: {problem}")


def _check_morris_integer(p: Parameter, levels: int, where: str) -> None:
    """An integer parameter of a Morris design must have an integer at every level of the design's grid.

    SALib's analysis divides each elementary effect by the nominal step (a level's width); rounded levels
    make the steps uneven ([10, 14] on 4 levels: 10, 11, 13, 14), which biases mu* (a linear metric of
    slope 1 gives 4.5 in place of 4).
    """
    a, b = p.sampling_bounds()
    z = a + (b - a) * np.arange(levels) / (levels - 1)
    x = 10.0**z if p.log else z
    if np.all(np.abs(x - np.rint(x)) <= 1e-9 * np.maximum(1.0, np.abs(x))):
        return
    each = [f"{v:.4g}" for v in x]
    shown_levels = ", ".join(each if levels <= 6 else [*each[:3], "...", *each[-2:]])
    need = (
        f"integer ends whose log-spaced levels are integers too (here {shown_levels})"
        if p.log
        else f"integer ends with hi - lo divisible by levels - 1 = {levels - 1}, so that every level is an "
        f"integer (here {shown_levels})"
    )
    raise SpecError(
        f"{where}: [parameters] {p.name}: range = [{p.lo:g}, {p.hi:g}] is not allowed with levels = {levels}; "
        f"an integer parameter of a Morris design needs {need}: rounded levels make the steps uneven, which "
        "biases mu*"
    )


def _shown_point(params: dict[str, Any]) -> str:
    return ", ".join(f"{name} = {shown(value)}" for name, value in params.items())


def _suspect_points(
    config: Any, fixed: dict[str, Any], days: int, names: list[str], columns: list[list[Any]]
) -> Iterator[int]:
    """The indices of the design points whose configuration fails to build, in order (each distinct point once).

    Builds what :meth:`model.config.ModelConfig.with_overrides` builds, only faster: the sections no
    parameter touches once, the others once per distinct combination of their parameters' values, then the
    whole configuration (its checks across sections) per point. ``with_overrides`` validates every section
    afresh from the same values, so a point passes here exactly when it passes there
    (:func:`check_design` confirms each suspect with ``with_overrides`` itself, for its message).
    """
    from model.config import SECTIONS, ModelConfig

    data = config.to_dict()
    for key, value in {**fixed, "simulation.days": days}.items():
        section, _, field = key.partition(".")
        data[section][field] = value
    touched: dict[str, list[tuple[int, str]]] = {}
    for j, name in enumerate(names):
        section, _, field = name.partition(".")
        touched.setdefault(section, []).append((j, field))
    parts: dict[str, Any] = {}
    try:
        for section, kind in SECTIONS.items():
            if section not in touched:
                parts[section] = kind.from_dict(data[section])
    except ConfigError:  # a section the parameters do not touch: every point fails alike
        yield 0
        return
    built: dict[tuple, Any] = {}
    seen: set[tuple] = set()
    for i in range(len(columns[0]) if columns else 0):
        values = tuple(col[i] for col in columns)
        if values in seen:  # a Morris trajectory visits a point more than once
            continue
        seen.add(values)
        try:
            for section, fields in touched.items():
                key = (section, *(values[j] for j, _ in fields))
                part = built.get(key)
                if part is None:
                    if len(built) > 100_000:  # bounded memory on a very large design
                        built.clear()
                    part = SECTIONS[section].from_dict({**data[section], **{f: values[j] for j, f in fields}})
                    built[key] = part
                parts[section] = part
            ModelConfig(**parts)
        except ConfigError:
            yield i


# The most design points checked before a sweep runs. A larger design has its first CHECKED_POINTS points
# checked, and the points that hold each parameter's lowest and highest value: checking two million points
# took about three minutes. A point left unchecked that is not a valid configuration still stops the sweep
# as bad input, in one line, when it comes to run (experiments.sweeps.executors.run_one).
CHECKED_POINTS = 20_000


def _rows_to_check(design: Any, names: list[str]) -> Any:
    """The design's rows :func:`check_design` checks, in order: all of them up to :data:`CHECKED_POINTS`;
    beyond it the first :data:`CHECKED_POINTS` and the rows of each parameter's extremes."""
    n = len(design)
    if n <= CHECKED_POINTS:
        return np.arange(n)
    extremes = []
    for name in names:
        values = design[name].to_numpy()
        if values.dtype.kind in "iuf":
            extremes += [int(np.argmin(values)), int(np.argmax(values))]
    log.info(
        "the design has %s points: checking the first %s and each parameter's extremes before any run; an "
        "invalid point beyond them stops the sweep when it comes to run",
        f"{n:,}",
        f"{CHECKED_POINTS:,}",
    )
    return np.unique(np.concatenate([np.arange(CHECKED_POINTS), np.asarray(extremes, dtype=np.int64)]))


def check_design(spec: SweepSpec, design: Any, scenario: Any, where: str, fixed_problem: str | None = None) -> None:
    """Refuse (:class:`SpecError`) a design with a point whose configuration is not valid.

    A point's configuration is what its runs build (:func:`experiments.sweeps.designs.point_overrides`:
    the scenario's configuration with the ``[fixed]`` values, the point's parameters and the horizon), so
    every rule that ties fields together is applied to the combinations the design really runs, and to
    no other. The first invalid point is named, with its parameters and the configuration's error, in one
    line; ``fixed_problem`` (the error of the ``[fixed]`` values alone, if any) is reported as the
    ``[fixed]`` table's when the point fails with that same error: it is then not the parameters' doing.
    Each section is built once per distinct combination of its parameters' values: 10,000 points take about
    a second with the parameters in one section, a few seconds with them spread over four. A design larger
    than :data:`CHECKED_POINTS` has a subset checked (:func:`_rows_to_check`).
    """
    from experiments.sweeps.designs import point_overrides

    names = spec.names
    rows = _rows_to_check(design, names)
    columns = [design[name].to_numpy()[rows].tolist() for name in names]  # plain Python values, as runs get them
    points = design["point"].to_numpy()[rows].tolist()
    for i in _suspect_points(scenario.config, spec.fixed, spec.days, names, columns):
        params = {name: columns[j][i] for j, name in enumerate(names)}
        try:
            scenario.config.with_overrides(point_overrides(spec.fixed, params, spec.days))
        except ConfigError as exc:
            if fixed_problem is not None and str(exc) == fixed_problem:
                raise SpecError(f"{where}: [fixed]: {exc}") from None
            raise SpecError(
                f"{where}: [parameters]: design point {points[i]} ({_shown_point(params)}) is not a valid "
                f"configuration: {exc}"
            ) from None
    _check_start_dates(spec, scenario, names, columns, points, where)


def _check_start_dates(spec: SweepSpec, scenario: Any, names: list[str], columns: list[list[Any]],
                       points: list[int], where: str) -> None:  # fmt: skip
    """Refuse a start date (``market.start_date``, fixed or varied) on or after one of the scenario's dated
    events, which could then not fire (:func:`model.scenarios.events_for`): said before any run, not at the
    first run's start with the sweep's folder already written."""
    from model.scenarios import events_for

    key = "market.start_date"
    if key in names:
        j = names.index(key)
        starts = {value: (f"[parameters]: design point {points[i]} ({_shown_point({key: value})})", {key: value})
                  for i, value in enumerate(columns[j])}  # fmt: skip
    elif key in spec.fixed:
        starts = {spec.fixed[key]: ("[fixed]", {key: spec.fixed[key]})}
    else:
        return
    for what, override in starts.values():
        try:
            start = scenario.config.with_overrides(override).market.start_date
            events_for(scenario, start)
        except ConfigError as exc:
            raise SpecError(f"{where}: {what}: {exc}") from None


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
    from model.scenarios import load_scenario, parse_scenario, read_text_file

    if not isinstance(value, str) or not value:
        raise SpecError(f"{where}: [sweep] scenario = {value!r} is not allowed; expected a name or a .toml path")
    path = Path(value) if Path(value).is_absolute() else base_dir / value
    if value.endswith(".toml") or path.exists():
        try:
            text = read_text_file(path, "scenario file")
            return parse_scenario(text, value), text
        except ConfigError as exc:
            raise SpecError(f"{where}: [sweep] scenario: {exc}") from None
    try:
        return load_scenario(value), None
    except ConfigError as exc:
        raise SpecError(f"{where}: [sweep] scenario: {exc}") from None


def _grid_count(raw: Any) -> int:
    """How many grid values a parameter's TOML entry gives (its list's length, or its ``num``), read before any
    value is looked at; 1 for an entry that is malformed (parsing it says why)."""
    if isinstance(raw, dict):
        values, num = raw.get("values"), raw.get("num")
        if isinstance(values, list):
            return max(len(values), 1)
        if isinstance(num, int) and not isinstance(num, bool) and num > 0:
            return num
        return 1
    return max(len(raw), 1) if isinstance(raw, list) else 1


def _check_size(
    design: str,
    counts: list[int],
    samples: int | None,
    replicates: int,
    second_order: bool,
    max_runs: int,
    ctx: str,
) -> None:
    """Refuse a design of more than ``max_runs`` runs, counted without generating it (``counts``: each
    parameter's number of grid values, used by the grid design)."""
    d = len(counts)
    if design == "grid":
        points = math.prod(counts)
    elif design == "saltelli":
        points = (samples or 0) * (2 * d + 2 if second_order else d + 2)
    elif design == "morris":
        points = (samples or 0) * (d + 1)
    else:
        points = samples or 0
    runs = points * replicates
    if runs > max_runs:
        raise SpecError(
            f"{ctx} the {design} design makes {points:,} points x {replicates:,} replicates = {runs:,} runs; "
            f"expected at most {max_runs:,} (raise the cap with --max-runs if you mean it)"
        )


def parse_spec(text: str, where: str = "<spec>", base_dir: str | Path = ".", *, max_runs: int = MAX_RUNS) -> SweepSpec:
    """Parse and validate a sweep specification.

    Every name is checked against the configuration, and every value a parameter can take (its list
    of values, or both ends of its range) against its field's own type and range, so that an unknown
    field or an out-of-range bound is reported before anything runs, naming the parameter. Then the
    design is generated and every point's configuration built as its runs build it
    (:func:`check_design`): a rule that ties fields together (a reserve floor at most the reserves) is
    applied to the combinations the design runs, and a value is never refused for a combination it
    does not run.

    A design of more than ``max_runs`` runs (points x replicates), a ``values`` list of more than
    :data:`MAX_VALUES` values and a horizon of more than :data:`MAX_DAYS` days are refused before any
    value is looked at, and before the design is generated.

    Raises
    ------
    SpecError
        With the file (``where``), the table and the offending key in the message.
    """
    try:
        data = toml_loads(text, where)  # malformed TOML, an integer beyond tomllib's 4,300 digits
    except ConfigError as exc:
        raise SpecError(str(exc)) from None
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
    if days is not None and days > MAX_DAYS:
        raise SpecError(
            f"{ctx} days = {days} is not allowed; expected at most {MAX_DAYS:,} trading days (about 400 years)"
        )
    try:  # the horizon on the scenario alone: its own error is [sweep]'s, not [fixed]'s
        scenario.config.with_overrides({"simulation.days": days})
    except ConfigError as exc:
        raise SpecError(f"{where}: [sweep] days: {exc}") from None
    replicates = _int_key(sweep, "replicates", 1, 1, ctx)
    if replicates is not None and replicates > max_runs:
        raise SpecError(
            f"{ctx} replicates = {replicates} is not allowed; expected at most {max_runs:,} "
            "(the cap on a sweep's runs; raise it with --max-runs)"
        )
    base_seed = _int_key(sweep, "base_seed", 1, 0, ctx)
    design_seed = _int_key(sweep, "design_seed", 0, 0, ctx)
    timeseries = _bool_key(sweep, "timeseries", False, ctx)
    second_order = _bool_key(sweep, "second_order", False, ctx)
    if "second_order" in sweep and design != "saltelli":
        raise SpecError(f"{ctx} second_order is only used by the saltelli design")
    if "levels" in sweep and design != "morris":
        raise SpecError(f"{ctx} levels is only used by the morris design")
    levels = sweep.get("levels", 4)
    if isinstance(levels, bool) or not isinstance(levels, int) or not 2 <= levels <= MAX_LEVELS or levels % 2:
        raise SpecError(
            f"{ctx} levels = {shown(levels)} is not allowed; expected an even integer from 2 to {MAX_LEVELS} "
            "(SALib's Morris design is balanced only with an even number of levels: with an odd number the top "
            "of each range is never sampled)"
        )

    samples = _int_key(sweep, "samples", None, 1, ctx)
    if samples is not None and samples > max_runs:
        raise SpecError(
            f"{ctx} samples = {samples} is not allowed; expected at most {max_runs:,} "
            "(the cap on a sweep's runs; raise it with --max-runs)"
        )
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
    twice = sorted({m for m in metrics if metrics.count(m) > 1})
    if twice:
        raise SpecError(f"{ctx} metrics lists {twice[0]!r} twice; expected each metric once")
    for key in ("name", "description"):
        text = sweep.get(key)
        if text is not None and (not isinstance(text, str) or any(ord(c) < 32 or ord(c) == 127 for c in text)):
            raise SpecError(
                f"{ctx} {key} = {text!r} is not allowed; expected a string on one line (no control characters)"
            )
    name = sweep.get("name")
    if name is not None and not SWEEP_NAME.fullmatch(name):
        raise SpecError(
            f"{ctx} name = {name!r} is not allowed; expected 1-100 letters, digits, '_', '-' or '.' (not first), "
            "as for scenario names"
        )

    fixed_raw = _flatten(data.get("fixed", {}), f"{where}: [fixed]")
    fixed = {
        name: _coerce(v, _field_kind(name, f"{where}: [fixed]"), f"{where}: [fixed] {name}")
        for name, v in fixed_raw.items()
    }
    for name, value in fixed.items():
        problem = _field_problem(name, value)
        if problem is not None:
            raise SpecError(f"{where}: [fixed]: {problem}")
    try:  # the [fixed] values and the horizon on the scenario: whether they hold with the parameters is
        # decided by the design's points (check_design), which say so as the [fixed] table's error if they fail alike
        scenario.config.with_overrides({**fixed, "simulation.days": days})
        fixed_problem = None
    except ConfigError as exc:
        fixed_problem = str(exc)

    params_raw = _flatten(data.get("parameters", {}), f"{where}: [parameters]")
    if not params_raw:
        raise SpecError(f"{where}: [parameters] is empty; name at least one section.field to vary")
    # the size first, from the lengths alone: a huge list or grid is refused before any value is looked at
    if design == "grid":
        for name, raw in params_raw.items():
            _check_num(raw.get("num") if isinstance(raw, dict) else None, f"{where}: [parameters] {name}", max_runs)
    counts = [_grid_count(raw) for raw in params_raw.values()]
    _check_size(design, counts, samples, replicates, second_order, max_runs, ctx)
    parameters = []
    for name, raw in params_raw.items():
        if name in fixed:
            raise SpecError(f"{where}: {name!r} is both in [fixed] and in [parameters]")
        parameters.append(_parse_parameter(name, raw, design, where, max_runs))
    for p in parameters:
        _check_values(p, where)
        if design == "morris" and p.kind == "int":
            _check_morris_integer(p, levels, where)

    spec = SweepSpec(
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
    try:
        design_points = design_table(spec)
    except ImportError:  # SALib is not installed: no design, and nothing runs (the command line says what to install)
        if fixed_problem is not None:
            raise SpecError(f"{where}: [fixed]: {fixed_problem}") from None
        return spec
    check_design(spec, design_points, scenario, where, fixed_problem)
    return spec
