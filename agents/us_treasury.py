"""The US Treasury side: the short-rate path (scenario events) and regular UST auctions.

Every ``auction_interval`` days an auction adds ``size`` (10y-equivalent) to the supply cleared
that day. A share of it is anticipated — investors' demand grows by it the same day — and the
rest is digested by investors over the days to the next auction; what foreign buyers do not
take on the day must be absorbed by a higher yield. Reported, as the carry-unwind thesis watches them:

* the tail: auction-day clearing yield minus the previous close (bp);
* the indirect (foreign) share: (insurers' and hedge funds' net buying + the foreign-official
  share of investors' absorption) / size, in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.sector import ISSUANCE, N_MARKETS, UST, Sector, Validated, param

__all__ = ["UsTreasuryConfig", "UsTreasury"]


@dataclass(frozen=True)
class UsTreasuryConfig(Validated):
    auctions: bool = param(True, doc="hold regular auctions")
    auction_interval_days: int = param(
        5,
        unit="trading days",
        lo=1,
        hi=20,
        doc="coupon auctions, weekly in aggregate",
        range_note="coupon auctions weekly to monthly",
    )
    auction_size_usd_bn: float = param(
        20.0,
        unit="USD bn (10y-equivalent)",
        lo=0.0,
        hi=100.0,
        source="~$1 tn a year of net 10y-equivalent coupon supply 2023-24 (US Treasury refunding statements)",
        range_note="net 10y-equivalent coupon supply ~$15-40 bn a week (2023-24)",
    )
    anticipated_share: float = param(
        0.7, lo=0.0, hi=1.0, doc="share of an auction investors absorb at unchanged yields"
    )
    foreign_official_share: float = param(
        0.6,
        lo=0.0,
        hi=1.0,
        doc="share of investors' absorption that is foreign ('indirect')",
        source="indirect bidders took ~60-70% of 10y auctions in 2023-24 (US Treasury auction results)",
    )


class UsTreasury(Sector):
    """The US Treasury: auctions (new supply cleared the same day) and investors' digestion of them.

    Announces ``ust_absorbed_usd_bn``: the part of auctions investors absorb at unchanged yields
    today. The auction statistics use the day's executed trades of the foreign buyers
    (``day.executed``: life insurers, hedge funds, bond investors), so it settles after them.
    Ledger row ``us_treasury`` (the issuer: minus the amount outstanding).
    """

    name = "us_treasury"
    section = "us_treasury"
    columns = ("ust_auction", "ust_auction_tail_bp", "ust_indirect_share")

    def __init__(self, model) -> None:
        super().__init__(model)
        self.digest_left = 0.0  # USD bn of the last auction still to be absorbed by investors
        self.last_tail_bp = 0.0
        self.last_indirect_share = 0.0
        self.tails: list[float] = []
        self.indirect: list[float] = []
        self.auction = False
        self.supply_units = 0.0
        self.absorbed_usd_bn = 0.0
        self._orders = np.zeros((N_MARKETS, 3))

    def decide(self, model) -> None:
        cfg = self.config
        self.auction = cfg.auctions and cfg.auction_size_usd_bn > 0 and model.day % cfg.auction_interval_days == 0
        self.supply_units = cfg.auction_size_usd_bn / model.market.ust_price if self.auction else 0.0
        digest = 0.0
        if self.digest_left > 0:
            digest = min(
                self.digest_left, cfg.auction_size_usd_bn * (1 - cfg.anticipated_share) / cfg.auction_interval_days
            )
            self.digest_left -= digest
        if self.auction:
            digest += cfg.anticipated_share * cfg.auction_size_usd_bn
            self.digest_left += (1 - cfg.anticipated_share) * cfg.auction_size_usd_bn
        self.absorbed_usd_bn = digest
        self._orders[UST, ISSUANCE] = -self.supply_units

    def publish(self, model) -> dict[str, float]:
        return {"ust_absorbed_usd_bn": self.absorbed_usd_bn}

    def orders(self) -> np.ndarray:
        return self._orders

    def settle(self, model, day) -> None:
        model.ledger.bonds(self.name, "ust_units", "usd_bn", -self.supply_units, day.ust_price)
        if self.auction:
            none = (0.0, 0.0, 0.0)
            ex = day.executed
            foreign = (
                ex.get("life_insurers", none)[UST]
                + ex.get("hedge_funds", none)[UST]
                + self.config.foreign_official_share * max(ex.get("bond_investors", none)[UST], 0.0)
            )
            self.last_tail_bp = (day.ust10y_yield - day.ust10y_yield_prev) * 1e4
            self.last_indirect_share = min(max(foreign / self.supply_units, 0.0), 1.0)
            self.tails.append(self.last_tail_bp)
            self.indirect.append(self.last_indirect_share)

    def record(self, model) -> dict[str, float]:
        return {"ust_auction": int(self.auction), "ust_auction_tail_bp": self.last_tail_bp if self.auction else 0.0,
                "ust_indirect_share": self.last_indirect_share}  # fmt: skip
