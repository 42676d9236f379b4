"""Keeping the deal ledger up to date: derive the records of stories that changed, store them.

Runs after each of a daemon's processing passes (a story that gained reports gets its record
re-derived and a new revision when it changed) and before the ledger is read (`newsbot deals`,
weekly digests, the demo), so a record is never older than its story. A one-shot `newsbot poll`
leaves it to the next reader: deriving was a tenth of a cold cycle of 1,000 feeds, on one core
after clustering, for records that poll never shows. Each batch is one transaction: a crash loses
at most the batch, which the next call derives again (a stale record is found by its story's time).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.ledger import DERIVATION_VERSION, DealRecord, LedgerReport, derive_deal, is_deal
from bot.ledger.summary import summarise
from bot.model.deal import LedgerSummary
from bot.storage.database import Database
from bot.storage.deals import (
    deal_records,
    deals_of,
    save_deal,
    stale_deal_stories,
)
from bot.storage.models import StoryRow


def story_reports(story: StoryRow) -> list[LedgerReport]:
    """A story's member reports in the order they joined it (the order its facts read)."""
    members = sorted(story.members, key=lambda m: (m.joined_at, m.id))
    return [
        LedgerReport(
            outlet=m.entry.source_name or "unknown",
            link=m.entry.url,
            title=m.entry.title,
            summary=m.entry.summary,
            text=m.entry.text,
            published=m.entry.published_at,
        )
        for m in members
    ]


def refresh_deals(db: Database, now: datetime) -> int:
    """Derive and store the records of every story changed since its record; how many
    records were new or changed. Batches are bounded (`stale_deal_stories`), each one
    transaction, and each goes on after the last story of the one before."""
    changed = 0
    after: tuple[datetime, int] | None = None
    while True:
        with db.session() as session:
            stories = stale_deal_stories(session, DERIVATION_VERSION, after=after)
            if not stories:
                return changed
            rows = deals_of(session, [story.id for story in stories])
            for story in stories:
                record = derive_deal(story.id, story.headline, story_reports(story))
                changed += save_deal(
                    session,
                    story,
                    rows.get(story.id),
                    record.to_json(),
                    is_deal=is_deal(record),
                    kind=record.kind,
                    first_reported_at=record.first_reported,
                    derived_by=DERIVATION_VERSION,
                    now=now,
                )
            after = (stories[-1].last_updated_at, stories[-1].id)


# The span of a weekly ledger.
LEDGER_WEEK = timedelta(days=7)


def ledger_due(period_start: datetime | None, period_end: datetime, timezone: str) -> bool:
    """Whether a weekly ledger opens the digest ending at `period_end`: the channel's first
    digest, or the first of a new week (ISO weeks, in the channel's time zone)."""
    if period_start is None:
        return True
    zone = ZoneInfo(timezone)
    start = period_start.astimezone(zone).isocalendar()
    end = period_end.astimezone(zone).isocalendar()
    return (start.year, start.week) != (end.year, end.week)


def weekly_ledger(db: Database, now: datetime) -> LedgerSummary:
    """The ledger of the seven days before `now`: deals first reported then, summed."""
    refresh_deals(db, now)
    start = now - LEDGER_WEEK
    with db.session() as session:
        rows = deal_records(session, since=start, until=now)
    return summarise([DealRecord.from_json(row) for row in rows], start, now)
