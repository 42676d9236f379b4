"""Entry rows: idempotent storing of normalised entries, reading the ones still to process, and
the publication times of a feed's latest ones (its publishing rhythm).

Storing is split so that the costly part can run elsewhere: `known_entries` reads what a feed
already has, `plan_entries` (pure) decides what to insert and update and can match new entries
on the way, `write_entries` writes the plan with bulk statements.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.engine import Row
from sqlalchemy.orm import Session, selectinload

from bot.model import Entry
from bot.model.match import MatchItem
from bot.storage.models import EntryRow, ExpiredEntryRow, FeedRow
from bot.storage.plan import (
    EXPIRED,
    LINK_PREFIX,
    EntryPlan,
    KnownEntries,
    credited_outlet,
    plan_entries,
)


@dataclass(frozen=True, slots=True)
class StoreStats:
    new: int
    updated: int
    unchanged: int
    relevant: int = 0  # of the new entries, those already matched relevant


ENTRIES = cast(Table, EntryRow.__table__)


def outlet_name(feed: FeedRow, entry_source: str | None, link: str | None) -> str:
    """The outlet to credit: the entry's source, the feed's name or title, else the host."""
    return credited_outlet(feed.url, feed.name, feed.title, entry_source, link)


def known_entries(session: Session, feed_ids: Iterable[int]) -> dict[int, KnownEntries]:
    """The stored identities and content hashes of the entries of `feed_ids`, per feed.

    An entry stored under its GUID is also known under its link (as `link:<url>`) where no
    other entry of its feed has that link: a feed that gives an item a new GUID on every
    request is then recognised by the link (see `plan_entries`). An entry retention deleted
    while its feed still listed it is known as EXPIRED."""
    known: dict[int, KnownEntries] = {}
    by_link: dict[int, dict[str, list[tuple[int, str] | None]]] = {}
    ids = sorted(set(feed_ids))
    for start in range(0, len(ids), 500):
        for feed_id, row_id, identity, digest, url in session.execute(
            select(
                EntryRow.feed_id,
                EntryRow.id,
                EntryRow.identity,
                EntryRow.content_hash,
                EntryRow.url,
            ).where(EntryRow.feed_id.in_(ids[start : start + 500]))
        ):
            known.setdefault(feed_id, {})[identity] = (row_id, digest)
            if url:  # None marks a row of that link stored under another kind of identity
                stored_by_guid = identity.startswith("guid:")
                by_link.setdefault(feed_id, {}).setdefault(url, []).append(
                    (row_id, digest) if stored_by_guid else None
                )
    for feed_id, links in by_link.items():
        feed_known = known[feed_id]
        for url, rows in links.items():
            alias = f"{LINK_PREFIX}{url}"
            if len(rows) == 1 and rows[0] is not None and alias not in feed_known:
                feed_known[alias] = rows[0]
    for start in range(0, len(ids), 500):
        for feed_id, identity in session.execute(
            select(ExpiredEntryRow.feed_id, ExpiredEntryRow.identity).where(
                ExpiredEntryRow.feed_id.in_(ids[start : start + 500])
            )
        ):
            known.setdefault(feed_id, {}).setdefault(identity, EXPIRED)
    return known


def note_expired_listed(
    session: Session, feed_id: int, identities: list[str], now: datetime
) -> None:
    """The feed still lists these expired entries: remember them a while longer (housekeeping
    forgets an expired entry once its feed stopped listing it, `forget_unlisted_expired`)."""
    for start in range(0, len(identities), 500):
        session.execute(
            update(ExpiredEntryRow)
            .where(
                ExpiredEntryRow.feed_id == feed_id,
                ExpiredEntryRow.identity.in_(identities[start : start + 500]),
            )
            .values(last_listed_at=now)
            .execution_options(synchronize_session=False)
        )


@functools.cache
def _sqlite_insert(columns: tuple[str, ...]) -> str:
    """An INSERT of these entry columns in SQLite's own named-parameter syntax."""
    names = [ENTRIES.c[column].name for column in columns]  # a KeyError for any other name
    return (
        f"INSERT INTO {ENTRIES.name} ({', '.join(names)}) "
        f"VALUES ({', '.join(f':{name}' for name in names)})"
    )


def write_entries(session: Session, plan: EntryPlan) -> StoreStats:
    """Write a plan with one INSERT and one UPDATE (executemany) in the session's transaction.

    Core statements, not the ORM's bulk path: a cold cycle stores tens of thousands of entries
    and the ORM's per-row bookkeeping cost several times the database's own work. New rows
    prepared for SQLite where they were planned (`prepare_for_sqlite`) go to the driver's
    executemany as they are.
    """
    if plan.inserts and plan.sqlite_form:
        if session.get_bind().dialect.name != "sqlite":
            raise ValueError(
                "an entry plan prepared for SQLite cannot be written to another database"
            )
        # The values are SQLite's already (prepare_for_sqlite): the driver binds them as they
        # are, without SQLAlchemy's per-row type processing.
        session.connection().exec_driver_sql(_sqlite_insert(tuple(plan.inserts[0])), plan.inserts)
    elif plan.inserts:
        session.execute(insert(ENTRIES), plan.inserts)
    if plan.updates:
        session.execute(update(ENTRIES).where(ENTRIES.c.id == bindparam("row_id")), plan.updates)
    return StoreStats(
        new=len(plan.inserts),
        updated=len(plan.updates),
        unchanged=plan.unchanged,
        relevant=plan.relevant,
    )


def store_entries(
    session: Session, feed: FeedRow, entries: list[Entry], now: datetime
) -> StoreStats:
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
    """What the rules read of a stored entry: an `EntryRow`, or a row of its columns."""
    return MatchItem(
        title=entry.title,
        summary=entry.summary,
        text=entry.text,
        source=entry.source_name,
        url=entry.url,
        author=entry.author,
        categories=list(entry.categories or []),
    )


@dataclass(frozen=True, slots=True)
class EntryVerdict:
    """What matching made of one stored entry: `relevant` is None until it is matched."""

    guid: str | None
    link: str | None
    relevant: bool | None


def entry_verdicts(session: Session) -> list[EntryVerdict]:
    """Every stored entry's GUID, link and relevance, in the order they were stored."""
    rows = session.execute(
        select(EntryRow.guid, EntryRow.url, EntryRow.relevant).order_by(EntryRow.id)
    )
    return [EntryVerdict(guid, link, relevant) for guid, link, relevant in rows]


def has_unprocessed(session: Session) -> bool:
    """Whether any stored entry still waits for matching and clustering."""
    return (
        session.scalars(select(EntryRow.id).where(EntryRow.processed_at.is_(None)).limit(1)).first()
        is not None
    )


def unmatched_entries(session: Session, limit: int) -> Sequence[Row[Any]]:
    """Up to `limit` entries not matched yet, in publication order, as plain columns (what
    :func:`stored_match_item` reads)."""
    return session.execute(
        select(
            EntryRow.id,
            EntryRow.title,
            EntryRow.summary,
            EntryRow.text,
            EntryRow.source_name,
            EntryRow.url,
            EntryRow.author,
            EntryRow.categories,
        )
        .where(EntryRow.processed_at.is_(None), EntryRow.relevant.is_(None))
        .order_by(EntryRow.published_at, EntryRow.id)
        .limit(limit)
    ).all()


def write_matches(session: Session, matched: list[dict[str, Any]]) -> None:
    """Store match results: one bulk UPDATE by primary key (each dict holds `id` and the
    columns to set)."""
    session.execute(update(EntryRow), matched)


def unclustered_entries(session: Session, limit: int) -> list[EntryRow]:
    """Up to `limit` relevant entries waiting to be clustered, in publication order, with
    their story membership loaded."""
    return list(
        session.scalars(
            select(EntryRow)
            .where(EntryRow.processed_at.is_(None), EntryRow.relevant.is_(True))
            # Ties in publication time (feeds date to the minute) are broken by the entry's
            # identity (its GUID or link), not by the feed or by which fetch stored it first:
            # the same entries make the same stories whether they come in one poll or
            # several, from one feed or many (newsbot cluster).
            .order_by(EntryRow.published_at, EntryRow.identity, EntryRow.id)
            .limit(limit)
            .options(selectinload(EntryRow.membership))
        )
    )


def mark_processed(session: Session, entry_ids: list[int], now: datetime) -> None:
    """Take entries off the processing queue, in one statement (not an UPDATE per entry at
    the flush)."""
    session.execute(
        update(EntryRow).where(EntryRow.id.in_(entry_ids)).values(processed_at=now),
        execution_options={"synchronize_session": False},
    )


def recent_entry_times(
    session: Session, feed_ids: list[int], now: datetime, per_feed: int
) -> dict[int, list[datetime]]:
    """The publication times of the latest `per_feed` stored entries of each feed, none later
    than `now` (its publishing rhythm), read with one query for a whole batch of feeds."""
    if not feed_ids:
        return {}
    rank = (
        func.row_number()
        .over(partition_by=EntryRow.feed_id, order_by=EntryRow.published_at.desc())
        .label("rank")
    )
    ranked = (
        select(EntryRow.feed_id, EntryRow.published_at, rank)
        .where(EntryRow.feed_id.in_(feed_ids), EntryRow.published_at <= now)
        .subquery()
    )
    times: dict[int, list[datetime]] = defaultdict(list)
    for feed_id, published in session.execute(
        select(ranked.c.feed_id, ranked.c.published_at).where(ranked.c.rank <= per_feed)
    ):
        times[feed_id].append(published)
    return times
