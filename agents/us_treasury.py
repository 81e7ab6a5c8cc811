"""The US Treasury side: the short-rate path (scenario events) and regular UST auctions.

Every ``auction_interval`` days an auction adds ``size`` (10y-equivalent) to the supply cleared
that day. A share of it is anticipated — investors' demand grows by it the same day — and the
rest is digested by investors over the days to the next auction; what foreign buyers do not
take on the day must be absorbed by a higher yield. Reported, as seed 000 watches them:

* the tail: auction-day clearing yield minus the previous close (bp);
* the indirect (foreign) share: (insurers' and hedge funds' net buying + the foreign-official
  share of investors' absorption) / size, in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

from model.validation import Validated, param

__all__ = ["UsTreasuryConfig", "UsTreasuryState"]


@dataclass(frozen=True)
class UsTreasuryConfig(Validated):
    auctions: bool = param(True, doc="hold regular auctions")
    auction_interval_days: int = param(
        5, unit="trading days", lo=1, hi=1000, doc="coupon auctions, weekly in aggregate"
    )
    auction_size_usd_bn: float = param(
        20.0,
        unit="USD bn (10y-equivalent)",
        lo=0.0,
        hi=10_000.0,
        source="~$1 tn a year of net 10y-equivalent coupon supply 2023-24 (US Treasury refunding statements)",
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


class UsTreasuryState:
    def __init__(self) -> None:
        self.digest_left = 0.0  # USD bn of the last auction still to be absorbed by investors
        self.last_tail_bp = 0.0
        self.last_indirect_share = 0.0
        self.tails: list[float] = []
        self.indirect: list[float] = []
