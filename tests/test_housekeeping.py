"""Retention deletes old entries that belong to no recent story (and what they leave orphaned),
keeps everything recent, unprocessed or still part of a live story; SQLite is compacted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.daemon.housekeeping import compact, run_housekeeping
from bot.storage.database import Database, upgrade_schema
from bot.storage.models import DigestRow, EntryRow, FeedRow, StoryEventRow, StoryMemberRow, StoryRow

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
OLD = NOW - timedelta(days=120)
RECENT = NOW - timedelta(days=3)


def entry(feed: FeedRow, identity: str, when: datetime, *, processed: bool = True) -> EntryRow:
    return EntryRow(
        feed=feed,
        identity=identity,
        title=identity,
        published_at=when,
        first_seen_at=when,
        content_hash=identity,
        processed_at=when if processed else None,
    )


def story(key: str, updated: datetime, members: list[EntryRow]) -> StoryRow:
    row = StoryRow(
        cluster_key=key,
        headline=key,
        first_seen_at=min(e.first_seen_at for e in members),
        last_updated_at=updated,
    )
    row.members = [StoryMemberRow(entry=e, joined_at=e.first_seen_at) for e in members]
    return row


def test_retention_and_compaction(db_url: str) -> None:
    db = Database(db_url)
    upgrade_schema(db)
    with db.session() as session:
        feed = FeedRow(url="http://127.0.0.1/a.rss", created_at=OLD)
        old_alone = entry(feed, "old-alone", OLD)
        old_unprocessed = entry(feed, "old-unprocessed", OLD, processed=False)
        old_in_live_story = entry(feed, "old-in-live-story", OLD)
        recent = entry(feed, "recent", RECENT)
        old_in_dead_story = entry(feed, "old-in-dead-story", OLD)
        session.add_all([old_alone, old_unprocessed, old_in_live_story, recent, old_in_dead_story])
        session.flush()
        live = story("live", RECENT, [old_in_live_story, recent])
        dead = story("dead", OLD, [old_in_dead_story])
        session.add_all([live, dead])
        session.flush()
        session.add(StoryEventRow(story_id=dead.id, kind="created", created_at=OLD))
        for key, created, status in (
            ("old-sent", OLD, "sent"),
            ("old-pending", OLD, "pending"),
            ("recent-sent", RECENT, "sent"),
        ):
            session.add(
                DigestRow(
                    channel="desk",
                    period_key=key,
                    idempotency_key=f"desk:{key}",
                    created_at=created,
                    period_end=created,
                    status=status,
                )
            )
    report = run_housekeeping(db, now=NOW, retention_days=90)
    assert (report.entries_deleted, report.stories_deleted, report.digests_deleted) == (2, 1, 1)
    with db.session() as session:
        left = set(session.scalars(select(EntryRow.identity)))
        assert left == {"old-unprocessed", "old-in-live-story", "recent"}
        assert set(session.scalars(select(StoryRow.cluster_key))) == {"live"}
        assert session.scalar(select(func.count()).select_from(StoryEventRow)) == 0
        assert session.scalar(select(func.count()).select_from(StoryMemberRow)) == 2
        assert set(session.scalars(select(DigestRow.period_key))) == {"old-pending", "recent-sent"}
    again = run_housekeeping(db, now=NOW, retention_days=90)
    assert (again.entries_deleted, again.stories_deleted, again.digests_deleted) == (0, 0, 0)
    if db.is_sqlite:
        assert "wal_checkpoint(TRUNCATE)" in report.compaction
        assert "incremental_vacuum" in report.compaction  # new files use auto_vacuum=INCREMENTAL
    else:
        assert "autovacuum" in report.compaction
    db.dispose()


def test_sqlite_file_without_auto_vacuum_is_vacuumed_when_mostly_free(tmp_path: object) -> None:
    import sqlite3
    from pathlib import Path

    path = Path(str(tmp_path)) / "legacy.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE filler (x TEXT)")
    conn.executemany("INSERT INTO filler VALUES (?)", [("x" * 2000,)] * 2000)
    conn.commit()
    conn.execute("DELETE FROM filler")
    conn.commit()
    conn.close()
    db = Database(f"sqlite:///{path}")
    size_before = path.stat().st_size
    result = compact(db)
    assert result.startswith("VACUUM")
    assert path.stat().st_size < size_before / 4
    assert "incremental_vacuum" in compact(db)  # converted
    db.dispose()
