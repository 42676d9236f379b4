"""`newsbot run` as a process: it polls, stops cleanly on SIGTERM, and refuses bad set-ups."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.daemon_proc import wait_for

from bot.demo.data import demo_feeds, render_demo_feeds
from bot.demo.server import FeedServer


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer(render_demo_feeds(datetime.now(UTC))) as server:
        yield server


def write_config(path: Path, feeds: FeedServer, db_url: str) -> Path:
    lines = [
        f"database_url = {json.dumps(db_url)}",
        f"data_dir = {json.dumps(str(path.parent))}",
        "[fetch]",
        "allow_private_networks = true",  # the feeds are on loopback
        "[daemon]",
        "health_port = 0",
    ]
    for feed in demo_feeds():
        lines += ["[[feeds]]", f"url = {json.dumps(feeds.url(feed.path))}"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def start(config: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_daemon_polls_then_stops_cleanly_on_sigterm(
    db_url: str, feeds: FeedServer, tmp_path: Path
) -> None:
    config = write_config(tmp_path / "newsbot.toml", feeds, db_url)
    process = start(config)
    try:
        wait_for(lambda: sum(feeds.hits(f.path) for f in demo_feeds()) >= len(demo_feeds()))
        wait_for(lambda: _stories(config) > 0)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "stopped" in output


def _stories(config: Path) -> int:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "stories", "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    return len([line for line in result.stdout.splitlines() if line.startswith("{")])


def test_bad_config_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("poll_interval = 'often'\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "--config", str(config), "run"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert str(config) in result.stderr and "poll_interval" in result.stderr


def test_second_daemon_on_one_sqlite_file_is_refused(feeds: FeedServer, tmp_path: Path) -> None:
    config = write_config(tmp_path / "newsbot.toml", feeds, f"sqlite:///{tmp_path / 'n.db'}")
    first = start(config)
    try:
        wait_for(lambda: (tmp_path / "n.db.lock").exists())
        second = subprocess.run(
            [sys.executable, "-m", "bot", "--config", str(config), "run"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 2
        assert "another newsbot daemon is already running" in second.stderr
        assert first.poll() is None  # the first one is unharmed
    finally:
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=60)
    assert first.returncode == 0
