"""The deal record: one deal per deal story, with its figures, roles, dates and sources, and
a period's ledger summary.

Owns the record types (`DealRecord`, `DealFigure`, `Claim`, `DealSource`) and their JSON form,
which storage keeps (bot.storage.deals) and `newsbot deals --format json` prints, and the summary
types a weekly digest opens with (`LedgerSummary`, `KindTotal`, `PartyTotal`). Pure data: how a
record is derived from a story's reports is `bot.ledger.derive`, how a summary is added up
`bot.ledger.summary`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# The kinds of deal, as the ledger files them.
KINDS = ("cloud capacity", "chips", "lease", "power", "acquisition", "financing")
# What a deal is filed under when its reports say too little to tell.
UNKNOWN_KIND = "other"

# A deal's status: only reported as in talks (or planned), confirmed by a party, or ended
# (talks broken off, a bid rejected, a deal called off: listed, never counted in totals).
STATUS_TALKS = "in talks"
STATUS_CONFIRMED = "confirmed"
STATUS_ENDED = "ended"


@dataclass(frozen=True, slots=True)
class Claim:
    """One outlet's statement of a figure: the value in the figure's unit and as written."""

    outlet: str
    value: float
    text: str  # as the report writes it ("$17.4 billion", "300 MW", "€1.2bn a year")

    def to_json(self) -> dict[str, Any]:
        return {"outlet": self.outlet, "value": self.value, "text": self.text}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Claim:
        return cls(str(data["outlet"]), float(data["value"]), str(data["text"]))


@dataclass(frozen=True, slots=True)
class DealFigure:
    """One kind of figure of a deal (value in USD, power in MW, or chips) across its reports.

    `counted` is set only when every report that states the figure agrees with the others
    within the facts' tolerance: only then does it go into totals. `low`/`high` is the range the
    reports give, with the outlets at each end, so a disagreement is shown rather than hidden.
    """

    counted: float | None = None
    low: float | None = None
    high: float | None = None
    low_outlets: tuple[str, ...] = ()
    high_outlets: tuple[str, ...] = ()
    claims: tuple[Claim, ...] = ()

    @property
    def stated(self) -> bool:
        return bool(self.claims)

    @property
    def disputed(self) -> bool:
        """Reports state it and disagree: shown as a range, counted in no total."""
        return self.stated and self.counted is None

    def to_json(self) -> dict[str, Any]:
        return {
            "counted": self.counted,
            "low": self.low,
            "high": self.high,
            "low_outlets": list(self.low_outlets),
            "high_outlets": list(self.high_outlets),
            "claims": [claim.to_json() for claim in self.claims],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> DealFigure:
        if not data:
            return cls()
        return cls(
            counted=data.get("counted"),
            low=data.get("low"),
            high=data.get("high"),
            low_outlets=tuple(data.get("low_outlets") or ()),
            high_outlets=tuple(data.get("high_outlets") or ()),
            claims=tuple(Claim.from_json(c) for c in data.get("claims") or ()),
        )


@dataclass(frozen=True, slots=True)
class DealSource:
    """One report of the deal: its outlet, link, title and publication time."""

    outlet: str
    link: str | None
    title: str
    published: datetime | None

    def to_json(self) -> dict[str, Any]:
        return {
            "outlet": self.outlet,
            "link": self.link,
            "title": self.title,
            "published": self.published.isoformat() if self.published else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DealSource:
        published = data.get("published")
        return cls(
            outlet=str(data["outlet"]),
            link=data.get("link"),
            title=str(data.get("title") or ""),
            published=datetime.fromisoformat(published) if published else None,
        )


@dataclass(frozen=True, slots=True)
class DealRecord:
    """One deal as the ledger lists it (one per deal story)."""

    story_id: int
    headline: str
    kind: str  # one of KINDS, else UNKNOWN_KIND
    parties: tuple[str, ...]
    buyers: tuple[str, ...]  # who pays: the customer, acquirer, investor or lender
    sellers: tuple[str, ...]  # who is paid: the provider, target, or who raises the money
    value_usd: DealFigure = field(default_factory=DealFigure)
    power_mw: DealFigure = field(default_factory=DealFigure)
    chips: DealFigure = field(default_factory=DealFigure)
    # Amounts shown as given and never converted: in another currency or per year.
    value_as_given: tuple[Claim, ...] = ()
    places: tuple[str, ...] = ()
    facilities: tuple[str, ...] = ()
    status: str = STATUS_TALKS
    first_reported: datetime | None = None
    confirmed: datetime | None = None  # the first report that does not read as talks
    sources: tuple[DealSource, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "story_id": self.story_id,
            "headline": self.headline,
            "kind": self.kind,
            "parties": list(self.parties),
            "buyers": list(self.buyers),
            "sellers": list(self.sellers),
            "value_usd": self.value_usd.to_json(),
            "power_mw": self.power_mw.to_json(),
            "chips": self.chips.to_json(),
            "value_as_given": [claim.to_json() for claim in self.value_as_given],
            "places": list(self.places),
            "facilities": list(self.facilities),
            "status": self.status,
            "first_reported": self.first_reported.isoformat() if self.first_reported else None,
            "confirmed": self.confirmed.isoformat() if self.confirmed else None,
            "sources": [source.to_json() for source in self.sources],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DealRecord:
        def moment(key: str) -> datetime | None:
            value = data.get(key)
            return datetime.fromisoformat(value) if value else None

        return cls(
            story_id=int(data["story_id"]),
            headline=str(data.get("headline") or ""),
            kind=str(data.get("kind") or UNKNOWN_KIND),
            parties=tuple(data.get("parties") or ()),
            buyers=tuple(data.get("buyers") or ()),
            sellers=tuple(data.get("sellers") or ()),
            value_usd=DealFigure.from_json(data.get("value_usd")),
            power_mw=DealFigure.from_json(data.get("power_mw")),
            chips=DealFigure.from_json(data.get("chips")),
            value_as_given=tuple(Claim.from_json(c) for c in data.get("value_as_given") or ()),
            places=tuple(data.get("places") or ()),
            facilities=tuple(data.get("facilities") or ()),
            status=str(data.get("status") or STATUS_TALKS),
            first_reported=moment("first_reported"),
            confirmed=moment("confirmed"),
            sources=tuple(DealSource.from_json(s) for s in data.get("sources") or ()),
        )


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
