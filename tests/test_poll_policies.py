"""The poll cycle applies the reader's policies: per-feed schedule from the feed's hints and
rhythm, back-off on failures, error classes, permanent moves, 410 Gone, and feeds imported from
OPML alone. Real feeds from FeedServer on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from bot import metrics
from bot.cli.main import cli
from bot.config.settings import Settings
from bot.daemon.app import Pipeline, build_pipeline
from bot.demo.server import FeedServer
from bot.storage.models import EntryRow, FeedRow

NOW = datetime.now(UTC).replace(microsecond=0)
INTERVAL = 900


def rss(
    name: str,
    items: int = 4,
    *,
    gap: timedelta = timedelta(hours=1),
    extra: str = "",
    oldest_first: bool = False,
) -> bytes:
    """An RSS feed of `items` entries published `gap` apart, the newest an hour ago (listed
    first unless `oldest_first`)."""
    parts = []
    for number in range(items):
        when = NOW - timedelta(hours=1) - number * gap
        parts.append(
            f"<item><title>{name} report {number}</title>"
            f"<link>https://{name}.example/{number}</link><guid>{name}-{number}</guid>"
            f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
            f"<description>Item {number} of {name}.</description></item>"
        )
    if oldest_first:
        parts.reverse()
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>'
        f"<link>https://{name}.example/</link>{extra}{''.join(parts)}</channel></rss>"
    ).encode()


def pipeline_for(db_url: str, tmp_path: Path, urls: list[str], **fetch: int) -> Pipeline:
    settings = Settings.model_validate(
        {
            "database_url": db_url,
            "data_dir": tmp_path,
            "poll_interval": INTERVAL,
            # The feeds are on loopback, which the fetch policy refuses by default.
            "fetch": {"min_interval": 60, "allow_private_networks": True, **fetch},
            "feeds": [{"url": url} for url in urls],
        }
    )
    return build_pipeline(settings, clock=lambda: NOW)


def poll(pipeline: Pipeline) -> None:
    asyncio.run(pipeline.poller.poll(force=True))


def feeds_by_url(pipeline: Pipeline) -> dict[str, FeedRow]:
    with pipeline.db.session() as session:
        rows = list(session.scalars(select(FeedRow)))
        session.expunge_all()
    return {row.url: row for row in rows}


def delay_s(feed: FeedRow) -> float:
    assert feed.next_check_at is not None
    return (feed.next_check_at - NOW).total_seconds()


def test_publisher_hints_set_the_next_check(
    db_url: str, tmp_path: Path, server: FeedServer
) -> None:
    server.set("/ttl.rss", rss("ttl", extra="<ttl>180</ttl>"))
    server.set(
        "/period.rss",
        rss(
            "period",
            extra="<sy:updatePeriod xmlns:sy='http://purl.org/rss/1.0/modules/syndication/'>"
            "daily</sy:updatePeriod>",
        ),
    )
    server.set("/cached.rss", rss("cached"), headers={"Cache-Control": "max-age=7200"})
    server.set("/plain.rss", rss("plain"))
    urls = [server.url(p) for p in ("ttl.rss", "period.rss", "cached.rss", "plain.rss")]
    pipeline = pipeline_for(db_url, tmp_path, urls)
    poll(pipeline)
    feeds = feeds_by_url(pipeline)
    assert delay_s(feeds[urls[0]]) == 180 * 60
    assert delay_s(feeds[urls[1]]) == 86400
    assert delay_s(feeds[urls[2]]) == 7200
    assert delay_s(feeds[urls[3]]) == 1800  # no hint: twice per hour-long gap between items


def test_busy_feeds_are_checked_more_often_than_quiet_ones_also_when_unchanged(
    db_url: str, tmp_path: Path, server: FeedServer
) -> None:
    server.set("/busy.rss", rss("busy", 12, gap=timedelta(minutes=2)))
    server.set("/quiet.rss", rss("quiet", 12, gap=timedelta(days=2)))
    busy, quiet = server.url("busy.rss"), server.url("quiet.rss")
    pipeline = pipeline_for(db_url, tmp_path, [busy, quiet])
    poll(pipeline)
    first = feeds_by_url(pipeline)
    assert delay_s(first[busy]) == INTERVAL / 4  # the most the rhythm may speed checks up
    assert delay_s(first[quiet]) == INTERVAL * 4
    poll(pipeline)  # 304: the rhythm now comes from the stored entries
    assert server.requests[-1].status == 304
    second = feeds_by_url(pipeline)
    assert second[busy].last_error is None and second[busy].consecutive_failures == 0
    assert delay_s(second[busy]) == INTERVAL / 4
    assert delay_s(second[quiet]) == INTERVAL * 4


def test_failures_back_off_honour_retry_after_and_recover(
    db_url: str, tmp_path: Path, server: FeedServer
) -> None:
    server.set("/flaky.rss", rss("flaky"))
    server.set("/limited.rss", rss("limited"))
    flaky, limited = server.url("flaky.rss"), server.url("limited.rss")
    pipeline = pipeline_for(db_url, tmp_path, [flaky, limited], max_interval=20000)
    server.set_status("/flaky.rss", 500)
    server.set_status("/limited.rss", 429, {"Retry-After": "10000"})
    delays = []
    for failures in (1, 2, 3):
        poll(pipeline)
        feed = feeds_by_url(pipeline)[flaky]
        assert feed.consecutive_failures == failures
        assert feed.last_error_class == "http_status" and "500" in (feed.last_error or "")
        ceiling = INTERVAL * 2 ** (failures - 1)
        assert ceiling / 2 <= delay_s(feed) <= ceiling
        delays.append(delay_s(feed))
    assert delays[2] > delays[0]
    limited_row = feeds_by_url(pipeline)[limited]
    assert 10000 <= delay_s(limited_row) <= 20000
    server.clear_status("/flaky.rss")
    poll(pipeline)
    feed = feeds_by_url(pipeline)[flaky]
    assert feed.consecutive_failures == 0 and feed.last_success_at == NOW
    assert delay_s(feed) == 1800  # back on the success schedule (hourly items)
    with pipeline.db.session() as session:
        assert session.scalar(select(func.count()).select_from(EntryRow)) == 4


def test_a_failing_feed_recovers_on_a_304_and_keeps_its_schedule(
    db_url: str, tmp_path: Path, server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.set("/steady.rss", rss("steady"))
    steady = server.url("steady.rss")
    pipeline = pipeline_for(db_url, tmp_path, [steady])
    poll(pipeline)
    etag = feeds_by_url(pipeline)[steady].etag
    assert etag
    server.set_status("/steady.rss", 503)
    poll(pipeline)
    poll(pipeline)
    assert feeds_by_url(pipeline)[steady].consecutive_failures == 2
    server.clear_status("/steady.rss")
    with caplog.at_level("INFO", logger="bot.worker.record"):
        poll(pipeline)
    assert server.requests[-1].status == 304
    feed = feeds_by_url(pipeline)[steady]
    assert feed.consecutive_failures == 0 and feed.last_success_at == NOW
    assert feed.lease_owner is None and feed.lease_until is None
    assert feed.etag == etag and feed.last_checked_at == NOW
    assert delay_s(feed) == 1800  # the success schedule from the stored rhythm (hourly items)
    assert "recovered after 2 failures" in caplog.text


def test_documents_that_are_not_feeds_are_classified(
    db_url: str, tmp_path: Path, server: FeedServer
) -> None:
    server.set("/page.html", b"<!doctype html><html><body>Hello</body></html>")
    server.set("/broken.xml", b"<?xml version='1.0'?><foo><bar")
    page, broken = server.url("page.html"), server.url("broken.xml")
    pipeline = pipeline_for(db_url, tmp_path, [page, broken])
    report = asyncio.run(pipeline.poller.poll(force=True))
    assert {r.url: r.error_class for r in report.feeds} == {
        page: "not_a_feed",
        broken: "parse_error",
    }
    feeds = feeds_by_url(pipeline)
    assert feeds[page].last_error_class == "not_a_feed"
    assert "HTML page" in (feeds[page].last_error or "")
    assert feeds[broken].last_error_class == "parse_error"
    assert feeds[broken].consecutive_failures == 1


def test_a_deeply_nested_json_feed_is_a_feed_error_not_a_logged_traceback(
    db_url: str, tmp_path: Path, server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    depth = 100_000
    server.set(
        "/deep.json",
        b'{"version": "https://jsonfeed.org/version/1.1", "items": '
        + b"[" * depth
        + b"]" * depth
        + b"}",
    )
    url = server.url("deep.json")
    pipeline = pipeline_for(db_url, tmp_path, [url])
    with caplog.at_level(logging.WARNING):
        poll(pipeline)
    feed = feeds_by_url(pipeline)[url]
    assert feed.last_error_class == "parse_error"
    assert feed.last_error == "not a readable JSON feed: JSON nested too deeply to read"
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []


@pytest.mark.parametrize("status", [301, 308])
def test_permanent_moves_update_the_url_once(
    db_url: str,
    tmp_path: Path,
    server: FeedServer,
    status: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.set("/new.rss", rss("moved"))
    server.set("/old.rss", b"")
    server.set_status("/old.rss", status, {"Location": server.url("new.rss")})
    old, new = server.url("old.rss"), server.url("new.rss")
    pipeline = pipeline_for(db_url, tmp_path, [old])
    with caplog.at_level(logging.WARNING, logger="bot.worker.record"):
        poll(pipeline)
    assert any(
        "moved permanently" in r.getMessage() and new in r.getMessage() for r in caplog.records
    )
    feeds = feeds_by_url(pipeline)
    assert list(feeds) == [new]
    assert feeds[new].configured_url == old
    poll(pipeline)  # the configuration still lists the old URL
    feeds = feeds_by_url(pipeline)
    assert list(feeds) == [new]
    assert server.hits("/old.rss") == 1 and server.hits("/new.rss") == 2
    with pipeline.db.session() as session:
        assert session.scalar(select(func.count()).select_from(EntryRow)) == 4


def test_temporary_redirects_keep_the_url(db_url: str, tmp_path: Path, server: FeedServer) -> None:
    server.set("/target.rss", rss("target"))
    server.set("/temp.rss", b"")
    server.set_status("/temp.rss", 302, {"Location": server.url("target.rss")})
    temp = server.url("temp.rss")
    pipeline = pipeline_for(db_url, tmp_path, [temp])
    poll(pipeline)
    feeds = feeds_by_url(pipeline)
    assert list(feeds) == [temp] and feeds[temp].last_success_at == NOW


def test_a_move_onto_a_feed_already_subscribed_disables_the_old_one(
    db_url: str, tmp_path: Path, server: FeedServer
) -> None:
    server.set("/new.rss", rss("moved"))
    server.set("/old.rss", b"")
    server.set_status("/old.rss", 301, {"Location": server.url("new.rss")})
    old, new = server.url("old.rss"), server.url("new.rss")
    pipeline = pipeline_for(db_url, tmp_path, [old, new])
    poll(pipeline)
    feeds = feeds_by_url(pipeline)
    assert set(feeds) == {old, new}
    assert not feeds[old].enabled and new in (feeds[old].disabled_reason or "")
    assert feeds[new].enabled


def test_gone_disables_the_feed_with_its_reason(
    db_url: str, tmp_path: Path, server: FeedServer
) -> None:
    server.set("/gone.rss", rss("gone"))
    gone = server.url("gone.rss")
    pipeline = pipeline_for(db_url, tmp_path, [gone])
    poll(pipeline)
    server.set_status("/gone.rss", 410)
    poll(pipeline)
    feed = feeds_by_url(pipeline)[gone]
    assert not feed.enabled and "410" in (feed.disabled_reason or "")
    hits = server.hits("/gone.rss")
    poll(pipeline)
    assert server.hits("/gone.rss") == hits  # disabled feeds are not fetched


def test_poll_command_polls_feeds_imported_from_opml_alone(
    db_url: str, tmp_path: Path, server: FeedServer
) -> None:
    server.set("/a.rss", rss("alpha"))
    server.set("/b.rss", rss("beta", 3))
    config = tmp_path / "newsbot.toml"
    config.write_text(
        f'database_url = "{db_url}"\ndata_dir = "{tmp_path}"\n'
        "[fetch]\nallow_private_networks = true\n"
    )
    opml = tmp_path / "subs.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><body>'
        f'<outline text="A" xmlUrl="{server.url("a.rss")}"/>'
        f'<outline text="B" xmlUrl="{server.url("b.rss")}"/></body></opml>'
    )
    runner = CliRunner()
    empty = runner.invoke(cli, ["-c", str(config), "poll"])
    assert empty.exit_code != 0 and "feeds import" in empty.stderr
    imported = runner.invoke(cli, ["-c", str(config), "feeds", "import", str(opml)])
    assert imported.exit_code == 0, imported.stderr
    polled = runner.invoke(cli, ["-c", str(config), "poll"])
    assert polled.exit_code == 0, polled.stderr
    assert "2 feeds checked" in polled.stdout and "7 new entries" in polled.stdout
    assert server.hits("/a.rss") == 1 and server.hits("/b.rss") == 1


def test_a_cycle_records_every_feed_once_and_releases_every_lease(
    db_url: str, tmp_path: Path, server: FeedServer
) -> None:
    names = [f"f{number}" for number in range(30)]
    for name in names:
        server.set(f"/{name}.rss", rss(name, 2))
    server.set_status("/f7.rss", 503)
    urls = [server.url(f"{name}.rss") for name in names]
    pipeline = pipeline_for(db_url, tmp_path, urls)
    seen: list[str] = []
    for cycle in range(2):  # new bodies, then 304s held and stored in shared transactions
        seen.clear()
        report = asyncio.run(pipeline.poller.poll(force=True, on_feed=lambda r: seen.append(r.url)))
        assert sorted(seen) == sorted(urls)
        assert report.outcome_counts["error"] == 1
        assert report.outcome_counts["ok" if cycle == 0 else "not_modified"] == 29
        feeds = feeds_by_url(pipeline)
        assert all(f.lease_owner is None and f.lease_until is None for f in feeds.values())
        assert all(f.last_checked_at == NOW for f in feeds.values())
        assert feeds[server.url("f7.rss")].consecutive_failures == cycle + 1
    with pipeline.db.session() as session:
        assert session.scalar(select(func.count()).select_from(EntryRow)) == 58


def test_a_feed_listing_more_new_items_than_the_cap_stores_only_the_newest(
    db_url: str, tmp_path: Path, server: FeedServer, caplog: pytest.LogCaptureFixture
) -> None:
    """fetch.max_new_items bounds what one feed adds in one poll: a feed dumping its archive
    cannot hold the cycle (and the clustering lock) with a hundred thousand joins."""
    # Listed oldest first, so "the first N of the document" would be the wrong ones.
    server.set("/flood.rss", rss("flood", 30, gap=timedelta(minutes=1), oldest_first=True))
    url = server.url("flood.rss")
    pipeline = pipeline_for(db_url, tmp_path, [url], max_new_items=12)
    labels = {"reason": "over_limit"}
    before = metrics.REGISTRY.get_sample_value("newsbot_entries_skipped_total", labels) or 0.0
    with caplog.at_level(logging.INFO, logger="bot.worker.record"):
        report = asyncio.run(pipeline.poller.poll(force=True))
    metrics.record_poll(report)
    with pipeline.db.session() as session:
        titles = set(session.scalars(select(EntryRow.title)))
    assert titles == {f"flood report {number}" for number in range(12)}
    (result,) = report.feeds
    assert result.new_entries == 12
    assert result.skipped == {"over_limit": 18}
    assert report.skipped["over_limit"] == 18
    assert "18 over limit" in report.summary()
    assert feeds_by_url(pipeline)[url].last_poll_counts["over_limit"] == 18
    assert any(
        "18 oldest new beyond fetch.max_new_items = 12" in record.getMessage()
        for record in caplog.records
    )
    after = metrics.REGISTRY.get_sample_value("newsbot_entries_skipped_total", labels)
    assert after == before + 18
