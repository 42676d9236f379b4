"""Story rows: creating and updating stories from clusterer decisions, and reading them back."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.model import SourceRef, StoryFacts
from bot.storage.models import Entry, Story, StoryEvent, StoryMember


@dataclass(frozen=True, slots=True)
class StoryRecord:
    """A story with its sources, read for digests and the `stories` command."""

    id: int
    headline: str
    summary: str
    facts: StoryFacts
    sources: list[SourceRef]
    first_seen: datetime
    last_updated: datetime
    score: float
    version: int
    headline_link: str | None = None  # the link of the report whose headline the story shows


def sources_of(story: Story) -> list[SourceRef]:
    """One source per outlet (its earliest report), earliest first."""
    by_outlet: dict[str, SourceRef] = {}
    for member in sorted(story.members, key=lambda m: (m.entry.published_at, m.entry.id)):
        entry = member.entry
        outlet = entry.source_name or "unknown"
        if outlet not in by_outlet:
            by_outlet[outlet] = SourceRef(
                outlet=outlet, link=entry.url, title=entry.title, published=entry.published_at
            )
    return list(by_outlet.values())


@dataclass(frozen=True, slots=True)
class RuleReason:
    """One relevance rule that matched a story's reports: in how many, and on which terms
    (most often matched first)."""

    rule: str
    reports: int
    terms: list[str]


def rule_reasons(story: Story) -> list[RuleReason]:
    """Why a story's reports were kept: the rules that matched them (as stored with each entry
    when it was matched), the rule matching most reports first."""
    reports: Counter[str] = Counter()
    terms: dict[str, Counter[str]] = {}
    for member in story.members:
        rules_seen: set[str] = set()
        for hit in member.entry.match_hits or []:
            rule = str(hit.get("rule", ""))
            if not rule:
                continue
            rules_seen.add(rule)
            terms.setdefault(rule, Counter()).update(str(t) for t in hit.get("terms", []))
        reports.update(rules_seen)
    return [
        RuleReason(rule, count, [term for term, _ in terms[rule].most_common()])
        for rule, count in sorted(reports.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def to_record(story: Story) -> StoryRecord:
    return StoryRecord(
        id=story.id,
        headline=story.headline,
        summary=story.summary,
        facts=StoryFacts.from_json(story.facts),
        sources=sources_of(story),
        first_seen=story.first_seen_at,
        last_updated=story.last_updated_at,
        score=story.score,
        version=story.version,
        headline_link=next(
            (m.entry.url for m in story.members if m.entry_id == story.headline_entry_id), None
        ),
    )


def stories_updated_since(
    session: Session, since: datetime | None, limit: int | None
) -> list[Story]:
    """Stories with their members' entries, the most recently updated first; `limit` None
    reads them all."""
    query = (
        select(Story)
        .options(selectinload(Story.members).selectinload(StoryMember.entry))
        .order_by(Story.last_updated_at.desc(), Story.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(Story.last_updated_at >= since)
    return list(session.scalars(query))


def story_by_key(session: Session, key: str) -> Story | None:
    return session.scalars(select(Story).where(Story.cluster_key == key)).one_or_none()


def active_stories(session: Session, since: datetime) -> list[Story]:
    return list(
        session.scalars(
            select(Story).where(Story.last_updated_at >= since).order_by(Story.first_seen_at)
        )
    )


def newest_placed_report(session: Session) -> datetime | None:
    """The publication time of the newest entry placed in a story, None before the first."""
    newest = session.scalar(
        select(func.max(Entry.published_at)).join(StoryMember, StoryMember.entry_id == Entry.id)
    )
    if newest is not None and newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
    return newest


def record_event(
    session: Session, story: Story, kind: str, entry: Entry | None, now: datetime
) -> None:
    session.add(
        StoryEvent(
            story_id=story.id, kind=kind, entry_id=entry.id if entry else None, created_at=now
        )
    )


def outlet_count(session: Session, story_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(func.distinct(Entry.source_name)))
            .join(StoryMember, StoryMember.entry_id == Entry.id)
            .where(StoryMember.story_id == story_id)
        )
        or 0
    )
