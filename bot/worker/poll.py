"""One poll cycle: lease due feeds, fetch them concurrently, parse, store, match and cluster.

Fetching is asynchronous; storing and processing are synchronous database work and run in a
worker thread, so the daemon's event loop (health endpoint, signal handling) stays responsive
during a long cycle.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.config import Settings
from bot.model import Entry, FetchOutcome, FetchStatus
from bot.reader.fetcher import FeedRequest, Fetcher
from bot.reader.parser import FeedParseError, parse_feed
from bot.storage import Database
from bot.storage.entries import store_entries
from bot.storage.feeds import DueFeed, claim_due_feeds, sync_feeds
from bot.storage.models import Feed
from bot.worker.process import ProcessReport, StoryProcessor, new_instance_id, utcnow

log = logging.getLogger(__name__)

FETCH_LEASE_MARGIN = timedelta(seconds=60)


def fetch_lease(feeds: int, concurrency: int, total_timeout: float) -> timedelta:
    """How long a cycle may keep feeds leased: the worst case of fetching `feeds` feeds
    `concurrency` at a time, each within `total_timeout`, plus a margin for storing them. A lease
    outliving its holder (a crash) only delays those feeds by this much."""
    waves = math.ceil(max(1, feeds) / max(1, concurrency))
    return timedelta(seconds=waves * total_timeout) + FETCH_LEASE_MARGIN


@dataclass(slots=True)
class FeedResult:
    """What happened to one feed in one cycle."""

    url: str
    outcome: str  # ok | not_modified | gone | error
    new_entries: int = 0
    updated_entries: int = 0
    error_class: str | None = None
    error: str | None = None


@dataclass(slots=True)
class PollReport:
    feeds: list[FeedResult] = field(default_factory=list)
    processing: ProcessReport = field(default_factory=ProcessReport)

    @property
    def new_entries(self) -> int:
        return sum(result.new_entries for result in self.feeds)

    @property
    def outcome_counts(self) -> Counter[str]:
        return Counter(result.outcome for result in self.feeds)

    @property
    def error_counts(self) -> Counter[str]:
        return Counter(r.error_class or "unknown" for r in self.feeds if r.outcome == "error")

    def summary(self) -> str:
        counts = self.outcome_counts
        return (
            f"{len(self.feeds)} feeds checked ({counts['ok']} changed, "
            f"{counts['not_modified']} unchanged, {counts['error']} failed, "
            f"{counts['gone']} gone); {self.new_entries} new entries; "
            f"{self.processing.relevant} relevant; {self.processing.stories_created} new stories, "
            f"{self.processing.stories_updated} updated"
        )


def _backoff(base_s: float, failures: int, cap_s: float) -> float:
    """Exponential backoff with full jitter, so failing feeds do not retry in lockstep."""
    ceiling = min(cap_s, base_s * (2 ** min(failures, 16)))
    return random.uniform(ceiling / 2, ceiling)


class Poller:
    """Fetches due feeds and stores what they carry; then hands new entries to the processor."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        processor: StoryProcessor,
        *,
        instance: str | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.settings = settings
        self.db = db
        self.processor = processor
        self.instance = instance or new_instance_id()
        self.clock = clock

    def sync_config(self) -> int:
        with self.db.session() as session:
            return sync_feeds(session, self.settings.feeds, self.clock())

    async def poll(
        self,
        *,
        force: bool = False,
        on_feed: Callable[[FeedResult], None] | None = None,
    ) -> PollReport:
        """Run one cycle. `force` checks every enabled feed, due or not."""
        await asyncio.to_thread(self.sync_config)
        due = await asyncio.to_thread(self._claim, force)
        report = PollReport()
        if due:
            async with Fetcher(self.settings.fetch) as fetcher:

                async def fetch(feed: DueFeed) -> tuple[DueFeed, FetchOutcome]:
                    request = FeedRequest(
                        url=feed.url,
                        etag=feed.etag,
                        last_modified=feed.last_modified,
                        body_hash=feed.body_hash,
                    )
                    return feed, await fetcher.fetch(request)

                # Each feed is stored as soon as it arrives: a slow feed delays nobody else's
                # entries, a crash mid-cycle keeps what was already fetched, and bodies do not
                # pile up in memory.
                for arrival in asyncio.as_completed([fetch(feed) for feed in due]):
                    feed, outcome = await arrival
                    result = await asyncio.to_thread(self._record, feed, outcome)
                    report.feeds.append(result)
                    if on_feed is not None:
                        on_feed(result)
        report.processing = await asyncio.to_thread(self.processor.process_pending)
        return report

    def _claim(self, force: bool) -> list[DueFeed]:
        fetch = self.settings.fetch
        with self.db.session() as session:
            return claim_due_feeds(
                session,
                now=self.clock(),
                owner=self.instance,
                lease=fetch_lease(len(self.settings.feeds), fetch.concurrency, fetch.total_timeout),
                include_not_due=force,
            )

    def _recent(self, entries: list[Entry], now: datetime) -> list[Entry]:
        """Entries within the retention window: older ones would be deleted by housekeeping
        and, if stored again, come back as new; a feed carrying years of archive adds none."""
        cutoff = now - timedelta(days=self.settings.daemon.retention_days)
        return [e for e in entries if e.published is None or e.published >= cutoff]

    def _record(self, due: DueFeed, outcome: FetchOutcome) -> FeedResult:
        """Parse and store one feed's outcome and its new schedule in one transaction."""
        now = self.clock()
        result = FeedResult(url=due.url, outcome=outcome.status.value)
        parsed = None
        if outcome.status is FetchStatus.OK and outcome.body is not None:
            try:
                parsed = parse_feed(
                    outcome.body,
                    url=outcome.final_url or due.url,
                    now=now,
                    source_name=due.name,
                    content_type=outcome.content_type,
                )
            except FeedParseError as exc:
                result.outcome = "error"
                result.error_class = "parse_error"
                result.error = str(exc)
        elif outcome.status is FetchStatus.ERROR:
            result.error_class = outcome.error_class or "unknown"
            result.error = outcome.error_message
        with self.db.session() as session:
            feed = session.get(Feed, due.id)
            if feed is None:  # removed meanwhile
                return result
            feed.lease_owner = None
            feed.lease_until = None
            feed.last_checked_at = now
            interval = float(feed.interval_s or self.settings.poll_interval)
            fetch = self.settings.fetch
            if outcome.status is FetchStatus.GONE:
                feed.enabled = False
                feed.disabled_reason = f"410 Gone at {now:%Y-%m-%d %H:%M} UTC"
                log.warning(
                    "feed %s is gone (410); disabled", feed.url, extra={"feed_url": feed.url}
                )
            elif result.outcome == "error":
                feed.consecutive_failures += 1
                feed.last_error = result.error
                feed.last_error_class = result.error_class
                delay = _backoff(interval, feed.consecutive_failures, fetch.max_interval)
                if outcome.retry_after_s:
                    delay = max(delay, outcome.retry_after_s)
                feed.next_check_at = now + timedelta(seconds=delay)
                log.warning(
                    "feed %s failed (%s): %s",
                    feed.url,
                    result.error_class,
                    result.error,
                    extra={"feed_url": feed.url, "error_class": result.error_class},
                )
            else:
                feed.consecutive_failures = 0
                feed.last_success_at = now
                feed.etag = outcome.etag or feed.etag
                feed.last_modified = outcome.last_modified or feed.last_modified
                if outcome.permanent_url and outcome.permanent_url != feed.url:
                    log.info("feed %s moved permanently to %s", feed.url, outcome.permanent_url)
                    feed.url = outcome.permanent_url
                if parsed is not None:
                    feed.body_hash = outcome.body_hash
                    if parsed.title and not feed.title:
                        feed.title = parsed.title[:500]
                    stored = store_entries(session, feed, self._recent(parsed.entries, now), now)
                    result.new_entries = stored.new
                    result.updated_entries = stored.updated
                delay = min(max(interval, fetch.min_interval), fetch.max_interval)
                feed.next_check_at = now + timedelta(seconds=delay)
        return result
