"""Schedule policy: adaptive intervals, publisher hints, backoff with jitter, clamping; and a
feed's next state after a check."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.config.settings import FetchSettings
from bot.model import FetchOutcome, FetchStatus
from bot.model.feed import FeedState
from bot.reader.fetcher.headers import parse_cache_lifetime, parse_retry_after
from bot.reader.fetcher.schedule import (
    failure_backoff,
    is_unhealthy,
    next_check_delay,
    typical_gap_s,
)
from bot.reader.fetcher.state import next_feed_state

SETTINGS = FetchSettings(min_interval=300, max_interval=86400)
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def every(minutes: float, count: int = 10) -> list[datetime]:
    return [NOW - timedelta(minutes=minutes * i) for i in range(count)]


def test_configured_interval_without_hints() -> None:
    assert next_check_delay(SETTINGS, interval_s=900) == 900


def test_busy_feeds_are_checked_more_often_than_quiet_ones() -> None:
    busy = next_check_delay(SETTINGS, interval_s=1800, entry_times=every(10))
    normal = next_check_delay(SETTINGS, interval_s=1800)
    quiet = next_check_delay(SETTINGS, interval_s=1800, entry_times=every(60 * 24))
    assert busy < normal < quiet
    assert busy == 1800 / 4  # never more than four times as often as configured
    assert quiet == 1800 * 4


def test_typical_gap_needs_three_entries() -> None:
    assert typical_gap_s(every(5, count=2)) is None
    assert typical_gap_s(every(5, count=3)) == 300


def test_publisher_hints_are_lower_bounds() -> None:
    assert next_check_delay(SETTINGS, interval_s=900, ttl_minutes=60) == 3600
    assert next_check_delay(SETTINGS, interval_s=900, update_period_s=7200) == 7200
    assert next_check_delay(SETTINGS, interval_s=900, cache_max_age_s=1200) == 1200
    assert next_check_delay(SETTINGS, interval_s=900, retry_after_s=5000) == 5000
    assert next_check_delay(SETTINGS, interval_s=900, cache_max_age_s=60) == 900


def test_delays_are_clamped() -> None:
    assert next_check_delay(SETTINGS, interval_s=60) == 300
    assert next_check_delay(SETTINGS, interval_s=900, ttl_minutes=60 * 24 * 30) == 86400
    assert next_check_delay(SETTINGS, interval_s=300, entry_times=every(1)) == 300


def test_backoff_grows_exponentially_with_jitter_up_to_the_cap() -> None:
    rng = random.Random(7)
    delays = [
        failure_backoff(SETTINGS, consecutive_failures=n, interval_s=900, rng=rng)
        for n in range(1, 12)
    ]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(900 * 2 ** (n - 1), 86400)
        assert ceiling / 2 <= delay <= ceiling
    assert delays[-1] >= 86400 / 2
    draws = {failure_backoff(SETTINGS, consecutive_failures=3, interval_s=900) for _ in range(20)}
    assert len(draws) > 1  # jittered


def test_backoff_honours_retry_after_and_clamps() -> None:
    low = random.Random(1)
    assert (
        failure_backoff(
            SETTINGS, consecutive_failures=1, interval_s=900, retry_after_s=7200, rng=low
        )
        == 7200
    )
    assert (
        failure_backoff(SETTINGS, consecutive_failures=1, interval_s=900, retry_after_s=10**7)
        == 86400
    )
    assert failure_backoff(SETTINGS, consecutive_failures=1, interval_s=10) >= 300


def test_unhealthy_after_consecutive_failures() -> None:
    settings = FetchSettings(unhealthy_after=3)
    assert not is_unhealthy(settings, 2)
    assert is_unhealthy(settings, 3)


def test_retry_after_parsing() -> None:
    assert parse_retry_after("120", NOW) == 120
    assert parse_retry_after("Sun, 01 Mar 2026 12:10:00 GMT", NOW) == 600
    assert parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT", NOW) == 0
    assert parse_retry_after("soon", NOW) is None
    assert parse_retry_after(None, NOW) is None


def test_cache_lifetime_parsing() -> None:
    assert parse_cache_lifetime("public, max-age=900", None, None, NOW) == 900
    assert parse_cache_lifetime("no-cache", None, None, NOW) == 0
    expires = "Sun, 01 Mar 2026 13:00:00 GMT"
    assert parse_cache_lifetime(None, expires, "Sun, 01 Mar 2026 12:30:00 GMT", NOW) == 1800
    assert parse_cache_lifetime(None, expires, None, NOW) == 3600
    assert parse_cache_lifetime(None, "0", None, NOW) == 0
    assert parse_cache_lifetime(None, None, None, NOW) is None


STATE = FeedState(
    interval_s=900, consecutive_failures=2, etag='"a"', last_modified="Mon", body_hash="h1"
)


def test_a_success_resets_failures_keeps_validators_and_schedules_the_next_check() -> None:
    outcome = FetchOutcome(url="u", status=FetchStatus.NOT_MODIFIED, etag='"b"')
    check = next_feed_state(SETTINGS, STATE, outcome, NOW)
    assert check.succeeded and not check.failed and check.consecutive_failures == 0
    assert (check.etag, check.last_modified) == ('"b"', "Mon")  # a validator not sent is kept
    assert check.body_hash is None  # unchanged
    assert check.next_check_at == NOW + timedelta(seconds=900)
    columns = check.columns()
    assert columns["last_success_at"] == NOW and "last_error" not in columns
    parsed = FetchOutcome(url="u", status=FetchStatus.OK, body_hash="h2")
    assert next_feed_state(SETTINGS, STATE, parsed, NOW, parsed=True).body_hash == "h2"


def test_a_failure_counts_keeps_the_error_and_backs_off() -> None:
    outcome = FetchOutcome(url="u", status=FetchStatus.ERROR, retry_after_s=7200)
    check = next_feed_state(SETTINGS, STATE, outcome, NOW, failure=("timeout", "timed out"))
    assert check.failed and not check.succeeded and check.consecutive_failures == 3
    assert (check.error_class, check.error) == ("timeout", "timed out")
    assert check.retry_in_s == 7200  # Retry-After over the backoff
    assert "last_success_at" not in check.columns()


def test_a_feed_gone_is_disabled_with_its_error_masked() -> None:
    outcome = FetchOutcome(
        url="u",
        status=FetchStatus.GONE,
        error_class="gone",
        error_message="410 at https://user:secret@example.com/feed",
    )
    check = next_feed_state(SETTINGS, STATE, outcome, NOW)
    assert check.next_check_at is None and check.consecutive_failures == 2
    assert check.disabled_reason == "410 Gone at 2026-03-01 12:00 UTC"
    assert check.error is not None and "secret" not in check.error
    assert check.columns()["enabled"] is False


def test_the_one_retry_policy_doubles_to_its_cap_with_equal_jitter() -> None:
    from bot.retry import exponential_backoff

    assert [exponential_backoff(n, base_s=1, cap_s=30, jitter=False) for n in (0, 1, 2, 5, 6)] == [
        1,
        1,
        2,
        16,
        30,
    ]
    draws = [exponential_backoff(3, base_s=10, cap_s=3600, rng=random.Random(n)) for n in range(50)]
    assert all(20 <= wait <= 40 for wait in draws) and len(set(draws)) > 1
