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

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.storage.database import Database, compact
from bot.storage.retention import (
    delete_empty_stories,
    delete_finished_digests,
    delete_old_entries,
    forget_expired_entries,
)
from bot.text.plural import plural

__all__ = ["HousekeepingStats", "compact", "purge_expired", "run_housekeeping"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class HousekeepingStats:
    entries_deleted: int
    stories_deleted: int
    digests_deleted: int
    compaction: str


def purge_expired(db: Database, *, now: datetime, retention_days: int) -> tuple[int, int, int]:
    """Delete what fell out of the retention window; returns (entries, stories, digests)."""
    cutoff = now - timedelta(days=retention_days)
    entries = delete_old_entries(db, cutoff, now=now)
    # An expired entry is forgotten once its feed was parsed without listing it, and the
    # window has passed since it was last listed.
    forget_expired_entries(db, cutoff)
    stories = delete_empty_stories(db, cutoff)
    digests = delete_finished_digests(db, cutoff)
    return entries, stories, digests


def run_housekeeping(db: Database, *, now: datetime, retention_days: int) -> HousekeepingStats:
    entries, stories, digests = purge_expired(db, now=now, retention_days=retention_days)
    compaction = compact(db)
    report = HousekeepingStats(entries, stories, digests, compaction)
    log.info(
        "housekeeping: deleted %s, %s, %s older than %s; %s",
        plural(entries, "entry", "entries"),
        plural(stories, "story", "stories"),
        plural(digests, "digest"),
        plural(retention_days, "day"),
        compaction,
    )
    return report
