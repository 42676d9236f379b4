"""Deleting what fell out of the retention window, in chunks of CHUNK rows per transaction.

The policy (what is kept, and why) is bot.daemon.housekeeping's; these are its statements.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Select, delete, exists, insert, literal, select
from sqlalchemy.orm import Session

from bot.storage.database import Database
from bot.storage.models import (
    DigestRow,
    EntryRow,
    ExpiredEntryRow,
    FeedRow,
    StoryMemberRow,
    StoryRow,
)

CHUNK = 2000  # rows deleted per statement, so no transaction grows without bound
# Digest statuses that are final: such a digest is never sent (again).
FINISHED_DIGESTS = ("sent", "failed", "abandoned", "empty")


def _delete_chunks(
    db: Database,
    ids_query: Select[int],
    model: type[EntryRow | StoryRow | DigestRow],
    before_delete: Callable[[Session, list[int]], None] | None = None,
) -> int:
    total = 0
    while True:
        with db.session() as session:
            ids = list(session.scalars(ids_query.limit(CHUNK)))
            if not ids:
                return total
            if before_delete is not None:
                before_delete(session, ids)
            session.execute(
                delete(model).where(model.id.in_(ids)),
                execution_options={"synchronize_session": False},
            )
            total += len(ids)
        if len(ids) < CHUNK:
            return total


def _remember_expired(session: Session, entry_ids: list[int], *, now: datetime) -> None:
    """Remember the identities of entries about to be deleted: their feed may still list them
    (an undated item would otherwise be stored again, as news, with a new first-seen time)."""
    session.execute(
        insert(ExpiredEntryRow).from_select(
            ["feed_id", "identity", "last_listed_at"],
            select(
                EntryRow.feed_id,
                EntryRow.identity,
                literal(now, ExpiredEntryRow.__table__.c.last_listed_at.type),
            ).where(
                EntryRow.id.in_(entry_ids),
                ~exists(
                    select(ExpiredEntryRow.feed_id).where(
                        ExpiredEntryRow.feed_id == EntryRow.feed_id,
                        ExpiredEntryRow.identity == EntryRow.identity,
                    )
                ),
            ),
        )
    )


def delete_old_entries(db: Database, cutoff: datetime, *, now: datetime) -> int:
    """Delete processed entries first seen and published before `cutoff` that belong to no
    story updated since, remembering their identities as expired at `now`; returns how many."""
    recent_member = (
        select(StoryMemberRow.id)
        .join(StoryRow, StoryRow.id == StoryMemberRow.story_id)
        .where(StoryMemberRow.entry_id == EntryRow.id, StoryRow.last_updated_at >= cutoff)
    )
    old_entries = (
        select(EntryRow.id)
        .where(EntryRow.first_seen_at < cutoff, EntryRow.published_at < cutoff)
        .where(EntryRow.processed_at.is_not(None))
        .where(~exists(recent_member))
        .order_by(EntryRow.id)
    )
    return _delete_chunks(db, old_entries, EntryRow, functools.partial(_remember_expired, now=now))


def forget_expired_entries(db: Database, cutoff: datetime) -> None:
    """Forget expired identities last listed before `cutoff` whose feed was parsed since
    without listing them."""
    last_parsed = select(FeedRow.last_parsed_at).where(FeedRow.id == ExpiredEntryRow.feed_id)
    with db.session() as session:
        session.execute(
            delete(ExpiredEntryRow).where(
                ExpiredEntryRow.last_listed_at < cutoff,
                ExpiredEntryRow.last_listed_at < last_parsed.scalar_subquery(),
            ),
            execution_options={"synchronize_session": False},
        )


def delete_empty_stories(db: Database, cutoff: datetime) -> int:
    """Delete stories without members not updated since `cutoff` (their events and digest
    links cascade); returns how many."""
    empty_stories = (
        select(StoryRow.id)
        .where(StoryRow.last_updated_at < cutoff)
        .where(~exists(select(StoryMemberRow.id).where(StoryMemberRow.story_id == StoryRow.id)))
        .order_by(StoryRow.id)
    )
    return _delete_chunks(db, empty_stories, StoryRow)


def delete_finished_digests(db: Database, cutoff: datetime) -> int:
    """Delete finished digests created before `cutoff`, with their delivery attempts; returns
    how many."""
    old_digests = (
        select(DigestRow.id)
        .where(DigestRow.created_at < cutoff, DigestRow.status.in_(FINISHED_DIGESTS))
        .order_by(DigestRow.id)
    )
    return _delete_chunks(db, old_digests, DigestRow)
