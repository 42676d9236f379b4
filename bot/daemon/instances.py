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
from datetime import datetime

from bot.storage.database import Database
from bot.storage.digests import digest_lease_owners, release_sending_digests
from bot.storage.feeds import lease_owners, release_leases
from bot.storage.locks import PresenceLock
from bot.text.plural import plural

log = logging.getLogger(__name__)


def release_digest_leases(db: Database, owner: str | None) -> int:
    """Let digests that `owner` (None: anyone) was sending be claimed again."""
    with db.session() as session:
        return release_sending_digests(session, owner)


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
        self._lock: PresenceLock | None = None

    def announce(self) -> None:
        """Hold this instance's presence lock, reconnecting if the connection was lost."""
        if self.db.is_sqlite:
            return
        if self._lock is not None:
            try:
                self._lock.ping()
                return
            except Exception:
                log.warning("presence connection lost; re-announcing instance %s", self.instance)
                self._drop()
        lock = PresenceLock.take(self.db, self.instance)
        if lock is None:
            raise RuntimeError(f"instance id {self.instance} is already in use by another process")
        self._lock = lock

    def _drop(self) -> None:
        if self._lock is not None:
            self._lock.drop()
            self._lock = None

    def close(self) -> None:
        if self._lock is not None:
            try:
                self._lock.release(self.instance)
            except Exception:
                self._drop()
            self._lock = None

    def _alive(self, owner: str) -> bool:
        assert self._lock is not None
        return self._lock.held_elsewhere(owner)

    def reclaim(self, now: datetime) -> list[str]:
        """Free the feed and digest leases of instances that are no longer running."""
        if self.db.is_sqlite:
            return []
        self.announce()
        with self.db.session() as session:
            owners = lease_owners(session, now)
            owners |= digest_lease_owners(session, now)
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
