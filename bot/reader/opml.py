"""OPML subscription lists: reading them for ``newsbot feeds import`` and writing them for export.

Pure functions on bytes; the command line decides where imported feeds go. OPML files come from
other feed readers and are untrusted XML, so the DOCTYPE is defused first
(:func:`bot.reader.parser.safety.defuse_doctype`) and the document is read with ElementTree.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

from bot.model.feed import FEED_NAME_MAX, feed_url_problem
from bot.reader.parser.safety import defuse_doctype

# Exporters disagree on the attribute's case ("xmlUrl", "xmlurl", "XMLURL") and some use "url".
_FEED_ATTRIBUTES = ("xmlurl", "url")


class OpmlError(Exception):
    """The file is not a readable OPML document."""


@dataclass(frozen=True, slots=True)
class OpmlFeed:
    url: str
    title: str | None = None
    html_url: str | None = None
    category: str | None = None  # enclosing outline titles, joined with " / "


@dataclass(slots=True)
class OpmlImport:
    feeds: list[OpmlFeed] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # one reason per outline left out


def _attributes(outline: ET.Element) -> dict[str, str]:
    return {name.lower(): value.strip() for name, value in outline.attrib.items()}


def _walk(node: ET.Element, path: list[str], result: OpmlImport, seen: set[str]) -> None:
    for outline in node:
        if outline.tag != "outline":
            continue
        attributes = _attributes(outline)
        label = attributes.get("title") or attributes.get("text") or None
        url = next((attributes[a] for a in _FEED_ATTRIBUTES if attributes.get(a)), None)
        if url is None:
            _walk(outline, [*path, label] if label else path, result, seen)
            continue
        problem = feed_url_problem(url)
        if problem:
            result.skipped.append(f"{label or url}: not a feed URL: {problem} ({url!r})")
        elif url in seen:
            result.skipped.append(f"{label or url}: listed twice ({url})")
        else:
            seen.add(url)
            result.feeds.append(
                OpmlFeed(
                    url=url,
                    # the feed's name in its row (an exporter may put a whole description here)
                    title=label[:FEED_NAME_MAX] if label else None,
                    html_url=attributes.get("htmlurl") or None,
                    category=" / ".join(path) or None,
                )
            )
        _walk(outline, path, result, seen)  # some exporters nest feeds under feeds


def parse_opml(data: bytes) -> OpmlImport:
    """The feeds listed in an OPML document, with a reason for every outline left out."""
    safe, defused = defuse_doctype(data)
    try:
        root = ET.fromstring(safe)
    except ET.ParseError as exc:
        if defused and "undefined entity" in str(exc):
            raise OpmlError(
                f"uses an entity its DTD declares ({exc}): entities that expand to markup or "
                "other entities are not read, for safety; write the text itself"
            ) from None
        raise OpmlError(f"not well-formed XML ({exc})") from None
    if root.tag.lower() != "opml":
        raise OpmlError(f"expected an <opml> document, found <{root.tag}>")
    body = root.find("body")
    if body is None:
        raise OpmlError("the OPML document has no <body>")
    result = OpmlImport()
    _walk(body, [], result, set())
    return result


def render_opml(
    feeds: Iterable[OpmlFeed], *, title: str = "newsbot feeds", now: datetime | None = None
) -> bytes:
    """An OPML 2.0 document listing ``feeds``, grouped in one outline per category."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(now or datetime.now(UTC), usegmt=True)
    body = ET.SubElement(root, "body")
    groups: dict[str, ET.Element] = {}
    for feed in feeds:
        parent = body
        if feed.category:
            parent = groups.get(feed.category) or ET.SubElement(
                body, "outline", text=feed.category, title=feed.category
            )
            groups[feed.category] = parent
        attributes = {"type": "rss", "text": feed.title or feed.url, "xmlUrl": feed.url}
        if feed.title:
            attributes["title"] = feed.title
        if feed.html_url:
            attributes["htmlUrl"] = feed.html_url
        ET.SubElement(parent, "outline", attributes)
    ET.indent(root)
    document: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return document + b"\n"
