"""Deal records in storage: derived when a story is made, re-derived with a new revision when it
gains reports, the history kept; on SQLite and PostgreSQL, through real polls of feeds served on
127.0.0.1."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.clustering import ClusterItem
from bot.config.loader import load_config
from bot.evaluation.endtoend import ALL_RELEVANT, LoopbackFeeds, build_pipeline, poll, poll_settings
from bot.storage.deals import deal_history, deal_records

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


def test_record_follows_its_story_and_keeps_its_history(db_url: str, tmp_path: Path) -> None:
    with LoopbackFeeds(ITEMS) as served:
        settings = poll_settings(
            load_config(None), served.feed_settings(), database_url=db_url, data_dir=tmp_path
        )
        pipeline = build_pipeline(settings, clock=lambda: NOW, rules=ALL_RELEVANT)
        try:
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
        finally:
            pipeline.db.dispose()
