"""SIGTERM lets the in-flight poll and the in-flight delivery finish before the daemon exits 0."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.daemon_proc import DaemonProcess, scalar, slack_channel, wait_for, write_config
from support.slack_stand_in import SlackStandIn

from bot.demo.data import demo_feeds, render_demo_feeds
from bot.demo.server import FeedServer


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer(render_demo_feeds(datetime.now(UTC))) as server:
        yield server


def test_sigterm_waits_for_the_poll_in_flight(
    db_url: str, feeds: FeedServer, tmp_path: Path
) -> None:
    slow = demo_feeds()[0].path
    feeds.set_delay(slow, 3)
    urls = [feeds.url(feed.path) for feed in demo_feeds()]
    config = write_config(tmp_path / "newsbot.toml", db_url=db_url, feed_urls=urls)
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        wait_for(
            lambda: (
                scalar(db_url, "SELECT count(*) FROM feeds WHERE last_success_at IS NOT NULL")
                == len(urls) - 1
            ),
            60,
            "every feed but the slow one stored",
        )
        daemon.process.send_signal(signal.SIGTERM)
        code = daemon.process.wait(timeout=60)
    finally:
        daemon.stop()
    assert code == 0, daemon.output
    assert "waiting for 1 in-flight job" in daemon.output
    stored = "SELECT count(*) FROM feeds WHERE last_success_at IS NOT NULL"
    assert scalar(db_url, stored) == len(urls)  # the slow feed finished before the exit
    assert scalar(db_url, "SELECT count(*) FROM entries WHERE processed_at IS NULL") == 0


def test_a_poll_outliving_the_grace_period_is_cut_short_with_a_warning(
    sqlite_url: str, feeds: FeedServer, tmp_path: Path
) -> None:
    slow = demo_feeds()[0].path
    feeds.set_delay(slow, 30)
    urls = [feeds.url(feed.path) for feed in demo_feeds()]
    config = write_config(
        tmp_path / "newsbot.toml", db_url=sqlite_url, feed_urls=urls, shutdown_grace=1.0
    )
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        stored = "SELECT count(*) FROM feeds WHERE last_success_at IS NOT NULL"
        wait_for(
            lambda: scalar(sqlite_url, stored) == len(urls) - 1,
            60,
            "every feed but the slow one stored",
        )
        daemon.process.send_signal(signal.SIGTERM)
        code = daemon.process.wait(timeout=60)
    finally:
        daemon.stop()
    output = daemon.output
    assert code == 0, output
    assert "Traceback" not in output and "CancelledError" not in output, output
    assert " ERROR " not in output, output
    assert (
        "1 job (poll) did not finish within the 1s grace period (daemon.shutdown_grace); "
        "cut short" in output
    ), output
    assert "stopped" in output


def test_sigterm_waits_for_the_delivery_in_flight(
    sqlite_url: str, feeds: FeedServer, tmp_path: Path
) -> None:
    cron = f"{(datetime.now(UTC).minute - 2) % 60} * * * *"
    with SlackStandIn() as slack:
        slack.hold_next(1)
        config = write_config(
            tmp_path / "newsbot.toml",
            db_url=sqlite_url,
            feed_urls=[feeds.url(feed.path) for feed in demo_feeds()],
            channels=slack_channel("desk", slack.webhook_url, cron),
        )
        daemon = DaemonProcess(config, tmp_path / "daemon.log")
        try:
            wait_for(slack.held.is_set, 90, "the digest to reach Slack")
            daemon.process.send_signal(signal.SIGTERM)
            threading.Timer(1.0, slack.release).start()
            code = daemon.process.wait(timeout=60)
        finally:
            slack.release()
            daemon.stop()
        assert code == 0, daemon.output
        assert len(slack.received) >= 1
        assert scalar(sqlite_url, "SELECT count(*) FROM digests WHERE status = 'sent'") == 1
