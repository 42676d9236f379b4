"""Feed fetch outcomes and normalised entries: what the reader stages hand to storage."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

# The longest outlet name an entry keeps (its row's source_name): a feed's channel title or an
# item's <source> may be longer.
OUTLET_MAX = 300


class FetchStatus(enum.StrEnum):
    """How one fetch of one feed ended."""

    OK = "ok"  # new body, parse it
    NOT_MODIFIED = "not_modified"  # 304, or a body byte-identical to the last one
    GONE = "gone"  # 410: the feed is disabled
    ERROR = "error"  # see FetchOutcome.error_class


@dataclass(slots=True)
class FetchOutcome:
    """The result of fetching one feed URL, including the validators to store for next time."""

    url: str
    status: FetchStatus
    body: bytes | None = None
    http_status: int | None = None
    final_url: str | None = None  # where the content came from after redirects
    permanent_url: str | None = None  # set when a 301/308 chain says the feed has moved
    etag: str | None = None
    last_modified: str | None = None
    body_hash: str | None = None
    content_type: str | None = None
    retry_after_s: float | None = None
    cache_max_age_s: float | None = None
    error_class: str | None = None  # dns, connect, timeout, tls, http_status, too_large, ...
    error_message: str | None = None
    elapsed_s: float = 0.0


@dataclass(slots=True)
class Entry:
    """One normalised feed item: plain text, canonical link, UTC times, stable identity."""

    identity: str  # stable key within its feed (GUID, link, or content hash)
    title: str
    link: str | None
    summary: str = ""
    text: str = ""  # full text when the feed carries it (content:encoded), plain
    published: datetime | None = None  # UTC
    updated: datetime | None = None  # UTC
    guid: str | None = None
    author: str | None = None
    categories: list[str] = field(default_factory=list)
    source: str | None = None  # outlet name


@dataclass(slots=True)
class ParsedFeed:
    """A parsed feed document: its metadata and its normalised entries."""

    title: str | None
    link: str | None
    entries: list[Entry]
    ttl_minutes: int | None = None  # RSS <ttl>
    update_period_s: int | None = None  # sy:updatePeriod / sy:updateFrequency
    warning: str | None = None  # a recoverable problem the parser worked around
