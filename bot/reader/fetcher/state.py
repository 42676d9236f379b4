"""A feed's next state after one check: a pure function of its stored state and the fetch's
outcome, no clock and no I/O. The poller (:mod:`bot.worker.poll`) computes it and storage writes
it (``bot.storage.feeds.record_check``); when it is due next comes from
:mod:`bot.reader.fetcher.schedule`.

* Gone (410): the feed is disabled, with the time and the error, and never checked again.
* Failed (fetching or parsing): one more failure in a row, the error kept, and the next check
  after ``failure_backoff``.
* Otherwise (a new body, or not modified): failures reset, the new validators kept, and the next
  check after ``next_check_delay``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.config.settings import FetchSettings
from bot.model import FetchOutcome, FetchStatus
from bot.model.feed import FeedCheck, FeedState
from bot.reader.fetcher.schedule import failure_backoff, next_check_delay
from bot.text.redaction import masked_error


def next_feed_state(
    settings: FetchSettings,
    state: FeedState,
    outcome: FetchOutcome,
    now: datetime,
    *,
    failure: tuple[str | None, str | None] | None = None,
    parsed: bool = False,
    entry_times: Sequence[datetime] = (),
    ttl_minutes: int | None = None,
    update_period_s: int | None = None,
) -> FeedCheck:
    """The feed's columns after a check at `now` that ended with `outcome`.

    `failure` is (error class, message, its URLs masked) when fetching or parsing failed;
    `parsed` says a new body was parsed and stored; `entry_times` are the publication times of
    the feed's recent entries, `ttl_minutes` and `update_period_s` the body's own hints."""
    if outcome.status is FetchStatus.GONE:
        return FeedCheck(
            checked_at=now,
            next_check_at=None,
            consecutive_failures=state.consecutive_failures,
            etag=state.etag,
            last_modified=state.last_modified,
            failed=True,
            error=masked_error(outcome.error_message),
            error_class=outcome.error_class,
            disabled_reason=f"410 Gone at {now:%Y-%m-%d %H:%M} UTC",
        )
    if failure is not None:
        failures = state.consecutive_failures + 1
        delay = failure_backoff(
            settings,
            consecutive_failures=failures,
            interval_s=state.interval_s,
            retry_after_s=outcome.retry_after_s,
        )
        return FeedCheck(
            checked_at=now,
            next_check_at=now + timedelta(seconds=delay),
            consecutive_failures=failures,
            etag=state.etag,
            last_modified=state.last_modified,
            failed=True,
            error_class=failure[0],
            error=failure[1],
        )
    delay = next_check_delay(
        settings,
        interval_s=state.interval_s,
        entry_times=entry_times,
        ttl_minutes=ttl_minutes,
        update_period_s=update_period_s,
        cache_max_age_s=outcome.cache_max_age_s,
        retry_after_s=outcome.retry_after_s,
    )
    new_body = parsed or (outcome.body_hash is not None and outcome.body_hash != state.body_hash)
    return FeedCheck(
        checked_at=now,
        next_check_at=now + timedelta(seconds=delay),
        consecutive_failures=0,
        etag=outcome.etag or state.etag,
        last_modified=outcome.last_modified or state.last_modified,
        succeeded=True,
        body_hash=outcome.body_hash if new_body else None,
    )
