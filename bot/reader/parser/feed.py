"""parse_feed: the one entry point the daemon, the CLI and the tests use to read a feed document."""

from __future__ import annotations

import html
import io
import re
import zlib
from datetime import datetime
from typing import Any

import feedparser

from bot.model import ParsedFeed
from bot.reader.parser.fast import parse_fast
from bot.reader.parser.jsonfeed import looks_like_json, parse_json_feed
from bot.reader.parser.normalise import RawEntry, RawFeed, normalise
from bot.reader.parser.safety import defuse_doctype, guard_feedparser
from bot.reader.processor import canonical_url, from_struct_time

guard_feedparser()

_HTML_START = re.compile(
    rb"^\s*(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body)\b", re.I | re.S
)


# Any XML document starts with "<" after an optional byte-order mark and white space (UTF-8), or
# with a UTF-16/32 byte-order mark.
_MARKUP_START = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<|^(?:\xff\xfe|\xfe\xff|\x00\x00\xfe\xff)")


_ALTERNATE_LINK = re.compile(rb"<link\b[^>]*>", re.I)
_FEED_TYPE = re.compile(
    rb"""type\s*=\s*["']application/(?:rss|atom|feed)\+(?:xml|json)["']""", re.I
)
# The value in double quotes (which may hold an apostrophe), single quotes, or none.
_HREF = re.compile(rb"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'<>`=]+))""", re.I)


def _advertised_feed(page: bytes, url: str) -> str | None:
    """The feed a web page advertises with <link rel="alternate" type="application/rss+xml">."""
    for tag in _ALTERNATE_LINK.findall(page[:65536]):
        href = _HREF.search(tag)
        value = next((group for group in href.groups() if group), None) if href else None
        if _FEED_TYPE.search(tag) and b"alternate" in tag.lower() and value:
            base = url if url.startswith(("http://", "https://")) else None
            return canonical_url(html.unescape(value.decode("utf-8", "replace")), base)
    return None


class FeedParseError(Exception):
    """Nothing usable in the document. ``kind`` is "not_a_feed" or "parse_error"."""

    def __init__(self, reason: str, *, kind: str = "parse_error") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind


def _describe(exc: object) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _from_feedparser(result: Any) -> RawFeed:
    feed = result.get("feed", {})
    self_links = [
        _text(link.get("href")).strip()
        for link in feed.get("links") or []
        if link.get("rel") == "self"
    ]
    raw = RawFeed(
        title=_text(feed.get("title")),
        link=_text(feed.get("link")) or None,
        self_link=next((href for href in self_links if href), None),
        ttl=_text(feed.get("ttl")) or None,
        update_period=_text(feed.get("sy_updateperiod")) or None,
        update_frequency=_text(feed.get("sy_updatefrequency")) or None,
    )
    for item in result.get("entries", []):
        contents = [c.get("value") or "" for c in item.get("content") or [] if c.get("value")]
        source = item.get("source") or {}
        # The name alone where feedparser could read one out of "nobody@flickr.com (kebernet)".
        author = _text((item.get("author_detail") or {}).get("name")) or _text(item.get("author"))
        raw.entries.append(
            RawEntry(
                title=_text(item.get("title")),
                link=_text(item.get("link")) or None,
                guid=_text(item.get("id")) or None,
                summary=_text(item.get("summary")),
                content=max(contents, key=len) if contents else "",
                published=from_struct_time(
                    item.get("published_parsed") or item.get("created_parsed")
                ),
                # dict.get: FeedParserDict maps a missing "updated" to "published", with a warning.
                updated=from_struct_time(dict.get(item, "updated_parsed")),
                author=author or None,
                categories=[
                    _text(tag.get("term")) or _text(tag.get("label"))
                    for tag in item.get("tags") or []
                ],
                source_title=_text(source.get("title")) or None,
            )
        )
    return raw


# A document that is itself gzip-compressed (a ".xml.gz" file, or a server that sends one as
# application/gzip without Content-Encoding) inflates to at most this much: the fetcher's
# default cap on a decoded body, so that a compressed bomb cannot exhaust memory here either.
MAX_INFLATED_BYTES = 10 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"


def _gunzip(body: bytes, limit: int) -> bytes:
    """The inflated document, refusing to produce more than `limit` bytes."""
    parts: list[bytes] = []
    size = 0
    data = body
    try:
        while data:
            inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
            out = inflater.decompress(data, limit - size + 1)
            size += len(out)
            if size > limit or inflater.unconsumed_tail:
                raise FeedParseError(
                    f"gzip-compressed document inflates to more than {limit} bytes"
                )
            parts.append(out)
            if not inflater.eof:
                raise FeedParseError("truncated gzip-compressed document")
            data = inflater.unused_data  # another gzip member follows
    except zlib.error as exc:
        raise FeedParseError(f"damaged gzip-compressed document: {exc}") from None
    return b"".join(parts)


def parse_feed(
    body: bytes,
    *,
    url: str,
    now: datetime,
    source_name: str | None = None,
    content_type: str | None = None,
    max_inflated_bytes: int = MAX_INFLATED_BYTES,
) -> ParsedFeed:
    """Parse and normalise one feed document fetched from ``url`` at ``now``.

    Raises :class:`FeedParseError` when the document holds nothing usable (not a feed, or too
    broken to recover any entry or feed title). A recoverable problem is kept in
    ``ParsedFeed.warning``. A gzip-compressed document is inflated first (at most
    `max_inflated_bytes`).
    """
    if body.startswith(_GZIP_MAGIC):
        body = _gunzip(body, max_inflated_bytes)
    if not body or not body.strip():
        raise FeedParseError("empty document", kind="not_a_feed")
    if looks_like_json(body):
        try:
            json_feed = parse_json_feed(body)
        except ValueError as exc:
            raise FeedParseError(f"not a readable JSON feed: {exc}") from None
        if json_feed is None:
            raise FeedParseError("JSON that is not a JSON Feed document", kind="not_a_feed")
        return normalise(json_feed, url=url, now=now, source_name=source_name)
    safe_body, defused = defuse_doctype(body)
    fast = None if defused else parse_fast(safe_body, content_type)
    if fast is not None:
        return normalise(fast, url=url, now=now, source_name=source_name)
    # No content-location: feedparser would resolve GUIDs that look relative against it, and an
    # identity must not change when the feed's URL does. normalise() resolves links itself.
    headers: dict[str, str] = {}
    if content_type:
        headers["content-type"] = content_type
    try:
        result = feedparser.parse(
            io.BytesIO(safe_body),
            response_headers=headers,
            sanitize_html=False,
            resolve_relative_uris=False,
        )
    except Exception as exc:  # feedparser promises not to raise; a bug in it must not stop a poll
        raise FeedParseError(f"parser failure: {_describe(exc)}") from exc
    raw = _from_feedparser(result)
    problem = _describe(result.get("bozo_exception")) if result.get("bozo") else None
    if not raw.entries and not result.get("version"):
        if _HTML_START.match(body[:4096]) or (content_type or "").startswith("text/html"):
            advertised = _advertised_feed(body, url)
            hint = f" (the page names its feed: {advertised})" if advertised else ""
            raise FeedParseError(f"an HTML page, not a feed{hint}", kind="not_a_feed")
        if not _MARKUP_START.match(body[:1024]):
            raise FeedParseError("neither XML nor JSON", kind="not_a_feed")
        if problem:
            raise FeedParseError(f"not a readable feed: {problem}")
        raise FeedParseError("no RSS, Atom or RDF feed found in the document", kind="not_a_feed")
    warnings = [w for w in (problem, "unsafe DTD declarations removed" if defused else None) if w]
    raw.warning = "; ".join(warnings) or None
    return normalise(raw, url=url, now=now, source_name=source_name)
