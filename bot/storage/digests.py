"""The digest outbox: digests stored before delivery, their stories, and every delivery attempt.

Kinds of outbox rows (``digests.kind``): ``scheduled`` and ``manual`` digests, ``breaking`` posts
of one story (idempotency key ``<channel>:breaking:<story id>``) and ``update`` posts (a thread
reply or an edit of an already posted Slack message, key ``<channel>:update:<story id>:v<n>``).
Every row records which stories it carried (``digest_stories``) with their outlet count and key
facts, which is what "already sent to this channel" and "materially updated since" are judged on.
Rows that failed permanently do not count as sent, so their stories come back in the next digest.
Rows of a channel that is no longer configured are ``abandoned`` (:func:`abandon_digest`): never
claimed again, and not counted as sent either. Rows whose delivery is ``unknown`` (a post in doubt
that Slack cannot be asked about, see bot.worker.outbox) count as sent - they most likely were -
and are claimed again only after an operator's :func:`resend_unknown`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.models import DeliveryRow, DigestRow, DigestStoryRow

# A digest that was handed to Slack or SMTP and whose outcome was never recorded (the process
# died mid-send) is retried after this long; until then another instance leaves it alone.
SEND_LEASE = timedelta(minutes=5)

# queued, delivered, or delivered as far as anyone can tell: counts as sent
LIVE_STATUSES = ("pending", "sending", "sent", "unknown")
PERIOD_KINDS = ("scheduled", "manual")  # the kinds that open and close a digest period


@dataclass(slots=True, frozen=True)
class StoryInclusion:
    """A story as it went into one outbox row."""

    story_id: int
    version: int
    source_count: int
    facts: dict[str, Any] | None = None
    message_ref: str | None = None  # the Slack ts the story is shown in, once known


@dataclass(slots=True, frozen=True)
class SentStory:
    """What a channel was last sent of a story, and the Slack message it lives in (if any)."""

    source_count: int
    version: int
    facts: dict[str, Any] | None
    message_ref: str | None


def previously_sent(session: Session, channel: str) -> dict[int, int]:
    """story_id -> outlet count when last included in a queued or sent row of ``channel``."""
    return {
        story_id: sent.source_count for story_id, sent in last_inclusions(session, channel).items()
    }


def last_inclusions(
    session: Session, channel: str, story_ids: list[int] | None = None
) -> dict[int, SentStory]:
    """story_id -> its latest inclusion in a queued or delivered outbox row of ``channel``.

    ``message_ref`` is the latest known Slack message of the story in this channel, which may
    come from an earlier row than the latest inclusion (an update row refers to its parent).
    """
    query = (
        select(
            DigestStoryRow.story_id,
            DigestStoryRow.source_count,
            DigestStoryRow.story_version,
            DigestStoryRow.facts,
            DigestStoryRow.message_ref,
        )
        .join(DigestRow, DigestRow.id == DigestStoryRow.digest_id)
        .where(DigestRow.channel == channel, DigestRow.status.in_(LIVE_STATUSES))
        .order_by(DigestStoryRow.id)
    )
    if story_ids is not None:
        if not story_ids:
            return {}
        query = query.where(DigestStoryRow.story_id.in_(story_ids))
    latest: dict[int, SentStory] = {}
    for story_id, count, version, facts, ref in session.execute(query):
        before = latest.get(int(story_id))
        latest[int(story_id)] = SentStory(
            source_count=int(count),
            version=int(version),
            facts=facts,
            message_ref=ref or (before.message_ref if before else None),
        )
    return latest


def last_digest_time(session: Session, channel: str) -> datetime | None:
    """The end of the channel's last scheduled or manual digest (breaking and update posts do
    not close a period)."""
    return session.scalar(
        select(func.max(DigestRow.period_end)).where(
            DigestRow.channel == channel,
            DigestRow.status.in_(LIVE_STATUSES),
            DigestRow.kind.in_(PERIOD_KINDS),
        )
    )


def last_digest_period(session: Session, channel: str) -> tuple[datetime | None, datetime] | None:
    """(period_start, period_end) of the channel's last scheduled or manual digest (the one
    `last_digest_time` ends), or None before its first."""
    row = session.execute(
        select(DigestRow.period_start, DigestRow.period_end)
        .where(
            DigestRow.channel == channel,
            DigestRow.status.in_(LIVE_STATUSES),
            DigestRow.kind.in_(PERIOD_KINDS),
        )
        .order_by(DigestRow.period_end.desc(), DigestRow.id.desc())
        .limit(1)
    ).first()
    return None if row is None else (row[0], row[1])


def period_stored(session: Session, channel: str, period_key: str) -> bool:
    """Whether this channel's period is already in the outbox (in any status)."""
    key = f"{channel}:{period_key}"
    return session.scalar(select(DigestRow.id).where(DigestRow.idempotency_key == key)) is not None


def enqueue_digest(
    session: Session,
    *,
    channel: str,
    kind: str,
    period_key: str,
    period_start: datetime | None,
    period_end: datetime,
    payload: dict[str, Any],
    stories: Sequence[StoryInclusion | tuple[int, int, int]],  # or (story_id, version, count)
    now: datetime,
) -> DigestRow | None:
    """Store a rendered digest in the outbox; None if this channel's period was already stored."""
    key = f"{channel}:{period_key}"
    if session.scalar(select(DigestRow.id).where(DigestRow.idempotency_key == key)) is not None:
        return None
    digest = DigestRow(
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
    for item in stories:
        story = item if isinstance(item, StoryInclusion) else StoryInclusion(*item)
        session.add(
            DigestStoryRow(
                digest_id=digest.id,
                story_id=story.story_id,
                story_version=story.version,
                source_count=story.source_count,
                facts=story.facts,
                message_ref=story.message_ref,
            )
        )
    session.flush()
    return digest


def claim_due_digests(
    session: Session, *, now: datetime, owner: str, channel: str | None = None
) -> list[DigestRow]:
    """Lease pending digests whose next attempt is due, oldest first.

    Each lease is a compare-and-set ``UPDATE ... WHERE <still claimable>``: on PostgreSQL the
    rows are also read ``FOR UPDATE SKIP LOCKED``, but SQLite reads outside a write transaction,
    so two processes can both see a row as claimable and only the conditional update decides
    which of them sends it.
    """
    claimable = (
        DigestRow.status.in_(("pending", "sending")),
        or_(DigestRow.next_attempt_at.is_(None), DigestRow.next_attempt_at <= now),
        or_(DigestRow.lease_until.is_(None), DigestRow.lease_until < now),
    )
    query = select(DigestRow.id).where(*claimable).order_by(DigestRow.created_at, DigestRow.id)
    if channel is not None:
        query = query.where(DigestRow.channel == channel)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    claimed: list[int] = []
    for digest_id in list(session.scalars(query)):
        result = session.execute(
            update(DigestRow)
            .where(DigestRow.id == digest_id, *claimable)
            .values(lease_owner=owner, lease_until=now + SEND_LEASE, status="sending"),
            execution_options={"synchronize_session": False},
        )
        if getattr(result, "rowcount", 0) == 1:
            claimed.append(digest_id)
    session.flush()
    session.expire_all()
    return [digest for i in claimed if (digest := session.get(DigestRow, i)) is not None]


def claim_digest(session: Session, digest_id: int, *, now: datetime, owner: str) -> bool:
    """Lease one digest again for a retry within the same run, if it is still claimable."""
    result = session.execute(
        update(DigestRow)
        .where(
            DigestRow.id == digest_id,
            DigestRow.status.in_(("pending", "sending")),
            or_(DigestRow.next_attempt_at.is_(None), DigestRow.next_attempt_at <= now),
            or_(DigestRow.lease_until.is_(None), DigestRow.lease_until < now),
        )
        .values(lease_owner=owner, lease_until=now + SEND_LEASE, status="sending"),
        execution_options={"synchronize_session": False},
    )
    return getattr(result, "rowcount", 0) == 1


def release_sending_digests(session: Session, owner: str | None = None) -> int:
    """Let digests that `owner` (a dead instance; None: anyone) was sending be claimed again;
    returns how many were freed."""
    statement = update(DigestRow).where(DigestRow.status == "sending")
    if owner is not None:
        statement = statement.where(DigestRow.lease_owner == owner)
    result = session.execute(
        statement.values(lease_until=None, lease_owner=None),
        execution_options={"synchronize_session": False},
    )
    return int(getattr(result, "rowcount", 0) or 0)


def digest_lease_owners(session: Session, now: datetime) -> set[str]:
    """Instances holding an unexpired lease on a digest they are sending."""
    return set(
        session.scalars(
            select(DigestRow.lease_owner)
            .where(DigestRow.status == "sending", DigestRow.lease_until >= now)
            .distinct()
        )
    )


def set_message_ref(session: Session, digest_id: int, story_ids: list[int], ref: str) -> None:
    """Remember the Slack message (ts) the given stories of a digest were posted in."""
    if story_ids:
        session.execute(
            update(DigestStoryRow)
            .where(DigestStoryRow.digest_id == digest_id, DigestStoryRow.story_id.in_(story_ids))
            .values(message_ref=ref),
            execution_options={"synchronize_session": False},
        )


def posted_message(session: Session, channel: str, ref: str) -> dict[str, Any] | None:
    """The Slack message ``ref`` of ``channel`` as it currently reads: the latest edit queued or
    made, else the digest part that was posted as ``ref``."""
    edits = session.scalars(
        select(DigestRow)
        .where(DigestRow.channel == channel, DigestRow.kind == "update")
        .where(DigestRow.status.in_(LIVE_STATUSES))
        .order_by(DigestRow.id.desc())
    )
    for row in edits:
        payload = row.payload or {}
        if payload.get("action") == "edit" and payload.get("ref") == ref:
            message = payload.get("message")
            return dict(message) if isinstance(message, dict) else None
    parents = session.scalars(
        select(DigestRow)
        .join(DigestStoryRow, DigestStoryRow.digest_id == DigestRow.id)
        .where(
            DigestRow.channel == channel,
            DigestRow.kind != "update",
            DigestStoryRow.message_ref == ref,
        )
        .order_by(DigestRow.id.desc())
    )
    for row in parents:
        progress = row.progress or {}
        refs = list(progress.get("refs") or [])
        parts = list(progress.get("sent_parts") or [])
        messages = list((row.payload or {}).get("messages") or [])
        if ref in refs and refs.index(ref) < len(parts):
            index = parts[refs.index(ref)]
            if 0 <= index < len(messages) and isinstance(messages[index], dict):
                return dict(messages[index])
    return None


def abandon_digest(session: Session, digest_id: int, reason: str) -> DigestRow | None:
    """Give up a queued digest for good (its channel was removed from the configuration): it is
    never claimed again and its stories do not count as sent. Returns the row, None if unknown."""
    digest = session.get(DigestRow, digest_id)
    if digest is None:
        return None
    digest.status = "abandoned"
    digest.last_error = reason
    digest.next_attempt_at = None
    digest.lease_owner = None
    digest.lease_until = None
    session.flush()
    return digest


def start_attempt(session: Session, digest: DigestRow, now: datetime) -> DeliveryRow:
    digest.attempts += 1
    attempt = DeliveryRow(
        digest_id=digest.id, attempt=digest.attempts, started_at=now, outcome="started", detail={}
    )
    session.add(attempt)
    session.flush()
    return attempt


def digest_status(session: Session, digest_id: int) -> str | None:
    """The outbox status of digest `digest_id` (None when there is no such digest)."""
    return session.scalar(select(DigestRow.status).where(DigestRow.id == digest_id))


def count_undelivered(session: Session, channel: str) -> int:
    """A channel's digests queued for a retry. (One in doubt counts as sent, as everywhere: it
    most likely arrived, and waits for an operator, who `newsbot digests` and /healthz tell.)"""
    return int(
        session.scalar(
            select(func.count())
            .select_from(DigestRow)
            .where(DigestRow.channel == channel, DigestRow.status == "pending")
        )
        or 0
    )


def count_unknown_digests(session: Session) -> int:
    """How many outbox rows wait for an operator to say whether their post in doubt arrived."""
    return int(
        session.scalar(
            select(func.count()).select_from(DigestRow).where(DigestRow.status == "unknown")
        )
        or 0
    )


def resend_unknown(session: Session, digest_id: int, now: datetime) -> DigestRow | None:
    """Queue an ``unknown`` row again, its part in doubt taken as not delivered (the operator
    looked at the channel). Returns the row, None unless it exists and is ``unknown``."""
    digest = session.get(DigestRow, digest_id)
    if digest is None or digest.status != "unknown":
        return None
    progress = dict(digest.progress or {})
    progress.pop("in_doubt", None)
    digest.progress = progress
    digest.status = "pending"
    digest.next_attempt_at = now
    digest.last_error = None
    session.flush()
    return digest


def recent_digests(session: Session, limit: int = 50) -> list[DigestRow]:
    return list(
        session.scalars(
            select(DigestRow)
            .order_by(DigestRow.created_at.desc(), DigestRow.id.desc())
            .limit(limit)
        )
    )


@dataclass(frozen=True, slots=True)
class ChannelFailure:
    """A channel whose latest delivery attempts failed: how many in a row, and the last error."""

    failures: int
    permanent: bool
    last_error: str | None


def failing_channels(
    session: Session, channels: Sequence[str], *, after: int
) -> dict[str, ChannelFailure]:
    """The channels whose latest finished delivery attempt failed permanently, or whose latest
    `after` attempts all failed (transient errors that keep coming back). A success clears it."""
    failing: dict[str, ChannelFailure] = {}
    for channel in channels:
        rows = session.execute(
            select(DeliveryRow.outcome, DeliveryRow.error)
            .join(DigestRow, DigestRow.id == DeliveryRow.digest_id)
            .where(DigestRow.channel == channel, DeliveryRow.outcome != "started")
            .order_by(DeliveryRow.finished_at.desc(), DeliveryRow.id.desc())
            .limit(max(after, 1))
        ).all()
        streak = 0
        for outcome, _error in rows:
            if outcome == "sent":
                break
            streak += 1
        if not streak:
            continue
        permanent = rows[0][0] == "permanent"
        if permanent or streak >= after:
            failing[channel] = ChannelFailure(streak, permanent, rows[0][1])
    return failing
