"""Prometheus metrics of one newsbot process, and the small API the stages report through.

Every metric lives in one registry (`REGISTRY`) that `/metrics` renders with prometheus-client's
text exposition. Stages call the functions below rather than touching metric objects, so the
names and labels stay in one place:

- polling: `record_poll(report)` after each cycle, `poll_failed(error_class)` when a cycle raised;
- digests: `digest_sent(channel, kind, latency_s=...)`, `digest_failed(channel, kind, reason)`,
  `observe_delivery_latency(channel, seconds)`, `set_unknown_digests(count)`;
- feeds: `set_unhealthy_feeds(count)`;
- housekeeping: `record_housekeeping(entries, stories)`;
- the database: `database_retry(operation)` each time a lost connection is retried.

The functions never raise: a metrics problem must not break a poll or a delivery.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from typing import Protocol

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)


class FeedOutcome(Protocol):
    @property
    def outcome(self) -> str: ...


class ProcessFigures(Protocol):
    @property
    def processed(self) -> int: ...
    @property
    def relevant(self) -> int: ...
    @property
    def stories_created(self) -> int: ...
    @property
    def stories_updated(self) -> int: ...


class PollFigures(Protocol):
    """What `record_poll` reads of a finished cycle (bot.worker.poll.PollStats): the metrics
    sit below the worker, so they name the shape, not the class."""

    @property
    def feeds(self) -> Sequence[FeedOutcome]: ...
    @property
    def outcome_counts(self) -> Mapping[str, int]: ...
    @property
    def error_counts(self) -> Mapping[str, int]: ...
    @property
    def new_entries(self) -> int: ...
    @property
    def skipped(self) -> Mapping[str, int]: ...
    @property
    def processing(self) -> ProcessFigures: ...


log = logging.getLogger(__name__)

disable_created_metrics()  # type: ignore[no-untyped-call]  # the *_created series double the output and nobody graphs them
REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)  # resident memory, CPU seconds, open fds

CONTENT_TYPE = CONTENT_TYPE_LATEST

POLLS = Counter(
    "newsbot_polls",
    "Poll cycles run, by outcome (ok: at least one feed answered; failed: none did or the cycle "
    "raised).",
    ["outcome"],
    registry=REGISTRY,
)
POLL_DURATION = Histogram(
    "newsbot_poll_duration_seconds",
    "Wall-clock duration of a poll cycle (fetch, store, match, cluster).",
    buckets=(0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600),
    registry=REGISTRY,
)
LAST_POLL_SUCCESS = Gauge(
    "newsbot_last_poll_success_timestamp_seconds",
    "Unix time of the last poll cycle in which at least one feed answered.",
    registry=REGISTRY,
)
FEED_FETCHES = Counter(
    "newsbot_feed_fetches",
    "Feed checks, by outcome (ok, not_modified, gone, error).",
    ["outcome"],
    registry=REGISTRY,
)
FETCH_ERRORS = Counter(
    "newsbot_fetch_errors",
    "Failed feed checks, by error class (timeout, dns, http_4xx, http_5xx, parse_error, ...).",
    ["error_class"],
    registry=REGISTRY,
)
NEW_ENTRIES = Counter(
    "newsbot_entries_new", "Entries stored for the first time.", registry=REGISTRY
)
SKIPPED_ENTRIES = Counter(
    "newsbot_entries_skipped",
    "Items of parsed feeds not stored, by reason (too_old, duplicate, expired, over_limit: new "
    "items beyond fetch.max_new_items in one poll of one feed).",
    ["reason"],
    registry=REGISTRY,
)
PROCESSED_ENTRIES = Counter(
    "newsbot_entries_processed", "Entries matched (and clustered if relevant).", registry=REGISTRY
)
RELEVANT_ENTRIES = Counter(
    "newsbot_entries_relevant", "Entries at or above the relevance threshold.", registry=REGISTRY
)
STORIES_CREATED = Counter("newsbot_stories_created", "Stories created.", registry=REGISTRY)
STORIES_UPDATED = Counter(
    "newsbot_stories_updated", "Entries that joined an existing story.", registry=REGISTRY
)
DIGESTS_SENT = Counter(
    "newsbot_digests_sent",
    "Digests delivered, by channel and kind.",
    ["channel", "kind"],
    registry=REGISTRY,
)
DIGESTS_FAILED = Counter(
    "newsbot_digests_failed",
    "Digest delivery failures, by channel, kind and reason (transient: will be retried; "
    "permanent: given up; ambiguous: a post in doubt, looked up in the channel before any "
    "retry; unknown: a post in doubt that cannot be checked, left for the operator).",
    ["channel", "kind", "reason"],
    registry=REGISTRY,
)
DELIVERY_LATENCY = Histogram(
    "newsbot_delivery_latency_seconds",
    "Seconds from a digest being queued in the outbox to its last part being accepted.",
    ["channel"],
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
    registry=REGISTRY,
)
UNKNOWN_DIGESTS = Gauge(
    "newsbot_digests_unknown",
    "Outbox rows whose delivery is unknown (a post in doubt that Slack cannot be asked about): "
    "not re-posted until an operator runs `newsbot digests --resend ID`.",
    registry=REGISTRY,
)
UNHEALTHY_FEEDS = Gauge(
    "newsbot_unhealthy_feeds",
    "Feeds failing `fetch.unhealthy_after` times in a row, or disabled.",
    registry=REGISTRY,
)
HOUSEKEEPING_DELETED = Counter(
    "newsbot_housekeeping_deleted",
    "Rows removed by retention, by table.",
    ["table"],
    registry=REGISTRY,
)
CYCLE_ERRORS = Counter(
    "newsbot_poll_cycle_errors",
    "Poll cycles that raised, by exception class (database errors, bugs).",
    ["error_class"],
    registry=REGISTRY,
)
DATABASE_RETRIES = Counter(
    "newsbot_database_retries",
    "Jobs retried after a lost or refused database connection, by operation.",
    ["operation"],
    registry=REGISTRY,
)


class _Guard:
    """Context manager that logs and swallows errors: metrics must never break the pipeline."""

    def __init__(self, action: str) -> None:
        self.action = action

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> bool:
        if exc is not None:
            log.debug("metrics: %s failed: %s", self.action, exc)
        return True


def _safely(action: str) -> _Guard:
    return _Guard(action)


def record_poll(report: PollFigures, *, duration_s: float | None = None) -> None:
    """Count one finished poll cycle: feed outcomes, error classes, entries and stories."""
    with _safely("record_poll"):
        answered = any(result.outcome != "error" for result in report.feeds)
        failed = bool(report.feeds) and not answered
        POLLS.labels(outcome="failed" if failed else "ok").inc()
        if not failed:
            LAST_POLL_SUCCESS.set(time.time())
        for outcome, count in report.outcome_counts.items():
            FEED_FETCHES.labels(outcome=outcome).inc(count)
        for error_class, count in report.error_counts.items():
            FETCH_ERRORS.labels(error_class=error_class).inc(count)
        NEW_ENTRIES.inc(report.new_entries)
        for reason, count in report.skipped.items():
            SKIPPED_ENTRIES.labels(reason=reason).inc(count)
        PROCESSED_ENTRIES.inc(report.processing.processed)
        RELEVANT_ENTRIES.inc(report.processing.relevant)
        STORIES_CREATED.inc(report.processing.stories_created)
        STORIES_UPDATED.inc(report.processing.stories_updated)
        if duration_s is not None:
            POLL_DURATION.observe(duration_s)


def poll_failed(error_class: str) -> None:
    """A poll cycle raised before it could report (database down, bug)."""
    with _safely("poll_failed"):
        POLLS.labels(outcome="failed").inc()
        CYCLE_ERRORS.labels(error_class=error_class).inc()


def digest_sent(channel: str, kind: str = "scheduled", *, latency_s: float | None = None) -> None:
    """A digest was delivered completely; `latency_s` is queued-to-accepted, when known."""
    with _safely("digest_sent"):
        DIGESTS_SENT.labels(channel=channel, kind=kind).inc()
        if latency_s is not None:
            DELIVERY_LATENCY.labels(channel=channel).observe(max(0.0, latency_s))


def digest_failed(channel: str, kind: str = "scheduled", reason: str = "permanent") -> None:
    """A delivery attempt failed; `reason` is "transient" (will retry), "permanent", "ambiguous"
    (a post in doubt, looked up before any retry) or "unknown" (left for the operator)."""
    with _safely("digest_failed"):
        DIGESTS_FAILED.labels(channel=channel, kind=kind, reason=reason).inc()


def observe_delivery_latency(channel: str, seconds: float) -> None:
    with _safely("observe_delivery_latency"):
        DELIVERY_LATENCY.labels(channel=channel).observe(max(0.0, seconds))


def set_unknown_digests(count: int) -> None:
    with _safely("set_unknown_digests"):
        UNKNOWN_DIGESTS.set(count)


def set_unhealthy_feeds(count: int) -> None:
    with _safely("set_unhealthy_feeds"):
        UNHEALTHY_FEEDS.set(count)


def record_housekeeping(*, entries: int, stories: int) -> None:
    with _safely("record_housekeeping"):
        HOUSEKEEPING_DELETED.labels(table="entries").inc(entries)
        HOUSEKEEPING_DELETED.labels(table="stories").inc(stories)


def database_retry(operation: str) -> None:
    with _safely("database_retry"):
        DATABASE_RETRIES.labels(operation=operation).inc()


def render() -> bytes:
    """The registry in Prometheus text exposition format (`CONTENT_TYPE`)."""
    return generate_latest(REGISTRY)
