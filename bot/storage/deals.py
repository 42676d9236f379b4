"""Deal rows: the ledger's records of stories and their history, as verbs.

Which stories need their deal record (re)derived (`stale_deal_stories`), keeping a derived
record and a revision when it changed (`save_deal`), and reading records back for `newsbot
deals` and the weekly ledger (`deal_records`). Deriving is `bot.ledger`'s; the worker puts the
two together (bot.worker.ledger).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, selectinload

from bot.storage.models import DealRevisionRow, DealRow, StoryMemberRow, StoryRow

# A call derives the records of at most this many stories and, beyond its first story, of at
# most this many member reports: every member's entry is loaded to derive a record, and a cold
# poll of thousands of feeds makes stories of hundreds of reports (one batch of 500 such stories
# held 60 MB more at the end of a cold cycle of 3,000 feeds). The worker calls until none is left.
STALE_BATCH = 500
STALE_MEMBERS = 1_000


def stale_deal_stories(
    session: Session,
    derived_by: int,
    limit: int = STALE_BATCH,
    *,
    after: tuple[datetime, int] | None = None,
    member_budget: int = STALE_MEMBERS,
) -> list[StoryRow]:
    """Stories with no deal record yet, changed since theirs was derived, or whose record an
    older derivation (`derived_by`) made, with their members' entries, oldest change first:
    at most `limit` of them, and beyond the first no more than `member_budget` members in all.
    `after` (a story's last change and id) continues where the previous batch ended."""
    members = (
        select(func.count(StoryMemberRow.id))
        .where(StoryMemberRow.story_id == StoryRow.id)
        .correlate(StoryRow)
        .scalar_subquery()
    )
    stale = (
        select(StoryRow.id, members)
        .outerjoin(DealRow, DealRow.story_id == StoryRow.id)
        .where(
            or_(
                DealRow.id.is_(None),
                StoryRow.last_updated_at > DealRow.story_updated_at,
                DealRow.member_count != members,
                DealRow.derived_by != derived_by,
            )
        )
        .order_by(StoryRow.last_updated_at, StoryRow.id)
        .limit(limit)
    )
    if after is not None:
        changed_at, story_id = after
        stale = stale.where(
            or_(
                StoryRow.last_updated_at > changed_at,
                and_(StoryRow.last_updated_at == changed_at, StoryRow.id > story_id),
            )
        )
    chosen: list[int] = []
    counted = 0
    for story_id, member_count in session.execute(stale):
        if chosen and counted + member_count > member_budget:
            break
        chosen.append(story_id)
        counted += member_count
    if not chosen:
        return []
    query = (
        select(StoryRow)
        .where(StoryRow.id.in_(chosen))
        .options(selectinload(StoryRow.members).selectinload(StoryMemberRow.entry))
        .order_by(StoryRow.last_updated_at, StoryRow.id)
    )
    return list(session.scalars(query))


def deals_of(session: Session, story_ids: Sequence[int]) -> dict[int, DealRow]:
    """The deal rows of these stories, by story id (stories without one are absent)."""
    rows = session.scalars(select(DealRow).where(DealRow.story_id.in_(list(story_ids))))
    return {deal.story_id: deal for deal in rows}


def save_deal(
    session: Session,
    story: StoryRow,
    deal: DealRow | None,
    record: dict[str, object],
    *,
    is_deal: bool,
    kind: str,
    first_reported_at: datetime | None,
    derived_by: int,
    now: datetime,
) -> bool:
    """Keep the deal record derived from `story` (its row `deal`, None for a new deal); a new
    revision when the record changed. Returns whether it did (a new deal, or a changed one).
    Nothing is flushed here: the rows go in with the batch's transaction."""
    if deal is not None and deal.record == record and deal.is_deal == is_deal:
        deal.story_updated_at = story.last_updated_at
        deal.member_count = len(story.members)
        deal.derived_by = derived_by
        return False
    if deal is None:
        deal = DealRow(story_id=story.id, revision=1, revisions=[])
        session.add(deal)
    else:
        deal.revision += 1
    deal.is_deal = is_deal
    deal.kind = kind
    deal.first_reported_at = first_reported_at
    deal.record = record
    deal.story_updated_at = story.last_updated_at
    deal.member_count = len(story.members)
    deal.derived_by = derived_by
    deal.updated_at = now
    session.add(
        DealRevisionRow(
            deal=deal,
            revision=deal.revision,
            record=record,
            source_count=story.source_count,
            recorded_at=now,
        )
    )
    return True


def deal_records(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    kinds: Sequence[str] = (),
) -> list[dict[str, object]]:
    """The stored records of stories that read as deals (JSON), first reported in
    [`since`, `until`) when given, of `kinds` when given, earliest first."""
    query = select(DealRow.record).where(DealRow.is_deal.is_(True))
    if since is not None:
        query = query.where(DealRow.first_reported_at >= since)
    if until is not None:
        query = query.where(DealRow.first_reported_at < until)
    if kinds:
        query = query.where(DealRow.kind.in_(list(kinds)))
    query = query.order_by(DealRow.first_reported_at, DealRow.story_id)
    return [dict(record) for record in session.scalars(query)]


def deal_history(session: Session, story_id: int) -> list[DealRevisionRow]:
    """Every revision of a story's deal record, oldest first."""
    return list(
        session.scalars(
            select(DealRevisionRow)
            .join(DealRow, DealRow.id == DealRevisionRow.deal_id)
            .where(DealRow.story_id == story_id)
            .order_by(DealRevisionRow.revision)
        )
    )
