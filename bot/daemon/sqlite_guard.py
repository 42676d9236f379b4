"""The daemon's hold on its SQLite file: one daemon per file, and that file still the one it
opened.

SQLite allows one writer process, so a second daemon on the same file is refused
(:class:`SingleInstanceLock`). And SQLite goes on writing into a file deleted or replaced under
it (its folder removed, a restore copied over it) without a word: everything stored from then on
would be lost, and the lock file with the folder, so a second daemon could start on a new file
and post every story again. :func:`watch_database_file` tells the daemon to stop when that
happens.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import IO

from bot.storage.database import sqlite_file

log = logging.getLogger(__name__)

# How often the daemon checks that its SQLite file is still the one it opened.
DATABASE_FILE_CHECK_S = 5.0


def _file_identity(path: Path) -> tuple[int, int]:
    status = os.stat(path)
    return status.st_dev, status.st_ino


async def watch_database_file(url: str, stop: asyncio.Event, on_lost: Callable[[], None]) -> None:
    """Until `stop` is set: every DATABASE_FILE_CHECK_S, check that the SQLite file of `url` is
    still the file it was at the start; if it was deleted or replaced, log why and call
    `on_lost`. (Nothing to watch on PostgreSQL.)"""
    path = sqlite_file(url)
    if path is None:
        return
    try:
        opened = _file_identity(path)
    except OSError:
        return
    while not stop.is_set():
        await asyncio.sleep(DATABASE_FILE_CHECK_S)
        try:
            now: tuple[int, int] | None = _file_identity(path)
        except OSError:
            now = None
        if now == opened:
            continue
        log.error(
            "the database file %s was %s while the daemon ran: stopping, as nothing it "
            "stores now would be kept. Restore the file from a backup and start again (a "
            "new, empty database would post every story again)",
            path,
            "deleted" if now is None else "replaced",
        )
        on_lost()
        return


class SingleInstanceLock:
    """SQLite allows one writer process: a second daemon on the same file is refused."""

    def __init__(self, database_file: Path) -> None:
        self.path = database_file.with_name(database_file.name + ".lock")
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise RuntimeError(
                f"another newsbot daemon is already running on {self.path.with_suffix('')}; "
                "SQLite supports one instance. Use PostgreSQL to run several instances."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
