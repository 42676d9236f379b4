"""Reading the HTTP caching and rate-limit headers that steer the schedule (pure functions).

Only two numbers are needed (seconds until a retry is welcome, seconds a copy stays fresh), so
``email.utils`` for HTTP dates and two regular expressions do it; a caching library such as
hishel would bring a whole cache we do not want.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

# A server may ask for a pause, but not for one longer than a week.
MAX_RETRY_AFTER_S = 7 * 86400.0
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)", re.IGNORECASE)
_NO_CACHE = re.compile(r"(?:^|,)\s*(?:no-cache|no-store)\b", re.IGNORECASE)


def _http_date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError):
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delta-seconds or an HTTP date)."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return min(float(text), MAX_RETRY_AFTER_S)
    when = _http_date(text)
    if when is None:
        return None
    return min(max((when - now).total_seconds(), 0.0), MAX_RETRY_AFTER_S)


def parse_cache_lifetime(
    cache_control: str | None, expires: str | None, date: str | None, now: datetime
) -> float | None:
    """Seconds a response stays fresh by ``Cache-Control: max-age`` or ``Expires`` (- ``Date``)."""
    if cache_control:
        if _NO_CACHE.search(cache_control):
            return 0.0
        found = _MAX_AGE.search(cache_control)
        if found:
            return float(found.group(1))
    if expires:
        until = _http_date(expires)
        if until is None:
            return 0.0  # "Expires: 0" and other invalid values mean already expired
        origin = _http_date(date) if date else None
        return max((until - (origin or now)).total_seconds(), 0.0)
    return None
