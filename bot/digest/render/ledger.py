"""The weekly ledger section of a digest, worded once for text, HTML and Slack.

`ledger_view` turns a `LedgerSummary` into lines: the totals (deals, GW, dollars, chips), one
row per kind, the top buyers and sellers, and the deals whose figures are disputed (the range
and the outlets at each end) or given only in another currency or per year. Party names and
outlets come from feeds: they are cleaned of control characters here and escaped by each
renderer (Jinja2 autoescape, `mrkdwn.escape`).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.digest.render.common import format_amount, format_power, local_time
from bot.digest.render.mrkdwn import clean_text
from bot.ledger import DealFigure, DealRecord
from bot.model.deal import LedgerSummary, PartyTotal

# Disputed and as-given deals listed by name; more are counted.
LISTED_NOTES = 5


@dataclass(frozen=True, slots=True)
class KindRow:
    kind: str
    deals: int
    value: str
    power: str
    chips: str


@dataclass(frozen=True, slots=True)
class LedgerView:
    heading: str
    totals: str
    kinds: list[KindRow]
    buyers: str
    sellers: str
    notes: list[str]  # disputed figures and amounts as given
    more_notes: int


def _clean(text: str) -> str:
    return " ".join(clean_text(text).split())


def _parties(totals: list[PartyTotal]) -> str:
    return ", ".join(
        f"{_clean(t.name)} ({t.deals}{', ' + format_amount(t.value_usd) if t.value_usd else ''})"
        for t in totals
    )


def _range(figure: DealFigure, shown: str, low: str, high: str) -> str:
    return (
        f"{shown} {low} ({_clean(', '.join(figure.low_outlets))}) to "
        f"{high} ({_clean(', '.join(figure.high_outlets))})"
    )


def _notes(record: DealRecord) -> list[str]:
    name = _clean(" / ".join(record.parties[:2]) or record.headline)
    notes = []
    value, power, chips = record.value_usd, record.power_mw, record.chips
    if value.disputed and value.low is not None and value.high is not None:
        notes.append(_range(value, "value", format_amount(value.low), format_amount(value.high)))
    if power.disputed and power.low is not None and power.high is not None:
        notes.append(_range(power, "power", format_power(power.low), format_power(power.high)))
    if chips.disputed and chips.low is not None and chips.high is not None:
        notes.append(_range(chips, "chips", f"{int(chips.low):,}", f"{int(chips.high):,}"))
    if record.value_as_given:
        given = "; ".join(f"{c.text} ({c.outlet})" for c in record.value_as_given)
        notes.append(f"as given, not converted: {_clean(given)}")
    return [f"{name}: {note}" for note in notes]


def ledger_view(summary: LedgerSummary, timezone: str = "UTC") -> LedgerView:
    start = local_time(summary.period_start, timezone) if summary.period_start else None
    end = local_time(summary.period_end, timezone)
    # Dates written as the digest's period is ("5 Dec 2026"), not zero-padded.
    span = (
        f"{start.day} {start:%b} – {end.day} {end:%b %Y}"
        if start
        else f"until {end.day} {end:%b %Y}"
    )
    totals = [f"{summary.deals} deal{'s' if summary.deals != 1 else ''}"]
    if summary.power_mw:
        totals.append(format_power(summary.power_mw))
    if summary.value_usd:
        totals.append(format_amount(summary.value_usd))
    if summary.chips:
        totals.append(f"{summary.chips:,} chips")
    notes: list[str] = []
    for record in [*summary.disputed, *[r for r in summary.as_given if r not in summary.disputed]]:
        notes += _notes(record)
    return LedgerView(
        heading=f"Deal ledger, {span}",
        totals=" · ".join(totals) + " (figures counted only where reports agree)",
        kinds=[
            KindRow(
                kind=total.kind,
                deals=total.deals,
                value=format_amount(total.value_usd),
                power=format_power(total.power_mw),
                chips=f"{total.chips:,}" if total.chips else "",
            )
            for total in summary.by_kind
            if total.deals
        ],
        buyers=_parties(summary.top_buyers),
        sellers=_parties(summary.top_sellers),
        notes=notes[:LISTED_NOTES],
        more_notes=max(0, len(notes) - LISTED_NOTES),
    )
