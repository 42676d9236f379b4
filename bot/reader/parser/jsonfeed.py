"""JSON Feed (https://jsonfeed.org, versions 1 and 1.1) read into a :class:`RawFeed`.

feedparser 6 does not read JSON Feed; the format is plain JSON with a small, fixed schema, so the
standard ``json`` module is all it takes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.reader.parser.normalise import RawEntry, RawFeed

JSON_FEED_PREFIX = "https://jsonfeed.org/version/"


def looks_like_json(body: bytes) -> bool:
    return body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _numeric_id(value: Any) -> str | None:
    """An item id some publishers write as a number (the spec says string); null is no id."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def _time(value: Any) -> datetime | None:
    text = _str(value)
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _author(item: dict[str, Any]) -> str | None:
    authors = item.get("authors")
    if isinstance(authors, list):
        names = [_str(a.get("name")) for a in authors if isinstance(a, dict)]
        names = [name for name in names if name]
        if names:
            return ", ".join(names)
    author = item.get("author")
    if isinstance(author, dict):
        return _str(author.get("name")) or None
    return None


def parse_json_feed(body: bytes) -> RawFeed | None:
    """The feed in ``body`` if it is a JSON Feed document, else None (not JSON Feed at all).

    Raises ValueError for a JSON Feed that is syntactically broken.
    """
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise ValueError(f"JSON feed is not UTF-8: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc}") from None
    except RecursionError:
        # The json module recurses once per nested array or object; no feed nests deeply.
        raise ValueError("JSON nested too deeply to read") from None
    if not isinstance(document, dict) or not _str(document.get("version")).startswith(
        JSON_FEED_PREFIX
    ):
        return None
    raw = RawFeed(
        title=_str(document.get("title")),
        link=_str(document.get("home_page_url")) or None,
    )
    items = document.get("items")
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        html = _str(item.get("content_html"))
        text = _str(item.get("content_text"))
        tags = item.get("tags")
        raw.entries.append(
            RawEntry(
                title=_str(item.get("title")),
                link=_str(item.get("url")) or _str(item.get("external_url")) or None,
                guid=_str(item.get("id")) or _numeric_id(item.get("id")),
                summary=_str(item.get("summary")),
                content=html or text.replace("&", "&amp;").replace("<", "&lt;"),
                published=_time(item.get("date_published")),
                updated=_time(item.get("date_modified")),
                author=_author(item) or _author(document),
                categories=[t for t in tags if isinstance(t, str)]
                if isinstance(tags, list)
                else [],
            )
        )
    return raw
