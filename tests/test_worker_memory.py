"""After a cycle with new entries the poller moves the long-lived state out of the garbage
collector's full scans (gc.freeze), without leaking what is dropped later; a cycle of unchanged
feeds leaves it alone. Real feeds from the demo FeedServer on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import bot.worker.poll
from bot.config.settings import Settings
from bot.daemon.app import build_pipeline
from bot.demo.data import demo_feeds, render_demo_feeds
from bot.demo.server import FeedServer
from bot.worker.memory import full_collections_deferred, settle_long_lived
from bot.worker.parsing import ParsedBody
from bot.worker.record import FeedResult

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(autouse=True)
def thawed() -> Iterator[None]:
    gc.unfreeze()
    yield
    gc.unfreeze()


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


def test_a_dropped_cycle_of_settled_objects_is_freed_by_the_next_settle() -> None:
    first, second = Node(), Node()
    first.other, second.other = second, first  # a reference cycle: only the collector frees it
    alive = weakref.ref(first)
    settle_long_lived()
    assert gc.get_freeze_count() > 0
    del first, second
    gc.collect()  # frozen objects are exempt from ordinary collections
    assert alive() is not None
    settle_long_lived()
    assert alive() is None


def _demo_settings(tmp_path: Path, server: FeedServer) -> Settings:
    return Settings.model_validate(
        {
            "data_dir": tmp_path,
            "feeds": [{"url": server.url(feed.path)} for feed in demo_feeds()],
            "fetch": {"allow_private_networks": True},  # the feeds are on loopback
        }
    )


def test_a_cycle_with_new_entries_settles_and_an_unchanged_one_does_not(tmp_path: Path) -> None:
    with FeedServer(render_demo_feeds(NOW)) as server:
        pipeline = build_pipeline(_demo_settings(tmp_path, server), clock=lambda: NOW)
        try:
            cold = asyncio.run(pipeline.poller.poll(force=True))
            assert cold.new_entries > 0
            assert "settle" in cold.seconds
            frozen = gc.get_freeze_count()
            assert frozen > 0
            warm = asyncio.run(pipeline.poller.poll(force=True))
            assert warm.new_entries == 0
            assert "settle" not in warm.seconds
            # Nothing was frozen again (frozen objects that died since are gone from the count).
            assert gc.get_freeze_count() <= frozen
        finally:
            pipeline.db.dispose()


def test_a_one_shot_poll_leaves_the_collector_alone(tmp_path: Path) -> None:
    """`newsbot poll` exits after its cycle: settling the heap would only delay the exit."""
    with FeedServer(render_demo_feeds(NOW)) as server:
        settings = _demo_settings(tmp_path, server)
        pipeline = build_pipeline(settings, clock=lambda: NOW, long_lived=False)
        gc.unfreeze()
        try:
            cold = asyncio.run(pipeline.poller.poll(force=True))
            assert cold.new_entries > 0
            assert "settle" not in cold.seconds
            assert gc.get_freeze_count() == 0
        finally:
            pipeline.db.dispose()


def test_a_cycle_keeps_no_feed_it_stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A cycle's memory follows what is in flight, not its size: once a feed's rows are stored,
    nothing keeps its parsed rows (one feed per batch here; every demo feed has a body)."""
    monkeypatch.setattr(bot.worker.poll, "BATCH_FEEDS", 1)
    live: list[int] = []

    def on_feed(result: FeedResult) -> None:
        gc.collect()  # what is only garbage (reference cycles) does not count
        live.append(sum(1 for o in gc.get_objects() if isinstance(o, ParsedBody)))

    with FeedServer(render_demo_feeds(NOW)) as server:
        settings = Settings.model_validate(
            {
                "data_dir": tmp_path,
                "feeds": [{"url": server.url(feed.path)} for feed in demo_feeds()],
                "fetch": {"allow_private_networks": True},  # the feeds are on loopback
            }
        )
        pipeline = build_pipeline(settings, clock=lambda: NOW)
        pipeline.poller.parse_processes = 0
        try:
            report = asyncio.run(pipeline.poller.poll(force=True, on_feed=on_feed))
        finally:
            pipeline.db.dispose()
    assert report.outcome_counts["ok"] == len(demo_feeds()) == len(live) > 2
    # When the last feed is reported, at most two feeds' rows are still held (the batch being
    # reported, and transiently one more), not every feed's: 8 before the cycle let go of them.
    assert live[-1] <= 2


def test_full_collections_wait_for_the_end_of_the_block() -> None:
    before = gc.get_threshold()
    full: list[int] = []

    def count(phase: str, info: dict[str, int]) -> None:
        if phase == "start" and info["generation"] == 2:
            full.append(1)

    gc.callbacks.append(count)
    try:
        with full_collections_deferred():
            assert gc.get_threshold()[:2] == before[:2]
            # Enough surviving objects for several full collections at the usual thresholds.
            kept = [Node() for _ in range(before[0] * before[1] * before[2] * 3)]
            assert kept
        assert not full
        assert gc.get_threshold() == before
    finally:
        gc.callbacks.remove(count)


def test_overlapping_blocks_restore_the_thresholds_when_the_last_ends() -> None:
    before = gc.get_threshold()
    first = full_collections_deferred()
    second = full_collections_deferred()
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)  # the first cycle ends while the second still runs
    assert gc.get_threshold() != before
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before
