"""The model configuration: one frozen, validated record per sector, composed.

Load and save as TOML (one table per sector); override fields by dotted name::

    cfg = ModelConfig().with_overrides({"hedge_funds.max_leverage": 1.0})
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from agents.boj import BojConfig
from agents.bond_investors import BondInvestorConfig
from agents.cta import CtaConfig
from agents.curve_arbitrage import CurveArbitrageConfig
from agents.dealers import DealerConfig
from agents.fx_fundamentals import FundamentalConfig
from agents.hedge_funds import HedgeFundConfig
from agents.life_insurers import LifeInsurerConfig
from agents.long_horizon import LongHorizonConfig
from agents.mof import MofConfig
from agents.nisa import NisaConfig
from agents.retail_fx import RetailFxConfig
from agents.us_treasury import UsTreasuryConfig
from model.calendar import LAST_DATE, TradingCalendar
from model.macro import MacroConfig
from model.market import MarketConfig
from model.validation import ConfigError, Validated, param, read_text_file, register_sections, shown

__all__ = ["ModelConfig", "SimulationConfig", "ConfigError", "RUNTIME_SWITCHES", "dates_as_text", "toml_loads"]


@dataclass(frozen=True)
class SimulationConfig(Validated):
    days: int = param(
        500, unit="trading days", lo=1, hi=1_000_000,
        doc="default horizon of a run (its last day must be on or before 2262-04-11: 59,792 days from 2023-01-03)",
    )  # fmt: skip
    clearing_tolerance: float = param(
        1e-10,
        lo=1e-11,
        hi=1e-06,
        doc="max |excess demand| / gross volume in every market",
        source="assumption, not estimated: a numerical setting ten times the tightest tolerance at which every "
        "scenario tried cleared (1e-11, range note), above the floating-point resolution of the prices (excess demand "
        "below a ten-billionth of the day's gross volume in every market)",
        range_note="at ~1e-12 excess demand is finer than the floating-point resolution of the prices (see "
        "model/clearing.py): boj_hike_2024 seed 1 could not clear its day 49 at 1e-12 (UST residual 1.6e-12); "
        "every scenario tried cleared at 1e-11",
    )
    max_agent_views: int = param(
        2_000, unit="agents", lo=0, hi=10_000_000, doc="create one Mesa agent view per fund up to this many"
    )
    root_scan_points: int = param(
        0,
        unit="points",
        lo=0,
        hi=1000,
        doc="after each day's clearing, count the other equilibria along USD/JPY: the sign changes of spot (FX) "
        "excess demand on a grid of this many USD/JPY prices across the plausibility bound, the other four markets "
        "cleared at each (by the solver's inner Newton, from the neighbouring grid price's), leaving out the grid "
        "interval of the cleared price (0: no scan); the count is the column clearing_other_roots. Two equilibria "
        "within one grid interval count as none; about 7 ms a day at 40 points",
        source="0: off by default; a diagnostic counted after the day's clearing (the column clearing_other_roots)",
        range_note="0 (off) to a fine grid; ~40 points resolve roots ~0.75% apart at the default bound",
    )
    network_view_households: int = param(
        200, unit="households", lo=0, hi=100_000, doc="households placed in Mesa's Network space for inspection"
    )
    max_fx_log_move: float = param(
        0.15,
        unit="ln S per day",
        lo=0.05,
        hi=1.0,
        doc="plausibility bound: a day's |Δ ln USD/JPY| beyond this is a clearing failure, not a price",
        source="about twice the largest daily USD/JPY move on record (−7.7% on 8 Oct 1998, BoJ/FRED DEXJPUS)",
        range_note="from several times a calm day's move (USD/JPY daily sd ~0.6%) to beyond any recorded move",
    )
    min_usdjpy: float = param(
        50.0,
        unit="JPY per USD",
        lo=40.0,
        hi=75.0,
        doc="plausibility bound: a cleared USD/JPY below this is a clearing failure, not a price",
        source="a third below the lowest close since floating began, 75.3 (31 Oct 2011, FRED DEXJPUS)",
        range_note="half the record low (the widest a user may set it) to the record low itself",
    )
    max_usdjpy: float = param(
        500.0,
        unit="JPY per USD",
        lo=360.0,
        hi=720.0,
        doc="plausibility bound: a cleared USD/JPY above this is a clearing failure, not a price",
        source="about 40% above the Bretton Woods parity of 360 (1949-71), the highest level since (FRED DEXJPUS "
        "begins at about 358 on 4 Jan 1971)",
        range_note="the parity of 360 to twice it (the widest a user may set it)",
    )
    min_yield_pa: float = param(
        -0.02,
        unit="per annum",
        lo=-0.2,
        hi=0.0,
        doc="plausibility bound: a cleared 10y or 30y yield (UST or JGB) below this is a clearing failure",
        source="the lowest 10y yields on record among major bond markets: Swiss −1.0% (2019), JGB −0.3% (2016)",
    )
    max_yield_pa: float = param(
        0.25,
        unit="per annum",
        lo=0.05,
        hi=2.0,
        doc="plausibility bound: a cleared 10y or 30y yield (UST or JGB) above this is a clearing failure",
        source="UST 10y peaked at 15.8% (Sep 1981); JGB 10y ~8-9% (1980)",
    )
    max_yield_move_pa: float = param(
        0.02,
        unit="per annum per day",
        lo=0.001,
        hi=0.25,
        doc="plausibility bound: a day's move of a cleared yield (10y UST, 10y or 30y JGB) beyond this is a "
        "clearing failure, not a price",
        source="the largest daily moves of long yields on record are tens of bp: the UST 30y fell up to 59 bp "
        "intraday on 9 Mar 2020, its record since Bloomberg's daily highs and lows began in 1998 (Bloomberg, "
        "10 Mar 2020); the UST 2y fell 117 bp over the three days to 22 Oct 1987 (CNBC, 13 Mar 2023); 200 bp a "
        "day is beyond both (a ¥80 tn overnight budget, far outside history, moves the model's 30y JGB +125 bp on "
        "its day: extreme inputs may give extreme moves; the bound stops cobwebs that grow from day to day)",
        range_note="from a few times a calm day's move (~5 bp) to beyond any recorded move",
    )
    max_basis_move_pa: float = param(
        0.02,
        unit="per annum per day",
        lo=0.001,
        hi=0.5,
        doc="plausibility bound: a day's move of the cleared USD/JPY basis beyond this is a clearing failure",
        source="the 3m USD/JPY basis's widest widening, to about −150 to −300 bp in late 2008 (BIS Quarterly "
        "Review Sep 2016, Borio et al.), took weeks; 200 bp in a day is beyond it",
        range_note="from a few times a calm day's move (~1-2 bp) to beyond any recorded move",
    )
    min_basis_pa: float = param(
        -0.05,
        unit="per annum",
        lo=-0.15,
        hi=0.0,
        doc="plausibility bound: a cleared USD/JPY cross-currency basis below this is a clearing failure",
        source="the 3m USD/JPY basis reached about −150 to −300 bp at its widest (late 2008, BIS Quarterly Review "
        "Sep 2016, Borio et al.); the bound is about twice that",
        range_note="up to about five times the widest on record (-1,500 bp): wider is not a basis but a failure",
    )
    max_basis_pa: float = param(
        0.05,
        unit="per annum",
        lo=0.0,
        hi=0.15,
        doc="plausibility bound: a cleared basis above this is a clearing failure",
        source="the USD/JPY basis has not been above about +30 bp since 2008 (BIS); symmetric to the lower bound",
        range_note="0 to +1,500 bp, symmetric to the lower bound's range",
    )


SECTIONS: dict[str, type[Validated]] = {
    "simulation": SimulationConfig,
    "market": MarketConfig,
    "hedge_funds": HedgeFundConfig,
    "dealers": DealerConfig,
    "real_money": FundamentalConfig,
    "long_horizon": LongHorizonConfig,
    "bond_investors": BondInvestorConfig,
    "curve_arbitrage": CurveArbitrageConfig,
    "macro": MacroConfig,
    "life_insurers": LifeInsurerConfig,
    "nisa": NisaConfig,
    "boj": BojConfig,
    "mof": MofConfig,
    "us_treasury": UsTreasuryConfig,
    "cta": CtaConfig,
    "retail_fx": RetailFxConfig,
}
register_sections(SECTIONS)  # errors then name a field by its section ("hedge_funds.n_funds")


# The fields a run may change between two trading days (CarryUnwindModel.switch): the feedback links'
# switches and strengths, two policies' switches and the households' trading, each read afresh by
# its sector every day (no sector keeps a value derived from them), so a switch before day d's
# trading changes what happens from day d on and nothing before. State a sector built while the old
# value held carries on after it (an MoF burst under way, the BoJ's shadow rate, the risk index's
# channel term decaying), as it would after any other change of course. An ablation can then cut a link on
# a shock's day, from the same books, instead of running another economy from day 0 (the initial
# state is built with the values the run starts with).
RUNTIME_SWITCHES: frozenset[str] = frozenset({
    "hedge_funds.margin_vol_elasticity",
    "hedge_funds.forced_sales",
    "hedge_funds.investor_flows",
    "hedge_funds.risk_feedback",
    "hedge_funds.realized_vol_weight",
    "retail_fx.stop_outs",
    "dealers.capital_constraint",
    "market.risk_endogenous",
    "mof.lean_against_surges",
    "boj.stability_pause",
    "nisa.trading",
})  # fmt: skip


@dataclass(frozen=True)
class ModelConfig:
    simulation: SimulationConfig = field(default_factory=SimulationConfig)
    market: MarketConfig = field(default_factory=MarketConfig)
    hedge_funds: HedgeFundConfig = field(default_factory=HedgeFundConfig)
    dealers: DealerConfig = field(default_factory=DealerConfig)
    real_money: FundamentalConfig = field(default_factory=FundamentalConfig)
    long_horizon: LongHorizonConfig = field(default_factory=LongHorizonConfig)
    bond_investors: BondInvestorConfig = field(default_factory=BondInvestorConfig)
    curve_arbitrage: CurveArbitrageConfig = field(default_factory=CurveArbitrageConfig)
    macro: MacroConfig = field(default_factory=MacroConfig)
    life_insurers: LifeInsurerConfig = field(default_factory=LifeInsurerConfig)
    nisa: NisaConfig = field(default_factory=NisaConfig)
    boj: BojConfig = field(default_factory=BojConfig)
    mof: MofConfig = field(default_factory=MofConfig)
    us_treasury: UsTreasuryConfig = field(default_factory=UsTreasuryConfig)
    cta: CtaConfig = field(default_factory=CtaConfig)
    retail_fx: RetailFxConfig = field(default_factory=RetailFxConfig)

    def __post_init__(self) -> None:
        # constraints across sections (each section checks its own fields and their combinations)
        sim, m = self.simulation, self.market
        for name in ("ust10y_yield", "jgb10y_yield"):
            y = getattr(m, name)
            if not sim.min_yield_pa <= y <= sim.max_yield_pa:
                raise ConfigError(
                    f"market.{name} = {y!r} is not allowed with simulation.min_yield_pa = {sim.min_yield_pa!r} and "
                    f"simulation.max_yield_pa = {sim.max_yield_pa!r}; expected a starting yield inside those bounds"
                )
        y30 = m.jgb10y_yield + self.macro.jgb30_spread_pa
        if not sim.min_yield_pa <= y30 <= sim.max_yield_pa:
            raise ConfigError(
                f"macro.jgb30_spread_pa = {self.macro.jgb30_spread_pa!r} is not allowed with market.jgb10y_yield = "
                f"{m.jgb10y_yield!r}; expected a starting 30y yield (their sum) inside [{sim.min_yield_pa!r}, "
                f"{sim.max_yield_pa!r}]"
            )
        # the run's dates must fit pandas' datetime64[ns] (the time series dates every day): checked here,
        # on every configuration a run or a sweep builds, not by a crash after the last simulated day
        calendar = TradingCalendar(m.start_date)
        most = calendar.last_day_until(LAST_DATE)
        if sim.days > most:
            raise ConfigError(
                f"simulation.days = {sim.days} is not allowed with market.start_date = {m.start_date!r}; its last "
                f"trading day would be {calendar.dates([sim.days])[0]}, after {LAST_DATE} (the last date a time "
                f"series can hold); expected at most {most:,} trading days for that start date"
            )
        if not sim.min_usdjpy <= m.usdjpy <= sim.max_usdjpy:
            raise ConfigError(
                f"market.usdjpy = {m.usdjpy!r} is not allowed with simulation.min_usdjpy = {sim.min_usdjpy!r} and "
                f"simulation.max_usdjpy = {sim.max_usdjpy!r}; expected a starting USD/JPY inside those bounds"
            )
        if not sim.min_basis_pa <= m.fx_basis_pa <= sim.max_basis_pa:
            raise ConfigError(
                f"market.fx_basis_pa = {m.fx_basis_pa!r} is not allowed with simulation.min_basis_pa = "
                f"{sim.min_basis_pa!r} and simulation.max_basis_pa = {sim.max_basis_pa!r}; expected a starting basis "
                "inside those bounds"
            )

    # -- construction ---------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict[str, Any], *, where: str = "") -> ModelConfig:
        prefix = f"[{where}] " if where else ""
        if not isinstance(data, dict):
            raise ConfigError(f"{prefix}configuration must be a table of sections, got {type(data).__name__}")
        unknown = sorted(set(data) - set(SECTIONS))
        if unknown:
            raise ConfigError(f"{prefix}unknown section {unknown[0]!r}; known sections: {', '.join(SECTIONS)}")
        parts = {}
        for name, kind in SECTIONS.items():
            section = data.get(name, {})
            if not isinstance(section, dict):
                raise ConfigError(f"{prefix}section {name!r} must be a table, got {section!r}")
            parts[name] = kind.from_dict(section, where=where)
        return cls(**parts)

    @classmethod
    def from_toml(cls, path: str | Path) -> ModelConfig:
        path = Path(path)
        # missing, a directory, not UTF-8: one line naming it
        return cls.from_toml_text(read_text_file(path, "configuration"), str(path))

    @classmethod
    def from_toml_text(cls, text: str, path: str) -> ModelConfig:
        """:meth:`from_toml` of a file's text read already (``path``: its name in messages)."""
        data = dates_as_text(toml_loads(text, path))
        if not data:  # as a scenario file: a file with nothing in it is a mistake, not "all defaults"
            raise ConfigError(
                f"configuration {str(path)!r} is not allowed; it is empty (no sections), expected a TOML file with "
                "sections such as [hedge_funds], e.g. a config.toml that a run saved"
            )
        try:
            return cls.from_dict(data, where=str(path))
        except ConfigError as exc:
            msg = str(exc)
            raise ConfigError(msg if msg.startswith(f"[{path}]") else f"[{path}] {msg}") from None

    def to_dict(self) -> dict[str, dict[str, Any]]:
        return {name: getattr(self, name).to_dict() for name in SECTIONS}

    def to_toml(self, path: str | Path | None = None) -> str:
        """The configuration as TOML, one table per section, each field with a trailing comment.

        The comment reads ``# unit; allowed range; meaning`` (the field's ``param`` metadata, the
        meaning cut to its first clause), so that a saved ``config.toml`` can be read and edited
        without the documentation. :meth:`from_toml` reads the text back to an equal configuration.

        Parameters
        ----------
        path
            If given, the text is also written there (UTF-8), atomically: the file is whole or as it was.

        Examples
        --------
        >>> text = ModelConfig().to_toml()
        >>> [line for line in text.splitlines() if line.startswith("days = ")]
        ['days = 500  # trading days; [1, 1000000]; default horizon of a run']
        """
        fields = {name: {f.name: f for f in dataclasses.fields(kind)} for name, kind in SECTIONS.items()}
        lines = [
            "# carry-unwind model configuration: one table per section; each comment gives the field's",
            "# unit; allowed range ([ ] closed, ( ) open); meaning. Load with ModelConfig.from_toml or",
            "# `carry-unwind run --config FILE`; `carry-unwind params SECTION` explains every field.",
            "",
        ]
        for name, values in self.to_dict().items():
            lines.append(f"[{name}]")
            for key, value in values.items():
                assignment = f"{key} = {_toml_value(value)}"
                comment = _toml_comment(fields[name][key].metadata)
                lines.append(f"{assignment}  # {comment}" if comment else assignment)
            lines.append("")
        text = "\n".join(lines)
        if path is not None:
            from model.files import atomic_write

            data = text.encode("utf-8")
            atomic_write(Path(path), lambda f: f.write(data))
        return text

    def with_overrides(self, overrides: dict[str, Any]) -> ModelConfig:
        """A copy with ``{"section.field": value}`` (or ``section__field``) replaced, validated. A field given in
        both spellings is refused (:class:`ConfigError`) unless both give the same value: which one won would
        otherwise depend on the order of the keys."""
        data = self.to_dict()
        given: dict[str, tuple[str, Any]] = {}
        for key, value in overrides.items():
            dotted = key.replace("__", ".")
            if dotted in given and not _same_value(given[dotted][1], value):
                first, other = given[dotted]
                raise ConfigError(
                    f"{dotted} is given twice, as {first!r} = {shown(other)} and {key!r} = {shown(value)}; "
                    "expected it once"
                )
            given[dotted] = (key, value)
            section, _, name = dotted.partition(".")
            if section not in SECTIONS or not name:
                raise ConfigError(
                    f"unknown override {key!r}; expected 'section.field' with section one of {', '.join(SECTIONS)}"
                )
            if name not in data[section]:
                known = ", ".join(sorted(data[section]))
                raise ConfigError(f"unknown field {name!r} in section {section!r}; known fields: {known}")
            data[section][name] = value
        return ModelConfig.from_dict(data)

    def replace(self, **sections: Validated) -> ModelConfig:
        return dataclasses.replace(self, **sections)


def _same_value(a: Any, b: Any) -> bool:
    """Whether two values given for one field are the same (NaN is the same as NaN, and 1 as 1.0)."""
    try:
        return bool(a == b) or (a != a and b != b)
    except Exception:  # an array, or an object whose comparison fails: not the same
        return False


def toml_loads(text: str, where: str) -> dict[str, Any]:
    """``tomllib.loads(text)``; a one-line :class:`ConfigError` naming ``where`` if it is not TOML.

    Besides malformed TOML this catches an integer of more than Python's 4,300 digits, which
    ``tomllib`` reports with a plain ``ValueError``.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: malformed TOML: {exc}") from None
    except ValueError as exc:  # "Exceeds the limit (4300 digits) for integer string conversion..."
        if "digits" not in str(exc):
            raise
        raise ConfigError(
            f"{where}: an integer of more than 4,300 digits is not allowed; expected a number inside its field's range"
        ) from None


def dates_as_text(value: Any) -> Any:
    """Unquoted TOML dates (``start_date = 2024-07-01``) as the ISO text the configuration holds."""
    if isinstance(value, dict):
        return {k: dates_as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [dates_as_text(v) for v in value]
    if isinstance(value, (dt.date, dt.time)):  # dt.datetime is a dt.date
        return value.isoformat()
    return value


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise ConfigError(f"cannot write {value!r} to TOML")


def _toml_comment(meta: Any) -> str:
    """``unit; allowed range; meaning`` of a field for its comment in ``config.toml`` (one line)."""
    if not meta:
        return ""
    if meta.get("choices") is not None:
        allowed = "one of " + ", ".join(_toml_value(c) for c in meta["choices"])
    elif meta.get("lo") is None and meta.get("hi") is None:
        allowed = ""
    else:
        lo, hi = meta.get("lo"), meta.get("hi")
        left = "(" if meta.get("lo_open") or lo is None else "["
        right = ")" if meta.get("hi_open") or hi is None else "]"
        allowed = f"{left}{'-inf' if lo is None else _bound(lo)}, {'inf' if hi is None else _bound(hi)}{right}"
    doc = " ".join(str(meta.get("doc", "")).split())
    # the first clause: the rest (calibration notes, caveats) is in `carry-unwind params` and the docs
    for stop in ("; ", " (", ": "):
        head = doc.split(stop, 1)[0]
        if len(head) >= 20:
            doc = head
    if len(doc) > 90:
        doc = doc[:89].rsplit(" ", 1)[0] + "…"
    return "; ".join(part for part in (str(meta.get("unit", "")), allowed, doc) if part)


def _bound(value: float) -> str:
    """A range bound as people write it: 1000000 rather than 1e+06."""
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e9 else f"{value:g}"
