"""Housekeeping: retention of old entries, stories and digests, and keeping the database compact.

Retention (`daemon.retention_days`): an entry first seen and published before the cut-off is
deleted unless it belongs to a story updated within the window (a long-running story keeps all
its sources); entries not yet processed are never deleted. Stories left without members and
not updated within the window go with them (their events and digest links cascade), and so do
finished digests (sent, failed) older than the window, with their delivery attempts. The poller
does not store entries older than the window, so a feed's archive does not come back as news.

Compaction: SQLite gets a WAL checkpoint that truncates the log, then frees pages with
`incremental_vacuum` (databases are created with auto_vacuum=INCREMENTAL); a database created
without it is VACUUMed once, when more than a quarter of it is free pages, which converts it.
PostgreSQL's autovacuum does this job, so nothing heavy runs there.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, delete, exists, select, text

from bot.storage import Database
from bot.storage.models import Digest, Entry, Story, StoryMember
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
    db: Database, ids_query: Select[int], model: type[Entry | Story | Digest]
) -> int:
    total = 0
    while True:
        with db.session() as session:
            ids = list(session.scalars(ids_query.limit(CHUNK)))
            if not ids:
                return total
            session.execute(
                delete(model).where(model.id.in_(ids)),
                execution_options={"synchronize_session": False},
            )
            total += len(ids)
        if len(ids) < CHUNK:
            return total


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
    entries = _delete_chunks(db, old_entries, Entry)
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
