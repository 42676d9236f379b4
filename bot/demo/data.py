"""The demo's bundled feeds: the manifest, the feed templates, and their dates made relative.

The feed files under ``bot/demo/feeds/`` are RSS 2.0 and Atom 1.0 documents of fictional outlets
(see ``bot/demo/README.md`` for where their text comes from). Their dates are placeholders,
``{{published:-3h}}`` or ``{{updated:-1d2h30m}}``, because a demo run must look fresh whenever it
runs: the digest says "2 h ago" and every item falls inside the clustering window.
:func:`render_demo_feeds` fills them in relative to a given ``now``, RFC 822 for RSS and RFC 3339
for Atom, as real feeds carry them.

Files are read with :mod:`importlib.resources`, so the demo works from an installed wheel as well
as from a source checkout.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Literal, get_args

FeedFormat = Literal["rss", "atom"]

MANIFEST_NAME = "feeds.toml"
EVENTS_NAME = "events.toml"

# A placeholder's offset is signed days/hours/minutes, largest unit first ("-1d2h30m", "-45m").
_PLACEHOLDER = re.compile(r"\{\{\s*(published|updated)\s*:\s*([+-])((?:\d+[dhm])+)\s*\}\}")
_OFFSET_PART = re.compile(r"(\d+)([dhm])")
_OFFSET_SHAPE = re.compile(r"(?:\d+d)?(?:\d+h)?(?:\d+m)?")
_ANY_PLACEHOLDER = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_UNIT = {"d": timedelta(days=1), "h": timedelta(hours=1), "m": timedelta(minutes=1)}


class DemoDataError(ValueError):
    """The bundled demo data is inconsistent (a bad manifest entry or a malformed placeholder)."""


@dataclass(frozen=True)
class DemoFeed:
    """One bundled feed: its file (also the URL path the demo server serves it at) and outlet."""

    path: str
    name: str
    format: FeedFormat = "rss"


@dataclass(frozen=True)
class DemoEvent:
    """Ground truth for the demo: one real-world event and the links of every item reporting it.

    ``relevant`` says whether the event is a compute deal that the default rules should keep;
    the items of one relevant event should end up as one story, and no other item inside it.
    """

    key: str
    summary: str
    relevant: bool
    links: tuple[str, ...]


def _feeds_dir() -> Traversable:
    return files("bot.demo").joinpath("feeds")


def demo_feeds() -> list[DemoFeed]:
    """The bundled feeds in manifest order, validated against the files that ship with them."""
    where = f"bot/demo/feeds/{MANIFEST_NAME}"
    manifest = _feeds_dir().joinpath(MANIFEST_NAME)
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DemoDataError(f"{where}: cannot read the demo feed manifest: {exc}") from exc
    entries = data.get("feed")
    if not isinstance(entries, list) or not entries:
        raise DemoDataError(f"{where}: expected one or more [[feed]] tables")
    feeds: list[DemoFeed] = []
    seen: set[str] = set()
    allowed = get_args(FeedFormat)
    for index, entry in enumerate(entries):
        key = f"feed[{index}]"
        if not isinstance(entry, dict):
            raise DemoDataError(f"{where}: {key}: expected a table")
        unknown = set(entry) - {"path", "name", "format"}
        if unknown:
            raise DemoDataError(f"{where}: {key}: unknown keys {sorted(unknown)}")
        for field in ("path", "name", "format"):
            if not isinstance(entry.get(field), str) or not entry[field].strip():
                raise DemoDataError(f"{where}: {key}.{field}: expected a non-empty string")
        path, name, fmt = entry["path"], entry["name"], entry["format"]
        if fmt not in allowed:
            raise DemoDataError(f"{where}: {key}.format: expected one of {allowed}, got {fmt!r}")
        if "/" in path or "\\" in path or path.startswith("."):
            raise DemoDataError(f"{where}: {key}.path: expected a plain file name, got {path!r}")
        if path in seen:
            raise DemoDataError(f"{where}: {key}.path: {path!r} is listed twice")
        if not _feeds_dir().joinpath(path).is_file():
            raise DemoDataError(f"{where}: {key}.path: no bundled file named {path!r}")
        seen.add(path)
        feeds.append(DemoFeed(path=path, name=name, format=fmt))
    return feeds


def demo_events() -> list[DemoEvent]:
    """The demo's ground truth: every bundled item belongs to exactly one event, by its link."""
    where = f"bot/demo/feeds/{EVENTS_NAME}"
    try:
        data = tomllib.loads(_feeds_dir().joinpath(EVENTS_NAME).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise DemoDataError(f"{where}: cannot read the demo ground truth: {exc}") from exc
    entries = data.get("event")
    if not isinstance(entries, list) or not entries:
        raise DemoDataError(f"{where}: expected one or more [[event]] tables")
    events: list[DemoEvent] = []
    seen_keys: set[str] = set()
    seen_links: set[str] = set()
    for index, entry in enumerate(entries):
        key = f"event[{index}]"
        if not isinstance(entry, dict):
            raise DemoDataError(f"{where}: {key}: expected a table")
        for field in ("key", "summary"):
            if not isinstance(entry.get(field), str) or not entry[field].strip():
                raise DemoDataError(f"{where}: {key}.{field}: expected a non-empty string")
        if not isinstance(entry.get("relevant"), bool):
            raise DemoDataError(f"{where}: {key}.relevant: expected true or false")
        links = entry.get("links")
        if (
            not isinstance(links, list)
            or not links
            or not all(isinstance(link, str) and link for link in links)
        ):
            raise DemoDataError(f"{where}: {key}.links: expected a non-empty list of URLs")
        if entry["key"] in seen_keys:
            raise DemoDataError(f"{where}: {key}.key: {entry['key']!r} is listed twice")
        repeated = seen_links.intersection(links)
        if repeated or len(set(links)) != len(links):
            raise DemoDataError(f"{where}: {key}.links: an item may belong to one event only")
        seen_keys.add(entry["key"])
        seen_links.update(links)
        events.append(DemoEvent(entry["key"], entry["summary"], entry["relevant"], tuple(links)))
    return events


def _parse_offset(sign: str, spec: str, placeholder: str) -> timedelta:
    if not _OFFSET_SHAPE.fullmatch(spec):
        raise DemoDataError(
            f"placeholder {placeholder!r}: expected days, hours, minutes in that order, e.g. -1d2h"
        )
    total = sum((int(n) * _UNIT[unit] for n, unit in _OFFSET_PART.findall(spec)), timedelta())
    return -total if sign == "-" else total


def format_feed_date(moment: datetime, fmt: FeedFormat) -> str:
    """A date as the given feed format writes it: RFC 822 (RSS) or RFC 3339 (Atom), in UTC."""
    utc = moment.astimezone(UTC).replace(microsecond=0)
    if fmt == "rss":
        return format_datetime(utc, usegmt=True)
    return utc.isoformat().replace("+00:00", "Z")


def fill_dates(template: str, *, fmt: FeedFormat, now: datetime) -> str:
    """Replace every date placeholder in ``template`` with ``now`` plus its offset.

    ``now`` must be timezone-aware: a naive time would make "3 hours ago" depend on the
    machine's zone. Any ``{{...}}`` left that is not a valid placeholder is an error, so a typo
    in the data cannot ship as literal text.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware (for example datetime.now(UTC))")

    def replace(match: re.Match[str]) -> str:
        offset = _parse_offset(match.group(2), match.group(3), match.group(0))
        return format_feed_date(now + offset, fmt)

    filled = _PLACEHOLDER.sub(replace, template)
    leftover = _ANY_PLACEHOLDER.search(filled)
    if leftover:
        raise DemoDataError(
            f"malformed date placeholder {leftover.group(0)!r}: "
            "expected {{published:-3h}} or {{updated:-1d2h30m}}"
        )
    return filled


def render_demo_feeds(now: datetime) -> dict[str, bytes]:
    """Every bundled feed, keyed by its path, with its dates filled in relative to ``now``."""
    rendered: dict[str, bytes] = {}
    for feed in demo_feeds():
        template = _feeds_dir().joinpath(feed.path).read_text(encoding="utf-8")
        try:
            text = fill_dates(template, fmt=feed.format, now=now)
        except DemoDataError as exc:
            raise DemoDataError(f"bot/demo/feeds/{feed.path}: {exc}") from exc
        rendered[feed.path] = text.encode("utf-8")
    return rendered
