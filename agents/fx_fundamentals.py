"""Fundamental FX traders (real money) and trade flows.

*Real-money investors* hold a dollar position that rises with the dollar's discount to a
fundamental value set by the real-rate differential (Dornbusch-Frankel):

    ln S_fund = ln S̄ + β·(rr_us − rr_jp − rr̄),   rr = 10y yield − expected inflation,

stock demand ``F*(p) = c_f·(ln S_fund − ln S)`` USD bn. Each day they pass a share ``δ`` of
their position to long-horizon investors outside the model (a transfer, booked in the ledger),
which is what pulls USD/JPY back towards fundamentals over months.

A *fiscal risk premium* term ``φ_fiscal·fiscal_risk`` is part of ``ln S_fund`` (zero in the
core model; the fiscal sector sets it): it is how fiscal dominance can weaken the yen.

*Trade and noise flows*: exporters, importers and uninformed customers buy dollars
``μ + n_t − n_{t−1}`` per day, price-inelastic, where the customers' net dollar position
``n_t = ρ·n_{t−1} + σ·ε_t`` is AR(1) (Thurner, Farmer & Geanakoplos 2012 use the same device for
their noise traders): positions taken on are unwound over ``1/(1−ρ)`` days, so their price
pressure partly reverses. ``ρ = 1`` makes flows i.i.d. and cumulative pressure a random walk.
"""

from __future__ import annotations

from dataclasses import dataclass

from numba import njit

from model.validation import Validated, param

__all__ = ["FundamentalConfig", "FundamentalState", "fundamental_flow"]


@dataclass(frozen=True)
class FundamentalConfig(Validated):
    capacity_usd_bn: float = param(
        2800.0,
        unit="USD bn per unit of ln S",
        lo=0.0,
        doc="c_f: dollars real money holds per 100% undervaluation of the dollar",
        source="calibrated with the Aug 2024 replay: the unwind of ~60-75% of ~$250 bn of carry (BIS Bulletin 90) "
        "with real money's capacity shrinking in stress gives the observed ~12-15% yen surge",
    )
    capacity_risk_elasticity: float = param(
        0.42,
        lo=0.0,
        hi=5.0,
        doc="η_f: real money's capacity scales with (v̄/v)^η_f, like the dealers' (mean-variance demand ∝ 1/σ²); "
        "above ~1 the exchange rate loses its anchor in stress",
        source="calibrated (issue 4 search): baseline return statistics of MODEL.md §7 and the Aug 2024 replay",
    )
    real_rate_semi_elasticity: float = param(
        8.0,
        unit="ln S per unit of rate",
        lo=0.0,
        hi=100.0,
        doc="β: a 1 pp wider US-Japan real-rate gap raises fundamental USD/JPY by β %",
        source="2022: real 10y gap +~3pp and USD/JPY 115→150 (+27%): β≈8-9",
    )
    handoff_per_day: float = param(
        0.004, unit="per day", lo=0.0, hi=1.0, doc="δ: share of the position passed to long-horizon investors daily"
    )
    trade_flow_mean_usd_bn: float = param(
        0.0, unit="USD bn per day", lo=-100.0, hi=100.0, doc="net dollar buying by exporters/importers"
    )
    trade_flow_sd_usd_bn: float = param(
        13.5,
        unit="USD bn per day",
        lo=0.0,
        hi=1000.0,
        doc="σ: sd of the daily shock to customers' net dollar position (the noise that moves USD/JPY on calm days)",
    )
    noise_persistence: float = param(
        0.90,
        unit="per day",
        lo=0.0,
        hi=1.0,
        doc="ρ: AR(1) coefficient of customers' net dollar position (calibrated: |lag-1 autocorrelation| < 0.05)",
    )


class FundamentalState:
    def __init__(self, log_anchor: float, real_gap_ref: float) -> None:
        self.holdings_usd_bn = 0.0
        self.log_anchor = log_anchor  # ln S̄
        self.real_gap_ref = real_gap_ref  # rr̄
        self.fiscal_premium = 0.0  # ln-S units, set by the fiscal sector when present
        self.noise_position_usd_bn = 0.0  # n_t


@njit(cache=True)
def fundamental_flow(s, y_us, y_jp, infl_us, infl_jp, log_anchor, gap_ref, fiscal_premium, beta, capacity, kept):
    """Dollars bought by real money at trial prices; ``kept`` is ``(1 − δ)·F_old``.

    Returns ``(flow, dflow_ds, dflow_dyus, dflow_dyjp)``.
    """
    gap = (y_us - infl_us) - (y_jp - infl_jp)
    s_fund = log_anchor + beta * (gap - gap_ref) + fiscal_premium
    target = capacity * (s_fund - s)
    return target - kept, -capacity, capacity * beta, -capacity * beta
