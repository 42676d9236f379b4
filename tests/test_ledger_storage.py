"""Deal records in storage: derived when a story is made (after a daemon's processing pass, or by
the next reader of the ledger after a one-shot `newsbot poll`), re-derived with a new revision when
it gains reports, the history kept; on SQLite and PostgreSQL, through real polls of feeds served on
127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import update
from support.daemon_proc import write_config

from bot.cli.main import cli
from bot.clustering.item import ClusterItem
from bot.config.loader import load_config
from bot.daemon.pipeline import Pipeline
from bot.demo.data import demo_feeds, render_demo_feeds
from bot.demo.server import FeedServer
from bot.evaluation.endtoend import ALL_RELEVANT, LoopbackFeeds, build_pipeline, poll, poll_settings
from bot.ledger import DERIVATION_VERSION
from bot.storage.database import Database
from bot.storage.deals import deal_history, deal_records, stale_deal_stories
from bot.storage.models import DealRow
from bot.worker.ledger import refresh_deals

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
ITEMS = [
    ClusterItem(
        key="a",
        title="Northlake Compute signs $2 billion GPU cloud deal with Kestrel Labs",
        summary="Kestrel Labs will rent 20,000 Nvidia GPUs from Northlake Compute under a "
        "four-year cloud contract worth $2 billion, the companies said.",
        published=NOW - timedelta(hours=5),
        source="Wire One",
        url="https://wire-one.example/northlake-kestrel",
    ),
    ClusterItem(
        key="b",
        title="Kestrel Labs rents 20,000 GPUs from Northlake Compute in $2bn cloud contract",
        summary="Northlake Compute will supply Kestrel Labs with cloud capacity of 20,000 Nvidia "
        "GPUs for four years in a contract valued at $2bn.",
        published=NOW - timedelta(hours=3),
        source="Trade Two",
        url="https://trade-two.example/kestrel-northlake",
    ),
]


@contextmanager
def served_pipeline(
    items: list[ClusterItem], db_url: str, tmp_path: Path
) -> Iterator[tuple[LoopbackFeeds, Pipeline]]:
    """`items`' outlets served on 127.0.0.1 and a pipeline that polls them (every item
    relevant), its database disposed of afterwards."""
    with LoopbackFeeds(items) as served:
        settings = poll_settings(
            load_config(None), served.feed_settings(), database_url=db_url, data_dir=tmp_path
        )
        pipeline = build_pipeline(settings, clock=lambda: NOW, rules=ALL_RELEVANT)
        try:
            yield served, pipeline
        finally:
            pipeline.db.dispose()


def test_record_follows_its_story_and_keeps_its_history(db_url: str, tmp_path: Path) -> None:
    with served_pipeline(ITEMS, db_url, tmp_path) as (served, pipeline):
        served.publish(ITEMS[:1])
        poll(pipeline)
        with pipeline.db.session() as session:
            [first] = deal_records(session)
        assert first["kind"] == "cloud capacity"
        assert first["buyers"] == ["Kestrel Labs"]
        assert first["sellers"] == ["Northlake Compute"]
        assert first["value_usd"]["counted"] == 2e9
        assert [c["outlet"] for c in first["value_usd"]["claims"]] == ["Wire One"]

        served.publish(ITEMS)
        poll(pipeline)
        with pipeline.db.session() as session:
            [second] = deal_records(session)
            history = deal_history(session, second["story_id"])
            assert [h.revision for h in history] == [1, 2]
            assert [h.source_count for h in history] == [1, 2]
            assert history[0].record == first
        assert [s["outlet"] for s in second["sources"]] == ["Wire One", "Trade Two"]
        assert second["value_usd"]["counted"] == 2e9
        assert second["chips"]["counted"] == 20_000

        poll(pipeline)  # nothing new: no new revision
        with pipeline.db.session() as session:
            assert len(deal_history(session, second["story_id"])) == 2

        # A release that derives deals differently re-derives every stored record.
        with pipeline.db.session() as session:
            session.execute(update(DealRow).values(derived_by=DERIVATION_VERSION - 1))
            assert len(stale_deal_stories(session, DERIVATION_VERSION)) == 1
        refresh_deals(pipeline.db, NOW)
        with pipeline.db.session() as session:
            assert stale_deal_stories(session, DERIVATION_VERSION) == []
            assert len(deal_history(session, second["story_id"])) == 2  # same record


def test_weekly_ledger_opens_the_first_digest_of_each_week(db_url: str, tmp_path: Path) -> None:
    from bot.config import channel_settings
    from bot.worker.digests import DigestService

    channel = channel_settings(
        {
            "name": "weekly",
            "type": "email",
            "ledger": "weekly",
            "email": {"host": "127.0.0.1", "from": "bot@example.com", "to": ["a@example.com"]},
        }
    )
    with served_pipeline(ITEMS, db_url, tmp_path) as (served, pipeline):
        served.publish(ITEMS)
        poll(pipeline)
        moment = [NOW]
        service = DigestService(
            pipeline.settings.model_copy(update={"channels": [channel], "threshold": 0.0}),
            pipeline.db,
            clock=lambda: moment[0],
        )
        first = service.enqueue("weekly", period_key="saturday")
        assert first.status == "queued" and first.digest is not None
        assert first.digest.ledger is not None and first.digest.ledger.deals == 1
        assert "<svg" in first.payload["eml"]  # type: ignore[index]

        moment[0] = NOW + timedelta(hours=1)  # the same ISO week: no ledger again
        assert service.compose(channel, now=moment[0]).ledger is None

        moment[0] = NOW + timedelta(days=2)  # Monday: a new week, nothing new to report
        monday = service.enqueue("weekly", period_key="monday")
        assert monday.digest is not None and not monday.digest.stories
        assert monday.digest.ledger is not None and monday.digest.ledger.deals == 1
        assert monday.status == "queued"  # the ledger alone is worth sending


THREE_DEALS = [
    ClusterItem(
        key=f"deal-{n}",
        title=f"{buyer} signs ${n + 1} billion power deal with {seller}",
        summary=f"{seller} will supply {buyer} with {100 * (n + 1)} MW for its data centers "
        f"under a contract worth ${n + 1} billion, the companies said.",
        published=NOW - timedelta(hours=6 - n),
        source="Wire One",
        url=f"https://wire-one.example/deal-{n}",
    )
    for n, (buyer, seller) in enumerate(
        [("Kestrel Labs", "Northlake Power"), ("Orbital AI", "Granite Energy"), ("Vireo", "Helio")]
    )
]


def test_stale_records_are_derived_in_bounded_batches_that_go_on(
    db_url: str, tmp_path: Path
) -> None:
    """A batch holds at most the member budget (beyond its first story), the next goes on
    after the last story of the one before, and refreshing derives every stale record."""
    with served_pipeline(THREE_DEALS, db_url, tmp_path) as (served, pipeline):
        served.publish(THREE_DEALS)
        poll(pipeline)
        with pipeline.db.session() as session:
            assert len(deal_records(session)) == 3
            session.execute(update(DealRow).values(derived_by=DERIVATION_VERSION - 1))
        seen: list[int] = []
        after = None
        with pipeline.db.session() as session:
            while batch := stale_deal_stories(
                session, DERIVATION_VERSION, after=after, member_budget=1
            ):
                assert len(batch) == 1
                seen.append(batch[0].id)
                after = (batch[-1].last_updated_at, batch[-1].id)
            everything = stale_deal_stories(session, DERIVATION_VERSION, member_budget=3)
        assert len(set(seen)) == 3
        assert [story.id for story in everything] == seen  # oldest change first
        refresh_deals(pipeline.db, NOW)
        with pipeline.db.session() as session:
            assert stale_deal_stories(session, DERIVATION_VERSION) == []


def test_a_one_shot_poll_leaves_deal_records_to_the_next_reader(
    db_url: str, tmp_path: Path
) -> None:
    """`newsbot poll` exits after its cycle: it stores the stories and derives no deal record;
    `newsbot deals` derives every stale one before it lists them."""
    with FeedServer(render_demo_feeds(datetime.now(UTC))) as feeds:
        config = write_config(
            tmp_path / "newsbot.toml",
            db_url=db_url,
            feed_urls=[feeds.url(feed.path) for feed in demo_feeds()],
        )
        polled = CliRunner().invoke(cli, ["-c", str(config), "poll"])
        assert polled.exit_code == 0, polled.output
    db = Database(db_url)
    try:
        with db.session() as session:
            assert deal_records(session) == []
            stale = stale_deal_stories(session, DERIVATION_VERSION)
        assert stale  # the demo's deal stories, waiting for a reader

        listed = CliRunner().invoke(cli, ["-c", str(config), "deals", "--format", "json"])
        assert listed.exit_code == 0, listed.output
        assert json.loads(listed.output)  # the demo's deals, derived on the way
        with db.session() as session:
            assert stale_deal_stories(session, DERIVATION_VERSION) == []
            assert len(deal_records(session)) == len(stale)
    finally:
        db.dispose()
