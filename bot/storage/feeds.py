"""Feed rows: syncing from configuration, removing, claiming due feeds, recording what a check
found, and their counts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import func, or_, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session, load_only

from bot.config import FeedSettings
from bot.model.feed import FeedCheck
from bot.storage.models import EntryRow, FeedRow
from bot.text.redaction import mask_url


@dataclass(frozen=True, slots=True)
class DueFeed:
    """A feed this instance has leased for one fetch."""

    id: int
    url: str
    name: str | None
    interval_s: int | None
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    consecutive_failures: int
    title: str | None = None
    first_parsed_at: datetime | None = None  # None: no body stored yet (its first poll)


@dataclass(frozen=True, slots=True)
class RemovedFeed:
    """A feed the configuration no longer lists: not polled any more, its entries kept."""

    url: str
    name: str | None
    entries: int


# What syncing reads of every stored feed: not its schedule, validators or recent entry times
# (two JSON and eight time columns), which a sync of thousands of unchanged feeds would decode
# for nothing on every poll. Columns it only writes need not be loaded.
_SYNCED_COLUMNS = (
    FeedRow.id,
    FeedRow.url,
    FeedRow.configured_url,
    FeedRow.name,
    FeedRow.interval_s,
    FeedRow.config_file,
    FeedRow.imported_from,
    FeedRow.removed_at,
)


@dataclass(slots=True)
class FeedSync:
    """What syncing the configured feeds changed."""

    added: list[str] = field(default_factory=list)
    restored: list[str] = field(default_factory=list)  # listed again after being removed
    removed: list[RemovedFeed] = field(default_factory=list)


def sync_feeds(
    session: Session, feeds: list[FeedSettings], now: datetime, config_file: str | None = None
) -> FeedSync:
    """Make the stored feeds follow the configuration, its source of truth.

    Configured feeds not stored yet are added (`config_file` recorded as where they came from),
    names and intervals refreshed, and a removed feed listed again is polled again. A stored
    feed the configuration no longer lists, and that no OPML import added, is removed: no longer
    polled nor exported, its entries left to retention.

    A stored feed is recognised by its current URL or by the URL it was configured with: after
    a 301/308 the row's `url` is the new address and `configured_url` the old one, which the
    configuration still lists; adding that as a new feed would poll the feed twice.
    """
    rows = list(session.scalars(select(FeedRow).options(load_only(*_SYNCED_COLUMNS))))
    existing = _by_address(rows)
    report = FeedSync()
    listed: set[int] = set()
    for configured in feeds:
        row = existing.get(configured.url)
        if row is None:
            row = _new_feed(configured.url, configured.name, now, config_file=config_file)
            row.interval_s = configured.interval
            session.add(row)
            existing[configured.url] = row
            report.added.append(configured.url)
            continue
        listed.add(row.id)
        if row.config_file != config_file:
            row.config_file = config_file
        if row.removed_at is not None:
            row.removed_at = None
            row.next_check_at = now
            report.restored.append(row.url)
        if configured.name and row.name != configured.name:
            row.name = configured.name
        if row.interval_s != configured.interval:
            row.interval_s = configured.interval
    removed: list[FeedRow] = []
    for row in rows:
        if row.id in listed or row.removed_at is not None:
            continue
        if row.config_file is not None:
            row.config_file = None
        if row.imported_from is None:  # neither configured nor imported: removed
            row.removed_at = now
            row.lease_owner = row.lease_until = None
            removed.append(row)
    session.flush()
    if removed:
        counts = entry_counts(session)
        report.removed = [RemovedFeed(r.url, r.name, counts.get(r.id, 0)) for r in removed]
    return report


def _by_address(rows: Iterable[FeedRow]) -> dict[str, FeedRow]:
    """Stored feeds by their current URL and by the URL they were configured with (after a
    301/308 the configuration still lists the old one)."""
    existing: dict[str, FeedRow] = {}
    for row in rows:
        existing[row.url] = row
        if row.configured_url:
            existing.setdefault(row.configured_url, row)
    return existing


def _new_feed(
    url: str,
    name: str | None,
    now: datetime,
    config_file: str | None = None,
    imported_from: str | None = None,
) -> FeedRow:
    return FeedRow(
        url=url,
        configured_url=url,
        name=name,
        enabled=True,
        created_at=now,
        next_check_at=now,
        consecutive_failures=0,
        config_file=config_file,
        imported_from=imported_from,
    )


def entry_counts(session: Session) -> dict[int, int]:
    """How many entries each feed has stored, by feed id."""
    return {
        feed_id: int(count)
        for feed_id, count in session.execute(
            select(EntryRow.feed_id, func.count()).group_by(EntryRow.feed_id)
        )
    }


@dataclass(slots=True)
class FeedImport:
    """What importing a list of feeds (OPML) changed."""

    added: int = 0
    restored: int = 0  # removed before, polled again
    present: int = 0


def import_feeds(
    session: Session, feeds: list[tuple[str, str | None]], source_file: str, now: datetime
) -> FeedImport:
    """Add `feeds` (URL, title) as imported from `source_file`; a removed feed listed there is
    polled again (with its old entries), a stored one is left as it is."""
    existing = _by_address(session.scalars(select(FeedRow)))
    report = FeedImport()
    for url, title in feeds:
        row = existing.get(url)
        if row is None:
            row = _new_feed(url, title, now, imported_from=source_file)
            session.add(row)
            existing[url] = row
            report.added += 1
        elif row.removed_at is not None:
            row.removed_at = None
            row.imported_from = source_file
            row.next_check_at = now
            report.restored += 1
        else:
            if row.imported_from is None:  # configured too: stays if dropped from the file
                row.imported_from = source_file
            report.present += 1
    session.flush()
    return report


def listed_feeds(session: Session) -> list[FeedRow]:
    """Every stored feed, removed ones included, by URL (detached from the session)."""
    rows = list(session.scalars(select(FeedRow).order_by(FeedRow.url)))
    session.expunge_all()
    return rows


class FeedRemovalError(Exception):
    """`newsbot feeds remove` refused; the message is meant for the operator. `configured`:
    refused because the configuration lists the feed."""

    def __init__(self, message: str, *, configured: bool = False) -> None:
        super().__init__(message)
        self.configured = configured


def find_feed(session: Session, url: str) -> FeedRow | None:
    """The stored feed with this URL (current or as configured or imported)."""
    return session.scalars(
        select(FeedRow)
        .where(or_(FeedRow.url == url, FeedRow.configured_url == url))
        .order_by(FeedRow.id)
    ).first()


def remove_feed(session: Session, url: str, now: datetime) -> RemovedFeed:
    """Stop polling an imported feed, keeping its entries; raises FeedRemovalError when no
    stored feed has this URL, or the configuration lists it (the file is the operator's)."""
    row = find_feed(session, url)
    if row is None or row.removed_at is not None:
        raise FeedRemovalError(f"no feed with URL {url} (see `newsbot feeds`)")
    if row.config_file is not None:
        raise FeedRemovalError(
            f"{url} is listed in the configuration file {row.config_file}: remove its "
            "[[feeds]] entry there, then restart newsbot or send the daemon SIGHUP",
            configured=True,
        )
    row.removed_at = now
    row.imported_from = None
    row.lease_owner = row.lease_until = None
    entries = int(
        session.scalar(select(func.count()).select_from(EntryRow).where(EntryRow.feed_id == row.id))
        or 0
    )
    return RemovedFeed(row.url, row.name, entries)


def count_enabled_feeds(session: Session) -> int:
    """Feeds polled: enabled and not removed."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(FeedRow)
            .where(FeedRow.enabled.is_(True), FeedRow.removed_at.is_(None))
        )
        or 0
    )


def claim_due_feeds(
    session: Session,
    *,
    now: datetime,
    owner: str,
    lease: timedelta,
    limit: int | None = None,
    include_not_due: bool = False,
) -> list[DueFeed]:
    """Lease the feeds whose next check is due, so that only one instance fetches each.

    On PostgreSQL the rows are locked with FOR UPDATE SKIP LOCKED while the lease is written;
    SQLite serialises writers, and newsbot refuses a second instance on SQLite anyway. A lease
    `owner` still holds is reclaimed: one instance runs one cycle at a time, so such a lease is
    left over from a cycle of its own that failed (a lost database connection, say).
    """
    query = (
        select(
            FeedRow.id,
            FeedRow.url,
            FeedRow.name,
            FeedRow.interval_s,
            FeedRow.etag,
            FeedRow.last_modified,
            FeedRow.body_hash,
            FeedRow.consecutive_failures,
            FeedRow.title,
            FeedRow.first_parsed_at,
        )
        .where(FeedRow.enabled.is_(True), FeedRow.removed_at.is_(None))
        .where(
            or_(
                FeedRow.lease_until.is_(None),
                FeedRow.lease_until < now,
                FeedRow.lease_owner == owner,
            )
        )
        .order_by(FeedRow.next_check_at, FeedRow.id)
    )
    if not include_not_due:
        query = query.where(or_(FeedRow.next_check_at.is_(None), FeedRow.next_check_at <= now))
    if limit is not None:
        query = query.limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=FeedRow, skip_locked=True)
    # Plain rows and one UPDATE per thousand feeds: a cycle claims every due feed.
    claimed = [DueFeed(*cast(tuple[Any, ...], row)) for row in session.execute(query)]
    ids = [feed.id for feed in claimed]
    for start in range(0, len(ids), 1000):
        session.execute(
            update(FeedRow)
            .where(FeedRow.id.in_(ids[start : start + 1000]))
            .values(lease_owner=owner, lease_until=now + lease)
            .execution_options(synchronize_session=False)
        )
    return claimed


def release_lease(session: Session, feed_id: int) -> None:
    session.execute(
        update(FeedRow).where(FeedRow.id == feed_id).values(lease_owner=None, lease_until=None)
    )


def release_leases(session: Session, owner: str | None = None) -> int:
    """Drop the fetch leases of `owner` (a dead instance), or every lease when None; returns
    how many feeds were freed."""
    statement = update(FeedRow).where(FeedRow.lease_owner.is_not(None))
    if owner is not None:
        statement = statement.where(FeedRow.lease_owner == owner)
    result = session.execute(
        statement.values(lease_owner=None, lease_until=None).execution_options(
            synchronize_session=False
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def count_leased_elsewhere(session: Session, now: datetime, owner: str) -> int:
    """Enabled feeds another instance holds an unexpired fetch lease on (it is polling them)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(FeedRow)
            .where(
                FeedRow.enabled.is_(True),
                FeedRow.removed_at.is_(None),
                FeedRow.lease_until >= now,
                FeedRow.lease_owner != owner,
            )
        )
        or 0
    )


def lease_owners(session: Session, now: datetime) -> set[str]:
    """Instances holding an unexpired fetch lease."""
    return set(
        session.scalars(
            select(FeedRow.lease_owner)
            .where(FeedRow.lease_owner.is_not(None), FeedRow.lease_until >= now)
            .distinct()
        )
    )


def unhealthy_feeds(session: Session, threshold: int) -> list[FeedRow]:
    """Feeds that failed `threshold` times in a row, or were disabled."""
    return list(
        session.scalars(
            select(FeedRow)
            .where(or_(FeedRow.consecutive_failures >= threshold, FeedRow.enabled.is_(False)))
            .where(FeedRow.removed_at.is_(None))
            .order_by(FeedRow.url)
        )
    )


def count_unhealthy_feeds(session: Session, threshold: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(FeedRow)
            .where(or_(FeedRow.consecutive_failures >= threshold, FeedRow.enabled.is_(False)))
            .where(FeedRow.removed_at.is_(None))
        )
        or 0
    )


def feeds_by_id(session: Session, feed_ids: list[int]) -> dict[int, FeedRow]:
    """The stored feeds of `feed_ids` (those still there), by id, attached to the session so a
    check's outcome is recorded on them."""
    return {
        feed.id: feed for feed in session.scalars(select(FeedRow).where(FeedRow.id.in_(feed_ids)))
    }


def schedule_rows(session: Session, feed_ids: list[int]) -> dict[int, Row[Any]]:
    """What scheduling a feed's next check after a 304 reads, as plain rows by id (no ORM
    objects: most of a warm cycle is 304s): id, url, interval_s, recent_entry_times,
    consecutive_failures, etag, last_modified and body_hash."""
    return {
        row.id: row
        for row in session.execute(
            select(
                FeedRow.id,
                FeedRow.url,
                FeedRow.interval_s,
                FeedRow.recent_entry_times,
                FeedRow.consecutive_failures,
                FeedRow.etag,
                FeedRow.last_modified,
                FeedRow.body_hash,
            ).where(FeedRow.id.in_(feed_ids))
        )
    }


def record_check(session: Session, feed_id: int, check: FeedCheck) -> None:
    """Write what one check made of the feed (bot.reader.fetcher.state.next_feed_state)."""
    feed = session.get(FeedRow, feed_id)
    if feed is None:  # removed meanwhile
        return
    for column, value in check.columns().items():
        setattr(feed, column, value)


def record_checks(session: Session, checks: list[tuple[int, FeedCheck]]) -> None:
    """Write many feeds' checks, (feed id, check) each, as one executemany UPDATE: a warm cycle's
    thousand unchanged feeds are not loaded and flushed as ORM objects."""
    if checks:
        session.execute(update(FeedRow), [{"id": id_, **check.columns()} for id_, check in checks])


def record_parse(
    session: Session,
    feed_id: int,
    *,
    title: str | None,
    counts: dict[str, int],
    entry_times: list[datetime],
    now: datetime,
) -> None:
    """Note on the feed that a body was parsed and its entries stored at `now`: what the body
    gave (`counts`), its entries' publication times (the feed's publishing rhythm, kept for the
    304s to come) and its title if the feed had none."""
    feed = session.get(FeedRow, feed_id)
    if feed is None:
        return
    if title and not feed.title:
        feed.title = title
    feed.first_parsed_at = feed.first_parsed_at or now
    feed.last_parsed_at = now
    feed.last_poll_counts = counts
    feed.recent_entry_times = [when.isoformat() for when in entry_times]


def move_feed(session: Session, feed: FeedRow, new_url: str) -> bool:
    """Follow a permanent redirect: the stored URL becomes `new_url` and the configured one
    stays an alias (True). If `new_url` is already subscribed as another feed, this one is
    disabled rather than polled twice (False)."""
    other = session.scalars(select(FeedRow.id).where(FeedRow.url == new_url)).first()
    if other is not None and other != feed.id:
        feed.enabled = False
        feed.disabled_reason = f"moved permanently to {mask_url(new_url)}, which is already a feed"
        return False
    if feed.configured_url is None:
        feed.configured_url = feed.url
    feed.url = new_url
    return True
