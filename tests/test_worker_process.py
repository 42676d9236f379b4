"""Story processing in two steps: matching batches, then clustering batches of relevant entries.
A crash between them loses nothing and matches nothing twice; counts are reported once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from support.entries import add_titled_entries

from bot.clustering.config import ClusterConfig
from bot.matcher.rules import parse_rules
from bot.storage.database import Database, upgrade_schema
from bot.storage.models import EntryRow, StoryMemberRow, StoryRow
from bot.worker.process import StoryBuilder

T0 = datetime(2026, 5, 6, 12, 0, tzinfo=UTC)
RULES = parse_rules(
    'threshold = 1.0\n[[rule]]\nname = "fruit"\nquery = "chiquita OR fyffes"\nweight = 1.0\n'
)
TITLES = [
    "Chiquita agrees to buy Irish rival Fyffes",
    "Local council approves new cycle lanes",
    "Chiquita to buy Fyffes in banana merger",
    "Weather: a sunny weekend ahead",
    "Fyffes accepts Chiquita takeover offer",
]


def builder_for(db: Database) -> StoryBuilder:
    return StoryBuilder(db, RULES, ClusterConfig(), clock=lambda: T0 + timedelta(hours=1))


def test_processing_reports_each_entry_once_and_clusters_the_relevant_ones(db_url: str) -> None:
    db = Database(db_url)
    upgrade_schema(db)
    add_titled_entries(db, TITLES)
    builder = builder_for(db)
    report = builder.process_pending(batch_size=2)  # several matching batches
    assert (report.processed, report.relevant) == (5, 3)
    assert report.stories_created + report.stories_updated == 3
    assert not builder.has_pending()
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(StoryMemberRow)) == 3
        assert session.scalar(select(func.count()).select_from(StoryRow)) == report.stories_created
        irrelevant = session.scalars(select(EntryRow).where(EntryRow.relevant.is_(False))).all()
        assert len(irrelevant) == 2 and all(e.processed_at is not None for e in irrelevant)


def test_a_crash_after_matching_clusters_the_scored_entries_on_restart(db_url: str) -> None:
    db = Database(db_url)
    upgrade_schema(db)
    add_titled_entries(db, TITLES)
    first = builder_for(db)
    matched = first._match_batch(100)  # then the process dies before clustering
    assert (matched.processed, matched.relevant) == (5, 3)
    assert first.has_pending()
    with db.session() as session:
        waiting = session.scalars(select(EntryRow).where(EntryRow.processed_at.is_(None))).all()
        assert {e.title for e in waiting} == {TITLES[0], TITLES[2], TITLES[4]}
        assert all(e.relevant and e.score and e.match_hits for e in waiting)
    restarted = builder_for(db)
    report = restarted.process_pending()
    assert report.processed == 0  # nothing matched twice
    assert report.stories_created + report.stories_updated == 3
    assert not restarted.has_pending()
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(StoryMemberRow)) == 3


STORIES = Path(__file__).resolve().parents[2] / "shared" / "data" / "stories"


def stories_of(db: Database) -> set[frozenset[str]]:
    """The stories as sets of entry identities."""
    with db.session() as session:
        rows = session.execute(
            select(StoryMemberRow.story_id, EntryRow.identity).join(
                EntryRow, EntryRow.id == StoryMemberRow.entry_id
            )
        ).all()
    members: dict[int, set[str]] = {}
    for story_id, identity in rows:
        members.setdefault(story_id, set()).add(identity)
    return {frozenset(identities) for identities in members.values()}


def stories_with_and_without_restarts(
    db_url: str, sqlite_url: str, config: ClusterConfig, run: int, spacing: timedelta
) -> tuple[set[frozenset[str]], set[frozenset[str]]]:
    """600 real headlines, `spacing` apart, processed in runs of `run` as each run's last one
    comes in: the stories of one story builder kept for every run (SQLite), and of a new story
    builder each run, restored from the database (`db_url`)."""
    rows = [json.loads(line) for line in (STORIES / "uci_dev.jsonl").open(encoding="utf-8")]
    titles = [row["title"] for row in sorted(rows, key=lambda row: row["published"])][:600]
    everything = parse_rules('threshold = 0.0\n[[rule]]\nname = "any"\nquery = "news"\n')
    now = {"clock": T0}

    def builder(db: Database) -> StoryBuilder:
        return StoryBuilder(db, everything, config, clock=lambda: now["clock"])

    reference, restarted = Database(sqlite_url.replace(".db", "-reference.db")), Database(db_url)
    upgrade_schema(reference)
    upgrade_schema(restarted)
    uninterrupted = builder(reference)
    for start in range(0, len(titles), run):
        now["clock"] = T0 + (start + run - 1) * spacing + timedelta(minutes=5)
        add_titled_entries(reference, titles[start : start + run], start, spacing)
        uninterrupted.process_pending()
        add_titled_entries(restarted, titles[start : start + run], start, spacing)
        builder(restarted).process_pending()  # a new process each run, from the database
    return stories_of(reference), stories_of(restarted)


@pytest.mark.skipif(not STORIES.is_dir(), reason=f"labelled stories not found at {STORIES}")
def test_a_restart_between_runs_makes_the_stories_an_uninterrupted_daemon_makes(
    db_url: str, sqlite_url: str
) -> None:
    # Short posting lists, so that stories leave them (and lose titles to other stories)
    # between the runs that write their states, as they do in a long stream.
    expected, restarted = stories_with_and_without_restarts(
        db_url, sqlite_url, ClusterConfig(posting_limit=4), 60, timedelta(minutes=1)
    )
    assert len(expected) > 20  # many stories, some of several reports
    assert any(len(story) > 2 for story in expected)
    assert restarted == expected


@pytest.mark.skipif(not STORIES.is_dir(), reason=f"labelled stories not found at {STORIES}")
def test_a_restart_makes_the_same_stories_when_old_ones_leave_the_active_window(
    db_url: str, sqlite_url: str
) -> None:
    # 600 reports 45 minutes apart: 450 hours, so stories leave the 72-hour window as the
    # runs go on (a run every 30 hours of reports).
    expected, restarted = stories_with_and_without_restarts(
        db_url, sqlite_url, ClusterConfig(active_window_hours=72), 40, timedelta(minutes=45)
    )
    assert len(expected) > 20
    assert restarted == expected


def test_a_story_that_leaves_the_window_within_its_batch_still_gets_its_facts(
    db_url: str,
) -> None:
    """A backfill (a first poll of a feed that lists months of reports) places a story's
    reports and then, in the same batch, reports so much later that the story leaves the
    clusterer's window: its headline, facts and state are written all the same, as for a story
    that stays."""
    db = Database(db_url)
    upgrade_schema(db)
    add_titled_entries(
        db,
        [
            "Chiquita agrees to buy Irish rival Fyffes for $526 million",
            "Chiquita to buy Fyffes in $526 million banana merger",
        ],
    )
    add_titled_entries(
        db, ["Fyffes shareholders back Chiquita deal"], start=2, spacing=timedelta(days=30)
    )
    report = builder_for(db).process_pending()
    assert report.processed == 3
    with db.session() as session:
        stories = session.scalars(select(StoryRow).order_by(StoryRow.id)).all()
        first = stories[0]
        assert len(first.members) == 2
        assert first.facts.get("amount_usd") == 526_000_000, first.facts
        assert first.cluster_state, "the story's clusterer state was not written"
