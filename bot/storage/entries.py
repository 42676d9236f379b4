"""Entry rows: idempotent storing of normalised entries and reading the ones still to process."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from bot.model import Entry as EntryData
from bot.storage.models import Entry, Feed


@dataclass(frozen=True, slots=True)
class StoreReport:
    new: int
    updated: int
    unchanged: int


def content_hash(entry: EntryData) -> str:
    digest = hashlib.sha256()
    for part in (entry.title, entry.summary, entry.text, entry.link or ""):
        digest.update(part.encode("utf-8", "replace"))
        digest.update(b"\x00")
    return digest.hexdigest()


def outlet_name(feed: Feed, entry_source: str | None, link: str | None) -> str:
    """The outlet to credit: the entry's source, the feed's name or title, else the host."""
    for candidate in (entry_source, feed.name, feed.title):
        if candidate and candidate.strip():
            return candidate.strip()
    host = urlsplit(link or feed.url).hostname or feed.url
    return host.removeprefix("www.")


def store_entries(
    session: Session, feed: Feed, entries: list[EntryData], now: datetime
) -> StoreReport:
    """Insert new entries, update changed ones (same feed + identity), leave the rest alone.

    An update keeps the row (and its story membership): a retitled item is the same item.
    Rows are written with bulk statements (one INSERT and one UPDATE per call), not one ORM
    object per entry: a cold cycle stores tens of thousands of entries.
    """
    identities = [entry.identity[:512] for entry in entries]
    existing: dict[str, tuple[int, str]] = {
        identity: (row_id, digest)
        for row_id, identity, digest in session.execute(
            select(Entry.id, Entry.identity, Entry.content_hash).where(
                Entry.feed_id == feed.id, Entry.identity.in_(identities)
            )
        )
    }
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    unchanged = 0
    seen: set[str] = set()
    for identity, entry in zip(identities, entries, strict=True):
        if identity in seen:  # a feed listing one item twice
            continue
        seen.add(identity)
        digest = content_hash(entry)
        stored = existing.get(identity)
        if stored is None:
            inserts.append(
                {
                    "feed_id": feed.id,
                    "identity": identity,
                    "guid": entry.guid,
                    "url": entry.link,
                    "title": entry.title,
                    "summary": entry.summary,
                    "text": entry.text,
                    "author": entry.author,
                    "categories": list(entry.categories),
                    "source_name": outlet_name(feed, entry.source, entry.link),
                    "published_at": entry.published or now,
                    "updated_at": entry.updated,
                    "first_seen_at": now,
                    "content_hash": digest,
                }
            )
        elif stored[1] != digest:
            updates.append(
                {
                    "id": stored[0],
                    "title": entry.title,
                    "summary": entry.summary,
                    "text": entry.text,
                    "url": entry.link,
                    "updated_at": entry.updated or now,
                    "content_hash": digest,
                }
            )
        else:
            unchanged += 1
    if inserts:
        session.execute(insert(Entry), inserts)
    if updates:
        session.execute(update(Entry), updates)
    return StoreReport(new=len(inserts), updated=len(updates), unchanged=unchanged)


def pending_entries(session: Session, limit: int) -> list[Entry]:
    """Entries stored but not yet matched and clustered, oldest publication first."""
    return list(
        session.scalars(
            select(Entry)
            .where(Entry.processed_at.is_(None))
            .order_by(Entry.published_at, Entry.id)
            .limit(limit)
        )
    )
