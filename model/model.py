"""``CarryUnwindModel``: the Mesa model. It wires the sectors and fixes the order of a day.

A day (one ``step``) runs, in this order:

1. **observe** – scenario events for the day have fired (Mesa events at ``day − ½``); agents
   read yesterday's close, the trend and the volatility estimates;
2. **decide** – hedge funds set target leverage, margin limits and adjustment speeds; today's
   exogenous shocks are drawn from their named streams (trade flows, term premia, risk);
3. **clear** – the three markets clear jointly (compiled Newton solver, :mod:`model.clearing`);
4. **settle** – trades, carry accrual, investor flows, failures and re-entries are booked,
   the ledger is updated, inventories, the risk index and the estimates move on;
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
from agents.bond_investors import BondInvestorState
from agents.dealers import DealerState, bond_capacity_units, capacity_scale
from agents.fx_fundamentals import FundamentalState
from model.accounting import Ledger
from model.clearing import ClearingInputs, ClearingResult, clear
from model.config import ModelConfig
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
    "risk_index",
    "us_short_rate",
    "boj_rate",
    "hf_gross_usd_bn",
    "hf_equity_usd_bn",
    "hf_leverage",
    "hf_margin_calls",
    "hf_failures",
    "hf_alive",
    "hf_investor_flows_usd_bn",
    "dealer_fx_inventory_usd_bn",
    "real_money_usd_bn",
    "trade_flow_usd_bn",
    "clearing_iterations",
    "clearing_residual",
)


def _latest(name: str, model: CarryUnwindModel) -> float:
    return model.latest[name]


class _Event:
    """A scenario event bound to a model (Mesa holds events by weak reference)."""

    def __init__(self, model: CarryUnwindModel, event: ScenarioEvent) -> None:
        self.model = model
        self.event = event

    def __call__(self) -> None:
        self.model.apply_event(self.event)


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

        m = cfg.market
        self.market = MarketState(m)
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
        self._init_ledger()

        if engine == "mesa":
            from model.reference import MesaFundSector

            self.fund_engine = MesaFundSector(self)
        else:
            self.fund_engine = None
            for row in range(min(cfg.hedge_funds.n_funds, cfg.simulation.max_agent_views)):
                hf.HedgeFundView(self, row)

        for event in self.scenario_spec.events:
            handler = _Event(self, event)
            self._event_handlers = getattr(self, "_event_handlers", []) + [handler]
            self.schedule_event(handler, at=event.day - 0.5)

        self.history: dict[str, list[float]] = {c: [] for c in TIMESERIES_COLUMNS}
        self.latest: dict[str, float] = {}
        self.last_clearing: ClearingResult | None = None
        self._pending_trade_flow = 0.0
        self._record_initial()
        self.datacollector = mesa.DataCollector(
            model_reporters={c: functools.partial(_latest, c) for c in TIMESERIES_COLUMNS if c != "day"}
        )
        self.datacollector.collect(self)

    # -- set-up -----------------------------------------------------------------------------
    def _init_ledger(self) -> None:
        led = Ledger()
        funds = self.hedge_funds
        led.set("yen_lenders", "yen_loans_jpy_tn", float(funds.loan_jpy_tn.sum()))
        # the yen the funds borrowed was sold for the dollars they hold
        led.set("yen_lenders", "jpy_tn", -float(funds.loan_jpy_tn.sum()))
        led.set("fund_investors", "usd_bn", -float(funds.cash_usd_bn.sum()))
        led.set("ust_investors", "ust_units", self.bond_investors.ust_units)
        led.set("jgb_investors", "jgb_units", self.bond_investors.jgb_units)
        outstanding_ust = self.bond_investors.ust_units + float(funds.ust_units.sum())
        led.set("us_treasury", "ust_units", -outstanding_ust)
        led.set("jgb_issuer", "jgb_units", -self.bond_investors.jgb_units)
        self.ledger = led
        self.sync_fund_ledger()
        led.freeze_initial()

    def sync_fund_ledger(self) -> None:
        """Recompute the hedge-fund row from the funds' own arrays."""
        f = self.hedge_funds
        self.ledger.set("hedge_funds", "usd_bn", float(f.cash_usd_bn.sum()))
        self.ledger.set("hedge_funds", "ust_units", float(f.ust_units.sum()))
        self.ledger.set("hedge_funds", "yen_loans_jpy_tn", -float(f.loan_jpy_tn.sum()))

    @property
    def outstanding_ust_units(self) -> float:
        return -self.ledger.get("us_treasury", "ust_units")

    @property
    def outstanding_jgb_units(self) -> float:
        return -self.ledger.get("jgb_issuer", "jgb_units")

    # -- events -----------------------------------------------------------------------------
    def apply_event(self, event: ScenarioEvent) -> None:
        p = event.params
        if event.kind == "risk_shock":
            self.market.risk_shock += p["log_jump"]
        elif event.kind == "boj_rate":
            self.market.boj_rate = p["rate"]
        elif event.kind == "us_short_rate":
            self.market.us_short_rate = p["rate"]
        elif event.kind == "trade_flow":
            self._pending_trade_flow += p["usd_bn"]
        log.info("day %d: event %s %s", event.day, event.kind, p)

    # -- one day ------------------------------------------------------------------------------
    def step(self) -> None:
        self.day += 1
        cfg = self.config
        hcfg = cfg.hedge_funds

        # 1. observe: yesterday's close and running estimates
        obs = self._observe()

        # 2. decide
        if self.fund_engine is None:
            hf.decide(self.hedge_funds, hcfg, **obs)
        else:
            self.fund_engine.decide(**obs)
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

    def fundamental_log_usdjpy(self) -> float:
        """ln S_fund at the current yields and inflation expectations (real money's anchor)."""
        mk, rm = self.market, self.real_money
        gap = (mk.ust10y_yield - mk.us_inflation_expectations) - (mk.jgb10y_yield - mk.jp_inflation_expectations)
        beta = self.config.real_money.real_rate_semi_elasticity
        return rm.log_anchor + beta * (gap - rm.real_gap_ref) + rm.fiscal_premium

    def _funds_variance_pa(self) -> float:
        mk, h = self.market, self.config.hedge_funds
        implied = self.config.market.fx_vol_per_risk_point * mk.risk_index
        return h.realized_vol_weight * mk.ewma_var_daily * hf.TRADING_DAYS + (1 - h.realized_vol_weight) * implied**2

    def _clearing_inputs(self) -> ClearingInputs:
        cfg, mk = self.config, self.market
        bi, bs = cfg.bond_investors, self.bond_investors
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
        m0 = cfg.market
        ust_anchor = m0.ust10y_yield + (mk.us_short_rate - m0.us_short_rate) + bs.ust_term_premium
        jgb_anchor = m0.jgb10y_yield + (mk.boj_rate - m0.boj_rate) + bs.jgb_term_premium
        ust_extra = bi.flight_to_quality_usd_bn * (mk.risk_index - cfg.market.risk_index_mean)
        self._risk_draw = float(self.streams["risk_index"].standard_normal())

        scale = capacity_scale(cfg.dealers, mk.risk_index, cfg.market.risk_index_mean)
        d = cfg.dealers
        rm = cfg.real_money
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
            real_money_kept=(1.0 - rm.handoff_per_day) * self.real_money.holdings_usd_bn,
            real_money_log_anchor=self.real_money.log_anchor,
            real_money_gap_ref=self.real_money.real_gap_ref,
            real_money_fiscal_premium=self.real_money.fiscal_premium,
            real_money_beta=rm.real_rate_semi_elasticity,
            real_money_capacity=rm.capacity_usd_bn,
            infl_us=mk.us_inflation_expectations,
            infl_jp=mk.jp_inflation_expectations,
            trade_flow_usd_bn=trade,
            ust_investor_anchor_change=ust_anchor - bs.ust_anchor,
            ust_investor_elasticity=bi.ust_elasticity_usd_bn_per_bp,
            ust_investor_extra_change=ust_extra - bs.ust_extra_usd_bn,
            ust_investor_units=bs.ust_units,
            jgb_investor_anchor_change=jgb_anchor - bs.jgb_anchor,
            jgb_investor_elasticity=bi.jgb_elasticity_jpy_tn_per_bp,
            jgb_investor_extra_change=0.0,
            jgb_investor_units=bs.jgb_units,
            ust_duration=cfg.market.ust_duration,
            jgb_duration=cfg.market.jgb_duration,
            ust_new_supply_units=0.0,
            jgb_new_supply_units=0.0,
            exogenous_usd_bn=0.0,
            exogenous_ust_units=0.0,
            exogenous_jgb_units=0.0,
            margin_call_band=cfg.hedge_funds.margin_call_band,
        )

    def _settle(self, inp: ClearingInputs, res: ClearingResult) -> hf.SettleTotals:
        from agents.bond_investors import bond_investor_flow
        from agents.dealers import bond_flow, fx_flow
        from agents.fx_fundamentals import fundamental_flow

        cfg, mk, led = self.config, self.market, self.ledger
        s_new = math.log(res.usdjpy)
        p_us_prev, S_prev = mk.ust_price, mk.usdjpy
        p_us = bond_price(res.ust10y_yield, cfg.market.ust_duration)
        p_jp = bond_price(res.jgb10y_yield, cfg.market.jgb_duration)
        S = res.usdjpy
        yen_per_usd_tn = S / 1000.0  # JPY tn per USD bn

        # non-fund participants' trades at the cleared prices (the same functions the solver used)
        q_dfx, _ = fx_flow(s_new, inp.s_prev, inp.dealer_fx_inventory, inp.dealer_fx_capacity, inp.dealer_decay)
        q_rm = fundamental_flow(
            s_new,
            res.ust10y_yield,
            res.jgb10y_yield,
            inp.infl_us,
            inp.infl_jp,
            inp.real_money_log_anchor,
            inp.real_money_gap_ref,
            inp.real_money_fiscal_premium,
            inp.real_money_beta,
            inp.real_money_capacity,
            inp.real_money_kept,
        )[0]
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
            res.ust10y_yield,
            inp.yus_prev,
            inp.ust_investor_anchor_change,
            inp.ust_investor_elasticity,
            inp.ust_investor_extra_change,
            inp.ust_duration,
            inp.ust_investor_units,
        )
        q_ij, _ = bond_investor_flow(
            res.jgb10y_yield,
            inp.yjp_prev,
            inp.jgb_investor_anchor_change,
            inp.jgb_investor_elasticity,
            inp.jgb_investor_extra_change,
            inp.jgb_duration,
            inp.jgb_investor_units,
        )
        # real money hands part of its book to long-horizon investors at today's price
        handoff = self.real_money.holdings_usd_bn - inp.real_money_kept
        led.book("real_money", "usd_bn", -handoff)
        led.book("real_money", "jpy_tn", handoff * yen_per_usd_tn)
        led.book("long_horizon", "usd_bn", handoff)
        led.book("long_horizon", "jpy_tn", -handoff * yen_per_usd_tn)
        # FX trades: buyer of dollars pays yen
        for sector, q in (("dealers", q_dfx), ("real_money", q_rm), ("trade", inp.trade_flow_usd_bn)):
            led.book(sector, "usd_bn", q)
            led.book(sector, "jpy_tn", -q * yen_per_usd_tn)
        # bond trades
        for sector, q in (("dealers", q_dust), ("ust_investors", q_iu)):
            led.book(sector, "ust_units", q)
            led.book(sector, "usd_bn", -q * p_us)
        for sector, q in (("dealers", q_dj), ("jgb_investors", q_ij)):
            led.book(sector, "jgb_units", q)
            led.book(sector, "jpy_tn", -q * p_jp)
        # hedge funds: the yen they borrow (or repay) is what they sell (or buy) in the market
        f = self.hedge_funds
        if self.fund_engine is None:
            loans_before = float(f.loan_jpy_tn.sum())
            totals = hf.settle(
                f,
                cfg.hedge_funds,
                price=p_us,
                usdjpy=S,
                price_prev=p_us_prev,
                usdjpy_prev=S_prev,
                y_us=res.ust10y_yield,
                r_jp=mk.boj_rate,
                day=self.day,
            )
        else:
            loans_before = float(f.loan_jpy_tn.sum())
            totals = self.fund_engine.settle(
                price=p_us, usdjpy=S, price_prev=p_us_prev, usdjpy_prev=S_prev, y_us=res.ust10y_yield, r_jp=mk.boj_rate
            )
        # cash lent (+) or repaid (−): the change in loans less interest, plus what was written off
        new_loans = float(f.loan_jpy_tn.sum()) - loans_before - totals.interest_jpy_tn + totals.defaults_jpy_tn
        led.book("yen_lenders", "yen_loans_jpy_tn", new_loans + totals.interest_jpy_tn - totals.defaults_jpy_tn)
        led.book("yen_lenders", "jpy_tn", -new_loans)
        led.book("us_treasury", "usd_bn", -totals.coupons_usd_bn)
        led.book("fund_investors", "usd_bn", -totals.investor_flows_usd_bn + totals.payouts_usd_bn)
        # coupons to the other holders
        led.book("ust_investors", "usd_bn", (inp.ust_investor_units + q_iu) * p_us * res.ust10y_yield / hf.TRADING_DAYS)
        led.book("dealers", "usd_bn", (inp.dealer_ust_inventory + q_dust) * p_us * res.ust10y_yield / hf.TRADING_DAYS)
        led.book(
            "us_treasury",
            "usd_bn",
            -(inp.ust_investor_units + q_iu + inp.dealer_ust_inventory + q_dust)
            * p_us
            * res.ust10y_yield
            / hf.TRADING_DAYS,
        )
        jgb_coupon = res.jgb10y_yield / hf.TRADING_DAYS * p_jp
        led.book("jgb_investors", "jpy_tn", (inp.jgb_investor_units + q_ij) * jgb_coupon)
        led.book("dealers", "jpy_tn", (inp.dealer_jgb_inventory + q_dj) * jgb_coupon)
        led.book(
            "jgb_issuer", "jpy_tn", -(inp.jgb_investor_units + q_ij + inp.dealer_jgb_inventory + q_dj) * jgb_coupon
        )

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

        # market state and the agents' running estimates
        fx_ret = s_new - inp.s_prev
        pos_ret = fx_ret - cfg.market.ust_duration * (res.ust10y_yield - inp.yus_prev)
        lam = cfg.hedge_funds.ewma_lambda
        mk.ewma_var_daily = lam * mk.ewma_var_daily + (1 - lam) * pos_ret * pos_ret
        alpha = 1.0 - 0.5 ** (1.0 / cfg.hedge_funds.trend_halflife_days)
        mk.trend_daily = (1 - alpha) * mk.trend_daily + alpha * fx_ret
        shock = mk.risk_shock + cfg.market.risk_shock_sd * self._risk_draw
        mk.risk_shock = 0.0
        mk.risk_index = update_risk_index(mk, fx_ret, shock)
        mk.usdjpy, mk.ust10y_yield, mk.jgb10y_yield = S, res.ust10y_yield, res.jgb10y_yield
        mk.last_fx_return = fx_ret
        self._last_trade_flow = inp.trade_flow_usd_bn
        return totals

    # -- records -------------------------------------------------------------------------------
    def _fund_summary(self) -> tuple[float, float, int]:
        f = self.hedge_funds
        gross = float(f.ust_units.sum()) * self.market.ust_price
        equity = float(f.equity_book_usd_bn[f.alive].sum())
        return gross, equity, int(f.alive.sum())

    def _record_initial(self) -> None:
        gross, equity, alive = self._fund_summary()
        mk = self.market
        row = dict(
            day=0,
            usdjpy=mk.usdjpy,
            ust10y_yield=mk.ust10y_yield,
            jgb10y_yield=mk.jgb10y_yield,
            risk_index=mk.risk_index,
            us_short_rate=mk.us_short_rate,
            boj_rate=mk.boj_rate,
            hf_gross_usd_bn=gross,
            hf_equity_usd_bn=equity,
            hf_leverage=gross / equity if equity > 0 else 0.0,
            hf_margin_calls=0,
            hf_failures=0,
            hf_alive=alive,
            hf_investor_flows_usd_bn=0.0,
            dealer_fx_inventory_usd_bn=0.0,
            real_money_usd_bn=0.0,
            trade_flow_usd_bn=0.0,
            clearing_iterations=0,
            clearing_residual=0.0,
        )
        self._append(row)

    def _record(self, inp: ClearingInputs, res: ClearingResult, totals: hf.SettleTotals) -> None:
        gross, equity, alive = self._fund_summary()
        mk = self.market
        row = dict(
            day=self.day,
            usdjpy=mk.usdjpy,
            ust10y_yield=mk.ust10y_yield,
            jgb10y_yield=mk.jgb10y_yield,
            risk_index=mk.risk_index,
            us_short_rate=mk.us_short_rate,
            boj_rate=mk.boj_rate,
            hf_gross_usd_bn=gross,
            hf_equity_usd_bn=equity,
            hf_leverage=gross / equity if equity > 0 else 0.0,
            hf_margin_calls=totals.margin_calls,
            hf_failures=totals.failures,
            hf_alive=alive,
            hf_investor_flows_usd_bn=totals.investor_flows_usd_bn,
            dealer_fx_inventory_usd_bn=self.dealers.fx_inventory_usd_bn,
            real_money_usd_bn=self.real_money.holdings_usd_bn,
            trade_flow_usd_bn=inp.trade_flow_usd_bn,
            clearing_iterations=res.iterations,
            clearing_residual=res.residual,
        )
        self._append(row)

    def _append(self, row: dict[str, float]) -> None:
        for key in TIMESERIES_COLUMNS:
            self.history[key].append(row[key])
        self.latest = row

    def timeseries(self):
        """The recorded history as a pandas DataFrame, one row per day (day 0 = initial state)."""
        import pandas as pd

        df = pd.DataFrame(self.history)
        for col in ("day", "hf_margin_calls", "hf_failures", "hf_alive", "clearing_iterations"):
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
