"""A composed digest: what every renderer (text, Slack, email) turns into a message."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from bot.model.story import StoryFacts

if TYPE_CHECKING:
    from bot.model.deal import LedgerSummary


@dataclass(slots=True, frozen=True)
class SourceRef:
    """One outlet's report of a story."""

    outlet: str
    link: str | None
    title: str
    published: datetime | None


@dataclass(slots=True)
class StoryView:
    """A story with its sources as storage reads it: a digest's candidate, a line of the
    `stories` command."""

    story_id: int
    headline: str
    summary: str
    facts: StoryFacts
    sources: list[SourceRef]
    first_seen: datetime
    last_updated: datetime
    score: float
    version: int
    headline_link: str | None = None  # the link of the report whose headline the story shows


@dataclass(slots=True)
class DigestStory:
    """One story as it appears in a digest."""

    story_id: int
    headline: str
    link: str | None
    summary: str
    facts: StoryFacts
    sources: list[SourceRef]
    first_seen: datetime
    score: float
    updated: bool = False  # was in an earlier digest of this channel and gained sources
    # never sent to this channel, and unchanged since its last digest: left below that digest's
    # cut (or out of it otherwise) and shown now, marked as such
    held_over: bool = False
    version: int = 1  # the story's version when composed, recorded with the digest


@dataclass(slots=True)
class Digest:
    """The stories of one channel for one period, ranked and capped."""

    channel: str
    title: str
    period_start: datetime | None
    period_end: datetime
    stories: list[DigestStory]
    more_count: int = 0  # stories left out by the cap
    total_entries: int = 0
    unhealthy_feeds: list[str] = field(default_factory=list)
    timezone: str = "UTC"  # the channel's IANA time zone: times are shown in it
    # The week's deal ledger the digest opens with (channels with `ledger = "weekly"`).
    ledger: LedgerSummary | None = None

    @property
    def is_empty(self) -> bool:
        return not self.stories

    @property
    def total(self) -> int:
        """Every story the digest selected: those shown and those below the cut."""
        return len(self.stories) + self.more_count

    @property
    def held_over_count(self) -> int:
        return sum(1 for story in self.stories if story.held_over)

    @property
    def updated_count(self) -> int:
        return sum(1 for story in self.stories if story.updated)
