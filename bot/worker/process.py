"""Matching and clustering of stored entries, turning clusterer decisions into story rows.

Entries are processed in publication order from the `processed_at IS NULL` queue, in two kinds
of batches, each one transaction: matching batches score entries (irrelevant ones are then done,
relevant ones stay queued with their score), then clustering batches place the relevant ones in
publication order. A crash re-does at most the batch it interrupted. A large poll hands the
story builder a process of its own (:mod:`bot.worker.offload`) where the reports are read, and
the facts of the stories they change made, ahead of their placing in this thread.

Several instances on one PostgreSQL database each hold an in-memory clusterer. Processing is
serialised across them with a session-level advisory lock, and before processing an instance
refreshes its clusterer with the stories other instances changed since its last sync, so every
decision sees every story. If a batch fails, the in-memory clusterer may hold decisions the
database rolled back; it is then dropped and rebuilt from the database on the next run.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Row
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from bot.clustering.config import ClusterConfig
from bot.matcher import RuleSet
from bot.storage.database import Database
from bot.storage.entries import (
    has_unprocessed,
    mark_processed,
    stored_match_item,
    unclustered_entries,
    unmatched_entries,
    write_matches,
)
from bot.storage.locks import processing_lock
from bot.storage.models import EntryRow, StoryRow
from bot.storage.stories import (
    active_stories,
    add_member,
    create_story,
    is_deleted,
    merge_story_rows,
    newest_placed_report,
    outlet_count,
    record_event,
    stories_by_keys,
    stories_changed_since,
    story_by_key,
    story_for_url,
    story_outlets,
    urls_with_story,
)
from bot.text.plural import plural
from bot.worker.offload import in_processes, read_ahead
from bot.worker.parsing import match_columns

if TYPE_CHECKING:
    from bot.clustering.engine import StoryClusterer
    from bot.clustering.item import ClusterItem, ItemReading
    from bot.model.story import StoryFacts

log = logging.getLogger(__name__)


# How long to wait for the cross-instance processing lock (bot.storage.locks), and how often to
# try it meanwhile.
LOCK_WAIT_S = 120.0
LOCK_POLL_S = 0.2
# Stories changed this long before the last sync are re-read too: instances' clocks differ a
# little, and re-restoring a story is idempotent.
SYNC_MARGIN = timedelta(minutes=2)
# Relevant entries clustered per transaction. Each story a batch touches has its facts,
# headline and summary derived again from its member reports at the end of the batch, which
# costs more than the joins themselves, so a batch holds a whole cold start of a thousand feeds
# (about 2,500 relevant entries) while a crash still re-does only seconds of work.
CLUSTER_BATCH = 2500


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True)
class ProcessStats:
    processed: int = 0
    relevant: int = 0
    stories_created: int = 0
    stories_updated: int = 0

    def add(self, other: ProcessStats) -> None:
        self.processed += other.processed
        self.relevant += other.relevant
        self.stories_created += other.stories_created
        self.stories_updated += other.stories_updated


class StoryBuilder:
    """Builds stories from stored entries: matches the queued ones, places the relevant ones in
    stories and writes the story rows. (Not bot.reader.processor, which normalises feed
    content.) Owns the in-memory clusterer; restores it from the database before the first
    batch."""

    def __init__(
        self,
        db: Database,
        rules: RuleSet,
        cluster_config: ClusterConfig,
        *,
        threshold: float | None = None,
        clock: Callable[[], datetime] = utcnow,
        derive_deals: bool = True,
    ) -> None:
        """`derive_deals`: bring the deal records of the stories a pass changed up to date
        after it (a daemon's passes, so that reading the ledger stays quick). False leaves them
        to whoever reads the ledger next, which refreshes stale records first
        (:mod:`bot.worker.ledger`): a one-shot `newsbot poll` does not wait for records nobody
        may read before the next poll changes them again."""
        self.db = db
        self.derive_deals = derive_deals
        self.rules = rules
        self.threshold = rules.threshold if threshold is None else threshold
        self.config = cluster_config
        self.clock = clock
        # Built on first use: a cycle with nothing to cluster need not load the engine (word
        # frequencies, place names: a tenth of a second of imports).
        self._clusterer: StoryClusterer | None = None
        self._restored = False
        self._synced_at: datetime | None = None
        # URLs some story member has, for the batch being processed (see _same_url_story).
        self._story_urls: set[str] = set()
        # Stories the clusterer changed in the batch being processed, by cluster key.
        self._touched: dict[str, StoryRow] = {}
        # The outlets of the stories joined in the batch being processed, kept as entries join.
        self._outlets: dict[int, set[str]] = {}
        # The story rows the batch being processed has read or created, by cluster key: most
        # entries join a story another entry of the batch joined, and need not read it again.
        self._stories: dict[str, StoryRow] = {}
        self.restore_seconds = 0.0
        self.restored_stories = 0
        self.synced_stories = 0

    @property
    def clusterer(self) -> StoryClusterer:
        if self._clusterer is None:
            self._clusterer = self._new_clusterer()
        return self._clusterer

    @property
    def window(self) -> timedelta:
        return timedelta(hours=self.config.active_window_hours)

    def restore(self) -> None:
        """Rebuild the clusterer from the stories of the join window (done once, lazily).

        The window is the clusterer's: it ends at the newest report placed so far, not at the
        clock, so a restart holds the stories an uninterrupted run holds. Stories are read by
        the time their row was last updated (never earlier than their reports' times), a
        superset that the clusterer trims to its window (StoryClusterer.trim)."""
        started = datetime.now(UTC)
        self._synced_at = self.clock()
        with self.db.session() as session:
            newest = newest_placed_report(session)
            if newest is not None:
                for story in active_stories(session, newest - self.window):
                    if story.cluster_state:
                        self.clusterer.restore(story.cluster_key, story.cluster_state)
                        self.restored_stories += 1
        self.clusterer.trim()
        self._restored = True
        self.restore_seconds = (datetime.now(UTC) - started).total_seconds()
        if self.restored_stories:
            log.info(
                "restored %s in %.2fs",
                plural(self.restored_stories, "active story", "active stories"),
                self.restore_seconds,
            )

    def sync(self) -> int:
        """Restore the stories other instances created or changed since the last sync."""
        if self._synced_at is None:
            return 0
        since = self._synced_at - SYNC_MARGIN
        self._synced_at = self.clock()
        count = 0
        with self.db.session() as session:
            for story in stories_changed_since(session, since):
                if story.cluster_state:
                    self.clusterer.restore(story.cluster_key, story.cluster_state)
                    count += 1
        self.synced_stories += count
        return count

    def reset(self) -> None:
        """Forget the in-memory state; it is rebuilt from the database on the next run."""
        self._clusterer = None
        self._restored = False
        self._synced_at = None
        self.restored_stories = 0

    def has_pending(self) -> bool:
        """Whether any stored entry still waits for matching and clustering."""
        with self.db.session() as session:
            return has_unprocessed(session)

    def process_pending(
        self, batch_size: int = 2000, readers: Executor | None = None
    ) -> ProcessStats:
        """Match and cluster every queued entry. `readers`: other processes (a large poll's
        reading process, `reading_process`) that read the reports ahead while this thread
        places them (`read_ahead`) and make the facts of the stories a batch changed; the
        decisions are the same without them."""
        total = ProcessStats()
        # Serialised across the instances sharing a PostgreSQL database; if the lock cannot be
        # had within LOCK_WAIT_S, the instance holding it processes the queue.
        with processing_lock(self.db, wait_s=LOCK_WAIT_S, poll_s=LOCK_POLL_S) as acquired:
            if not acquired:
                log.warning("story processing is busy on another instance; skipping this run")
                return total
            try:
                if not self._restored:
                    self.restore()
                elif not self.db.is_sqlite:
                    self.sync()
                while True:
                    report = self._match_batch(batch_size)
                    total.add(report)
                    if report.processed < batch_size:
                        break
                while True:
                    report = self._cluster_batch(CLUSTER_BATCH, readers)
                    # Entries were counted as processed and relevant when matched.
                    total.stories_created += report.stories_created
                    total.stories_updated += report.stories_updated
                    if report.processed < CLUSTER_BATCH:
                        break
            except BaseException:
                self.reset()
                raise
            if self.derive_deals and (total.stories_created or total.stories_updated):
                self._refresh_deals()
        return total

    def _refresh_deals(self) -> None:
        """Re-derive the deal records of the stories this pass changed. A failure here loses
        nothing (the stories are stored; a stale record is found again on the next pass), so
        it is logged rather than undoing the pass."""
        from bot.worker.ledger import refresh_deals

        try:
            refresh_deals(self.db, self.clock())
        except SQLAlchemyError:
            log.exception("deal ledger: records not refreshed; retried on the next pass")

    def _match(self, row: Row[Any]) -> dict[str, Any]:
        """Score one pending entry; returns its column values for a bulk update (the same
        columns the poller's parser processes give entries they match before storing)."""
        columns = match_columns(self.rules, self.threshold, stored_match_item(row))
        columns["id"] = row.id
        return columns

    def _match_batch(self, batch_size: int) -> ProcessStats:
        """Match a batch of entries not matched yet, in one transaction: plain columns in, one
        bulk UPDATE out. Irrelevant entries are done; relevant ones stay in the queue, scored,
        for `_cluster_batch`."""
        report = ProcessStats()
        now = self.clock()
        with self.db.session() as session:
            rows = unmatched_entries(session, batch_size)
            if not rows:
                return report
            matched = [self._match(row) for row in rows]
            for values in matched:
                values["processed_at"] = None if values["relevant"] else now
            write_matches(session, matched)
            report.processed = len(matched)
            report.relevant = sum(1 for values in matched if values["relevant"])
        return report

    def _cluster_batch(self, batch_size: int, readers: Executor | None = None) -> ProcessStats:
        """Cluster a batch of matched relevant entries in publication order, in one transaction.

        Relevant entries are clustered in the same order whether they were matched in one batch
        or several, so splitting matching from clustering changes no decision; it lets one
        clustering batch gather many entries of the same story, whose headline, summary and
        facts are then refreshed once (`_refresh_touched`)."""
        report = ProcessStats()
        now = self.clock()
        with self.db.session() as session:
            # In publication order, ties broken by identity (see unclustered_entries).
            entries = unclustered_entries(session, batch_size)
            if not entries:
                return report
            report.processed = len(entries)
            self._story_urls = urls_with_story(session, {e.url for e in entries if e.url})
            self._touched.clear()
            self._outlets.clear()
            self._stories.clear()
            unplaced = [entry for entry in entries if entry.membership is None]
            items = [cluster_item(entry) for entry in unplaced]
            # The whole batch at once: the semantic extra embeds it in one call (a no-op without).
            self.clusterer.prepare(items)
            # Closed on the way out, so that a failed batch leaves no reading queued.
            ahead = read_ahead(self.clusterer.reader, items, readers)
            with contextlib.closing(ahead):
                for entry, (item, reading) in zip(unplaced, ahead, strict=True):
                    if self._cluster(session, entry, now, item, reading):
                        report.stories_created += 1
                    else:
                        report.stories_updated += 1
            placed = set(self._touched)
            self._refresh_touched(readers)
            self._write_restated(session, placed)
            mark_processed(session, [entry.id for entry in entries], now)
            self._stories.clear()
        return report

    def _story(self, session: Session, key: str) -> StoryRow | None:
        """The story row of a cluster key, read once per batch."""
        story = self._stories.get(key)
        if story is None:
            # Story rows are written as soon as they are made, so nothing pending in the
            # session can change this answer: no autoflush (which would write the members and
            # events of the batch so far in one more small flush).
            with session.no_autoflush:
                story = story_by_key(session, key)
            if story is not None:
                self._stories[key] = story
        return story

    def _same_url_story(self, session: Session, entry: EntryRow) -> StoryRow | None:
        """Layer (a): the same canonical URL from another feed is the same report."""
        if not entry.url or entry.url not in self._story_urls:
            return None  # no story member has this URL: skip the query
        return story_for_url(session, entry.url, other_than=entry.id)

    def _cluster(
        self,
        session: Session,
        entry: EntryRow,
        now: datetime,
        item: ClusterItem,
        reading: ItemReading | None,
    ) -> bool:
        """Place one relevant entry (`item`, `reading` its reading if made ahead); returns
        True for a new story, False for an update.

        Nothing is flushed per entry: new members and events wait in the session and go in
        bulk when a query needs them (autoflush) or at the end of the batch; only a new story
        is flushed at once, for its id."""
        story = self._same_url_story(session, entry)
        similarity = 1.0
        clustered = story is None
        if story is None:
            assignment = self.clusterer.add(item, read=reading)
            similarity = assignment.similarity
            self._merge_stories(session, now)
            story = self._story(session, assignment.story_key)
            if story is None:
                # Written at once, for its id, without flushing the batch so far (many small
                # flushes where one larger one does).
                story = create_story(session, assignment.story_key, entry.title, now)
                self._outlets[story.id] = set()  # no members yet, so no outlets
                self._stories[story.cluster_key] = story
        created = story.source_count == 0 and not story.members
        outlets_before = story.source_count
        add_member(session, story, entry, now, similarity)
        if entry.url:
            self._story_urls.add(entry.url)
        self._refresh_story(session, story, entry, now, from_clusterer=clustered)
        context = {"story": story.id, "entry": entry.id, "feed_id": entry.feed_id}
        if created:
            record_event(session, story, "created", entry, now)
            log.info("story %d created: %s", story.id, story.headline, extra=context)
        elif story.source_count > outlets_before:
            story.version += 1
            record_event(session, story, "source_added", entry, now)
            log.info(
                "story %d gained a source (%s), %s",
                story.id,
                entry.source_name,
                plural(story.source_count, "outlet"),
                extra=context,
            )
        return created

    def _merge_stories(self, session: Session, now: datetime) -> None:
        """Apply the clusterer's merges of story fragments: the absorbed story's members,
        events and digest records move to the survivor, and the absorbed row goes.

        A digest record moves only where the digest does not already list the survivor, so
        "was this story sent" keeps its answer for the merged story.
        """
        for gone_key, keep_key in self.clusterer.drain_merges():
            gone = self._story(session, gone_key)
            keep = self._story(session, self.clusterer.resolve(keep_key))
            if gone is None or keep is None or gone.id == keep.id:
                continue
            merge_story_rows(session, gone, keep)
            self._stories.pop(gone_key, None)
            # The survivor's state (cluster_state) is written with its headline and facts at the
            # end of the batch: the entry whose placement merged the stories joins it.
            self._touched.setdefault(keep.cluster_key, keep)
            gone_outlets = self._outlets.pop(gone.id, None)
            keep_outlets = self._outlets.pop(keep.id, None)
            if gone_outlets is not None and keep_outlets is not None:
                # Both stories' outlets are known (joined in this batch): the survivor has
                # the members of both, so the outlets of both (what outlet_count would count).
                self._outlets[keep.id] = keep_outlets | gone_outlets
                keep.source_count = len(self._outlets[keep.id])
            else:
                keep.source_count = outlet_count(session, keep.id)
            keep.version += 1
            keep.last_updated_at = now
            log.info("merged story %s into %s", gone_key, keep.cluster_key)

    def _refresh_story(
        self,
        session: Session,
        story: StoryRow,
        entry: EntryRow,
        now: datetime,
        *,
        from_clusterer: bool,
    ) -> None:
        """Update a story after `entry` joined it. What the clusterer derives from the whole
        story (headline, summary, facts, cluster_state) is refreshed once per touched story at the
        end of the batch (`_refresh_touched`): the batch is one transaction, so nobody sees the
        states in between, and facts re-read the member reports, which per join would cost far
        more than the join itself."""
        if from_clusterer:
            self._touched[story.cluster_key] = story
        outlets = self._outlets.get(story.id)
        if outlets is None:  # first join of this story in the batch: read its outlets once
            # Without autoflush: the only member of this story the batch has not written yet
            # is this entry's, added just below (merges write theirs before they run).
            with session.no_autoflush:
                outlets = self._outlets[story.id] = story_outlets(session, story.id)
        if entry.source_name is not None:
            outlets.add(entry.source_name)
        story.source_count = len(outlets)
        story.score = max(story.score, entry.score or 0.0)
        story.last_updated_at = now

    def _write_restated(self, session: Session, written: set[str]) -> None:
        """Write again the states of the stories the batch changed without placing an entry in
        them (another story took their place in the clusterer's index, or one of their titles:
        StoryClusterer.drain_restated), so that a restart restores the index as it is and makes
        the decisions an uninterrupted run makes. `written`: the states written already."""
        keys = [key for key in self.clusterer.drain_restated() if key not in written]
        for story in stories_by_keys(session, keys):
            story.cluster_state = self.clusterer.export_state(story.cluster_key)

    def _new_clusterer(self) -> StoryClusterer:
        from bot.clustering.engine import StoryClusterer

        clusterer = StoryClusterer(self.config)
        clusterer.before_expiry = self._refresh_leaving
        return clusterer

    def _refresh_touched(self, readers: Executor | None = None) -> None:
        """Write the presentation of the stories the batch changed; their facts (a third of a
        cold start's processing after reading) made in `readers`, if given (`in_processes`)."""
        from bot.clustering.facts import story_facts

        keys = [key for key, row in self._touched.items() if self._presentable(key, row)]
        reports = [self.clusterer.fact_reports(key) for key in keys]
        made = in_processes(story_facts, reports, readers, what=("story's facts", "stories' facts"))
        facts = dict(zip(keys, made, strict=True))
        for key, story in self._touched.items():
            self._refresh(key, story, facts.get(key))
        self._touched.clear()

    def _presentable(self, key: str, story: StoryRow) -> bool:
        """Whether a story changed in the batch is still one (not merged into another since)."""
        return not is_deleted(story) and key in self.clusterer

    def _refresh_leaving(self, key: str) -> None:
        """A story changed in this batch is leaving the clusterer's window before the batch
        ends (a backfill of older reports): write its presentation while it can be read."""
        story = self._touched.pop(key, None)
        if story is not None:
            self._refresh(key, story)

    def _refresh(self, key: str, story: StoryRow, made: StoryFacts | None = None) -> None:
        """Write what the clusterer makes of a story it changed: headline, summary, facts (or
        `made`, the same made elsewhere) and the state a restart restores."""
        if not self._presentable(key, story):
            return  # merged into another story meanwhile
        headline, headline_key = self.clusterer.headline(key)
        story.headline = headline
        story.headline_entry_id = int(headline_key) if headline_key.isdigit() else None
        story.summary = self.clusterer.summary(key)
        facts = (made if made is not None else self.clusterer.facts(key)).to_json()
        if story.facts and facts != story.facts and story.source_count:
            story.version += 1
        story.facts = facts
        story.cluster_state = self.clusterer.export_state(key)


def cluster_item(entry: EntryRow) -> ClusterItem:
    """What the clusterer sees of a stored entry."""
    from bot.clustering.item import ClusterItem

    return ClusterItem(
        key=str(entry.id),
        title=entry.title,
        summary=entry.summary,
        text=entry.text,
        published=entry.published_at,
        source=entry.source_name,
        url=entry.url,
    )


def new_instance_id() -> str:
    return uuid.uuid4().hex[:12]
