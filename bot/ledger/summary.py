"""A period's ledger: totals by kind, the top buyers and sellers, and what was left out.

Owns `summarise` (the types are bot.model.deal's). Only counted figures (the reports agree within
tolerance and it is the deal's own figure: `DealFigure.counted`) are added up; deals whose figure is
disputed are counted as deals and listed as disputed, and amounts shown only as given (another
currency, per year) are never added to dollars. Deals that ended (talks broken off, a bid rejected)
are left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime

from bot.model.deal import (
    KINDS,
    STATUS_ENDED,
    UNKNOWN_KIND,
    DealRecord,
    KindTotal,
    LedgerSummary,
    PartyTotal,
)

TOP_PARTIES = 5


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
