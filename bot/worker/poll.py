"""One poll cycle: lease due feeds, fetch them concurrently, parse, store, match and cluster.

Fetching is asynchronous; parsing and storing are synchronous and run in a worker thread, so the
daemon's event loop (health endpoint, signal handling) stays responsive during a long cycle and
fetching goes on while earlier feeds are parsed and stored. Outcomes are stored in batches: while
one batch is being stored, the next accumulates, and each batch is one transaction (a cycle of a
thousand unchanged feeds is a handful of transactions, not a thousand). A crash loses at most the
batch being stored; its feeds' leases expire and they are fetched again.

Storing a batch is :mod:`bot.worker.record`'s: each feed's entries, and its next state after the
check (:func:`bot.reader.fetcher.state.next_feed_state`), whose next check comes from
:mod:`bot.reader.fetcher.schedule`: ``next_check_delay`` (configured interval, publishing
rhythm, ``<ttl>``, ``sy:updatePeriod``, Cache-Control/Expires, Retry-After) after a success,
``failure_backoff`` after a failure.
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

from bot.config import Settings, config_file_name
from bot.matcher import RuleSet
from bot.model import FetchOutcome, FetchStatus
from bot.reader.fetcher import FeedRequest, Fetcher
from bot.reader.fetcher.schedule import RHYTHM_SAMPLE
from bot.storage.database import Database
from bot.storage.entries import known_entries
from bot.storage.feeds import (
    DueFeed,
    FeedSync,
    claim_due_feeds,
    count_enabled_feeds,
    count_leased_elsewhere,
    sync_feeds,
)
from bot.storage.plan import KnownEntries
from bot.text.plural import plural
from bot.text.redaction import mask_url
from bot.worker.memory import full_collections_deferred, settle_long_lived
from bot.worker.offload import READ_AHEAD_MAX_REPORTS, READ_AHEAD_REPORTS, reading_process
from bot.worker.parsing import PROCESS_MIN_FEEDS, ParseJob, ParserPool
from bot.worker.process import ProcessStats, StoryBuilder, new_instance_id, utcnow
from bot.worker.record import (
    FIRST_POLL_KEEP,
    SKIP_REASONS,
    Arrival,
    FeedResult,
    feed_log_context,
    record_batch,
)

log = logging.getLogger(__name__)

FETCH_LEASE_MARGIN = timedelta(seconds=60)
# A batch of outcomes stored in one transaction holds at most this many feeds (or entries), so
# a batch stays a short transaction and a crash re-fetches little.
BATCH_FEEDS = 200
BATCH_ENTRIES = 2500
# How long outcomes without a body, and parsed feeds, may wait for others to share their
# transaction.
HOLD_UNCHANGED_S = 0.5
HOLD_PREPARED_S = 0.25


def fetch_lease(feeds: int, concurrency: int, total_timeout: float) -> timedelta:
    """How long a cycle may keep feeds leased: the worst case of fetching `feeds` feeds
    `concurrency` at a time, each within `total_timeout`, plus a margin for storing them. A lease
    outliving its holder (a crash) only delays those feeds by this much."""
    waves = math.ceil(max(1, feeds) / max(1, concurrency))
    return timedelta(seconds=waves * total_timeout) + FETCH_LEASE_MARGIN


@dataclass(slots=True)
class PollStats:
    feeds: list[FeedResult] = field(default_factory=list)
    processing: ProcessStats = field(default_factory=ProcessStats)
    # Wall-clock seconds of the cycle's phases: "fetch" (fetching, parsing and storing, which
    # overlap), "process" (matching what was not matched yet, and clustering) and "settle"
    # (after new entries: the garbage collector told about the long-lived state, memory.py).
    seconds: dict[str, float] = field(default_factory=dict)
    # Feeds left out because another instance (the daemon, say) is polling them right now.
    leased_elsewhere: int = 0

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
            f"{self.processing.stories_updated} updated"
            + _skipped_summary(self.skipped)
            + _leased_summary(self.leased_elsewhere)
        )


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
    """Fetches due feeds and stores what they carry; then hands new entries to the story builder.

    `rules_loader` rebuilds the story builder's rules in parser processes (see
    :mod:`bot.worker.parsing`); `parse_processes` fixes how many there are (0: parse in threads;
    None: chosen per cycle from the cores and the number of due feeds); a cycle that parsed in
    processes and matched relevant reports within `read_ahead_reports` (the fewest, the most)
    reads them ahead of their clustering in a process of its own
    (:func:`~bot.worker.offload.reading_process`). `long_lived`: the process goes on polling
    (the daemon), so a cycle that stored entries settles its survivors
    (:func:`~bot.worker.memory.settle_long_lived`); a one-shot `newsbot poll` exits instead, and
    the full collection would only delay that (0.14 s after a cold cycle of 100 feeds).
    """

    def __init__(
        self,
        settings: Settings,
        db: Database,
        story_builder: StoryBuilder,
        *,
        instance: str | None = None,
        clock: Callable[[], datetime] = utcnow,
        rules_loader: Callable[[], RuleSet] | None = None,
        parse_processes: int | None = None,
        long_lived: bool = True,
    ) -> None:
        self.settings = settings
        self.db = db
        self.story_builder = story_builder
        self.instance = instance or new_instance_id()
        self.clock = clock
        self.rules_loader = rules_loader
        self.parse_processes = parse_processes
        self.read_ahead_reports = (READ_AHEAD_REPORTS, READ_AHEAD_MAX_REPORTS)
        self.long_lived = long_lived

    def sync_config(self) -> FeedSync:
        """Make the stored feeds follow the configuration (`sync_feeds`), and say in the log,
        one line per feed, which feeds it added, polls again, or no longer polls."""
        with self.db.session() as session:
            sync = sync_feeds(
                session, self.settings.feeds, self.clock(), config_file_name(self.settings)
            )
        where = config_file_name(self.settings)
        for url in sync.added:
            log.info(
                "feed %s added (listed in %s)", mask_url(url), where, extra=feed_log_context(url)
            )
        for url in sync.restored:
            log.info(
                "feed %s is listed again in %s: polled again",
                mask_url(url),
                where,
                extra=feed_log_context(url),
            )
        for removed in sync.removed:
            log.warning(
                "feed %s is no longer listed in %s: not polled any more; its %s "
                "kept until retention (daemon.retention_days = %d) deletes them",
                mask_url(removed.url),
                where,
                plural(removed.entries, "entry is", "entries are"),
                self.settings.daemon.retention_days,
                extra=feed_log_context(removed.url),
            )
        return sync

    async def poll(
        self,
        *,
        force: bool = False,
        on_feed: Callable[[FeedResult], None] | None = None,
        synced: bool = False,
    ) -> PollStats:
        """Run one cycle. `force` checks every enabled feed, due or not.

        The feeds are those in the database: the configured ones (synced first, unless the
        caller just did: `synced`) and those imported from OPML.
        """
        with full_collections_deferred():
            report = await self._poll(force, on_feed, synced)
        if report.new_entries and self.long_lived:
            # The cycle grew the long-lived state (entries' stories, the clusterer's index).
            report.seconds["settle"] = settle_long_lived()
        return report

    async def _poll(
        self, force: bool, on_feed: Callable[[FeedResult], None] | None, synced: bool
    ) -> PollStats:
        started = time.monotonic()
        if not synced:
            await asyncio.to_thread(self.sync_config)
        due, leased_elsewhere = await asyncio.to_thread(self._claim, force)
        report = PollStats(leased_elsewhere=leased_elsewhere)
        parsers_used = False
        if due:
            parsers = ParserPool(
                self.story_builder.rules,
                self.story_builder.threshold,
                rules_loader=self.rules_loader,
                processes=self.parse_processes,
                feeds=len(due),
            )
            if sum(feed.body_hash is None for feed in due) >= PROCESS_MIN_FEEDS:
                # Feeds never fetched before will have bodies to parse: enough to pay for the
                # parser processes, whose start then overlaps the first requests.
                parsers.start_early()
            try:
                await self._fetch_and_store(due, parsers, report, on_feed)
                parsers_used = parsers.processes_started
            finally:
                await parsers.aclose()
        report.seconds["fetch"] = time.monotonic() - started
        # Entries matched while they were parsed count as processed here; the story builder
        # reports the rest (clustering, and matching where parsing could not).
        report.processing.processed = sum(result.matched_entries for result in report.feeds)
        report.processing.relevant = sum(result.relevant_entries for result in report.feeds)
        if (
            report.new_entries
            or report.updated_entries
            or await asyncio.to_thread(self.story_builder.has_pending)
        ):
            started = time.monotonic()
            # A cycle that parsed in processes, with many reports to cluster, reads them ahead
            # in a process of its own (the parser processes are gone: their memory with them).
            relevant = report.processing.relevant
            low, high = self.read_ahead_reports
            many = parsers_used and low <= relevant <= high
            with reading_process(many) as readers:
                report.processing.add(
                    await asyncio.to_thread(self.story_builder.process_pending, readers=readers)
                )
            report.seconds["process"] = time.monotonic() - started
        return report

    async def _fetch_and_store(
        self,
        due: list[DueFeed],
        parsers: ParserPool,
        report: PollStats,
        on_feed: Callable[[FeedResult], None] | None,
    ) -> None:
        """Fetch every due feed; parse each body (in parser processes when there are any)
        as soon as it arrives, and store outcomes in batches while fetching goes on."""
        fetch_settings = self.settings.fetch
        lookup = _KnownLookup(self.db)
        retention = timedelta(days=self.settings.daemon.retention_days)
        # Bodies fetched but not stored yet are bounded: when parsing is the slower stage,
        # fetching waits instead of holding every body of the cycle in memory.
        # (A batch of parsed feeds gathering for its transaction holds slots too.)
        slots = asyncio.Semaphore(max(3 * fetch_settings.concurrency, 8 * parsers.processes))

        async with Fetcher(fetch_settings) as fetcher:

            async def fetch(feed: DueFeed) -> Arrival:
                await slots.acquire()
                arrival = Arrival(feed, FetchOutcome(url=feed.url, status=FetchStatus.ERROR))
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
                    job = ParseJob(
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
                        for_sqlite=self.db.is_sqlite,
                    )
                    outcome.body = None  # the job holds it until it is parsed
                    arrival.parsed = await parsers.parse(job)
                    arrival.holds_slot = True  # until stored: parsed rows weigh more
                    return arrival
                finally:
                    if not arrival.holds_slot:
                        slots.release()

            arrived: list[Arrival] = []
            wake = asyncio.Event()
            # The feeds still being fetched or parsed. A task leaves the set when it is done:
            # its result (the feed's parsed rows) is then held by `arrived` alone, and freed
            # once stored, so memory follows the slots, not the size of the cycle.
            fetching = {asyncio.ensure_future(fetch(feed)) for feed in due}

            failures: list[BaseException] = []

            def done(task: asyncio.Future[Arrival]) -> None:
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
                        results = await asyncio.to_thread(
                            record_batch, self.db, self.settings, batch, self.clock()
                        )
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
    def _hold(arrived: list[Arrival], stored: int, due: int) -> float | None:
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
            if arrival.parsed is not None:
                deadline = min(deadline, arrival.arrived_at + HOLD_PREPARED_S)
                if arrival.parsed.plan is not None:
                    weight += len(arrival.parsed.plan.inserts) + len(arrival.parsed.plan.updates)
        if weight >= BATCH_ENTRIES:
            return 0.0
        return max(0.0, deadline - time.monotonic())

    @staticmethod
    def _take_batch(arrived: list[Arrival]) -> list[Arrival]:
        """The next batch to store: whole feeds, up to BATCH_FEEDS and about BATCH_ENTRIES."""
        taken = 0
        weight = 0
        for arrival in arrived:
            taken += 1
            plan = arrival.parsed.plan if arrival.parsed is not None else None
            if plan is not None:
                weight += len(plan.inserts) + len(plan.updates)
            if taken >= BATCH_FEEDS or weight >= BATCH_ENTRIES:
                break
        batch = arrived[:taken]
        del arrived[:taken]
        return batch

    def _claim(self, force: bool) -> tuple[list[DueFeed], int]:
        """The feeds this cycle leases, and how many another instance is polling now."""
        fetch = self.settings.fetch
        now = self.clock()
        with self.db.session() as session:
            feeds = count_enabled_feeds(session)
            due = claim_due_feeds(
                session,
                now=now,
                owner=self.instance,
                lease=fetch_lease(feeds, fetch.concurrency, fetch.total_timeout),
                include_not_due=force,
            )
            return due, count_leased_elsewhere(session, now, self.instance)


def _leased_summary(leased: int) -> str:
    if not leased:
        return ""
    them = "it" if leased == 1 else "them"
    return f"; {plural(leased, 'feed')} left to another newsbot polling {them} now"


def _skipped_summary(skipped: Counter[str]) -> str:
    if not sum(skipped.values()):
        return ""
    parts = ", ".join(f"{skipped[reason]} {reason.replace('_', ' ')}" for reason in SKIP_REASONS)
    return f"; {plural(sum(skipped.values()), 'item')} skipped ({parts})"
