"""The facts of one story: `story_facts` over its member `Report`s.

Owns the `Report` type, how many reports are read per story, each report's one vote per kind of
figure (read once per segment and kept with its reading), and putting parties, figures, places
and assets together into `StoryFacts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.clustering import features
from bot.clustering.facts.figures import USD_ONLY, segment_figure, segment_quantities, vote
from bot.clustering.facts.mentions import Mentions
from bot.clustering.facts.parties import parties_of
from bot.clustering.facts.places import assets_of, places_of
from bot.clustering.facts.readings import VARIANTS, Reading, read_mentions, read_report
from bot.clustering.facts.segments import Segment
from bot.model.story import StoryFacts
from bot.text.quantities import Quantity

# Reports read per story: agreement is settled well before this, and the clusterer asks for the
# facts after every join, so the cost per call must not grow with the story (about 2 ms a report).
MAX_REPORTS = 12


@dataclass(frozen=True, slots=True)
class Report:
    """One member report of a story, as the clusterer keeps it."""

    title: str
    summary: str = ""
    text: str = ""
    published: datetime | None = None
    outlet: str | None = None


def _figure_of(
    reading: Reading,
    kind: str,
    *,
    needs_deal: bool,
    funding_deal: bool = False,
    foreign_assets: frozenset[str] = frozenset(),
) -> float | None:
    """The one figure of `kind` a report states for the deal: its title's, else its lead's
    (the first segment with one), each segment's answer kept with its reading."""
    key = (kind, funding_deal, foreign_assets)
    for part in reading.segments:
        if key in part.figures:
            value = part.figures[key]
        else:
            value = segment_figure(
                part.segment,
                kind,
                needs_deal=needs_deal,
                funding_deal=funding_deal,
                foreign_assets=foreign_assets,
            )
            if len(part.figures) >= VARIANTS:
                part.figures.clear()
            part.figures[key] = value
        if value is not None:
            return value
    return None


def _foreign_assets(
    found: Mentions, segments: list[tuple[Segment, list[str]]], assets: list[str]
) -> frozenset[str]:
    """Other instances of the story's assets (its sister sites) and other named assets."""
    bases = {features.fold(a.rpartition(" ")[0]) for a in assets if a[-1:].isdigit()}
    mentioned = {a for _, named in segments for a in named}
    return frozenset(
        a
        for a in mentioned
        if a not in assets
        and (a in found.asset_cued or features.fold(a.rpartition(" ")[0]) in bases)
    )


def story_facts(reports: Sequence[Report]) -> StoryFacts:
    """The deal facts the member reports of one story agree on (the first `MAX_REPORTS`).

    What each report gives is read once and kept (`read_report`), so reading a story again
    after it gained members costs little more than combining its reports' readings."""
    readings = [read_report(r.title, r.summary, r.text) for r in reports[:MAX_REPORTS]]
    found, segments = read_mentions(readings)
    places = places_of(found)
    assets = assets_of(found, segments, places)
    foreign = _foreign_assets(found, segments, assets)
    funding_deal = any(reading.funding_title for reading in readings)
    money: list[float] = []
    power: list[float] = []
    chips: list[float] = []
    for reading in readings:
        if not reading.segments:
            continue
        value = _figure_of(reading, "money", needs_deal=True, funding_deal=funding_deal)
        if value is not None:
            money.append(value)
        value = _figure_of(reading, "power", needs_deal=False, foreign_assets=foreign)
        if value is not None:
            power.append(value)
        value = _figure_of(reading, "chips", needs_deal=False, foreign_assets=foreign)
        if value is not None:
            chips.append(value)
    chip_count = vote(chips)
    return StoryFacts(
        parties=parties_of(found, assets, places),
        power_mw=vote(power),
        amount_usd=vote(money),
        chips=int(chip_count) if chip_count is not None else None,
        places=places,
        assets=assets,
    )


@dataclass(frozen=True, slots=True)
class StatedFigure:
    """A figure one report states for the deal, with the sentence (or title) it stands in."""

    quantity: Quantity
    sentence: str


@dataclass(frozen=True, slots=True)
class ReportFigures:
    """The figures one member report states for its story's deal, each kind in the order the
    report states them (its title's first, then its lead's): money in dollars, and money it
    gives only in other currencies."""

    money: tuple[StatedFigure, ...] = ()
    power: tuple[StatedFigure, ...] = ()
    chips: tuple[StatedFigure, ...] = ()
    money_other_currency: tuple[StatedFigure, ...] = ()


def report_figures(reports: Sequence[Report]) -> list[ReportFigures]:
    """What each of the first `MAX_REPORTS` member reports states for the deal, for the deal
    ledger, with the quantity as written: it shows who said what where reports disagree.

    Read as `story_facts` reads them (same segments, exclusions and sister sites), except that
    a word after a figure belongs to it only up to the next figure (`segment_quantities`'s
    `nearest`), and every acceptable figure is kept, not only the first, which the ledger may
    find to be a part of the deal, or another's."""
    readings = [read_report(r.title, r.summary, r.text) for r in reports[:MAX_REPORTS]]
    found, segments = read_mentions(readings)
    places = places_of(found)
    assets = assets_of(found, segments, places)
    foreign = _foreign_assets(found, segments, assets)
    funding_deal = any(reading.funding_title for reading in readings)

    def stated(
        reading: Reading,
        kind: str,
        currencies: frozenset[str] | None = None,
        *,
        other: bool = False,
    ) -> tuple[StatedFigure, ...]:
        return tuple(
            StatedFigure(quantity, part.segment.text)
            for part in reading.segments
            for quantity in segment_quantities(
                part.segment,
                kind,
                needs_deal=kind == "money",
                funding_deal=funding_deal,
                foreign_assets=frozenset() if kind == "money" else foreign,
                currencies=currencies,
                nearest=True,
            )
            if not (other and quantity.currency == "USD")
        )

    return [
        ReportFigures(
            money=stated(reading, "money", USD_ONLY),
            power=stated(reading, "power"),
            chips=stated(reading, "chips"),
            money_other_currency=stated(reading, "money", other=True),
        )
        for reading in readings
    ]
