"""Story-level data: the facts extracted from reports and where an entry was placed."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class StoryFacts:
    """Deal anchors of a story, as shown in digests."""

    parties: list[str] = field(default_factory=list)
    power_mw: float | None = None
    amount_usd: float | None = None
    chips: int | None = None
    places: list[str] = field(default_factory=list)
    assets: list[str] = field(default_factory=list)  # named facilities with instance, "Colossus 1"

    def to_json(self) -> dict[str, object]:
        return {
            "parties": self.parties,
            "power_mw": self.power_mw,
            "amount_usd": self.amount_usd,
            "chips": self.chips,
            "places": self.places,
            "assets": self.assets,
        }

    @classmethod
    def from_json(cls, data: dict[str, object] | None) -> StoryFacts:
        if not data:
            return cls()
        return cls(
            parties=list(data.get("parties") or []),  # type: ignore[call-overload]
            power_mw=data.get("power_mw"),  # type: ignore[arg-type]
            amount_usd=data.get("amount_usd"),  # type: ignore[arg-type]
            chips=data.get("chips"),  # type: ignore[arg-type]
            places=list(data.get("places") or []),  # type: ignore[call-overload]
            assets=list(data.get("assets") or []),  # type: ignore[call-overload]
        )


@dataclass(slots=True)
class Assignment:
    """Where the clusterer put an entry."""

    story_key: str  # the clusterer's id for the story
    is_new_story: bool
    similarity: float = 1.0
    # Stories the clusterer merged into `story_key` while placing this entry (fragments of one
    # event); their members now belong to `story_key`.
    merged: list[str] = field(default_factory=list)
