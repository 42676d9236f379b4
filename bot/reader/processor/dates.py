"""Entry times in UTC, with the first-seen time standing in for a missing or implausible date.

feedparser already understands the many date formats feeds use (RFC 822 with its variants,
W3C-DTF, ISO 8601 and a dozen national ones) and hands back UTC ``struct_time`` values; this
module only decides which of them can be trusted.
"""

from __future__ import annotations

import calendar
import time
from datetime import UTC, datetime, timedelta

# Feed clocks drift and some feeds stamp items in local time labelled as UTC: a date a little
# ahead is tolerated, a date further ahead is a lie that would pin the item to the top of digests.
FUTURE_SKEW = timedelta(minutes=15)
# Dates before the web had feeds are placeholders ("1970-01-01", "0001-01-01").
EARLIEST_PLAUSIBLE = datetime(1995, 1, 1, tzinfo=UTC)


def from_struct_time(value: time.struct_time | tuple[int, ...] | None) -> datetime | None:
    """A UTC datetime from feedparser's ``*_parsed`` value (already UTC), or None if invalid."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(tuple(value)[:9]), tz=UTC)
    except (OverflowError, ValueError, OSError, TypeError):
        return None


def plausible_time(value: datetime | None, now: datetime) -> datetime | None:
    """``value`` in UTC if it is plausible at ``now`` (not far in the future, not a placeholder)."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if value > now + FUTURE_SKEW or value < EARLIEST_PLAUSIBLE:
        return None
    return value
