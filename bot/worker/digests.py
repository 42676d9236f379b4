"""Digest runs: compose a channel's digest, store it in the outbox, and deliver it reliably.

The outbox row is written (with its rendered messages) before any delivery attempt, keyed by
channel + period, so a crash between composing and sending resends the same digest once after
restart, and a period is never stored - or posted - twice. Every attempt is a ``deliveries`` row.

Delivery (claiming, retries and backoff, posts in doubt) is :mod:`bot.worker.outbox`'s.

Updates of posted stories (Slack with a bot token)
    Each story's Slack message ``ts`` is stored with its outbox row
    (``digest_stories.message_ref``).
    When a posted story is *materially updated* (new outlets or new key facts, see
    :func:`bot.digest.compose.material_fact_changes`), ``on_update = "thread"`` replies in its
    message's thread and ``"edit"`` rewrites the message in place (``chat.update``), marked
    "Updated". These posts are outbox rows of kind ``update`` and are made after each poll and
    before each digest, and they record the story's new outlet count and facts, so **the next
    digest does not list the story again**. With ``on_update = "none"``, with a webhook (which
    has no ``ts``), or for a story posted before its ``ts`` was known, the story instead comes
    back in the next digest marked "Updated".

Breaking news
    With ``breaking_min_sources`` set, after each poll a story that reached that many outlets
    and ``breaking_min_score`` (default: the channel's threshold) and was never sent to the
    channel is posted at once, alone, under the key ``breaking:<story id>`` (so once per story
    and channel, however many instances poll). It is then recorded as sent: the next scheduled
    digest does not repeat it, unless it is materially updated later (then it is an update, as
    above).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from bot.config import ChannelSettings, EmailChannelSettings, Settings
from bot.digest import PreviousInclusion, compose_digest
from bot.digest.render import render_email, render_slack, render_text
from bot.integration.registry import open_channel
from bot.matcher import RuleSet, load_rules
from bot.model import Digest, DigestStory, StoryFacts, StoryView
from bot.storage.database import Database
from bot.storage.digests import (
    SentStory,
    StoryInclusion,
    enqueue_digest,
    last_digest_period,
    last_inclusions,
    period_stored,
    posted_message,
)
from bot.storage.entries import stored_match_item
from bot.storage.feeds import unhealthy_feeds
from bot.storage.models import StoryRow
from bot.storage.stories import stories_updated_since, story_view
from bot.text.plural import plural
from bot.text.redaction import url_label
from bot.worker.ledger import ledger_due, weekly_ledger
from bot.worker.outbox import Outbox
from bot.worker.process import new_instance_id, utcnow

log = logging.getLogger(__name__)


MAX_CANDIDATES = 2000
# How far back a channel's digest looks for stories: since its last digest, and at least this
# far (its first digest shows the last three days, not every story still open to new reports).
# A story is in it only when one of its reports was also published within that time: a story
# row is updated when an entry joins it, whenever the entry was published, so the backlog of a
# feed just added (its first poll keeps its newest items, however old) or back after a long
# outage would otherwise come out as news.
FIRST_DIGEST_LOOKBACK = timedelta(hours=72)
MAX_BREAKING_PER_POLL = 5  # a flood of breaking posts is a digest: leave the rest to it


@dataclass(slots=True)
class DigestRun:
    """The result of one digest run for one channel."""

    channel: str
    status: str  # sent | empty | already_done | queued | failed | abandoned | preview
    digest: Digest | None = None
    outbox_id: int | None = None
    error: str | None = None
    payload: dict[str, Any] = field(default_factory=dict)
    # earlier outbox rows of the channel delivered by this run (left by a crash or a retry)
    delivered_earlier: list[int] = field(default_factory=list)


@dataclass(slots=True)
class AfterPollStats:
    """What :meth:`DigestService.after_poll` queued and delivered."""

    breaking: dict[str, list[int]] = field(default_factory=dict)  # channel -> story ids
    updates: dict[str, list[int]] = field(default_factory=dict)  # channel -> story ids
    delivered: list[tuple[int, str, str | None]] = field(default_factory=list)


def reported_since(story: StoryRow, since: datetime) -> bool:
    """Whether one of the story's reports was published at or after `since`."""
    return any(member.entry.published_at >= since for member in story.members)


def digest_lookback(since: datetime | None, now: datetime) -> datetime:
    """How far back a digest composed at `now` looks, its channel's last digest ending at
    `since` (None before the first): since then, and at least FIRST_DIGEST_LOOKBACK."""
    return now - FIRST_DIGEST_LOOKBACK if since is None else min(since, now - FIRST_DIGEST_LOOKBACK)


def report_cutoff(
    story: StoryRow, last_period: tuple[datetime | None, datetime] | None, lookback: datetime
) -> datetime:
    """How recent one of the story's reports must be for the story to be in a digest looking
    back to `lookback`. A story unchanged since the channel's last digest (`last_period`, its
    start and end) keeps the eligibility it had in that digest: left below its cut, it comes
    back held over (bot.digest.compose) even when its reports have aged out of this period."""
    if last_period is not None and story.last_updated_at <= last_period[1]:
        return min(lookback, digest_lookback(*last_period))
    return lookback


def _previous(sent: dict[int, SentStory]) -> dict[int, int | PreviousInclusion]:
    return {
        story_id: PreviousInclusion(
            source_count=item.source_count,
            facts=StoryFacts.from_json(item.facts) if item.facts is not None else None,
            version=item.version,
        )
        for story_id, item in sent.items()
    }


def _inclusion(story: DigestStory, message_ref: str | None = None) -> StoryInclusion:
    return StoryInclusion(
        story_id=story.story_id,
        version=story.version,
        source_count=len(story.sources),
        facts=story.facts.to_json(),
        message_ref=message_ref,
    )


class DigestService:
    """Composes, queues and delivers digests, breaking posts and story updates."""

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
        self._rules: dict[str, RuleSet] = {}
        self.outbox = Outbox(settings, db, instance=self.instance, clock=clock, sleep=sleep)

    # composition ------------------------------------------------------------------------------
    def _threshold(self, channel: ChannelSettings) -> float:
        if channel.threshold is not None:
            return channel.threshold
        if self.settings.threshold is not None:
            return self.settings.threshold
        return self._rule_set(str(self.settings.rules)).threshold

    def load_rules(self) -> None:
        """Read the rule file of every channel that has its own (raises RuleError naming a
        broken one). The daemon does so at start and on reload: a broken file then stops the
        start, or keeps the previous configuration, instead of failing the channel's digests
        when they come due, hours later."""
        for channel in self.settings.channels:
            if channel.rules:
                self._rule_set(channel.rules)

    def _rule_set(self, path: str) -> RuleSet:
        if path not in self._rules:
            self._rules[path] = load_rules(Path(path))
        return self._rules[path]

    def compose(
        self, channel: ChannelSettings, *, now: datetime, max_stories: int | None = None
    ) -> Digest:
        """The digest this channel would get now: stories new or materially updated since they
        were last sent to it, passing its rules and threshold, ranked and capped."""
        with self.db.session() as session:
            last_period = last_digest_period(session, channel.name)
            since = last_period[1] if last_period is not None else None
            lookback = digest_lookback(since, now)
            stories = stories_updated_since(session, lookback, limit=MAX_CANDIDATES)
            channel_rules = self._rule_set(channel.rules) if channel.rules else None
            candidates: list[StoryView] = []
            total_entries = 0
            for story in stories:
                if not reported_since(story, report_cutoff(story, last_period, lookback)):
                    continue
                if channel_rules is not None and not any(
                    channel_rules.match(stored_match_item(member.entry)).relevant
                    for member in story.members
                ):
                    continue
                total_entries += sum(
                    1 for m in story.members if since is None or m.joined_at > since
                )
                candidates.append(story_view(story))
            sent = last_inclusions(session, channel.name, [c.story_id for c in candidates])
            # named by name or title, else by host and path: never the query, whose values
            # may be the feed's credentials (?apikey=...)
            unhealthy = [
                feed.name or feed.title or url_label(feed.url)
                for feed in unhealthy_feeds(session, self.settings.fetch.unhealthy_after)
            ]
        digest = compose_digest(
            channel=channel.name,
            title=f"Compute deals digest · {channel.name}",
            candidates=candidates,
            previously_sent=_previous(sent),
            period_start=since,
            period_end=now,
            max_stories=max_stories or channel.max_stories,
            min_score=self._threshold(channel),
            unhealthy_feeds=unhealthy,
            total_entries=total_entries,
            preferred_outlets=channel.preferred_outlets,
            timezone=channel.schedule.timezone,
        )
        if channel.ledger == "weekly" and ledger_due(since, now, channel.schedule.timezone):
            digest.ledger = weekly_ledger(self.db, now)
        return digest

    def render(self, channel: ChannelSettings, digest: Digest) -> dict[str, Any]:
        """The outbox payload, rendered by the channel's type (bot.integration.registry)."""
        return open_channel(channel).render(digest)

    def preview(self, channel_name: str, fmt: str | None = None) -> tuple[Digest, str]:
        """What would be sent now, without storing or sending anything."""
        channel = self.settings.channel(channel_name)
        digest = self.compose(channel, now=self.clock())
        fmt = fmt or "text"
        if fmt == "text":
            return digest, render_text(digest)
        if fmt == "slack":
            return digest, json.dumps(render_slack(digest), indent=2, ensure_ascii=False)
        email = channel.email if isinstance(channel, EmailChannelSettings) else None
        from_addr = email.from_addr if email else "newsbot@localhost"
        to = email.to if email else ["preview@localhost"]
        return digest, render_email(digest, from_addr=from_addr, to=to).as_string()

    # queueing ---------------------------------------------------------------------------------
    def enqueue(
        self, channel_name: str, *, period_key: str | None = None, kind: str = "scheduled"
    ) -> DigestRun:
        """Compose and store this period's digest in the outbox (once per channel and period)."""
        channel = self.settings.channel(channel_name)
        if open_channel(channel).supports_updates:
            # posted stories that were updated go to their threads/messages, not the digest
            self.enqueue_updates(channel.name)
        now = self.clock()
        # A manual run is its own period; what it may contain is still limited to stories
        # not yet sent to the channel, so repeating it posts nothing twice.
        period_key = period_key or f"manual:{now.isoformat()}:{uuid.uuid4().hex[:8]}"
        with self.db.session() as session:
            if period_stored(session, channel.name, period_key):
                return DigestRun(channel=channel.name, status="already_done")
        digest = self.compose(channel, now=now)
        # A weekly ledger with deals is worth sending without new stories.
        has_ledger = digest.ledger is not None and digest.ledger.deals > 0
        if digest.is_empty and not channel.send_empty and not has_ledger:
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
                stories=[_inclusion(s) for s in digest.stories],
                now=now,
            )
            if row is None:
                return DigestRun(channel=channel.name, status="already_done", digest=digest)
            outbox_id = row.id
        log.info(
            "digest %d queued for %s (%s)",
            outbox_id,
            channel.name,
            plural(len(digest.stories), "story", "stories"),
            extra={"channel": channel.name, "digest": outbox_id},
        )
        return DigestRun(
            channel=channel.name,
            status="queued",
            digest=digest,
            outbox_id=outbox_id,
            payload=payload,
        )

    def enqueue_updates(self, channel_name: str) -> list[int]:
        """Queue a thread reply or an edit for each posted story of the channel that was
        materially updated since; returns their story ids. No-op unless the channel
        supports updates in place (Channel.supports_updates)."""
        channel = self.settings.channel(channel_name)
        target = open_channel(channel)
        if not target.supports_updates:
            return []
        now = self.clock()
        digest = self.compose(channel, now=now, max_stories=MAX_CANDIDATES)
        updated = [story for story in digest.stories if story.updated]
        queued: list[int] = []
        if not updated:
            return queued
        with self.db.session() as session:
            sent = last_inclusions(session, channel.name, [s.story_id for s in updated])
            for story in updated:
                ref = sent[story.story_id].message_ref if story.story_id in sent else None
                if ref is None:
                    continue  # never posted with a known ts: the digest reports it
                posted = partial(posted_message, session, channel.name, ref)
                payload = target.render_update(story, ref, posted)
                if payload is None:
                    continue  # nothing to update in place: the digest reports it
                row = enqueue_digest(
                    session,
                    channel=channel.name,
                    kind="update",
                    period_key=f"update:{story.story_id}:v{story.version}",
                    period_start=None,
                    period_end=now,
                    payload=payload,
                    stories=[_inclusion(story, message_ref=ref)],
                    now=now,
                )
                if row is not None:
                    queued.append(story.story_id)
                    log.info(
                        "story %d updated (%s): %s queued for %s",
                        story.story_id,
                        plural(len(story.sources), "outlet"),
                        "thread reply" if payload.get("action") == "thread" else "message edit",
                        channel.name,
                        extra={"story": story.story_id, "channel": channel.name},
                    )
        return queued

    def enqueue_breaking(self, channel_name: str) -> list[int]:
        """Queue a post of each story that crossed the channel's breaking threshold and was
        never sent to it; returns their story ids."""
        channel = self.settings.channel(channel_name)
        if channel.breaking_min_sources is None:
            return []
        min_score = (
            channel.breaking_min_score
            if channel.breaking_min_score is not None
            else self._threshold(channel)
        )
        now = self.clock()
        digest = self.compose(channel, now=now, max_stories=MAX_CANDIDATES)
        crossing = [
            story
            for story in digest.stories
            if not story.updated
            and len(story.sources) >= channel.breaking_min_sources
            and story.score >= min_score
        ][:MAX_BREAKING_PER_POLL]
        queued: list[int] = []
        for story in crossing:
            single = Digest(
                channel=channel.name,
                title=f"Breaking compute deal · {channel.name}",
                period_start=None,
                period_end=now,
                stories=[story],
                total_entries=len(story.sources),
                unhealthy_feeds=digest.unhealthy_feeds,
                timezone=digest.timezone,
            )
            payload = self.render(channel, single)
            with self.db.session() as session:
                row = enqueue_digest(
                    session,
                    channel=channel.name,
                    kind="breaking",
                    period_key=f"breaking:{story.story_id}",
                    period_start=None,
                    period_end=now,
                    payload=payload,
                    stories=[_inclusion(story)],
                    now=now,
                )
            if row is not None:
                queued.append(story.story_id)
                log.info(
                    "breaking: story %d (%s, score %.1f) queued for %s",
                    story.story_id,
                    plural(len(story.sources), "outlet"),
                    story.score,
                    channel.name,
                    extra={"story": story.story_id, "channel": channel.name},
                )
        return queued

    async def after_poll(self) -> AfterPollStats:
        """The hook the daemon calls after each poll: breaking posts and story updates for
        every channel, then delivery of whatever is due in the outbox."""
        report = AfterPollStats()
        for channel in self.settings.channels:
            try:
                updates = await asyncio.to_thread(self.enqueue_updates, channel.name)
                breaking = await asyncio.to_thread(self.enqueue_breaking, channel.name)
            except Exception:
                # one channel's problem (say, an unreadable rule file) must not stop the others
                log.exception(
                    "breaking/update check for channel %s failed",
                    channel.name,
                    extra={"channel": channel.name},
                )
                continue
            if updates:
                report.updates[channel.name] = updates
            if breaking:
                report.breaking[channel.name] = breaking
        report.delivered = await self.deliver_due()
        return report

    async def run(
        self, channel_name: str, *, period_key: str | None = None, kind: str = "scheduled"
    ) -> DigestRun:
        """Queue this period's digest and deliver whatever is due for the channel."""
        run = self.enqueue(channel_name, period_key=period_key, kind=kind)
        results = await self.deliver_due(channel_name)
        for outbox_id, status, error in results:
            if outbox_id == run.outbox_id:
                run.status, run.error = status, error
            elif status == "sent":
                run.delivered_earlier.append(outbox_id)
        return run

    # delivery ---------------------------------------------------------------------------------
    async def deliver_due(self, channel: str | None = None) -> list[tuple[int, str, str | None]]:
        """Deliver every due row of the outbox (bot.worker.outbox.Outbox.deliver_due)."""
        return await self.outbox.deliver_due(channel)

    def resend(self, digest_id: int) -> tuple[str, int] | None:
        """Queue an ``unknown`` row again (bot.worker.outbox.Outbox.resend)."""
        return self.outbox.resend(digest_id)
