"""When to check a feed next: pure policy functions, no clock and no I/O.

After a success the delay starts from the configured interval and adapts to how often the feed
publishes (a feed that posts every ten minutes is checked more often than one that posts weekly),
then honours what the publisher asked for: RSS ``<ttl>``, ``sy:updatePeriod``/``updateFrequency``,
``Cache-Control: max-age``/``Expires`` and ``Retry-After``. After a failure the delay grows
exponentially with jitter. Every result is clamped to ``[min_interval, max_interval]`` from
:class:`bot.config.FetchSettings`, so no hint can make newsbot hammer a server or forget a feed.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from datetime import datetime

from bot.config.settings import FetchSettings
from bot.retry import exponential_backoff

# How far the publishing rhythm may move the configured interval, either way.
ADAPT_FACTOR = 4.0
# Check about twice per typical gap between entries.
CHECKS_PER_GAP = 2.0
# Entries considered when estimating the publishing rhythm.
RHYTHM_SAMPLE = 20


def _clamp(delay: float, settings: FetchSettings) -> float:
    return float(min(max(delay, settings.min_interval), settings.max_interval))


def typical_gap_s(entry_times: Sequence[datetime]) -> float | None:
    """The median gap in seconds between the most recent entries, or None with fewer than 3."""
    times = sorted(entry_times, reverse=True)[:RHYTHM_SAMPLE]
    if len(times) < 3:
        return None
    gaps = sorted((a - b).total_seconds() for a, b in itertools.pairwise(times))
    gaps = [gap for gap in gaps if gap > 0] or [0.0]
    return gaps[len(gaps) // 2]


def next_check_delay(
    settings: FetchSettings,
    *,
    interval_s: float,
    entry_times: Sequence[datetime] = (),
    ttl_minutes: int | None = None,
    update_period_s: int | None = None,
    cache_max_age_s: float | None = None,
    retry_after_s: float | None = None,
) -> float:
    """Seconds until the next check after a successful (or not-modified) fetch.

    ``interval_s`` is the feed's configured interval (or the global poll interval);
    ``entry_times`` the published times of the feed's recent entries.
    """
    delay = float(interval_s)
    gap = typical_gap_s(entry_times)
    if gap is not None:
        delay = min(max(gap / CHECKS_PER_GAP, interval_s / ADAPT_FACTOR), interval_s * ADAPT_FACTOR)
    # Publisher hints are lower bounds: they say how long a copy stays fresh.
    hints = [
        ttl_minutes * 60.0 if ttl_minutes else 0.0,
        float(update_period_s or 0),
        float(cache_max_age_s or 0),
        float(retry_after_s or 0),
    ]
    return _clamp(max(delay, *hints), settings)


def failure_backoff(
    settings: FetchSettings,
    *,
    consecutive_failures: int,
    interval_s: float,
    retry_after_s: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Seconds until the next attempt after the ``consecutive_failures``-th failure in a row (>= 1).

    Exponential from the feed's interval, capped at ``max_interval``, with "equal jitter" (the
    one retry policy, :mod:`bot.retry`) so feeds that failed together do not retry together.
    ``Retry-After`` (429/503) is honoured as a lower bound.
    """
    delay = exponential_backoff(
        consecutive_failures,
        base_s=max(float(interval_s), float(settings.min_interval)),
        cap_s=float(settings.max_interval),
        rng=rng,
    )
    if retry_after_s:
        delay = max(delay, retry_after_s)
    return _clamp(delay, settings)


def is_unhealthy(settings: FetchSettings, consecutive_failures: int) -> bool:
    """Whether a feed has failed often enough in a row to be reported as unhealthy."""
    return consecutive_failures >= settings.unhealthy_after
