"""A channel whose deliveries keep failing makes `/healthz` fail, naming the channel and the
last error (issue 17): before, every digest failed while `/healthz` stayed 200."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.daemon_proc import (
    DaemonProcess,
    email_channel,
    healthz,
    scalar,
    slack_channel,
    wait_for,
    write_config,
)
from support.slack_stand_in import SlackStandIn
from support.smtp import smtp_server

from bot.demo.data import demo_feeds, render_demo_feeds
from bot.demo.server import FeedServer


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer(render_demo_feeds(datetime.now(UTC))) as server:
        yield server


def test_a_channel_whose_deliveries_fail_makes_healthz_fail_naming_it(
    sqlite_url: str, feeds: FeedServer, tmp_path: Path
) -> None:
    with SlackStandIn() as slack, smtp_server(users={"newsbot": "the-right-one"}) as smtp:
        config = write_config(
            tmp_path / "newsbot.toml",
            db_url=sqlite_url,
            feed_urls=[feeds.url(feed.path) for feed in demo_feeds()],
            channels=slack_channel("desk", slack.webhook_url)
            # the SMTP server refuses this login (535): every delivery to "mail" fails
            + email_channel("mail", smtp.port, extra='username = "newsbot"\npassword = "wrong"\n'),
        )
        daemon = DaemonProcess(config, tmp_path / "daemon.log")
        try:
            base = daemon.health_url()
            wait_for(
                lambda: scalar(sqlite_url, "SELECT count(*) FROM digests WHERE status = 'failed'"),
                90,
                "the mail digest to fail",
            )
            wait_for(lambda: slack.messages, 90, "the Slack digest to be delivered")
            status, body = healthz(base)
        finally:
            assert daemon.stop() == 0, daemon.output
    assert status == 503, body
    assert body["status"] == "unhealthy"
    channels = body["channels"]
    assert isinstance(channels, dict)
    assert channels["desk"] == "ok"
    assert channels["mail"].startswith("failing"), channels  # type: ignore[union-attr]
    reasons = [str(reason) for reason in body["reasons"]]  # type: ignore[attr-defined]
    failing = [reason for reason in reasons if "channel mail" in reason]
    assert len(failing) == 1 and "535" in failing[0], reasons
    assert not any("channel desk" in reason for reason in reasons)
    # the poll itself is fine: the channel is the only reason
    assert body["database"] == "ok" and body["last_poll_ok"] is not None
