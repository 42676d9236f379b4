"""Feed rows: syncing from configuration, claiming due feeds, and recording fetch outcomes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from bot.config import FeedSettings
from bot.storage.models import Feed


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


def sync_feeds(session: Session, feeds: list[FeedSettings], now: datetime) -> int:
    """Insert configured feeds not stored yet and refresh names and intervals; returns added.

    A stored feed is recognised by its current URL or by the URL it was configured with: after
    a 301/308 the row's `url` is the new address and `configured_url` the old one, which the
    configuration still lists; adding that as a new feed would poll the feed twice.
    """
    existing: dict[str, Feed] = {}
    for feed in session.scalars(select(Feed)):
        existing[feed.url] = feed
        if feed.configured_url:
            existing.setdefault(feed.configured_url, feed)
    added = 0
    for configured in feeds:
        row = existing.get(configured.url)
        if row is None:
            row = Feed(
                url=configured.url,
                configured_url=configured.url,
                name=configured.name,
                interval_s=configured.interval,
                enabled=True,
                created_at=now,
                next_check_at=now,
                consecutive_failures=0,
            )
            session.add(row)
            existing[configured.url] = row
            added += 1
        else:
            if configured.name and row.name != configured.name:
                row.name = configured.name
            if row.interval_s != configured.interval:
                row.interval_s = configured.interval
    session.flush()
    return added


def count_enabled_feeds(session: Session) -> int:
    return int(
        session.scalar(select(func.count()).select_from(Feed).where(Feed.enabled.is_(True))) or 0
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
            Feed.id,
            Feed.url,
            Feed.name,
            Feed.interval_s,
            Feed.etag,
            Feed.last_modified,
            Feed.body_hash,
            Feed.consecutive_failures,
            Feed.title,
        )
        .where(Feed.enabled.is_(True))
        .where(or_(Feed.lease_until.is_(None), Feed.lease_until < now, Feed.lease_owner == owner))
        .order_by(Feed.next_check_at, Feed.id)
    )
    if not include_not_due:
        query = query.where(or_(Feed.next_check_at.is_(None), Feed.next_check_at <= now))
    if limit is not None:
        query = query.limit(limit)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=Feed, skip_locked=True)
    # Plain rows and one UPDATE per thousand feeds: a cycle claims every due feed.
    claimed = [DueFeed(*row) for row in session.execute(query)]
    ids = [feed.id for feed in claimed]
    for start in range(0, len(ids), 1000):
        session.execute(
            update(Feed)
            .where(Feed.id.in_(ids[start : start + 1000]))
            .values(lease_owner=owner, lease_until=now + lease)
            .execution_options(synchronize_session=False)
        )
    return claimed


def release_lease(session: Session, feed_id: int) -> None:
    session.execute(
        update(Feed).where(Feed.id == feed_id).values(lease_owner=None, lease_until=None)
    )


def release_leases(session: Session, owner: str | None = None) -> int:
    """Drop the fetch leases of `owner` (a dead instance), or every lease when None; returns
    how many feeds were freed."""
    statement = update(Feed).where(Feed.lease_owner.is_not(None))
    if owner is not None:
        statement = statement.where(Feed.lease_owner == owner)
    result = session.execute(
        statement.values(lease_owner=None, lease_until=None).execution_options(
            synchronize_session=False
        )
    )
    return int(getattr(result, "rowcount", 0) or 0)


def lease_owners(session: Session, now: datetime) -> set[str]:
    """Instances holding an unexpired fetch lease."""
    return set(
        session.scalars(
            select(Feed.lease_owner)
            .where(Feed.lease_owner.is_not(None), Feed.lease_until >= now)
            .distinct()
        )
    )


def unhealthy_feeds(session: Session, threshold: int) -> list[Feed]:
    """Feeds that failed `threshold` times in a row, or were disabled."""
    return list(
        session.scalars(
            select(Feed)
            .where(or_(Feed.consecutive_failures >= threshold, Feed.enabled.is_(False)))
            .order_by(Feed.url)
        )
    )


def count_unhealthy_feeds(session: Session, threshold: int) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Feed)
            .where(or_(Feed.consecutive_failures >= threshold, Feed.enabled.is_(False)))
        )
        or 0
    )
