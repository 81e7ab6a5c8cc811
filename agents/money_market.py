"""The money markets: where dollars and yen are lent and borrowed at the policy rates.

The US money market (repo and the Fed's reserves, consolidated) pays the US short rate on the
cash balances the leveraged sectors keep with it and lends them dollars on repo (the funds' duration
leg); what a failed fund cannot repay is its prime brokers', the dealers'. The yen call market does
the same for yen at the BoJ rate. Neither decides anything: they supply and absorb cash at the policy
rate, and their rows in the ledger record the balance sheet that this implies, so that money is
conserved: every interest payment and repo loan is booked on both sides.

Their equity is the net interest they paid (a negative equity is the cost of the policy rate on
the balances held with them, which in reality the central bank's reserves and Treasury bills
finance). Which sectors hold cash with them is each sector's own choice (the funds and dealers do;
other sectors hold settlement balances that earn nothing).
"""

from __future__ import annotations

from model.sector import Sector

__all__ = ["MoneyMarket"]


class MoneyMarket(Sector):
    """The US money market (row ``us_money_market``) and the yen call market (``jp_money_market``)."""

    name = "money_market"
    ledger_rows = ("us_money_market", "jp_money_market")
    columns = ("repo_usd_bn",)

    def record(self, model) -> dict[str, float]:
        return {"repo_usd_bn": model.ledger.get("us_money_market", "repo_usd_bn")}
