"""The outbox's delivery: claiming due rows, sending each through its channel, and the retry
and backoff of a failed attempt.

A digest, a breaking post or a story update is an outbox row (:mod:`bot.storage.digests`),
written with its rendered messages before any attempt by :class:`bot.worker.digests.DigestService`.
:class:`Outbox` delivers the due rows: it takes a row's lease, runs one attempt (a ``deliveries``
row), and ends the attempt in one transaction with what the channel's error says.

Delivery outcomes
    Sent: the row is ``sent``. Transient (Slack 429 / 5xx, SMTP 4xx, connection failures): the
    row goes back to ``pending`` with ``next_attempt_at`` after Slack's ``Retry-After`` if it
    gave one, else after an exponential back-off (30 s, 60 s, 120 s ... capped at an hour, with
    jitter); a short wait is spent within the run, a longer one is left to the daemon's outbox
    job. Permanent (SMTP 5xx, ``invalid_auth``, unknown channel, rejected payload): the row is
    ``failed``, an ERROR is logged, ``newsbot_digests_failed{reason="permanent"}`` is counted and
    ``newsbot digests`` shows it with the error. Its stories are not counted as sent, so they
    come back in the channel's next digest rather than being lost. A row whose channel is no
    longer configured (removed before a restart or a SIGHUP reload) is ``abandoned`` with a
    WARNING, and delivery to the other channels goes on.

Posts in doubt
    A request that may have arrived (a timeout or dropped connection after the body was sent,
    or a crash while it was in flight) is never repeated blindly (the channel's error contract,
    :mod:`bot.integration.channel`). A channel that can look it up (Slack with a bot token)
    does so before posting again, retried like a transient failure; otherwise the row becomes
    ``unknown``: an ERROR is logged, ``newsbot_digests_failed{reason="unknown"}`` is counted,
    the ``newsbot_digests_unknown`` gauge counts such rows, and ``newsbot digests`` lists it
    with what to do. Its stories count as sent (they most likely were). An operator who finds
    it did not arrive runs ``newsbot digests --resend ID``, which queues the parts in doubt and
    after it again. Email (SMTP) cannot be asked: a connection lost after the message was
    handed over is retried, so it may arrive twice.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot import metrics
from bot.config import ChannelSettings, Settings
from bot.integration import (
    AmbiguousDeliveryError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
)
from bot.integration.registry import open_channel
from bot.retry import exponential_backoff
from bot.storage.database import Database
from bot.storage.digests import (
    abandon_digest,
    claim_digest,
    claim_due_digests,
    count_unknown_digests,
    resend_unknown,
    set_message_ref,
    start_attempt,
)
from bot.storage.models import DeliveryRow, DigestRow
from bot.text.plural import plural
from bot.worker.process import utcnow

log = logging.getLogger(__name__)

MAX_INLINE_RETRY_DELAY = 30.0  # a retry due sooner than this is waited for within the run
MAX_INLINE_ATTEMPTS = 4
BACKOFF_BASE_S = 30.0
MAX_BACKOFF = timedelta(hours=1)


# The longest Retry-After obeyed: a channel asking for more (999999 s, eleven days) would hold
# the digest and its stories that long while every later digest went out without them.
MAX_RETRY_AFTER = MAX_BACKOFF


def retry_delay(retry_after: float | None, attempts: int) -> timedelta:
    """How long until the next attempt: what the channel asked for (at most MAX_RETRY_AFTER),
    else the backoff."""
    if retry_after is None:
        return backoff_delay(attempts)
    return min(timedelta(seconds=max(0.0, retry_after)), MAX_RETRY_AFTER)


def backoff_delay(attempt: int) -> timedelta:
    """The wait before retry number ``attempt`` (1-based): 30 s doubling up to an hour, with
    jitter (bot.retry) so instances retrying together spread out."""
    return timedelta(
        seconds=exponential_backoff(
            attempt, base_s=BACKOFF_BASE_S, cap_s=MAX_BACKOFF.total_seconds()
        )
    )


class Outbox:
    """Delivers the outbox's due rows, each through its configured channel, with retries."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        instance: str,
        clock: Callable[[], datetime],
        sleep: Callable[[float], Awaitable[None]],
    ) -> None:
        self.settings = settings
        self.db = db
        self.instance = instance
        self.clock = clock
        self.sleep = sleep

    async def deliver_due(self, channel: str | None = None) -> list[tuple[int, str, str | None]]:
        """Deliver every due digest in the outbox; returns (id, status, error) per digest.

        status is ``sent``, ``failed`` (permanent), ``queued`` (to be retried later) or
        ``abandoned`` (its channel is no longer configured)."""
        with self.db.session() as session:
            claimed = [
                d.id
                for d in claim_due_digests(
                    session, now=self.clock(), owner=self.instance, channel=channel
                )
            ]
        results = []
        for digest_id in claimed:
            status, error = await self._deliver_with_retries(digest_id)
            results.append((digest_id, status, error))
        with self.db.session() as session:
            metrics.set_unknown_digests(count_unknown_digests(session))
        return results

    async def _deliver_with_retries(self, digest_id: int) -> tuple[str, str | None]:
        inline_attempts = 0
        while True:
            inline_attempts += 1
            status, error, retry_in = await self._attempt(digest_id)
            if status != "retry":
                return status, error
            if (
                retry_in is None
                or retry_in > MAX_INLINE_RETRY_DELAY
                or inline_attempts >= MAX_INLINE_ATTEMPTS
            ):
                return "queued", error
            await self.sleep(retry_in)
            with self.db.session() as session:  # take the lease again for the retry
                claimed = claim_digest(session, digest_id, now=self.clock(), owner=self.instance)
            if not claimed:  # another instance took it, or it is not due yet
                return "queued", error

    async def _attempt(self, digest_id: int) -> tuple[str, str | None, float | None]:
        now = self.clock()
        with self.db.session() as session:
            row = session.get(DigestRow, digest_id)
            assert row is not None
            channel = self._configured_channel(row.channel)
            if channel is None:
                # queued before a restart or reload that removed the channel: nowhere to send it to
                reason = f"channel {row.channel!r} is no longer configured"
                abandon_digest(session, digest_id, reason)
                log.warning(
                    "digest %d (%s) for channel %r abandoned: %s; its %s will not be delivered",
                    digest_id,
                    row.kind,
                    row.channel,
                    "the channel is no longer configured",
                    plural(row.story_count, "story", "stories"),
                    extra={"channel": row.channel, "digest": digest_id},
                )
                return "abandoned", reason, None
            attempt_id = start_attempt(session, row, now).id
            payload = dict(row.payload)
            progress = dict(row.progress or {})
            record = OutboxRecord(self.db, digest_id, row.idempotency_key, progress, self.clock)
            kind, created_at = row.kind, row.created_at
        try:
            detail = await open_channel(channel).send(payload, record)
        except AmbiguousDeliveryError as exc:
            if exc.verifiable:
                return self._retry_ambiguous(channel, digest_id, kind, attempt_id, exc)
            return self._mark_unknown(channel, digest_id, kind, attempt_id, exc)
        except TransientDeliveryError as exc:
            wait = self._settle(digest_id, attempt_id, "pending", "transient", exc, exc.retry_after)
            metrics.digest_failed(channel.name, kind, "transient")
            log.warning(
                "digest %d to %s: transient failure, retry in %.0f s: %s",
                digest_id,
                channel.name,
                wait.total_seconds(),
                exc,
                extra={"channel": channel.name, "digest": digest_id},
            )
            return "retry", str(exc), wait.total_seconds()
        except PermanentDeliveryError as exc:
            self._settle(digest_id, attempt_id, "failed", "permanent", exc)
            metrics.digest_failed(channel.name, kind, "permanent")
            log.error(
                "digest %d (%s) to %s FAILED permanently and will not be retried: %s",
                digest_id,
                kind,
                channel.name,
                exc,
                extra={"channel": channel.name, "digest": digest_id},
            )
            return "failed", str(exc), None
        self._settle(digest_id, attempt_id, "sent", "sent", None, detail=detail)
        metrics.digest_sent(
            channel.name, kind, latency_s=(self.clock() - created_at).total_seconds()
        )
        log.info(
            "digest %d (%s) delivered to %s",
            digest_id,
            kind,
            channel.name,
            extra={"channel": channel.name, "digest": digest_id},
        )
        return "sent", None, None

    def _retry_ambiguous(
        self,
        channel: ChannelSettings,
        digest_id: int,
        kind: str,
        attempt_id: int,
        exc: AmbiguousDeliveryError,
    ) -> tuple[str, str | None, float | None]:
        """A post in doubt that Slack can be asked about: look it up at the next attempt."""
        wait = self._settle(digest_id, attempt_id, "pending", "ambiguous", exc, exc.retry_after)
        if exc.code != "settling":  # a look-up deferred is not another post in doubt
            metrics.digest_failed(channel.name, kind, "ambiguous")
        log.warning(
            "digest %d to %s: a post is in doubt (%s); it is looked up in the channel before "
            "anything is posted again, in %.0f s",
            digest_id,
            channel.name,
            exc,
            wait.total_seconds(),
            extra={"channel": channel.name, "digest": digest_id},
        )
        return "retry", str(exc), wait.total_seconds()

    def _mark_unknown(
        self,
        channel: ChannelSettings,
        digest_id: int,
        kind: str,
        attempt_id: int,
        exc: AmbiguousDeliveryError,
    ) -> tuple[str, str | None, float | None]:
        """A post in doubt that nobody can check: left for the operator, never re-posted."""
        reason = (
            f"{exc}; not posted again automatically: if it did not arrive, "
            f"run `newsbot digests --resend {digest_id}`"
        )
        self._settle(digest_id, attempt_id, "unknown", "unknown", exc, last_error=reason)
        metrics.digest_failed(channel.name, kind, "unknown")
        log.error(
            "digest %d (%s) to %s: delivery UNKNOWN: %s",
            digest_id,
            kind,
            channel.name,
            reason,
            extra={"channel": channel.name, "digest": digest_id},
        )
        return "unknown", reason, None

    def resend(self, digest_id: int) -> tuple[str, int] | None:
        """Queue an ``unknown`` row again, its part in doubt taken as not delivered (the operator
        checked the channel); returns its (channel, id), None unless it is ``unknown``."""
        with self.db.session() as session:
            row = resend_unknown(session, digest_id, self.clock())
            return None if row is None else (row.channel, row.id)

    def _configured_channel(self, name: str) -> ChannelSettings | None:
        return next((c for c in self.settings.channels if c.name == name), None)

    def _settle(
        self,
        digest_id: int,
        attempt_id: int,
        status: str,
        outcome: str,
        error: DeliveryError | None,
        retry_after: float | None = None,
        *,
        detail: dict[str, Any] | None = None,
        last_error: str | None = None,
    ) -> timedelta:
        """End an attempt in one transaction: the outbox row takes `status` (a "pending" row is
        due again after `retry_delay`, which is returned), its lease is released, and the
        attempt is closed with `outcome`."""
        with self.db.session() as session:
            row = session.get(DigestRow, digest_id)
            assert row is not None
            now = self.clock()
            wait = retry_delay(retry_after, row.attempts)
            row.status = status
            row.last_error = last_error or (str(error) if error is not None else None)
            row.next_attempt_at = now + wait if status == "pending" else None
            if status == "sent":
                row.sent_at = now
            row.lease_owner = None
            row.lease_until = None
            self._finish_attempt(session, attempt_id, outcome, error, detail)
        return wait

    def _finish_attempt(
        self,
        session: Any,
        attempt_id: int,
        outcome: str,
        error: DeliveryError | None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        attempt = session.get(DeliveryRow, attempt_id)
        attempt.outcome = outcome
        attempt.error = str(error) if error is not None else None
        attempt.finished_at = self.clock()
        attempt.detail = dict(detail or {})
        if error is not None:
            attempt.detail["code"] = error.code
            if isinstance(error, TransientDeliveryError) and error.retry_after is not None:
                attempt.detail["retry_after"] = error.retry_after


@dataclass(slots=True)
class OutboxRecord:
    """The outbox row being delivered, as its channel sees it (DeliveryRecord)."""

    db: Database
    id: int
    key: str
    progress: dict[str, Any]
    clock: Callable[[], datetime] = utcnow

    def now(self) -> datetime:
        return self.clock()

    def save_progress(
        self, progress: dict[str, Any], *, posted: tuple[Sequence[int], str] | None = None
    ) -> None:
        with self.db.session() as session:
            row = session.get(DigestRow, self.id)
            assert row is not None
            row.progress = progress
            if posted is not None:
                set_message_ref(session, self.id, list(posted[0]), posted[1])
        self.progress = progress
