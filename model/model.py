"""``CarryUnwindModel``: the Mesa model. It wires the sectors and fixes the order of a day.

A day (one ``step``) runs, in this order:

1. **observe** – scenario events and BoJ meetings for the day have fired (Mesa events at
   ``day − ½``); agents read yesterday's close, the trend, valuation and volatility;
2. **decide** – hedge funds set target leverage, margin limits and speeds; insurers, NISA
   households, the BoJ (purchases), the MoF (intervention, issuance) and the US Treasury
   (auctions) place their orders; today's exogenous shocks are drawn from named streams;
3. **clear** – USD/JPY, the UST 10y and the JGB 10y clear jointly (:mod:`model.clearing`);
4. **settle** – trades, carry accrual, investor flows, failures and re-entries are booked in
   the ledger; inventories, the risk index, inflation, fiscal risk and estimates move on;
5. **record** – one row of the time series; Mesa's DataCollector collects.

Sector state lives in arrays (struct of arrays); Mesa agents are thin read-only views.
"""

from __future__ import annotations

import functools
import logging
import math
from typing import Any

import mesa
import numpy as np

from agents import hedge_funds as hf
from agents import life_insurers as li
from agents import nisa
from agents.boj import MEETING_DATES, BojState, monthly_purchases_jpy_tn, policy_decision
from agents.bond_investors import BondInvestorState, bond_investor_flow
from agents.dealers import DealerState, bond_capacity_units, bond_flow, capacity_scale, fx_flow
from agents.fx_fundamentals import FundamentalState, fundamental_flow
from agents.mof import MofState, intervention_today
from agents.us_treasury import UsTreasuryState
from model.accounting import Ledger
from model.calendar import TradingCalendar
from model.clearing import ClearingInputs, ClearingResult, clear
from model.config import ModelConfig
from model.dashboards import DASHBOARD_COLUMNS, dashboards
from model.macro import MacroState
from model.market import MarketState, bond_price, update_risk_index
from model.scenarios import Scenario, ScenarioEvent, load_scenario
from model.streams import RandomStreams

__all__ = ["CarryUnwindModel", "TIMESERIES_COLUMNS"]

log = logging.getLogger(__name__)

TIMESERIES_COLUMNS = (
    "day",
    "usdjpy",
    "ust10y_yield",
    "jgb10y_yield",
    "jgb30y_yield",
    "risk_index",
    "us_short_rate",
    "boj_rate",
    "jp_inflation",
    "jp_inflation_expectations",
    "fiscal_risk",
    "equity_index",
    "hf_gross_usd_bn",
    "hf_equity_usd_bn",
    "hf_leverage",
    "hf_margin_calls",
    "hf_failures",
    "hf_alive",
    "hf_investor_flows_usd_bn",
    "lifer_foreign_share",
    "lifer_hedge_ratio",
    "lifer_fx_flow_usd_bn",
    "nisa_flow_jpy_tn",
    "nisa_panic_share",
    "mof_intervention_jpy_tn",
    "mof_reserves_usd_bn",
    "boj_jgb_holdings_jpy_tn",
    "boj_purchases_jpy_tn",
    "ust_auction",
    "ust_auction_tail_bp",
    "ust_indirect_share",
    "dealer_fx_inventory_usd_bn",
    "real_money_usd_bn",
    "trade_flow_usd_bn",
    "clearing_iterations",
    "clearing_residual",
    *DASHBOARD_COLUMNS,
)
INTEGER_COLUMNS = ("day", "hf_margin_calls", "hf_failures", "hf_alive", "clearing_iterations", "ust_auction")


def _latest(name: str, model: CarryUnwindModel) -> float:
    return model.latest[name]


class _Call:
    """A bound callback Mesa can hold (it keeps events by weak reference; the model keeps these)."""

    def __init__(self, fn, *args) -> None:
        self.fn, self.args = fn, args

    def __call__(self) -> None:
        self.fn(*self.args)


class CarryUnwindModel(mesa.Model):
    """The yen carry-trade model.

    Parameters
    ----------
    config
        A full :class:`ModelConfig`; if omitted, the scenario's configuration is used.
    scenario
        Built-in scenario name or path to a scenario TOML file (events and overrides).
        (Shadows Mesa's experimental ``Scenario`` object, which this model does not use.)
    seed, rng
        One integer seed for all random streams (``rng`` accepts the same, for
        ``mesa.batch_run``). ``None`` draws a fresh seed from the OS, recorded in ``self.seed``.
    engine
        ``"numba"`` (arrays and compiled kernels) or ``"mesa"`` (each fund a Python
        ``mesa.Agent``: the reference implementation used by the benchmark).
    **overrides
        Configuration fields as ``section__field=value`` (e.g. ``hedge_funds__max_leverage=1``),
        so that ``mesa.batch_run`` can sweep them.
    """

    def __init__(
        self,
        config: ModelConfig | None = None,
        *,
        scenario: str | Scenario = "baseline",
        seed: int | None = None,
        rng: Any = None,
        engine: str = "numba",
        **overrides: Any,
    ) -> None:
        seed = _resolve_seed(seed, rng)
        super().__init__(rng=seed)
        self.seed = seed
        self.scenario_spec = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
        cfg = config if config is not None else self.scenario_spec.config
        if overrides:
            cfg = cfg.with_overrides(overrides)
        self.config = cfg
        if engine not in ("numba", "mesa"):
            raise ValueError(f"engine = {engine!r} is not allowed; expected 'numba' or 'mesa'")
        self.engine = engine
        self.streams = RandomStreams(seed)
        self.day = 0
        self.running = True
        self._callbacks: list[_Call] = []

        m = cfg.market
        self.calendar = TradingCalendar(m.start_date)
        self.market = MarketState(m)
        self.macro = MacroState(cfg.macro, m.jp_inflation_expectations)
        self._log_s_year_ago = math.log(m.usdjpy_year_ago)
        gap0 = (m.ust10y_yield - m.us_inflation_expectations) - (m.jgb10y_yield - m.jp_inflation_expectations)
        self.real_money = FundamentalState(log_anchor=math.log(m.usdjpy), real_gap_ref=gap0)
        self.hedge_funds = hf.init_hedge_funds(
            cfg.hedge_funds,
            self.streams["hedge_funds.init"],
            usdjpy=m.usdjpy,
            ust_price=self.market.ust_price,
            **self._observe(),
        )
        self.dealers = DealerState()
        bi = cfg.bond_investors
        self.bond_investors = BondInvestorState(
            ust_units=bi.ust_holdings_usd_bn / self.market.ust_price,
            jgb_units=bi.jgb_holdings_jpy_tn / self.market.jgb_price,
            ust_anchor=m.ust10y_yield,
            jgb_anchor=m.jgb10y_yield,
        )
        self.life_insurers = li.init_life_insurers(
            cfg.life_insurers,
            self.streams["life_insurers.init"],
            usdjpy=m.usdjpy,
            ust_price=self.market.ust_price,
            jgb_price=self.market.jgb_price,
            utilities=self._insurer_utilities(),
        )
        self.nisa = nisa.init_nisa(
            cfg.nisa, self.streams["nisa.init"], equity_index=self.macro.equity_index, usdjpy=m.usdjpy
        )
        self.boj = BojState(cfg.boj, self.market.jgb_price)
        self.mof = MofState(cfg.mof)
        self.us_treasury = UsTreasuryState()
        self._orders: dict[str, float] = {}
        self._init_ledger()

        if engine == "mesa":
            from model.reference import MesaFundSector

            self.fund_engine = MesaFundSector(self)
        else:
            self.fund_engine = None
            for row in range(min(cfg.hedge_funds.n_funds, cfg.simulation.max_agent_views)):
                hf.HedgeFundView(self, row)
        self.nisa_space = self._build_nisa_space(cfg.simulation.network_view_households)

        for event in self.scenario_spec.events:
            self._schedule(event.day, self.apply_event, event)
        self._schedule_next_boj_meeting(after_day=0)

        self.history: dict[str, list[float]] = {c: [] for c in TIMESERIES_COLUMNS}
        self.latest: dict[str, float] = {}
        self.last_clearing: ClearingResult | None = None
        self._pending_trade_flow = 0.0
        self._record(None, None, None)
        self.datacollector = mesa.DataCollector(
            model_reporters={c: functools.partial(_latest, c) for c in TIMESERIES_COLUMNS if c != "day"}
        )
        self.datacollector.collect(self)

    # -- set-up -----------------------------------------------------------------------------
    def _init_ledger(self) -> None:
        led = Ledger()
        funds, ins = self.hedge_funds, self.life_insurers
        led.set("yen_lenders", "yen_loans_jpy_tn", float(funds.loan_jpy_tn.sum()))
        # the yen the funds borrowed was sold for the dollars they hold
        led.set("yen_lenders", "jpy_tn", -float(funds.loan_jpy_tn.sum()))
        led.set("fund_investors", "usd_bn", -float(funds.cash_usd_bn.sum()))
        led.set("ust_investors", "ust_units", self.bond_investors.ust_units)
        led.set("jgb_investors", "jgb_units", self.bond_investors.jgb_units)
        led.set("life_insurers", "ust_units", float(ins.ust_units.sum()))
        led.set("life_insurers", "jgb_units", float(ins.jgb_units.sum()))
        led.set("boj", "jgb_units", self.boj.jgb_units)
        led.set("mof", "usd_bn", self.mof.reserves_usd_bn)
        led.set("us_treasury", "ust_units", -(led.totals()[2] + float(funds.ust_units.sum())))
        led.set("jgb_issuer", "jgb_units", -led.totals()[3])
        self.ledger = led
        self.sync_fund_ledger()
        led.freeze_initial()

    def sync_fund_ledger(self) -> None:
        """Recompute the hedge-fund row from the funds' own arrays."""
        f = self.hedge_funds
        self.ledger.set("hedge_funds", "usd_bn", float(f.cash_usd_bn.sum()))
        self.ledger.set("hedge_funds", "ust_units", float(f.ust_units.sum()))
        self.ledger.set("hedge_funds", "yen_loans_jpy_tn", -float(f.loan_jpy_tn.sum()))

    def _build_nisa_space(self, n_view: int):
        """Mesa's Network space over the first households, with a view agent on each node."""
        if n_view <= 0 or not self.config.nisa.enabled:
            return None
        graph, _ = nisa.network_sample(self.nisa, n_view)
        space = mesa.discrete_space.Network(graph, random=self.random, layout=None)
        for node in graph.nodes:
            view = nisa.HouseholdView(self, node)
            view.cell = space[node]
        return space

    def nisa_network_view(self, max_nodes: int = 200):
        """``(networkx.Graph, {node: 1.0 if panicking else 0.0})`` for the first households."""
        return nisa.network_sample(self.nisa, max_nodes)

    @property
    def outstanding_ust_units(self) -> float:
        return -self.ledger.get("us_treasury", "ust_units")

    @property
    def outstanding_jgb_units(self) -> float:
        return -self.ledger.get("jgb_issuer", "jgb_units")

    # -- events and meetings --------------------------------------------------------------------
    def _schedule(self, day: int, fn, *args) -> None:
        """Run ``fn(*args)`` before day ``day``'s trading (Mesa time ``day − ½``)."""
        call = _Call(fn, *args)
        self._callbacks.append(call)
        self.schedule_event(call, at=day - 0.5)

    def apply_event(self, event: ScenarioEvent) -> None:
        """Apply a scenario (or interactive) event now; it affects the next clearing."""
        p, mk = event.params, self.market
        if event.kind == "risk_shock":
            mk.risk_shock += p["log_jump"]
        elif event.kind == "boj_rate":
            mk.boj_rate = p["rate"]
            self.boj.decisions.append((self.day + 1, mk.boj_rate))
        elif event.kind == "us_short_rate":
            mk.us_short_rate = p["rate"]
        elif event.kind == "trade_flow":
            self._pending_trade_flow += p["usd_bn"]
        elif event.kind == "supplementary_budget":
            days = self.config.mof.issuance_days
            self.mof.pending_issuance.append([p["jpy_tn"] / days, days])
            self.macro.add_fiscal_news(p["jpy_tn"])
        elif event.kind == "mof_intervention":
            self.mof.scripted_jpy_tn += p["jpy_tn"]
        elif event.kind == "commodity_shock":
            self.macro.commodity += p["inflation_pa"]
        elif event.kind == "us_inflation_expectations":
            mk.us_inflation_expectations = p["rate"]
        elif event.kind == "superlong_shock":
            self.macro.superlong_extra += p["spread_pa"]
        else:  # the scenario parser rejects unknown kinds; this guards direct calls
            raise ValueError(f"unknown event kind {event.kind!r}")
        log.debug("day %d: event %s %s", self.day + 1, event.kind, p)

    def _schedule_next_boj_meeting(self, after_day: int) -> None:
        year = self.calendar.date(after_day).year
        for y in (year, year + 1):
            for month, dom in MEETING_DATES:
                day = self.calendar.day_of(f"{y:04d}-{month:02d}-{dom:02d}")
                if day > after_day:
                    self.boj.next_meeting_day = day
                    self._schedule(day, self._boj_meeting, day)
                    return

    def _boj_meeting(self, day: int) -> None:
        cfg, mk = self.config.boj, self.market
        if cfg.mode == "rule":
            window = self.history["usdjpy"][-20:] if self.history["usdjpy"] else [mk.usdjpy]
            surge = 1.0 - mk.usdjpy / max(window)
            new = policy_decision(
                cfg, rate=mk.boj_rate, inflation=self.macro.jp_inflation, risk_index=mk.risk_index, yen_surge=surge
            )
            if new != mk.boj_rate:
                log.info("day %d: BoJ moves the policy rate %.2f%% -> %.2f%%", day, 100 * mk.boj_rate, 100 * new)
                mk.boj_rate = new
                self.boj.decisions.append((day, new))
        self._schedule_next_boj_meeting(after_day=day)

    # -- one day ------------------------------------------------------------------------------
    def step(self) -> None:
        self.day += 1
        cfg = self.config
        hcfg = cfg.hedge_funds

        # 1. observe
        obs = self._observe()
        # 2. decide
        if self.fund_engine is None:
            hf.decide(self.hedge_funds, hcfg, **obs)
        else:
            self.fund_engine.decide(**obs)
        self._orders = self._institution_orders()
        inp = self._clearing_inputs()
        # 3. clear
        if self.fund_engine is None:
            result = clear(
                inp, self.hedge_funds, hcfg.forced_sales, day=self.day, tol=cfg.simulation.clearing_tolerance
            )
        else:
            result = self.fund_engine.clear(inp, tol=cfg.simulation.clearing_tolerance)
        self.last_clearing = result
        # 4. settle
        totals = self._settle(inp, result)
        # 5. record
        self._record(inp, result, totals)
        self.datacollector.collect(self)
        if self.day >= cfg.simulation.days:
            self.running = False

    def _observe(self) -> dict[str, float]:
        """What funds see before trading: yesterday's close, trend, valuation and risk."""
        mk = self.market
        var_pa = self._funds_variance_pa()
        return dict(
            carry_pa=mk.ust10y_yield - mk.boj_rate,
            trend_pa=mk.trend_daily * hf.TRADING_DAYS,
            misvaluation=mk.log_usdjpy - self.fundamental_log_usdjpy(),
            var_pa=var_pa,
            vol_ratio=math.sqrt(var_pa) / self.config.hedge_funds.margin_reference_vol_pa,
        )

    def jp_inflation_expectations(self) -> float:
        return self.macro.jp_expectations()

    def fundamental_log_usdjpy(self) -> float:
        """ln S_fund at the current yields and inflation expectations (real money's anchor)."""
        mk, rm = self.market, self.real_money
        gap = (mk.ust10y_yield - mk.us_inflation_expectations) - (mk.jgb10y_yield - self.jp_inflation_expectations())
        beta = self.config.real_money.real_rate_semi_elasticity
        return rm.log_anchor + beta * (gap - rm.real_gap_ref) + self.macro.fx_premium()

    def jgb30y_yield(self, jgb10y: float | None = None) -> float:
        c = self.config.macro
        y10 = self.market.jgb10y_yield if jgb10y is None else jgb10y
        return (
            y10
            + c.jgb30_spread_pa
            + c.fiscal_superlong_premium_pa * self.macro.fiscal_risk
            + self.macro.superlong_extra
        )

    def _funds_variance_pa(self) -> float:
        mk, h = self.market, self.config.hedge_funds
        if not h.risk_feedback:
            return h.margin_reference_vol_pa**2
        implied = self.config.market.fx_vol_per_risk_point * mk.risk_index
        blend = h.realized_vol_weight * mk.ewma_var_daily * hf.TRADING_DAYS + (1 - h.realized_vol_weight) * implied**2
        return max(blend, h.vol_floor_pa**2)

    def _insurer_utilities(self) -> np.ndarray:
        mk = self.market
        fx_var = (self.config.market.fx_vol_per_risk_point * mk.risk_index) ** 2
        return li.yen_returns(
            self.config.life_insurers,
            y30=self.jgb30y_yield(),
            y_us=mk.ust10y_yield,
            r_us=mk.us_short_rate,
            r_jp=mk.boj_rate,
            basis_pa=self.macro.basis_bp * 1e-4,
            misvaluation=mk.log_usdjpy - self.fundamental_log_usdjpy(),
            fx_var_pa=fx_var,
        )

    def _institution_orders(self) -> dict[str, float]:
        """Today's price-inelastic orders of the institutions, from yesterday's close."""
        cfg, mk = self.config, self.market
        S, p_us, p_jp = mk.usdjpy, mk.ust_price, mk.jgb_price
        date = self.calendar.date(self.day)
        tdays = self.calendar.trading_days_in_month(self.day)
        o: dict[str, float] = {}
        # life insurers
        ins = self.life_insurers
        li.decide(ins, cfg.life_insurers, self._insurer_utilities(), usdjpy=S, ust_price=p_us, jgb_price=p_jp)
        o["lifer_ust_units"] = float(ins.order_ust_units.sum()) if cfg.life_insurers.enabled else 0.0
        o["lifer_jgb_units"] = float(ins.order_jgb_units.sum()) if cfg.life_insurers.enabled else 0.0
        o["lifer_usd_bn"] = float(ins.order_usd_bn.sum()) if cfg.life_insurers.enabled else 0.0
        # NISA households: monthly contributions spread over the month's trading days
        monthly = cfg.nisa.monthly_contribution_jpy_tn * (cfg.nisa.january_multiplier if date.month == 1 else 1.0)
        flow, new_panic, panicked = nisa.decide(
            self.nisa, cfg.nisa, equity_index=self.macro.equity_index, usdjpy=S, daily_total_jpy_tn=monthly / tdays
        )
        o["nisa_flow_jpy_tn"] = flow
        o["nisa_usd_bn"] = flow * 1000.0 / S
        o["nisa_panicked"] = panicked
        # BoJ: purchases on the taper path; redemptions are refinanced in the market
        purchase = monthly_purchases_jpy_tn(cfg.boj, date) / tdays
        o["boj_purchase_jpy_tn"] = purchase
        o["boj_purchase_units"] = purchase / p_jp
        o["boj_redeemed_units"] = self.boj.jgb_units * cfg.boj.redemption_rate_pa / hf.TRADING_DAYS
        # MoF: intervention (dollar selling) and issuance
        window = self.history["usdjpy"]
        ago = window[max(0, len(window) - 1 - cfg.mof.speed_window_days)] if window else S
        interv = intervention_today(cfg.mof, self.mof, usdjpy=S, usdjpy_window_ago=ago)
        o["mof_intervention_jpy_tn"] = interv
        o["mof_usd_bn"] = -interv * 1000.0 / S
        planned = cfg.mof.deficit_jpy_tn_pa / hf.TRADING_DAYS
        supplementary = self.mof.issuance_today()
        o["jgb_planned_jpy_tn"] = planned
        o["jgb_supply_units"] = (planned + supplementary) / p_jp + o["boj_redeemed_units"]
        # US Treasury auction
        ut, uc = self.us_treasury, cfg.us_treasury
        auction = uc.auctions and uc.auction_size_usd_bn > 0 and self.day % uc.auction_interval_days == 0
        o["ust_auction"] = float(auction)
        o["ust_supply_units"] = uc.auction_size_usd_bn / p_us if auction else 0.0
        digest = 0.0
        if ut.digest_left > 0:
            digest = min(ut.digest_left, uc.auction_size_usd_bn * (1 - uc.anticipated_share) / uc.auction_interval_days)
            ut.digest_left -= digest
        if auction:
            digest += uc.anticipated_share * uc.auction_size_usd_bn
            ut.digest_left += (1 - uc.anticipated_share) * uc.auction_size_usd_bn
        o["ust_absorbed_usd_bn"] = digest
        return o

    def _clearing_inputs(self) -> ClearingInputs:
        cfg, mk = self.config, self.market
        bi, bs, o = cfg.bond_investors, self.bond_investors, self._orders
        # today's shocks, each from its own stream
        rm_cfg, rm_state = cfg.real_money, self.real_money
        n_prev = rm_state.noise_position_usd_bn
        rm_state.noise_position_usd_bn = rm_cfg.noise_persistence * n_prev + rm_cfg.trade_flow_sd_usd_bn * float(
            self.streams["trade_flows"].standard_normal()
        )
        trade = rm_cfg.trade_flow_mean_usd_bn + (rm_state.noise_position_usd_bn - n_prev) + self._pending_trade_flow
        self._pending_trade_flow = 0.0
        # term premia: AR(1) deviations from their initial levels
        bs.ust_term_premium = (
            bi.ust_term_premium_persistence * bs.ust_term_premium
            + bi.ust_term_premium_sd_bp * 1e-4 * float(self.streams["ust_term_premium"].standard_normal())
        )
        bs.jgb_term_premium = (
            bi.jgb_term_premium_persistence * bs.jgb_term_premium
            + bi.jgb_term_premium_sd_bp * 1e-4 * float(self.streams["jgb_term_premium"].standard_normal())
        )
        self._risk_draw = float(self.streams["risk_index"].standard_normal())
        self._macro_draws = self.streams["macro"].standard_normal(2)
        m0 = cfg.market
        ust_anchor = m0.ust10y_yield + (mk.us_short_rate - m0.us_short_rate) + bs.ust_term_premium
        jgb_anchor = (
            m0.jgb10y_yield
            + (mk.boj_rate - m0.boj_rate)
            + bs.jgb_term_premium
            + cfg.macro.fiscal_jgb_premium_pa * self.macro.fiscal_risk
        )
        ust_extra = bi.flight_to_quality_usd_bn * (mk.risk_index - cfg.market.risk_index_mean) + bs.ust_absorbed_usd_bn
        ust_extra += o["ust_absorbed_usd_bn"]
        jgb_extra = bs.jgb_absorbed_jpy_tn + o["jgb_planned_jpy_tn"]
        self.real_money.fiscal_premium = self.macro.fx_premium()

        scale = capacity_scale(cfg.dealers, mk.risk_index, cfg.market.risk_index_mean)
        d = cfg.dealers
        ycc = cfg.boj.ycc
        return ClearingInputs(
            s_prev=mk.log_usdjpy,
            yus_prev=mk.ust10y_yield,
            yjp_prev=mk.jgb10y_yield,
            dealer_fx_inventory=self.dealers.fx_inventory_usd_bn,
            dealer_fx_capacity=d.fx_capacity_usd_bn * scale,
            dealer_decay=d.inventory_decay,
            dealer_ust_inventory=self.dealers.ust_inventory_units,
            dealer_ust_capacity_units=bond_capacity_units(d.ust_capacity_usd_bn_per_bp, scale, mk.ust_price),
            dealer_jgb_inventory=self.dealers.jgb_inventory_units,
            dealer_jgb_capacity_units=bond_capacity_units(d.jgb_capacity_jpy_tn_per_bp, scale, mk.jgb_price),
            real_money_kept=(1.0 - rm_cfg.handoff_per_day) * rm_state.holdings_usd_bn,
            real_money_log_anchor=rm_state.log_anchor,
            real_money_gap_ref=rm_state.real_gap_ref,
            real_money_fiscal_premium=rm_state.fiscal_premium,
            real_money_beta=rm_cfg.real_rate_semi_elasticity,
            real_money_capacity=rm_cfg.capacity_usd_bn
            * (cfg.market.risk_index_mean / mk.risk_index) ** rm_cfg.capacity_risk_elasticity,
            infl_us=mk.us_inflation_expectations,
            infl_jp=self.jp_inflation_expectations(),
            trade_flow_usd_bn=trade,
            ust_investor_anchor_change=ust_anchor - bs.ust_anchor,
            ust_investor_elasticity=bi.ust_elasticity_usd_bn_per_bp,
            ust_investor_extra_change=ust_extra - bs.ust_extra_usd_bn,
            ust_investor_units=bs.ust_units,
            jgb_investor_anchor_change=jgb_anchor - bs.jgb_anchor,
            jgb_investor_elasticity=bi.jgb_elasticity_jpy_tn_per_bp,
            jgb_investor_extra_change=jgb_extra - bs.jgb_extra_jpy_tn,
            jgb_investor_units=bs.jgb_units,
            ust_duration=cfg.market.ust_duration,
            jgb_duration=cfg.market.jgb_duration,
            ust_new_supply_units=o["ust_supply_units"],
            jgb_new_supply_units=o["jgb_supply_units"],
            exogenous_usd_bn=o["lifer_usd_bn"] + o["nisa_usd_bn"] + o["mof_usd_bn"],
            exogenous_ust_units=o["lifer_ust_units"],
            exogenous_jgb_units=o["lifer_jgb_units"] + o["boj_purchase_units"],
            margin_call_band=cfg.hedge_funds.margin_call_band,
            ycc_cap=cfg.boj.ycc_cap_pa,
            ycc_units_per_unit_yield=cfg.boj.ycc_elasticity_jpy_tn_per_bp * 1e4 / mk.jgb_price if ycc else 0.0,
        )

    def _settle(self, inp: ClearingInputs, res: ClearingResult) -> hf.SettleTotals:
        cfg, mk, led, o = self.config, self.market, self.ledger, self._orders
        s_new = math.log(res.usdjpy)
        s_solver = res.log_usdjpy  # the flows are those at the solver's own iterate
        p_us_prev, S_prev = mk.ust_price, mk.usdjpy
        p_us = bond_price(res.ust10y_yield, cfg.market.ust_duration)
        p_jp = bond_price(res.jgb10y_yield, cfg.market.jgb_duration)
        S = res.usdjpy
        yen = S / 1000.0  # JPY tn per USD bn

        # non-fund participants' trades at the cleared prices (the same functions the solver used)
        q_dfx, _ = fx_flow(s_solver, inp.s_prev, inp.dealer_fx_inventory, inp.dealer_fx_capacity, inp.dealer_decay)
        q_rm = fundamental_flow(
            s_solver, res.ust10y_yield, res.jgb10y_yield, inp.infl_us, inp.infl_jp, inp.real_money_log_anchor,
            inp.real_money_gap_ref, inp.real_money_fiscal_premium, inp.real_money_beta, inp.real_money_capacity,
            inp.real_money_kept,
        )[0]  # fmt: skip
        q_dust, _ = bond_flow(
            res.ust10y_yield, inp.yus_prev, inp.dealer_ust_inventory, inp.dealer_ust_capacity_units, inp.dealer_decay
        )
        q_dj, _ = bond_flow(
            res.jgb10y_yield, inp.yjp_prev, inp.dealer_jgb_inventory, inp.dealer_jgb_capacity_units, inp.dealer_decay
        )
        # the dealers take the excess demand left within the clearing tolerance, so that every
        # trade has a counterparty exactly and holdings add up to the amounts outstanding
        q_dfx -= res.excess_fx_usd_bn
        q_dust -= res.excess_ust_units
        q_dj -= res.excess_jgb_units
        q_iu, _ = bond_investor_flow(
            res.ust10y_yield, inp.yus_prev, inp.ust_investor_anchor_change, inp.ust_investor_elasticity,
            inp.ust_investor_extra_change, inp.ust_duration, inp.ust_investor_units,
        )  # fmt: skip
        q_ij, _ = bond_investor_flow(
            res.jgb10y_yield, inp.yjp_prev, inp.jgb_investor_anchor_change, inp.jgb_investor_elasticity,
            inp.jgb_investor_extra_change, inp.jgb_duration, inp.jgb_investor_units,
        )  # fmt: skip
        q_ycc = inp.ycc_units_per_unit_yield * max(res.jgb10y_yield - inp.ycc_cap, 0.0)
        # real money hands part of its book to long-horizon investors at today's price
        handoff = self.real_money.holdings_usd_bn - inp.real_money_kept
        self._fx(led, "real_money", -handoff, yen)
        self._fx(led, "long_horizon", handoff, yen)
        # FX trades: buyer of dollars pays yen
        for sector, q in (
            ("dealers", q_dfx),
            ("real_money", q_rm),
            ("trade", inp.trade_flow_usd_bn),
            ("life_insurers", o["lifer_usd_bn"]),
            ("nisa_households", o["nisa_usd_bn"]),
            ("mof", o["mof_usd_bn"]),
        ):
            self._fx(led, sector, q, yen)
        # NISA dollars buy foreign equity from its (unmodelled) sellers
        led.book("nisa_households", "usd_bn", -o["nisa_usd_bn"])
        led.book("foreign_equity", "usd_bn", o["nisa_usd_bn"])
        # bond trades and new supply (the issuers sell at today's price)
        for sector, q in (
            ("dealers", q_dust),
            ("ust_investors", q_iu),
            ("life_insurers", o["lifer_ust_units"]),
            ("us_treasury", -o["ust_supply_units"]),
        ):
            led.book(sector, "ust_units", q)
            led.book(sector, "usd_bn", -q * p_us)
        # the BoJ's maturing bonds are repaid by the issuer (and refinanced in the supply above)
        red = o["boj_redeemed_units"]
        for sector, q in (
            ("dealers", q_dj),
            ("jgb_investors", q_ij),
            ("life_insurers", o["lifer_jgb_units"]),
            ("boj", o["boj_purchase_units"] + q_ycc - red),
            ("jgb_issuer", red - o["jgb_supply_units"]),
        ):
            led.book(sector, "jgb_units", q)
            led.book(sector, "jpy_tn", -q * p_jp)
        # hedge funds: the yen they borrow (or repay) is what they sell (or buy) in the market
        f = self.hedge_funds
        loans_before = float(f.loan_jpy_tn.sum())
        units_before = float(f.ust_units.sum())
        if self.fund_engine is None:
            totals = hf.settle(
                f, cfg.hedge_funds, price=p_us, usdjpy=S, price_prev=p_us_prev, usdjpy_prev=S_prev,
                y_us=res.ust10y_yield, r_jp=mk.boj_rate, day=self.day,
            )  # fmt: skip
        else:
            totals = self.fund_engine.settle(
                price=p_us, usdjpy=S, price_prev=p_us_prev, usdjpy_prev=S_prev, y_us=res.ust10y_yield, r_jp=mk.boj_rate
            )
        # cash lent (+) or repaid (−): the change in loans less interest, plus what was written off
        new_loans = float(f.loan_jpy_tn.sum()) - loans_before - totals.interest_jpy_tn + totals.defaults_jpy_tn
        led.book("yen_lenders", "yen_loans_jpy_tn", new_loans + totals.interest_jpy_tn - totals.defaults_jpy_tn)
        led.book("yen_lenders", "jpy_tn", -new_loans)
        led.book("us_treasury", "usd_bn", -totals.coupons_usd_bn)
        led.book("fund_investors", "usd_bn", -totals.investor_flows_usd_bn + totals.payouts_usd_bn)

        # state of the other sectors
        self.dealers.fx_inventory_usd_bn += q_dfx
        self.dealers.ust_inventory_units += q_dust
        self.dealers.jgb_inventory_units += q_dj
        self.real_money.holdings_usd_bn = inp.real_money_kept + q_rm
        bs = self.bond_investors
        bs.ust_units += q_iu
        bs.jgb_units += q_ij
        bs.ust_anchor += inp.ust_investor_anchor_change
        bs.jgb_anchor += inp.jgb_investor_anchor_change
        bs.ust_extra_usd_bn += inp.ust_investor_extra_change
        bs.jgb_extra_jpy_tn += inp.jgb_investor_extra_change
        bs.ust_absorbed_usd_bn += o["ust_absorbed_usd_bn"]
        bs.jgb_absorbed_jpy_tn += o["jgb_planned_jpy_tn"]
        if cfg.life_insurers.enabled:
            li.settle(self.life_insurers)
        self.boj.jgb_units += o["boj_purchase_units"] + q_ycc - red
        self.mof.reserves_usd_bn += o["mof_usd_bn"]
        # coupons: every holder outside the funds (whose coupons the fund kernel books)
        self._coupons(res, p_us, p_jp)
        # auction results
        ut = self.us_treasury
        if o["ust_auction"]:
            foreign = (
                o["lifer_ust_units"]
                + (float(f.ust_units.sum()) - units_before)
                + cfg.us_treasury.foreign_official_share * max(q_iu, 0.0)
            )
            ut.last_tail_bp = (res.ust10y_yield - inp.yus_prev) * 1e4
            ut.last_indirect_share = min(max(foreign / o["ust_supply_units"], 0.0), 1.0)
            ut.tails.append(ut.last_tail_bp)
            ut.indirect.append(ut.last_indirect_share)

        # market state and the agents' running estimates
        fx_ret = s_new - inp.s_prev
        pos_ret = fx_ret - cfg.market.ust_duration * (res.ust10y_yield - inp.yus_prev)
        lam = cfg.hedge_funds.ewma_lambda
        mk.ewma_var_daily = lam * mk.ewma_var_daily + (1 - lam) * pos_ret * pos_ret
        alpha = 1.0 - 0.5 ** (1.0 / cfg.hedge_funds.trend_halflife_days)
        mk.trend_daily = (1 - alpha) * mk.trend_daily + alpha * fx_ret
        shock = mk.risk_shock + cfg.market.risk_shock_sd * self._risk_draw
        mk.risk_shock = 0.0
        v_before = mk.risk_index
        mk.risk_index = update_risk_index(mk, fx_ret, shock)
        dy_us = res.ust10y_yield - inp.yus_prev
        mk.usdjpy, mk.ust10y_yield, mk.jgb10y_yield = S, res.ust10y_yield, res.jgb10y_yield
        # macro: inflation from the yen's move over the past year, expectations, equity, basis
        hist = self.history["usdjpy"]
        if len(hist) >= 250:
            log_s_year_ago = math.log(hist[len(hist) - 250])
        else:  # before a year of history: interpolate from the configured year-ago level
            w = len(hist) / 250.0
            log_s_year_ago = (1 - w) * self._log_s_year_ago + w * math.log(cfg.market.usdjpy)
        self.macro.update(
            log_s_now=s_new, log_s_year_ago=log_s_year_ago, d_log_v=math.log(mk.risk_index / v_before), d_y_us=dy_us,
            risk_index=mk.risk_index, risk_mean=cfg.market.risk_index_mean,
            shock_commodity=float(self._macro_draws[0]), shock_equity=float(self._macro_draws[1]),
        )  # fmt: skip
        if cfg.nisa.enabled:
            nisa.settle(self.nisa, equity_index=self.macro.equity_index, usdjpy=S)
        return totals

    @staticmethod
    def _fx(led: Ledger, sector: str, usd_bought: float, yen_per_usd: float) -> None:
        led.book(sector, "usd_bn", usd_bought)
        led.book(sector, "jpy_tn", -usd_bought * yen_per_usd)

    def _coupons(self, res: ClearingResult, p_us: float, p_jp: float) -> None:
        led = self.ledger
        ust_rate = p_us * res.ust10y_yield / hf.TRADING_DAYS
        jgb_rate = p_jp * res.jgb10y_yield / hf.TRADING_DAYS
        ust_paid = jgb_paid = 0.0
        for sector in ("ust_investors", "dealers", "life_insurers"):
            c = led.get(sector, "ust_units") * ust_rate
            led.book(sector, "usd_bn", c)
            ust_paid += c
        for sector in ("jgb_investors", "dealers", "life_insurers", "boj"):
            c = led.get(sector, "jgb_units") * jgb_rate
            led.book(sector, "jpy_tn", c)
            jgb_paid += c
        led.book("us_treasury", "usd_bn", -ust_paid)
        led.book("jgb_issuer", "jpy_tn", -jgb_paid)

    # -- records -------------------------------------------------------------------------------
    def _record(self, inp: ClearingInputs | None, res: ClearingResult | None, totals: hf.SettleTotals | None) -> None:
        mk, f, o = self.market, self.hedge_funds, self._orders
        gross = float(f.ust_units.sum()) * mk.ust_price
        equity = float(f.equity_book_usd_bn[f.alive].sum())
        share, hedge = li.foreign_share_aggregate(
            self.life_insurers, usdjpy=mk.usdjpy, ust_price=mk.ust_price, jgb_price=mk.jgb_price
        )
        auction = bool(o.get("ust_auction", 0.0))
        n_households = max(self.nisa.units.shape[0], 1)
        row = dict(
            day=self.day,
            usdjpy=mk.usdjpy,
            ust10y_yield=mk.ust10y_yield,
            jgb10y_yield=mk.jgb10y_yield,
            jgb30y_yield=self.jgb30y_yield(),
            risk_index=mk.risk_index,
            us_short_rate=mk.us_short_rate,
            boj_rate=mk.boj_rate,
            jp_inflation=self.macro.jp_inflation,
            jp_inflation_expectations=self.jp_inflation_expectations(),
            fiscal_risk=self.macro.fiscal_risk,
            equity_index=self.macro.equity_index,
            hf_gross_usd_bn=gross,
            hf_equity_usd_bn=equity,
            hf_leverage=gross / equity if equity > 0 else 0.0,
            hf_margin_calls=totals.margin_calls if totals else 0,
            hf_failures=totals.failures if totals else 0,
            hf_alive=int(f.alive.sum()),
            hf_investor_flows_usd_bn=totals.investor_flows_usd_bn if totals else 0.0,
            lifer_foreign_share=share,
            lifer_hedge_ratio=hedge,
            lifer_fx_flow_usd_bn=o.get("lifer_usd_bn", 0.0),
            nisa_flow_jpy_tn=o.get("nisa_flow_jpy_tn", 0.0),
            nisa_panic_share=o.get("nisa_panicked", 0) / n_households if self.config.nisa.enabled else 0.0,
            mof_intervention_jpy_tn=o.get("mof_intervention_jpy_tn", 0.0),
            mof_reserves_usd_bn=self.mof.reserves_usd_bn,
            boj_jgb_holdings_jpy_tn=self.boj.jgb_units * mk.jgb_price,
            boj_purchases_jpy_tn=o.get("boj_purchase_jpy_tn", 0.0),
            ust_auction=int(auction),
            ust_auction_tail_bp=self.us_treasury.last_tail_bp if auction else 0.0,
            ust_indirect_share=self.us_treasury.last_indirect_share,
            dealer_fx_inventory_usd_bn=self.dealers.fx_inventory_usd_bn,
            real_money_usd_bn=self.real_money.holdings_usd_bn,
            trade_flow_usd_bn=inp.trade_flow_usd_bn if inp else 0.0,
            clearing_iterations=res.iterations if res else 0,
            clearing_residual=res.residual if res else 0.0,
        )
        row.update(dashboards(self, row))
        for key in TIMESERIES_COLUMNS:
            self.history[key].append(row[key])
        self.latest = row

    def timeseries(self):
        """The recorded history as a pandas DataFrame, one row per day (day 0 = initial state)."""
        import pandas as pd

        df = pd.DataFrame(self.history)
        for col in INTEGER_COLUMNS:
            df[col] = df[col].astype("int64")
        return df


def _resolve_seed(seed: Any, rng: Any) -> int:
    """One non-negative integer seed from ``seed``/``rng`` (as ``mesa.batch_run`` passes it)."""
    if seed is not None and rng is not None:
        raise ValueError("pass either seed or rng, not both")
    value = seed if seed is not None else rng
    if value is None:
        return int(np.random.SeedSequence().entropy % (2**63))
    if isinstance(value, np.random.Generator):
        return int(value.integers(0, 2**63 - 1))
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 0:
        raise ValueError(f"seed = {value!r} is not allowed; expected a non-negative integer")
    return int(value)
