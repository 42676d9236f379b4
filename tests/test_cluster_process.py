"""The worker applies clusterer merges to story rows: members, events and digests move over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from support.entries import add_titled_entries

from bot.clustering.config import ClusterConfig
from bot.matcher.rules import parse_rules
from bot.storage.database import Database, upgrade_schema
from bot.storage.models import DigestRow, DigestStoryRow, StoryEventRow, StoryMemberRow, StoryRow
from bot.worker.process import StoryBuilder

T0 = datetime(2026, 5, 6, 12, 0, tzinfo=UTC)
EVERYTHING = """threshold = 1.0
[[rule]]
name = "all"
query = "chiquita OR banana OR fyffes"
weight = 1.0
"""
FRAGMENTS = [
    "Chiquita agrees to buy Irish rival Fyffes",
    "Banana giants create world's top fruit supplier",
    "Banana giants create world's biggest fruit supplier",
    "Chiquita and Fyffes merge to create world's top banana supplier",
    "Chiquita, Fyffes merge: banana giants create world's top fruit supplier",
]


def test_merged_fragments_become_one_story_row(db_url: str) -> None:
    db = Database(db_url)
    upgrade_schema(db)
    story_builder = StoryBuilder(
        db, parse_rules(EVERYTHING), ClusterConfig(), clock=lambda: T0 + timedelta(hours=1)
    )
    add_titled_entries(db, FRAGMENTS[:4], 0)
    story_builder.process_pending()
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(StoryRow)) == 2
        fragment = session.scalars(select(StoryRow).order_by(StoryRow.id.desc())).first()
        assert fragment is not None
        # The smaller fragment already went out in a digest.
        digest = DigestRow(
            channel="c",
            period_key="p",
            idempotency_key="c:p",
            created_at=T0,
            period_end=T0,
            status="sent",
        )
        session.add(digest)
        session.flush()
        session.add(
            DigestStoryRow(
                digest_id=digest.id, story_id=fragment.id, story_version=1, source_count=2
            )
        )
    add_titled_entries(db, FRAGMENTS[4:], 4)
    story_builder.process_pending()
    with db.session() as session:
        stories = session.scalars(select(StoryRow)).all()
        assert len(stories) == 1
        story = stories[0]
        assert story.source_count == 5
        assert story.cluster_key == story_builder.clusterer.story_keys()[0]
        assert len(story.cluster_state["members"]) == 5
        members = session.scalars(select(StoryMemberRow.story_id)).all()
        assert members == [story.id] * 5
        assert set(session.scalars(select(StoryEventRow.story_id))) == {story.id}
        assert session.scalars(select(DigestStoryRow.story_id)).all() == [story.id]
    # A restart rebuilds the merged story from its row.
    fresh = StoryBuilder(db, parse_rules(EVERYTHING), ClusterConfig(), clock=story_builder.clock)
    add_titled_entries(db, ["Banana giants create world's top fruit supplier, Chiquita says"], 5)
    fresh.process_pending()
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(StoryRow)) == 1
        assert session.scalar(select(StoryRow.source_count)) == 6
