"""Japanese life insurers ("lifers"): slow-moving allocators between super-long JGBs and USTs.

Each insurer holds a yen balance sheet. Its investable pool is split three ways — super-long
JGBs, FX-hedged USTs and unhedged USTs — by comparing expected yen returns :

* JGB:            ``y30`` (the cleared 30y yield at yesterday's close), plus an acceleration term
  ``a·max(0, y30 − 2.5%)`` (Dai-ichi Life, Oct 2024: buying accelerates above ~2.5% on the 30y);
* hedged UST:     ``y_us − (r̄_us − r̄_jp − b)``, the hedge cost being the expected short-rate
  differential over the hedge tenor (3 months, from the market's expected policy paths) less the
  cross-currency basis ``b`` (negative when dollars are dear through swaps, which raises the cost);
* unhedged UST:   ``y_us − v_w·misvaluation − γ_L·σ²_fx`` (expected yen appreciation when
  USD/JPY is above its fundamental value, and an FX-risk penalty that rises with the risk index).

Target weights are a multinomial logit ``w*_k ∝ exp(θ·(u_k + c_k))`` whose intercepts ``c_k`` are
set so that the initial allocation is the target at the initial state: only *changes* in relative
returns move money. So the liabilities' cost (about 1.8%, the insurers' hurdle; LIAJ), the same for
every bucket, would cancel out of the choice: it has no parameter here, and the hurdle's role in the
choice is the 30y trigger's. The foreign share moves towards its target slowly (partial adjustment with a
half-life of months) and the hedge ratio faster; both are decided from yesterday's close and
executed at today's prices as price-inelastic orders. Their JGBs are super-longs: they trade in the
cleared 30y market (Japanese insurers buy mostly 20-40y bonds to match their liabilities), so
the 2.5% trigger acts on a price the market sets, and their buying moves it.

FX: insurers buy the dollars for their USTs in the spot market and hedge a share ``h`` of them by
selling dollars forward (the forward market, where dealers take the other side and lay it off in
spot). Raising the hedge ratio is a forward sale of dollars, yen buying once dealers hedge it
(Liao & Zhang 2025, the hedging channel); repatriation sells USTs and dollars spot and unwinds the
hedge on the hedged part. They pay the hedge's variation margin and carry like any forward holder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from model import detmath
from model.accounting import book_entry, book_exchange
from model.compose import FlatKernel
from model.sector import (
    FWD,
    FX,
    INSTITUTIONS,
    JGB30,
    N_MARKETS,
    TRADING_DAYS,
    UST,
    ConfigError,
    Sector,
    Validated,
    param,
)
from model.sums import pairwise_sum

__all__ = [
    "LifeInsurerConfig",
    "LifeInsurerState",
    "LifeInsurers",
    "init_life_insurers",
    "yen_returns",
    "logit_intercepts",
    "target_weights",
    "decide",
    "insurer_settle",
]


@dataclass(frozen=True)
class LifeInsurerConfig(Validated):
    enabled: bool = param(True, doc="include the life insurers")
    n_insurers: int = param(9, lo=1, hi=10_000, doc="insurers (the nine largest report hedge ratios)")
    total_assets_jpy_tn: float = param(
        388.0,
        unit="JPY tn",
        lo=260.0,
        hi=600.0,
        doc="insurers' total assets: only a bound on the foreign and super-long holdings, the rest is not modelled",
        source="BoJ flow of funds, Sep 2024: life insurers' assets ~¥388 tn",
        range_note="at least the default foreign and super-long holdings (¥259 tn) up to ~1.5x the ¥388 tn of 2024 "
        "(BoJ flow of funds)",
    )
    foreign_securities_jpy_tn: float = param(
        88.6,
        unit="JPY tn",
        lo=0.0,
        hi=200.0,
        doc="foreign bonds (held as USTs) at the start, shared across insurers by size; with the super-longs, the "
        "pool the insurers reallocate",
        source="BoJ flow of funds, Sep 2024: foreign securities ~¥88.6 tn",
        range_note="¥20-90 tn since 1990 (BoJ flow of funds)",
    )
    superlong_jgb_jpy_tn: float = param(
        170.0,
        unit="JPY tn",
        lo=0.0,
        hi=300.0,
        doc="super-long JGBs (the rest of the assets are not reallocated)",
        source="BoJ flow of funds 2024: insurers hold ~¥170-190 tn of JGBs, mostly 20y+",
        range_note="¥50-190 tn since 2000 (BoJ flow of funds)",
    )
    hedge_ratio: float = param(
        0.45,
        lo=0.0,
        hi=1.0,
        doc="initial FX hedge ratio of foreign bonds",
        source="the nine largest lifers: 63% in 2020, 44-47% in 2024-25 (company disclosures)",
    )
    jgb_trigger_pa: float = param(
        0.025,
        unit="per annum",
        lo=0.005,
        hi=0.05,
        doc="30y JGB yield above which the JGB bucket's utility rises faster (jgb_acceleration)",
        source="Dai-ichi Life (Oct 2024): buying accelerates above ~2.5% on the 30y",
        range_note="insurers' stated 30y yield targets 1.5-3% (company statements 2016-2025)",
    )
    jgb_acceleration: float = param(
        2.0,
        lo=0.0,
        hi=10.0,
        doc="extra utility per unit of 30y yield above the trigger (1 doubles the yield's weight)",
        source="assumption, not estimated: insurers' buying accelerates above ~2.5% on the 30y (Dai-ichi Life, Oct "
        "2024; jgb_trigger_pa), taken as tripling the yield's weight above the trigger (each bp above it counts as 3 "
        "bp)",
        range_note="model coefficient: 0 to 5x the default",
    )
    choice_sensitivity: float = param(
        18.0,
        lo=0.0,
        hi=100.0,
        doc="θ: log-odds of two buckets per unit of return difference (1pp → 0.18)",
        source="hedge ratio 63% (2020) → 45% (2024) as the hedge cost rose ~4pp: Δ log-odds 0.73 / 0.04 ≈ 18",
        range_note="calibrated 18 (hedge ratio 2020-24); 0 to ~5x",
    )
    fx_risk_aversion: float = param(
        0.3,
        lo=0.0,
        hi=10.0,
        doc="γ_L in the unhedged bucket's FX-risk penalty γ_L·σ²",
        source="assumption, not estimated: a penalty small beside the hedge cost's moves (~4 pp 2020-24, "
        "choice_sensitivity); only its changes move money, as the intercepts make the initial allocation the target "
        "(~24 bp a year at the calm 9% implied volatility, 0.3·0.09²; ~56 bp when the risk index doubles)",
        range_note="model coefficient: 0 to ~30x the default",
    )
    value_weight_pa: float = param(
        0.15,
        unit="per annum",
        lo=0.0,
        hi=1.0,
        doc="expected yearly closing of USD/JPY's gap to fundamental value",
        source="Rogoff's (1996) consensus half-life of 3-5 years for real exchange rates is 0.14-0.23 a year (as cited "
        "for hedge_funds.value_weight_pa); 0.15, a half-life of ln 2/0.15 ≈ 4.6 years, is inside it",
        range_note="as for the funds' value weight",
    )
    allocation_halflife_days: float = param(
        125.0,
        unit="trading days",
        lo=20.0,
        hi=1000.0,
        doc="half-life of the foreign share's adjustment (~6 months)",
        source="assumption, not estimated: insurers reallocate by annual plans (range note), taken as closing half of "
        "a gap to the target within about six months (a half-life of 125 trading days)",
        range_note="insurers reallocate over one month to four years (annual plans)",
    )
    hedge_tenor_years: float = param(
        0.25,
        unit="years",
        lo=1.0 / TRADING_DAYS,
        hi=1.0,
        doc="tenor of the FX forwards insurers roll: the horizon of the expected rate differential in the hedge cost",
        source="Japanese insurers hedge mostly with 3-month FX forwards and swaps (BoJ Financial System Report, "
        "Oct 2023)",
        range_note="one day to one year",
    )
    hedge_halflife_days: float = param(
        40.0,
        unit="trading days",
        lo=5.0,
        hi=500.0,
        doc="hedge ratio half-life",
        source="assumption, not estimated: hedges are rolled every three months (hedge_tenor_years), so the hedge "
        "ratio can move faster than the foreign share (a half-life of 40 trading days, about two months)",
        range_note="hedge ratios move within a week to two years",
    )
    size_dispersion: float = param(
        0.5,
        lo=0.0,
        hi=2.0,
        doc="sd of log balance-sheet size across insurers",
        source="the nine largest insurers' sizes differ by up to ~5x (range note); a log-sd of 0.5 gives nine draws an "
        "expected ratio of ~4.4x from the largest to the smallest (e^(0.5·2.97), 2.97 the expected range of nine "
        "standard normal draws); the value is an assumption",
        range_note="the nine largest insurers' sizes differ by up to ~5x",
    )
    sensitivity_dispersion: float = param(
        0.3,
        lo=0.0,
        hi=1.5,
        doc="sd of log choice sensitivity across insurers (each insurer's θ is choice_sensitivity·e^(sd·z))",
        source="assumption, not estimated: insurers respond to the same hedged and unhedged yields with different "
        "speed (one sd is a factor of e^0.3 ≈ 1.35 either side of the calibrated θ); no source gives the spread",
        range_note="assumption: 0 (identical insurers) to 1.5",
    )
    hedge_ratio_dispersion: float = param(
        0.08,
        lo=0.0,
        hi=0.3,
        doc="sd of the opening FX hedge ratio across insurers around hedge_ratio (clipped to 5-95%)",
        source="assumption, not estimated: the large insurers' disclosed hedge ratios differ from one another around "
        "the sector's 44-47% (company disclosures); the spread of 8 points (most of nine insurers within ±15 points) "
        "is not taken from them",
        range_note="assumption: 0 (one hedge ratio) to 30 points",
    )

    def _check(self) -> None:
        if self.foreign_securities_jpy_tn + self.superlong_jgb_jpy_tn > self.total_assets_jpy_tn:
            name = self.field_name
            raise ConfigError(
                f"{name('foreign_securities_jpy_tn')} = {self.foreign_securities_jpy_tn!r} plus "
                f"{name('superlong_jgb_jpy_tn')} = {self.superlong_jgb_jpy_tn!r} is not allowed with "
                f"{name('total_assets_jpy_tn')} = {self.total_assets_jpy_tn!r}; expected their sum at or below the "
                "total assets"
            )


class LifeInsurerState(NamedTuple):
    ust_units: np.ndarray
    jgb_units: np.ndarray  # super-long JGBs: units of the 30y index
    hedge_ratio: np.ndarray
    foreign_share: np.ndarray  # of the investable pool
    sensitivity: np.ndarray  # θ_i
    intercepts: np.ndarray  # (n, 3): c_k per insurer
    hedge_usd_bn: np.ndarray  # dollars sold forward (the hedge's notional)
    # today's orders (written by decide)
    order_ust_units: np.ndarray
    order_jgb_units: np.ndarray
    order_usd_bn: np.ndarray  # dollars bought spot
    order_fwd_usd_bn: np.ndarray  # long-USD forwards bought (negative: more hedging)


def yen_returns(cfg: LifeInsurerConfig, *, y30, y_us, r_us, r_jp, basis, misvaluation, fx_var_pa) -> np.ndarray:
    """Utilities of (JGB, hedged UST, unhedged UST), per annum; ``r_us``, ``r_jp`` are the short rates
    expected over the hedge tenor and ``basis`` the cross-currency basis (negative = dollars dear)."""
    jgb = y30 + cfg.jgb_acceleration * max(0.0, y30 - cfg.jgb_trigger_pa)
    hedged = y_us - (r_us - r_jp - basis)
    unhedged = y_us - cfg.value_weight_pa * misvaluation - cfg.fx_risk_aversion * fx_var_pa
    return np.array([jgb, hedged, unhedged])


def target_weights(utilities: np.ndarray, sensitivity: np.ndarray, intercepts: np.ndarray) -> np.ndarray:
    """Multinomial logit, shape (n, 3), rows sum to 1."""
    e = detmath.exp(_logit_exponents(utilities, sensitivity, intercepts))
    return e / e.sum(axis=1, keepdims=True)


@njit(cache=True)
def _logit_exponents(utilities, sensitivity, intercepts):
    """``θ_i(u_k + c_ik)`` less its largest value in each row (so the largest exponent is 0).

    An insurer with ``θ_i = 0`` does not respond to returns: its intercepts are then the logs of its
    initial weights themselves (:func:`logit_intercepts`), which stay its target."""
    z = np.empty(intercepts.shape)
    for i in range(z.shape[0]):
        top = -np.inf
        for k in range(z.shape[1]):
            if sensitivity[i] == 0.0:
                z[i, k] = intercepts[i, k]
            else:
                z[i, k] = sensitivity[i] * (utilities[k] + intercepts[i, k])
            top = np.maximum(top, z[i, k])
        for k in range(z.shape[1]):
            z[i, k] -= top
    return z


def logit_intercepts(w0: np.ndarray, sensitivity: np.ndarray, utilities: np.ndarray) -> np.ndarray:
    """The intercepts ``c_ik`` that make the allocation ``w0`` (n, 3) the target at ``utilities``:
    ``θ_i(u_k + c_ik) = ln w0_ik``. Where ``θ_i = 0`` no intercept can do that (the exponent is 0
    whatever it is, which would target equal weights), so the row holds ``ln w0_ik`` itself, which
    :func:`_logit_exponents` uses as the exponent: such an insurer keeps its initial allocation."""
    log_w0 = detmath.log(np.maximum(w0, 1e-12))
    with np.errstate(divide="ignore"):
        intercepts = log_w0 / np.maximum(sensitivity[:, None], 1e-12) - utilities[None, :]
    return np.where(sensitivity[:, None] == 0.0, log_w0, intercepts)


def init_life_insurers(
    cfg: LifeInsurerConfig, rng: np.random.Generator, *, usdjpy, ust_price, jgb_price, utilities
) -> LifeInsurerState:
    n = cfg.n_insurers
    size = detmath.exp(cfg.size_dispersion * rng.standard_normal(n))
    size /= size.sum()
    sens = cfg.choice_sensitivity * detmath.exp(cfg.sensitivity_dispersion * rng.standard_normal(n))
    hedge0 = np.clip(cfg.hedge_ratio + cfg.hedge_ratio_dispersion * rng.standard_normal(n), 0.05, 0.95)
    if not cfg.enabled:
        size = np.zeros(n)
    foreign_jpy = cfg.foreign_securities_jpy_tn * size
    jgb_jpy = cfg.superlong_jgb_jpy_tn * size
    pool = foreign_jpy + jgb_jpy
    share = np.divide(foreign_jpy, pool, out=np.zeros(n), where=pool > 0)
    w0 = np.stack([1 - share, share * hedge0, share * (1 - hedge0)], axis=1)
    intercepts = logit_intercepts(w0, sens, utilities)
    zeros = np.zeros(n)
    return LifeInsurerState(
        hedge_usd_bn=hedge0 * foreign_jpy * 1000.0 / usdjpy,
        order_fwd_usd_bn=zeros.copy(),
        ust_units=foreign_jpy * 1000.0 / usdjpy / ust_price,
        jgb_units=jgb_jpy / jgb_price,
        hedge_ratio=hedge0,
        foreign_share=share,
        sensitivity=sens,
        intercepts=intercepts,
        order_ust_units=zeros.copy(),
        order_jgb_units=zeros.copy(),
        order_usd_bn=zeros.copy(),
    )


def decide(
    state: LifeInsurerState, cfg: LifeInsurerConfig, utilities: np.ndarray, *, usdjpy, ust_price, jgb_price
) -> tuple[float, float, float, float]:
    """Partial adjustment towards the logit targets; write today's orders (at yesterday's prices).

    Returns the orders summed over insurers (``ndarray.sum`` of each): dollars bought spot, UST units,
    JGB 30y units and long-USD forwards (all 0 if the sector is off).
    """
    if not cfg.enabled:
        return 0.0, 0.0, 0.0, 0.0
    e = detmath.exp(_logit_exponents(utilities, state.sensitivity, state.intercepts))  # target_weights, unnormalised
    ka = 1.0 - 0.5 ** (1.0 / cfg.allocation_halflife_days)
    kh = 1.0 - 0.5 ** (1.0 / cfg.hedge_halflife_days)
    return _adjust_flat(state, e, ka, kh, usdjpy, ust_price, jgb_price)


@njit(cache=True)
def _adjust(state, e, ka, kh, usdjpy, ust_price, jgb_price):
    """Each insurer's step ``ka`` (allocation) and ``kh`` (hedge) from what it holds towards its target
    weights (the rows of ``e`` normalised, as :func:`target_weights`), and the orders that take it there
    (USD bn, bond units; at yesterday's prices); returns their sums.

    The step starts from the foreign share and hedge ratio its holdings have at yesterday's prices,
    so a move in USD/JPY or in bond prices changes the share held and is closed by the same partial
    adjustment as a change of target: a 10% yen surge lowers the foreign share, and the insurer buys
    back ``ka`` of the gap a day, not all of it."""
    for i in range(e.shape[0]):
        total = e[i, 0] + e[i, 1] + e[i, 2]
        w1, w2 = e[i, 1] / total, e[i, 2] / total
        share_target = w1 + w2
        hedge_target = w1 / share_target if share_target > 0 else state.hedge_ratio[i]
        usd_value = state.ust_units[i] * ust_price  # USD bn
        pool = state.jgb_units[i] * jgb_price + usd_value * usdjpy / 1000.0  # JPY tn
        held = usd_value * usdjpy / 1000.0 / pool if pool > 0.0 else state.foreign_share[i]
        held_hedge = state.hedge_usd_bn[i] / usd_value if usd_value > 0.0 else state.hedge_ratio[i]
        share = held + ka * (share_target - held)
        hedge = held_hedge + kh * (hedge_target - held_hedge)
        new_usd_value = share * pool * 1000.0 / usdjpy
        state.order_ust_units[i] = new_usd_value / ust_price - state.ust_units[i]
        state.order_jgb_units[i] = (1.0 - share) * pool / jgb_price - state.jgb_units[i]
        # dollars for the bonds bought spot; the hedge is a forward sale of the hedged share
        state.order_usd_bn[i] = new_usd_value - usd_value
        state.order_fwd_usd_bn[i] = -(hedge * new_usd_value - state.hedge_usd_bn[i])
        state.foreign_share[i] = share
        state.hedge_ratio[i] = hedge
    return (pairwise_sum(state.order_usd_bn), pairwise_sum(state.order_ust_units), pairwise_sum(state.order_jgb_units),
            pairwise_sum(state.order_fwd_usd_bn))  # fmt: skip


_adjust_flat = FlatKernel(_adjust, LifeInsurerState, None, None, None, None, None, None)


def settle(state: LifeInsurerState) -> None:
    """Execute today's orders: bonds bought, the hedge's notional changed."""
    _settle_kernel(state)


# the ledger cells the insurers' settlement books, in the order of insurer_settle's `cells`
_BOOKED = (("life_insurers", "usd_bn"), ("life_insurers", "jpy_tn"), ("life_insurers", "ust_units"),
           ("life_insurers", "jgb30_units"), ("life_insurers", "usd_fwd_bn"),
           ("forward_settlement", "usd_bn"))  # fmt: skip
_USD, _JPY, _UST_UNITS, _JGB30_UNITS, _FWD_NOTIONAL, _SETTLEMENT_USD = range(len(_BOOKED))


@njit(cache=True)
def insurer_settle(orders, state, enabled, usdjpy, ust_price, jgb30_price, fwd_vm, fwd_carry, table, turnover, cells):
    """The insurers' day at the cleared prices, booked into the ledger's ``table`` (the bookings of
    :meth:`model.accounting.Ledger.book`, in the same order and arithmetic): dollars bought spot for
    yen, Treasuries and super-long JGBs bought, the hedge's margin and carry, then (if the sector is
    on) their books. ``orders``: the sector's orders per market and line; ``cells``: the ledger cells
    of :data:`_BOOKED`. Returns the day's trades: dollars, UST units, forwards, JGB 30y units."""
    usd, ust = orders[FX, INSTITUTIONS], orders[UST, INSTITUTIONS]
    fwd, jgb30 = orders[FWD, INSTITUTIONS], orders[JGB30, INSTITUTIONS]
    book_exchange(table, turnover, cells, _USD, _JPY, usd, usdjpy / 1000.0)
    book_exchange(table, turnover, cells, _UST_UNITS, _USD, ust, ust_price)
    book_exchange(table, turnover, cells, _JGB30_UNITS, _JPY, jgb30, jgb30_price)
    # the hedge: margin on the forwards held overnight, carry on those held at the close
    hedge_old = pairwise_sum(state.hedge_usd_bn)  # hedge_usd_bn.sum()
    paid = -hedge_old * fwd_vm - (hedge_old - fwd) * fwd_carry
    book_entry(table, turnover, cells, _FWD_NOTIONAL, fwd)
    book_entry(table, turnover, cells, _USD, paid)
    book_entry(table, turnover, cells, _SETTLEMENT_USD, -paid)
    if enabled:
        _settle_kernel(state)
    return usd, ust, fwd, jgb30


@njit(cache=True)
def _settle_kernel(state):
    for i in range(state.ust_units.shape[0]):
        state.ust_units[i] += state.order_ust_units[i]
        state.jgb_units[i] += state.order_jgb_units[i]
        state.hedge_usd_bn[i] -= state.order_fwd_usd_bn[i]


_insurer_settle_flat = FlatKernel(insurer_settle, None, LifeInsurerState, *(None,) * 9)


def foreign_share_aggregate(state: LifeInsurerState, *, usdjpy, ust_price, jgb_price) -> tuple[float, float]:
    """(foreign share of the investable pool, value-weighted hedge ratio)."""
    pool, foreign, hedged, _ = _aggregates_flat(state, usdjpy, ust_price, jgb_price)
    hedge = hedged / foreign if foreign > 0 else 0.0
    return (foreign / pool if pool > 0 else 0.0), hedge


@njit(cache=True)
def _aggregates(state, usdjpy, ust_price, jgb_price):
    """Sums over insurers (NumPy's order): the investable pool and its foreign part (JPY tn), the hedged
    foreign part, and the hedges' notional (USD bn)."""
    n = state.ust_units.shape[0]
    usd_jpy = np.empty(n)
    pool = np.empty(n)
    hedged = np.empty(n)
    for i in range(n):
        usd_jpy[i] = state.ust_units[i] * ust_price * usdjpy / 1000.0
        pool[i] = usd_jpy[i] + state.jgb_units[i] * jgb_price
        hedged[i] = usd_jpy[i] * state.hedge_ratio[i]
    return pairwise_sum(pool), pairwise_sum(usd_jpy), pairwise_sum(hedged), pairwise_sum(state.hedge_usd_bn)


_aggregates_flat = FlatKernel(_aggregates, LifeInsurerState, None, None, None)


class LifeInsurers(Sector):
    """The life insurers' sector block: price-inelastic orders decided from yesterday's close.

    Reads ``fundamental_log_usdjpy`` (real money) from ``model.signals`` for the unhedged bucket's
    expected yen appreciation.
    """

    name = "life_insurers"
    section = "life_insurers"
    requires = ("dealers", "real_money")  # real money publishes the fundamental they value against
    columns = ("lifer_foreign_share", "lifer_hedge_ratio", "lifer_fx_flow_usd_bn", "lifer_hedge_usd_bn")

    def __init__(self, model) -> None:
        super().__init__(model)
        self.state: LifeInsurerState | None = None
        self._orders = np.zeros((N_MARKETS, 3))
        self._cells: np.ndarray | None = None  # the ledger cells the settlement books (_BOOKED)

    def utilities(self, model) -> np.ndarray:
        mk = model.market
        fx_var = model.config.market.implied_fx_vol_pa(mk.risk_index) ** 2
        return yen_returns(
            self.config,
            y30=mk.jgb30y_yield,
            y_us=mk.ust10y_yield,
            r_us=mk.fed_path.average(self.config.hedge_tenor_years),
            r_jp=mk.boj_path.average(self.config.hedge_tenor_years),
            basis=mk.fx_basis,
            misvaluation=mk.log_usdjpy - model.signals["fundamental_log_usdjpy"],
            fx_var_pa=fx_var,
        )

    def start(self, model) -> None:
        mk = model.market
        self.state = init_life_insurers(
            self.config, model.streams["life_insurers.init"], usdjpy=mk.usdjpy, ust_price=mk.ust_price,
            jgb_price=mk.jgb30_price, utilities=self.utilities(model),
        )  # fmt: skip

    def open_books(self, ledger) -> None:
        ledger.set(self.name, "ust_units", float(self.state.ust_units.sum()))
        ledger.set(self.name, "jgb30_units", float(self.state.jgb_units.sum()))
        ledger.set(self.name, "usd_fwd_bn", -float(self.state.hedge_usd_bn.sum()))

    def decide(self, model) -> None:
        mk = model.market
        usd, ust, jgb30, fwd = decide(
            self.state, self.config, self.utilities(model), usdjpy=mk.usdjpy, ust_price=mk.ust_price,
            jgb_price=mk.jgb30_price,
        )  # fmt: skip
        self._orders[FX, INSTITUTIONS] = usd
        self._orders[UST, INSTITUTIONS] = ust
        self._orders[JGB30, INSTITUTIONS] = jgb30
        self._orders[FWD, INSTITUTIONS] = fwd

    def orders(self) -> np.ndarray:
        return self._orders

    def settle(self, model, day) -> None:
        led = model.ledger
        if self._cells is None:  # the ledger's rows and columns are fixed once the model is built
            self._cells = led.cells(_BOOKED)
        _insurer_settle_flat(
            self._orders, self.state, self.config.enabled, day.usdjpy, day.ust_price, day.jgb30_price,
            day.forward_revaluation(), day.forward_carry(), led.table, led.turnover, self._cells,
        )  # fmt: skip

    def holdings(self) -> dict[str, float]:
        return {"ust_units": float(self.state.ust_units.sum()), "jgb30_units": float(self.state.jgb_units.sum()),
                "usd_fwd_bn": -float(self.state.hedge_usd_bn.sum())}  # fmt: skip

    def record(self, model) -> dict[str, float]:
        mk = model.market
        pool, foreign, hedged, hedges = _aggregates_flat(self.state, mk.usdjpy, mk.ust_price, mk.jgb30_price)
        return {"lifer_foreign_share": foreign / pool if pool > 0 else 0.0,
                "lifer_hedge_ratio": hedged / foreign if foreign > 0 else 0.0,
                "lifer_fx_flow_usd_bn": float(self._orders[FX, INSTITUTIONS]),
                "lifer_hedge_usd_bn": hedges}  # fmt: skip
