"""Planning entry rows: which of a feed's parsed entries to insert, update or leave alone.

Pure (no database access, no SQLAlchemy), so that parser processes can plan rows without
importing the database layer (a quarter of a second per process); :mod:`bot.storage.entries`
writes the plans.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from bot.model import Entry
from bot.model.entry import OUTLET_MAX

# The stored row id and content hash of each of a feed's entries, by identity (and, for an
# entry stored under its GUID, also by `link:<its link>` where that link is its alone). An
# entry retention deleted is known as EXPIRED: the feed still lists it, it is not news again.
KnownEntries = dict[str, tuple[int, str]]
LINK_PREFIX = "link:"
EXPIRED = (-1, "")
# Relevance columns (score, relevant, match_hits) of a new entry, from the matcher.
Scorer = Callable[[Entry, str], dict[str, Any]]

# How SQLite holds the columns of a new entry row that Python cannot bind as they are, as
# SQLAlchemy's types write them (`UTCDateTime` on SQLite's DATETIME: naive UTC, microseconds
# always written; JSON: `json.dumps`, None as the JSON null). tests/test_entry_rows.py holds
# the two to the same stored rows.
SQLITE_DATETIME_COLUMNS = ("published_at", "updated_at", "first_seen_at", "processed_at")
SQLITE_JSON_COLUMNS = ("categories", "match_hits")


@dataclass(slots=True)
class EntryPlan:
    """The rows that storing one feed's entries writes: plain column values, no ORM objects,
    so a plan can be computed in another process and written with two bulk statements."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    relevant: int = 0
    # Items of the document not stored, by reason: listed twice in it, or stored once and
    # deleted by retention since (`expired`, their identities in `expired_listed`). Items older
    # than the retention window never reach the plan; the parser counts them (`too_old`),
    # and those it kept anyway on the feed's first poll (`backfilled`, among the inserts).
    duplicate: int = 0
    expired: int = 0
    expired_listed: list[str] = field(default_factory=list)
    too_old: int = 0
    backfilled: int = 0
    # New items beyond the per-poll cap (`max_new` of plan_entries): the oldest are skipped.
    over_limit: int = 0
    # `inserts` hold SQLite's stored form (prepare_for_sqlite), not Python values.
    sqlite_form: bool = False

    def counts(self) -> dict[str, int]:
        """What the document gave, as stored on the feed and shown by `newsbot feeds`."""
        return {
            "new": len(self.inserts),
            "updated": len(self.updates),
            "unchanged": self.unchanged,
            "too_old": self.too_old,
            "duplicate": self.duplicate,
            "expired": self.expired,
            "backfilled": self.backfilled,
            "over_limit": self.over_limit,
        }

    @property
    def skipped(self) -> int:
        return self.too_old + self.duplicate + self.expired + self.over_limit


def content_hash(entry: Entry) -> str:
    digest = hashlib.sha256()
    for part in (entry.title, entry.summary, entry.text, entry.link or ""):
        digest.update(part.encode("utf-8", "replace"))
        digest.update(b"\x00")
    return digest.hexdigest()


def credited_outlet(
    feed_url: str,
    feed_name: str | None,
    feed_title: str | None,
    entry_source: str | None,
    link: str | None,
) -> str:
    for candidate in (entry_source, feed_name, feed_title):
        if candidate and candidate.strip():
            return candidate.strip()[:OUTLET_MAX]
    host = urlsplit(link or feed_url).hostname or feed_url
    return host.removeprefix("www.")


def plan_entries(
    *,
    feed_id: int,
    feed_url: str,
    feed_name: str | None,
    feed_title: str | None,
    entries: list[Entry],
    known: KnownEntries,
    now: datetime,
    scorer: Scorer | None = None,
    max_new: int | None = None,
) -> EntryPlan:
    """What storing `entries` writes: new ones inserted, changed ones (same identity, other
    content) updated in place, the rest left alone. Pure: no database access.

    An update keeps the row (and its story membership): a retitled item is the same item. With
    a `scorer` new entries are stored already matched: irrelevant ones done (`processed_at`),
    relevant ones queued for clustering with their score; without one the story builder matches
    them.
    With `max_new`, at most that many new entries are inserted, the newest (undated ones count
    as published now); the older ones are skipped (`over_limit`) before anything is scored, so a
    feed listing a hundred thousand items costs one poll no more than `max_new` of them.
    """
    plan = EntryPlan()
    new: list[tuple[Entry, str, str]] = []  # (entry, identity, content hash)
    seen: set[str] = set()
    # A feed that gives an item a new GUID on every request: an entry whose GUID was never
    # stored is the stored entry with its link when it says word for word what that entry
    # says, the document no longer lists that entry under its own GUID, and no other entry of
    # the document has the link. A new item at a link an old one had (a daily briefing at one
    # address) says something else, and is a new entry.
    listed = {known[e.identity[:512]][0] for e in entries if e.identity[:512] in known}
    links = Counter(entry.link for entry in entries if entry.link)
    for entry in entries:
        identity = entry.identity[:512]
        if identity in seen:  # a feed listing one item twice
            plan.duplicate += 1
            continue
        seen.add(identity)
        stored = known.get(identity)
        if stored == EXPIRED:
            plan.expired += 1
            plan.expired_listed.append(identity)
            continue
        digest = content_hash(entry)
        if stored is None and identity.startswith("guid:") and entry.link:
            moved = known.get(f"{LINK_PREFIX}{entry.link}")
            if (
                moved is not None
                and moved[1] == digest
                and moved[0] not in listed
                and links[entry.link] == 1
            ):
                stored = moved
                listed.add(moved[0])
        if stored is None:
            new.append((entry, identity, digest))
        elif stored[1] != digest:
            plan.updates.append(
                {
                    "row_id": stored[0],
                    "title": entry.title,
                    "summary": entry.summary,
                    "text": entry.text,
                    "url": entry.link,
                    "updated_at": entry.updated or now,
                    "content_hash": digest,
                }
            )
        else:
            plan.unchanged += 1
    if max_new is not None and len(new) > max_new:
        # Newest first; a stable sort keeps the document's order among items of one time.
        ranked = sorted(range(len(new)), key=lambda i: new[i][0].published or now, reverse=True)
        kept = set(ranked[:max_new])
        plan.over_limit = len(new) - max_new
        new = [item for i, item in enumerate(new) if i in kept]
    for entry, identity, digest in new:
        source = credited_outlet(feed_url, feed_name, feed_title, entry.source, entry.link)
        row: dict[str, Any] = {
            "feed_id": feed_id,
            "identity": identity,
            "guid": entry.guid,
            "url": entry.link,
            "title": entry.title,
            "summary": entry.summary,
            "text": entry.text,
            "author": entry.author,
            "categories": list(entry.categories),
            "source_name": source,
            "published_at": entry.published or now,
            "updated_at": entry.updated,
            "first_seen_at": now,
            "content_hash": digest,
            "score": None,
            "relevant": None,
            "match_hits": None,
            "processed_at": None,
        }
        if scorer is not None:
            row.update(scorer(entry, source))
            if row["relevant"]:
                plan.relevant += 1
            else:
                row["processed_at"] = now
        plan.inserts.append(row)
    return plan


def as_utc(value: datetime) -> datetime:
    """A UTC column's value in UTC (`UTCDateTime` binds it so); a naive time is refused."""
    tzinfo = value.tzinfo
    if tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    # Values are nearly always UTC already (a cold poll cycle binds 200,000 of them).
    return value if tzinfo is UTC else value.astimezone(UTC)


def sqlite_datetime(value: datetime | None) -> str | None:
    """A UTC column's value as SQLite stores it: naive UTC, `YYYY-MM-DD HH:MM:SS.ffffff`."""
    if value is None:
        return None
    return as_utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")


def prepare_for_sqlite(plan: EntryPlan) -> None:
    """Turn `plan`'s new rows into the values SQLite stores, where the plan was made: a parser
    process, so that the process that writes them binds plain strings and numbers (a cold
    cycle of 1,000 feeds writes 50,000 rows, and SQLAlchemy's per-row binding of their dates
    and JSON cost its single writer seconds). Only for new rows: updates are few."""
    if plan.sqlite_form:
        return
    dumps = json.dumps
    for row in plan.inserts:
        for column in SQLITE_DATETIME_COLUMNS:
            row[column] = sqlite_datetime(row[column])
        for column in SQLITE_JSON_COLUMNS:
            row[column] = dumps(row[column])
    plan.sqlite_form = True
