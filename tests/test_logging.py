"""Secrets never reach logs or error messages: the daemon's whole output, `newsbot check`,
`newsbot digest`, and the delivery errors stored in the outbox are searched for the webhook URL,
the bot token and the SMTP password, with every delivery failing so errors are written."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.daemon_proc import DaemonProcess, query, scalar, wait_for, write_config
from support.slack_stand_in import SlackStandIn
from support.smtp import smtp_server

from bot.demo.data import demo_feeds, render_demo_feeds
from bot.demo.server import FeedServer

HOOK_SECRET = "/services/T0SECRET/B0SECRET/hook-s3cret-value-7f3a"
TOKEN = "xoxb-1111-2222-token-s3cret-9c1d"
PASSWORD = "smtp-pa55word-s3cret-e41b"


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer(render_demo_feeds(datetime.now(UTC))) as server:
        yield server


def channels(slack: SlackStandIn, smtp_port: int, cron: str) -> str:
    return f"""
[[channels]]
name = "hook"
type = "slack"
[channels.schedule]
cron = "{cron}"
[channels.slack]
webhook_url = {json.dumps(slack.base_url + HOOK_SECRET)}

[[channels]]
name = "bot"
type = "slack"
[channels.schedule]
cron = "{cron}"
[channels.slack]
bot_token = {json.dumps(TOKEN)}
channel = "C0123456789"
api_base_url = {json.dumps(slack.api_url)}

[[channels]]
name = "mail"
type = "email"
[channels.schedule]
cron = "{cron}"
[channels.email]
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
username = "newsbot"
password = {json.dumps(PASSWORD)}
from = "newsbot <bot@example.test>"
to = ["desk@example.test"]
"""


def assert_clean(text: str, where: str) -> None:
    webhook_path = HOOK_SECRET.rsplit("/", 1)[-1]
    for secret in (HOOK_SECRET, webhook_path, TOKEN, PASSWORD):
        assert secret not in text, f"{secret!r} leaked into {where}"


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_no_secret_in_daemon_output_check_digest_or_stored_errors(
    sqlite_url: str, feeds: FeedServer, tmp_path: Path, log_format: str
) -> None:
    cron = f"{(datetime.now(UTC).minute - 2) % 60} * * * *"
    with SlackStandIn() as slack, smtp_server(users={"newsbot": "the-right-one"}) as smtp:
        config = write_config(
            tmp_path / "newsbot.toml",
            db_url=sqlite_url,
            feed_urls=[feeds.url(feed.path) for feed in demo_feeds()],
            channels=channels(slack, smtp.port, cron),
        )
        text = config.read_text(encoding="utf-8")
        config.write_text(
            text.replace(
                "[daemon]\n", f'[daemon]\nlog_format = "{log_format}"\nlog_level = "DEBUG"\n'
            ),
            encoding="utf-8",
        )
        slack.fail_next(50, status=200, error="invalid_auth")  # the bot channel's token is bad
        daemon = DaemonProcess(config, tmp_path / "daemon.log")
        try:
            wait_for(
                lambda: scalar(sqlite_url, "SELECT count(*) FROM digests WHERE attempts > 0") == 3,
                90,
                "a delivery attempt on every channel",
            )
        finally:
            assert daemon.stop() == 0, daemon.output
        output = daemon.output
        assert "FAILED" in output or "failure" in output  # the errors were logged ...
        assert_clean(output, "the daemon's output")  # ... without the secrets

        errors = query(sqlite_url, "SELECT last_error FROM digests")
        errors += query(sqlite_url, "SELECT error FROM deliveries")
        assert any(error for (error,) in errors)
        assert_clean(json.dumps(errors), "stored delivery errors")

        for command in (["check"], ["digest", "--channel", "hook"], ["digests"]):
            result = subprocess.run(
                [sys.executable, "-m", "bot", "--config", str(config), *command],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert_clean(result.stdout + result.stderr, f"newsbot {' '.join(command)}")
