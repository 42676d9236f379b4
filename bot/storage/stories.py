"""Story rows: creating, joining and merging stories from clusterer decisions, and reading them
back."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import delete, func, insert, inspect, select, update
from sqlalchemy.orm import Session, selectinload, undefer
from sqlalchemy.orm.attributes import set_committed_value

from bot.model import SourceRef, StoryFacts, StoryView
from bot.storage.models import DigestStoryRow, EntryRow, StoryEventRow, StoryMemberRow, StoryRow


def sources_of(story: StoryRow) -> list[SourceRef]:
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


def rule_reasons(story: StoryRow) -> list[RuleReason]:
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


def story_view(story: StoryRow) -> StoryView:
    """The story with its sources (one per outlet) and the link of its headline's report."""
    return StoryView(
        story_id=story.id,
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
) -> list[StoryRow]:
    """Stories with their members' entries, the most recently updated first; `limit` None
    reads them all."""
    query = (
        select(StoryRow)
        .options(selectinload(StoryRow.members).selectinload(StoryMemberRow.entry))
        .order_by(StoryRow.last_updated_at.desc(), StoryRow.id.desc())
        .limit(limit)
    )
    if since is not None:
        query = query.where(StoryRow.last_updated_at >= since)
    return list(session.scalars(query))


def story_by_key(session: Session, key: str) -> StoryRow | None:
    return session.scalars(select(StoryRow).where(StoryRow.cluster_key == key)).one_or_none()


def active_stories(session: Session, since: datetime) -> list[StoryRow]:
    """Stories updated at or after `since`, with their clusterer states (a restore)."""
    return list(
        session.scalars(
            select(StoryRow)
            .options(undefer(StoryRow.cluster_state))
            .where(StoryRow.last_updated_at >= since)
            .order_by(StoryRow.first_seen_at)
        )
    )


def newest_placed_report(session: Session) -> datetime | None:
    """The publication time of the newest entry placed in a story, None before the first."""
    newest = session.scalar(
        select(func.max(EntryRow.published_at)).join(
            StoryMemberRow, StoryMemberRow.entry_id == EntryRow.id
        )
    )
    if newest is not None and newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
    return newest


def record_event(
    session: Session, story: StoryRow, kind: str, entry: EntryRow | None, now: datetime
) -> None:
    session.add(
        StoryEventRow(
            story_id=story.id, kind=kind, entry_id=entry.id if entry else None, created_at=now
        )
    )


def outlet_count(session: Session, story_id: int) -> int:
    return int(
        session.scalar(
            select(func.count(func.distinct(EntryRow.source_name)))
            .join(StoryMemberRow, StoryMemberRow.entry_id == EntryRow.id)
            .where(StoryMemberRow.story_id == story_id)
        )
        or 0
    )


def story_outlets(session: Session, story_id: int) -> set[str]:
    """The distinct outlets (source names) of a story's members."""
    return {
        name
        for name in session.scalars(
            select(EntryRow.source_name)
            .join(StoryMemberRow, StoryMemberRow.entry_id == EntryRow.id)
            .where(StoryMemberRow.story_id == story_id)
            .distinct()
        )
        if name is not None  # as COUNT(DISTINCT) counts them
    }


def stories_changed_since(session: Session, since: datetime) -> list[StoryRow]:
    """Stories created or updated at or after `since`, by id, with their clusterer states."""
    return list(
        session.scalars(
            select(StoryRow)
            .options(undefer(StoryRow.cluster_state))
            .where(StoryRow.last_updated_at >= since)
            .order_by(StoryRow.id)
        )
    )


def stories_by_keys(session: Session, keys: list[str]) -> Iterator[StoryRow]:
    """The stories of these cluster keys (read 500 keys per query, lazily: changes made to the
    stories of one query are flushed by the next)."""
    for start in range(0, len(keys), 500):
        yield from session.scalars(
            select(StoryRow).where(StoryRow.cluster_key.in_(keys[start : start + 500]))
        )


def urls_with_story(session: Session, urls: set[str]) -> set[str]:
    """Which of `urls` some story member already has (one query per 500 URLs)."""
    found: set[str] = set()
    ordered = sorted(urls)
    for start in range(0, len(ordered), 500):
        found.update(
            url
            for url in session.scalars(
                select(EntryRow.url)
                .join(StoryMemberRow, StoryMemberRow.entry_id == EntryRow.id)
                .where(EntryRow.url.in_(ordered[start : start + 500]))
                .distinct()
            )
            if url
        )
    return found


def story_for_url(session: Session, url: str, *, other_than: int) -> StoryRow | None:
    """A story that already has a member with this URL, other than entry `other_than`."""
    return session.scalars(
        select(StoryRow)
        .join(StoryMemberRow, StoryMemberRow.story_id == StoryRow.id)
        .join(EntryRow, EntryRow.id == StoryMemberRow.entry_id)
        .where(EntryRow.url == url, EntryRow.id != other_than)
        .limit(1)
    ).one_or_none()


def create_story(session: Session, cluster_key: str, headline: str, now: datetime) -> StoryRow:
    """Write a new story row at once, for its id, and by itself: without autoflush, which would
    also write every member, event and story change pending in the session (they wait for the
    next query that needs them, or the end of the transaction, and go in bulk)."""
    with session.no_autoflush:
        story = session.scalars(
            insert(StoryRow).returning(StoryRow),
            [
                {
                    "cluster_key": cluster_key,
                    "headline": headline,
                    "first_seen_at": now,
                    "last_updated_at": now,
                    "version": 1,
                    "source_count": 0,
                    "score": 0.0,
                }
            ],
        ).one()
    # A story row just written has no members yet: known without reading them back (as a
    # loaded, empty collection, which is what reading it gave).
    set_committed_value(story, "members", [])
    return story


def add_member(
    session: Session, story: StoryRow, entry: EntryRow, now: datetime, similarity: float
) -> None:
    """Place `entry` in `story` (written with the session's next flush)."""
    session.add(
        StoryMemberRow(story_id=story.id, entry_id=entry.id, joined_at=now, similarity=similarity)
    )


def merge_story_rows(session: Session, gone: StoryRow, keep: StoryRow) -> None:
    """Merge story `gone` into `keep`: its members, events and digest records move to `keep`,
    which keeps the earlier first-seen time and the higher score, and its row is deleted.

    A digest record moves only where the digest does not already list the survivor, so "was
    this story sent" keeps its answer for the merged story. The session is flushed; the
    survivor's members are read again when next used.
    """
    # The rows move in the database only: no object of the session is updated to match (which
    # scans every loaded member and event in Python), as nothing reads a member's or event's
    # story id after it was written, and the survivor's members are read again (expired below).
    unsynced = {"synchronize_session": False}
    session.execute(
        update(StoryMemberRow).where(StoryMemberRow.story_id == gone.id).values(story_id=keep.id),
        execution_options=unsynced,
    )
    session.execute(
        update(StoryEventRow).where(StoryEventRow.story_id == gone.id).values(story_id=keep.id),
        execution_options=unsynced,
    )
    listed = select(DigestStoryRow.digest_id).where(DigestStoryRow.story_id == keep.id)
    session.execute(
        update(DigestStoryRow)
        .where(DigestStoryRow.story_id == gone.id, DigestStoryRow.digest_id.not_in(listed))
        .values(story_id=keep.id),
        execution_options=unsynced,
    )
    session.execute(
        delete(DigestStoryRow).where(DigestStoryRow.story_id == gone.id),
        execution_options=unsynced,
    )
    keep.first_seen_at = min(keep.first_seen_at, gone.first_seen_at)
    keep.score = max(keep.score, gone.score)
    session.expire(gone, ["members"])
    session.delete(gone)
    session.flush()
    # Only the members changed in the database behind the session's back (the UPDATE above);
    # every column of `keep` was just written, so it need not be read again.
    session.expire(keep, ["members"])


def is_deleted(story: StoryRow) -> bool:
    """Whether the row was deleted in this session (merged into another story)."""
    state = inspect(story)
    return bool(state.deleted or state.was_deleted)


def story_key_by_identity(session: Session) -> dict[str, str]:
    """Each placed entry's story, as entry identity -> story cluster key."""
    rows = session.execute(
        select(EntryRow.identity, StoryRow.cluster_key)
        .join(StoryMemberRow, StoryMemberRow.entry_id == EntryRow.id)
        .join(StoryRow, StoryRow.id == StoryMemberRow.story_id)
    ).all()
    return {str(identity): str(key) for identity, key in rows}
