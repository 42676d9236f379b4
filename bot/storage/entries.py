"""Entry rows: idempotent storing of normalised entries and reading the ones still to process.

Storing is split so that the costly part can run elsewhere: `known_entries` reads what a feed
already has, `plan_entries` (pure) decides what to insert and update and can match new entries
on the way, `write_entries` writes the plan with bulk statements.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast
from urllib.parse import urlsplit

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from bot.model import Entry as EntryData
from bot.model.match import MatchItem
from bot.storage.models import Entry, Feed


@dataclass(frozen=True, slots=True)
class StoreReport:
    new: int
    updated: int
    unchanged: int
    relevant: int = 0  # of the new entries, those already matched relevant


ENTRIES = cast(Table, Entry.__table__)

# The stored identity and content hash of each of a feed's entries, by identity.
KnownEntries = dict[str, tuple[int, str]]
# Relevance columns (score, relevant, match_hits) of a new entry, from the matcher.
Scorer = Callable[[EntryData, str], dict[str, Any]]


@dataclass(slots=True)
class EntryPlan:
    """The rows that storing one feed's entries writes: plain column values, no ORM objects,
    so a plan can be computed in another process and written with two bulk statements."""

    inserts: list[dict[str, Any]] = field(default_factory=list)
    updates: list[dict[str, Any]] = field(default_factory=list)
    unchanged: int = 0
    relevant: int = 0


def content_hash(entry: EntryData) -> str:
    digest = hashlib.sha256()
    for part in (entry.title, entry.summary, entry.text, entry.link or ""):
        digest.update(part.encode("utf-8", "replace"))
        digest.update(b"\x00")
    return digest.hexdigest()


def outlet_name(feed: Feed, entry_source: str | None, link: str | None) -> str:
    """The outlet to credit: the entry's source, the feed's name or title, else the host."""
    return credited_outlet(feed.url, feed.name, feed.title, entry_source, link)


def credited_outlet(
    feed_url: str,
    feed_name: str | None,
    feed_title: str | None,
    entry_source: str | None,
    link: str | None,
) -> str:
    for candidate in (entry_source, feed_name, feed_title):
        if candidate and candidate.strip():
            return candidate.strip()
    host = urlsplit(link or feed_url).hostname or feed_url
    return host.removeprefix("www.")


def known_entries(session: Session, feed_ids: Iterable[int]) -> dict[int, KnownEntries]:
    """The stored identities and content hashes of the entries of `feed_ids`, per feed."""
    known: dict[int, KnownEntries] = {}
    ids = sorted(set(feed_ids))
    for start in range(0, len(ids), 500):
        for feed_id, row_id, identity, digest in session.execute(
            select(Entry.feed_id, Entry.id, Entry.identity, Entry.content_hash).where(
                Entry.feed_id.in_(ids[start : start + 500])
            )
        ):
            known.setdefault(feed_id, {})[identity] = (row_id, digest)
    return known


def plan_entries(
    *,
    feed_id: int,
    feed_url: str,
    feed_name: str | None,
    feed_title: str | None,
    entries: list[EntryData],
    known: KnownEntries,
    now: datetime,
    scorer: Scorer | None = None,
) -> EntryPlan:
    """What storing `entries` writes: new ones inserted, changed ones (same identity, other
    content) updated in place, the rest left alone. Pure: no database access.

    An update keeps the row (and its story membership): a retitled item is the same item. With
    a `scorer` new entries are stored already matched: irrelevant ones done (`processed_at`),
    relevant ones queued for clustering with their score; without one the processor matches them.
    """
    plan = EntryPlan()
    seen: set[str] = set()
    for entry in entries:
        identity = entry.identity[:512]
        if identity in seen:  # a feed listing one item twice
            continue
        seen.add(identity)
        digest = content_hash(entry)
        stored = known.get(identity)
        if stored is None:
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
    return plan


def write_entries(session: Session, plan: EntryPlan) -> StoreReport:
    """Write a plan with one INSERT and one UPDATE (executemany) in the session's transaction.

    Core statements, not the ORM's bulk path: a cold cycle stores tens of thousands of entries
    and the ORM's per-row bookkeeping cost several times the database's own work.
    """
    if plan.inserts:
        session.execute(insert(ENTRIES), plan.inserts)
    if plan.updates:
        session.execute(update(ENTRIES).where(ENTRIES.c.id == bindparam("row_id")), plan.updates)
    return StoreReport(
        new=len(plan.inserts),
        updated=len(plan.updates),
        unchanged=plan.unchanged,
        relevant=plan.relevant,
    )


def store_entries(
    session: Session, feed: Feed, entries: list[EntryData], now: datetime
) -> StoreReport:
    """Insert new entries, update changed ones (same feed + identity), leave the rest alone."""
    known = known_entries(session, [feed.id]).get(feed.id, {})
    plan = plan_entries(
        feed_id=feed.id,
        feed_url=feed.url,
        feed_name=feed.name,
        feed_title=feed.title,
        entries=entries,
        known=known,
        now=now,
    )
    return write_entries(session, plan)


def stored_match_item(entry: Any) -> MatchItem:
    """What the rules read of a stored entry: an `Entry` row, or a row of its columns."""
    return MatchItem(
        title=entry.title,
        summary=entry.summary,
        text=entry.text,
        source=entry.source_name,
        url=entry.url,
        author=entry.author,
        categories=list(entry.categories or []),
    )
