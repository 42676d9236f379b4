"""Values longer than their columns, on both backends. SQLite stores any length; PostgreSQL
refuses a value longer than its VARCHAR, and that failed the whole transaction of a poll's batch
(every feed in it lost its check, and the poll ended): a feed answering with a 600-character
ETag, a channel title of 400 characters credited as the outlet, or a permanent redirect to a
URL of 2,100 characters; an OPML outline with a long title or URL failed `feeds import`."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from sqlalchemy import select
from support.daemon_proc import write_config

from bot.config import load_config
from bot.daemon.pipeline import build_pipeline
from bot.demo.server import FeedServer
from bot.model.feed import ETAG_MAX, FEED_NAME_MAX, FEED_URL_MAX
from bot.reader.opml import parse_opml
from bot.storage.feeds import import_feeds
from bot.storage.models import EntryRow, FeedRow

NOW = datetime.now(UTC).replace(microsecond=0)
LONG_TITLE = "Compute deals daily, " + "all the news of GPUs and power " * 13  # > 400 chars


def rss(title: str) -> bytes:
    published = format_datetime(NOW - timedelta(hours=1), usegmt=True)
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{title}</title>'
        "<link>https://long.example/</link><item><title>Crusoe leases 200 MW to Oracle</title>"
        "<link>https://long.example/1</link><guid>long-1</guid>"
        f"<pubDate>{published}</pubDate></item></channel></rss>"
    ).encode()


def test_a_poll_stores_what_fits_when_a_feed_sends_values_longer_than_their_columns(
    db_url: str, server: FeedServer, tmp_path: Path
) -> None:
    long_etag = '"' + "e" * 600 + '"'
    server.set_status(
        "/long.rss",
        200,
        {"ETag": long_etag, "Last-Modified": "Fri, 04 Dec 2026 10:00:00 GMT; " + "x" * 120},
        body=rss(LONG_TITLE),
    )
    far = "/" + "a" * FEED_URL_MAX
    server.set(far, rss("Far"))  # it answers: only its length stops the move
    server.set_status("/moved.rss", 301, {"Location": server.url(far)})
    server.set("/plain.rss", rss("Plain"))
    urls = [server.url(path) for path in ("/long.rss", "/moved.rss", "/plain.rss")]
    config = write_config(tmp_path / "newsbot.toml", db_url=db_url, feed_urls=urls)
    pipeline = build_pipeline(load_config(config))
    try:
        report = asyncio.run(pipeline.poller.poll(force=True))
        outcomes = {result.url: result for result in report.feeds}
        assert outcomes[urls[0]].outcome == "ok" and outcomes[urls[2]].outcome == "ok"
        moved = outcomes[urls[1]]
        assert moved.outcome == "error" and moved.error_class == "redirect", moved
        assert f"longer than {FEED_URL_MAX} characters" in (moved.error or "")
        with pipeline.db.session() as session:
            feeds = {feed.url: feed for feed in session.scalars(select(FeedRow))}
            assert feeds[urls[0]].etag is None  # too long to keep: no conditional GET then
            assert feeds[urls[0]].last_modified is None
            assert feeds[urls[1]].url == urls[1]  # not moved to a URL that does not fit
            sources = dict(session.execute(select(EntryRow.feed_id, EntryRow.source_name)).all())
        assert sources[feeds[urls[0]].id] == LONG_TITLE.strip()[:FEED_NAME_MAX]
        assert sources[feeds[urls[2]].id] == "Plain"
    finally:
        pipeline.db.dispose()
    assert len(long_etag) > ETAG_MAX


def test_an_opml_import_keeps_what_fits(db_url: str, tmp_path: Path) -> None:
    long_url = "https://long.example/" + "a" * FEED_URL_MAX
    listing = parse_opml(
        (
            '<opml version="2.0"><body>'
            f'<outline text="{LONG_TITLE}" xmlUrl="https://long.example/feed"/>'
            f'<outline text="Too far" xmlUrl="{long_url}"/>'
            "</body></opml>"
        ).encode()
    )
    assert [feed.url for feed in listing.feeds] == ["https://long.example/feed"]
    assert listing.skipped[0].startswith(
        f"Too far: not a feed URL: expected a URL of at most {FEED_URL_MAX}"
    )
    config = write_config(tmp_path / "newsbot.toml", db_url=db_url, feed_urls=[])
    pipeline = build_pipeline(load_config(config))
    try:
        with pipeline.db.session() as session:
            report = import_feeds(
                session, [(f.url, f.title) for f in listing.feeds], "feeds.opml", NOW
            )
        assert report.added == 1
        with pipeline.db.session() as session:
            (name,) = session.scalars(select(FeedRow.name))
        assert name == LONG_TITLE[:FEED_NAME_MAX]
    finally:
        pipeline.db.dispose()
