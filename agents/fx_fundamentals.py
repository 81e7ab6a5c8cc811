"""Fundamental FX traders (real money) and trade flows.

*Real-money investors* hold a dollar position that rises with the dollar's discount to a
fundamental value set by the real-rate differential (Dornbusch-Frankel):

    ln S_fund = ln S̄ + β·(rr_us − rr_jp − rr̄),   rr = 10y yield − expected inflation,

stock demand ``F*(p) = c_f·(v̄/v)^η_f·(ln S_fund − ln S)`` USD bn, which they trade to each day at
the clearing price; their risk budget reads the day's risk index ``v`` at the trial prices (from the
clearing's ``aux``, like the dealers' capacity), so a jump in risk shrinks it on its day. Slower
long-horizon investors (:mod:`agents.long_horizon`) trade towards the same value over months;
together they pull USD/JPY back towards fundamentals.

Fiscal news reaches ``ln S_fund`` through the real-rate gap: the fiscal term of Japan's expected
inflation lowers Japan's real rate, the BoJ's expected response and the bond market's supply and
term premia raise its nominal yield (:mod:`model.macro`, :mod:`agents.boj`). A further term
``fiscal_premium`` (``macro.fiscal_fx_premium·F``) exists only as an experiment knob, 0 by default:
no coefficient on fiscal risk decides the yen's response at default parameters.

*Trade and noise flows*: exporters, importers and uninformed customers buy dollars
``μ + n_t − n_{t−1}`` per day, price-inelastic, where the customers' net dollar position
``n_t = ρ·n_{t−1} + σ·ε_t`` is AR(1) (Thurner, Farmer & Geanakoplos 2012 use the same device for
their noise traders): positions taken on are unwound over ``1/(1−ρ)`` days, so their price
pressure partly reverses. ``ρ → 1`` would make the flows i.i.d. and their cumulative pressure a
random walk (the parameter stops at 0.99).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from agents.provenance import JOINT_REFIT
from model.sector import AUX_LOG_RISK, CUSTOMER, FX, JGB, N_MARKETS, UST, Sector, Validated, param

__all__ = ["FundamentalConfig", "RealMoneyInputs", "RealMoney", "fundamental_flow", "real_money_flows"]


@dataclass(frozen=True)
class FundamentalConfig(Validated):
    capacity_usd_bn: float = param(
        2165.0,
        unit="USD bn per unit of ln S",
        lo=300.0,
        hi=20000.0,
        doc="c_f: dollars real money holds per 100% undervaluation of the dollar",
        source=JOINT_REFIT + "; no episode enters it",
        range_note="model coefficient: ~0.14x to 9x the calibrated value",
    )
    capacity_risk_elasticity: float = param(
        0.0,
        lo=0.0,
        hi=2.0,
        doc="η_f: real money's capacity scales with (v̄/v)^η_f, like the dealers' (mean-variance demand ∝ 1/σ²); "
        "above ~1 the exchange rate loses its anchor in stress",
        source=JOINT_REFIT + ", at the lower end of the range searched (0-1.2): every point of its profile above 0 "
        "scored worse (0: 24.9, 0.2: 56.5, 0.4: 849 with one run of 12 failing, 0.6: 3,100 with three, 0.8 and "
        "above: more than half failing), as at the second and third refits; the first refit's 0.19 was fitted when "
        "this budget read yesterday's index",
        range_note="mean-variance demand: 0 (fixed risk budget) to 2 (demand ∝ 1/σ², σ ∝ v)",
    )
    real_rate_semi_elasticity: float = param(
        8.0,
        unit="ln S per unit of rate",
        lo=2.0,
        hi=20.0,
        doc="β: a 1 pp wider US-Japan real-rate gap raises fundamental USD/JPY by β %",
        source="2022: real 10y gap +~3pp and USD/JPY 115→150 (+27%): β≈8-9",
        range_note="2022 episode 8-9; real-interest-parity regressions 2-20",
    )
    trade_flow_mean_usd_bn: float = param(
        0.0,
        unit="USD bn per day",
        lo=-10.0,
        hi=10.0,
        doc="net dollar buying by exporters/importers",
        source="0: no net flow from trade: Japan's current-account surplus, ~$150-200 bn a year (~$0.7 bn a day), is "
        "mostly reinvested abroad (range note), so it is taken to add no net dollar selling in the spot market",
        range_note="Japan's current account ~$150-200 bn a year (~$0.7 bn a day), mostly reinvested abroad",
    )
    trade_flow_sd_usd_bn: float = param(
        16.12,
        unit="USD bn per day",
        lo=2.0,
        hi=40.0,
        doc="σ: sd of the daily shock to customers' net dollar position (the noise that moves USD/JPY on calm days)",
        source=JOINT_REFIT,
        range_note="net customer flow a few % of ~$300-500 bn daily USD/JPY spot turnover (BIS Triennial 2022)",
    )
    noise_persistence: float = param(
        0.885,
        unit="per day",
        lo=0.0,
        hi=0.99,
        doc="ρ: AR(1) coefficient of customers' net dollar position",
        source="fitted to the baseline's return moments by experiments/calibration/baseline.py (run: --candidates "
        "24 --seeds 12 --days 1750 --profile 7 --workers 2 on commit 2bbf425, 2026-12-01, when the median objective "
        "was the script's only one; today's --objective median; "
        "experiments/calibration/results/baseline.json); held there by the joint fit (--hold; "
        "experiments/calibration/results/baseline_joint_held.json), which moves it to 0.58 when free, where the "
        "lag-1 autocorrelation of returns leaves its band; both with the risk index's 'implied' yardstick, and "
        "held too when the joint fit was rerun under the 'realised' one, the default "
        "(experiments/calibration/results/baseline_joint_realised.json), and by the three refits of 2026-12-05 "
        "(experiments/calibration/results/baseline_joint_refit.json, _refit2.json and _refit3.json). That choice was "
        "not blind to the August 2024 episode: it was made after the free fit's validation showed a weak replay (a "
        "median fall of 4.4%; docs/model/calibration.md). The fourth refit of 2026-12-05 ran the search both ways "
        "on one commit and kept the lower objective by a rule set before either ran: held 21.9 "
        "(baseline_joint_refit4.json), free 22.9 at 0.844 (baseline_joint_refit4_free.json)",
        range_note="customer positions unwound within a day (0) to ~100 days (0.99)",
    )


class RealMoneyInputs(NamedTuple):
    """What real money's flows read during one day's clearing."""

    infl_us: float
    infl_jp: float
    log_anchor: float
    gap_ref: float
    fiscal_premium: float
    beta: float
    capacity: float  # c_f at the risk index's mean v̄, USD bn per unit of ln S
    position: float  # F_old, USD bn
    risk_elasticity: float = 0.0  # η_f: the capacity is c_f·(v̄/v)^η_f at the day's index v
    log_v_mean: float = 0.0  # ln v̄


@njit(cache=True)
def fundamental_flow(s, y_us, y_jp, inp, share=1.0):
    """Dollars bought by real money at trial prices (``inp``: :class:`RealMoneyInputs`; ``inp.position``
    is yesterday's position ``F_old``), with their capacity ``share·c_f`` (``share``: ``(v̄/v)^η_f``).

    Returns ``(flow, dflow_ds, dflow_dyus, dflow_dyjp)`` at that capacity.
    """
    capacity = share * inp.capacity
    gap = (y_us - inp.infl_us) - (y_jp - inp.infl_jp)
    s_fund = inp.log_anchor + inp.beta * (gap - inp.gap_ref) + inp.fiscal_premium
    target = capacity * (s_fund - s)
    return target - inp.position, -capacity, capacity * inp.beta, -capacity * inp.beta


@njit(cache=True)
def real_money_flows(p, inp, z, jac, gross, out, aux):
    """Real money's dollar buying at trial prices (see :mod:`model.sector`), their capacity at the day's
    risk index (``aux``, written by the risk index at stage 1)."""
    share = math.exp(-inp.risk_elasticity * (aux[AUX_LOG_RISK, 0] - inp.log_v_mean))  # (v̄/v)^η_f
    rm, rm_ds, rm_dyus, rm_dyjp = fundamental_flow(p[FX], p[UST], p[JGB], inp, share)
    # the target scales with the capacity: d flow / d ln v = −η_f·(flow + F_old)
    d_logv = -inp.risk_elasticity * (rm + inp.position)
    for k in range(jac.shape[1]):
        jac[FX, k] += d_logv * aux[AUX_LOG_RISK, 1 + k]
    z[FX] += rm
    jac[FX, FX] += rm_ds
    jac[FX, UST] += rm_dyus
    jac[FX, JGB] += rm_dyjp
    gross[FX] += abs(rm)
    out[FX] = rm


class RealMoney(Sector):
    """Real-money FX investors (price-elastic) and the customers' trade and noise flows (price-taking).

    Publishes ``fundamental_log_usdjpy``: ln S_fund at the current yields and inflation
    expectations, the anchor funds and insurers measure misvaluation against.
    """

    name = "real_money"
    section = "real_money"
    flows = real_money_flows
    columns = ("real_money_usd_bn", "trade_flow_usd_bn")
    event_kinds = ("trade_flow",)
    ledger_rows = ("real_money", "trade")
    requires = ("risk_index",)
    flows_stage = 2  # their capacity reads the day's risk index at the trial prices

    def __init__(self, model) -> None:
        super().__init__(model)
        m = model.config.market
        self.holdings_usd_bn = 0.0
        self.log_anchor = math.log(m.usdjpy)  # ln S̄
        # rr̄: the real-rate gap at the start
        self.real_gap_ref = (m.ust10y_yield - m.us_inflation_expectations) - (
            m.jgb10y_yield - m.jp_inflation_expectations
        )
        self.fiscal_premium = 0.0  # ln-S units: the experiment knob macro.fiscal_fx_premium·F (0 by default)
        self.noise_position_usd_bn = 0.0  # n_t
        self.pending_trade_flow = 0.0  # trade-flow events for the next day
        self.trade_flow_usd_bn = 0.0  # today's customer flow (price-inelastic)
        self._orders = np.zeros((N_MARKETS, 3))

    def perceived_anchor(self, model) -> float:
        """ln S̄ shifted by the MoF's intervention signal (``intervention_signal_log``; 0 without it)."""
        return self.log_anchor + model.signals.get("intervention_signal_log", 0.0)

    def fundamental_log_usdjpy(self, model) -> float:
        mk = model.market
        gap = (mk.ust10y_yield - mk.us_inflation_expectations) - (mk.jgb10y_yield - model.macro.jp_expectations())
        return (
            self.perceived_anchor(model)
            + self.config.real_rate_semi_elasticity * (gap - self.real_gap_ref)
            + model.macro.fx_premium()
        )

    def publish(self, model) -> dict[str, float]:
        return {"fundamental_log_usdjpy": self.fundamental_log_usdjpy(model)}

    def handle_event(self, model, event) -> None:
        self.pending_trade_flow += event.params["usd_bn"]

    def decide(self, model) -> None:
        cfg = self.config
        n_prev = self.noise_position_usd_bn
        self.noise_position_usd_bn = cfg.noise_persistence * n_prev + cfg.trade_flow_sd_usd_bn * float(
            model.streams["trade_flows"].standard_normal()
        )
        self.trade_flow_usd_bn = (
            cfg.trade_flow_mean_usd_bn + (self.noise_position_usd_bn - n_prev) + self.pending_trade_flow
        )
        self.pending_trade_flow = 0.0
        self.fiscal_premium = model.macro.fx_premium()
        self._orders[FX, CUSTOMER] = self.trade_flow_usd_bn

    def orders(self) -> np.ndarray:
        return self._orders

    def clearing_inputs(self, model) -> RealMoneyInputs:
        cfg, mk = self.config, model.market
        return RealMoneyInputs(
            infl_us=mk.us_inflation_expectations,
            infl_jp=model.macro.jp_expectations(),
            log_anchor=self.perceived_anchor(model),
            gap_ref=self.real_gap_ref,
            fiscal_premium=self.fiscal_premium,
            beta=cfg.real_rate_semi_elasticity,
            capacity=cfg.capacity_usd_bn,
            position=self.holdings_usd_bn,
            risk_elasticity=cfg.capacity_risk_elasticity,
            log_v_mean=math.log(model.config.market.risk_index_mean),
        )

    def settle(self, model, day) -> None:
        q = day.flows_of(self)[FX]
        yen = day.usdjpy / 1000.0
        led = model.ledger
        led.fx(self.name, q, yen)
        led.fx("trade", self.trade_flow_usd_bn, yen)
        self.holdings_usd_bn += q

    def holdings_rows(self) -> dict[str, dict[str, float]]:
        return {self.name: {"usd_bn": self.holdings_usd_bn}}

    def record(self, model) -> dict[str, float]:
        return {"real_money_usd_bn": self.holdings_usd_bn, "trade_flow_usd_bn": self.trade_flow_usd_bn}
