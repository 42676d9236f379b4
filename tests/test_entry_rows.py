"""New entry rows prepared for SQLite in the parser (prepare_for_sqlite) are stored exactly as
SQLAlchemy's types store the same rows, and read back as the same values."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.config import FeedSettings
from bot.model import Entry
from bot.storage.database import Database, upgrade_schema
from bot.storage.entries import write_entries
from bot.storage.feeds import sync_feeds
from bot.storage.models import EntryRow, FeedRow
from bot.storage.plan import EntryPlan, plan_entries, prepare_for_sqlite, sqlite_datetime

NOW = datetime(2026, 11, 20, 12, 0, 0, 123456, tzinfo=UTC)
EAST = timezone(timedelta(hours=5, minutes=30))


def _entries() -> list[Entry]:
    return [
        Entry(
            identity="guid:a",
            guid="a",
            title="Ünïcode — “deal” <b>",
            link="https://news.example/a",
            summary="xAI leases Colossus 1",
            categories=["AI", "Données"],
            author="Ann",
            published=datetime(2026, 11, 19, 23, 30, tzinfo=EAST),  # another zone
            updated=datetime(2026, 11, 20, 1, 2, 3, 4, tzinfo=UTC),
        ),
        Entry(identity="guid:b", guid="b", title="Undated", link=None, summary="", published=None),
        Entry(
            identity="link:https://news.example/c",
            title="Old",
            link="https://news.example/c",
            summary="s",
            published=datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC),  # a year of three digits
        ),
    ]


def _scorer(entry: Entry, source: str) -> dict[str, Any]:
    if entry.guid == "a":
        hits = [{"rule": "compute-deal", "weight": 1.5, "terms": ["lease"], "fields": ["title"]}]
        return {"score": 1.5, "relevant": True, "match_hits": hits}
    return {"score": 0.0, "relevant": False, "match_hits": []}


def _database(path: Path) -> tuple[Database, int]:
    db = Database(f"sqlite:///{path}")
    upgrade_schema(db)
    with db.session() as session:
        sync_feeds(session, [FeedSettings(url="https://a.example/feed", name="A")], NOW)
        feed_id = session.scalars(select(FeedRow.id)).one()
    return db, feed_id


def _plan(feed_id: int, *, scored: bool) -> EntryPlan:
    return plan_entries(
        feed_id=feed_id,
        feed_url="https://a.example/feed",
        feed_name="A",
        feed_title=None,
        entries=_entries(),
        known={},
        now=NOW,
        scorer=_scorer if scored else None,
    )


@pytest.mark.parametrize("scored", [True, False], ids=["matched", "unmatched"])
def test_prepared_rows_are_stored_as_sqlalchemy_stores_them(tmp_path: Path, scored: bool) -> None:
    plain_db, feed_id = _database(tmp_path / "plain.db")
    prepared_db, _ = _database(tmp_path / "prepared.db")
    plain = _plan(feed_id, scored=scored)
    prepared = copy.deepcopy(plain)
    prepare_for_sqlite(prepared)
    assert prepared.sqlite_form and not plain.sqlite_form
    for db, plan in ((plain_db, plain), (prepared_db, prepared)):
        with db.session() as session:
            stats = write_entries(session, plan)
            session.commit()
        assert stats.new == 3

    def raw(db: Database) -> list[tuple[Any, ...]]:
        with db.engine.connect() as conn:
            return list(conn.exec_driver_sql("SELECT * FROM entries ORDER BY id"))

    stored = raw(plain_db)
    assert raw(prepared_db) == stored  # byte for byte, NULLs and JSON nulls alike
    with prepared_db.session() as session:
        rows = session.scalars(select(EntryRow).order_by(EntryRow.id)).all()
        first = rows[0]
        assert first.published_at == datetime(2026, 11, 19, 18, 0, tzinfo=UTC)
        assert first.updated_at == datetime(2026, 11, 20, 1, 2, 3, 4, tzinfo=UTC)
        assert first.categories == ["AI", "Données"]
        assert first.first_seen_at == NOW
        assert rows[1].published_at == NOW  # undated: first seen now
        assert rows[2].published_at == datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)
        if scored:
            assert first.relevant is True and first.processed_at is None
            assert first.match_hits is not None and first.match_hits[0]["rule"] == "compute-deal"
            assert rows[1].relevant is False and rows[1].processed_at == NOW
        else:
            assert [row.relevant for row in rows] == [None, None, None]
    plain_db.dispose()
    prepared_db.dispose()


def test_preparing_twice_changes_nothing(tmp_path: Path) -> None:
    db, feed_id = _database(tmp_path / "n.db")
    plan = _plan(feed_id, scored=True)
    prepare_for_sqlite(plan)
    once = copy.deepcopy(plan.inserts)
    prepare_for_sqlite(plan)
    assert plan.inserts == once
    assert once[0]["published_at"] == "2026-11-19 18:00:00.000000"
    assert once[0]["categories"] == '["AI", "Donn\\u00e9es"]'
    db.dispose()


def test_a_naive_time_is_refused_as_the_column_type_refuses_it() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        sqlite_datetime(datetime(2026, 1, 1))


@pytest.mark.postgres
def test_a_plan_prepared_for_sqlite_is_not_written_to_postgresql(pg_url: str) -> None:
    db = Database(pg_url)
    upgrade_schema(db)
    with db.session() as session:
        sync_feeds(session, [FeedSettings(url="https://a.example/feed", name="A")], NOW)
        feed_id = session.scalars(select(FeedRow.id)).one()
        plan = _plan(feed_id, scored=True)
        prepare_for_sqlite(plan)
        with pytest.raises(ValueError, match="prepared for SQLite"):
            write_entries(session, plan)
    with db.session() as session:
        assert session.scalars(select(EntryRow.id)).all() == []
    db.dispose()
