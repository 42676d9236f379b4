"""The digest outbox: digests stored before delivery, their stories, and every delivery attempt."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.models import Delivery, Digest, DigestStory

# A digest that was handed to Slack or SMTP and whose outcome was never recorded (the process
# died mid-send) is retried after this long; until then another instance leaves it alone.
SEND_LEASE = timedelta(minutes=5)


def previously_sent(session: Session, channel: str) -> dict[int, int]:
    """story_id -> source count when last included in a sent or queued digest of `channel`."""
    rows = session.execute(
        select(DigestStory.story_id, func.max(DigestStory.source_count))
        .join(Digest, Digest.id == DigestStory.digest_id)
        .where(Digest.channel == channel, Digest.status.in_(("pending", "sending", "sent")))
        .group_by(DigestStory.story_id)
    )
    return {int(story_id): int(count) for story_id, count in rows}


def last_digest_time(session: Session, channel: str) -> datetime | None:
    return session.scalar(
        select(func.max(Digest.period_end)).where(
            Digest.channel == channel, Digest.status.in_(("pending", "sending", "sent"))
        )
    )


def enqueue_digest(
    session: Session,
    *,
    channel: str,
    kind: str,
    period_key: str,
    period_start: datetime | None,
    period_end: datetime,
    payload: dict[str, Any],
    stories: list[tuple[int, int, int]],  # (story_id, version, source_count)
    now: datetime,
) -> Digest | None:
    """Store a rendered digest in the outbox; None if this channel's period was already stored."""
    key = f"{channel}:{period_key}"
    if session.scalar(select(Digest.id).where(Digest.idempotency_key == key)) is not None:
        return None
    digest = Digest(
        channel=channel,
        kind=kind,
        period_key=period_key,
        idempotency_key=key,
        created_at=now,
        period_start=period_start,
        period_end=period_end,
        status="pending",
        payload=payload,
        story_count=len(stories),
        attempts=0,
        next_attempt_at=now,
        progress={},
    )
    try:
        with session.begin_nested():
            session.add(digest)
            session.flush()
    except IntegrityError:  # another instance stored the same period first
        return None
    for story_id, version, count in stories:
        session.add(
            DigestStory(
                digest_id=digest.id, story_id=story_id, story_version=version, source_count=count
            )
        )
    session.flush()
    return digest


def claim_due_digests(
    session: Session, *, now: datetime, owner: str, channel: str | None = None
) -> list[Digest]:
    """Lease pending digests whose next attempt is due (FOR UPDATE SKIP LOCKED on PostgreSQL)."""
    query = (
        select(Digest)
        .where(Digest.status.in_(("pending", "sending")))
        .where(or_(Digest.next_attempt_at.is_(None), Digest.next_attempt_at <= now))
        .where(or_(Digest.lease_until.is_(None), Digest.lease_until < now))
        .order_by(Digest.created_at, Digest.id)
    )
    if channel is not None:
        query = query.where(Digest.channel == channel)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    digests = list(session.scalars(query))
    for digest in digests:
        digest.lease_owner = owner
        digest.lease_until = now + SEND_LEASE
        digest.status = "sending"
    session.flush()
    return digests


def start_attempt(session: Session, digest: Digest, now: datetime) -> Delivery:
    digest.attempts += 1
    attempt = Delivery(
        digest_id=digest.id, attempt=digest.attempts, started_at=now, outcome="started", detail={}
    )
    session.add(attempt)
    session.flush()
    return attempt


def recent_digests(session: Session, limit: int = 50) -> list[Digest]:
    return list(
        session.scalars(
            select(Digest).order_by(Digest.created_at.desc(), Digest.id.desc()).limit(limit)
        )
    )
