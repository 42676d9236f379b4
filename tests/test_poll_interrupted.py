"""A one-shot `newsbot poll` that does not get every feed, and says why. Ctrl-C: the feeds stored
stay stored, the command says how far it got and exits 130 (not click's bare "Aborted!", exit
1), and the feeds it had claimed but not stored are free for the next poll at once, not skipped
until their leases run out. A daemon polling some feeds right then: the poll leaves them to it
and says so, rather than "0 feeds checked" with no reason."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest
from support.daemon_proc import DaemonProcess, run_newsbot, scalar, wait_for, write_config

from bot.demo.server import FeedServer

PUBLISHED = format_datetime(datetime.now(UTC) - timedelta(hours=1), usegmt=True)


def rss(name: str) -> bytes:
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>{name}</title>'
        f"<item><title>{name} report</title><link>https://{name}.example/1</link>"
        f"<guid>{name}-1</guid><pubDate>{PUBLISHED}</pubDate></item></channel></rss>"
    ).encode()


# Feeds whose check is stored.
STORED = "SELECT COUNT(*) FROM feeds WHERE last_checked_at IS NOT NULL"


@pytest.fixture
def fast_and_slow(server: FeedServer, tmp_path: Path) -> tuple[str, Path]:
    """(database URL, configuration) of two feeds: one answers at once, one after a minute."""
    for name in ("fast", "slow"):
        server.set(f"/{name}.rss", rss(name))
    server.set_delay("/slow.rss", 60)
    urls = [server.url("/fast.rss"), server.url("/slow.rss")]
    db_url = f"sqlite:///{tmp_path / 'newsbot.db'}"
    config = write_config(
        tmp_path / "newsbot.toml", db_url=db_url, feed_urls=urls, shutdown_grace=1.0
    )
    return db_url, config


def test_an_interrupted_poll_says_how_far_it_got_and_frees_the_rest(
    server: FeedServer, fast_and_slow: tuple[str, Path]
) -> None:
    db_url, config = fast_and_slow
    command = [sys.executable, "-m", "bot", "-c", str(config), "poll"]
    poll = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # The slow feed's request waits for its answer meanwhile (not answered: no hit yet).
        wait_for(lambda: scalar(db_url, STORED) == 1, what="the fast feed stored")
        time.sleep(0.5)  # the command counts it once its transaction is over
        poll.send_signal(signal.SIGINT)
        output, _ = poll.communicate(timeout=60)
    finally:
        if poll.poll() is None:
            poll.kill()
    assert poll.returncode == 130, output
    assert "Traceback" not in output and "Aborted!" not in output, output
    assert "newsbot: interrupted: 1 feed of 2 checked and stored" in output, output

    server.set_delay("/slow.rss", 0)
    started = time.monotonic()
    again = run_newsbot(config, "poll")
    assert again.returncode == 0, again.stdout + again.stderr
    # The slow feed is polled now, not left leased to the interrupted run.
    assert "1 feed checked (1 changed" in again.stdout, again.stdout
    assert time.monotonic() - started < 60


def test_a_poll_beside_a_daemon_says_which_feeds_it_leaves_to_it(
    fast_and_slow: tuple[str, Path], tmp_path: Path
) -> None:
    db_url, config = fast_and_slow
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        wait_for(lambda: scalar(db_url, STORED) == 1, what="the daemon storing the fast feed")
        result = run_newsbot(config, "poll", "--all")
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.startswith("1 feed checked (0 changed, 1 unchanged"), result.stdout
        assert "; 1 feed left to another newsbot polling it now" in result.stdout, result.stdout
    finally:
        daemon.stop()
