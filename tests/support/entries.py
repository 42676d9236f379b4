"""Stored entries for the story builder's tests: one feed, one outlet per entry, a minute apart."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.storage.database import Database
from bot.storage.models import EntryRow, FeedRow

T0 = datetime(2026, 5, 6, 12, 0, tzinfo=UTC)


def add_titled_entries(
    db: Database, titles: list[str], start: int = 0, spacing: timedelta = timedelta(minutes=1)
) -> None:
    """Store `titles` as entries e{start}, e{start+1}, ... of the test feed (created on first
    use), entry i from outlet-i, published T0 + i * `spacing`."""
    with db.session() as session:
        feed = session.scalar(select(FeedRow)) or FeedRow(
            url="https://feed.example/rss", created_at=T0
        )
        session.add(feed)
        for offset, title in enumerate(titles):
            index = start + offset
            session.add(
                EntryRow(
                    feed=feed,
                    identity=f"e{index}",
                    url=f"https://outlet{index}.example/{index}",
                    title=title,
                    source_name=f"outlet-{index}",
                    published_at=T0 + index * spacing,
                    first_seen_at=T0,
                    content_hash=hashlib.sha256(title.encode()).hexdigest(),
                )
            )
