"""Storing what a poll cycle fetched, a batch of feeds in one transaction: each feed's entries,
what the check made of the feed (:func:`bot.reader.fetcher.state.next_feed_state`, written by
storage's ``record_check``), where it moved, and one log line per feed saying what happened.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.config import Settings
from bot.model import FetchOutcome, FetchStatus
from bot.model.feed import FeedCheck, FeedState
from bot.reader.fetcher.schedule import RHYTHM_SAMPLE
from bot.reader.fetcher.state import next_feed_state
from bot.storage.database import Database
from bot.storage.entries import note_expired_listed, recent_entry_times, write_entries
from bot.storage.feeds import (
    DueFeed,
    feeds_by_id,
    move_feed,
    record_check,
    record_checks,
    record_parse,
    schedule_rows,
)
from bot.storage.models import FeedRow
from bot.storage.plan import EntryPlan
from bot.text.plural import plural
from bot.text.redaction import mask_url, masked_error
from bot.worker.parsing import ParsedBody

log = logging.getLogger(__name__)

# A feed's first poll keeps its newest items even when they are older than the retention
# window (daemon.retention_days): a quiet feed (a monthly newsletter, a vendor's press room)
# would otherwise store nothing and look dead while it works. 20 is the length most feeds list
# (one screen of a reader), and bounds what a thousand new feeds add to 20,000 rows. They are
# remembered like any entry, so they are never stored twice; digests show only stories
# reported within their period (bot.worker.digests), so they do not come back as news.
FIRST_POLL_KEEP = 20
SKIP_REASONS = ("too_old", "duplicate", "expired", "over_limit")


@dataclass(slots=True)
class FeedResult:
    """What happened to one feed in one cycle."""

    url: str
    outcome: str  # ok | not_modified | gone | error
    new_entries: int = 0
    updated_entries: int = 0
    matched_entries: int = 0  # new entries matched while parsed (not by the story builder)
    relevant_entries: int = 0  # of those, the relevant ones
    error_class: str | None = None
    error: str | None = None
    # Items of a parsed body not stored, by reason (EntryPlan.counts), and the new entries
    # older than the retention window kept on the feed's first poll.
    skipped: dict[str, int] = field(default_factory=dict)
    backfilled: int = 0


@dataclass(slots=True)
class Arrival:
    """A fetched feed on its way to storage: its outcome and, if it had a body, the parsed
    rows. `holds_slot`: it holds one of the cycle's slots for bodies not yet stored."""

    due: DueFeed
    outcome: FetchOutcome
    parsed: ParsedBody | None = None
    holds_slot: bool = False
    arrived_at: float = 0.0  # time.monotonic() when it was ready to store


def _result(arrival: Arrival) -> FeedResult:
    outcome, parsed = arrival.outcome, arrival.parsed
    result = FeedResult(url=arrival.due.url, outcome=outcome.status.value)
    if outcome.status is FetchStatus.ERROR:
        result.error_class = outcome.error_class or "unknown"
        result.error = masked_error(outcome.error_message)
    elif parsed is not None and parsed.plan is None:
        result.outcome = "error"
        result.error_class = parsed.error_kind or "parse_error"
        result.error = masked_error(parsed.error)
    return result


def record_batch(
    db: Database, settings: Settings, batch: list[Arrival], now: datetime
) -> list[FeedResult]:
    """Store a batch of outcomes, their entries and their feeds' schedules in one
    transaction."""
    results = [_result(arrival) for arrival in batch]
    unchanged: list[Arrival] = []
    others: list[tuple[Arrival, FeedResult]] = []
    for arrival, result in zip(batch, results, strict=True):
        if _plain_not_modified(arrival):
            unchanged.append(arrival)
        else:
            others.append((arrival, result))
    with db.session() as session:
        if unchanged:
            _record_not_modified(settings, session, unchanged, now)
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
            _record(settings, session, row, arrival, result, times, now)
    return results


def _record_not_modified(
    settings: Settings, session: Session, arrivals: list[Arrival], now: datetime
) -> None:
    """Store 304 answers, most of a warm cycle, in one executemany UPDATE: the same outcome
    as `_record`, without loading and flushing a thousand ORM objects (which cost about
    half a second of CPU a cycle, taken from the fetching)."""
    rows = schedule_rows(session, [arrival.due.id for arrival in arrivals])
    missing = [id_ for id_, row in rows.items() if row.recent_entry_times is None]
    rhythm = recent_entry_times(session, missing, now, RHYTHM_SAMPLE)
    checks: list[tuple[int, FeedCheck]] = []
    for arrival in arrivals:
        row = rows.get(arrival.due.id)
        if row is None:  # removed meanwhile
            continue
        if row.consecutive_failures:
            _log_recovery(row.url, row.consecutive_failures)
        check = next_feed_state(
            settings.fetch,
            _state(settings, row),
            arrival.outcome,
            now,
            entry_times=rhythm.get(row.id) or _stored_times(row.recent_entry_times),
        )
        checks.append((row.id, check))
    record_checks(session, checks)


def _record(
    settings: Settings,
    session: Session,
    feed: FeedRow,
    arrival: Arrival,
    result: FeedResult,
    entry_times: list[datetime],
    now: datetime,
) -> None:
    """Store one feed's outcome: its entries if it brought a body, what the check made of
    the feed, and where the feed moved."""
    outcome, parsed = arrival.outcome, arrival.parsed
    if parsed is not None and parsed.plan is None:
        parsed = None  # a body that did not parse: a failure (result.error says why)
    state = _state(settings, feed)
    failed = result.outcome == "error"
    check = next_feed_state(
        settings.fetch,
        state,
        outcome,
        now,
        failure=(result.error_class, result.error) if failed else None,  # masked by _result
        parsed=parsed is not None,
        entry_times=parsed.entry_times if parsed is not None else entry_times,
        ttl_minutes=parsed.ttl_minutes if parsed is not None else None,
        update_period_s=parsed.update_period_s if parsed is not None else None,
    )
    record_check(session, feed.id, check)
    _log_check(feed.url, state, check)
    if check.succeeded and outcome.permanent_url and outcome.permanent_url != feed.url:
        _move(session, feed, outcome.permanent_url)
    if parsed is not None:
        _store_entries(settings, session, feed, parsed, result, now)


def _store_entries(
    settings: Settings,
    session: Session,
    feed: FeedRow,
    parsed: ParsedBody,
    result: FeedResult,
    now: datetime,
) -> None:
    """Store a parsed body's entries and note the parse on the feed."""
    plan = parsed.plan
    assert plan is not None
    stored = write_entries(session, plan)
    if plan.expired_listed:
        note_expired_listed(session, feed.id, plan.expired_listed, now)
    record_parse(
        session,
        feed.id,
        title=parsed.title,
        counts=plan.counts(),
        entry_times=parsed.entry_times,
        now=now,
    )
    result.new_entries = stored.new
    result.updated_entries = stored.updated
    result.skipped = {k: v for k, v in plan.counts().items() if k in SKIP_REASONS and v}
    result.backfilled = plan.backfilled
    _log_counts(settings, feed.url, plan)
    if parsed.matched:
        result.matched_entries = stored.new
        result.relevant_entries = stored.relevant


def _state(settings: Settings, feed: FeedRow | Any) -> FeedState:
    """What next_feed_state reads of a feed (an ORM row or a schedule row)."""
    return FeedState(
        interval_s=float(feed.interval_s or settings.poll_interval),
        consecutive_failures=feed.consecutive_failures,
        etag=feed.etag,
        last_modified=feed.last_modified,
        body_hash=feed.body_hash,
    )


def _log_check(url: str, state: FeedState, check: FeedCheck) -> None:
    context = feed_log_context(url)
    if check.disabled_reason is not None:
        log.warning("feed %s is gone (410); disabled", mask_url(url), extra=context)
    elif check.failed:
        log.warning(
            "feed %s failed (%s): %s; next attempt in %.0fs",
            mask_url(url),
            check.error_class,
            check.error,
            check.retry_in_s,
            extra={**context, "error_class": check.error_class},
        )
    elif state.consecutive_failures:
        _log_recovery(url, state.consecutive_failures)


def _log_counts(settings: Settings, url: str, plan: EntryPlan) -> None:
    """One line per parsed feed saying what it stored and what it skipped, and why (at INFO
    when anything was skipped or kept beyond the window, else at DEBUG)."""
    reasons = [
        f"{plan.too_old} older than daemon.retention_days = {settings.daemon.retention_days}"
        if plan.too_old
        else "",
        f"{plan.duplicate} listed twice" if plan.duplicate else "",
        f"{plan.expired} deleted by retention before and still listed" if plan.expired else "",
        f"{plan.over_limit} oldest new beyond fetch.max_new_items = {settings.fetch.max_new_items}"
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
        extra={**feed_log_context(url), "entries_skipped": plan.skipped},
    )


def feed_log_context(url: str) -> dict[str, str]:
    """The `feed` field of a log line about this feed, credentials in its URL masked as in
    the message."""
    return {"feed": mask_url(url)}


def _log_recovery(url: str, failures: int) -> None:
    log.info(
        "feed %s recovered after %s",
        mask_url(url),
        plural(failures, "failure"),
        extra=feed_log_context(url),
    )


def _plain_not_modified(arrival: Arrival) -> bool:
    """A 304 that moved nowhere: only the feed's schedule columns change."""
    outcome = arrival.outcome
    return (
        outcome.status is FetchStatus.NOT_MODIFIED
        and arrival.parsed is None
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


def _move(session: Session, feed: FeedRow, new_url: str) -> None:
    """Follow a permanent redirect (storage's move_feed), saying what became of the feed."""
    old, extra = mask_url(feed.url), feed_log_context(feed.url)
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
