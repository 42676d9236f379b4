"""A period's ledger: totals by kind, the top buyers and sellers, and what was left out.

Owns `LedgerSummary` and `summarise`. Only counted figures (the reports agree within tolerance
and it is the deal's own figure: `DealFigure.counted`) are added up; deals whose figure is
disputed are counted as deals and listed as disputed, and amounts shown only as given (another
currency, per year) are never added to dollars. Deals that ended (talks broken off, a bid
rejected) are left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from bot.ledger.records import KINDS, STATUS_ENDED, UNKNOWN_KIND, DealRecord

TOP_PARTIES = 5


@dataclass(frozen=True, slots=True)
class KindTotal:
    """The deals of one kind in a period and what their counted figures add up to."""

    kind: str
    deals: int = 0
    value_usd: float = 0.0
    power_mw: float = 0.0
    chips: int = 0


@dataclass(frozen=True, slots=True)
class PartyTotal:
    """A buyer or seller: in how many deals of the period, and their counted dollar value."""

    name: str
    deals: int
    value_usd: float


@dataclass(frozen=True, slots=True)
class LedgerSummary:
    """The ledger of one period, as a weekly digest opens with it."""

    period_start: datetime | None
    period_end: datetime
    by_kind: list[KindTotal] = field(default_factory=list)
    top_buyers: list[PartyTotal] = field(default_factory=list)
    top_sellers: list[PartyTotal] = field(default_factory=list)
    disputed: list[DealRecord] = field(default_factory=list)  # a figure reports disagree on
    as_given: list[DealRecord] = field(default_factory=list)  # amounts not in dollars or yearly

    @property
    def deals(self) -> int:
        return sum(total.deals for total in self.by_kind)

    @property
    def value_usd(self) -> float:
        return sum(total.value_usd for total in self.by_kind)

    @property
    def power_mw(self) -> float:
        return sum(total.power_mw for total in self.by_kind)

    @property
    def chips(self) -> int:
        return sum(total.chips for total in self.by_kind)


def _top(counts: Counter[str], values: dict[str, float]) -> list[PartyTotal]:
    ranked = sorted(counts, key=lambda name: (-counts[name], -values[name], name.casefold()))
    return [PartyTotal(name, counts[name], values[name]) for name in ranked[:TOP_PARTIES]]


def summarise(
    records: Iterable[DealRecord], period_start: datetime | None, period_end: datetime
) -> LedgerSummary:
    """Totals of the deals in `records` by kind (every kind listed, in KINDS order, then
    deals of no known kind), with the top buyers and sellers by number of deals."""
    totals: dict[str, dict[str, float]] = {
        kind: {"deals": 0, "usd": 0.0, "mw": 0.0, "chips": 0} for kind in (*KINDS, UNKNOWN_KIND)
    }
    buyers: Counter[str] = Counter()
    sellers: Counter[str] = Counter()
    buyer_usd: dict[str, float] = {}
    seller_usd: dict[str, float] = {}
    disputed: list[DealRecord] = []
    as_given: list[DealRecord] = []
    for record in records:
        if record.status == STATUS_ENDED:
            continue  # talks broken off, a bid rejected: no deal to add up
        total = totals.setdefault(record.kind, {"deals": 0, "usd": 0.0, "mw": 0.0, "chips": 0})
        total["deals"] += 1
        usd = record.value_usd.counted or 0.0
        total["usd"] += usd
        total["mw"] += record.power_mw.counted or 0.0
        total["chips"] += int(record.chips.counted or 0)
        for name in record.buyers:
            buyers[name] += 1
            buyer_usd[name] = buyer_usd.get(name, 0.0) + usd
        for name in record.sellers:
            sellers[name] += 1
            seller_usd[name] = seller_usd.get(name, 0.0) + usd
        if record.value_usd.disputed or record.power_mw.disputed or record.chips.disputed:
            disputed.append(record)
        if record.value_as_given:
            as_given.append(record)
    by_kind = [
        KindTotal(kind, int(t["deals"]), t["usd"], t["mw"], int(t["chips"]))
        for kind, t in totals.items()
        if kind != UNKNOWN_KIND or t["deals"]
    ]
    return LedgerSummary(
        period_start=period_start,
        period_end=period_end,
        by_kind=by_kind,
        top_buyers=_top(buyers, buyer_usd),
        top_sellers=_top(sellers, seller_usd),
        disputed=disputed,
        as_given=as_given,
    )
