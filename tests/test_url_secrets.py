"""Credentials in URLs never reach a channel, a log or a command's output (issue 18, defect 6).

A private feed's URL carries its credentials (``?apikey=``, ``user:password@``), a
``database_url`` its password (in the user information or as libpq's ``?password=``). The feed
is polled over loopback while it fails, its digest goes to the Slack stand-in and to aiosmtpd,
and every place that shows or logs a URL is searched for the secrets: the messages delivered,
the poll's log lines (text and JSON, at DEBUG), `feeds`, `check`, `digest`, `digests`,
`stories`, the errors stored for the feed, and the daemon's log while the database is down.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.daemon_proc import DaemonProcess, query, wait_for, write_config
from support.slack_stand_in import SlackStandIn
from support.smtp import smtp_server

from bot.demo.data import demo_feeds, render_demo_feeds
from bot.demo.server import FeedServer

API_KEY = "ap1key-S3CRET-4f9d"
READER_PASSWORD = "reader-pa55-S3CRET-81c2"
REDIRECT_TOKEN = "t0ken-S3CRET-77ab"
DB_PASSWORD = "db-pa55-S3CRET-0e1f"
DB_QUERY_PASSWORD = "db-query-S3CRET-5a6b"
SECRETS = (API_KEY, READER_PASSWORD, REDIRECT_TOKEN, DB_PASSWORD, DB_QUERY_PASSWORD)


def assert_clean(text: str, where: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} leaked into {where}:\n{text[-3000:]}"


def newsbot(config: Path, *args: str, log: tuple[str, ...] = ()) -> tuple[int, str]:
    """`newsbot [LOG OPTIONS] -c CONFIG ARGS...` as a process: exit status, stdout + stderr."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", *log, "-c", str(config), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=config.parent,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    return result.returncode, result.stdout + result.stderr


# --- a private feed polled over loopback, its digest delivered ---------------------------------


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer(render_demo_feeds(datetime.now(UTC))) as server:
        # answers 404: unhealthy after one failure, and unnamed: the footer must name it
        yield server


def test_a_failing_private_feed_leaks_no_credential_anywhere(
    sqlite_url: str, feeds: FeedServer, tmp_path: Path
) -> None:
    private = feeds.url(f"private/news.xml?lang=en&apikey={API_KEY}")
    authority = f"127.0.0.1:{feeds.port}"
    members = f"http://reader:{READER_PASSWORD}@{authority}/members.xml?token={REDIRECT_TOKEN}"
    feeds.set_status("/members.xml", 302, {"Location": members})  # a loop back to itself
    with SlackStandIn() as slack, smtp_server() as smtp:
        config = write_config(
            tmp_path / "newsbot.toml",
            db_url=sqlite_url,
            feed_urls=[*(feeds.url(feed.path) for feed in demo_feeds()[:3]), private, members],
            channels=(
                f'[[channels]]\nname = "desk"\ntype = "slack"\nthreshold = 1.0\n'
                f"[channels.slack]\nwebhook_url = {json.dumps(slack.webhook_url)}\n"
                f'[[channels]]\nname = "mail"\ntype = "email"\nthreshold = 1.0\n'
                f'[channels.email]\nhost = "127.0.0.1"\nport = {smtp.port}\ntls = "none"\n'
                f'from = "newsbot <bot@example.test>"\nto = ["desk@example.test"]\n'
            ),
        )
        text = config.read_text(encoding="utf-8")
        config.write_text(text.replace("[fetch]\n", "[fetch]\nunhealthy_after = 1\n"), "utf-8")

        code, output = newsbot(config, "poll", log=("--log-level", "debug"))
        assert code == 0, output
        assert "2 failed" in output, output  # both private feeds were fetched and failed
        assert_clean(output, "`newsbot poll` (text log lines)")
        assert f"{authority}/private/news.xml?lang=en&apikey=***" in output
        code, output = newsbot(config, "poll", "--all", log=("--log-level", "debug", "--log-json"))
        assert '"feed": "http://reader:***@' in output, output  # the `extra` field, masked
        assert_clean(output, "`newsbot poll` (JSON log lines)")

        code, output = newsbot(config, "digest")
        assert code == 0, output
        assert "desk: sent" in output and "mail: sent" in output, output
        assert_clean(output, "`newsbot digest`")

        posted = json.dumps(slack.messages)
        assert f"{authority}/private/news.xml" in posted  # named by host and path
        assert f"{authority}/members.xml" in posted
        assert_clean(posted, "the Slack messages")
        (mail,) = smtp.received
        bodies = [part.get_content() for part in mail.message.walk() if not part.is_multipart()]
        assert all(f"{authority}/private/news.xml" in body for body in bodies)
        assert_clean("\n".join(bodies) + str(mail.message["Subject"]), "the email")

        shown: dict[str, str] = {}
        for command in (
            ("feeds",),
            ("feeds", "--json"),
            ("check",),
            ("digests",),
            ("stories",),
            ("digest", "--dry-run", "--format", "slack"),
        ):
            code, shown[" ".join(command)] = newsbot(config, *command)
            assert_clean(shown[" ".join(command)], f"`newsbot {' '.join(command)}`")
        assert "redirect loop back to http://reader:***@" in shown["feeds"], shown["feeds"]

    stored = query(sqlite_url, "SELECT last_error, disabled_reason FROM feeds")
    assert any(error for error, _ in stored)
    assert_clean(json.dumps(stored), "the errors stored for the feeds")


# --- a database_url with a password ----------------------------------------------------------


def database_config(tmp_path: Path) -> Path:
    """A PostgreSQL URL with a password in the user information and in the query, on a port
    where nothing listens (so every command that connects fails and says so)."""
    url = (
        f"postgresql+psycopg://newsbot:{DB_PASSWORD}@127.0.0.1:9/test"
        f"?password={DB_QUERY_PASSWORD}&connect_timeout=3"
    )
    path = tmp_path / "newsbot.toml"
    path.write_text(
        f"database_url = {json.dumps(url)}\ndata_dir = {json.dumps(str(tmp_path))}\n"
        '[daemon]\nhealth_port = 0\nlog_level = "DEBUG"\n',
        encoding="utf-8",
    )
    return path


def test_check_and_database_errors_mask_every_password_of_the_database_url(
    tmp_path: Path,
) -> None:
    config = database_config(tmp_path)
    code, output = newsbot(config, "check")
    assert code == 0, output
    shown = json.loads(output[: output.rindex("}") + 1])["database_url"]
    assert shown == (
        "postgresql+psycopg://newsbot:***@127.0.0.1:9/test?connect_timeout=3&password=***"
    )
    assert_clean(output, "`newsbot check`")

    code, output = newsbot(config, "stories", log=("--log-level", "debug"))
    assert code == 2 and "cannot use the database postgresql+psycopg://newsbot:***@" in output
    assert_clean(output, "`newsbot stories` against an unreachable database")

    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        wait_for(lambda: "unreachable" in daemon.output, 60, "a log line about the database")
        time.sleep(0.5)  # the rest of that line
    finally:
        daemon.stop()
    assert "password=***" in daemon.output, daemon.output
    assert_clean(daemon.output, "the daemon's log")


def test_every_log_record_and_health_reason_masks_the_urls_in_it() -> None:
    """A line logged by any code path (a library, a field passed in `extra=`) and the text of
    /healthz go through the same redaction, which masks every URL in them."""
    from bot.daemon.logs import RedactingFilter, redact

    url = f"https://reader:{READER_PASSWORD}@feeds.example/private?apikey={API_KEY}"
    assert redact(f"last poll failed: ConnectError for {url}") == (
        "last poll failed: ConnectError for https://reader:***@feeds.example/private?apikey=***"
    )
    record = logging.LogRecord("httpx", logging.INFO, __file__, 1, "GET %s", (url,), None)
    record.feed = url  # as `extra={"feed": url}` would set it
    assert RedactingFilter().filter(record)
    assert_clean(record.getMessage() + str(record.feed), "a log record")
    assert record.feed == "https://reader:***@feeds.example/private?apikey=***"


def test_a_feed_is_removed_by_its_url_as_listed_with_credentials_masked(
    sqlite_url: str, tmp_path: Path
) -> None:
    private = f"https://feeds.example/private.rss?apikey={API_KEY}"
    config = write_config(tmp_path / "newsbot.toml", db_url=sqlite_url, feed_urls=[])
    opml = tmp_path / "subs.opml"
    opml.write_text(
        f'<opml version="2.0"><body><outline text="P" xmlUrl="{private.replace("&", "&amp;")}"/>'
        "</body></opml>",
        encoding="utf-8",
    )
    assert newsbot(config, "feeds", "import", str(opml))[0] == 0
    code, output = newsbot(config, "feeds", "--json")
    (listed,) = [json.loads(line)["url"] for line in output.splitlines() if line.startswith("{")]
    assert listed == "https://feeds.example/private.rss?apikey=***"
    code, output = newsbot(config, "feeds", "remove", listed)  # copied from the listing
    assert code == 0, output
    assert f"removed {listed}" in output
    assert_clean(output, "`newsbot feeds remove`")
    assert query(sqlite_url, "SELECT removed_at IS NOT NULL FROM feeds") == [(1,)]
