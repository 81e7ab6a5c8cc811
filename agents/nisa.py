"""NISA households: steady monthly buyers of foreign equity funds, who panic in drawdowns.

Each household (a row; the population scales to 10^6 and beyond) contributes a fixed amount a
month to foreign-equity funds — yen selling, heaviest in January when the tax-free quota
resets (MoF portfolio-flow data 2024-25: ¥0.8–1.2 tn a month) — and more when fiscal news raises
expected inflation (``fiscal_outflow_jpy_tn_pa_per_pp``: a lower expected real return on yen
deposits moves savings abroad; the domestic-outflow channel of fiscal dominance). Its holding is worth
``units × E × S / 1000`` in yen, so it falls both when the global equity index ``E`` falls and
when the yen strengthens. A household panics when

* its own drawdown from its peak (in yen) exceeds a personal threshold ``θ_i``, or
* the share of its neighbours in panic exceeds its contagion threshold ``φ_i`` (Watts 2002
  threshold cascade on a small-world network, Watts & Strogatz 1998) and it is itself at least
  ``contagion_min_drawdown`` under water (fear needs a loss to feed on);

a panicking household stops contributing and redeems a share of its holding each day (yen
buying) for ``panic_days``, then calms down and re-anchors its peak. Dip buyers instead add
to their contribution when their drawdown passes a (smaller) dip threshold. After a panic a
household stays calm for ``refractory_days`` (without it, staggered recoveries re-infect each
other and panic never ends).

The network is kept as CSR arrays for the compiled daily update; for people who want to look at
it, :func:`network_sample` returns the induced subgraph of the first households as a networkx
graph (the model wraps it in Mesa's ``Network`` space).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import mesa
import numpy as np
from numba import njit

from model import detmath
from model.compose import FlatKernel
from model.sector import FX, INSTITUTIONS, N_MARKETS, TRADING_DAYS, Sector, Validated, param
from model.validation import ConfigError

__all__ = [
    "NisaConfig",
    "NisaState",
    "HouseholdView",
    "init_nisa",
    "small_world_csr",
    "csr_is_symmetric",
    "PanicCounts",
    "decide",
    "settle",
    "value_per_unit",
    "fiscal_outflow_jpy_tn_per_day",
    "network_sample",
]


@dataclass(frozen=True)
class NisaConfig(Validated):
    enabled: bool = param(True, doc="include NISA households")
    trading: bool = param(
        True,
        doc="the households place orders (False: they hold what they have and place none: contributions, "
        "redemptions and the fiscal outflow stop and panic spells pause; a runtime switch, so that an experiment "
        "can freeze them on a given day)",
    )
    n_households: int = param(10_000, unit="households", lo=1, hi=50_000_000, doc="simulated households")
    monthly_contribution_jpy_tn: float = param(
        1.0,
        unit="JPY tn per month",
        lo=0.0,
        hi=3.0,
        doc="households' foreign-equity contributions in a month (× january_multiplier in January), spread over its "
        "trading days",
        source="MoF portfolio flows (investment trusts, foreign equity) 2024-25: ¥0.8-1.2 tn a month",
        range_note="MoF: ¥0.8-1.2 tn a month 2024-25; ~3x in a strong January",
    )
    january_multiplier: float = param(
        1.8,
        lo=1.0,
        hi=4.0,
        doc="January contributions relative to other months (quota reset)",
        source="MoF weekly flows: Jan 2024 and Jan 2025 investment-trust outflows ~1.5-2x the monthly average",
        range_note="January inflows 1.5-2.5x other months 2024-25 (MoF weekly data)",
    )
    initial_holdings_jpy_tn: float = param(
        20.0,
        unit="JPY tn",
        lo=0.0,
        hi=60.0,
        doc="foreign-equity holdings of NISA households at the start",
        source="assumption, not estimated: below the ~¥50 tn of all NISA balances at end-2024 (FSA; range note), since "
        "only part of them is foreign equity and the baseline starts in January 2023, before the quotas tripled in "
        "2024 (fiscal_outflow_jpy_tn_pa_per_pp) (¥20 tn, 40% of the end-2024 balances)",
        range_note="NISA account balances ~¥50 tn at end-2024 (FSA)",
    )
    panic_threshold: float = param(
        0.3,
        lo=0.05,
        hi=0.8,
        lo_open=False,
        doc="median drawdown (in yen) that makes a household panic",
        source="assumption, not estimated: a large loss, inside the 5-80% of the range note (the median household "
        "panics when its holding has fallen 30% in yen from its peak)",
        range_note="assumption: households sell after drawdowns from 5% to 80%",
    )
    panic_threshold_dispersion: float = param(
        0.3,
        lo=0.0,
        hi=1.5,
        doc="sd of log thresholds (a household's drawn threshold is capped at a 99% drawdown)",
        source="assumption, not estimated: households differ in how much loss they bear (one sd is a factor of e^0.3 ≈ "
        "1.35 either side of the median: thresholds of about 22-40% around the median's 30%)",
        range_note="assumption",
    )
    contagion_threshold_dispersion: float = param(
        0.2,
        lo=0.0,
        hi=1.5,
        doc="sd of log contagion thresholds across households (clipped to 0.1-100% of neighbours)",
        source="assumption, not estimated: households differ in how many panicking neighbours move them (one sd is a "
        "factor of e^0.2 ≈ 1.22 either side of contagion_threshold)",
        range_note="assumption",
    )
    holdings_dispersion: float = param(
        0.8,
        lo=0.0,
        hi=2.0,
        doc="sd of log holdings across households (lognormal weights of initial_holdings_jpy_tn)",
        source="assumption, not estimated: NISA balances are skewed (most accounts small, a few large); a log-sd of "
        "0.8 puts the mean at about 1.4 times the median",
        range_note="assumption",
    )
    contagion: bool = param(True, doc="panic spreads over the social network")
    contagion_threshold: float = param(
        0.5,
        lo=0.05,
        hi=1.0,
        lo_open=False,
        doc="φ: panic when more than this share of neighbours panics (Watts 2002)",
        source="assumption, not estimated: the midpoint of the unit interval over which Watts (2002) varies thresholds "
        "(a household follows when more than half of its neighbours panicked; households' own thresholds vary by a "
        "log-sd of 0.2 around it)",
        range_note="Watts (2002) thresholds across the unit interval",
    )
    network_degree: int = param(
        6,
        lo=2,
        hi=50,
        doc="neighbours per household (even)",
        source="about the innermost of Dunbar's layers of close contacts (~5; range note), rounded to an even number "
        "as the ring lattice needs (6 neighbours); the value is an assumption",
        range_note="social-network degrees of close contacts (Dunbar layers 5-50)",
    )
    rewiring_probability: float = param(
        0.1,
        lo=0.0,
        hi=1.0,
        doc="Watts-Strogatz rewiring probability",
        source="Watts & Strogatz (1998): short paths with high clustering (the small world) for p of about "
        "0.01-0.1; the value within it is an assumption",
    )
    contagion_min_drawdown: float = param(
        0.15,
        lo=0.0,
        hi=0.5,
        doc="neighbours' panic spreads only to households already this far under water",
        source="assumption, not estimated: neighbours' panic reaches only households with a loss of their own, half "
        "the median panic threshold (15% below their peak in yen)",
        range_note="assumption",
    )
    panic_days: int = param(
        10,
        unit="trading days",
        lo=1,
        hi=60,
        doc="trading days a panicking household redeems (redemption_per_day) before it calms down",
        source="assumption, not estimated: a panic lasts two trading weeks (10 trading days, in which "
        "redemption_per_day 0.03 sells ~26% of the holding: 1 − 0.97^10)",
        range_note="assumption: a panic lasts a day to three months",
    )
    refractory_days: int = param(
        60,
        unit="trading days",
        lo=0,
        hi=500,
        doc="after calming down a household does not panic again this long",
        source="assumption, not estimated: a household that has just sold stays calm for about a quarter before it can "
        "panic again (60 trading days)",
        range_note="assumption",
    )
    redemption_per_day: float = param(
        0.03,
        lo=0.0,
        hi=0.2,
        doc="share of holdings redeemed per day of panic",
        source="assumption, not estimated: panicking households sell over days rather than all at once (3% of the "
        "holding a day, ~26% over a 10-day panic)",
        range_note="assumption: panicking households sell up to a fifth a day",
    )
    fiscal_outflow_jpy_tn_pa_per_pp: float = param(
        5.0,
        unit="JPY tn per year per pp",
        lo=0.0,
        hi=20.0,
        doc="extra foreign buying a year per percentage point of the fiscal term of expected inflation π^f (the "
        "expected real return on yen deposits falls one for one: deposit rates barely follow the BoJ)",
        source="MoF portfolio flows: investment trusts' net foreign-equity buying ~¥4 tn in 2023, ~¥10-12 tn a year "
        "in 2024-25 while the 10y breakeven rose ~0.3-0.5 pp and NISA quotas tripled; attributing all of the rise to "
        "expected inflation bounds the response at ~¥15-20 tn a year per pp; default a quarter of that (assumption)",
        range_note="0 (flows ignore inflation) to ~¥20 tn a year per pp (the 2024-25 upper bound); identified by "
        "the flows' response to breakevens, not by the yen",
    )
    dip_buyer_share: float = param(
        0.2,
        lo=0.0,
        hi=1.0,
        doc="share of households that add to their contributions in a drawdown (see dip_threshold)",
        source="assumption: a minority of savers buy dips",
    )
    dip_threshold: float = param(
        0.08,
        lo=0.0,
        hi=0.5,
        doc="drawdown at which dip buyers add",
        source="assumption, not estimated: dip buyers act on a fall well short of the median panic threshold of 30% (a "
        "drawdown of 8% from their peak in yen)",
        range_note="assumption",
    )
    dip_multiplier: float = param(
        2.0,
        lo=0.0,
        hi=10.0,
        doc="extra daily contribution, × the normal one",
        source="assumption, not estimated: a dip buyer adds twice its normal contribution on top of it (three times "
        "the normal daily amount in all)",
        range_note="assumption",
    )

    def _check(self) -> None:
        if self.network_degree % 2:
            raise ConfigError(
                f"{self.field_name('network_degree')} = {self.network_degree!r} is not allowed; expected an even "
                "number of neighbours from 2 to 50 (the ring lattice links each household to degree/2 on either side)"
            )


def fiscal_outflow_jpy_tn_per_day(cfg: NisaConfig, fiscal_inflation: float) -> float:
    """Households' extra foreign buying (JPY tn a day) when fiscal news raises expected inflation by
    ``fiscal_inflation`` (per annum): the portfolio response to a lower expected real return at home."""
    return cfg.fiscal_outflow_jpy_tn_pa_per_pp * 100.0 * fiscal_inflation / TRADING_DAYS


class NisaState(NamedTuple):
    units: np.ndarray  # equity-index units (USD value = units · E)
    peak_jpy: np.ndarray  # peak value in yen (JPY tn)
    threshold: np.ndarray
    contagion_threshold: np.ndarray
    dip_buyer: np.ndarray  # bool
    weight: np.ndarray  # share of total contributions
    panic_left: np.ndarray  # int32: days of panic left (> 0), or of immunity left (< 0); 0 = calm
    indptr: np.ndarray
    indices: np.ndarray
    # today's order (JPY tn, + = buying foreign equity)
    flow_jpy: np.ndarray  # per household


def small_world_csr(n: int, k: int, p: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Watts-Strogatz small world (ring of ``k`` neighbours, rewired with prob. ``p``) as CSR."""
    half = max(k // 2, 1)
    if n <= 1:
        return np.zeros(n + 1, np.int64), np.zeros(0, np.int64)
    src = np.repeat(np.arange(n, dtype=np.int64), half)
    dst = (src + np.tile(np.arange(1, half + 1, dtype=np.int64), n)) % n
    rewire = rng.random(src.size) < p
    dst[rewire] = rng.integers(0, n, int(rewire.sum()))
    keep = dst != src
    src, dst = src[keep], dst[keep]
    a = np.concatenate([src, dst])
    b = np.concatenate([dst, src])
    order = np.lexsort((b, a))
    a, b = a[order], b[order]
    dup = np.zeros(a.size, bool)
    dup[1:] = (a[1:] == a[:-1]) & (b[1:] == b[:-1])
    a, b = a[~dup], b[~dup]
    indptr = np.zeros(n + 1, np.int64)
    np.add.at(indptr, a + 1, 1)
    return np.cumsum(indptr), b


def init_nisa(cfg: NisaConfig, rng: np.random.Generator, *, equity_index: float, usdjpy: float) -> NisaState:
    n = cfg.n_households
    # draw order fixed
    thr = cfg.panic_threshold * detmath.exp(cfg.panic_threshold_dispersion * rng.standard_normal(n))
    cth = np.clip(cfg.contagion_threshold * detmath.exp(cfg.contagion_threshold_dispersion * rng.standard_normal(n)),
                  1e-3, 1.0)  # fmt: skip
    dip = rng.random(n) < cfg.dip_buyer_share
    w = rng.lognormal(0.0, cfg.holdings_dispersion, n)
    w /= w.sum()
    indptr, indices = small_world_csr(n, cfg.network_degree, cfg.rewiring_probability, rng)
    holdings = cfg.initial_holdings_jpy_tn * w if cfg.enabled else np.zeros(n)
    units = holdings * 1000.0 / usdjpy / equity_index
    return NisaState(
        units=units,
        peak_jpy=holdings.copy(),
        threshold=np.minimum(thr, 0.99),
        contagion_threshold=cth,
        dip_buyer=dip,
        weight=w,
        panic_left=np.zeros(n, np.int32),
        indptr=indptr,
        indices=indices,
        flow_jpy=np.zeros(n),
    )


class NisaRules(NamedTuple):
    """The households' behavioural rules for one day."""

    value_per_unit: float  # JPY tn per unit of holdings at yesterday's close
    daily_total: float  # JPY tn of contributions today, all households
    contagion: bool
    min_drawdown: float
    panic_days: int
    refractory_days: int
    redeem: float  # share of holdings redeemed per panic day
    dip_threshold: float
    dip_multiplier: float
    settle_value_per_unit: float  # > 0: first execute yesterday's orders at this value per unit (0: none pending)


# Up to this many households the decision runs in vector instructions (:func:`_decide_kernel`), beyond
# it with branches (:func:`_decide_kernel_large`), the same numbers either way. The vector loop reads
# and writes every household's arrays; once they no longer fit in the caches that costs more than it
# saves. Measured on a 2-core AMD EPYC machine, µs a call: 10,000 households 16 against 33; 250,000
# about 700 against 650; 1,000,000 about 3,400 against 2,400.
VECTOR_HOUSEHOLDS = 100_000


@njit(cache=True, error_model="numpy")
def _decide_kernel(state, rules, counts, changed):
    """Synchronous update from yesterday's panic states; returns (newly panicked, panicked today).

    ``panic_left > 0``: days of panic left; ``< 0``: days of immunity left; ``0``: calm. The contagion
    rule reads each household's number of panicking neighbours as of yesterday from ``counts``; the
    kernel then brings ``counts`` up to date for tomorrow from the households whose panic state
    changed today (``changed``: scratch, one entry per household, left holding 1 for those). That
    update is right only for a symmetric network (:func:`csr_is_symmetric`: a household is among its
    neighbours' neighbours); otherwise the caller recounts every day (:meth:`PanicCounts.scanned`).

    With ``rules.settle_value_per_unit > 0`` each household first executes yesterday's order
    (``flow_jpy``) at that value per unit, as :func:`settle` does, so that a day passes over the
    households once instead of twice (the same operations per household in the same order).

    A household's day depends only on its own state and yesterday's counts, and nothing is summed in
    floating point across households, so the first loop states every rule as a selection between
    values computed for all households (the compiler can then run it in vector instructions); each
    household's numbers come from the same operations, in the same order, as a rule written with
    branches. ``error_model="numpy"``: a division by a zero peak gives a value the selection drops,
    instead of an exception.
    """
    units, peak, panic_left, out_flow = state.units, state.peak_jpy, state.panic_left, state.flow_jpy
    threshold, contagion_threshold = state.threshold, state.contagion_threshold
    weight, dip_buyer = state.weight, state.dip_buyer
    indptr, indices = state.indptr, state.indices
    value_per_unit = rules.value_per_unit
    settle_at = rules.settle_value_per_unit
    settle_first = settle_at > 0.0
    contagion, min_drawdown = rules.contagion, rules.min_drawdown
    panic_days, refractory_days = rules.panic_days, rules.refractory_days
    redeem, daily_total = rules.redeem, rules.daily_total
    dip_threshold, dip_multiplier = rules.dip_threshold, rules.dip_multiplier
    n = units.shape[0]
    new = 0
    panicked = 0
    for i in range(n):  # vectorised
        held = units[i]
        top = peak[i]
        if settle_first:  # yesterday's order, booked as settle() books it (the same for every household)
            held = held + out_flow[i] / settle_at
            units[i] = held
            settled = held * settle_at
            top = settled if settled > top else top
        value = held * value_per_unit
        dd = 1.0 - value / top if top > 0.0 else 0.0
        left = panic_left[i]
        before = left > 0
        deg = indptr[i + 1] - indptr[i]
        crowd = contagion and dd > min_drawdown and deg > 0 and counts[i] > contagion_threshold[i] * deg
        trigger = left == 0 and (dd > threshold[i] or crowd)
        calm_again = left == 1  # the last day of panic: re-anchor, then a spell of immunity
        if left > 0:
            left = -refractory_days if calm_again else left - 1
        elif left < 0:
            left = left + 1
        else:
            left = panic_days if trigger else 0
        peak[i] = value if calm_again else top
        panic_left[i] = left
        now = left > 0
        new += trigger
        panicked += now
        base = daily_total * weight[i]
        calm_flow = base * (1.0 + dip_multiplier) if dip_buyer[i] and dd > dip_threshold else base
        out_flow[i] = -redeem * value if now else calm_flow
        changed[i] = now != before
    for i in range(n):
        if changed[i]:
            step = 1 if panic_left[i] > 0 else -1
            for j in range(indptr[i], indptr[i + 1]):
                counts[indices[j]] += step
    return new, panicked


@njit(cache=True)
def _decide_kernel_large(state, rules, counts, changed):
    """:func:`_decide_kernel` for populations that do not fit in the caches: the same rule, written
    with branches, so that a household's network, counts and contagion threshold are read only in a
    drawdown and its peak and panic state written only when they change (``changed``: the indexes of
    the households whose panic state changed, in row order)."""
    units, peak, panic_left, out_flow = state.units, state.peak_jpy, state.panic_left, state.flow_jpy
    threshold, weight, dip_buyer = state.threshold, state.weight, state.dip_buyer
    indptr, indices = state.indptr, state.indices
    value_per_unit = rules.value_per_unit
    settle_at = rules.settle_value_per_unit
    settle_first = settle_at > 0.0
    n = units.shape[0]
    new = 0
    panicked = 0
    n_changed = 0
    for i in range(n):
        if settle_first:  # yesterday's order, booked as settle() books it
            _execute(units, peak, out_flow, i, settle_at)
        value = units[i] * value_per_unit
        dd = 1.0 - value / peak[i] if peak[i] > 0.0 else 0.0
        before = panic_left[i] > 0
        if panic_left[i] > 0:
            panic_left[i] -= 1
            if panic_left[i] == 0:
                peak[i] = value  # calm again: re-anchor, then a spell of immunity
                panic_left[i] = -rules.refractory_days
        elif panic_left[i] < 0:
            panic_left[i] += 1
        else:
            trigger = dd > threshold[i]
            if not trigger and rules.contagion and dd > rules.min_drawdown:
                deg = indptr[i + 1] - indptr[i]
                if deg > 0:
                    trigger = counts[i] > state.contagion_threshold[i] * deg
            if trigger:
                panic_left[i] = rules.panic_days
                new += 1
        if panic_left[i] > 0:
            panicked += 1
            flow = -rules.redeem * value
        else:
            flow = rules.daily_total * weight[i]
            if dip_buyer[i] and dd > rules.dip_threshold:
                flow *= 1.0 + rules.dip_multiplier
        out_flow[i] = flow
        if (panic_left[i] > 0) != before:
            changed[n_changed] = i
            n_changed += 1
    for k in range(n_changed):
        i = changed[k]
        step = 1 if panic_left[i] > 0 else -1
        for j in range(indptr[i], indptr[i + 1]):
            counts[indices[j]] += step
    return new, panicked


_decide = FlatKernel(_decide_kernel, NisaState, NisaRules, None, None)
_decide_large = FlatKernel(_decide_kernel_large, NisaState, NisaRules, None, None)


@njit(cache=True)
def _panicking_neighbours(state, counts):
    """``counts[i]``: how many of household ``i``'s neighbours are panicking now."""
    for i in range(counts.shape[0]):
        cnt = 0
        for j in range(state.indptr[i], state.indptr[i + 1]):
            if state.panic_left[state.indices[j]] > 0:
                cnt += 1
        counts[i] = cnt


@njit(cache=True)
def csr_is_symmetric(indptr, indices):
    """Whether a CSR graph's rows are strictly increasing (no repeated edge) and every edge ``i → j``
    has its ``j → i``."""
    for i in range(indptr.shape[0] - 1):
        for k in range(indptr[i], indptr[i + 1]):
            j = indices[k]
            if k > indptr[i] and j <= indices[k - 1]:
                return False
            lo, hi = indptr[j], indptr[j + 1]
            while lo < hi:  # binary search for i among j's neighbours
                mid = (lo + hi) // 2
                if indices[mid] < i:
                    lo = mid + 1
                else:
                    hi = mid
            if lo == indptr[j + 1] or indices[lo] != i:
                return False
    return True


class PanicCounts(NamedTuple):
    """Each household's number of panicking neighbours, kept from day to day by the sector."""

    counts: np.ndarray  # int32, one per household (at most its degree)
    changed: np.ndarray  # int32 scratch, one per household

    @classmethod
    def of(cls, state: NisaState) -> PanicCounts | None:
        """The counts for ``state`` as it is now, or ``None`` if its network is not symmetric."""
        if not csr_is_symmetric(state.indptr, state.indices):
            return None
        return cls.scanned(state)

    @classmethod
    def scanned(cls, state: NisaState) -> PanicCounts:
        """The counts for ``state`` as it is now, by scanning every household's neighbours."""
        n = state.panic_left.shape[0]
        counts = np.zeros(n, dtype=np.int32)
        _panicking_neighbours(state, counts)
        return cls(counts, np.zeros(n, dtype=np.int32))


def value_per_unit(equity_index: float, usdjpy: float) -> float:
    """JPY tn per unit of holdings at the equity index ``equity_index`` and ``usdjpy`` yen a dollar."""
    return equity_index * usdjpy / 1000.0


def decide(
    state: NisaState,
    cfg: NisaConfig,
    *,
    equity_index: float,
    usdjpy: float,
    daily_total_jpy_tn: float,
    neighbours: PanicCounts | None = None,
    settle_value_per_unit: float = 0.0,
):
    """Today's flows (JPY tn per household, + = buying) from yesterday's close.

    ``neighbours``: the households' counts of panicking neighbours, kept in step with
    ``state.panic_left`` (:meth:`PanicCounts.of` when the state is made; then only this function
    changes either). With them a day reads one number per household instead of scanning its
    neighbours; without them the neighbours are scanned. The decisions are the same.

    ``settle_value_per_unit > 0``: yesterday's orders (``state.flow_jpy``) have not been executed yet;
    each household executes its order at that value per unit (:func:`value_per_unit` of the close
    they executed at) just before it decides, exactly as :func:`settle` would have.

    Returns ``(net flow JPY tn, newly panicked, panicked)``.
    """
    if not cfg.enabled:
        state.flow_jpy[:] = 0.0
        return 0.0, 0, 0
    rules = NisaRules(
        value_per_unit(equity_index, usdjpy), daily_total_jpy_tn, cfg.contagion, cfg.contagion_min_drawdown,
        cfg.panic_days, cfg.refractory_days, cfg.redemption_per_day, cfg.dip_threshold, cfg.dip_multiplier,
        float(settle_value_per_unit),
    )  # fmt: skip
    if neighbours is None:  # no counts kept (a state on its own, or a one-way network): count them now
        neighbours = PanicCounts.scanned(state)
    kernel = _decide if state.units.shape[0] <= VECTOR_HOUSEHOLDS else _decide_large
    new, panicked = kernel(state, rules, neighbours.counts, neighbours.changed)
    return float(state.flow_jpy.sum()), int(new), int(panicked)


@njit(cache=True, inline="always")
def _execute(units, peak, flow, i, value_per_unit):
    """Household ``i`` executes its order ``flow[i]`` (JPY tn) at ``value_per_unit``; its peak follows."""
    units[i] += flow[i] / value_per_unit
    v = units[i] * value_per_unit
    if v > peak[i]:
        peak[i] = v


@njit(cache=True)
def _settle_kernel(units, peak, flow, value_per_unit):
    for i in range(units.shape[0]):
        _execute(units, peak, flow, i, value_per_unit)


def settle(state: NisaState, *, equity_index: float, usdjpy: float) -> None:
    """Execute today's flows at today's equity price and exchange rate; update peaks."""
    _settle_kernel(state.units, state.peak_jpy, state.flow_jpy, value_per_unit(equity_index, usdjpy))


def network_sample(state: NisaState, max_nodes: int = 200):
    """(networkx graph of the first households, {node: panicked 0/1}) for drawing."""
    import networkx as nx

    n = min(max_nodes, state.units.shape[0])
    g = nx.Graph()
    g.add_nodes_from(range(n))
    for i in range(n):
        for j in state.indices[state.indptr[i] : state.indptr[i + 1]]:
            if j < n and j > i:
                g.add_edge(i, int(j))
    panic = {i: float(state.panic_left[i] > 0) for i in range(n)}  # immunity (< 0) counts as calm
    return g, panic


class HouseholdView(mesa.discrete_space.CellAgent):
    """A read-only Mesa view of one household, placed on a node of the model's Network space."""

    def __init__(self, model: mesa.Model, row: int) -> None:
        super().__init__(model)
        self.row = row

    @property
    def panicking(self) -> bool:
        return bool(self.model.nisa.panic_left[self.row] > 0)

    @property
    def holdings_jpy_tn(self) -> float:
        m = self.model
        return float(self.model.nisa.units[self.row]) * value_per_unit(m.macro.equity_index, m.market.usdjpy)

    @property
    def drawdown(self) -> float:
        peak = float(self.model.nisa.peak_jpy[self.row])
        return 1.0 - self.holdings_jpy_tn / peak if peak > 0 else 0.0


class NisaHouseholds(Sector):
    """The NISA households' sector block: monthly contributions, panics and redemptions.

    Orders are decided from yesterday's close (the equity index with the news that arrived before
    today's trading: a day's growth news can start a panic on its day) and executed at the day's
    price; their dollars buy
    foreign equity from sellers outside the model (ledger row ``foreign_equity``). Holdings are
    marked at the global equity index (``model.macro``) after the day's close.

    The day's orders are booked into the households' units and peaks by the next day's decision, in
    the same pass over the households (:func:`decide` with ``settle_value_per_unit``): one pass a day
    instead of two. Until then they are pending; :attr:`state` books them before returning the
    arrays, so whatever reads the households (views, the network, a user at the end of a run) sees
    them executed.
    """

    name = "nisa_households"
    section = "nisa"
    columns = ("nisa_flow_jpy_tn", "nisa_panic_share")
    ledger_rows = ("nisa_households", "foreign_equity")

    def __init__(self, model) -> None:
        super().__init__(model)
        self._state = init_nisa(
            self.config, model.streams["nisa.init"], equity_index=model.macro.equity_index, usdjpy=model.market.usdjpy
        )
        self._pending = 0.0  # > 0: the value per unit at which the last orders executed, not yet booked
        self.flow_jpy_tn = 0.0
        self.panicked = 0
        self._orders = np.zeros((N_MARKETS, 3))
        self._neighbours = PanicCounts.of(self._state)  # None (scan the neighbours) if the network is not symmetric

    @property
    def state(self) -> NisaState:
        """The households' arrays, with the last day's executed orders booked into units and peaks."""
        self._book_pending()
        return self._state

    def _book_pending(self) -> None:
        if self._pending > 0.0:
            s = self._state
            _settle_kernel(s.units, s.peak_jpy, s.flow_jpy, self._pending)
            self._pending = 0.0

    def decide(self, model) -> None:
        cfg, mk = self.config, model.market
        if not cfg.trading:
            # frozen: yesterday's orders are booked and none placed (contributions, redemptions and the
            # fiscal outflow stop); panic spells pause where they are, so the count in panic stays
            self._book_pending()
            self._state.flow_jpy[:] = 0.0
            self.flow_jpy_tn = 0.0
            self._orders[FX, INSTITUTIONS] = 0.0
            return
        date = model.calendar.date(model.day)
        tdays = model.calendar.trading_days_in_month(model.day)
        # monthly contributions spread over the month's trading days, heavier in January
        monthly = cfg.monthly_contribution_jpy_tn * (cfg.january_multiplier if date.month == 1 else 1.0)
        daily = monthly / tdays + fiscal_outflow_jpy_tn_per_day(cfg, model.macro.fiscal_inflation())
        flow, _new, self.panicked = decide(
            self._state, cfg, equity_index=model.macro.equity_index, usdjpy=mk.usdjpy, daily_total_jpy_tn=daily,
            neighbours=self._neighbours, settle_value_per_unit=self._pending,
        )  # fmt: skip
        self._pending = 0.0
        self.flow_jpy_tn = flow
        self._orders[FX, INSTITUTIONS] = flow * 1000.0 / mk.usdjpy

    def orders(self) -> np.ndarray:
        return self._orders

    def settle(self, model, day) -> None:
        usd = self._orders[FX, INSTITUTIONS]
        led = model.ledger
        led.fx(self.name, usd, day.usdjpy / 1000.0)
        # the dollars buy foreign equity from its (unmodelled) sellers
        led.book(self.name, "usd_bn", -usd)
        led.book("foreign_equity", "usd_bn", usd)
        if self.config.enabled:
            # executed at today's close; booked by tomorrow's decision (or when the state is read)
            self._book_pending()  # none in a normal day: the decision booked yesterday's
            self._pending = value_per_unit(model.macro.equity_index, day.usdjpy)

    def holdings_jpy_tn(self, model) -> float:
        """The households' foreign holdings in yen (JPY tn) at the equity index and USD/JPY now."""
        return float(self.state.units.sum()) * value_per_unit(model.macro.equity_index, model.market.usdjpy)

    def failure_state(self, model) -> str:
        """The households' holdings (yen at yesterday's close) and today's share in panic: the stock
        whose redemptions can outgrow the market in a long run (contributions and the equity index's
        drift accumulate while the other balance sheets do not grow)."""
        if not self.config.enabled:
            return ""
        panic = self.panicked / max(self.state.units.shape[0], 1)
        return f"NISA holdings ¥{self.holdings_jpy_tn(model):,.1f} tn, {panic:.0%} of households in panic"

    def network_view(self, max_nodes: int = 200):
        """``(networkx.Graph, {node: 1.0 if panicking else 0.0})`` for the first households."""
        return network_sample(self.state, max_nodes)

    def network_space(self, model):
        """Mesa's Network space over the first households, with a view agent on each node."""
        n_view = model.config.simulation.network_view_households
        if n_view <= 0 or not self.config.enabled:
            return None
        graph, _ = network_sample(self.state, n_view)
        space = mesa.discrete_space.Network(graph, random=model.random, layout=None)
        for node in graph.nodes:
            view = HouseholdView(model, node)
            view.cell = space[node]
        return space

    def record(self, model) -> dict[str, float]:
        n = max(self._state.units.shape[0], 1)
        return {"nisa_flow_jpy_tn": self.flow_jpy_tn,
                "nisa_panic_share": self.panicked / n if self.config.enabled else 0.0}  # fmt: skip
