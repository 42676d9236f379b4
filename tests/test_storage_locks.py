"""The advisory locks of bot.storage.locks: one holder at a time on PostgreSQL, the lock free
again once its holder lets go or its connection dies; nothing to hold on SQLite."""

from __future__ import annotations

import pytest
from support.daemon_proc import wait_for

from bot.storage.database import Database
from bot.storage.locks import PresenceLock, processing_lock


def test_processing_lock_has_one_holder_at_a_time(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        with processing_lock(db, wait_s=0, poll_s=0) as first:
            assert first
            with processing_lock(db, wait_s=0, poll_s=0) as second:
                assert not second  # held by the first: given up at the deadline
        with processing_lock(db, wait_s=0, poll_s=0) as again:
            assert again  # released on leaving the block
    finally:
        db.dispose()


def test_processing_lock_is_released_when_the_block_raises(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        with pytest.raises(RuntimeError), processing_lock(db, wait_s=0, poll_s=0):
            raise RuntimeError("batch failed")
        with processing_lock(db, wait_s=0, poll_s=0) as acquired:
            assert acquired
    finally:
        db.dispose()


def test_processing_lock_holds_nothing_on_sqlite(sqlite_url: str) -> None:
    db = Database(sqlite_url)
    try:
        with (
            processing_lock(db, wait_s=0, poll_s=0) as first,
            processing_lock(db, wait_s=0, poll_s=0) as second,
        ):
            assert first and second
    finally:
        db.dispose()


def test_presence_lock_tells_a_running_instance_from_a_gone_one(pg_url: str) -> None:
    db = Database(pg_url)
    try:
        alive = PresenceLock.take(db, "instance-a")
        assert alive is not None
        assert PresenceLock.take(db, "instance-a") is None  # the id is in use
        observer = PresenceLock.take(db, "instance-b")
        assert observer is not None
        assert observer.held_elsewhere("instance-a")
        assert not observer.held_elsewhere("instance-c")  # never started
        assert not observer.held_elsewhere("instance-c")  # the probe gave the lock back
        alive.release("instance-a")
        assert not observer.held_elsewhere("instance-a")
        crashed = PresenceLock.take(db, "instance-d")
        assert crashed is not None
        assert observer.held_elsewhere("instance-d")
        crashed.drop()  # its connection gone, PostgreSQL frees its lock (as its backend exits)
        wait_for(lambda: not observer.held_elsewhere("instance-d"), 30, "the dropped lock freed")
        observer.ping()
        observer.release("instance-b")
    finally:
        db.dispose()
