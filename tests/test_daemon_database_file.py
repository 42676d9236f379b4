"""The daemon's SQLite file deleted or replaced under it (an operator cleaning a folder, a
restore over a running daemon): SQLite goes on writing to the deleted file without a word, so
before, the daemon kept polling and posting into a file nobody would see again, /healthz said
"ok", and its lock went with the folder: a second daemon started on a new file and every digest
was posted twice. Now it stops within seconds, says why, and exits 2 (not restarted by the
systemd unit)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support.daemon_proc import DaemonProcess, wait_for, write_config

from bot.demo.server import FeedServer


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer() as feeds:
        feeds.set(
            "/a.rss",
            b'<?xml version="1.0"?><rss version="2.0"><channel><title>A</title></channel></rss>',
        )
        yield feeds


@pytest.mark.parametrize("how", ["deleted", "replaced"])
def test_the_daemon_stops_when_its_database_file_is_deleted_or_replaced(
    server: FeedServer, tmp_path: Path, how: str
) -> None:
    data = tmp_path / "data"
    database = data / "newsbot.db"
    config = write_config(
        tmp_path / "newsbot.toml", db_url=f"sqlite:///{database}", feed_urls=[server.url("/a.rss")]
    )
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        wait_for(lambda: "app: poll: " in daemon.output, what="the first poll")
        if how == "deleted":
            database.unlink()
        else:
            replacement = data / "restored.db"
            replacement.write_bytes(database.read_bytes())
            replacement.replace(database)
        code = daemon.process.wait(timeout=60)
    finally:
        if daemon.process.poll() is None:
            daemon.stop()
    assert code == 2, daemon.output
    assert f"the database file {database} was {how} while the daemon ran: stopping" in (
        daemon.output
    )
