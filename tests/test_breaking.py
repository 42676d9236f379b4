"""Breaking mode on SQLite and PostgreSQL: after a poll, a story reaching the channel's outlet and
score thresholds is posted at once and alone, once per story and channel, and the next scheduled
digest does not repeat it (unless it is materially updated later)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import select
from support.digests import PERIOD_END, Clock, StoryStore, service_settings, slack_channel_toml
from support.slack_stand_in import SlackStandIn

from bot.storage.database import Database
from bot.storage.models import DigestRow
from bot.worker.digests import DigestService

BREAKING = "breaking_min_sources = 3\nbreaking_min_score = 6.0"


def test_a_story_crossing_the_threshold_is_posted_once_and_not_repeated(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    clock = Clock(PERIOD_END)
    store = StoryStore(db, clock.now)
    channels = slack_channel_toml("desk", webhook_url=slack.webhook_url, extra=BREAKING)
    channels += slack_channel_toml("quiet", webhook_url=slack.webhook_url)  # no breaking mode
    settings = service_settings(db_url, tmp_path, channels)
    svc = DigestService(settings, db, clock=clock, sleep=clock.sleep)
    big = store.add("xAI sells Colossus 1 to Anthropic", ["Reuters", "Bloomberg"], score=8.0)
    minor = store.add("Small GPU lease in Oslo", ["A", "B", "C", "D"], score=3.0)  # low score
    slow = store.add("Lambda rents H200 cluster", ["DCD"], score=9.0)  # one outlet

    assert asyncio.run(svc.after_poll()).breaking == {}  # two outlets: not yet
    clock.advance(300)
    store.add_outlet(big, "Financial Times", at=clock.now)
    report = asyncio.run(svc.after_poll())
    assert report.breaking == {"desk": [big]}
    assert [status for _, status, _ in report.delivered] == ["sent"]
    assert len(slack.messages) == 1
    posted = json.dumps(slack.messages[0])
    assert "Breaking" in posted and "Colossus 1" in posted and "Oslo" not in posted

    # once per story: more polls (and another outlet) post nothing more as breaking
    clock.advance(300)
    assert asyncio.run(svc.after_poll()).breaking == {}
    store.add_outlet(big, "The Information", at=clock.now)
    assert asyncio.run(svc.after_poll()).breaking == {}
    assert len(slack.messages) == 1

    # the scheduled digest carries the others; the breaking story returns only as an update
    # (it gained an outlet since it was posted), marked so
    result = asyncio.run(svc.run("desk", period_key="scheduled:2026-05-15T08:00:00+00:00"))
    assert result.digest is not None
    stories = {s.story_id: s.updated for s in result.digest.stories}
    assert stories == {big: True, minor: False, slow: False}
    with db.session() as session:
        rows = session.scalars(select(DigestRow).order_by(DigestRow.id))
        kinds = [(d.kind, d.period_key) for d in rows]
    assert kinds[0] == ("breaking", f"breaking:{big}")
    # a digest period opened after the breaking post still starts at the last digest, not at it
    assert result.digest.period_start is None

    # the channel without breaking mode never got a breaking post
    quiet = asyncio.run(svc.run("quiet", kind="manual"))
    assert quiet.digest is not None and {s.story_id for s in quiet.digest.stories} == {
        big,
        minor,
        slow,
    }
    assert not slack.violations


def test_breaking_story_is_not_repeated_as_new_in_the_next_digest(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    clock = Clock(PERIOD_END)
    store = StoryStore(db, clock.now)
    settings = service_settings(
        db_url,
        tmp_path,
        slack_channel_toml("desk", webhook_url=slack.webhook_url, extra=BREAKING),
    )
    svc = DigestService(settings, db, clock=clock, sleep=clock.sleep)
    big = store.add("Oracle leases 1 GW to OpenAI", ["A", "B", "C"], score=7.0)
    assert asyncio.run(svc.after_poll()).breaking == {"desk": [big]}
    clock.advance(3600)
    result = asyncio.run(svc.run("desk", period_key="scheduled:2026-05-15T08:00:00+00:00"))
    assert result.status == "empty"
    assert len(slack.messages) == 1


def test_a_story_already_in_a_digest_is_not_breaking_news(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    clock = Clock(PERIOD_END)
    store = StoryStore(db, clock.now)
    settings = service_settings(
        db_url,
        tmp_path,
        slack_channel_toml("desk", webhook_url=slack.webhook_url, extra=BREAKING),
    )
    svc = DigestService(settings, db, clock=clock, sleep=clock.sleep)
    deal = store.add("Oracle leases 1 GW to OpenAI", ["A", "B"], score=7.0)
    assert asyncio.run(svc.run("desk", kind="manual")).status == "sent"
    clock.advance(300)
    store.add_outlet(deal, "C", at=clock.now)
    assert asyncio.run(svc.after_poll()).breaking == {}
    assert len(slack.messages) == 1
