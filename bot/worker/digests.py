"""Digest runs: compose a channel's digest, store it in the outbox, and deliver it reliably.

The outbox row is written (with its rendered messages) before any delivery attempt, keyed by
channel + period, so a crash between composing and sending resends the same digest once after
restart, and a period is never stored - or posted - twice.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import logging
import random
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.config import ChannelSettings, Settings
from bot.digest import StoryView, compose_digest
from bot.digest.render import render_email, render_slack, render_text
from bot.integration import PermanentDeliveryError, TransientDeliveryError
from bot.integration.email import send_email
from bot.integration.slack import SlackBot, SlackWebhook
from bot.matcher import RuleSet, load_rules
from bot.model import Digest as DigestData
from bot.storage import Database
from bot.storage.digests import (
    claim_due_digests,
    enqueue_digest,
    last_digest_time,
    previously_sent,
    start_attempt,
)
from bot.storage.feeds import unhealthy_feeds
from bot.storage.models import Delivery, Digest
from bot.storage.stories import stories_updated_since, to_record
from bot.worker.process import new_instance_id, utcnow

log = logging.getLogger(__name__)

MAX_INLINE_RETRY_DELAY = 30.0  # a retry due sooner than this is waited for within the run
MAX_INLINE_ATTEMPTS = 4
MAX_BACKOFF = timedelta(hours=1)


@dataclass(slots=True)
class DigestRun:
    """The result of one digest run for one channel."""

    channel: str
    status: str  # sent | empty | already_done | queued | failed | preview
    digest: DigestData | None = None
    outbox_id: int | None = None
    error: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)


def _backoff(attempt: int) -> timedelta:
    base = min(MAX_BACKOFF.total_seconds(), 30.0 * (2 ** min(attempt - 1, 12)))
    return timedelta(seconds=random.uniform(base / 2, base))


class DigestService:
    """Composes, queues and delivers digests for the configured channels."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        instance: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings
        self.db = db
        self.instance = instance or new_instance_id()
        self.clock = clock
        self.sleep = sleep
        self._rules: dict[str, RuleSet] = {}

    def _threshold(self, channel: ChannelSettings) -> float:
        if channel.threshold is not None:
            return channel.threshold
        if self.settings.threshold is not None:
            return self.settings.threshold
        return self._rule_set(str(self.settings.rules)).threshold

    def _rule_set(self, path: str) -> RuleSet:
        if path not in self._rules:
            from pathlib import Path

            self._rules[path] = load_rules(Path(path))
        return self._rules[path]

    def compose(self, channel: ChannelSettings, *, now: datetime) -> DigestData:
        """The digest this channel would get now: stories new or updated since its last one."""
        window = timedelta(hours=self.settings.clustering.active_window_hours)
        with self.db.session() as session:
            since = last_digest_time(session, channel.name)
            lookback = now - window if since is None else min(since, now - window)
            stories = stories_updated_since(session, lookback, limit=2000)
            sent = previously_sent(session, channel.name)
            channel_rules = self._rule_set(channel.rules) if channel.rules else None
            candidates: list[StoryView] = []
            total_entries = 0
            for story in stories:
                if channel_rules is not None and not any(
                    channel_rules.match(_match_item(member.entry)).relevant
                    for member in story.members
                ):
                    continue
                record = to_record(story)
                total_entries += len(story.members)
                candidates.append(
                    StoryView(
                        story_id=record.id,
                        headline=record.headline,
                        summary=record.summary,
                        facts=record.facts,
                        sources=record.sources,
                        first_seen=record.first_seen,
                        last_updated=record.last_updated,
                        score=record.score,
                        version=record.version,
                    )
                )
            unhealthy = [
                feed.name or feed.title or feed.url
                for feed in unhealthy_feeds(session, self.settings.fetch.unhealthy_after)
            ]
        return compose_digest(
            channel=channel.name,
            title=f"Compute deals digest · {channel.name}",
            candidates=candidates,
            previously_sent=sent,
            period_start=since,
            period_end=now,
            max_stories=channel.max_stories,
            min_score=self._threshold(channel),
            unhealthy_feeds=unhealthy,
            total_entries=total_entries,
        )

    def render(self, channel: ChannelSettings, digest: DigestData) -> dict[str, Any]:
        if channel.type == "slack":
            return {"format": "slack", "messages": render_slack(digest)}
        assert channel.email is not None
        message = render_email(digest, from_addr=channel.email.from_addr, to=channel.email.to)
        return {"format": "email", "eml": message.as_string()}

    def preview(self, channel_name: str, fmt: str | None = None) -> tuple[DigestData, str]:
        """What would be sent now, without storing or sending anything."""
        channel = self.settings.channel(channel_name)
        digest = self.compose(channel, now=self.clock())
        fmt = fmt or "text"
        if fmt == "text":
            return digest, render_text(digest)
        if fmt == "slack":
            import json

            return digest, json.dumps(render_slack(digest), indent=2, ensure_ascii=False)
        assert channel.email is not None or fmt == "email"
        from_addr = channel.email.from_addr if channel.email else "newsbot@localhost"
        to = channel.email.to if channel.email else ["preview@localhost"]
        return digest, render_email(digest, from_addr=from_addr, to=to).as_string()

    def enqueue(
        self, channel_name: str, *, period_key: str | None = None, kind: str = "scheduled"
    ) -> DigestRun:
        """Compose and store this period's digest in the outbox (once per channel and period)."""
        channel = self.settings.channel(channel_name)
        now = self.clock()
        # A manual run is its own period; what it may contain is still limited to stories
        # not yet sent to the channel, so repeating it posts nothing twice.
        period_key = period_key or f"manual:{now.isoformat()}:{uuid.uuid4().hex[:8]}"
        digest = self.compose(channel, now=now)
        if digest.is_empty and not channel.send_empty:
            return DigestRun(channel=channel.name, status="empty", digest=digest)
        payload = self.render(channel, digest)
        with self.db.session() as session:
            row = enqueue_digest(
                session,
                channel=channel.name,
                kind=kind,
                period_key=period_key,
                period_start=digest.period_start,
                period_end=digest.period_end,
                payload=payload,
                stories=[(s.story_id, s.version, len(s.sources)) for s in digest.stories],
                now=now,
            )
            if row is None:
                return DigestRun(channel=channel.name, status="already_done", digest=digest)
            outbox_id = row.id
        log.info(
            "digest %d queued for %s (%d stories)", outbox_id, channel.name, len(digest.stories)
        )
        return DigestRun(
            channel=channel.name,
            status="queued",
            digest=digest,
            outbox_id=outbox_id,
            payload=payload,
        )

    async def run(
        self, channel_name: str, *, period_key: str | None = None, kind: str = "scheduled"
    ) -> DigestRun:
        """Queue this period's digest and deliver whatever is due for the channel."""
        run = self.enqueue(channel_name, period_key=period_key, kind=kind)
        results = await self.deliver_due(channel_name)
        if run.outbox_id is not None:
            for outbox_id, status, error in results:
                if outbox_id == run.outbox_id:
                    run.status, run.error = status, error
        return run

    async def deliver_due(self, channel: str | None = None) -> list[tuple[int, str, str | None]]:
        """Deliver every due digest in the outbox; returns (id, status, error) per digest."""
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

    async def _attempt(self, digest_id: int) -> tuple[str, str | None, float | None]:
        now = self.clock()
        with self.db.session() as session:
            row = session.get(Digest, digest_id)
            assert row is not None
            attempt_id = start_attempt(session, row, now).id
            channel = self.settings.channel(row.channel)
            payload = dict(row.payload)
            progress = dict(row.progress or {})
        try:
            detail = await self._send(channel, payload, progress, digest_id)
        except TransientDeliveryError as exc:
            delay = exc.retry_after
            with self.db.session() as session:
                row = session.get(Digest, digest_id)
                assert row is not None
                wait = timedelta(seconds=delay) if delay is not None else _backoff(row.attempts)
                row.status = "pending"
                row.next_attempt_at = self.clock() + wait
                row.lease_owner = None
                row.lease_until = None
                row.last_error = str(exc)
                self._finish_attempt(session, attempt_id, "transient", str(exc))
            log.warning("digest %d to %s: transient failure: %s", digest_id, channel.name, exc)
            return "retry", str(exc), wait.total_seconds()
        except PermanentDeliveryError as exc:
            with self.db.session() as session:
                row = session.get(Digest, digest_id)
                assert row is not None
                row.status = "failed"
                row.last_error = str(exc)
                row.lease_owner = None
                row.lease_until = None
                self._finish_attempt(session, attempt_id, "permanent", str(exc))
            log.error(
                "digest %d to %s FAILED permanently and will not be retried: %s",
                digest_id,
                channel.name,
                exc,
            )
            return "failed", str(exc), None
        with self.db.session() as session:
            row = session.get(Digest, digest_id)
            assert row is not None
            row.status = "sent"
            row.sent_at = self.clock()
            row.last_error = None
            row.lease_owner = None
            row.lease_until = None
            self._finish_attempt(session, attempt_id, "sent", None, detail)
        log.info("digest %d delivered to %s", digest_id, channel.name)
        return "sent", None, None

    def _finish_attempt(
        self,
        session: Any,
        attempt_id: int,
        outcome: str,
        error: str | None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        attempt = session.get(Delivery, attempt_id)
        attempt.outcome = outcome
        attempt.error = error
        attempt.finished_at = self.clock()
        attempt.detail = detail or {}

    async def _send(
        self,
        channel: ChannelSettings,
        payload: dict[str, Any],
        progress: dict[str, Any],
        digest_id: int,
    ) -> dict[str, Any]:
        if payload.get("format") == "email":
            assert channel.email is not None
            mail = email.message_from_string(payload["eml"], policy=email.policy.default)
            await send_email(mail, channel.email)
            return {"message_id": mail.get("Message-ID")}
        messages: list[dict[str, Any]] = payload.get("messages", [])
        done: list[int] = list(progress.get("sent_parts", []))
        refs: list[str | None] = list(progress.get("refs", []))
        client = self._slack_client(channel)
        for index, message in enumerate(messages):
            if index in done:  # delivered before a crash or a failure of a later part
                continue
            posted = await client.post(message)
            done.append(index)
            refs.append(posted.ts)
            with self.db.session() as session:
                row = session.get(Digest, digest_id)
                assert row is not None
                row.progress = {"sent_parts": done, "refs": refs}
        return {"parts": len(messages), "refs": refs}

    def _slack_client(self, channel: ChannelSettings) -> SlackBot | SlackWebhook:
        slack = channel.slack
        assert slack is not None
        if slack.bot_token is not None and slack.channel:
            return SlackBot(
                slack.bot_token.get_secret_value(), slack.channel, base_url=slack.api_base_url
            )
        assert slack.webhook_url is not None
        return SlackWebhook(slack.webhook_url.get_secret_value())


def _match_item(entry: Any) -> Any:
    from bot.model import MatchItem

    return MatchItem(
        title=entry.title,
        summary=entry.summary,
        text=entry.text,
        source=entry.source_name,
        url=entry.url,
        author=entry.author,
        categories=list(entry.categories or []),
    )
