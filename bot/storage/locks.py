"""PostgreSQL advisory locks: what serialises work across daemon instances sharing a database.

Every advisory lock key newsbot takes is named here, so no two uses can collide. The locks are
session-level (they outlive transactions and are dropped with the connection: PostgreSQL frees
a dead client's locks), so each is held on a connection of its own, outside any `Session`, and
every statement on it is committed at once, so it never sits idle in a transaction.

On SQLite only one instance runs per database file (the daemon holds a file lock): there is
nothing to serialise, and these helpers hold nothing.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import text
from sqlalchemy.engine import Connection

from bot.storage.database import Database

# The pg_advisory_lock key serialising story processing: ASCII "newsbot" read as an integer.
PROCESSING_LOCK_KEY = 0x6E657773626F74
# First key of the two-key advisory lock each instance holds while it runs: "nbs".
PRESENCE_NAMESPACE = 0x6E6273


def instance_key(instance: str) -> int:
    """The second key of an instance's presence lock: its id's CRC-32 as a signed int4."""
    value = zlib.crc32(instance.encode("utf-8"))
    return value - (1 << 32) if value >= (1 << 31) else value  # PostgreSQL int4 is signed


@contextmanager
def processing_lock(db: Database, *, wait_s: float, poll_s: float) -> Iterator[bool]:
    """Hold the cross-instance story-processing lock; yields False if it could not be had
    within `wait_s` (tried every `poll_s`). Always True on SQLite."""
    if db.is_sqlite:  # one instance per SQLite file: nothing to serialise
        yield True
        return
    with db.engine.connect() as conn:
        deadline = time.monotonic() + wait_s
        acquired = False
        while True:
            acquired = bool(
                conn.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), {"key": PROCESSING_LOCK_KEY}
                ).scalar()
            )
            conn.commit()
            if acquired or time.monotonic() >= deadline:
                break
            time.sleep(poll_s)
        try:
            yield acquired
        finally:
            if acquired:
                try:
                    conn.execute(
                        text("SELECT pg_advisory_unlock(:key)"), {"key": PROCESSING_LOCK_KEY}
                    )
                    conn.commit()
                except Exception:
                    # The connection is gone, and the lock with it; never pool it again.
                    conn.invalidate()


class PresenceLock:
    """An instance's presence lock (PRESENCE_NAMESPACE, instance_key(id)), held on a connection
    of its own for as long as the instance runs, and the probing of other instances' locks."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    @classmethod
    def take(cls, db: Database, instance: str) -> PresenceLock | None:
        """Hold `instance`'s presence lock on a new connection; None if another process
        holds it."""
        conn = db.engine.connect()
        held = conn.execute(
            text("SELECT pg_try_advisory_lock(:ns, :key)"),
            {"ns": PRESENCE_NAMESPACE, "key": instance_key(instance)},
        ).scalar()
        conn.commit()
        if not held:
            conn.close()
            return None
        return cls(conn)

    def ping(self) -> None:
        """Raise if the connection (and so the lock) was lost."""
        self._conn.execute(text("SELECT 1"))
        self._conn.commit()

    def held_elsewhere(self, instance: str) -> bool:
        """Whether some running process holds `instance`'s presence lock (probed by taking it
        and, if that worked, giving it back at once)."""
        key = {"ns": PRESENCE_NAMESPACE, "key": instance_key(instance)}
        taken = bool(
            self._conn.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"), key).scalar()
        )
        if taken:
            self._conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), key)
        self._conn.commit()
        return not taken

    def release(self, instance: str) -> None:
        """Give the lock back and close the connection; raises if the connection is gone."""
        self._conn.execute(
            text("SELECT pg_advisory_unlock(:ns, :key)"),
            {"ns": PRESENCE_NAMESPACE, "key": instance_key(instance)},
        )
        self._conn.commit()
        self._conn.close()

    def drop(self) -> None:
        """Forget a lost connection: never pooled again (the lock went with it)."""
        try:
            self._conn.invalidate()
            self._conn.close()
        except Exception:
            pass
