"""The feed lifecycle: configured and imported feeds, removal (from the file or with
`newsbot feeds remove`), what the poller keeps and skips and says so, and what old items do
to digests and housekeeping. Real feeds from FeedServer on 127.0.0.1, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from support.daemon_proc import DaemonProcess, scalar, wait_for
from support.daemon_proc import write_config as write_daemon_config

from bot.cli.main import cli
from bot.config import load_config
from bot.daemon.app import Pipeline, build_pipeline
from bot.daemon.housekeeping import run_housekeeping
from bot.demo.server import FeedServer
from bot.reader.opml import parse_opml
from bot.storage.models import EntryRow, FeedRow
from bot.worker.record import FIRST_POLL_KEEP

NOW = datetime.now(UTC).replace(microsecond=0)
RETENTION_DAYS = 90
DEALS = [
    "Oracle signs $30 billion deal to lease 200 MW of GPU capacity from Crusoe in Abilene",
    "CoreWeave agrees to supply Meta with 100,000 Nvidia GPUs in $14 billion contract",
    "Nebius signs 5-year, $17 billion GPU capacity deal with Microsoft",
]


def item(guid: str, title: str, published: datetime | None) -> str:
    date = f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate>" if published else ""
    return (
        f"<item><title>{title}</title><link>https://news.example/{guid}</link>"
        f"<guid>{guid}</guid>{date}<description>{title}.</description></item>"
    )


def rss(name: str, items: list[str]) -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>'
        f"<link>https://{name}.example/</link>{''.join(items)}</channel></rss>"
    ).encode()


def plain(name: str, count: int = 2) -> bytes:
    return rss(
        name,
        [
            item(f"{name}-{i}", f"{name} report {i}", NOW - timedelta(hours=i + 1))
            for i in range(count)
        ],
    )


def write_config(path: Path, db_url: str, urls: list[str], extra: str = "") -> Path:
    lines = [
        f"database_url = {json.dumps(db_url)}",
        f"data_dir = {json.dumps(str(path.parent))}",
        "poll_interval = 300",
        extra,
        "[fetch]",
        "allow_private_networks = true",  # the feeds are on loopback
        "[daemon]",
        f"retention_days = {RETENTION_DAYS}",
    ]
    for url in urls:
        lines += ["[[feeds]]", f"url = {json.dumps(url)}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def newsbot(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["-c", str(config), *args])
    return result.exit_code, result.stdout, result.stderr


def feed_rows(config: Path) -> dict[str, dict[str, object]]:
    code, out, err = newsbot(config, "feeds", "--all", "--json")
    assert code == 0, err
    return {row["url"]: row for row in map(json.loads, out.splitlines())}


# --- defect 2: the configuration is the source of truth ------------------------------------


def test_a_feed_dropped_from_the_config_is_no_longer_polled_nor_exported(
    db_url: str, server: FeedServer, tmp_path: Path
) -> None:
    for name in ("kept", "dropped", "imported"):
        server.set(f"/{name}.rss", plain(name))
    kept, imported = server.url("kept.rss"), server.url("imported.rss")
    dropped = server.url("dropped.rss") + "?token=s3cr3t-value"
    config = write_config(tmp_path / "newsbot.toml", db_url, [kept, dropped])
    opml = tmp_path / "subs.opml"
    opml.write_text(
        f'<opml version="2.0"><body><outline text="I" xmlUrl="{imported}"/></body></opml>'
    )
    assert newsbot(config, "feeds", "import", str(opml))[0] == 0
    code, _, err = newsbot(config, "poll", "--all")
    assert code == 0, err
    assert server.hits("/dropped.rss") == 1 and server.hits("/imported.rss") == 1

    write_config(config, db_url, [kept])
    code, _, err = newsbot(config, "poll", "--all")
    assert code == 0, err
    assert server.hits("/kept.rss") == 2 and server.hits("/imported.rss") == 2
    assert server.hits("/dropped.rss") == 1  # not polled any more, even with --all
    said = [line for line in err.splitlines() if "no longer listed" in line]
    assert len(said) == 1 and str(config.resolve()) in said[0] and "2 entries are kept" in said[0]
    assert "s3cr3t-value" not in err and "token=***" in said[0]

    code, out, _ = newsbot(config, "feeds", "export")
    assert code == 0
    assert {f.url for f in parse_opml(out.encode()).feeds} == {kept, imported}
    code, out, _ = newsbot(config, "feeds", "--json")
    assert code == 0 and "dropped.rss" not in out
    rows = feed_rows(config)
    masked = next(url for url in rows if "dropped" in url)
    assert rows[masked]["status"] == "removed" and rows[masked]["stored"] == 2
    assert rows[kept]["source"] == "config" and rows[kept]["source_files"] == [
        str(config.resolve())
    ]
    assert rows[imported]["source"] == "opml"
    assert rows[imported]["source_files"] == [str(opml.resolve())]
    code, table, _ = newsbot(config, "feeds")
    assert "config:newsbot.toml" in table and "opml:subs.opml" in table

    # Listed again, it is polled again, with the entries it had.
    write_config(config, db_url, [kept, dropped])
    assert newsbot(config, "poll", "--all")[0] == 0
    assert server.hits("/dropped.rss") == 2


def test_feeds_remove_takes_imported_feeds_only(
    db_url: str, server: FeedServer, tmp_path: Path
) -> None:
    server.set("/configured.rss", plain("configured"))
    server.set("/imported.rss", plain("imported", 3))
    configured, imported = server.url("configured.rss"), server.url("imported.rss")
    config = write_config(tmp_path / "newsbot.toml", db_url, [configured])
    opml = tmp_path / "subs.opml"
    opml.write_text(
        f'<opml version="2.0"><body><outline text="I" xmlUrl="{imported}"/></body></opml>'
    )
    assert newsbot(config, "feeds", "import", str(opml))[0] == 0
    assert newsbot(config, "poll", "--all")[0] == 0

    code, _, err = newsbot(config, "feeds", "remove", "https://unknown.example/rss")
    assert code == 1 and "no feed with URL https://unknown.example/rss" in err
    code, _, err = newsbot(config, "feeds", "remove", configured)
    assert code == 2
    assert str(config.resolve()) in err and "[[feeds]]" in err and "SIGHUP" in err
    code, out, err = newsbot(config, "feeds", "remove", imported)
    assert code == 0, err
    assert "3 entries are kept" in out
    code, _, err = newsbot(config, "feeds", "remove", imported)
    assert code == 1 and "no feed with URL" in err

    assert newsbot(config, "poll", "--all")[0] == 0
    assert server.hits("/imported.rss") == 1 and server.hits("/configured.rss") == 2
    assert feed_rows(config)[imported]["status"] == "removed"
    code, out, _ = newsbot(config, "feeds", "export")
    assert {f.url for f in parse_opml(out.encode()).feeds} == {configured}
    # Imported again, it is polled again.
    code, out, _ = newsbot(config, "feeds", "import", str(opml))
    assert "1 removed feed restored" in out
    assert newsbot(config, "poll", "--all")[0] == 0
    assert server.hits("/imported.rss") == 2


def test_a_poll_syncs_the_configuration_unless_its_caller_just_did(
    db_url: str, server: FeedServer, tmp_path: Path
) -> None:
    """`newsbot poll` syncs the configured feeds itself (to count them) and tells the poller
    it did (`synced`): the poller then polls the feeds as stored, without syncing again."""
    server.set("/listed.rss", plain("listed"))
    pipeline = pipeline_for(db_url, tmp_path, [server.url("listed.rss")], [NOW])
    try:
        report = asyncio.run(pipeline.poller.poll(force=True, synced=True))
        assert not report.feeds and server.hits("/listed.rss") == 0  # not synced yet: unknown
        report = asyncio.run(pipeline.poller.poll(force=True))
        assert len(report.feeds) == 1 and server.hits("/listed.rss") == 1
    finally:
        pipeline.db.dispose()


# --- defect 10: old items, and what every poll skips ------------------------------------------


def pipeline_for(db_url: str, tmp_path: Path, urls: list[str], clock: list[datetime]) -> Pipeline:
    channel = (
        '[[channels]]\nname = "desk"\ntype = "slack"\n'
        '[channels.slack]\nwebhook_url = "https://hooks.slack.example/services/T/B/x"\n'
    )
    config = write_config(tmp_path / "newsbot.toml", db_url, urls, extra="")
    config.write_text(config.read_text() + channel)
    return build_pipeline(load_config(config), clock=lambda: clock[0])


def poll(pipeline: Pipeline) -> None:
    asyncio.run(pipeline.poller.poll(force=True))


def entry_titles(pipeline: Pipeline) -> list[str]:
    with pipeline.db.session() as session:
        return sorted(session.scalars(select(EntryRow.title)))


def test_first_poll_keeps_the_newest_old_items_and_every_poll_counts_what_it_skips(
    db_url: str, server: FeedServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    old = [
        item(f"old-{i}", f"archive report {i}", NOW - timedelta(days=RETENTION_DAYS + 10 + i))
        for i in range(25)
    ]
    fresh = [item(f"new-{i}", f"fresh report {i}", NOW - timedelta(hours=i + 1)) for i in range(2)]
    twice = item("new-0", "fresh report 0", NOW - timedelta(hours=1))
    server.set("/quiet.rss", rss("quiet", [*fresh, twice, *old]))
    url = server.url("quiet.rss")
    clock = [NOW]
    pipeline = pipeline_for(db_url, tmp_path, [url], clock)
    with caplog.at_level(logging.INFO, logger="bot.worker.record"):
        poll(pipeline)
    titles = entry_titles(pipeline)
    # The two fresh items and the 18 newest old ones: the newest FIRST_POLL_KEEP in all.
    assert len(titles) == FIRST_POLL_KEEP
    assert {f"archive report {i}" for i in range(18)} <= set(titles)
    said = [r.getMessage() for r in caplog.records if url in r.getMessage()]
    assert any(
        "skipped 7 older than daemon.retention_days = 90; 1 listed twice" in line
        and "kept 18 items older than the retention window" in line
        for line in said
    ), said

    config = tmp_path / "newsbot.toml"
    row = feed_rows(config)[url]
    assert row["status"] == "ok" and row["stored"] == FIRST_POLL_KEEP
    assert row["last_poll"]["too_old"] == 7 and row["last_poll"]["backfilled"] == 18
    assert row["last_poll"]["duplicate"] == 1 and row["last_poll"]["new"] == FIRST_POLL_KEEP

    # Later polls keep nothing older than the window, and say what they skipped.
    server.set(
        "/quiet.rss", rss("quiet", [item("new-2", "fresh report 2", NOW), *fresh, twice, *old])
    )
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="bot.worker.record"):
        poll(pipeline)
    assert len(entry_titles(pipeline)) == FIRST_POLL_KEEP + 1
    row = feed_rows(config)[url]
    assert row["last_poll"]["new"] == 1 and row["last_poll"]["too_old"] == 25
    assert row["last_poll"]["unchanged"] == 2 and row["stored"] == FIRST_POLL_KEEP + 1
    assert any("skipped 25 older than" in r.getMessage() for r in caplog.records)


def test_a_feed_with_only_old_items_is_not_shown_as_ok_and_empty(
    db_url: str, server: FeedServer, tmp_path: Path
) -> None:
    """Before: all items older than the window, nothing stored, status "ok"."""
    server.set(
        "/archive.rss",
        rss("archive", [item("a", "archive report", NOW - timedelta(days=RETENTION_DAYS + 30))]),
    )
    url = server.url("archive.rss")
    pipeline = pipeline_for(db_url, tmp_path, [url], [NOW])
    poll(pipeline)
    assert entry_titles(pipeline) == ["archive report"]
    row = feed_rows(tmp_path / "newsbot.toml")[url]
    assert row["stored"] == 1 and row["last_poll"]["backfilled"] == 1


def test_old_items_kept_on_a_first_poll_are_not_news_in_the_digest(
    db_url: str, server: FeedServer, tmp_path: Path
) -> None:
    server.set(
        "/deals.rss",
        rss(
            "deals",
            [
                item("today", DEALS[0], NOW - timedelta(hours=2)),
                item("last-week", DEALS[1], NOW - timedelta(days=10)),
                item("last-year", DEALS[2], NOW - timedelta(days=RETENTION_DAYS + 100)),
            ],
        ),
    )
    clock = [NOW]
    pipeline = pipeline_for(db_url, tmp_path, [server.url("deals.rss")], clock)
    poll(pipeline)
    assert sorted(entry_titles(pipeline)) == sorted(DEALS)  # all three stored
    channel = pipeline.settings.channel("desk")
    digest = pipeline.digests.compose(channel, now=NOW)
    assert [story.headline for story in digest.stories] == [DEALS[0]]
    assert pipeline.digests.enqueue_breaking("desk") == []


def test_housekeeping_and_polling_do_not_loop_over_old_and_undated_items(
    db_url: str, server: FeedServer, tmp_path: Path
) -> None:
    """Kept, deleted by retention, fetched again: the database remembers what it has seen."""
    items = [
        item("undated", "undated report", None),
        item("old", "archive report", NOW - timedelta(days=RETENTION_DAYS + 5)),
    ]
    server.set("/loop.rss", rss("loop", items))
    clock = [NOW]
    pipeline = pipeline_for(db_url, tmp_path, [server.url("loop.rss")], clock)
    poll(pipeline)
    assert entry_titles(pipeline) == ["archive report", "undated report"]

    later = NOW + timedelta(days=RETENTION_DAYS + 1)
    report = run_housekeeping(pipeline.db, now=later, retention_days=RETENTION_DAYS)
    assert report.entries_deleted == 2
    clock[0] = later
    server.set("/loop.rss", rss("loop", [item("fresh", "fresh report", later), *items]))
    poll(pipeline)
    assert entry_titles(pipeline) == ["fresh report"]
    with pipeline.db.session() as session:
        counts = session.scalars(select(FeedRow.last_poll_counts)).one()
    assert counts is not None
    assert (counts["new"], counts["expired"], counts["too_old"]) == (1, 1, 1)

    # Still listed: still remembered after another housekeeping run, and not stored again.
    run_housekeeping(pipeline.db, now=later + timedelta(days=1), retention_days=RETENTION_DAYS)
    server.set("/loop.rss", rss("loop", [item("fresh", "fresh report", later), items[0]]))
    poll(pipeline)
    assert entry_titles(pipeline) == ["fresh report"]
    with pipeline.db.session() as session:
        assert session.scalar(select(func.count()).select_from(EntryRow)) == 1


# --- defect 2: SIGHUP reloads the configuration of a running daemon ------------------------


def test_sighup_reloads_the_feeds_and_survives_a_broken_config(
    db_url: str, server: FeedServer, tmp_path: Path
) -> None:
    for name in ("a", "b", "c"):
        server.set(f"/{name}.rss", plain(name))
    a, b, c = (server.url(f"{name}.rss") for name in ("a", "b", "c"))
    config = write_daemon_config(tmp_path / "newsbot.toml", db_url=db_url, feed_urls=[a, b])
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        daemon.health_url()
        assert "no [[channels]] configured" in daemon.output  # the start-up warnings
        wait_for(lambda: server.hits("/a.rss") and server.hits("/b.rss"), what="first poll")
        # (the daemon's summary line, not the poller's "bot.worker.poll: feed ... added": a
        # reload during the first poll would leave the feed added to the next one, 30 s on)
        wait_for(lambda: "app: poll: " in daemon.output, what="the first poll to finish")
        write_daemon_config(config, db_url=db_url, feed_urls=[a, c])
        daemon.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "configuration reloaded" in daemon.output, what="the reload")
        wait_for(lambda: server.hits("/c.rss") > 0, what="the feed added to be polled")
        removed = "SELECT COUNT(*) FROM feeds WHERE url = :url AND removed_at IS NOT NULL"
        assert scalar(db_url, removed, url=b) == 1
        assert f"feed {b} is no longer listed in {config.resolve()}" in daemon.output

        config.write_text(config.read_text().replace("poll_interval = 30", "poll_interval = -5"))
        daemon.process.send_signal(signal.SIGHUP)
        wait_for(lambda: "configuration not reloaded" in daemon.output, what="the refusal")
        refusal = next(
            line for line in daemon.output.splitlines() if "configuration not reloaded" in line
        )
        assert str(config) in refusal and "poll_interval" in refusal
        assert daemon.process.poll() is None  # still running, on the previous configuration
        assert scalar(db_url, removed, url=c) == 0
    finally:
        code = daemon.stop()
    assert code == 0, daemon.output
