"""JSON logs an operator can ship (issue 17): each line an object with an ISO 8601 UTC time with
its zone, the logger named by one scheme (the module, `bot.…`), and the feed, story and channel
a line is about as fields of their own, not only inside the message."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from support.daemon_proc import DaemonProcess, slack_channel, wait_for, write_config
from support.slack_stand_in import SlackStandIn

from bot.demo.data import demo_feeds, render_demo_feeds
from bot.demo.server import FeedServer


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer(render_demo_feeds(datetime.now(UTC))) as server:
        yield server


def json_lines(text: str) -> list[dict[str, Any]]:
    records = []
    for line in text.splitlines():
        if line.strip():
            record = json.loads(line)  # every line is one JSON object
            assert isinstance(record, dict), line
            records.append(record)
    return records


def assert_iso_utc(value: str) -> None:
    assert "T" in value, value
    stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert stamp.utcoffset() == timedelta(0), value
    assert abs(datetime.now(UTC) - stamp) < timedelta(hours=1), value  # really UTC, not local


def test_poll_logs_json_with_utc_times_one_logger_scheme_and_feed_fields(
    sqlite_url: str, feeds: FeedServer, tmp_path: Path
) -> None:
    bad = "/no-such-feed.xml"
    feeds.set_status(bad, 500)
    urls = [feeds.url(feed.path) for feed in demo_feeds()[:3]] + [feeds.url(bad)]
    config = write_config(tmp_path / "newsbot.toml", db_url=sqlite_url, feed_urls=urls)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "-c", str(config), "--log-json", "poll"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    records = json_lines(result.stderr)
    assert records
    for record in records:
        assert_iso_utc(record["time"])
        assert record["logger"].startswith("bot."), record
    about_feeds = {record.get("feed") for record in records}
    assert set(urls) <= about_feeds, records  # each feed's outcome line names it as a field
    failed = [r for r in records if r.get("feed") == feeds.url(bad) and r["level"] == "WARNING"]
    assert failed, records
    created = [record for record in records if "created" in record["message"]]
    assert created and all(isinstance(record.get("story"), int) for record in created)


def test_daemon_json_logs_name_the_channel_of_a_digest(
    sqlite_url: str, feeds: FeedServer, tmp_path: Path
) -> None:
    with SlackStandIn() as slack:
        config = write_config(
            tmp_path / "newsbot.toml",
            db_url=sqlite_url,
            feed_urls=[feeds.url(feed.path) for feed in demo_feeds()],
            channels=slack_channel("desk", slack.webhook_url),
            extra="",
        )
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace("[daemon]\n", '[daemon]\nlog_format = "json"\n'), "utf-8")
        daemon = DaemonProcess(config, tmp_path / "daemon.log")
        try:
            wait_for(lambda: "delivered to desk" in daemon.output, 90, "a digest to be delivered")
        finally:
            assert daemon.stop() == 0, daemon.output
    records = json_lines(daemon.output)
    for record in records:
        assert_iso_utc(record["time"])
        assert record["logger"].startswith(("bot.", "apscheduler")), record
    delivered = [record for record in records if "delivered to desk" in record["message"]]
    assert delivered and all(record.get("channel") == "desk" for record in delivered)
    queued = [record for record in records if "queued for desk" in record["message"]]
    assert queued and all(record.get("channel") == "desk" for record in queued)
