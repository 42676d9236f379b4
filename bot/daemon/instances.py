"""Which newsbot instances are alive, so the leases of a crashed one are taken over at once.

Feed and digest leases carry the owning instance's id and an expiry. Waiting for the expiry
after a crash would delay those feeds (and a digest that was being sent) by minutes, so:

- on PostgreSQL each instance holds a session advisory lock named after its id, on a
  connection of its own, for as long as it runs. Another instance that can take that lock knows
  the owner is gone (PostgreSQL drops a dead client's locks) and frees its leases. If the
  instance's own lock connection is lost, it is re-established on the next cycle.
- on SQLite only one instance can run (the daemon holds a file lock), so every lease found at
  start-up belongs to a dead process and is freed.
"""

from __future__ import annotations

import logging
import zlib
from datetime import datetime

from sqlalchemy import select, text, update
from sqlalchemy.engine import Connection

from bot.storage import Database
from bot.storage.feeds import lease_owners, release_leases
from bot.storage.models import Digest
from bot.text.plural import plural

log = logging.getLogger(__name__)

PRESENCE_NAMESPACE = 0x6E6273  # first key of the two-key advisory lock: "nbs"


def _instance_key(instance: str) -> int:
    value = zlib.crc32(instance.encode("utf-8"))
    return value - (1 << 32) if value >= (1 << 31) else value  # PostgreSQL int4 is signed


def release_digest_leases(db: Database, owner: str | None) -> int:
    """Let digests that `owner` (None: anyone) was sending be claimed again."""
    with db.session() as session:
        statement = update(Digest).where(Digest.status == "sending")
        if owner is not None:
            statement = statement.where(Digest.lease_owner == owner)
        result = session.execute(
            statement.values(lease_until=None, lease_owner=None),
            execution_options={"synchronize_session": False},
        )
        return int(getattr(result, "rowcount", 0) or 0)


def release_all_leases(db: Database) -> tuple[int, int]:
    """Free every feed and digest lease (SQLite start-up: their holder is dead)."""
    with db.session() as session:
        feeds = release_leases(session)
    return feeds, release_digest_leases(db, None)


class Presence:
    """This instance's advisory lock on PostgreSQL, and the reclaiming of dead instances'
    leases."""

    def __init__(self, db: Database, instance: str) -> None:
        self.db = db
        self.instance = instance
        self._conn: Connection | None = None

    def announce(self) -> None:
        """Hold this instance's presence lock, reconnecting if the connection was lost."""
        if self.db.is_sqlite:
            return
        if self._conn is not None:
            try:
                self._conn.execute(text("SELECT 1"))
                self._conn.commit()
                return
            except Exception:
                log.warning("presence connection lost; re-announcing instance %s", self.instance)
                self._drop()
        conn = self.db.engine.connect()
        held = conn.execute(
            text("SELECT pg_try_advisory_lock(:ns, :key)"),
            {"ns": PRESENCE_NAMESPACE, "key": _instance_key(self.instance)},
        ).scalar()
        conn.commit()
        if not held:
            conn.close()
            raise RuntimeError(f"instance id {self.instance} is already in use by another process")
        self._conn = conn

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.invalidate()
                self._conn.close()
            except Exception:
                pass
            self._conn = None

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.execute(
                    text("SELECT pg_advisory_unlock(:ns, :key)"),
                    {"ns": PRESENCE_NAMESPACE, "key": _instance_key(self.instance)},
                )
                self._conn.commit()
                self._conn.close()
            except Exception:
                self._drop()
            self._conn = None

    def _alive(self, owner: str) -> bool:
        assert self._conn is not None
        key = {"ns": PRESENCE_NAMESPACE, "key": _instance_key(owner)}
        taken = bool(
            self._conn.execute(text("SELECT pg_try_advisory_lock(:ns, :key)"), key).scalar()
        )
        if taken:
            self._conn.execute(text("SELECT pg_advisory_unlock(:ns, :key)"), key)
        self._conn.commit()
        return not taken

    def reclaim(self, now: datetime) -> list[str]:
        """Free the feed and digest leases of instances that are no longer running."""
        if self.db.is_sqlite:
            return []
        self.announce()
        with self.db.session() as session:
            owners = lease_owners(session, now)
            owners |= set(
                session.scalars(
                    select(Digest.lease_owner)
                    .where(Digest.status == "sending", Digest.lease_until >= now)
                    .distinct()
                )
            )
        dead = sorted(o for o in owners if o and o != self.instance and not self._alive(o))
        for owner in dead:
            with self.db.session() as session:
                feeds = release_leases(session, owner)
            digests = release_digest_leases(self.db, owner)
            log.warning(
                "instance %s is gone: took over %s and %s",
                owner,
                plural(feeds, "feed lease"),
                plural(digests, "digest lease"),
            )
        return dead
