"""Storage on SQLite and PostgreSQL: migrations, idempotent entries, feed leases, the outbox."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, inspect, select

from bot.config import FeedSettings
from bot.model import Entry
from bot.reader.parser import parse_feed
from bot.storage.database import Database, alembic_config, current_revision, upgrade_schema
from bot.storage.digests import claim_due_digests, enqueue_digest, previously_sent
from bot.storage.entries import store_entries
from bot.storage.feeds import claim_due_feeds, sync_feeds
from bot.storage.models import Base, DigestRow, EntryRow, FeedRow, StoryRow, UTCDateTime

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _db(url: str) -> Database:
    db = Database(url)
    upgrade_schema(db)
    return db


def test_migrations_create_every_table_and_are_idempotent(db_url: str) -> None:
    db = _db(db_url)
    upgrade_schema(db)  # a second upgrade is a no-op
    tables = set(inspect(db.engine).get_table_names())
    assert {
        "feeds",
        "entries",
        "stories",
        "story_members",
        "story_events",
        "digests",
        "digest_stories",
        "deliveries",
    } <= tables
    assert current_revision(db) is not None
    if db.is_sqlite:
        with db.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    db.dispose()


def test_migrations_build_exactly_the_schema_the_models_describe(db_url: str) -> None:
    """Every model change comes with its migration: Alembic's autogenerate comparison of the
    migrated database with the models finds nothing to do (tables, columns, types, indexes)."""
    db = _db(db_url)
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    db.dispose()
    assert differences == []


# What a story row held before migration 0009 renamed `signature` to `cluster_state`.
STORIES_0008 = sa.table(
    "stories",
    sa.column("id", sa.Integer),
    sa.column("cluster_key", sa.String),
    sa.column("headline", sa.Text),
    sa.column("summary", sa.Text),
    sa.column("facts", sa.JSON),
    sa.column("score", sa.Float),
    sa.column("source_count", sa.Integer),
    sa.column("version", sa.Integer),
    sa.column("first_seen_at", UTCDateTime),
    sa.column("last_updated_at", UTCDateTime),
    sa.column("signature", sa.JSON),
)
STORY_EVENTS = sa.table(
    "story_events",
    sa.column("story_id", sa.Integer),
    sa.column("kind", sa.String),
    sa.column("created_at", UTCDateTime),
)
CLUSTER_STATE = {
    "v": 3,
    "key": "s-grid",
    "centroid": {"grid": 0.8, "interconnector": 0.6},
    "members": [["17", "Grid link approved", "https://a.example/1", "A", NOW.isoformat(), 1.0, 1]],
    "quantities": [["MW", 1400.0]],
}


def _downgrade(db: Database, revision: str) -> None:
    config = alembic_config(db.url)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def test_stories_signature_becomes_cluster_state_and_keeps_each_storys_state(
    empty_db_url: str,
) -> None:
    """Migration 0009 renames the column in place, on a database with stories in it: the state
    is read back through the model, nothing that references a story is lost (rebuilding the
    table on SQLite would cascade-delete it), and a downgrade gives the old column back."""
    db = Database(empty_db_url)
    upgrade_schema(db, "0008")
    with db.engine.begin() as conn:
        conn.execute(
            sa.insert(STORIES_0008).values(
                id=1,
                cluster_key="s-grid",
                headline="Grid link approved",
                summary="",
                facts={},
                score=0.9,
                source_count=1,
                version=1,
                first_seen_at=NOW,
                last_updated_at=NOW,
                signature=CLUSTER_STATE,
            )
        )
        conn.execute(sa.insert(STORY_EVENTS).values(story_id=1, kind="created", created_at=NOW))

    upgrade_schema(db)
    assert current_revision(db) == "0009"
    with db.session() as session:
        story = session.get(StoryRow, 1)
        assert story is not None and story.cluster_state == CLUSTER_STATE
        assert session.scalar(select(func.count()).select_from(STORY_EVENTS)) == 1
    columns = {column["name"] for column in inspect(db.engine).get_columns("stories")}
    assert "cluster_state" in columns and "signature" not in columns

    _downgrade(db, "0008")
    with db.engine.connect() as conn:
        assert conn.scalar(select(STORIES_0008.c.signature)) == CLUSTER_STATE
        assert conn.scalar(select(func.count()).select_from(STORY_EVENTS)) == 1
    db.dispose()


def test_the_pending_index_holds_only_pending_entries(db_url: str) -> None:
    """The story builder's queue index is partial (migration 0006): entries done when stored add
    nothing to it, and the queue query can use it."""
    db = _db(db_url)
    with db.engine.connect() as conn:
        if db.is_sqlite:
            definition = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = 'ix_entries_pending'"
            ).scalar()
            plan = " ".join(
                str(row[-1])
                for row in conn.exec_driver_sql(
                    "EXPLAIN QUERY PLAN SELECT id FROM entries WHERE processed_at IS NULL"
                )
            )
            assert "ix_entries_pending" in plan
        else:
            definition = conn.exec_driver_sql(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_entries_pending'"
            ).scalar()
    db.dispose()
    assert definition is not None
    assert "processed_at IS NULL" in definition.replace("(", "").replace(")", "")


def _entry(identity: str, title: str, published: datetime | None = NOW) -> Entry:
    return Entry(
        identity=identity,
        title=title,
        link=f"https://news.example/{identity}",
        summary=f"summary of {title}",
        published=published,
    )


def test_storing_entries_is_idempotent_and_updates_in_place(db_url: str) -> None:
    db = _db(db_url)
    with db.session() as session:
        sync_feeds(session, [FeedSettings(url="https://a.example/feed", name="A")], NOW)
    with db.session() as session:
        feed = session.scalars(select(FeedRow)).one()
        first = store_entries(session, feed, [_entry("g1", "One"), _entry("g2", "Two")], NOW)
        assert (first.new, first.updated, first.unchanged) == (2, 0, 0)
    with db.session() as session:
        feed = session.scalars(select(FeedRow)).one()
        again = store_entries(
            session, feed, [_entry("g1", "One"), _entry("g2", "Two (updated)")], NOW
        )
        assert (again.new, again.updated, again.unchanged) == (0, 1, 1)
    with db.session() as session:
        titles = sorted(session.scalars(select(EntryRow.title)))
        assert titles == ["One", "Two (updated)"]
        published = session.scalar(select(EntryRow.published_at).where(EntryRow.identity == "g1"))
        assert published == NOW and published.tzinfo is not None
    db.dispose()


def test_entry_without_date_gets_first_seen_time(db_url: str) -> None:
    db = _db(db_url)
    with db.session() as session:
        sync_feeds(session, [FeedSettings(url="https://a.example/feed")], NOW)
        feed = session.scalars(select(FeedRow)).one()
        store_entries(session, feed, [_entry("x", "Undated", published=None)], NOW)
    with db.session() as session:
        assert session.scalar(select(EntryRow.published_at)) == NOW
    db.dispose()


def test_feed_lease_is_taken_once(db_url: str) -> None:
    db = _db(db_url)
    feeds = [FeedSettings(url=f"https://f{i}.example/rss") for i in range(5)]
    with db.session() as session:
        assert len(sync_feeds(session, feeds, NOW).added) == 5
        assert sync_feeds(session, feeds, NOW).added == []
    with db.session() as session:
        first = claim_due_feeds(session, now=NOW, owner="a", lease=timedelta(minutes=5))
    with db.session() as session:
        second = claim_due_feeds(session, now=NOW, owner="b", lease=timedelta(minutes=5))
    assert len(first) == 5 and second == []
    with db.session() as session:  # an expired lease can be taken over
        later = claim_due_feeds(
            session, now=NOW + timedelta(minutes=6), owner="b", lease=timedelta(minutes=5)
        )
    assert len(later) == 5
    db.dispose()


def test_syncing_reads_the_stored_feeds_in_one_query_whatever_it_changes(db_url: str) -> None:
    # Syncing loads a few columns of every feed; a column it reads but did not load would cost
    # one query per feed on every poll.
    db = _db(db_url)
    feeds = [FeedSettings(url=f"https://f{i}.example/rss", name=f"F{i}") for i in range(40)]
    with db.session() as session:
        sync_feeds(session, feeds, NOW)
    changed = [
        FeedSettings(url=f"https://f{i}.example/rss", name=f"Renamed {i}", interval=600)
        for i in range(20)  # 20-39 dropped from the configuration
    ]
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append(statement.split(None, 1)[0].upper())

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.session() as session:
            dropped = sync_feeds(session, changed, NOW)
        with db.session() as session:
            restored = sync_feeds(session, feeds, NOW + timedelta(minutes=1))
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)
    assert len(dropped.removed) == 20 and len(restored.restored) == 20
    # Per sync: the feeds, and the entry counts of removed feeds; the writes are UPDATEs.
    assert statements.count("SELECT") == 3, statements
    with db.session() as session:
        rows = {row.url: row for row in session.scalars(select(FeedRow))}
    again = rows["https://f3.example/rss"]
    assert again.name == "F3" and again.interval_s is None
    assert all(row.removed_at is None for row in rows.values())
    assert rows["https://f30.example/rss"].next_check_at == NOW + timedelta(minutes=1)
    db.dispose()


def test_outbox_stores_each_channel_period_once(db_url: str) -> None:
    db = _db(db_url)
    with db.session() as session:
        story = StoryRow(
            cluster_key="k1",
            headline="h",
            first_seen_at=NOW,
            last_updated_at=NOW,
            version=1,
            source_count=2,
            score=2.0,
        )
        session.add(story)
        session.flush()
        story_id = story.id
        kwargs = {
            "channel": "ops",
            "kind": "scheduled",
            "period_key": "scheduled:2026-11-20T08:00:00+00:00",
            "period_start": None,
            "period_end": NOW,
            "payload": {"format": "slack", "messages": []},
            "stories": [(story_id, 1, 2)],
            "now": NOW,
        }
        assert enqueue_digest(session, **kwargs) is not None  # type: ignore[arg-type]
        assert enqueue_digest(session, **kwargs) is None  # type: ignore[arg-type]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(DigestRow)) == 1
        assert previously_sent(session, "ops") == {story_id: 2}
        assert previously_sent(session, "other") == {}
        claimed = claim_due_digests(session, now=NOW, owner="a")
        assert [d.status for d in claimed] == ["sending"]
    with db.session() as session:  # leased: nobody else takes it until the lease runs out
        assert claim_due_digests(session, now=NOW, owner="b") == []
        assert len(claim_due_digests(session, now=NOW + timedelta(minutes=6), owner="b")) == 1
    db.dispose()


def _document(items: list[tuple[str, str, str]]) -> list[Entry]:
    """The entries of an RSS document listing (guid, link, title) items, as the poller reads it."""
    body = "".join(
        f'<item><guid isPermaLink="false">{guid}</guid><link>{link}</link>'
        f"<title>{title}</title><description>{title}, in full.</description></item>"
        for guid, link, title in items
    )
    document = f'<rss version="2.0"><channel><title>A</title>{body}</channel></rss>'.encode()
    return parse_feed(document, url="https://a.example/feed", now=NOW).entries


def _store(db: Database, entries: list[Entry]) -> tuple[int, int, int]:
    with db.session() as session:
        feed = session.scalars(select(FeedRow)).one()
        report = store_entries(session, feed, entries, NOW)
        return report.new, report.updated, report.unchanged


def test_a_feed_that_renews_its_guids_on_every_request_stores_each_item_once(db_url: str) -> None:
    db = _db(db_url)
    with db.session() as session:
        sync_feeds(session, [FeedSettings(url="https://a.example/feed")], NOW)
    a, b, c = "https://a.example/a", "https://a.example/b", "https://a.example/c"
    assert _store(db, _document([("r1-a", a, "Alpha"), ("r1-b", b, "Beta")])) == (2, 0, 0)
    assert _store(db, _document([("r2-a", a, "Alpha"), ("r2-b", b, "Beta")])) == (0, 0, 2)
    assert _store(db, _document([("r3-c", c, "Gamma"), ("r3-a", a, "Alpha")])) == (1, 0, 1)
    with db.session() as session:
        assert sorted(session.scalars(select(EntryRow.title))) == ["Alpha", "Beta", "Gamma"]
    db.dispose()


def test_a_new_item_at_a_link_an_old_one_had_is_a_new_entry(db_url: str) -> None:
    db = _db(db_url)
    with db.session() as session:
        sync_feeds(session, [FeedSettings(url="https://a.example/feed")], NOW)
    briefing = "https://a.example/briefing"
    assert _store(db, _document([("mon", briefing, "Monday briefing")])) == (1, 0, 0)
    # The next day's briefing at the same address: another item, not a retitled one.
    assert _store(db, _document([("tue", briefing, "Tuesday briefing")])) == (1, 0, 0)
    # An item still listed under its own GUID keeps it; another at its link is new.
    assert _store(
        db, _document([("tue", briefing, "Tuesday briefing"), ("tue-2", briefing, "Tuesday")])
    ) == (1, 0, 1)
    db.dispose()


def test_only_a_restore_reads_the_clusterer_states_of_stories(db_url: str) -> None:
    """A clustering batch loads the stories it touches to write their states anew: the states
    stored (hundreds of KB for a story of hundreds of reports) are read only by a restore."""
    from sqlalchemy.orm import Session

    from bot.storage.stories import (
        active_stories,
        create_story,
        stories_by_keys,
        stories_changed_since,
    )

    db = _db(db_url)
    state = {"v": 2, "members": [["1", "title", None, None, NOW.isoformat(), 1.0, "lead"]]}
    with db.session() as session:
        create_story(session, "deferred-state", "A story", NOW).cluster_state = state

    def loaded(read: Callable[[Session], list[StoryRow]]) -> bool:
        with db.session() as session:
            (story,) = read(session)
            unloaded = "cluster_state" in inspect(story).unloaded
            assert story.cluster_state == state  # loaded on access all the same
            return not unloaded

    assert not loaded(lambda session: list(stories_by_keys(session, ["deferred-state"])))
    assert loaded(lambda session: active_stories(session, NOW - timedelta(days=1)))
    assert loaded(lambda session: stories_changed_since(session, NOW - timedelta(days=1)))
    db.dispose()
