"""A digest whose cron time falls during a database outage (issue 18): the daemon records the
period as due before anything can fail, and delivers it once the database answers again, however
long after its own quick retries gave up.

The database is a real PostgreSQL reached through a TCP proxy on loopback that the test cuts
(every connection reset, new ones refused) across a cron time and restores later."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from support.daemon_proc import DaemonProcess, healthz, query, wait_for, write_config
from support.slack_stand_in import SlackStandIn
from support.tcp_proxy import TcpProxy

from bot.demo.data import demo_feeds, render_demo_feeds
from bot.demo.server import FeedServer

# The daemon's first wait before retrying the database (1 s by default), doubling.
DB_RETRY_DELAY_S = 0.2
# Longer than the daemon's own quick retries of a job (six attempts, 0.2 s doubling: at most
# 6.2 s of waits), so that only a catch-up after the recovery can deliver the period.
OUTAGE_AFTER_CRON_S = 15
LEAD_S = 5  # the database goes away this long before the cron time


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer(render_demo_feeds(datetime.now(UTC))) as server:
        yield server


def channel_every_minute(name: str, webhook_url: str) -> str:
    # send_empty: every period stores a digest, so the one that fell in the outage is visible
    return (
        f'[[channels]]\nname = "{name}"\ntype = "slack"\nsend_empty = true\n'
        '[channels.schedule]\ncron = "* * * * *"\ntimezone = "UTC"\n'
        f"[channels.slack]\nwebhook_url = {json.dumps(webhook_url)}\n"
    )


def sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, (moment - datetime.now(UTC)).total_seconds()))


@pytest.mark.postgres
def test_a_digest_due_during_a_database_outage_is_delivered_when_it_is_back(
    pg_url: str, feeds: FeedServer, tmp_path: Path
) -> None:
    url = make_url(pg_url)
    with TcpProxy((url.host or "127.0.0.1", url.port or 5432)) as proxy, SlackStandIn() as slack:
        proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        config = write_config(
            tmp_path / "newsbot.toml",
            db_url=proxied,
            feed_urls=[feeds.url(demo_feeds()[0].path)],
            channels=channel_every_minute("desk", slack.webhook_url),
            db_retry_delay=DB_RETRY_DELAY_S,
        )
        daemon = DaemonProcess(config, tmp_path / "daemon.log", env={"PGCONNECT_TIMEOUT": "3"})
        try:
            base = daemon.health_url()
            wait_for(lambda: healthz(base)[0] == 200, 90, "the daemon to connect and poll")
            now = datetime.now(UTC)
            cron_time = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
            if (cron_time - now).total_seconds() < LEAD_S + 2:
                cron_time += timedelta(minutes=1)
            sleep_until(cron_time - timedelta(seconds=LEAD_S))
            proxy.stop()
            sleep_until(cron_time + timedelta(seconds=OUTAGE_AFTER_CRON_S))
            key = f"desk:scheduled:{cron_time.isoformat()}"
            assert query(pg_url, "SELECT id FROM digests WHERE idempotency_key = :k", k=key) == []
            proxy.start()

            def delivered() -> bool:
                rows = query(pg_url, "SELECT status FROM digests WHERE idempotency_key = :k", k=key)
                return rows == [("sent",)]

            wait_for(delivered, 90, f"the digest of {cron_time:%H:%M} to be delivered")
            # (the outbox job may have run the due period first; the watcher says so too)
            wait_for(
                lambda: "the database answers again" in daemon.output,
                60,
                "the recovery to be noticed",
            )
        finally:
            code = daemon.stop()
        assert code == 0, daemon.output
    sent = query(pg_url, "SELECT count(*) FROM digests WHERE status = 'sent'")[0][0]
    assert len(slack.messages) == sent  # each delivered period posted once
