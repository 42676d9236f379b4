"""From a parser's raw view of a feed to normalised entries with stable identities.

Whatever parser read the document (feedparser, or the fast path for plain RSS 2.0/Atom), it
hands over a :class:`RawFeed`; this module turns it into the :class:`bot.model.ParsedFeed` that
storage receives, so both paths produce identical entries.

Identity rule, per entry and prefixed by its kind so storage can keep it as is:

* ``guid:<guid>`` when the entry has a GUID that is not empty, not shared with another entry of
  the same document, and not the feed's own URL or home page (feeds that stamp every item with
  the same placeholder GUID would otherwise collapse into one entry);
* else ``link:<canonical link>`` under the same conditions;
* else ``hash:<sha256 of title and summary>``.

The choice is made per entry rather than per feed so that one duplicated GUID does not flip the
identity of every other entry of the feed between two polls (which would duplicate them all).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.model import Entry, ParsedFeed
from bot.reader.processor import (
    canonical_url,
    plausible_time,
    strip_clutter,
    to_plain_text,
    truncate,
)

TITLE_CAP = 500
SUMMARY_CAP = 1000
TEXT_CAP = 100_000
AUTHOR_CAP = 300
CATEGORY_CAP = 100
# An undated entry is dated when first seen, less this step for each undated entry the document
# lists before it: feeds list the newest first, so the entries are then clustered in the order
# they were published (as `newsbot cluster` places undated items in input order), not in the
# order of their identities.
UNDATED_STEP = timedelta(microseconds=1)
MAX_CATEGORIES = 20
URL_CAP = 2048
IDENTITY_CAP = 500

_ABSOLUTE_WEB = re.compile(r"^\s*https?://", re.IGNORECASE)
_PERIOD_SECONDS = {
    "hourly": 3600,
    "daily": 86400,
    "weekly": 7 * 86400,
    "monthly": 30 * 86400,
    "yearly": 365 * 86400,
}


@dataclass(slots=True)
class RawEntry:
    """One item as a parser saw it: markup not yet reduced, dates already UTC where known."""

    title: str = ""
    link: str | None = None
    guid: str | None = None
    summary: str = ""  # description / summary, HTML or text
    content: str = ""  # the fullest content:encoded / atom:content, HTML or text
    published: datetime | None = None
    updated: datetime | None = None
    author: str | None = None
    categories: list[str] = field(default_factory=list)
    source_title: str | None = None  # <source> of an aggregated item


@dataclass(slots=True)
class RawFeed:
    title: str = ""
    link: str | None = None
    self_link: str | None = None  # where the feed says it lives (atom:link rel="self")
    entries: list[RawEntry] = field(default_factory=list)
    ttl: str | None = None
    update_period: str | None = None
    update_frequency: str | None = None
    warning: str | None = None


def _as_int(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        number = int(str(value).strip())
    except ValueError:
        return None
    return number if number > 0 else None


def _update_period_s(period: str | None, frequency: str | None) -> int | None:
    if not period and not frequency:
        return None
    seconds = _PERIOD_SECONDS.get((period or "daily").strip().lower())
    if seconds is None:
        return None
    return seconds // (_as_int(frequency) or 1)


def _capped_identity(kind: str, value: str) -> str:
    identity = f"{kind}:{value}"
    if len(identity) <= IDENTITY_CAP:
        return identity
    return f"{kind}:sha256:{hashlib.sha256(value.encode('utf-8', 'replace')).hexdigest()}"


def _categories(raw: list[str]) -> list[str]:
    seen: dict[str, None] = {}
    for value in raw:
        name = to_plain_text(value, limit=CATEGORY_CAP)
        if name and name.casefold() not in {s.casefold() for s in seen}:
            seen[name] = None
        if len(seen) >= MAX_CATEGORIES:
            break
    return list(seen)


def normalise(raw: RawFeed, *, url: str, now: datetime, source_name: str | None) -> ParsedFeed:
    """The normalised form of ``raw``, fetched from ``url`` and first seen at ``now``."""
    web_url = url if url.startswith(("http://", "https://")) else None
    # A document read from a file (`newsbot parse FILE`) has no web address of its own: its
    # relative links are read against the address the feed gives itself, if it gives one.
    document_url = web_url
    if document_url is None and raw.self_link and _ABSOLUTE_WEB.match(raw.self_link):
        document_url = canonical_url(raw.self_link)
    feed_link = canonical_url(raw.link, document_url) if raw.link else None
    feed_title = to_plain_text(raw.title, limit=TITLE_CAP) or None
    own_urls = {u for u in (web_url, canonical_url(web_url), document_url, feed_link) if u}
    base = document_url or feed_link

    # feedparser lets a GUID stand in for a missing link; a GUID that is not an absolute web URL
    # ("post-123", "urn:...") must not become a link relative to the feed.
    links = [
        None
        if item.link and item.link == item.guid and not _ABSOLUTE_WEB.match(item.link)
        else canonical_url(item.link, base)
        for item in raw.entries
    ]
    links = [link if link and len(link) <= URL_CAP else None for link in links]
    guids = [(item.guid or "").strip() for item in raw.entries]
    guid_counts = Counter(guids)
    link_counts = Counter(links)

    entries: list[Entry] = []
    undated = 0
    for item, link, guid in zip(raw.entries, links, guids, strict=True):
        title = to_plain_text(item.title, limit=TITLE_CAP)
        body_lines = strip_clutter(to_plain_text(item.content or item.summary, keep_lines=True))
        text = truncate(body_lines, TEXT_CAP)
        if item.content and item.summary and item.summary != item.content:
            summary_lines = strip_clutter(to_plain_text(item.summary, keep_lines=True))
        else:
            summary_lines = body_lines
        summary = truncate(summary_lines.replace("\n", " "), SUMMARY_CAP)
        if not title and not summary and not link:
            continue  # nothing a reader could use
        if guid and guid_counts[guid] == 1 and guid not in own_urls:
            identity = _capped_identity("guid", guid)
        elif link and link_counts[link] == 1 and link not in own_urls:
            identity = _capped_identity("link", link)
        else:
            digest = hashlib.sha256(f"{title}\n{summary}".encode()).hexdigest()
            identity = f"hash:{digest}"
        updated = plausible_time(item.updated, now)
        published = plausible_time(item.published, now) or updated
        if published is None:
            published = now - UNDATED_STEP * undated
            undated += 1
        author = to_plain_text(item.author, limit=AUTHOR_CAP) or None
        outlet = to_plain_text(item.source_title, limit=TITLE_CAP) if item.source_title else ""
        entries.append(
            Entry(
                identity=identity,
                title=title or truncate(summary, 120) or (link or ""),
                link=link,
                summary=summary,
                text=text,
                published=published,
                updated=updated,
                guid=guid[:URL_CAP] or None,
                author=author,
                categories=_categories(item.categories),
                source=outlet or source_name or feed_title,
            )
        )
    return ParsedFeed(
        title=feed_title,
        link=feed_link,
        entries=entries,
        ttl_minutes=_as_int(raw.ttl),
        update_period_s=_update_period_s(raw.update_period, raw.update_frequency),
        warning=raw.warning,
    )
