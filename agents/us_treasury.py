"""The US Treasury: regular coupon auctions, cleared as uniform-price auctions before the day's trading.

Every ``auction_interval_days``-th trading day (every 5th at the default: about 50 auctions a year, not
weekly ones) the Treasury offers ``auction_size_usd_bn`` (10y-equivalent). Three
bidder classes — as the Treasury's auction results report them — bid against the **when-issued
yield** ``w``, yesterday's close plus today's news:

* *indirect* bidders (foreign official and foreign private accounts, Japanese investors among them),
* *direct* bidders (domestic asset managers and others bidding on their own account),
* *primary dealers*, who must bid in every auction and take what the others leave, at a concession.

Each class bids a linear schedule in the yield offered relative to ``w``: at ``w + x`` (``x`` in bp)
class ``k`` wants ``q_k(x) = max(0, L_k + s_k·x)`` (USD bn), ``L_k`` its bids at the when-issued
yield (its *level*) and ``s_k`` how much more it bids per bp of concession (its *slope*). The
auction is single-price: the stop-out is the lowest yield at which the bids cover the offering,
``Σ_k q_k(x*) = size``, every class is allotted ``q_k(x*)`` and pays the stop-out price. Levels and
slopes are stated as shares of a reference offering (``bid_reference_size_usd_bn``, the weekly supply at
which the allotment data were observed): bidders' demand does not grow with the offering, so a larger
one stops out at a higher yield. Reported:

* the **tail** ``x*`` = stop-out − when-issued yield (bp; negative: the auction "stopped through");
* the **indirect share** = the indirect class's allotment / size;
* each class's allotment (USD bn).

Nothing in them is a constant: they move with the classes' levels, which move with what the
bidders observe (see :meth:`UsTreasury.bid_schedules`): the indirect level falls when the
FX-hedged pickup of Treasuries over JGBs falls (from the market state: yields, expected policy paths,
the basis) and when Japanese insurers repatriate (their foreign share as the day's close records
it, ``lifer_foreign_share``), dealers' appetite shrinks as the risk index rises (value at risk per
unit of inventory), and every level carries the auction's own demand news (a common and a
class-specific draw).

The offering enters the day's UST clearing as new supply. End investors (the indirect and direct
classes) take their allotments into their portfolios at unchanged yields — announced as
``ust_absorbed_usd_bn``, which the bond investors' demand grows by — while the dealers' allotment is
distributed to end investors over ``dealer_distribution_days``: until then it is supply the
secondary market must absorb at a higher yield. A weak auction (small end-investor bids, a large
dealer take-down) therefore also presses on the day's secondary-market yield.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numba import njit

from model import detmath
from model.market import bond_price
from model.sector import ISSUANCE, N_MARKETS, TRADING_DAYS, UST, Sector, Validated, param

__all__ = [
    "UsTreasuryConfig",
    "UsTreasury",
    "AuctionResult",
    "BIDDER_CLASSES",
    "uniform_price_auction",
    "auction_with_news",
]

# The bidder classes of the Treasury's auction results, in the order of the arrays below.
BIDDER_CLASSES = ("indirect", "direct", "dealers")
INDIRECT, DIRECT, DEALERS = 0, 1, 2
_NOTHING_ALLOTTED = np.zeros(len(BIDDER_CLASSES))  # a day without an auction (shared, so read-only)
_NOTHING_ALLOTTED.flags.writeable = False

# Sources shared by several fields below.
_ALLOTMENTS = (
    "10-year note auctions 2023-24: indirect bidders ~60-75%, direct ~12-20%, primary dealers ~10-20% of the "
    "amount accepted (US Treasury auction results, 'Bidder category'; Investor Class Auction Allotments)"
)
_BID_TO_COVER = (
    "bid-to-cover ~2.4-2.7 on 10-year notes 2023-24 (US Treasury auction results): bids not accepted are "
    "~1.5x the offering; assumed to lie within ~10-25 bp above the stop-out (the bid distribution is not "
    "published), which puts the aggregate slope at ~0.06-0.15 of the offering per bp, split by each class's "
    "tenders"
)


@dataclass(frozen=True)
class UsTreasuryConfig(Validated):
    auctions: bool = param(True, doc="hold regular auctions")
    auction_interval_days: int = param(
        5,
        unit="trading days",
        lo=1,
        hi=20,
        doc="trading days between coupon auctions (one aggregate auction on each day whose number is a multiple of it)",
        source="coupon auctions are about weekly in aggregate: the weekly 10y-equivalent coupon supply of 2023-24, "
        "~$20 bn (US Treasury refunding statements; auction_size_usd_bn), is offered every 5th trading day, which "
        "is not every calendar week: with the calendar's holidays about 50 auctions a year (~250 trading days / 5), "
        "~$1.0 tn a year at $20 bn each rather than 52 x $20 bn",
        range_note="coupon auctions weekly to monthly (5 to 20 trading days)",
    )
    auction_size_usd_bn: float = param(
        20.0,
        unit="USD bn (10y-equivalent)",
        lo=0.0,
        hi=100.0,
        doc="offering at each auction, 10y-equivalent (0: no auctions)",
        source="~$1 tn a year of net 10y-equivalent coupon supply 2023-24 (US Treasury refunding statements)",
        range_note="net 10y-equivalent coupon supply ~$15-40 bn a week (2023-24)",
    )
    bid_reference_size_usd_bn: float = param(
        20.0,
        unit="USD bn (10y-equivalent)",
        lo=1.0,
        hi=100.0,
        doc="the offering at which the bidder classes' levels and slopes below are stated (as shares of it): "
        "bidders' demand does not grow with the offering, so a larger one must be taken at a higher yield",
        source="the weekly 10y-equivalent coupon supply of 2023-24, ~$20 bn (US Treasury refunding statements), "
        "at which the allotment shares below were observed",
        range_note="net 10y-equivalent coupon supply ~$15-40 bn a week (2023-24)",
    )
    indirect_level_share: float = param(
        0.66,
        unit="share of the reference offering",
        lo=0.0,
        hi=1.5,
        doc="L_indirect: indirect bidders' bids at the when-issued yield, at the day-0 hedged pickup, before news",
        source=_ALLOTMENTS,
        range_note="indirect allotments of 55-80% of 10-year auctions 2021-24, with room for larger bids",
    )
    direct_level_share: float = param(
        0.17,
        unit="share of the reference offering",
        lo=0.0,
        hi=1.0,
        doc="L_direct: direct bidders' bids at the when-issued yield",
        source=_ALLOTMENTS,
        range_note="direct allotments of ~5-25% of 10-year auctions 2019-24",
    )
    dealer_level_share: float = param(
        0.13,
        unit="share of the reference offering",
        lo=0.0,
        hi=1.0,
        doc="L_dealers: primary dealers' bids at the when-issued yield, at the risk index's mean v̄ (so ~0.15 at the "
        "VIX's 2023-24 average of ~15-16, with dealer_risk_elasticity = 1); the pre-auction "
        "concession (yields rise into auctions) is already in the when-issued yield",
        source=_ALLOTMENTS + "; Lou, Yan & Zhang (2013, RFS): Treasury yields rise by a few bp in the days before "
        "auctions and revert after, the concession dealers are paid for absorbing supply",
        range_note="dealer allotments of ~10-25% of 10-year auctions 2019-24 at tails near zero",
    )
    indirect_slope_share_per_bp: float = param(
        0.02,
        unit="share of the reference offering per bp",
        lo=0.0,
        hi=0.5,
        lo_open=True,
        doc="s_indirect: indirect bids added per bp of yield above the when-issued yield",
        source=_BID_TO_COVER + " (indirect tenders ~0.9 of the offering, ~0.65 accepted: ~0.25 left above)",
        range_note="0.25-0.5 of the offering left above the stop-out over 5-25 bp: ~0.01-0.1 per bp; more for "
        "very elastic bidders",
    )
    direct_slope_share_per_bp: float = param(
        0.008,
        unit="share of the reference offering per bp",
        lo=0.0,
        hi=0.5,
        lo_open=True,
        doc="s_direct: direct bids added per bp above the when-issued yield",
        source=_BID_TO_COVER + " (direct tenders ~0.3 of the offering, ~0.17 accepted)",
        range_note="~0.1-0.2 of the offering left above the stop-out over 5-25 bp: ~0.004-0.04 per bp",
    )
    dealer_slope_share_per_bp: float = param(
        0.035,
        unit="share of the reference offering per bp",
        lo=0.0,
        hi=0.5,
        lo_open=True,
        doc="s_dealers: dealers take the rest at a concession; each bp of yield above the when-issued yield adds this "
        "share of the offering to their bids (its inverse is the concession per share taken); positive, so the "
        "dealers' bids always cover the offering",
        source=_BID_TO_COVER + " (primary dealers tender about their pro-rata share of the whole offering and are "
        "allotted ~0.15: ~0.85 left above); Fleming & Rosenberg (2008, FRBNY Staff Report 299): dealers absorb "
        "auction supply into inventory and are compensated by price concessions",
        range_note="~0.8-1 of the offering left above the stop-out over 5-25 bp: ~0.03-0.2 per bp",
    )
    bid_common_sd: float = param(
        0.07,
        lo=0.0,
        hi=0.5,
        doc="sd of the auction's demand news common to all classes (log of every level)",
        source="set for 10-year tails with sd ~1.5 bp with the slopes above (tails of 10-year auctions "
        "2023-24 mostly within ±2 bp; US Treasury auction results against the when-issued yield as reported "
        "at the 1 pm close); measured by python -m experiments.analysis.auctions --seeds 10 (the baseline, "
        "500 days and 100 auctions a seed; run on commit aa141d5, its printed JSON in "
        "experiments/calibration/results/auctions.txt): tail sd median 1.70 bp across seeds (5-95% 1.35-2.01), "
        "73.5% of tails within ±2 bp",
        range_note="tails sd 1-3 bp with aggregate slopes 0.06-0.15 per bp",
    )
    bid_class_sd: float = param(
        0.06,
        lo=0.0,
        hi=0.5,
        doc="sd of each class's own demand news (log of its level), independent across classes",
        source="set for an indirect share of 10-year auctions varying with sd ~5 percentage points (~60-75% "
        "in 2023-24, US Treasury auction results); measured by python -m experiments.analysis.auctions --seeds 10 "
        "(the baseline, 500 days and 100 auctions a seed; run on commit aa141d5, its printed JSON in "
        "experiments/calibration/results/auctions.txt): indirect-share sd median 4.2 percentage points across "
        "seeds (5-95% 3.9-4.6), mean share 68%",
        range_note="indirect-share sd 3-10 percentage points",
    )
    indirect_pickup_sensitivity_per_pp: float = param(
        0.03,
        unit="per percentage point",
        lo=0.0,
        hi=0.15,
        doc="relative change of the indirect level per percentage point change of the FX-hedged UST pickup over "
        "the 10y JGB (yen-hedged, from its day-0 value): hedged foreign private buyers other than the model's "
        "insurers (Japanese banks and pension funds, European investors)",
        source="assumption: hedged foreign private buyers ~15-25% of foreign-held Treasuries (US Treasury TIC, "
        "Major Foreign Holders 2023-24, private part); a 1 pp fall of the hedged pickup taken to cut their "
        "demand by ~15%",
        range_note="0 (indirect demand ignores the hedged pickup) to those buyers' demand halving per 1 pp, "
        "with room above",
    )
    indirect_japan_weight: float = param(
        0.14,
        lo=0.0,
        hi=0.5,
        doc="weight of Japanese investors in the indirect class: its level moves by this weight times the relative "
        "change of the Japanese insurers' foreign share since day 0 (insurers who repatriate bid less)",
        source="Japan holds ~13-15% of foreign-held Treasuries (US Treasury TIC, Major Foreign Holders 2023-24); the "
        "model's insurers stand for Japanese investors' allocation to foreign bonds",
        range_note="~0.02 (the life insurers' own UST holdings only) to ~0.3 (Japan with its official holders), "
        "with room above",
    )
    dealer_risk_elasticity: float = param(
        1.0,
        lo=0.0,
        hi=2.0,
        doc="dealers' level and slope scale with (v̄/v)^η: their capacity is capital over value at risk per unit "
        "of inventory, which rises with the risk index v",
        source="Adrian & Shin (2010); Fleming & Rosenberg (2008): dealers' capacity to hold auction inventory "
        "falls with volatility; η = 1, the dealers' own η, but on the index itself, (v̄/v)^1, where the dealers' "
        "capacity scales with FX volatility, (v̄/v)^(η·β) with β = 0.6: auction bids fall faster with the index",
        range_note="0 (dealers' bids ignore risk) to 2",
    )
    pickup_hedge_tenor_years: float = param(
        0.25,
        unit="years",
        lo=1.0 / TRADING_DAYS,
        hi=1.0,
        doc="tenor of the FX hedge in the hedged pickup (expected short-rate differential over it, less the basis)",
        source="Japanese investors hedge mostly with 3-month FX forwards and swaps (BoJ Financial System Report, "
        "Oct 2023)",
        range_note="one day to one year",
    )
    dealer_distribution_days: float = param(
        5.0,
        unit="trading days",
        lo=1.0,
        hi=20.0,
        doc="dealers distribute their allotment to end investors evenly over this many days; until then it is "
        "supply the secondary market absorbs at a higher yield",
        source="Fleming & Rosenberg (2008, FRBNY Staff Report 299): primary dealers' positions in new issues jump "
        "at auctions and are worked off over the following days to weeks",
        range_note="one day to a month",
    )


class AuctionResult(NamedTuple):
    """A uniform-price auction's outcome.

    Attributes
    ----------
    stop_out_bp : float
        The stop-out yield minus the when-issued yield (bp): the tail.
    allotments : numpy.ndarray
        Each class's allotment, shape ``(n_classes,)``, in the units of ``size``; sums to ``size``.
    """

    stop_out_bp: float
    allotments: np.ndarray


def uniform_price_auction(levels: np.ndarray, slopes: np.ndarray, size: float) -> AuctionResult:
    """Clear a single-price auction of linear bid schedules.

    Class ``k`` bids ``q_k(x) = max(0, L_k + s_k·x)`` at ``x`` bp above the when-issued yield (the amount
    it takes if the stop-out is there). The stop-out ``x*`` is the lowest ``x`` at which the bids cover
    the offering, ``Σ q_k(x*) = size`` (the aggregate is continuous and strictly increasing where
    positive), and each class is allotted ``q_k(x*)``. When every class bids at the stop-out,
    ``x* = (size − Σ L_k) / Σ s_k``.

    Parameters
    ----------
    levels : numpy.ndarray
        ``L_k``, bids at the when-issued yield, shape ``(n,)`` (e.g. USD bn); may be negative (the class
        starts bidding only above the when-issued yield).
    slopes : numpy.ndarray
        ``s_k > 0``, bids added per bp, shape ``(n,)``.
    size : float
        The amount offered, > 0.

    Returns
    -------
    AuctionResult

    Examples
    --------
    >>> r = uniform_price_auction(np.array([12.0, 4.0, 3.0]), np.array([0.6, 0.2, 1.2]), 20.0)
    >>> round(r.stop_out_bp, 6), np.round(r.allotments, 6).tolist()
    (0.5, [12.3, 4.1, 3.6])
    """
    levels = np.asarray(levels, dtype=float)
    slopes = np.asarray(slopes, dtype=float)
    if levels.ndim != 1 or levels.shape != slopes.shape or levels.size == 0:
        raise ValueError(f"levels and slopes have shapes {levels.shape} and {slopes.shape}; expected equal (n,), n ≥ 1")
    if not (np.all(slopes > 0) and np.all(np.isfinite(slopes)) and np.all(np.isfinite(levels))):
        raise ValueError(f"slopes = {slopes!r} are not allowed; expected finite positive numbers (and finite levels)")
    if not (size > 0 and math.isfinite(size)):
        raise ValueError(f"size = {size!r} is not allowed; expected a finite number > 0")
    # the aggregate is piecewise linear with a kink where each class starts bidding, x_k = −L_k/s_k:
    # walk the kinks in order, adding each class's slope, until the segment that reaches `size`
    starts = -levels / slopes
    order = np.argsort(starts, kind="stable")
    level_sum = slope_sum = 0.0
    for i, k in enumerate(order):
        level_sum += levels[k]
        slope_sum += slopes[k]
        x = (size - level_sum) / slope_sum  # the root if the active set is the first i + 1 classes
        nxt = starts[order[i + 1]] if i + 1 < len(order) else math.inf
        if x <= nxt:
            break
    allotments = np.maximum(levels + slopes * x, 0.0)
    allotments *= size / allotments.sum()  # exact to round-off already; make the partition exact
    return AuctionResult(float(x), allotments)


@njit(cache=True)
def _clear_auction(levels, slopes, size, allotments):
    """:func:`uniform_price_auction` compiled, for checked inputs: returns the stop-out ``x*`` and writes
    each class's allotment into ``allotments``.

    The same numbers bit for bit for fewer than eight classes (the model has three): the classes are
    ordered by a stable insertion sort (ties keep their order, as NumPy's stable argsort does),
    ``max(0, ·)`` gives +0.0 for −0.0 as ``np.maximum`` does, and the allotments are added in order,
    as NumPy adds fewer than eight numbers (from eight on it adds them pairwise).
    """
    n = levels.shape[0]
    starts = np.empty(n)
    order = np.empty(n, dtype=np.int64)
    for k in range(n):
        starts[k] = -levels[k] / slopes[k]
        j = k
        while j > 0 and starts[order[j - 1]] > starts[k]:
            order[j] = order[j - 1]
            j -= 1
        order[j] = k
    level_sum = 0.0
    slope_sum = 0.0
    x = 0.0
    for i in range(n):
        k = order[i]
        level_sum += levels[k]
        slope_sum += slopes[k]
        x = (size - level_sum) / slope_sum  # the root if the active set is the first i + 1 classes
        nxt = starts[order[i + 1]] if i + 1 < n else math.inf
        if x <= nxt:
            break
    total = 0.0
    for k in range(n):
        q = levels[k] + slopes[k] * x
        allotments[k] = q if q > 0.0 else 0.0
        total += allotments[k]
    scale = size / total  # exact to round-off already; make the partition exact
    for k in range(n):
        allotments[k] *= scale
    return x


@njit(cache=True)
def auction_with_news(base_levels, slopes, draws, common_sd, class_sd, size, allotments):
    """The day's auction from its bid schedules before news: :meth:`UsTreasury.bid_schedules`' demand news
    on the levels, then :func:`uniform_price_auction`, in one compiled call; returns the stop-out ``x*``
    (bp) with the allotments in ``allotments``, or NaN (``allotments`` left unwritten) where a level or slope is not
    finite or a slope not positive, which :func:`uniform_price_auction` refuses.

    The news is lognormal with mean one, a common draw and one per class: level ``k`` is multiplied by
    ``exp(σ_c·d₀ + σ_k·d_{k+1} − ½(σ_c² + σ_k²))``, computed in that order as the NumPy expression
    does, with the C library's ``exp`` (:mod:`model.detmath`).
    """
    n = base_levels.shape[0]
    levels = np.empty(n)
    half_var = 0.5 * (common_sd * common_sd + class_sd * class_sd)
    common = common_sd * draws[0]
    valid = size > 0.0 and math.isfinite(size)
    for k in range(n):
        levels[k] = base_levels[k] * math.exp(common + class_sd * draws[k + 1] - half_var)
        valid = valid and math.isfinite(levels[k]) and math.isfinite(slopes[k]) and slopes[k] > 0.0
    if not valid:
        return math.nan
    return _clear_auction(levels, slopes, size, allotments)


class UsTreasury(Sector):
    """The US Treasury: uniform-price auctions before the day's trading, and their new supply.

    Announces ``ust_absorbed_usd_bn``: the part of auctions end investors take into their portfolios
    today (their allotments on auction days, then the dealers' allotments as dealers distribute them).
    Reads the insurers' foreign share from yesterday's recorded row (``model.latest``;
    ``lifer_foreign_share``; without insurers that term is off). Ledger row ``us_treasury`` (the
    issuer: minus the amount outstanding), checked against its own record of units issued.
    """

    name = "us_treasury"
    section = "us_treasury"
    columns = (
        "ust_auction",
        "ust_auction_tail_bp",
        "ust_indirect_share",
        "ust_allotted_indirect_usd_bn",
        "ust_allotted_direct_usd_bn",
        "ust_allotted_dealers_usd_bn",
    )

    def __init__(self, model) -> None:
        super().__init__(model)
        mk = model.market
        self.news_anchor = mk.expected_change_10y("fed")  # the expected path at yesterday's close
        self.pickup0 = self.hedged_pickup(model, mk.ust10y_yield)
        self.japan_share0: float | None = None  # the insurers' foreign share at the opening (read on day 1)
        self.dealer_inventory_usd_bn = 0.0  # dealers' allotments not yet distributed to end investors
        self.dealer_distribution_usd_bn = 0.0  # per day
        self.last_tail_bp = 0.0
        self.last_indirect_share = 0.0
        self.allotted_usd_bn = np.zeros(3)
        self.when_issued_yield = mk.ust10y_yield
        self.stop_out_yield = mk.ust10y_yield
        self.tails: list[float] = []
        self.indirect: list[float] = []
        self.auction = False
        self.supply_units = 0.0
        self.issued_units = 0.0  # since the opening: the issuer's own record of what it sold
        self.opening_units: float | None = None  # the amount outstanding at the opening (set on day 1)
        self.absorbed_usd_bn = 0.0
        self._orders = np.zeros((N_MARKETS, 3))

    # -- what the bidders observe --------------------------------------------------------------------
    def hedged_pickup(self, model, ust_yield: float) -> float:
        """Japanese investors' FX-hedged UST pickup over the 10y JGB (per annum), from the market state:
        ``y_us − (E[r_us] − E[r_jp] − b) − y_jgb``, the hedge cost being the short-rate differential
        expected over the hedge tenor less the cross-currency basis (negative = dollars dear)."""
        mk, tenor = model.market, self.config.pickup_hedge_tenor_years
        hedge_cost = mk.fed_path.average(tenor) - mk.boj_path.average(tenor) - mk.fx_basis
        return ust_yield - hedge_cost - mk.jgb10y_yield

    def bid_schedules(self, model, when_issued: float, draws: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Levels and slopes (USD bn, USD bn per bp) of (indirect, direct, dealers) for today's auction.

        ``draws``: four standard normals (common demand news, then one per class).
        """
        cfg = self.config
        levels, slopes = self._schedules_before_news(model, when_issued)
        # demand news: lognormal, mean one, a common and a class-specific part
        sc, sk = cfg.bid_common_sd, cfg.bid_class_sd
        levels *= detmath.exp(sc * draws[0] + sk * draws[1:] - 0.5 * (sc * sc + sk * sk))
        return levels, slopes

    def _schedules_before_news(self, model, when_issued: float) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`bid_schedules` before the auction's demand news."""
        cfg, mk = self.config, model.market
        size = cfg.bid_reference_size_usd_bn
        pickup_change_pp = 100.0 * (self.hedged_pickup(model, when_issued) - self.pickup0)
        pickup_factor = max(0.0, 1.0 + cfg.indirect_pickup_sensitivity_per_pp * pickup_change_pp)
        indirect = cfg.indirect_level_share * size * pickup_factor
        share = model.latest.get("lifer_foreign_share")  # yesterday's close, as recorded
        if share is not None and self.japan_share0:
            indirect *= max(0.0, 1.0 + cfg.indirect_japan_weight * (share / self.japan_share0 - 1.0))
        capacity = (model.config.market.risk_index_mean / mk.risk_index) ** cfg.dealer_risk_elasticity
        levels = np.array([indirect, cfg.direct_level_share * size, cfg.dealer_level_share * size * capacity])
        slopes = size * np.array(
            [cfg.indirect_slope_share_per_bp, cfg.direct_slope_share_per_bp, cfg.dealer_slope_share_per_bp * capacity]
        )
        return levels, slopes

    # -- the day ---------------------------------------------------------------------------------------
    def decide(self, model) -> None:
        cfg, mk = self.config, model.market
        if self.opening_units is None:  # the opening books are closed, and day 0 recorded, before day 1
            self.opening_units = -model.ledger.get(self.name, "ust_units")
            self.japan_share0 = model.latest.get("lifer_foreign_share")
        # today's news before trading: the change of the expected Fed path averaged over ten years
        # since yesterday's close (events fire before the day's trading)
        expected = mk.expected_change_10y("fed")
        news, self.news_anchor = expected - self.news_anchor, expected
        # every auction_interval_days-th trading day (every 5th: about 50 auctions a year, not 52 weekly ones)
        self.auction = cfg.auctions and cfg.auction_size_usd_bn > 0 and model.day % cfg.auction_interval_days == 0
        absorbed = 0.0
        if self.dealer_inventory_usd_bn > 0:  # dealers distribute earlier allotments to end investors
            sold = min(self.dealer_inventory_usd_bn, self.dealer_distribution_usd_bn)
            self.dealer_inventory_usd_bn -= sold
            absorbed += sold
        self.supply_units = 0.0
        if self.auction:
            draws = model.streams["us_treasury.auction"].standard_normal(4)  # every auction: common numbers
            self.when_issued_yield = mk.ust10y_yield + news
            # bid_schedules and uniform_price_auction in one compiled call, the same numbers
            levels, slopes = self._schedules_before_news(model, self.when_issued_yield)
            allotments = np.empty(len(BIDDER_CLASSES))
            x = auction_with_news(levels, slopes, draws, cfg.bid_common_sd, cfg.bid_class_sd,
                                  cfg.auction_size_usd_bn, allotments)  # fmt: skip
            if math.isnan(x):  # schedules the auction refuses: its own message
                result = uniform_price_auction(*self.bid_schedules(model, self.when_issued_yield, draws),
                                               cfg.auction_size_usd_bn)  # fmt: skip
            else:
                result = AuctionResult(x, allotments)
            self.allotted_usd_bn = result.allotments
            self.stop_out_yield = self.when_issued_yield + 1e-4 * result.stop_out_bp
            self.last_tail_bp = result.stop_out_bp
            self.last_indirect_share = float(result.allotments[INDIRECT] / cfg.auction_size_usd_bn)
            self.tails.append(self.last_tail_bp)
            self.indirect.append(self.last_indirect_share)
            # the face amount offered, in index units at the when-issued price
            self.supply_units = cfg.auction_size_usd_bn / bond_price(self.when_issued_yield, mk.cfg.ust_duration)
            absorbed += float(result.allotments[INDIRECT] + result.allotments[DIRECT])
            self.dealer_inventory_usd_bn += float(result.allotments[DEALERS])
            self.dealer_distribution_usd_bn = self.dealer_inventory_usd_bn / cfg.dealer_distribution_days
        else:
            self.allotted_usd_bn = _NOTHING_ALLOTTED
        self.absorbed_usd_bn = absorbed
        self._orders[UST, ISSUANCE] = -self.supply_units

    def publish(self, model) -> dict[str, float]:
        return {"ust_absorbed_usd_bn": self.absorbed_usd_bn}

    def orders(self) -> np.ndarray:
        return self._orders

    def settle(self, model, day) -> None:
        # the new units are sold into the day's clearing at its price: the model trades at one price per
        # market and day, so the allottees' gain or loss between the stop-out and the close is not booked
        model.ledger.bonds(self.name, "ust_units", "usd_bn", -self.supply_units, day.ust_price)
        self.issued_units += self.supply_units

    def holdings(self) -> dict[str, float]:
        if self.opening_units is None:
            return {}
        return {"ust_units": -(self.opening_units + self.issued_units)}

    def record(self, model) -> dict[str, float]:
        a = self.allotted_usd_bn
        return {
            "ust_auction": int(self.auction),
            "ust_auction_tail_bp": self.last_tail_bp if self.auction else 0.0,
            "ust_indirect_share": self.last_indirect_share,
            "ust_allotted_indirect_usd_bn": float(a[INDIRECT]),
            "ust_allotted_direct_usd_bn": float(a[DIRECT]),
            "ust_allotted_dealers_usd_bn": float(a[DEALERS]),
        }
