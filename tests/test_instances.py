"""Several `newsbot run` processes on one PostgreSQL share the work without doing anything twice,
and a daemon whose database connections are killed recovers without a restart."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from support.daemon_proc import (
    DaemonProcess,
    email_channel,
    query,
    scalar,
    slack_channel,
    wait_for,
    write_config,
)
from support.slack_stand_in import SlackStandIn
from support.smtp import smtp_server

from bot.config import FeedSettings
from bot.demo.data import demo_feeds, render_demo_feeds
from bot.demo.server import FeedServer
from bot.storage.database import Database
from bot.storage.feeds import claim_due_feeds, sync_feeds

pytestmark = pytest.mark.postgres


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer(render_demo_feeds(datetime.now(UTC))) as server:
        yield server


def test_concurrent_claims_lease_each_feed_to_one_instance(pg_url: str) -> None:
    db = Database(pg_url)
    now = datetime.now(UTC)
    with db.session() as session:
        sync_feeds(
            session, [FeedSettings(url=f"http://127.0.0.1/{i}.rss") for i in range(200)], now
        )
    claims: dict[str, list[int]] = {}
    barrier = threading.Barrier(4)

    def claim(owner: str) -> None:
        barrier.wait()
        with db.session() as session:
            claimed = claim_due_feeds(
                session, now=now, owner=owner, lease=timedelta(minutes=5), limit=50
            )
            time.sleep(0.2)  # hold the row locks while the others claim
        claims[owner] = [feed.id for feed in claimed]

    threads = [threading.Thread(target=claim, args=(f"i{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    db.dispose()
    every = [feed_id for got in claims.values() for feed_id in got]
    assert len(every) == 200 and len(set(every)) == 200
    assert all(len(got) == 50 for got in claims.values())


def test_three_instances_share_feeds_and_deliver_each_period_once(
    pg_url: str, feeds: FeedServer, tmp_path: Path
) -> None:
    minute = (datetime.now(UTC).minute - 2) % 60
    cron = f"{minute} * * * *"  # a period two minutes old: every instance catches it up
    with SlackStandIn() as slack, smtp_server() as smtp:
        urls = [feeds.url(feed.path) for feed in demo_feeds()]
        config = write_config(
            tmp_path / "newsbot.toml",
            db_url=pg_url,
            feed_urls=urls,
            min_interval=600,
            channels=slack_channel("desk", slack.webhook_url, cron)
            + email_channel("mail", smtp.port, cron),
        )
        daemons = [DaemonProcess(config, tmp_path / f"d{n}.log") for n in range(3)]
        try:
            for daemon in daemons:
                daemon.health_url()
            wait_for(
                lambda: scalar(pg_url, "SELECT count(*) FROM digests WHERE status = 'sent'") == 2,
                120,
                "both channels' digests delivered",
            )
            wait_for(
                lambda: (
                    scalar(pg_url, "SELECT count(*) FROM entries WHERE processed_at IS NULL") == 0
                ),
                60,
                "every entry processed",
            )
            # A duplicate fetch or post would come from another instance's first poll cycle
            # (its fetches, then its catch-up of both channels' digests): wait until every
            # instance has been through it.
            for daemon in daemons:
                wait_for(
                    lambda daemon=daemon: all(
                        f"app: digest {channel}: " in daemon.output for channel in ("desk", "mail")
                    ),
                    60,
                    "every instance's first poll and digest catch-up",
                )
        finally:
            codes = [daemon.stop() for daemon in daemons]
        assert codes == [0, 0, 0], [d.output for d in daemons]

        hits = {feed.path: feeds.hits(feed.path) for feed in demo_feeds()}
        assert set(hits.values()) == {1}, hits
        owners = query(pg_url, "SELECT DISTINCT lease_owner FROM feeds")
        assert owners == [(None,)]
        dupes = scalar(
            pg_url,
            "SELECT count(*) FROM (SELECT feed_id, identity FROM entries "
            "GROUP BY feed_id, identity HAVING count(*) > 1) d",
        )
        assert dupes == 0
        in_two = scalar(
            pg_url,
            "SELECT count(*) FROM (SELECT entry_id FROM story_members "
            "GROUP BY entry_id HAVING count(*) > 1) d",
        )
        assert in_two == 0
        # The seed event, reported by five outlets polled by different instances: one story.
        assert scalar(pg_url, "SELECT count(*) FROM stories WHERE source_count >= 5") == 1
        assert scalar(pg_url, "SELECT max(source_count) FROM stories") == 5

        periods = query(pg_url, "SELECT channel, period_key, status FROM digests ORDER BY channel")
        assert [(c, s) for c, _, s in periods] == [("desk", "sent"), ("mail", "sent")]
        parts = query(pg_url, "SELECT payload FROM digests WHERE channel = 'desk'")[0][0]
        assert isinstance(parts, dict)
        assert len(slack.received) == len(parts["messages"])
        assert len(smtp.received) == 1
        logs = "".join(daemon.output for daemon in daemons)
        assert logs.count("delivered to desk") == 1 and logs.count("delivered to mail") == 1


def test_killed_database_connections_are_retried_not_fatal(
    pg_url: str, feeds: FeedServer, tmp_path: Path
) -> None:
    slow = demo_feeds()[0].path
    feeds.set_delay(slow, 4)
    urls = [feeds.url(feed.path) for feed in demo_feeds()]
    config = write_config(
        tmp_path / "newsbot.toml", db_url=pg_url, feed_urls=urls, db_retry_delay=0.2
    )
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    database = make_url(pg_url).database
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    stop = threading.Event()
    killed: list[int] = []

    def killer() -> None:
        while not stop.is_set():
            with admin.connect() as conn:
                killed.extend(
                    conn.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = :db AND pid <> pg_backend_pid()"
                        ),
                        {"db": database},
                    ).scalars()
                )
            time.sleep(0.05)

    try:
        daemon.health_url()
        wait_for(
            lambda: scalar(pg_url, "SELECT count(*) FROM entries") > 0, 60, "first entries stored"
        )
        thread = threading.Thread(target=killer)
        thread.start()
        # Connections are killed across the slow feed's arrival and what the poll does with it:
        # from before it is answered until the poll job has met a killed connection since (it
        # logs a retry) or has finished without meeting one.
        wait_for(lambda: feeds.hits(slow) > 0, 60, "the slow feed answered")
        noticed = daemon.output.count("database unavailable")
        polls = daemon.output.count("app: poll: ")
        wait_for(
            lambda: (
                daemon.output.count("database unavailable") > noticed
                or daemon.output.count("app: poll: ") > polls
            ),
            60,
            "the poll job to meet a killed connection after the slow feed's arrival",
        )
        stop.set()
        thread.join()
        wait_for(
            lambda: (
                scalar(pg_url, "SELECT count(*) FROM feeds WHERE last_success_at IS NOT NULL")
                == len(urls)
            ),
            90,
            "every feed stored despite the killed connections",
        )
        wait_for(
            lambda: scalar(pg_url, "SELECT count(*) FROM entries WHERE processed_at IS NULL") == 0,
            60,
            "every entry processed",
        )
        assert daemon.process.poll() is None, daemon.output
    finally:
        stop.set()
        code = daemon.stop()
        admin.dispose()
    assert code == 0, daemon.output
    assert killed, "no backend was terminated"
    assert "database unavailable" in daemon.output or "presence connection lost" in daemon.output
