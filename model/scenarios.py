"""Named, declarative scenarios: TOML files with overrides and a timeline of events.

A scenario file::

    name = "my_scenario"
    description = "one line"
    [overrides.hedge_funds]          # any ModelConfig section and field
    max_leverage = 15.0
    [[events]]
    day = 60                         # fires before day 60's clearing (or: date = 2024-08-05)
    kind = "us_growth_news"
    surprise_sd = -3.0               # event parameters (see EVENT_KINDS)
    source = "where the number comes from"

A file holds at most :data:`MAX_EVENTS` (100,000) events. Built-in scenarios live in
``model/scenarios/``; ``load_scenario`` also takes a path, so a user writes a new scenario without
touching code.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from model.calendar import ISO_DATE, TradingCalendar, iso_date
from model.config import SECTIONS as SECTION_TYPES
from model.config import ModelConfig, SimulationConfig, dates_as_text, toml_loads
from model.files import path_problem
from model.validation import ConfigError, read_text_file, shown

__all__ = [
    "CUSTOM_CONFIGURATION",
    "custom_scenario",
    "is_custom",
    "Scenario",
    "ScenarioEvent",
    "EVENT_KINDS",
    "DECISION_KINDS",
    "firing_order",
    "OBSERVED_KINDS",
    "SCRIPTED_KINDS",
    "MARKED_KINDS",
    "MARKED_FIELDS",
    "check_event",
    "load_scenario",
    "events_for",
    "list_scenarios",
    "report_late_events",
    "read_text_file",
    "SCENARIO_DIR",
]

SCENARIO_DIR = Path(__file__).with_name("scenarios")
log = logging.getLogger(__name__)

# kind -> {parameter: (lo, hi)}
EVENT_KINDS: dict[str, dict[str, tuple[float, float]]] = {
    "risk_shock": {"log_jump": (-5.0, 5.0)},
    "boj_rate": {"rate": (-0.05, 0.3)},
    "us_short_rate": {"rate": (-0.05, 0.3)},
    "fed_path_news": {"change_pa": (-0.05, 0.05)},
    "boj_path_news": {"change_pa": (-0.05, 0.05)},
    "us_growth_news": {"surprise_sd": (-10.0, 10.0)},
    "us_equity_news": {"log_change": (-0.5, 0.5)},
    "trade_flow": {"usd_bn": (-10_000.0, 10_000.0)},
    "supplementary_budget": {"jpy_tn": (0.0, 500.0)},
    "mof_intervention": {"jpy_tn": (-100.0, 100.0)},
    "commodity_shock": {"inflation_pa": (-0.2, 0.2)},
    "us_inflation_expectations": {"rate": (-0.05, 0.3)},
    "superlong_shock": {"spread_pa": (-0.05, 0.05)},
    "ust2y_observed": {"yield_pa": (-0.01, 0.17)},
}
# Policy decisions: on a day with other events they fire first, since a decision re-anchors the expected
# path at the rate decided (model.market.ExpectedPath.decide) and would erase news about the path
# applied before it on the same day (boj_hike_2024 has a decision and its guidance on 31 Jul 2024).
DECISION_KINDS = frozenset({"boj_rate", "us_short_rate"})


def firing_order(event: ScenarioEvent) -> tuple[int, bool]:
    """The sort key of a scenario's events: by day, a day's policy decisions first, then the file's order."""
    return event.day, event.kind not in DECISION_KINDS


# Kinds that feed an observed market price (an outcome of the model) back in as an input. A scenario may
# use them only if its name says it is conditional on that observation, so no result from such a run
# passes for one built from inputs alone.
OBSERVED_KINDS = frozenset({"ust2y_observed"})
# Kinds that set an outcome of the model by hand: ``risk_shock`` moves the risk index, which the model
# prices from balance sheets and the day's moves. They serve experiments on sentiment; no shipped
# scenario uses them.
SCRIPTED_KINDS = frozenset({"risk_shock"})
# Every kind that puts an outcome in: the word a scenario's name must contain to use it, and what it does.
MARKED_KINDS: dict[str, tuple[str, str]] = {
    **dict.fromkeys(OBSERVED_KINDS, ("conditional", "sets the model from an observed market price")),
    **dict.fromkeys(SCRIPTED_KINDS, ("sentiment", "sets the risk index by hand, an experiment on sentiment")),
}
# Fields whose value other than their default puts an outcome in by assumption: the word a scenario's name must
# contain to set them, and what they do. macro.fiscal_fx_premium weakens the yen after fiscal news with no
# mechanism behind it: the fiscal-dominance thesis's answer (H2), so no scenario that does not say so may set it.
MARKED_FIELDS: dict[tuple[str, str], tuple[object, str, str]] = {
    ("macro", "fiscal_fx_premium"): (0.0, "premium", "weakens the yen after fiscal news by assumption (no mechanism)"),
}


@dataclass(frozen=True)
class ScenarioEvent:
    day: int
    kind: str
    params: dict[str, float]
    source: str = ""
    date: dt.date | None = None  # the date a scenario file gave (None: given as a day); see events_for


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    config: ModelConfig
    events: tuple[ScenarioEvent, ...] = field(default=())
    path: str = ""


# how a run of a configuration given with no scenario is named where a scenario's name would be
CUSTOM_CONFIGURATION = "custom configuration"


def custom_scenario(config: ModelConfig) -> Scenario:
    """The scenario of a run of ``config`` given with no scenario: none, named :data:`CUSTOM_CONFIGURATION`,
    with no events and no file (a message names such a run without the word "scenario")."""
    return Scenario(name=CUSTOM_CONFIGURATION, description="a configuration given with no scenario", config=config)


def is_custom(spec: Scenario) -> bool:
    """Whether ``spec`` is :func:`custom_scenario`'s: no scenario."""
    return spec.name == CUSTOM_CONFIGURATION and not spec.path and not spec.events


# the late events the warning names, the first few in day order (then "…"): the line stays short for any count
LATE_EVENTS_LISTED = 5
# the most [[events]] a scenario file may hold: generous (a scenario with an event every trading day of
# 400 years has about 100,000), and it keeps an absurd file from taking minutes and gigabytes to parse
MAX_EVENTS = 100_000

_REPORTED_LATE: set[tuple] = set()  # (scenario, horizon, its late events) already reported in this process


def report_late_events(scenario: Scenario, days: int, warn: Callable[[str], None] | None = None) -> None:
    """Report the scenario's events after the last simulated day, which never fire (an event is never
    dropped silently). ``warn`` takes the message and is always called (a command's own warning);
    without it the module's logger warns once per process for each scenario, horizon and set of
    such events, and not at all after a ``warn`` for the same (so a model a command builds does not
    repeat the command's warning)."""
    late = [e for e in scenario.events if e.day > days]
    if not late:
        return
    key = (scenario.name, scenario.path, days, tuple((e.kind, e.day) for e in late))
    if key in _REPORTED_LATE and warn is None:
        return
    _REPORTED_LATE.add(key)
    listed = ", ".join(f"{e.kind.replace('_', ' ')} on day {e.day}" for e in late[:LATE_EVENTS_LISTED])
    if len(late) > LATE_EVENTS_LISTED:
        listed += f", … ({len(late) - LATE_EVENTS_LISTED:,} more)"
    (warn or log.warning)(
        f"scenario {scenario.name}: {len(late):,} event{'s' if len(late) != 1 else ''} outside the horizon "
        f"of {days} trading days, not simulated: {listed}"
    )


class _Lines:
    """Where each table and key of a TOML text stands (1-based lines), for error messages.

    A light scan, not a parser: headers ``[a.b]`` and ``[[a]]`` set the current table (array
    tables are numbered ``a[0]``, ``a[1]``...); ``key = value`` lines are recorded under it.
    """

    _header = re.compile(r"^\s*(\[\[?)\s*([A-Za-z0-9_.\-\" ]+?)\s*\]\]?\s*(#.*)?$")
    _key = re.compile(r"^\s*([A-Za-z0-9_\-\.\"]+)\s*=")

    def __init__(self, text: str) -> None:
        self.tables: dict[str, int] = {}
        self.keys: dict[tuple[str, str], int] = {}
        counts: dict[str, int] = {}
        table = ""
        for n, line in enumerate(text.splitlines(), start=1):
            if m := self._header.match(line):
                name = m.group(2).replace('"', "").replace(" ", "")
                if m.group(1) == "[[":
                    i = counts.get(name, 0)
                    counts[name] = i + 1
                    name = f"{name}[{i}]"
                table = name
                self.tables.setdefault(table, n)
            elif m := self._key.match(line):
                dotted = m.group(1).replace('"', "")
                *prefix, key = dotted.split(".")
                full = ".".join([table, *prefix]) if table else ".".join(prefix)
                self.keys.setdefault((full, key), n)
                self.tables.setdefault(full, n)

    def key(self, table: str, key: str) -> int | None:
        return self.keys.get((table, key))

    def table(self, table: str) -> int | None:
        return self.tables.get(table)


# The latest day an event may name: the longest run the configuration allows (simulation.days).
MAX_EVENT_DAY: int = next(f for f in dataclasses.fields(SimulationConfig) if f.name == "days").metadata["hi"]

# A scenario's name becomes part of file and directory names (out/<name>-seed1): letters, digits, '_', '-', '.'.
_NAME = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]{0,99}")
NAME_RULE = "a name of 1 to 100 letters, digits, '_', '-' and '.', not starting with '.'"


def _at(where: str, line: int | None) -> str:
    return f"{where}, line {line}" if line else where


def _checked_fields(kind: Any, fields: Mapping[str, Any], at: Callable[[str | None], str]) -> dict[str, float]:
    """An event's kind and fields checked, the fields as Python floats: a known kind, only its fields, each
    a number in its range, none missing. ``at(key)`` says where a field (``None``: the event) stands in
    the error's message. Shared by a scenario file's events and those built in code (:func:`check_event`)."""
    if not isinstance(kind, str) or kind not in EVENT_KINDS:
        raise ConfigError(f"{at('kind')}.kind = {kind!r} is not allowed; expected one of {', '.join(EVENT_KINDS)}")
    spec = EVENT_KINDS[kind]
    params = {}
    for key, value in fields.items():
        if key not in spec:
            raise ConfigError(f"{at(key)}: unknown field {key!r} for kind {kind!r}; allowed: {', '.join(spec)}")
        lo, hi = spec[key]
        if (
            isinstance(value, (bool, np.bool_))
            or not isinstance(value, (int, float, np.integer, np.floating))
            or not (lo <= value <= hi)
        ):
            raise ConfigError(f"{at(key)}.{key} = {shown(value)} is not allowed; expected a number in [{lo:g}, {hi:g}]")
        params[key] = float(value)
    missing = set(spec) - set(params)
    if missing:
        raise ConfigError(f"{at(None)}: missing field {sorted(missing)[0]!r} for kind {kind!r}")
    return params


def _unmarked(kind: str, scenario_name: str) -> str | None:
    """Why ``kind`` may not be among the events of a scenario named ``scenario_name`` (:data:`MARKED_KINDS`:
    a kind that puts an outcome in needs its word in the name), or ``None``."""
    mark, does = MARKED_KINDS.get(kind, (None, None))
    if mark is None or mark in scenario_name:
        return None
    return (
        f"{kind!r} {does} (an outcome of the model, not an input), so it is allowed only in a scenario whose name "
        f"contains {mark!r}; name = {scenario_name!r}"
    )


def _parse_event(raw: Any, index: int, where: str, lines: _Lines, calendar: TradingCalendar) -> ScenarioEvent:
    table = f"events[{index}]"

    def ctx(key: str | None = None) -> str:
        line = (lines.key(table, key) if key else None) or lines.table(table)
        return f"{_at(where, line)}: events[{index}]"

    if not isinstance(raw, dict):
        raise ConfigError(f"{ctx()} must be a table with 'day' (or 'date') and 'kind'")
    if "date" in raw:
        if "day" in raw:
            raise ConfigError(f"{ctx('date')}: give either 'day' or 'date', not both")
        date = raw["date"]
        # a TOML date (2024-08-05) or its text ("2024-08-05"); not a time of day, nor a number (20240805)
        if (
            isinstance(date, dt.datetime)
            or not isinstance(date, (dt.date, str))
            or (isinstance(date, str) and not ISO_DATE.fullmatch(date))
        ):
            raise ConfigError(
                f"{ctx('date')}.date = {shown(date.isoformat() if isinstance(date, dt.date) else date)} is not "
                "allowed; expected a date without a time, "
                "YYYY-MM-DD (an event fires before the day's trading)"
            )
        try:
            dated = date if isinstance(date, dt.date) else iso_date(date)
            day = calendar.day_of(dated)
        except (ValueError, OverflowError):
            raise ConfigError(
                f"{ctx('date')}.date = {date!r} is not allowed; expected an ISO date YYYY-MM-DD"
            ) from None
        if day < 1:
            raise ConfigError(
                f"{ctx('date')}.date = {date!s} is not after the scenario's start ({calendar.date(0)}); "
                "events must fall on trading day 1 or later"
            )
        if day > MAX_EVENT_DAY:
            raise ConfigError(
                f"{ctx('date')}.date = {date!s} is trading day {day:,}, after the longest run allowed; expected a "
                f"date at most {MAX_EVENT_DAY:,} trading days after the scenario's start ({calendar.date(0)})"
            )
    else:
        dated = None
        day = raw.get("day")
        if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= MAX_EVENT_DAY:
            raise ConfigError(
                f"{ctx('day')}.day = {shown(day)} is not allowed; expected an integer from 1 to {MAX_EVENT_DAY:,} "
                "(the longest run simulation.days allows)"
            )
    kind = raw.get("kind")
    fields = {key: value for key, value in raw.items() if key not in ("day", "date", "kind", "source")}
    params = _checked_fields(kind, fields, ctx)
    source = _text(
        raw.get("source", ""), f"{ctx('source')}.source",
        'a string saying where the event comes from, e.g. source = "BoJ statement, 31 July 2024"',
    )  # fmt: skip
    return ScenarioEvent(day=day, kind=kind, params=params, source=source, date=dated)


def _text(value: Any, where: str, expected: str) -> str:
    """``value`` if it is a string; else a ConfigError naming ``where`` (the field), the value and ``expected``."""
    if not isinstance(value, str):
        raise ConfigError(f"{where} = {shown(value)} is not allowed; expected {expected}")
    return value


def check_event(event: Any, scenario_name: str | None = None, where: str = "event") -> ScenarioEvent:
    """Check an event built in code as a scenario file's events are checked: its day, kind and fields,
    each field a number in its kind's range; with ``scenario_name``, also that a kind which sets an
    outcome by hand appears only in a scenario whose name says so (:data:`MARKED_KINDS`), the rule for
    a scenario's own events (an experiment or the app may still apply such a kind to a run). Returns the
    event as a file's would be: its day a Python ``int`` and its fields Python floats (a NumPy ``float32``
    field would otherwise carry its type into the market's state). Raises :class:`ConfigError` naming
    the field.

    >>> check_event(ScenarioEvent(day=3, kind="boj_rate", params={"rate": 0.0025}), "baseline").params
    {'rate': 0.0025}
    >>> check_event(ScenarioEvent(day=3, kind="boj_rate", params={"rate": float("nan")}), "baseline")
    Traceback (most recent call last):
    ...
    model.validation.ConfigError: event.rate = nan is not allowed; expected a number in [-0.05, 0.3]
    """
    if not isinstance(event, ScenarioEvent):
        raise ConfigError(f"{where} = {shown(event)} is not allowed; expected a model.scenarios.ScenarioEvent")
    day = event.day
    if isinstance(day, (bool, np.bool_)) or not isinstance(day, (int, np.integer)) or not 1 <= day <= MAX_EVENT_DAY:
        raise ConfigError(f"{where}.day = {shown(day)} is not allowed; expected an integer from 1 to {MAX_EVENT_DAY:,}")
    if not isinstance(event.params, Mapping):
        raise ConfigError(
            f"{where}.params = {shown(event.params)} is not allowed; expected a mapping of field to number"
        )
    params = _checked_fields(event.kind, event.params, lambda key: where)
    problem = _unmarked(event.kind, scenario_name) if scenario_name is not None else None
    if problem is not None:
        raise ConfigError(f"{where}.kind = {problem}")
    return dataclasses.replace(event, day=int(day), params=params)


def events_for(scenario: Scenario, start_date: str) -> tuple[ScenarioEvent, ...]:
    """The scenario's events for a run whose day 0 is ``start_date``.

    An event the scenario file dated fires on its date: when a run starts on another date than the
    scenario's (``--set market.start_date=...``), its day is that date's trading day in the run's
    calendar, and a dated event on or before the run's start is an error (it cannot fire). Events given
    as a day keep their day, and so does an event whose day was changed after loading (its day no longer
    that of its date). Raises :class:`ConfigError`.
    """
    own = scenario.config.market.start_date
    if start_date == own or not any(e.date is not None for e in scenario.events):
        return scenario.events
    before, after = TradingCalendar(own), TradingCalendar(start_date)
    moved = []
    for event in scenario.events:
        if event.date is None or before.day_of(event.date) != event.day:
            moved.append(event)
            continue
        day = after.day_of(event.date)
        if day < 1:
            raise ConfigError(
                f"market.start_date = {start_date!r} is not allowed with scenario {scenario.name}: its "
                f"{event.kind} event is dated {event.date}, on or before that start, and could not fire; "
                f"expected a start before {event.date} (the scenario's own is {own})"
            )
        moved.append(dataclasses.replace(event, day=day))
    return tuple(sorted(moved, key=firing_order))


def parse_scenario(text: str, where: str, base: ModelConfig | None = None) -> Scenario:
    data = toml_loads(text, where)
    if not data:
        raise ConfigError(
            f"{where} is empty (no name, description, overrides or events); expected a scenario file, e.g. "
            'name = "my_scenario" with [overrides.SECTION] tables and [[events]] (see the built-in scenarios)'
        )
    lines = _Lines(text)
    allowed = {"name", "description", "overrides", "events"}
    for key in data:
        if key not in allowed:
            line = lines.key("", key) or lines.table(key)
            raise ConfigError(
                f"{_at(where, line)}: unknown top-level field {key!r}; allowed: {', '.join(sorted(allowed))}"
            )
    overrides = dates_as_text(data.get("overrides", {}))
    base = base or ModelConfig()
    merged = base.to_dict()
    if not isinstance(overrides, dict):
        raise ConfigError(f"{_at(where, lines.key('', 'overrides'))}: 'overrides' must be a table of sections")
    for section, values in overrides.items():
        line = lines.table(f"overrides.{section}") or lines.key("overrides", section)
        if section not in merged:
            raise ConfigError(
                f"{_at(where, line)}: unknown section {section!r} in overrides; known: {', '.join(merged)}"
            )
        if not isinstance(values, dict):
            raise ConfigError(
                f"{_at(where, line)}: overrides.{section} = {values!r} is not allowed; expected a table "
                f"[overrides.{section}] of fields"
            )
        for key, value in values.items():
            if key not in merged[section]:
                raise ConfigError(
                    f"{_at(where, lines.key(f'overrides.{section}', key))}: unknown field {key!r} in "
                    f"[overrides.{section}]; known: {', '.join(sorted(merged[section]))}"
                )
            merged[section][key] = value
    name = _name(data, where, lines)
    for (section, key), (default, mark, does) in MARKED_FIELDS.items():
        value = overrides.get(section, {}).get(key, default) if isinstance(overrides.get(section), dict) else default
        if value != default and mark not in name:
            raise ConfigError(
                f"{_at(where, lines.key(f'overrides.{section}', key))}: {section}.{key} = {shown(value)} {does}, an "
                f"outcome of the model, so it is allowed only in a scenario whose name contains {mark!r}; "
                f"name = {name!r}"
            )
    try:
        config = ModelConfig.from_dict(merged)
    except ConfigError as exc:
        # point at the line of the offending field: the messages start "section.field = value" (or "... and")
        msg = str(exc)
        line = None
        if (m := re.match(r"(\w+)\.(\w+)(?: = | and )", msg)) and m.group(1) in SECTION_TYPES:
            line = lines.key(f"overrides.{m.group(1)}", m.group(2))
        raise ConfigError(f"{_at(where, line)}: {msg}") from None
    raw_events = data.get("events", [])
    if not isinstance(raw_events, list):
        raise ConfigError(f"{_at(where, lines.key('', 'events'))}: 'events' must be an array of tables ([[events]])")
    if len(raw_events) > MAX_EVENTS:
        raise ConfigError(
            f"{_at(where, lines.table('events[0]'))}: events = {len(raw_events):,} tables is not allowed; expected "
            f"at most {MAX_EVENTS:,} [[events]] in a scenario file"
        )
    calendar = TradingCalendar(config.market.start_date)
    parsed = [_parse_event(e, i, where, lines, calendar) for i, e in enumerate(raw_events)]
    description = _text(data.get("description", ""), f"{_at(where, lines.key('', 'description'))}: description",
                        "a string")  # fmt: skip
    for i, event in enumerate(parsed):
        problem = _unmarked(event.kind, name)
        if problem is not None:
            raise ConfigError(f"{_at(where, lines.key(f'events[{i}]', 'kind'))}: events[{i}].kind = {problem}")
    events = tuple(sorted(parsed, key=firing_order))
    return Scenario(name=name, description=description, config=config, events=events, path=where)


def _name(data: dict[str, Any], where: str, lines: _Lines) -> str:
    """The scenario's ``name`` (default: the file name without .toml), checked: it names output directories."""
    if "name" not in data:
        stem = Path(where).stem
        if not _NAME.fullmatch(stem):
            raise ConfigError(
                f"{where}: the file name {stem!r} is not allowed as the scenario's name (the default); expected "
                f'{NAME_RULE}; rename the file or add name = "..."'
            )
        return stem
    name = data["name"]
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ConfigError(
            f"{_at(where, lines.key('', 'name'))}: name = {shown(name)} is not allowed; expected {NAME_RULE}"
        )
    return name


def list_scenarios() -> dict[str, str]:
    """Built-in scenario names and their one-line descriptions."""
    out = {}
    for path in sorted(SCENARIO_DIR.glob("*.toml")):
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        out[path.stem] = str(data.get("description", ""))
    return out


def load_scenario(name_or_path: str | Path, base: ModelConfig | None = None) -> Scenario:
    """A built-in scenario by name, or a scenario file by path."""
    if not str(name_or_path).strip():
        raise ConfigError(
            f"scenario = {str(name_or_path)!r} is not allowed; expected a built-in scenario name "
            f"({', '.join(list_scenarios())}) or the path of a .toml file"
        )
    candidate = Path(name_or_path)
    try:
        given_path = candidate.suffix == ".toml" or candidate.exists()
    except OSError as exc:  # a name longer than the file system allows: "File name too long"
        raise ConfigError(
            f"scenario = {shown(str(name_or_path), 60)} is not allowed; {path_problem(exc)}; expected a built-in "
            f"scenario name ({NAME_RULE}) or the path of a .toml file"
        ) from None
    if given_path:
        return parse_scenario(read_text_file(candidate, "scenario file"), str(candidate), base)
    # a built-in name: one file name of model/scenarios/, never a path out of it (../scenarios/risk_off)
    path = SCENARIO_DIR / f"{name_or_path}.toml"
    if not _NAME.fullmatch(str(name_or_path)) or not path.is_file():
        known = ", ".join(list_scenarios())
        raise ConfigError(
            f"unknown scenario {shown(str(name_or_path), 60)}; known scenarios: {known} (or a path to a .toml file)"
        )
    return parse_scenario(path.read_text(encoding="utf-8"), str(path), base)
