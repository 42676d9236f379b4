"""Housekeeping: retention of old entries, stories and digests, and keeping the database compact.

Retention (`daemon.retention_days`): an entry first seen and published before the cut-off is
deleted unless it belongs to a story updated within the window (a long-running story keeps all
its sources); entries not yet processed are never deleted. Stories left without members and
not updated within the window go with them (their events and digest links cascade), and so do
finished digests (sent, failed) older than the window, with their delivery attempts. The poller
does not store entries older than the window (except a feed's newest items on its first poll,
which are first seen then and so kept a whole window), so a feed's archive does not come back
as news. A deleted entry's identity is remembered (`expired_entries`) while its feed still
lists it, so the poller does not store it again (an undated item would otherwise come back,
dated anew); it is forgotten once the feed was parsed without it and the window has passed.

Compaction: SQLite gets a WAL checkpoint that truncates the log, then frees pages with
`incremental_vacuum` (databases are created with auto_vacuum=INCREMENTAL); a database created
without it is VACUUMed once, when more than a quarter of it is free pages, which converts it.
PostgreSQL's autovacuum does this job, so nothing heavy runs there.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, exists, insert, literal, select, text
from sqlalchemy.orm import Session

from bot.storage import Database
from bot.storage.models import Digest, Entry, ExpiredEntry, Feed, Story, StoryMember
from bot.text.plural import plural

log = logging.getLogger(__name__)

CHUNK = 2000  # rows deleted per statement, so no transaction grows without bound
VACUUM_FREE_FRACTION = 0.25


@dataclass(frozen=True, slots=True)
class HousekeepingReport:
    entries_deleted: int
    stories_deleted: int
    digests_deleted: int
    compaction: str


def _delete_chunks(
    db: Database,
    ids_query: Select[int],
    model: type[Entry | Story | Digest],
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
        insert(ExpiredEntry).from_select(
            ["feed_id", "identity", "last_listed_at"],
            select(
                Entry.feed_id,
                Entry.identity,
                literal(now, ExpiredEntry.__table__.c.last_listed_at.type),
            ).where(
                Entry.id.in_(entry_ids),
                ~exists(
                    select(ExpiredEntry.feed_id).where(
                        ExpiredEntry.feed_id == Entry.feed_id,
                        ExpiredEntry.identity == Entry.identity,
                    )
                ),
            ),
        )
    )


def purge_expired(db: Database, *, now: datetime, retention_days: int) -> tuple[int, int, int]:
    """Delete what fell out of the retention window; returns (entries, stories, digests)."""
    cutoff = now - timedelta(days=retention_days)
    recent_member = (
        select(StoryMember.id)
        .join(Story, Story.id == StoryMember.story_id)
        .where(StoryMember.entry_id == Entry.id, Story.last_updated_at >= cutoff)
    )
    old_entries = (
        select(Entry.id)
        .where(Entry.first_seen_at < cutoff, Entry.published_at < cutoff)
        .where(Entry.processed_at.is_not(None))
        .where(~exists(recent_member))
        .order_by(Entry.id)
    )
    entries = _delete_chunks(db, old_entries, Entry, functools.partial(_remember_expired, now=now))
    # An expired entry is forgotten once its feed was parsed without listing it, and the
    # window has passed since it was last listed.
    last_parsed = select(Feed.last_parsed_at).where(Feed.id == ExpiredEntry.feed_id)
    with db.session() as session:
        session.execute(
            delete(ExpiredEntry).where(
                ExpiredEntry.last_listed_at < cutoff,
                ExpiredEntry.last_listed_at < last_parsed.scalar_subquery(),
            ),
            execution_options={"synchronize_session": False},
        )
    empty_stories = (
        select(Story.id)
        .where(Story.last_updated_at < cutoff)
        .where(~exists(select(StoryMember.id).where(StoryMember.story_id == Story.id)))
        .order_by(Story.id)
    )
    stories = _delete_chunks(db, empty_stories, Story)
    old_digests = (
        select(Digest.id)
        .where(
            Digest.created_at < cutoff, Digest.status.in_(("sent", "failed", "abandoned", "empty"))
        )
        .order_by(Digest.id)
    )
    digests = _delete_chunks(db, old_digests, Digest)
    return entries, stories, digests


def compact(db: Database) -> str:
    """Return space to the file system (SQLite); describe what was done."""
    if not db.is_sqlite:
        return "postgresql: left to autovacuum"
    with db.engine.connect() as conn:
        # Outside a transaction: VACUUM and checkpoints refuse to run inside one.
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        mode = int(conn.execute(text("PRAGMA auto_vacuum")).scalar() or 0)
        free = int(conn.execute(text("PRAGMA freelist_count")).scalar() or 0)
        pages = int(conn.execute(text("PRAGMA page_count")).scalar() or 1)
        if mode == 2:
            conn.execute(text("PRAGMA incremental_vacuum"))
            action = f"incremental_vacuum freed {plural(free, 'page')}"
        elif free > VACUUM_FREE_FRACTION * pages:
            conn.execute(text("PRAGMA auto_vacuum=INCREMENTAL"))
            conn.execute(text("VACUUM"))
            action = f"VACUUM ({free} of {plural(pages, 'page')} free), now auto_vacuum=INCREMENTAL"
        else:
            action = f"nothing to vacuum ({free} of {plural(pages, 'page')} free)"
        busy, log_pages, _ = conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
        return f"{action}; wal_checkpoint(TRUNCATE) busy={busy} log={log_pages}"


def run_housekeeping(db: Database, *, now: datetime, retention_days: int) -> HousekeepingReport:
    entries, stories, digests = purge_expired(db, now=now, retention_days=retention_days)
    compaction = compact(db)
    report = HousekeepingReport(entries, stories, digests, compaction)
    log.info(
        "housekeeping: deleted %s, %s, %s older than %s; %s",
        plural(entries, "entry", "entries"),
        plural(stories, "story", "stories"),
        plural(digests, "digest"),
        plural(retention_days, "day"),
        compaction,
    )
    return report
