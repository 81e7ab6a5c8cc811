"""The registered sectors, in the order of a day.

The order matters twice: it is the order in which sectors decide and settle, and the order in
which the price-elastic sectors' flows are summed in the clearing (so that results are
reproducible bit for bit). The order book (price-inelastic orders) enters the sum at its place.
Adding a sector is one module defining a :class:`~model.sector.Sector` subclass plus one call::

    from model.registry import register_sector
    register_sector(MySector)          # appended after the built-in sectors

or, for one model only, ``CarryUnwindModel(sectors=(*default_sectors(), MySector))``.
"""

from __future__ import annotations

import numba

from agents.boj import Boj
from agents.bond_investors import BondInvestors
from agents.cta import TrendFollowers
from agents.curve_arbitrage import CurveArbitrageurs
from agents.dealers import Dealers
from agents.fx_fundamentals import RealMoney
from agents.hedge_funds import HedgeFunds
from agents.life_insurers import LifeInsurers
from agents.long_horizon import LongHorizon
from agents.mof import Mof
from agents.money_market import MoneyMarket
from agents.nisa import NisaHouseholds
from agents.retail_fx import RetailFx
from agents.us_treasury import UsTreasury
from model.clearing import OrderBook
from model.risk import RiskIndex
from model.sector import Sector

__all__ = ["DEFAULT_SECTORS", "default_sectors", "register_sector", "unregister_sector", "registered_sectors"]

# Decide/settle order: the BoJ announces its redemptions before the MoF plans issuance; the
# money markets (no decisions) come first so that their rows lead the ledger. The order also fixes
# the order of every sum over sectors (the composed clearing's, the ledger's), so changing it
# changes results in their last bits.
DEFAULT_SECTORS: tuple[type[Sector], ...] = (
    MoneyMarket,
    RiskIndex,
    Dealers,
    RealMoney,
    LongHorizon,
    BondInvestors,
    CurveArbitrageurs,
    LifeInsurers,
    NisaHouseholds,
    Boj,
    Mof,
    OrderBook,
    HedgeFunds,
    TrendFollowers,
    RetailFx,
    UsTreasury,
)

_REGISTERED: list[type[Sector]] = []


def default_sectors() -> tuple[type[Sector], ...]:
    """The built-in sectors followed by the registered ones."""
    return (*DEFAULT_SECTORS, *_REGISTERED)


def registered_sectors() -> tuple[type[Sector], ...]:
    return tuple(_REGISTERED)


def check_sectors(sectors: tuple[type[Sector], ...]) -> None:
    """Raise ``ValueError`` naming the problem if ``sectors`` cannot form a model."""
    names = set()
    for cls in sectors:
        if not (isinstance(cls, type) and issubclass(cls, Sector)):
            raise ValueError(f"sector {cls!r} is not allowed; expected a subclass of model.sector.Sector")
        if not cls.name:
            raise ValueError(f"sector {cls.__qualname__} has no name; set the class attribute `name`")
        if cls.name in names:
            raise ValueError(f"sector name {cls.name!r} appears twice; expected unique names")
        # with numba's JIT disabled (the benchmark's plain-Python engine) @njit returns the function itself
        if cls.flows is not None and not (hasattr(cls.flows, "py_func") or numba.config.DISABLE_JIT):
            raise ValueError(f"sector {cls.name!r}: flows must be a numba @njit(cache=True) function")
        names.add(cls.name)
    for cls in sectors:
        missing = [r for r in cls.requires if r not in names]
        if missing:
            raise ValueError(f"sector {cls.name!r} requires the sectors {missing}; add them or remove {cls.name!r}")


def register_sector(cls: type[Sector]) -> type[Sector]:
    """Add ``cls`` to every model built afterwards (after the built-in sectors). Usable as a decorator."""
    check_sectors((*default_sectors(), cls))
    _REGISTERED.append(cls)
    return cls


def unregister_sector(name: str) -> None:
    """Remove a registered (not built-in) sector by name; unknown names are an error."""
    for i, cls in enumerate(_REGISTERED):
        if cls.name == name:
            del _REGISTERED[i]
            return
    raise ValueError(f"sector {name!r} is not registered; registered: {[c.name for c in _REGISTERED]}")
