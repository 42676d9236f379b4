"""Items written as the RSS feeds their outlets would publish: one RSS 2.0 document per outlet.

Each item becomes an ``<item>`` as real feeds carry it: ``title``, ``link`` (its URL),
``description`` (its summary), ``content:encoded`` (its full text as HTML paragraphs, where the
item has one), ``pubDate`` (RFC 822) and a ``guid`` that is the item's id (``isPermaLink="false"``),
by which `newsbot eval` finds the item again among the stored entries. The documents are built
with ElementTree, so whatever the text holds is escaped as XML requires, and the feed parser reads
them exactly as it reads a real outlet's feed.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bot.clustering.item import ClusterItem
from bot.demo.data import format_feed_date

CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
# The outlet of items that name none.
UNKNOWN_OUTLET = "unknown"

_SLUG_DROP = re.compile(r"[^a-z0-9]+")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")

ET.register_namespace("content", CONTENT_NS)


@dataclass(frozen=True, slots=True)
class OutletFeed:
    """One outlet's feed: the path it is served at, the outlet's name and its items."""

    path: str
    outlet: str
    items: tuple[ClusterItem, ...]


def _slug(outlet: str) -> str:
    return _SLUG_DROP.sub("-", outlet.lower()).strip("-") or "outlet"


def outlet_feeds(items: Iterable[ClusterItem]) -> list[OutletFeed]:
    """The items grouped into one feed per outlet (`source`), outlets in order of first
    appearance, each feed's items in the given order; paths are unique file names."""
    by_outlet: dict[str, list[ClusterItem]] = {}
    for item in items:
        by_outlet.setdefault(item.source or UNKNOWN_OUTLET, []).append(item)
    feeds: list[OutletFeed] = []
    used: set[str] = set()
    for outlet, grouped in by_outlet.items():
        stem = _slug(outlet)
        path, n = f"{stem}.rss", 1
        while path in used:  # two outlets whose names differ only in punctuation
            n += 1
            path = f"{stem}-{n}.rss"
        used.add(path)
        feeds.append(OutletFeed(path, outlet, tuple(grouped)))
    return feeds


def _html_paragraphs(text: str) -> str:
    paragraphs = [p.strip() for p in _PARAGRAPH_BREAK.split(text) if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


def _newest_first(items: Sequence[ClusterItem]) -> list[ClusterItem]:
    """Dated items newest first, as feeds list them, then the undated, whose given order is
    the order they were published in (as `newsbot cluster` reads it), also newest first."""
    dated = [(item.published, index) for index, item in enumerate(items) if item.published]
    order = [index for _, index in sorted(dated, key=lambda pair: pair[0], reverse=True)]
    order += [index for index, item in reversed(list(enumerate(items))) if item.published is None]
    return [items[index] for index in order]


def render_rss(outlet: str, items: Sequence[ClusterItem]) -> bytes:
    """An RSS 2.0 document of ``outlet`` carrying ``items``, newest first."""
    rss = ET.Element("rss", {"version": "2.0"})
    channel = ET.SubElement(rss, "channel")
    ET.SubElement(channel, "title").text = outlet
    ET.SubElement(channel, "description").text = f"Reports of {outlet}"
    for item in _newest_first(items):
        element = ET.SubElement(channel, "item")
        if item.title:
            ET.SubElement(element, "title").text = item.title
        if item.url:
            ET.SubElement(element, "link").text = item.url
        if item.summary:
            ET.SubElement(element, "description").text = item.summary
        if item.text:
            ET.SubElement(element, f"{{{CONTENT_NS}}}encoded").text = _html_paragraphs(item.text)
        if item.published is not None:
            ET.SubElement(element, "pubDate").text = format_feed_date(item.published, "rss")
        ET.SubElement(element, "guid", {"isPermaLink": "false"}).text = item.key
    document: bytes = ET.tostring(rss, encoding="utf-8", xml_declaration=True)
    return document
