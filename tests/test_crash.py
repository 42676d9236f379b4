"""SIGKILL the daemon in the middle of a poll and of a delivery, restart it: nothing is lost and
nothing is posted twice (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.daemon_proc import DaemonProcess, query, scalar, wait_for, write_config
from support.slack_stand_in import SlackStandIn

from bot.demo.data import demo_feeds, render_demo_feeds
from bot.demo.server import FeedServer
from bot.reader.parser import parse_feed


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer(render_demo_feeds(datetime.now(UTC))) as server:
        yield server


def expected_identities(feeds: FeedServer) -> dict[str, set[str]]:
    """What each feed carries, parsed exactly as the daemon parses it."""
    out: dict[str, set[str]] = {}
    for feed in demo_feeds():
        body = feeds.get(feed.path)
        assert body is not None
        parsed = parse_feed(body, url=feeds.url(feed.path), now=datetime.now(UTC))
        out[feeds.url(feed.path)] = {entry.identity for entry in parsed.entries}
    return out


def stored_identities(db_url: str) -> list[tuple[str, str]]:
    rows = query(db_url, "SELECT f.url, e.identity FROM entries e JOIN feeds f ON f.id = e.feed_id")
    return [(str(url), str(identity)) for url, identity in rows]


def test_sigkill_during_a_poll_loses_no_entry(
    db_url: str, feeds: FeedServer, tmp_path: Path
) -> None:
    slow = [feed.path for feed in demo_feeds()[:2]]
    for path in slow:
        feeds.set_delay(path, 60)
    urls = [feeds.url(feed.path) for feed in demo_feeds()]
    config = write_config(tmp_path / "newsbot.toml", db_url=db_url, feed_urls=urls)
    first = DaemonProcess(config, tmp_path / "first.log")
    try:
        fast = len(urls) - len(slow)
        wait_for(
            lambda: (
                scalar(db_url, "SELECT count(*) FROM feeds WHERE last_success_at IS NOT NULL")
                >= fast
            ),
            60,
            "fast feeds stored",
        )
        assert scalar(db_url, "SELECT count(*) FROM entries") > 0
        assert all(feeds.hits(p) == 0 for p in slow)  # still being answered
    finally:
        first.kill()  # SIGKILL while the slow feeds are still being fetched
    assert scalar(db_url, "SELECT count(*) FROM feeds WHERE lease_owner IS NOT NULL") >= 2

    for path in slow:
        feeds.set_delay(path, 0)
    second = DaemonProcess(config, tmp_path / "second.log")
    try:
        wait_for(
            lambda: (
                scalar(db_url, "SELECT count(*) FROM feeds WHERE last_success_at IS NOT NULL")
                == len(urls)
            ),
            60,
            "every feed stored after the restart",
        )
        wait_for(
            lambda: scalar(db_url, "SELECT count(*) FROM entries WHERE processed_at IS NULL") == 0,
            60,
            "every entry processed",
        )
    finally:
        assert second.stop() == 0, second.output
    stored = stored_identities(db_url)
    assert len(stored) == len(set(stored)), "an entry was stored twice"
    expected = expected_identities(feeds)
    for url, identities in expected.items():
        assert {i for u, i in stored if u == url} == identities, url
    assert "took over" in second.output  # the dead run's leases were freed, not waited out


def bot_channel(name: str, slack: SlackStandIn, cron: str) -> str:
    return (
        f'[[channels]]\nname = "{name}"\ntype = "slack"\n'
        f'[channels.schedule]\ncron = "{cron}"\ntimezone = "UTC"\n'
        f'[channels.slack]\nbot_token = "{slack.token}"\nchannel = "{slack.channels[0]}"\n'
        f'api_base_url = "{slack.api_url}"\n'
        # A short client timeout, so that the post in doubt settles (twice that) soon after the
        # crash; still long enough that the post is in flight when the daemon is killed.
        "timeout = 3\n"
    )


def test_sigkill_during_a_delivery_posts_each_message_once(
    db_url: str, feeds: FeedServer, tmp_path: Path
) -> None:
    """The post in flight reached Slack (the stand-in counts it once its body arrived) but the
    daemon died before the answer: the restarted daemon finds it in the channel by its
    metadata instead of posting it again, and posts the rest of the digest."""
    minute = (datetime.now(UTC).minute - 2) % 60
    with SlackStandIn() as slack:
        slack.hold_next(1)
        urls = [feeds.url(feed.path) for feed in demo_feeds()]
        config = write_config(
            tmp_path / "newsbot.toml",
            db_url=db_url,
            feed_urls=urls,
            # One period for both runs: its time passed two minutes ago, so each start catches
            # it up, and the next one is an hour away.
            channels=bot_channel("desk", slack, cron=f"{minute} * * * *"),
        )
        first = DaemonProcess(config, tmp_path / "first.log")
        try:
            wait_for(slack.held.is_set, 90, "the digest's first message to reach Slack")
        finally:
            first.kill()
        slack.release()
        assert len(slack.received) == 1  # posted, though the daemon never heard so

        second = DaemonProcess(config, tmp_path / "second.log")
        try:
            wait_for(
                lambda: scalar(db_url, "SELECT count(*) FROM digests WHERE status = 'sent'") == 1,
                120,
                "the digest to be delivered after the restart",
            )
        finally:
            assert second.stop() == 0, second.output
        digests = query(db_url, "SELECT payload, status FROM digests")
        assert len(digests) == 1
        payload = digests[0][0]
        payload = json.loads(payload) if isinstance(payload, str) else payload
        assert isinstance(payload, dict)
        assert [m["text"] for m in slack.messages] == [m["text"] for m in payload["messages"]]
        posted = Counter(json.dumps(message, sort_keys=True) for message in slack.messages)
        assert max(posted.values()) == 1
        assert slack.history_requests >= 1
