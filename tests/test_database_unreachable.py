"""An unreachable database (issue 17): the commands say in one line which database (password
masked) and what failed, and exit 2; the daemon keeps retrying with backoff, one log line per
retry, `/healthz` says "database unreachable", and it starts working once the database answers.

Unreachable means a port where nothing listens, and a PostgreSQL server that answers but has no
such database or no such user."""

from __future__ import annotations

import socket
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import PG_URL
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from support.daemon_proc import DaemonProcess, healthz, run_newsbot, wait_for, write_config

from bot.demo.data import demo_feeds, render_demo_feeds
from bot.demo.server import FeedServer

PASSWORD = "unreachable-s3cret-pw"
# The daemon's first wait before retrying the database (1 s by default), doubling.
DB_RETRY_DELAY_S = 0.2


def free_port() -> int:
    """A loopback port where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def closed_port_url() -> str:
    return f"postgresql+psycopg://newsbot:{PASSWORD}@127.0.0.1:{free_port()}/newsbot"


def pg_url_with(pg_template: str, **parts: str) -> str:
    """The test server's URL with another database or user (pg_template: the server answers)."""
    url = make_url(PG_URL)
    if "username" in parts:
        url = url.set(password=PASSWORD)
    return url.set(**parts).render_as_string(hide_password=False)


def masked(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def run_command(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_newsbot(config, *args, env={"PGCONNECT_TIMEOUT": "5"})


def assert_one_line_naming(result: subprocess.CompletedProcess[str], url: str, what: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert masked(url) in lines[0], lines[0]
    assert PASSWORD not in output
    assert what in lines[0], lines[0]


COMMANDS = [["stories"], ["digests"], ["db", "upgrade"], ["poll"], ["feeds"]]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_commands_name_a_closed_port_in_one_line(tmp_path: Path, command: list[str]) -> None:
    url = closed_port_url()
    config = write_config(tmp_path / "newsbot.toml", db_url=url, feed_urls=["http://127.0.0.1/x"])
    assert_one_line_naming(run_command(config, *command), url, "refused")


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("parts", "what"),
    [
        ({"database": "newsbot_no_such_db"}, "does not exist"),
        ({"username": "newsbot_no_such_user"}, "newsbot_no_such_user"),
    ],
    ids=["no such database", "no such user"],
)
@pytest.mark.parametrize("command", [["stories"], ["db", "upgrade"]], ids=" ".join)
def test_commands_name_a_missing_postgres_database_or_user_in_one_line(
    pg_template: str, tmp_path: Path, command: list[str], parts: dict[str, str], what: str
) -> None:
    url = pg_url_with(pg_template, **parts)
    config = write_config(tmp_path / "newsbot.toml", db_url=url, feed_urls=["http://127.0.0.1/x"])
    assert_one_line_naming(run_command(config, *command), url, what)


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer(render_demo_feeds(datetime.now(UTC))) as server:
        yield server


def retry_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if "database" in line and "retry" in line]


def test_the_daemon_retries_a_closed_port_and_says_so_on_healthz(
    feeds: FeedServer, tmp_path: Path
) -> None:
    url = closed_port_url()
    config = write_config(
        tmp_path / "newsbot.toml",
        db_url=url,
        feed_urls=[feeds.url(demo_feeds()[0].path)],
        db_retry_delay=DB_RETRY_DELAY_S,
    )
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        base = daemon.health_url()
        wait_for(lambda: len(retry_lines(daemon.output)) >= 2, 60, "two retries to be logged")
        status, body = healthz(base)
        assert status == 503
        assert body["status"] == "unhealthy"
        assert any("database unreachable" in str(r) for r in body["reasons"]), body  # type: ignore[attr-defined]
        assert str(body["database"]).startswith("unreachable")
    finally:
        assert daemon.stop() == 0, daemon.output
    output = daemon.output
    assert "Traceback" not in output and PASSWORD not in output
    for line in retry_lines(output):
        assert masked(url) in line and "refused" in line, line
    assert feeds.hits(demo_feeds()[0].path) == 0  # nothing polled without a database


@pytest.mark.postgres
def test_the_daemon_waits_for_a_missing_postgres_database_then_runs(
    pg_template: str, feeds: FeedServer, tmp_path: Path
) -> None:
    name = f"newsbot_late_{uuid.uuid4().hex[:10]}"
    url = pg_url_with(pg_template, database=name)
    config = write_config(
        tmp_path / "newsbot.toml",
        db_url=url,
        feed_urls=[feeds.url(demo_feeds()[0].path)],
        db_retry_delay=DB_RETRY_DELAY_S,
    )
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        base = daemon.health_url()
        wait_for(lambda: retry_lines(daemon.output), 60, "a retry to be logged")
        assert healthz(base)[0] == 503
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        wait_for(lambda: healthz(base)[0] == 200, 120, "the daemon to connect and poll")
        assert feeds.hits(demo_feeds()[0].path) >= 1
    finally:
        code = daemon.stop()
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    assert code == 0, daemon.output
    assert "Traceback" not in daemon.output
    assert all(f'database "{name}" does not exist' in line for line in retry_lines(daemon.output))
