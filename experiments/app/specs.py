"""What the browser app shows, as data: its sliders, shock buttons and charts.

The app (:mod:`experiments.app.page`) draws whatever these lists describe and the running model
supports, so a new sector plugs in without touching the app's code:

- a **slider** (:class:`ParamSpec`) appears when its configuration field exists (the starting
  scenario's ``ModelConfig`` has the section and the field), with that field's value and range;
- a **shock button** (:class:`ShockSpec`) appears when its event kind is in
  :data:`model.scenarios.EVENT_KINDS` (read when the page is drawn, not at import);
- a **chart** (:class:`ChartSpec`) appears when the model records its columns
  (``model.history`` keys); optional series are drawn when present.

Nothing here imports Solara or matplotlib, so the specs can be read and tested on their own.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from experiments.analysis.style import OKABE_ITO
from model.config import ModelConfig
from model.scenarios import ScenarioEvent, list_scenarios, load_scenario
from model.streams import SEED_LIMIT, seed_problem
from model.validation import ConfigError, shown

__all__ = [
    "ParamSpec",
    "SeriesSpec",
    "ChartSpec",
    "ShockSpec",
    "ShockUnavailable",
    "ShockAtLimit",
    "PARAMS",
    "BOJ_HIKE_PA",
    "FED_CUT_PA",
    "MOF_INTERVENTION_JPY_TN",
    "CHARTS",
    "SHOCKS",
    "DEFAULT_SCENARIO",
    "DEFAULT_SEED",
    "START_SCENARIO_ENV",
    "start_scenario",
    "start_config",
    "available_params",
    "available_charts",
    "available_shocks",
    "mesa_model_params",
    "model_kwargs",
    "coerce_seed",
    "effective_settings",
]

DEFAULT_SCENARIO = "baseline"
DEFAULT_SEED = 1
# `carry-unwind app --scenario NAME` hands the starting scenario to the server's page in this variable
START_SCENARIO_ENV = "CARRY_UNWIND_APP_SCENARIO"


# -- sliders -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParamSpec:
    """One model parameter the student sets before pressing Reset.

    ``name`` is the model's keyword (``section__field``, see ``CarryUnwindModel``). The slider
    shows ``value × scale`` (e.g. a rate as a percentage with ``scale=100``); ``lo``/``hi``
    are in the slider's units and are clipped to the field's declared range. ``lo``/``hi`` of
    ``None`` take the declared range itself.
    """

    name: str
    label: str
    kind: str  # "SliderFloat", "SliderInt" or "Checkbox"
    lo: float | None = None
    hi: float | None = None
    step: float | None = None
    scale: float = 1.0

    @property
    def section(self) -> str:
        return self.name.split("__", 1)[0]

    @property
    def field(self) -> str:
        return self.name.split("__", 1)[1]


PARAMS: tuple[ParamSpec, ...] = (
    ParamSpec(
        "hedge_funds__n_funds",
        "Hedge funds (number)",
        "SliderInt",
        50,
        2000,
        50,
    ),
    # up to 15 (the field allows 50), as measured by the app's audit with no button pressed and the other sliders
    # at their defaults: at 15 all 16 runs (seeds 1-4 of baseline, boj_hike_2024, risk_off and fed_cuts) finished
    # their 500 days; at 20 baseline's seed 4 stopped on day 176, at 30 on day 2, each in a clearing failure
    # ("implausible prices ... no root inside the USD/JPY bound")
    ParamSpec("hedge_funds__max_leverage", "Leverage cap (× equity; 1 = none)", "SliderFloat", 1.0, 15.0, 0.5),
    # up to 80: at 100 one of 4 baseline seeds, at 120 all 4, end in a clearing failure with no shock fired
    ParamSpec("hedge_funds__capital_usd_bn", "Carry funds' capital (USD bn)", "SliderFloat", 10.0, 80.0, 5.0),
    ParamSpec(
        "market__boj_rate",
        "BoJ policy rate at the start (%)",
        "SliderFloat",
        -0.1,
        2.0,
        0.05,
        scale=100.0,
    ),
    ParamSpec(
        "hedge_funds__margin_vol_elasticity",
        "Margin tightening with volatility (0 = off)",
        "SliderFloat",
        0.0,
        3.0,
        0.1,
    ),
    ParamSpec(
        # only q, the part of the risk index that USD/JPY's moves and forced sales put there, decays at the
        # ratio × the index's persistence (model/risk.py); stocks, news and sentiment jumps keep the slow rate
        "market__risk_channel_persistence_ratio",
        "How long USD/JPY swings and forced sales keep the risk index up (1 = as long as news and sentiment "
        "jumps, which this does not change; lower fades faster)",
        "SliderFloat",
        0.0,
        1.0,
        0.05,
    ),
    ParamSpec("hedge_funds__forced_sales", "Forced sales at margin calls", "Checkbox"),
    ParamSpec("hedge_funds__investor_flows", "Investors pull money after losses", "Checkbox"),
    # Japanese institutions: these appear once their sections exist in ModelConfig.
    ParamSpec("nisa__n_households", "NISA households (number)", "SliderInt", 1000, 50_000, 1000),
    ParamSpec("nisa__panic_threshold", "NISA panic threshold (% drawdown)", "SliderFloat", 5.0, 60.0, 1.0, scale=100.0),
    ParamSpec("nisa__contagion", "Panic spreads through the households' network", "Checkbox"),
    ParamSpec(
        "mof__intervention_level_usdjpy",
        "MoF intervention level (USD/JPY)",
        "SliderFloat",
        120.0,
        200.0,
        1.0,
    ),
    ParamSpec("mof__intervention", "MoF defends the yen", "Checkbox"),
)


def start_scenario() -> str:
    """The scenario the page opens with, whose values the sliders start at: the one named in
    :data:`START_SCENARIO_ENV` (``carry-unwind app --scenario``), or the baseline."""
    name = os.environ.get(START_SCENARIO_ENV) or DEFAULT_SCENARIO
    names = list_scenarios()
    if name not in names:
        raise ConfigError(f"{START_SCENARIO_ENV} = {shown(name)} is not allowed; expected one of {', '.join(names)}")
    return name


@functools.cache
def _scenario_config(name: str) -> ModelConfig:
    return load_scenario(name).config


def start_config() -> ModelConfig:
    """The starting scenario's configuration: the sliders' values and ranges."""
    return _scenario_config(start_scenario())


def _field_meta(section: str, name: str) -> tuple[Any, Mapping[str, Any]] | None:
    """(starting value, metadata) of a configuration field, or None if it does not exist."""
    part = getattr(start_config(), section, None)
    if part is None or not dataclasses.is_dataclass(part):
        return None
    for f in dataclasses.fields(part):
        if f.name == name:
            return getattr(part, name), f.metadata
    return None


def _slider_range(spec: ParamSpec, meta: Mapping[str, Any], default: float) -> tuple[float, float]:
    """The slider's [lo, hi] in display units: the spec's range within the field's declared one."""
    declared_lo = None if meta.get("lo") is None else meta["lo"] * spec.scale
    declared_hi = None if meta.get("hi") is None else meta["hi"] * spec.scale
    lo = spec.lo if spec.lo is not None else declared_lo
    hi = spec.hi if spec.hi is not None else declared_hi
    # an open bound (lo_open/hi_open) itself is not allowed: stay one step inside it
    inset = spec.step or 0.0
    if declared_lo is not None:
        lo = max(lo, declared_lo + (inset if meta.get("lo_open") else 0.0))
    if declared_hi is not None:
        hi = min(hi, declared_hi - (inset if meta.get("hi_open") else 0.0))
    shown = default * spec.scale
    if lo is None:  # unbounded below: from zero (or the default, if negative)
        lo = min(0.0, shown)
    if hi is None:  # unbounded above: up to twice the default
        hi = max(2.0 * abs(shown), lo + 1.0)
    return float(min(lo, shown)), float(max(hi, shown))


def available_params() -> list[tuple[ParamSpec, dict[str, Any]]]:
    """The slider specs whose fields exist, each with Mesa's input description.

    The description is the dict ``SolaraViz(model_params=...)`` takes: ``type``, ``label``,
    ``value`` (the starting scenario's value in display units), ``min``, ``max``, ``step``.
    """
    out = []
    for spec in PARAMS:
        found = _field_meta(spec.section, spec.field)
        if found is None:
            continue
        default, meta = found
        if spec.kind == "Checkbox":
            out.append((spec, {"type": "Checkbox", "label": spec.label, "value": bool(default)}))
            continue
        lo, hi = _slider_range(spec, meta, default)
        if spec.kind == "SliderInt":
            step = int(spec.step or 1)
            desc = {"type": "SliderInt", "value": int(default), "min": int(lo), "max": int(hi), "step": step}
        else:
            step = spec.step if spec.step is not None else (hi - lo) / 100.0
            value = _round(default * spec.scale)
            desc = {"type": "SliderFloat", "value": value, "min": lo, "max": hi, "step": _step_through(step, lo, value)}
        out.append((spec, {**desc, "label": spec.label}))
    return out


def _step_through(step: float, lo: float, value: float) -> float:
    """``step``, or the largest ``step / k`` (k ≤ 1000) whose grid from ``lo`` passes through ``value``:
    a slider snaps to its grid, so a default between two steps could not be chosen again once moved."""
    for k in range(1, 1001):
        ticks = (value - lo) / (step / k)
        if abs(ticks - round(ticks)) < 1e-6:
            return _round(step / k)
    return step


def _round(x: float) -> float:
    """Display value without binary noise (0.1 * 100 -> 10.000000000000002)."""
    return float(f"{x:.10g}")


def mesa_model_params() -> dict[str, Any]:
    """``model_params`` for Mesa's ``SolaraViz``: scenario, seed and every available slider."""
    scenarios = list(list_scenarios())
    params: dict[str, Any] = {
        "scenario_name": {"type": "Select", "label": "Scenario", "value": start_scenario(), "values": scenarios},
        # typed in a text box, so it arrives as a string (Mesa issue 3516): see coerce_seed
        "seed": {"type": "InputText", "label": "Seed (whole number; same seed, same run)", "value": str(DEFAULT_SEED)},
    }
    for spec, desc in available_params():
        params[spec.name] = desc
    return params


def coerce_seed(value: Any) -> int:
    """The seed as an int from 0 to below 2**64 (the model's seeds); SolaraViz's text box hands it over
    as a string, which may carry one leading '+'."""
    expected = f"expected a whole number from 0 to {SEED_LIMIT - 1}, e.g. 1"
    if isinstance(value, bool):
        raise ConfigError(f"seed = {shown(value)} is not allowed; {expected}")
    if isinstance(value, int):
        seed = value
    elif isinstance(value, float) and value.is_integer():
        seed = int(value)
    elif isinstance(value, str) and _is_whole(body := value.strip().removeprefix("+")):
        seed = int(body)  # the text just checked: '++5' is not a number, and int() must never see it
    else:
        raise ConfigError(f"seed = {shown(value)} is not allowed; {expected}")
    # the model's own rule for a seed (an int in [0, 2**64)), after the range: seed_problem writes out the
    # value, which Python refuses for an integer of more than 4,300 digits (ValueError)
    if not 0 <= seed < SEED_LIMIT or seed_problem(seed):
        raise ConfigError(f"seed = {shown(value)} is not allowed; {expected}")
    return seed


MAX_SEED_DIGITS = 20  # seeds below 2^64 have at most 20 digits


def _is_whole(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also accepts '²' and other digits ``int`` refuses), and not absurdly
    many of them."""
    return text.isascii() and text.isdecimal() and len(text) <= MAX_SEED_DIGITS


def _checked(name: str, spec: ParamSpec, desc: Mapping[str, Any], value: Any) -> bool | int | float:
    """A slider's or checkbox's value as its kind, inside the slider's range; a ConfigError naming it
    otherwise (the browser's widgets cannot send such values, a crafted message can)."""
    if spec.kind == "Checkbox":
        if isinstance(value, bool) or type(value).__name__ == "bool_":  # Python's or NumPy's bool
            return bool(value)
        raise ConfigError(f"{name} = {shown(value)} is not allowed; expected true or false")
    whole = spec.kind == "SliderInt"
    number = isinstance(value, numbers.Real) and not isinstance(value, bool)
    try:  # a whole number too large for a float (a JSON integer of 400 digits) is out of range, not a crash
        number = number and math.isfinite(float(value))
    except OverflowError:
        number = False
    if not number or (whole and not float(value).is_integer()):
        what = "a whole number" if whole else "a number"
        raise ConfigError(
            f"{name} = {shown(value)} is not allowed; expected {what} from {desc['min']} to {desc['max']}"
        )
    if not desc["min"] <= value <= desc["max"]:
        raise ConfigError(f"{name} = {shown(value)} is not allowed; expected from {desc['min']} to {desc['max']}")
    return int(value) if whole else float(value)


def model_kwargs(values: Mapping[str, Any]) -> dict[str, Any]:
    """Slider values (display units) → ``CarryUnwindModel`` keyword overrides (model units).

    A slider still at its starting value is left out, so the chosen scenario's own setting of
    that field stands; a slider the student moved overrides it. The sliders start at the starting
    scenario's values (:func:`start_scenario`), so in that scenario every value can be chosen; in
    another one, a field set apart from the starting scenario's value cannot be moved back to that
    value (SolaraViz does not say which inputs were touched). The scenario panel shows the values
    the running model actually uses (:func:`effective_settings`).
    """
    specs = {spec.name: (spec, desc) for spec, desc in available_params()}
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name not in specs:
            raise ConfigError(f"unknown app parameter {shown(name)}; known: {', '.join(specs)}")
        spec, desc = specs[name]
        value = _checked(name, spec, desc, value)
        if spec.kind == "Checkbox":
            if value != desc["value"]:
                out[name] = value
        elif spec.kind == "SliderInt":
            if value != desc["value"]:
                out[name] = value
        elif not math.isclose(value, desc["value"], rel_tol=1e-9, abs_tol=1e-12):
            out[name] = value / spec.scale
    return out


def effective_settings(config: ModelConfig) -> list[tuple[str, str]]:
    """(label, value in display units) of every slider field as ``config`` has it."""
    out = []
    for spec, _ in available_params():
        value = getattr(getattr(config, spec.section), spec.field)
        if spec.kind == "Checkbox":
            text = "on" if value else "off"
        elif spec.kind == "SliderInt":
            text = f"{int(value):,}"
        else:
            text = f"{value * spec.scale:.4g}"
        out.append((spec.label, text))
    return out


# -- charts --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesSpec:
    """One line: a time-series column, its legend label, colour and scale to the axis units."""

    column: str
    label: str
    color: str
    scale: float = 1.0
    style: str = "-"
    optional: bool = False  # drawn when present; the chart does not need it
    right: bool = False  # on a second y axis (with its own units, ChartSpec.right_units)


@dataclass(frozen=True)
class ChartSpec:
    """A live chart: title, series, units and a one- or two-sentence explanation for students."""

    key: str
    title: str
    series: tuple[SeriesSpec, ...]
    units: str
    explanation: str
    right_units: str = ""
    kind: str = "line"  # "line" or "steps" (counts per day)
    min_span: float = 0.0  # the left y axis spans at least this much (axis units), so noise looks small
    left_from_zero: bool = False  # y axes that start at 0 (counts, shares)
    right_from_zero: bool = False

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(s.column for s in self.series if not s.optional)


# Okabe-Ito colours as in experiments/analysis/style.py: vermilion is the US, blue is Japan.
_BLACK, _VERMILION, _BLUE, _SKY = (OKABE_ITO[c] for c in ("black", "vermilion", "blue", "sky_blue"))
_GREEN, _ORANGE, _PURPLE = (OKABE_ITO[c] for c in ("bluish_green", "orange", "reddish_purple"))

CHARTS: tuple[ChartSpec, ...] = (
    ChartSpec(
        "usdjpy",
        "USD/JPY",
        (SeriesSpec("usdjpy", "USD/JPY", _BLACK),),
        "yen per dollar",
        "How many yen one dollar buys, cleared each day. A fall is a stronger yen: that is what "
        "hurts carry traders, who borrowed yen, and a sharp fall is the unwind.",
        min_span=2.0,
    ),
    ChartSpec(
        "yields",
        "Yields and policy rates",
        (
            SeriesSpec("ust10y_yield", "UST 10y", _VERMILION, 100.0),
            SeriesSpec("jgb10y_yield", "JGB 10y", _BLUE, 100.0),
            SeriesSpec("jgb30y_yield", "JGB 30y", _SKY, 100.0, optional=True),
            SeriesSpec("us_short_rate", "Fed rate", _VERMILION, 100.0, ":", optional=True),
            SeriesSpec("boj_rate", "BoJ rate", _BLUE, 100.0, ":", optional=True),
        ),
        "% a year",
        "US and Japanese government bond yields (solid) and the two central banks' rates (dotted). "
        "The gap between the two policy rates is what the carry funds earn; funds selling their Treasuries "
        "in a squeeze push the UST yield up.",
        min_span=1.0,
    ),
    ChartSpec(
        "carry_stock",
        "Carry stock",
        (SeriesSpec("hf_net_usd_bn", "carry stock", _GREEN),),
        "USD bn",
        "The hedge funds' carry trade: dollars bought forward against yen, on margin, earning the US–Japan "
        "rate gap. It builds up slowly in calm markets and collapses when funds are forced to buy back yen.",
        min_span=10.0,
    ),
    ChartSpec(
        "stress",
        "Margin calls and failures",
        (
            SeriesSpec("hf_margin_calls", "margin calls", _SKY),
            SeriesSpec("hf_failures", "failures", _VERMILION),
        ),
        "funds per day",
        "Carry funds whose broker demanded more collateral (margin calls) and carry funds that went bust, "
        "each day. Margin calls force sales, which move prices further: the feedback loop.",
        kind="steps",
        left_from_zero=True,
    ),
    ChartSpec(
        "lifer_hedge",
        "Life insurers' FX hedge ratio",
        (SeriesSpec("lifer_hedge_ratio", "hedge ratio", _BLUE, 100.0),),
        "% of foreign bonds hedged",
        "Share of the insurers' foreign bonds hedged against the yen. Hedging more means selling "
        "dollars forward, which is yen buying; insurers hedge more when markets are stressed.",
        min_span=2.0,
    ),
    ChartSpec(
        "nisa",
        "NISA households",
        (
            SeriesSpec("nisa_flow_jpy_tn", "net flow (left)", _BLUE),
            SeriesSpec("nisa_panic_share", "in panic (right)", _VERMILION, 100.0, right=True),
        ),
        "¥ tn per day",
        "Households' net investment in foreign-equity funds (buying them sells yen) and the share "
        "of households in panic. Panic spreads through their network and turns yen selling into yen buying.",
        right_units="% of households",
        min_span=0.05,
        right_from_zero=True,
    ),
    ChartSpec(
        "mof_reserves",
        "MoF FX reserves",
        (SeriesSpec("mof_reserves_usd_bn", "reserves", _GREEN),),
        "USD bn",
        "Dollars and Treasuries (at market value) the Ministry of Finance can sell to prop up the yen. A "
        "sharp step down is an intervention; a slow drift comes from Treasury prices.",
        min_span=20.0,
    ),
    ChartSpec(
        "risk_index",
        "Risk index",
        (SeriesSpec("risk_index", "risk index", _PURPLE),),
        "index points (like the VIX)",
        "Global fear, like the VIX. When it jumps, margins tighten, dealers pull back and funds cut "
        "their positions at once. It cannot rise above 150 (twice the VIX's record): a flat line there is "
        "the cap, not a level the model explains.",
        min_span=5.0,
    ),
)


def available_charts(columns: Iterable[str]) -> list[ChartSpec]:
    """The chart specs whose required columns are all recorded (``columns``: ``model.history``)."""
    have = set(columns)
    return [spec for spec in CHARTS if set(spec.required) <= have]


# -- shocks --------------------------------------------------------------------------------------


class ShockUnavailable(Exception):
    """A shock button cannot be built for this model (its event kind or a parameter is unknown)."""


def _event_kinds() -> dict[str, dict[str, tuple[float, float]]]:
    # read at call time: the lead adds kinds to this table, and tests may patch it
    from model import scenarios

    return scenarios.EVENT_KINDS


class ShockAtLimit(ShockUnavailable):
    """A shock button's value would pass the range its event kind allows (a Fed cut with the rate at
    −5%), or the model could not carry it out in full (an intervention larger than the MoF's reserves
    above its floor): held at the limit, the event would do less than the button says, or nothing, so
    it is refused. ``reason`` says why without the button's label."""

    def __init__(self, label: str, reason: str) -> None:
        super().__init__(f"{label}: {reason}; not fired")
        self.label, self.reason = label, reason


def _limit(name: str, value: float) -> str:
    """A parameter's limit as the page shows it: a rate (``rate``, ``*_pa``) in percent."""
    shown = f"{100.0 * value:g}%" if name == "rate" or name.endswith("_pa") else f"{value:g}"
    return shown.replace("-", "\u2212")


def _within_limits(label: str, kind: str, params: dict[str, float]) -> dict[str, float]:
    """``params`` as floats, each inside the range EVENT_KINDS declares for it; ShockAtLimit for one that
    is not (it is never held at the limit silently: the page would say the button fired when it did
    less, or nothing)."""
    bounds = _event_kinds()[kind]
    out = {}
    for name, value in params.items():
        value = float(value)
        lo, hi = bounds[name]
        if math.isnan(value):
            raise ShockUnavailable(f"{label}: its {name.replace('_', ' ')} is not a number")
        if not lo <= value <= hi:
            noun = "the rate" if name == "rate" else f"its {name.replace('_', ' ')}"
            limit = _limit(name, lo if value < lo else hi)
            raise ShockAtLimit(label, f"{noun} would pass its limit ({limit})")
        out[name] = value
    return out


def _sized(amount_jpy_tn: float) -> Callable[[Any, str], dict[str, float]]:
    """Parameters of a policy operation of ``amount_jpy_tn``, each filled in by its unit.

    ``jpy_tn`` or ``*_jpy_tn`` gets the amount, ``usd_bn`` or ``*_usd_bn`` the amount in dollars
    at today's USD/JPY, ``usdjpy`` or ``*_usdjpy`` today's USD/JPY. A parameter named otherwise
    makes the button unavailable rather than guessing a value.
    """

    def build(model: Any, kind: str) -> dict[str, float]:
        usdjpy = float(model.market.usdjpy)
        params = {}
        for name in _event_kinds()[kind]:
            if name == "jpy_tn" or name.endswith("_jpy_tn"):
                params[name] = amount_jpy_tn
            elif name == "usd_bn" or name.endswith("_usd_bn"):
                params[name] = amount_jpy_tn * 1000.0 / usdjpy
            elif name == "usdjpy" or name.endswith("_usdjpy"):
                params[name] = usdjpy
            else:
                raise ShockUnavailable(f"no rule for parameter {name!r} of event kind {kind!r}")
        return params

    return build


def _short_of_reserves(amount_jpy_tn: float) -> Callable[[Any], str]:
    """Why the MoF cannot buy ``amount_jpy_tn`` of yen now, or "" where it can.

    The MoF sells dollars only down to its reserve floor: ``agents.mof.intervention_today`` trims an
    order to the reserves above it (to nothing at the floor), and the page would say the button acted
    when it did less, or nothing. Yen the day's scenario events have ordered already come out of the
    same room; a burst the MoF's own rule starts that day (decided at the day's start) is not foreseen.
    """

    def reason(model: Any) -> str:
        mof = getattr(model, "mof", None)  # a model without the MoF sector has no reserves to run out of
        if mof is None:
            return ""
        usdjpy = float(model.market.usdjpy)
        order_usd_bn = (mof.state.scripted_jpy_tn + amount_jpy_tn) * 1000.0 / usdjpy
        room_usd_bn = max(mof.reserves_usd_bn - mof.config.reserve_floor_usd_bn, 0.0)
        if order_usd_bn <= room_usd_bn:
            return ""
        return (
            f"the reserves above the floor (${room_usd_bn:,.1f} bn) are too small for the order "
            f"(${order_usd_bn:,.1f} bn of dollars to sell)"
        )

    return reason


@dataclass(frozen=True)
class ShockSpec:
    """A button that fires an event at the current day.

    ``params(model, kind)`` returns the event's parameters from the model's state (e.g. the BoJ
    rate + 25 bp); :meth:`experiments.app.page.AppModel.fire` schedules the button for the next day
    in the model's event queue, where the event is built and applied with that day's scenario events
    (a decision after the day's scripted decisions, other kinds after the day's news), so it takes
    effect in that day's clearing. A value outside the range its event kind allows is refused
    (:class:`ShockAtLimit`), never held at the limit; so is an event ``refusal(model)`` gives a reason
    against (the model would carry out only part of it).
    """

    key: str
    label: str
    kind: str
    explanation: str
    params: Callable[[Any, str], dict[str, float]] = field(repr=False)
    refusal: Callable[[Any], str] | None = field(default=None, repr=False)

    def available(self) -> bool:
        return self.kind in _event_kinds()

    def event(self, model: Any) -> ScenarioEvent:
        """The event for the model's next trading day; raises ShockUnavailable if it cannot be built."""
        if not self.available():
            raise ShockUnavailable(f"event kind {self.kind!r} is not in model.scenarios.EVENT_KINDS")
        params = _within_limits(self.label, self.kind, self.params(model, self.kind))
        reason = self.refusal(model) if self.refusal is not None else ""
        if reason:
            raise ShockAtLimit(self.label, reason)
        return ScenarioEvent(day=model.day + 1, kind=self.kind, params=params, source=f"app button: {self.label}")


BOJ_HIKE_PA = 0.0025  # the "BoJ hike" button's step of the policy rate (per annum: 25 bp)
FED_CUT_PA = 0.0025  # the "Fed cut" button's, and the one cut "Fed cuts priced" prices in
MOF_INTERVENTION_JPY_TN = 5.0  # yen the "MoF intervention" button buys

SHOCKS: tuple[ShockSpec, ...] = (
    ShockSpec(
        "boj_hike",
        "BoJ hike",
        "boj_rate",
        f"The Bank of Japan raises its rate by {100 * BOJ_HIKE_PA:g} pp: borrowing yen costs more, the carry shrinks.",
        lambda model, kind: {"rate": model.market.boj_rate + BOJ_HIKE_PA},
    ),
    ShockSpec(
        "fed_cut",
        "Fed cut",
        "us_short_rate",
        f"The Fed cuts by {100 * FED_CUT_PA:g} pp: US yields fall and the US–Japan rate gap narrows.",
        lambda model, kind: {"rate": model.market.us_short_rate - FED_CUT_PA},
    ),
    ShockSpec(
        "fed_cuts_priced",
        "Fed cuts priced",
        "fed_path_news",
        # the same size as "Fed cut": a decision moves the expected path by its surprise only
        # (model.market.ExpectedPath.decide), so the cut this prices leaves the path where this news put it
        f"Markets start pricing one Fed cut ({100 * FED_CUT_PA:g} pp lower expected rates): US yields fall before "
        "the Fed moves, and pressing Fed cut later surprises nobody, unless other news has moved expectations "
        "since.",
        lambda model, kind: {"change_pa": -FED_CUT_PA},
    ),
    ShockSpec(
        "weak_us_data",
        "Weak US data",
        "us_growth_news",
        "US data come in two standard deviations weaker than expected: markets price Fed cuts and stocks fall.",
        lambda model, kind: {"surprise_sd": -2.0},
    ),
    ShockSpec(
        "risk_off",
        "Sentiment jump",
        "risk_shock",
        "A scare the model does not explain: the risk index roughly doubles at once (a sentiment shock set by "
        "hand, not an outcome of the markets), and margins tighten with it. In some runs the index then "
        "climbs to its cap and stays there for weeks.",
        lambda model, kind: {"log_jump": 0.7},
    ),
    ShockSpec(
        "supplementary_budget",
        "Supplementary budget",
        "supplementary_budget",
        "The government adds a ¥20 tn budget paid for with new JGBs: more bonds to sell, higher yields.",
        _sized(20.0),
    ),
    ShockSpec(
        "mof_intervention",
        "MoF intervention",
        "mof_intervention",
        f"The Ministry of Finance sells dollars and buys about ¥{MOF_INTERVENTION_JPY_TN:g} tn of yen today.",
        _sized(MOF_INTERVENTION_JPY_TN),
        refusal=_short_of_reserves(MOF_INTERVENTION_JPY_TN),
    ),
)


def available_shocks(model: Any) -> list[ShockSpec]:
    """The shock buttons this model can fire now (kind known and parameters buildable)."""
    out = []
    for spec in SHOCKS:
        if not spec.available():
            continue
        try:
            spec.event(model)
        except ShockAtLimit:
            pass  # shown: pressing it says why it cannot act now
        except ShockUnavailable:
            continue
        out.append(spec)
    return out
