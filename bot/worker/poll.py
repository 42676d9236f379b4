"""One poll cycle: lease due feeds, fetch them concurrently, parse, store, match and cluster.

Fetching is asynchronous; parsing and storing are synchronous and run in a worker thread, so the
daemon's event loop (health endpoint, signal handling) stays responsive during a long cycle and
fetching goes on while earlier feeds are parsed and stored. Outcomes are stored in batches: while
one batch is being stored, the next accumulates, and each batch is one transaction (a cycle of a
thousand unchanged feeds is a handful of transactions, not a thousand). A crash loses at most the
batch being stored; its feeds' leases expire and they are fetched again.

Scheduling after each outcome comes from :mod:`bot.reader.fetcher.schedule`: ``next_check_delay``
(configured interval, publishing rhythm, ``<ttl>``, ``sy:updatePeriod``, Cache-Control/Expires,
Retry-After) after a success, ``failure_backoff`` after a failure.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.config import Settings, config_file_name
from bot.matcher import RuleSet
from bot.model import FetchOutcome, FetchStatus
from bot.reader.fetcher import FeedRequest, Fetcher
from bot.reader.fetcher.schedule import RHYTHM_SAMPLE, failure_backoff, next_check_delay
from bot.storage import Database
from bot.storage.entries import (
    known_entries,
    note_expired_listed,
    recent_entry_times,
    write_entries,
)
from bot.storage.feeds import (
    DueFeed,
    FeedSync,
    claim_due_feeds,
    count_enabled_feeds,
    feeds_by_id,
    move_feed,
    record_not_modified,
    schedule_rows,
    sync_feeds,
)
from bot.storage.models import Feed
from bot.storage.plan import EntryPlan, KnownEntries
from bot.text.plural import plural
from bot.text.redaction import mask_url, mask_urls_in
from bot.worker.memory import full_collections_deferred, settle_long_lived
from bot.worker.prepare import PROCESS_MIN_FEEDS, PreparedFeed, PrepareJob, Preparer
from bot.worker.process import ProcessReport, StoryProcessor, new_instance_id, utcnow

log = logging.getLogger(__name__)

FETCH_LEASE_MARGIN = timedelta(seconds=60)
# A batch of outcomes stored in one transaction holds at most this many feeds (or entries), so
# a batch stays a short transaction and a crash re-fetches little.
BATCH_FEEDS = 200
BATCH_ENTRIES = 2500
# How long outcomes without a body, and prepared feeds, may wait for others to share their
# transaction.
HOLD_UNCHANGED_S = 0.5
HOLD_PREPARED_S = 0.25
# A feed's first poll keeps its newest items even when they are older than the retention
# window (daemon.retention_days): a quiet feed (a monthly newsletter, a vendor's press room)
# would otherwise store nothing and look dead while it works. 20 is the length most feeds list
# (one screen of a reader), and bounds what a thousand new feeds add to 20,000 rows. They are
# remembered like any entry, so they are never stored twice; digests show only stories
# reported within their period (bot.worker.digests), so they do not come back as news.
FIRST_POLL_KEEP = 20


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
    matched_entries: int = 0  # new entries matched while prepared (not by the processor)
    relevant_entries: int = 0  # of those, the relevant ones
    error_class: str | None = None
    error: str | None = None
    # Items of a parsed body not stored, by reason (EntryPlan.counts), and the new entries
    # older than the retention window kept on the feed's first poll.
    skipped: dict[str, int] = field(default_factory=dict)
    backfilled: int = 0


@dataclass(slots=True)
class PollReport:
    feeds: list[FeedResult] = field(default_factory=list)
    processing: ProcessReport = field(default_factory=ProcessReport)
    # Wall-clock seconds of the cycle's phases: "fetch" (fetching, parsing and storing, which
    # overlap), "process" (matching what was not matched yet, and clustering) and "settle"
    # (after new entries: the garbage collector told about the long-lived state, memory.py).
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def new_entries(self) -> int:
        return sum(result.new_entries for result in self.feeds)

    @property
    def updated_entries(self) -> int:
        return sum(result.updated_entries for result in self.feeds)

    @property
    def skipped(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for result in self.feeds:
            total.update(result.skipped)
        return total

    @property
    def outcome_counts(self) -> Counter[str]:
        return Counter(result.outcome for result in self.feeds)

    @property
    def error_counts(self) -> Counter[str]:
        return Counter(r.error_class or "unknown" for r in self.feeds if r.outcome == "error")

    def summary(self) -> str:
        counts = self.outcome_counts
        return (
            f"{plural(len(self.feeds), 'feed')} checked ({counts['ok']} changed, "
            f"{counts['not_modified']} unchanged, {counts['error']} failed, "
            f"{counts['gone']} gone); {plural(self.new_entries, 'new entry', 'new entries')}; "
            f"{self.processing.relevant} relevant; "
            f"{plural(self.processing.stories_created, 'new story', 'new stories')}, "
            f"{self.processing.stories_updated} updated" + _skipped_summary(self.skipped)
        )


@dataclass(slots=True)
class _Arrival:
    """A fetched feed on its way to storage: its outcome and, if it had a body, the prepared
    rows. `holds_slot`: it holds one of the cycle's slots for bodies not yet stored."""

    due: DueFeed
    outcome: FetchOutcome
    prepared: PreparedFeed | None = None
    holds_slot: bool = False
    arrived_at: float = 0.0  # time.monotonic() when it was ready to store


class _KnownLookup:
    """Reads the stored entries (identity, content hash) of feeds whose bodies arrived, for
    all the feeds waiting at that moment with one query in a worker thread."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._waiting: dict[int, list[asyncio.Future[KnownEntries]]] = {}
        self._running: asyncio.Task[None] | None = None

    async def get(self, feed_id: int) -> KnownEntries:
        future: asyncio.Future[KnownEntries] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(feed_id, []).append(future)
        if self._running is None:
            self._running = asyncio.ensure_future(self._run())
        return await future

    def _read(self, feed_ids: list[int]) -> dict[int, KnownEntries]:
        with self.db.session() as session:
            return known_entries(session, feed_ids)

    async def _run(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting, {}
                try:
                    known = await asyncio.to_thread(self._read, list(batch))
                except Exception as exc:
                    for futures in batch.values():
                        for future in futures:
                            if not future.done():
                                future.set_exception(exc)
                    continue
                for feed_id, futures in batch.items():
                    for future in futures:
                        if not future.done():
                            future.set_result(known.get(feed_id, {}))
        finally:
            self._running = None


class Poller:
    """Fetches due feeds and stores what they carry; then hands new entries to the processor.

    `rules_loader` rebuilds the processor's rules in parser processes (see
    :mod:`bot.worker.prepare`); `parse_processes` fixes how many there are (0: parse in threads;
    None: chosen per cycle from the cores and the number of due feeds).
    """

    def __init__(
        self,
        settings: Settings,
        db: Database,
        processor: StoryProcessor,
        *,
        instance: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        rules_loader: Callable[[], RuleSet] | None = None,
        parse_processes: int | None = None,
    ) -> None:
        self.settings = settings
        self.db = db
        self.processor = processor
        self.instance = instance or new_instance_id()
        self.clock = clock
        self.rules_loader = rules_loader
        self.parse_processes = parse_processes

    def sync_config(self) -> FeedSync:
        """Make the stored feeds follow the configuration (`sync_feeds`), and say in the log,
        one line per feed, which feeds it added, polls again, or no longer polls."""
        with self.db.session() as session:
            sync = sync_feeds(
                session, self.settings.feeds, self.clock(), config_file_name(self.settings)
            )
        where = config_file_name(self.settings)
        for url in sync.added:
            log.info("feed %s added (listed in %s)", mask_url(url), where, extra=_feed(url))
        for url in sync.restored:
            log.info(
                "feed %s is listed again in %s: polled again",
                mask_url(url),
                where,
                extra=_feed(url),
            )
        for removed in sync.removed:
            log.warning(
                "feed %s is no longer listed in %s: not polled any more; its %s "
                "kept until retention (daemon.retention_days = %d) deletes them",
                mask_url(removed.url),
                where,
                plural(removed.entries, "entry is", "entries are"),
                self.settings.daemon.retention_days,
                extra=_feed(removed.url),
            )
        return sync

    async def poll(
        self,
        *,
        force: bool = False,
        on_feed: Callable[[FeedResult], None] | None = None,
    ) -> PollReport:
        """Run one cycle. `force` checks every enabled feed, due or not.

        The feeds are those in the database: the configured ones (synced first) and those
        imported from OPML.
        """
        with full_collections_deferred():
            report = await self._poll(force, on_feed)
        if report.new_entries:
            # The cycle grew the long-lived state (entries' stories, the clusterer's index).
            report.seconds["settle"] = settle_long_lived()
        return report

    async def _poll(self, force: bool, on_feed: Callable[[FeedResult], None] | None) -> PollReport:
        started = time.monotonic()
        await asyncio.to_thread(self.sync_config)
        due = await asyncio.to_thread(self._claim, force)
        report = PollReport()
        if due:
            preparer = Preparer(
                self.processor.rules,
                self.processor.threshold,
                rules_loader=self.rules_loader,
                processes=self.parse_processes,
                feeds=len(due),
            )
            if sum(feed.body_hash is None for feed in due) >= PROCESS_MIN_FEEDS:
                # Feeds never fetched before will have bodies to parse: enough to pay for the
                # parser processes, whose start then overlaps the first requests.
                preparer.start_early()
            try:
                await self._fetch_and_store(due, preparer, report, on_feed)
            finally:
                await preparer.aclose()
        report.seconds["fetch"] = time.monotonic() - started
        # Entries matched while they were prepared count as processed here; the processor
        # reports the rest (clustering, and matching where preparing could not).
        report.processing.processed = sum(result.matched_entries for result in report.feeds)
        report.processing.relevant = sum(result.relevant_entries for result in report.feeds)
        if (
            report.new_entries
            or report.updated_entries
            or await asyncio.to_thread(self.processor.has_pending)
        ):
            started = time.monotonic()
            report.processing.add(await asyncio.to_thread(self.processor.process_pending))
            report.seconds["process"] = time.monotonic() - started
        return report

    async def _fetch_and_store(
        self,
        due: list[DueFeed],
        preparer: Preparer,
        report: PollReport,
        on_feed: Callable[[FeedResult], None] | None,
    ) -> None:
        """Fetch every due feed; prepare each body (in parser processes when there are any)
        as soon as it arrives, and store outcomes in batches while fetching goes on."""
        fetch_settings = self.settings.fetch
        lookup = _KnownLookup(self.db)
        retention = timedelta(days=self.settings.daemon.retention_days)
        # Bodies fetched but not stored yet are bounded: when parsing is the slower stage,
        # fetching waits instead of holding every body of the cycle in memory.
        # (A batch of prepared feeds gathering for its transaction holds slots too.)
        slots = asyncio.Semaphore(max(3 * fetch_settings.concurrency, 8 * preparer.processes))

        async with Fetcher(fetch_settings) as fetcher:

            async def fetch(feed: DueFeed) -> _Arrival:
                await slots.acquire()
                arrival = _Arrival(feed, FetchOutcome(url=feed.url, status=FetchStatus.ERROR))
                try:
                    arrival.outcome = outcome = await fetcher.fetch(
                        FeedRequest(
                            url=feed.url,
                            etag=feed.etag,
                            last_modified=feed.last_modified,
                            body_hash=feed.body_hash,
                        )
                    )
                    if outcome.status is not FetchStatus.OK or outcome.body is None:
                        return arrival
                    known = await lookup.get(feed.id)
                    now = self.clock()
                    job = PrepareJob(
                        feed_id=feed.id,
                        feed_url=feed.url,
                        fetched_url=outcome.final_url or feed.url,
                        feed_name=feed.name,
                        feed_title=feed.title,
                        body=outcome.body,
                        content_type=outcome.content_type,
                        known=known,
                        now=now,
                        not_before=now - retention,
                        rhythm_sample=RHYTHM_SAMPLE,
                        keep_newest=FIRST_POLL_KEEP if feed.first_parsed_at is None else 0,
                        max_new=fetch_settings.max_new_items,
                    )
                    outcome.body = None  # the job holds it until it is parsed
                    arrival.prepared = await preparer.prepare(job)
                    arrival.holds_slot = True  # until stored: prepared rows weigh more
                    return arrival
                finally:
                    if not arrival.holds_slot:
                        slots.release()

            arrived: list[_Arrival] = []
            wake = asyncio.Event()
            # The feeds still being fetched or prepared. A task leaves the set when it is done:
            # its result (the feed's prepared rows) is then held by `arrived` alone, and freed
            # once stored, so memory follows the slots, not the size of the cycle.
            fetching = {asyncio.ensure_future(fetch(feed)) for feed in due}

            failures: list[BaseException] = []

            def done(task: asyncio.Future[_Arrival]) -> None:
                fetching.discard(task)
                if task.cancelled():
                    return
                failure = task.exception()
                if failure is None:
                    arrival = task.result()
                    arrival.arrived_at = time.monotonic()
                    arrived.append(arrival)
                else:  # a bug or a lost database: the fetcher reports every feed problem
                    failures.append(failure)
                wake.set()

            for task in fetching:
                task.add_done_callback(done)
            stored = 0
            try:
                while stored < len(due):
                    if failures:
                        raise failures[0]
                    wait = self._hold(arrived, stored, len(due))
                    if wait is None or wait > 0:
                        try:
                            async with asyncio.timeout(wait):
                                await wake.wait()
                        except TimeoutError:
                            pass
                        wake.clear()
                        continue
                    batch = self._take_batch(arrived)
                    try:
                        results = await asyncio.to_thread(self._record_batch, batch)
                    finally:
                        for arrival in batch:
                            if arrival.holds_slot:
                                arrival.holds_slot = False
                                slots.release()
                    stored += len(batch)
                    report.feeds.extend(results)
                    if on_feed is not None:
                        for result in results:
                            on_feed(result)
            finally:
                for task in list(fetching):
                    task.cancel()

    @staticmethod
    def _hold(arrived: list[_Arrival], stored: int, due: int) -> float | None:
        """How long the arrived outcomes may still wait for others to share their transaction:
        0 to store a batch now, None when nothing has arrived.

        Every transaction has a fixed cost (reading the feed rows, flushing, committing) of a
        few milliseconds, more than storing one feed's entries: outcomes are gathered for a
        moment rather than stored one feed at a time. Outcomes without a body wait longer.
        """
        if not arrived:
            return None
        if stored + len(arrived) == due or len(arrived) >= BATCH_FEEDS:
            return 0.0
        deadline = arrived[0].arrived_at + HOLD_UNCHANGED_S
        weight = 0
        for arrival in arrived:
            if arrival.prepared is not None:
                deadline = min(deadline, arrival.arrived_at + HOLD_PREPARED_S)
                if arrival.prepared.plan is not None:
                    weight += len(arrival.prepared.plan.inserts) + len(
                        arrival.prepared.plan.updates
                    )
        if weight >= BATCH_ENTRIES:
            return 0.0
        return max(0.0, deadline - time.monotonic())

    @staticmethod
    def _take_batch(arrived: list[_Arrival]) -> list[_Arrival]:
        """The next batch to store: whole feeds, up to BATCH_FEEDS and about BATCH_ENTRIES."""
        taken = 0
        weight = 0
        for arrival in arrived:
            taken += 1
            plan = arrival.prepared.plan if arrival.prepared is not None else None
            if plan is not None:
                weight += len(plan.inserts) + len(plan.updates)
            if taken >= BATCH_FEEDS or weight >= BATCH_ENTRIES:
                break
        batch = arrived[:taken]
        del arrived[:taken]
        return batch

    def _claim(self, force: bool) -> list[DueFeed]:
        fetch = self.settings.fetch
        with self.db.session() as session:
            feeds = count_enabled_feeds(session)
            return claim_due_feeds(
                session,
                now=self.clock(),
                owner=self.instance,
                lease=fetch_lease(feeds, fetch.concurrency, fetch.total_timeout),
                include_not_due=force,
            )

    @staticmethod
    def _result(arrival: _Arrival) -> FeedResult:
        outcome, prepared = arrival.outcome, arrival.prepared
        result = FeedResult(url=arrival.due.url, outcome=outcome.status.value)
        if outcome.status is FetchStatus.ERROR:
            result.error_class = outcome.error_class or "unknown"
            result.error = _masked(outcome.error_message)
        elif prepared is not None and prepared.plan is None:
            result.outcome = "error"
            result.error_class = prepared.error_kind or "parse_error"
            result.error = _masked(prepared.error)
        return result

    def _record_batch(self, batch: list[_Arrival]) -> list[FeedResult]:
        """Store a batch of outcomes, their entries and their feeds' schedules in one
        transaction."""
        now = self.clock()
        results = [self._result(arrival) for arrival in batch]
        unchanged: list[_Arrival] = []
        others: list[tuple[_Arrival, FeedResult]] = []
        for arrival, result in zip(batch, results, strict=True):
            if _plain_not_modified(arrival):
                unchanged.append(arrival)
            else:
                others.append((arrival, result))
        with self.db.session() as session:
            if unchanged:
                self._record_not_modified(session, unchanged, now)
            if not others:
                return results
            rows = feeds_by_id(session, [arrival.due.id for arrival, _ in others])
            missing = [
                arrival.due.id
                for arrival, result in others
                if result.outcome == "not_modified"
                and arrival.due.id in rows
                and rows[arrival.due.id].recent_entry_times is None
            ]
            # Feeds stored before their times were kept on the row: read them once.
            rhythm = recent_entry_times(session, missing, now, RHYTHM_SAMPLE)
            for arrival, result in others:
                row = rows.get(arrival.due.id)
                if row is None:  # removed meanwhile
                    continue
                times = rhythm.get(arrival.due.id) or _stored_times(row.recent_entry_times)
                self._record(session, row, arrival, result, times, now)
        return results

    def _record_not_modified(
        self, session: Session, arrivals: list[_Arrival], now: datetime
    ) -> None:
        """Store 304 answers, most of a warm cycle, as one executemany UPDATE of the schedule
        columns: the same outcome as `_record`, without loading and flushing a thousand ORM
        objects (which cost about half a second of CPU a cycle, taken from the fetching)."""
        rows = schedule_rows(session, [arrival.due.id for arrival in arrivals])
        missing = [id_ for id_, row in rows.items() if row.recent_entry_times is None]
        rhythm = recent_entry_times(session, missing, now, RHYTHM_SAMPLE)
        fetch = self.settings.fetch
        params: list[dict[str, Any]] = []
        for arrival in arrivals:
            row = rows.get(arrival.due.id)
            if row is None:  # removed meanwhile
                continue
            outcome = arrival.outcome
            if row.consecutive_failures:
                _log_recovery(row.url, row.consecutive_failures)
            delay = next_check_delay(
                fetch,
                interval_s=float(row.interval_s or self.settings.poll_interval),
                entry_times=rhythm.get(row.id) or _stored_times(row.recent_entry_times),
                ttl_minutes=None,
                update_period_s=None,
                cache_max_age_s=outcome.cache_max_age_s,
                retry_after_s=outcome.retry_after_s,
            )
            params.append(
                {
                    "id": row.id,
                    "lease_owner": None,
                    "lease_until": None,
                    "last_checked_at": now,
                    "last_success_at": now,
                    "consecutive_failures": 0,
                    "etag": outcome.etag or row.etag,
                    "last_modified": outcome.last_modified or row.last_modified,
                    "next_check_at": now + timedelta(seconds=delay),
                }
            )
        record_not_modified(session, params)

    def _record(
        self,
        session: Session,
        feed: Feed,
        arrival: _Arrival,
        result: FeedResult,
        entry_times: list[datetime],
        now: datetime,
    ) -> None:
        """Store one feed's outcome and its next check."""
        outcome = arrival.outcome
        prepared = arrival.prepared
        feed.lease_owner = None
        feed.lease_until = None
        feed.last_checked_at = now
        interval = float(feed.interval_s or self.settings.poll_interval)
        fetch = self.settings.fetch
        context = _feed(feed.url)
        if outcome.status is FetchStatus.GONE:
            feed.enabled = False
            feed.disabled_reason = f"410 Gone at {now:%Y-%m-%d %H:%M} UTC"
            feed.last_error = _masked(outcome.error_message)
            feed.last_error_class = outcome.error_class
            feed.next_check_at = None
            log.warning("feed %s is gone (410); disabled", mask_url(feed.url), extra=context)
            return
        if result.outcome == "error":
            feed.consecutive_failures += 1
            feed.last_error = result.error  # masked by _result
            feed.last_error_class = result.error_class
            delay = failure_backoff(
                fetch,
                consecutive_failures=feed.consecutive_failures,
                interval_s=interval,
                retry_after_s=outcome.retry_after_s,
            )
            feed.next_check_at = now + timedelta(seconds=delay)
            log.warning(
                "feed %s failed (%s): %s; next attempt in %.0fs",
                mask_url(feed.url),
                result.error_class,
                result.error,
                delay,
                extra={**context, "error_class": result.error_class},
            )
            return
        if feed.consecutive_failures:
            _log_recovery(feed.url, feed.consecutive_failures)
        feed.consecutive_failures = 0
        feed.last_success_at = now
        if feed.etag != outcome.etag and outcome.etag:
            feed.etag = outcome.etag
        if feed.last_modified != outcome.last_modified and outcome.last_modified:
            feed.last_modified = outcome.last_modified
        if outcome.permanent_url and outcome.permanent_url != feed.url:
            _move(session, feed, outcome.permanent_url)
        ttl_minutes = update_period_s = None
        if prepared is not None and prepared.plan is not None:
            plan = prepared.plan
            feed.body_hash = outcome.body_hash
            if prepared.title and not feed.title:
                feed.title = prepared.title
            stored = write_entries(session, plan)
            if plan.expired_listed:
                note_expired_listed(session, feed.id, plan.expired_listed, now)
            feed.first_parsed_at = feed.first_parsed_at or now
            feed.last_parsed_at = now
            feed.last_poll_counts = plan.counts()
            result.new_entries = stored.new
            result.updated_entries = stored.updated
            result.skipped = {k: v for k, v in plan.counts().items() if k in SKIP_REASONS and v}
            result.backfilled = plan.backfilled
            self._log_counts(feed.url, plan)
            if prepared.matched:
                result.matched_entries = stored.new
                result.relevant_entries = stored.relevant
            entry_times = prepared.entry_times
            feed.recent_entry_times = [when.isoformat() for when in entry_times]
            ttl_minutes, update_period_s = prepared.ttl_minutes, prepared.update_period_s
        elif outcome.body_hash and feed.body_hash != outcome.body_hash:
            feed.body_hash = outcome.body_hash
        delay = next_check_delay(
            fetch,
            interval_s=interval,
            entry_times=entry_times,
            ttl_minutes=ttl_minutes,
            update_period_s=update_period_s,
            cache_max_age_s=outcome.cache_max_age_s,
            retry_after_s=outcome.retry_after_s,
        )
        feed.next_check_at = now + timedelta(seconds=delay)

    def _log_counts(self, url: str, plan: EntryPlan) -> None:
        """One line per parsed feed saying what it stored and what it skipped, and why (at INFO
        when anything was skipped or kept beyond the window, else at DEBUG)."""
        reasons = [
            f"{plan.too_old} older than daemon.retention_days = "
            f"{self.settings.daemon.retention_days}"
            if plan.too_old
            else "",
            f"{plan.duplicate} listed twice" if plan.duplicate else "",
            f"{plan.expired} deleted by retention before and still listed" if plan.expired else "",
            f"{plan.over_limit} oldest new beyond fetch.max_new_items = "
            f"{self.settings.fetch.max_new_items}"
            if plan.over_limit
            else "",
        ]
        skipped = "; ".join(reason for reason in reasons if reason)
        kept = (
            f"; kept {plural(plan.backfilled, 'item')} older than the retention window (first poll "
            f"keeps the newest {FIRST_POLL_KEEP})"
            if plan.backfilled
            else ""
        )
        log.log(
            logging.INFO if skipped or kept else logging.DEBUG,
            "feed %s: %d new, %d updated, %d unchanged; skipped %s%s",
            mask_url(url),
            len(plan.inserts),
            len(plan.updates),
            plan.unchanged,
            skipped or "none",
            kept,
            extra={**_feed(url), "entries_skipped": plan.skipped},
        )


SKIP_REASONS = ("too_old", "duplicate", "expired", "over_limit")


def _skipped_summary(skipped: Counter[str]) -> str:
    if not sum(skipped.values()):
        return ""
    parts = ", ".join(f"{skipped[reason]} {reason.replace('_', ' ')}" for reason in SKIP_REASONS)
    return f"; {plural(sum(skipped.values()), 'item')} skipped ({parts})"


def _feed(url: str) -> dict[str, str]:
    """The `feed` field of a log line about this feed, credentials in its URL masked as in
    the message."""
    return {"feed": mask_url(url)}


def _masked(error: str | None) -> str | None:
    """An error message fit to store and show: a URL in it (a redirect's target, a library's
    message) has its credentials masked."""
    return mask_urls_in(error) if error else error


def _log_recovery(url: str, failures: int) -> None:
    log.info(
        "feed %s recovered after %s", mask_url(url), plural(failures, "failure"), extra=_feed(url)
    )


def _plain_not_modified(arrival: _Arrival) -> bool:
    """A 304 that moved nowhere: only the feed's schedule columns change."""
    outcome = arrival.outcome
    return (
        outcome.status is FetchStatus.NOT_MODIFIED
        and arrival.prepared is None
        and not outcome.permanent_url
    )


def _stored_times(values: list[Any] | None) -> list[datetime]:
    times: list[datetime] = []
    for value in values or []:
        try:
            times.append(datetime.fromisoformat(value))
        except (TypeError, ValueError):
            continue  # a damaged value only weakens the rhythm estimate
    return times


def _move(session: Session, feed: Feed, new_url: str) -> None:
    """Follow a permanent redirect (storage's move_feed), saying what became of the feed."""
    old, extra = mask_url(feed.url), _feed(feed.url)
    if move_feed(session, feed, new_url):
        log.warning(
            "feed %s moved permanently to %s; stored URL updated",
            old,
            mask_url(new_url),
            extra=extra,
        )
    else:
        log.warning(
            "feed %s moved permanently to %s, already subscribed; disabled",
            old,
            mask_url(new_url),
            extra=extra,
        )
