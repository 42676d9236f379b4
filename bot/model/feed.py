"""What a feed's URL must be, and what one check of a feed makes of its stored row: the value
the poller computes (pure, in :func:`bot.reader.fetcher.state.next_feed_state`) and storage
writes (``record_check``)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

_WEB_URL = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)

# What a feed's row holds at most (the column sizes of bot.storage.models; PostgreSQL refuses
# a longer value, and would fail the whole transaction of a poll's batch with it).
FEED_URL_MAX = 2048
FEED_NAME_MAX = 300
FEED_TITLE_MAX = 500
ETAG_MAX = 500
LAST_MODIFIED_MAX = 100


def feed_url_problem(url: str) -> str | None:
    """Why `url` cannot be a feed's URL (the configuration's and an OPML import's rule), or
    None: it must be http(s), with a host, a port a connection can use, and no space, and fit
    the feed's row."""
    if not _WEB_URL.match(url):
        return "expected an http:// or https:// URL"
    if len(url) > FEED_URL_MAX:
        return f"expected a URL of at most {FEED_URL_MAX} characters, got {len(url)}"
    if any(character.isspace() for character in url):
        return "expected an http:// or https:// URL, got one with a space in it"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # "Port out of range 0-65535", "Invalid IPv6 URL"
        return f"expected an http:// or https:// URL, got one that cannot be read ({exc})"
    if not parts.hostname:
        return "expected an http:// or https:// URL, got one without a host"
    if port == 0:
        return "expected an http:// or https:// URL, got one with port 0"
    return None


@dataclass(frozen=True, slots=True)
class FeedState:
    """What deciding a feed's next state reads from its row."""

    interval_s: float  # the feed's own interval, else the configured poll interval
    consecutive_failures: int
    etag: str | None
    last_modified: str | None
    body_hash: str | None = None


@dataclass(frozen=True, slots=True)
class FeedCheck:
    """The feed's columns after one check. Every check releases the lease and sets when the feed
    was checked and when it is due next (None: never, it is disabled); the rest depends on how
    the check ended."""

    checked_at: datetime
    next_check_at: datetime | None
    consecutive_failures: int
    etag: str | None
    last_modified: str | None
    succeeded: bool = False  # last_success_at becomes checked_at
    body_hash: str | None = None  # None: unchanged
    # A failure (or a feed gone): last_error and last_error_class become these.
    failed: bool = False
    error: str | None = None
    error_class: str | None = None
    disabled_reason: str | None = None  # the feed is disabled

    @property
    def retry_in_s(self) -> float | None:
        """Seconds from the check to the next one (None when there is none)."""
        if self.next_check_at is None:
            return None
        return (self.next_check_at - self.checked_at).total_seconds()

    def columns(self) -> dict[str, Any]:
        """The feed columns this check sets, by name."""
        columns: dict[str, Any] = {
            "lease_owner": None,
            "lease_until": None,
            "last_checked_at": self.checked_at,
            "next_check_at": self.next_check_at,
            "consecutive_failures": self.consecutive_failures,
            "etag": self.etag,
            "last_modified": self.last_modified,
        }
        if self.succeeded:
            columns["last_success_at"] = self.checked_at
        if self.body_hash is not None:
            columns["body_hash"] = self.body_hash
        if self.failed:
            columns["last_error"] = self.error
            columns["last_error_class"] = self.error_class
        if self.disabled_reason is not None:
            columns["enabled"] = False
            columns["disabled_reason"] = self.disabled_reason
        return columns
