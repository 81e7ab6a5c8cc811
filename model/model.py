"""``CarryUnwindModel``: the Mesa model. It wires the sectors and fixes the order of a day.

A day (one ``step``) runs, in this order:

1. **observe** – scenario events and BoJ meetings for the day have fired (Mesa events at
   ``day − ½``: switches first, then policy decisions and meetings, then news); the sectors that
   need it bring up to date what others read today (``Sector.observe``); every sector publishes
   what others may read (``model.signals``);
2. **decide** – each sector decides from yesterday's close (in registration order,
   :mod:`model.registry`); today's market-wide shocks are drawn from named streams;
3. **clear** – USD/JPY spot, the UST 10y, the JGB 10y, the FX forward market (its price the
   cross-currency basis) and the JGB super-long (30y) segment clear jointly in the composition of the sectors' flows
   (:mod:`model.compose`); then excess demand is taken at the recorded prices (the solver's last
   evaluation where they are its own prices, evaluated again where not);
4. **settle** – the market closes (volatility, trend, risk index, macro state), each sector books
   its trades from the flows the solver returned; the Walras check (``walras_residual``,
   :func:`model.accounting.walras_residual`) then sums the trades every sector booked in each market,
   from the ledger, and compares the recorded prices' excess demand with what the dealers took;
   issuers pay coupons;
5. **record** – one row of the time series; Mesa's DataCollector collects.

Two ways to run the same day. The **Mesa path** (``CarryUnwindModel(...)``, the default
``collect=True``) keeps the time series in growing lists (``model.history``) and lets Mesa's
DataCollector copy every day's row. The **lean path** (``collect=False``; what
:func:`model.results.run_simulation` and :func:`model.results.simulate_many` use) records into
preallocated NumPy arrays (:class:`ArrayRecord`, one per column, ``days + 1`` rows) and collects
nothing per day; ``model.history`` and ``model.datacollector`` are then built from the arrays when
asked for. Both paths give the same numbers bit for bit (``tests/model/test_lean_path.py``).

Sector behaviour lives in the sectors (``agents/``); this module holds none.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
import numbers
import os
from collections.abc import Callable
from typing import Any

import mesa
import numpy as np
from mesa.time import Priority
from numba import njit

from model.accounting import Ledger, booked_excess, pay_coupons, walras_residual
from model.calendar import LAST_DATE, TradingCalendar
from model.clearing import ClearingResult, residuals, solve_linear
from model.compose import Bounds, ComposedClearing
from model.config import RUNTIME_SWITCHES, ModelConfig, SimulationConfig
from model.dashboards import DASHBOARD_COLUMNS, dashboards
from model.macro import MacroState
from model.market import MarketState
from model.registry import check_sectors, default_sectors
from model.risk import risk_index_level
from model.scenarios import (
    DECISION_KINDS,
    Scenario,
    ScenarioEvent,
    check_event,
    custom_scenario,
    events_for,
    firing_order,
    load_scenario,
    report_late_events,
)
from model.sector import AUX_LOG_RISK, N_MARKETS, Day, Sector
from model.streams import RandomStreams, resolve_seed
from model.validation import ConfigError, shown

__all__ = ["CarryUnwindModel", "TIMESERIES_COLUMNS", "ArrayRecord", "ListRecord"]

log = logging.getLogger(__name__)

MARKET_COLUMNS = (
    "day", "usdjpy", "ust10y_yield", "jgb10y_yield", "jgb30y_yield", "risk_index", "us_short_rate", "boj_rate",
    "ust2y_yield", "jgb2y_yield", "fx_basis_bp", "jp_inflation", "jp_inflation_expectations", "fiscal_risk",
    "equity_index",
)  # fmt: skip
CLEARING_COLUMNS = ("clearing_iterations", "clearing_residual", "walras_residual", "clearing_other_roots",
                    "fx_impact_pct_per_bn")  # fmt: skip
INTEGER_COLUMNS = ("day", "hf_margin_calls", "hf_failures", "hf_alive", "clearing_iterations", "ust_auction",
                   "clearing_other_roots", "retail_stopouts", "cta_failures")  # fmt: skip


def columns_for(sectors: tuple[type[Sector], ...]) -> tuple[str, ...]:
    """The time-series columns of a model with these sectors, in order."""
    return (*MARKET_COLUMNS, *(c for s in sectors for c in s.columns), *CLEARING_COLUMNS, *DASHBOARD_COLUMNS)


TIMESERIES_COLUMNS = columns_for(default_sectors())


class ListRecord:
    """The Mesa path's time series: one growing list per column (``model.history`` as it always was)."""

    def __init__(self, columns: tuple[str, ...]) -> None:
        self.columns = columns
        self.data: dict[str, list] = {c: [] for c in columns}

    def __len__(self) -> int:
        return len(self.data[self.columns[0]]) if self.columns else 0

    def append(self, row: dict[str, Any]) -> None:
        for key in self.columns:
            self.data[key].append(row[key])

    def series(self, column: str) -> list:
        """The column so far (the live list)."""
        return self.data[column]

    def lists(self) -> dict[str, list]:
        return self.data

    def arrays(self) -> dict[str, list]:
        return self.data


def _kind(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "b"
    if isinstance(value, (int, np.integer)):
        return "i"
    return "f"


_DTYPES = {"b": np.bool_, "i": np.int64, "f": np.float64}
_EXACT_TYPES = {"b": bool, "i": int}  # the Python type that is always of the kind (the common case, checked first)


class ArrayRecord:
    """The lean path's time series: one preallocated NumPy array per column.

    Each column's dtype is taken from its first row (``bool``, ``int64`` or ``float64``: what pandas
    infers from the Mesa path's lists); an integer or boolean column that later receives a value of
    another kind is widened (to ``float64`` for a float in an integer column, else ``object``), so no
    value is ever truncated. Rows beyond ``capacity`` double the arrays.

    Parameters
    ----------
    columns
        The column names, in order.
    capacity
        Rows to preallocate (``days + 1`` for a run of ``days`` trading days).

    Examples
    --------
    >>> rec = ArrayRecord(("day", "usdjpy"), capacity=2)
    >>> rec.append({"day": 0, "usdjpy": 150.0}); rec.append({"day": 1, "usdjpy": 149.5})
    >>> rec.series("usdjpy")
    array([150. , 149.5])
    >>> rec.lists()["day"]
    [0, 1]
    """

    def __init__(self, columns: tuple[str, ...], capacity: int) -> None:
        self.columns = columns
        self.capacity = max(int(capacity), 1)
        self.n = 0
        self.data: dict[str, np.ndarray] = {}
        self._exact: list[tuple[str, str]] = []  # integer and boolean columns: checked on every write
        self._slots: list[tuple[np.ndarray, str]] = []  # (array, column) in column order

    def __len__(self) -> int:
        return self.n

    def _allocate(self, row: dict[str, Any]) -> None:
        kinds = {c: _kind(row[c]) for c in self.columns}
        self.data = {c: np.empty(self.capacity, dtype=_DTYPES[kinds[c]]) for c in self.columns}
        self._exact = [(c, k) for c, k in kinds.items() if k != "f"]
        self._bind()

    def _bind(self) -> None:
        self._slots = [(self.data[c], c) for c in self.columns]

    def append(self, row: dict[str, Any]) -> None:
        n = self.n
        if n == 0:
            self._allocate(row)
        elif n == self.capacity:
            self.capacity *= 2
            for c, arr in self.data.items():
                grown = np.empty(self.capacity, dtype=arr.dtype)
                grown[:n] = arr[:n]
                self.data[c] = grown
            self._bind()
        for c, kind in self._exact:
            value = row[c]
            if type(value) is not _EXACT_TYPES[kind] and _kind(value) != kind:
                self._widen(c, kind, value)
        for arr, key in self._slots:
            arr[n] = row[key]
        self.n = n + 1

    def _widen(self, column: str, kind: str, value: Any) -> None:
        old = self.data[column]
        if kind == "i" and _kind(value) == "f":
            self.data[column] = old.astype(np.float64)
        else:
            widened = np.empty(self.capacity, dtype=object)
            widened[: self.n] = old[: self.n].tolist()
            self.data[column] = widened
        self._exact = [(c, k) for c, k in self._exact if c != column]
        self._bind()

    def series(self, column: str) -> np.ndarray:
        """The column so far: a view of its first ``n`` rows."""
        if not self.n and column in self.columns:
            return np.empty(0)  # before day 0 is recorded
        return self.data[column][: self.n]

    def lists(self) -> dict[str, list]:
        """Every column as a plain Python list (a copy), as the Mesa path's ``model.history``."""
        return {c: self.data[c][: self.n].tolist() for c in self.columns} if self.n else {c: [] for c in self.columns}

    def arrays(self) -> dict[str, np.ndarray]:
        """Every column as a view of its first ``n`` rows."""
        return {c: self.data[c][: self.n] for c in self.columns} if self.n else {c: [] for c in self.columns}


_LATEST_DAY = 2**52  # the largest day whose Mesa time, day - 0.5, a float holds exactly


def _at_whole_times(events: Any, step_event: Any) -> bool:
    """Whether a pending event of Mesa's event list other than its recurring step (``step_event``) lies at a
    whole time, a day's own (the model's events lie at day − ½). Reads the list's heap, or answers True
    (Mesa's own loop) where it has none."""
    pending = getattr(events, "_events", None)
    if pending is None:
        return True
    return any(e is not step_event and not e.CANCELED and float(e.time).is_integer() for e in pending)


class _Call:
    """A bound callback Mesa can hold (it keeps events by weak reference; the model keeps these)."""

    def __init__(self, fn, *args) -> None:
        self.fn, self.args = fn, args

    def __call__(self) -> None:
        self.fn(*self.args)


# the largest simulation.days (its ``hi``): run_days takes no more days in one call
SIMULATION_DAYS_HI = int(next(f for f in dataclasses.fields(SimulationConfig) if f.name == "days").metadata["hi"])


def _checked_sectors(sectors: Any) -> tuple[type[Sector], ...]:
    """``sectors`` of :class:`CarryUnwindModel` as a tuple of sector classes (default
    :func:`model.registry.default_sectors`), checked (:func:`model.registry.check_sectors`); a one-line
    ConfigError if it is not a non-empty sequence of sector classes with at least one priced sector."""
    if sectors is None:
        classes = default_sectors()
    else:
        if isinstance(sectors, (str, bytes, type)) or not hasattr(sectors, "__iter__"):
            raise ConfigError(
                f"sectors = {shown(sectors)} is not allowed; expected a tuple of sector classes (subclasses of "
                "model.sector.Sector), e.g. (*model.registry.default_sectors(), MySector)"
            )
        classes = tuple(sectors)
    try:
        check_sectors(classes)
    except ValueError as exc:  # the docstrings promise a ConfigError for every bad argument
        raise ConfigError(f"sectors: {exc}") from None
    if not any(cls.flows is not None for cls in classes):  # no market would clear: prices never move
        names = shown(tuple(cls.name for cls in classes))
        raise ConfigError(
            f"sectors = {names} is not allowed; expected at least one priced sector (one with flows, whose "
            "orders the markets clear), e.g. model.registry.default_sectors()"
        )
    return classes


class CarryUnwindModel(mesa.Model):
    """The yen carry-trade model.

    Parameters
    ----------
    config
        A full :class:`ModelConfig`; if omitted, the scenario's configuration is used.
    scenario
        Built-in scenario name, path to a scenario TOML file (events and overrides) or a
        :class:`Scenario`. Omitted, it is ``"baseline"``, or, where ``config`` is given, no scenario:
        the run is named :data:`~model.scenarios.CUSTOM_CONFIGURATION` and has no events.
    seed, rng
        One integer seed for all random streams (``rng`` accepts the same, for
        ``mesa.batch_run``). ``None`` draws a fresh seed from the OS, recorded in ``self.seed``.
    engine
        ``"numba"`` (arrays and compiled kernels), ``"mesa"`` (each fund a Python ``mesa.Agent``: the
        reference implementation, :mod:`model.reference`) or ``"numpy"`` (the fund arrays stepped with
        NumPy, :mod:`model.numpy_engine`); the three give the same prices (``carry-unwind bench``).
    sectors
        The sector classes in the order of a day (default :func:`model.registry.default_sectors`).
    collect
        ``True`` (the Mesa path): the time series grows as lists and Mesa's DataCollector collects
        every day. ``False`` (the lean path, for sweeps): the time series is recorded into
        preallocated NumPy arrays (``simulation.days + 1`` rows) and nothing is collected per day;
        ``history`` and ``datacollector`` are built from the arrays when read. The numbers are the
        same bit for bit.
    **overrides
        Configuration fields as ``section__field=value`` (e.g. ``hedge_funds__max_leverage=1``),
        so that ``mesa.batch_run`` can sweep them.
    """

    def __init__(
        self,
        config: ModelConfig | None = None,
        *,
        scenario: str | Scenario | None = None,
        seed: int | None = None,
        rng: Any = None,
        engine: str = "numba",
        sectors: tuple[type[Sector], ...] | None = None,
        collect: bool = True,
        **overrides: Any,
    ) -> None:
        try:
            seed = resolve_seed(seed, rng)
        except ValueError as exc:  # the docstrings promise a ConfigError for every bad argument
            raise ConfigError(str(exc)) from None
        if config is not None and not isinstance(config, ModelConfig):
            raise ConfigError(
                f"config = {shown(config)} is not allowed; expected a ModelConfig (ModelConfig.from_dict turns a "
                "dict into one) or None for the scenario's configuration"
            )
        if scenario is not None and not isinstance(scenario, (Scenario, str, os.PathLike)):
            raise ConfigError(
                f"scenario = {shown(scenario)} is not allowed; expected a built-in scenario name, the path of a "
                "scenario .toml file, a Scenario or None (the baseline, or no scenario where a config is given)"
            )
        if engine not in ("numba", "mesa", "numpy"):
            raise ConfigError(f"engine = {shown(engine)} is not allowed; expected 'numba', 'mesa' or 'numpy'")
        if not isinstance(collect, (bool, np.bool_)):  # 'no' is a true value: it must not mean the Mesa path
            raise ConfigError(f"collect = {shown(collect)} is not allowed; expected True (the Mesa path) or False")
        classes = _checked_sectors(sectors)
        super().__init__(rng=seed)
        self.seed = seed
        if scenario is None:  # a configuration given alone is no scenario's (and runs no scenario's events)
            scenario = custom_scenario(config) if config is not None else "baseline"
        self.scenario_spec = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        cfg = config if config is not None else self.scenario_spec.config
        if not isinstance(cfg, ModelConfig):  # a Scenario built in code with something else as its configuration
            raise ConfigError(
                f"scenario {self.scenario_spec.name!r}: its config = {shown(cfg)} is not allowed; expected a "
                "ModelConfig (ModelConfig.from_dict turns a dict of sections into one)"
            )
        if overrides:
            cfg = cfg.with_overrides(overrides)
        self.config = cfg
        events = events_for(self.scenario_spec, cfg.market.start_date)  # dated events move with the start
        events = tuple(sorted(events, key=firing_order))  # also a Scenario built in code: decisions first
        if events != self.scenario_spec.events:
            self.scenario_spec = dataclasses.replace(self.scenario_spec, events=events)
        self.engine = engine
        self.streams = RandomStreams(seed)
        self.day = 0
        self.running = True
        self._callbacks: list[_Call] = []
        # the runtime switches applied (switch): the first day each held, and the fields; self.config is the last
        self.switched: list[tuple[int, dict[str, Any]]] = []
        self.calendar = TradingCalendar(cfg.market.start_date)
        # the funds' trend estimate starts at the drift of the pre-sample path the CTAs' signals start from
        self.market = MarketState(cfg.market, jgb30_spread_pa=cfg.macro.jgb30_spread_pa,
                                  trend_pa=cfg.cta.pre_sample_drift_pa)  # fmt: skip
        self.macro = MacroState(cfg.macro, cfg.market.jp_inflation_expectations,
                                jp_inflation=MacroState.opening_inflation(cfg.macro, cfg.market))  # fmt: skip
        self.collect = bool(collect)
        self._record_store: ListRecord | ArrayRecord = ListRecord(())
        self._datacollector: mesa.DataCollector | None = None
        self.signals: dict[str, float] = {}

        # the sectors, then what needs their signals; scenario events before the BoJ's first meeting
        self.sector_list = [cls(self) for cls in classes]
        self.sectors = {s.name: s for s in self.sector_list}
        # the sectors that publish anything (the others' publish returns nothing): asked twice a day
        self._publishers = frozenset(s for s in self.sector_list if type(s).publish is not Sector.publish)
        # the sectors with something to bring up to date before the day's decisions
        self._observers = tuple(s for s in self.sector_list if type(s).observe is not Sector.observe)
        self._publish()
        for i, event in enumerate(self.scenario_spec.events):  # a Scenario built in code is held to a file's rules
            event = check_event(
                event, self.scenario_spec.name, where=f"scenario {self.scenario_spec.name!r}: events[{i}]"
            )
            self.schedule_scenario_event(event)
        report_late_events(self.scenario_spec, cfg.simulation.days)  # (once per process) those that never fire
        self._event_handlers = {kind: s for s in self.sector_list for kind in s.event_kinds}
        for s in self.sector_list:
            s.start(self)
        self.ledger = Ledger(tuple(row for s in self.sector_list for row in s.rows()))
        for s in self.sector_list:
            s.open_books(self.ledger)
        self._publish()
        for s in self.sector_list:
            s.finish_opening(self)
        self.ledger.freeze_initial()

        # evaluated by stage (customers, then day-wide functions of their flows, then intermediaries),
        # then in registration order: a stable order, so sums are reproducible bit for bit
        self.priced = sorted((s for s in self.sector_list if s.flows is not None), key=lambda s: s.flows_stage)
        self.clearing = ComposedClearing([s.flows for s in self.priced])
        self._flow_index = {s.name: i for i, s in enumerate(self.priced)}
        if engine in ("mesa", "numpy"):
            from model.numpy_engine import NumpyFundSector
            from model.reference import MesaFundSector

            funds = self.sectors["hedge_funds"]
            funds.engine = (MesaFundSector if engine == "mesa" else NumpyFundSector)(self, funds)
            self.clearing = self.clearing.plain({self._flow_index["hedge_funds"]: funds.engine.flows})
        sim = cfg.simulation
        self._bounds = Bounds(sim.max_fx_log_move, sim.min_yield_pa, sim.max_yield_pa, sim.min_basis_pa,
                              sim.max_basis_pa, sim.max_yield_move_pa, sim.max_basis_move_pa, sim.min_usdjpy,
                              sim.max_usdjpy)  # fmt: skip
        self.phase_timer = None  # set by the benchmark: an object whose lap(phase) is called after each phase
        households = self.sectors.get("nisa_households")
        self.nisa_space = households.network_space(self) if households is not None else None

        self.columns = columns_for(classes)
        self._record_store = (
            ListRecord(self.columns) if self.collect else ArrayRecord(self.columns, cfg.simulation.days + 1)
        )
        self.latest: dict[str, float] = {}
        self.last_clearing: ClearingResult | None = None
        self.walras_residual = 0.0
        self.clearing_residual = 0.0  # the worst market's |excess demand| / gross volume at the recorded prices
        self._residual_scratch = np.empty(N_MARKETS)
        self._books_before: np.ndarray | None = None  # the ledger's table before a day's settlement (reused)
        self.walras_log_risk = math.log(self.market.risk_index)  # ln v recomputed at the recorded prices
        # evaluate the flows again at the recorded prices every day, even where the solver's last evaluation is
        # there (ComposedClearing.recheck): the same numbers, and a check independent of the solver's arrays
        # (run_simulation's check_every_day sets it)
        self.recheck_evaluates = False
        self.other_roots = 0
        self.fx_impact = 0.0  # like the other clearing columns: 0 on day 0, before any clearing
        self._record()
        if self.collect:
            self._datacollector = self._new_datacollector()
            self._datacollector.collect(self)

    # -- the sectors as attributes users and checks read ------------------------------------------
    @property
    def hedge_funds(self):
        """The funds' arrays (:class:`agents.hedge_funds.HedgeFundState`)."""
        return self.sectors["hedge_funds"].state

    @property
    def life_insurers(self):
        """The insurers' arrays (:class:`agents.life_insurers.LifeInsurerState`)."""
        return self.sectors["life_insurers"].state

    @property
    def nisa(self):
        """The NISA households' arrays (:class:`agents.nisa.NisaState`)."""
        return self.sectors["nisa_households"].state

    def __getattr__(self, name: str) -> Any:
        # model.dealers, model.boj, model.mof, model.life_insurers, ... : the sector objects
        sectors = self.__dict__.get("sectors")
        if sectors is not None and name in sectors:
            return sectors[name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- the time series ---------------------------------------------------------------------------
    @property
    def history(self) -> dict[str, list]:
        """The time series so far, ``{column: list}`` with day 0 first.

        On the Mesa path the live lists; on the lean path (``collect=False``) a copy built from the
        arrays on every read (read it once, or use :meth:`series` / :meth:`arrays` in a loop).
        """
        return self._record_store.lists()

    def series(self, column: str):
        """One column so far without copying: the live list (Mesa path) or an array view (lean path).

        Supports ``len``, indexing and slicing either way; what sectors read during a day.
        """
        return self._record_store.series(column)

    def arrays(self) -> dict[str, Any]:
        """Every column so far as NumPy-convertible sequences, without copying (lean path: array views)."""
        return self._record_store.arrays()

    def _new_datacollector(self) -> mesa.DataCollector:
        return mesa.DataCollector(
            model_reporters={c: functools.partial(_latest, c) for c in self.columns if c != "day"}
        )

    @property
    def datacollector(self) -> mesa.DataCollector:
        """Mesa's DataCollector, one row per day (day 0 first).

        On the lean path it is built from the recorded arrays when read (the same values the Mesa
        path collects day by day).
        """
        if self.collect:
            return self._datacollector
        dc = self._new_datacollector()
        days = self.series("day")
        for c in dc.model_reporters:
            dc.model_vars[c] = self._record_store.series(c).tolist()
        dc._collection_steps = [float(d) for d in days]
        dc._validated = True
        return dc

    def prices(self) -> tuple[float, float, float, float]:
        """Today's ``(USD/JPY, UST index price, JGB 10y index price, JGB 30y index price)``."""
        mk = self.market
        return mk.usdjpy, mk.ust_price, mk.jgb_price, mk.jgb30_price

    def jp_inflation_expectations(self) -> float:
        return self.macro.jp_expectations()

    def jgb30y_yield(self) -> float:
        """The cleared super-long (30y) JGB yield at the last close."""
        return self.market.jgb30y_yield

    def fundamental_log_usdjpy(self) -> float:
        """ln USD/JPY's fundamental value (real money's anchor) at the current state."""
        return self.sectors["real_money"].fundamental_log_usdjpy(self)

    def nisa_network_view(self, max_nodes: int = 200):
        """``(networkx.Graph, {node: 1.0 if panicking else 0.0})`` for the first households."""
        return self.sectors["nisa_households"].network_view(max_nodes)

    @property
    def outstanding_ust_units(self) -> float:
        return -self.ledger.get("us_treasury", "ust_units")

    @property
    def outstanding_jgb_units(self) -> float:
        return -self.ledger.get("jgb_issuer", "jgb_units")

    @property
    def outstanding_jgb30_units(self) -> float:
        return -self.ledger.get("jgb_issuer", "jgb30_units")

    # -- events ------------------------------------------------------------------------------------
    def schedule(self, day: int, fn, *args, first: bool = False, late: bool = False) -> None:
        """Run ``fn(*args)`` before day ``day``'s trading (Mesa time ``day − ½``); with ``first``, before
        everything else scheduled for that day (Mesa's high priority: a :meth:`switch` then holds for the
        day's own events and policy meetings, whenever they were scheduled); with ``late``, after everything
        scheduled without it (news, which a policy decision taken after it would erase); otherwise in the
        order scheduled.

        Raises
        ------
        model.validation.ConfigError
            ``day`` is not an integer from 1 to 2**52 (a scenario's events stop at
            :data:`model.scenarios.MAX_EVENT_DAY`; a BoJ meeting may fall a little after the horizon).
        """
        if isinstance(day, (bool, np.bool_)) or not isinstance(day, (int, np.integer)) or not 1 <= day <= _LATEST_DAY:
            raise ConfigError(
                f"day = {shown(day)} is not allowed; expected an integer >= 1 (at most 2**52, beyond which Mesa's "
                "clock, a float, cannot hold day - 0.5)"
            )
        if first and late:
            raise ValueError("an event is scheduled first or late, not both")
        call = _Call(fn, *args)
        self._callbacks.append(call)
        priority = Priority.HIGH if first else Priority.LOW if late else Priority.DEFAULT
        self.schedule_event(call, at=day - 0.5, priority=priority)

    def schedule_scenario_event(self, event: ScenarioEvent) -> None:
        """Apply ``event`` before its day's trading: a policy decision (:data:`model.scenarios.DECISION_KINDS`)
        with the day's policy meetings, in the order scheduled, any other kind after them all, so that a
        decision, which re-anchors the expected path, never erases the same day's news about it.

        Raises
        ------
        model.validation.ConfigError
            An event a scenario file could not hold (:func:`model.scenarios.check_event`).
        """
        event = check_event(event)
        self.schedule(event.day, self.apply_event, event, late=event.kind not in DECISION_KINDS)

    def apply_event(self, event: ScenarioEvent) -> None:
        """Apply a scenario (or interactive) event now; it affects the next clearing. Raises
        :class:`~model.validation.ConfigError` for an event a scenario file could not hold."""
        event = check_event(event)
        # both may take a part of one event (US growth news moves the Fed path and the equity index)
        handled = [self.market.apply_event(event), self.macro.apply_event(event)]
        if not any(handled):
            sector = self._event_handlers.get(event.kind)
            if sector is None:  # the scenario parser rejects unknown kinds; this guards direct calls
                raise ValueError(f"unknown event kind {event.kind!r}")
            sector.handle_event(self, event)
        log.debug("day %d: event %s %s", self.day + 1, event.kind, event.params)

    def switch(self, overrides: dict[str, Any]) -> None:
        """Change feedback switches from the next trading day on: ``{"section.field": value}`` (or
        ``section__field``), each one of :data:`model.config.RUNTIME_SWITCHES`, validated as an override
        at construction is. Scheduled with :meth:`schedule`, it cuts a link on a given day of a run whose
        books were built with it on, so that an ablation and its twin share their history until then.

        Raises
        ------
        model.validation.ConfigError
            A field that is not a runtime switch, or a value its field does not allow.
        """
        for key in overrides:
            if key.replace("__", ".") not in RUNTIME_SWITCHES:
                raise ConfigError(
                    f"switch {key!r} is not allowed during a run; expected one of {', '.join(sorted(RUNTIME_SWITCHES))}"
                )
        self.config = self.config.with_overrides(dict(overrides))
        for sector in self.sector_list:
            if sector.section:
                sector.config = getattr(self.config, sector.section)
        self.market.cfg, self.macro.cfg = self.config.market, self.config.macro  # their copies too
        self.switched.append((self.day + 1, dict(overrides)))
        log.debug("day %d: switched %s", self.day + 1, dict(overrides))

    # -- the lean path's loop ---------------------------------------------------------------------
    def run_days(self, days: int, after_day: Callable[[], None] | None = None) -> None:
        """Step ``days`` trading days: what ``run_for(days)`` does, without Mesa's event loop around each day.

        Mesa steps a model through its event list: every day it pops, runs and reschedules a
        recurring step event, about 16 µs a day here (4% of a standard run's day). This loop pauses
        that event, runs every other event in Mesa's order (the scenario's, at day − ½), advances
        Mesa's clock and step count, calls the day, and resumes the step event at the end, so that
        ``step`` and ``run_for`` carry on from there. The numbers are the same bit for bit.
        ``after_day`` is called after each day (a progress bar). Falls back to ``run_for`` one day
        at a time where Mesa lacks what the loop uses.
        """
        self._check_days(days)
        if days <= 0:
            return
        mesa_step = getattr(self, "_default_schedule", None)
        events = getattr(self, "_event_list", None)
        usual = (
            mesa_step is not None and events is not None and hasattr(self, "_user_step")
            and mesa_step.is_active and not getattr(mesa_step, "_paused", True) and self.time == int(self.time)
            and not _at_whole_times(events, getattr(mesa_step, "_current_event", None))
        )  # fmt: skip
        if not usual:  # a Mesa without what the loop uses, a schedule a user has changed, or an event at a day's
            # own time (which Mesa orders against the step by priority and id, as this loop does not): Mesa's loop
            for _ in range(days):
                self.run_for(1)
                if after_day is not None:
                    after_day()
            return
        mesa_step.pause()
        try:
            for _ in range(days):
                until = self.time + 1
                self._run_events(events, until, at_until=False)  # before the day (and those at the last day's time)
                self.time = until
                self.steps += 1
                self._user_step()
                if after_day is not None:
                    after_day()
            self._run_events(events, self.time, at_until=True)  # as Mesa's loop ends: those at the final time
        finally:
            mesa_step.resume()

    def _check_days(self, days: Any) -> None:
        """``days`` of :meth:`run_days`: an integer from 0 to the trading days left before the last date a
        time series can hold (and at most simulation.days' largest value); a ConfigError otherwise."""
        hi = SIMULATION_DAYS_HI
        left = min(self.calendar.last_day_until(LAST_DATE) - self.day, hi)
        if isinstance(days, (bool, np.bool_)) or not isinstance(days, numbers.Integral):
            raise ConfigError(
                f"run_days: days = {shown(days)} is not allowed; expected an integer number of trading days from 0 to "
                f"{left:,}"
            )
        if not 0 <= days <= left:
            why = f"the trading days from day {self.day} to {LAST_DATE}, the last date a time series can hold"
            if left == hi:
                why = f"simulation.days allows at most {hi:,}"
            raise ConfigError(
                f"run_days: days = {shown(int(days))} is not allowed; expected an integer from 0 to {left:,} ({why})"
            )

    def _run_events(self, events, until: float, *, at_until: bool) -> None:
        """Run, in Mesa's order, the events of ``events`` due before ``until`` (and at it, with ``at_until``)."""
        while True:
            try:
                event = events.pop_event()
            except IndexError:
                return
            if event.time > until or (event.time == until and not at_until):
                events.add_event(event)
                return
            self.time = event.time
            event.execute()

    # -- one day -----------------------------------------------------------------------------------
    def _publish(self) -> None:
        publishers = self._publishers
        for s in self.sector_list:
            if s in publishers:
                self.signals.update(s.publish(self))

    def step(self) -> None:
        timer = self.phase_timer
        if timer is not None:
            timer.lap("other")  # since the last step: Mesa's event scheduling, the caller's loop
        self.day += 1
        mk, cfg = self.market, self.config
        # 1. observe
        for s in self._observers:
            s.observe(self)
        self._publish()
        if timer is not None:
            timer.lap("other")
        # 2. decide
        publishers = self._publishers
        for s in self.sector_list:
            s.decide(self)
            if s in publishers:
                self.signals.update(s.publish(self))
        mk.draw(self.streams["risk_index"])
        self.macro.draw(self.streams["macro"])
        inputs = tuple(s.clearing_inputs(self) for s in self.priced)
        if timer is not None:
            timer.lap("decide")
        # 3. clear, then excess demand at the recorded prices (what the dealers take)
        prev = (mk.log_usdjpy, mk.ust10y_yield, mk.jgb10y_yield, mk.fx_basis, mk.jgb30y_yield)
        sim = cfg.simulation
        result = self.clearing.clear(
            inputs, prev, day=self.day, tol=sim.clearing_tolerance, state=self._clearing_state, bounds=self._bounds
        )
        self.last_clearing = result
        day = Day(result, mk, self.clearing.work.flows, self._flow_index, self.clearing.work.aux)
        risk = risk_index_level(day.aux[AUX_LOG_RISK, 0], cfg.market) if "risk_index" in self.sectors else mk.risk_index
        at_recorded = self.clearing.recheck(inputs, result, evaluate=self.recheck_evaluates)
        self.clearing_residual = float(residuals(*at_recorded, self._residual_scratch))  # not the solver's report
        if "risk_index" in self.sectors:
            self.walras_log_risk = float(self.clearing.checked_aux[AUX_LOG_RISK, 0])
        self.fx_impact = fx_impact_pct_per_bn(self.clearing.work.jac)
        self.other_roots = self.clearing.other_roots(
            inputs, result, prev, sim.max_fx_log_move, sim.root_scan_points, sim.clearing_tolerance
        )
        if timer is not None:
            timer.lap("clear")
        # 4. settle: the market closes, then every sector books its day
        closes = self.series("usdjpy")
        year_ago = self.macro.log_usdjpy_year_ago(closes, cfg.market)
        before_start = self.macro.log_usdjpy_change_before_start(closes, cfg.market, year_ago)
        dy_us = result.ust10y_yield - mk.ust10y_yield
        h = cfg.hedge_funds
        mk.close_day(
            usdjpy=result.usdjpy, ust10y_yield=result.ust10y_yield, jgb10y_yield=result.jgb10y_yield,
            fx_basis=result.fx_basis, risk_index=risk, trend_halflife_days=h.trend_halflife_days,
            ewma_lambda=h.ewma_lambda, jgb30y_yield=result.jgb30y_yield,
        )  # fmt: skip
        self.macro.update(
            log_s_now=math.log(result.usdjpy), log_s_year_ago=year_ago, log_s_change_before_start=before_start,
            d_y_us=dy_us,
            shock_commodity=float(self.macro.draws[0]), shock_equity=float(self.macro.draws[1]),
        )  # fmt: skip
        books = self._books_before
        if books is None or books.shape != self.ledger.table.shape:
            books = self._books_before = np.empty_like(self.ledger.table)
        np.copyto(books, self.ledger.table)  # the books before settlement, for the Walras check
        for s in self.sector_list:
            s.settle(self, day)
        # after settlement, from what the sectors booked (the coupons below are transfers, not trades)
        absorbed = np.array((result.excess_fx_usd_bn, result.excess_ust_units, result.excess_jgb_units,
                             result.excess_fwd_usd_bn, result.excess_jgb30_units))  # fmt: skip
        self.walras_residual = walras_residual(booked_excess(books, self.ledger.table, day), absorbed, *at_recorded)
        pay_coupons(self.ledger, day)
        if timer is not None:
            timer.lap("settle")
        # 5. record
        self._record()
        if self.collect:
            self._datacollector.collect(self)
        if timer is not None:
            timer.lap("record")
        if self.day >= cfg.simulation.days:
            self.running = False

    def _clearing_state(self) -> str:
        """The state a clearing failure's message names (built only when one is raised): each sector's
        :meth:`~model.sector.Sector.failure_state`, in registration order."""
        return "; ".join(text for s in self.sector_list if (text := s.failure_state(self)))

    # -- records -----------------------------------------------------------------------------------
    def _record(self) -> None:
        mk, res = self.market, self.last_clearing
        row: dict[str, Any] = {"day": self.day, **self.macro.record(mk)}
        for s in self.sector_list:
            row.update(s.record(self))
        row.update(
            clearing_iterations=res.iterations if res else 0,
            clearing_residual=self.clearing_residual,
            walras_residual=self.walras_residual,
            clearing_other_roots=self.other_roots,
            fx_impact_pct_per_bn=self.fx_impact,
        )
        row.update(dashboards(self, row))
        self._record_store.append(row)
        self.latest = row

    def timeseries(self):
        """The recorded history as a pandas DataFrame, one row per day (day 0 = initial state).

        Columns are ``day``, then ``date`` (the trading calendar's date of that day,
        ``self.calendar.date(day)``, as ``datetime64[ns]``), then :data:`TIMESERIES_COLUMNS` after ``day``.
        """
        import pandas as pd

        df = pd.DataFrame(self._record_store.arrays())
        for col in INTEGER_COLUMNS:
            if col in df:
                df[col] = df[col].astype("int64")
        dates = pd.to_datetime(self.calendar.dates(df["day"].to_numpy())).astype("datetime64[ns]")
        df.insert(1, "date", dates)
        return df


@njit(cache=True)
def fx_impact_pct_per_bn(jac):
    """The day's marginal price impact: % change in USD/JPY from $1 bn more of net customer dollar buying,
    all markets re-clearing, from the clearing's Jacobian at the cleared prices (NaN if singular).

    Solved by the clearing's own compiled elimination (:func:`model.clearing.solve_linear`) rather
    than LAPACK: LAPACK's kernels differ between CPU families in the last bits, and a recorded
    column must be the same number on every machine. Compiled, so the day does not pay for three
    small arrays made from Python.
    """
    n = jac.shape[0]
    rhs = np.zeros(n)
    rhs[0] = -1.0
    dp = np.empty(n)
    if not solve_linear(jac.astype(np.float64), rhs, dp):  # a copy: the elimination overwrites it
        return math.nan
    dp0 = dp[0]
    return 100.0 * dp0 if math.isfinite(dp0) else math.nan


def _latest(name: str, model: CarryUnwindModel) -> float:
    return model.latest[name]
