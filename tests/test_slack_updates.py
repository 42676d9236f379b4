"""Slack with a bot token against the stand-in's Web API (SQLite and PostgreSQL): each story's
message ts is stored, and a posted story that gains outlets is replied to in its thread or edited
in place (``on_update``), and is then not repeated by the next digest; with ``on_update = "none"``
it comes back in the next digest marked updated."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from sqlalchemy import select
from support.digests import PERIOD_END, Clock, StoryStore, service_settings, slack_channel_toml
from support.slack_stand_in import Received, SlackStandIn

from bot.model import StoryFacts
from bot.storage.database import Database
from bot.storage.models import DigestRow, DigestStoryRow
from bot.worker.digests import DigestService


def make_service(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path, on_update: str, clock: Clock
) -> DigestService:
    channel = slack_channel_toml(
        "desk", api_url=slack.api_url, on_update=on_update, extra="max_stories = 40"
    )
    settings = service_settings(db_url, tmp_path, channel)
    return DigestService(settings, db, clock=clock, sleep=clock.sleep)


def ts_of_story(slack: SlackStandIn, story_id: int) -> str | None:
    """The ts of the posted (top-level) message whose blocks show the story."""
    for item in slack.received:
        if item.kind != "chat.postMessage" or item.thread_ts:
            continue
        if any(b.get("block_id") == f"story-{story_id}" for b in item.payload.get("blocks", [])):
            return item.ts
    return None


def stored_refs(db: Database) -> dict[int, str | None]:
    with db.session() as session:
        rows = session.execute(
            select(DigestStoryRow.story_id, DigestStoryRow.message_ref)
            .join(DigestRow, DigestRow.id == DigestStoryRow.digest_id)
            .where(DigestRow.kind == "manual")
        )
        return {int(story_id): ref for story_id, ref in rows}


def post_digest(svc: DigestService) -> list[int]:
    result = asyncio.run(svc.run("desk", kind="manual"))
    assert result.status == "sent", result.error
    return [s.story_id for s in result.digest.stories] if result.digest else []


def test_story_ts_is_stored_per_message_when_a_digest_is_split(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    clock = Clock(PERIOD_END)
    store = StoryStore(db, clock.now)
    svc = make_service(db, db_url, slack, tmp_path, "thread", clock)
    ids = [store.add(f"Deal number {n} for GPU capacity", ["A", "B"]) for n in range(20)]
    assert sorted(post_digest(svc)) == sorted(ids)
    top_level = [r for r in slack.received if r.kind == "chat.postMessage"]
    assert len(top_level) >= 2  # 20 stories need more than 50 blocks
    refs = stored_refs(db)
    assert set(refs) == set(ids)
    assert {story_id: ts_of_story(slack, story_id) for story_id in ids} == refs
    assert len(set(refs.values())) == len(top_level)


def test_thread_reply_when_a_posted_story_gains_outlets_and_no_repeat_in_next_digest(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    clock = Clock(PERIOD_END)
    store = StoryStore(db, clock.now)
    svc = make_service(db, db_url, slack, tmp_path, "thread", clock)
    deal = store.add("Oracle leases 1 GW to OpenAI", ["Reuters"], facts=StoryFacts(power_mw=1000))
    other = store.add("Lambda rents H200 cluster", ["DCD"])
    post_digest(svc)
    parent = ts_of_story(slack, deal)
    assert parent is not None

    clock.advance(600)
    store.add_outlet(deal, "Bloomberg", at=clock.now)
    store.add_outlet(deal, "The Information", at=clock.now)
    report = asyncio.run(svc.after_poll())
    assert report.updates == {"desk": [deal]} and report.breaking == {}
    replies = [r for r in slack.received if r.thread_ts]
    assert len(replies) == 1 and replies[0].thread_ts == parent
    reply = json.dumps(replies[0].payload)
    assert "now reported by 3 outlets" in reply and "Bloomberg" in reply
    assert not slack.violations

    # the update was posted where the story lives: the next digest has nothing to add
    assert asyncio.run(svc.run("desk", kind="manual")).status == "empty"
    assert asyncio.run(svc.after_poll()).updates == {}
    # a further outlet: another reply in the same thread, not a new top-level post
    clock.advance(600)
    store.add_outlet(deal, "Financial Times", at=clock.now)
    assert asyncio.run(svc.run("desk", kind="manual")).status == "empty"
    replies = [r for r in slack.received if r.thread_ts]
    assert [r.thread_ts for r in replies] == [parent, parent]
    assert "now reported by 4 outlets" in json.dumps(replies[1].payload)
    assert len([r for r in slack.received if not r.thread_ts]) == 1
    assert other in stored_refs(db)


def test_edit_in_place_keeps_the_other_stories_and_accumulates_edits(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    clock = Clock(PERIOD_END)
    store = StoryStore(db, clock.now)
    svc = make_service(db, db_url, slack, tmp_path, "edit", clock)
    first = store.add("Oracle leases 1 GW to OpenAI", ["Reuters"])
    second = store.add("Lambda rents H200 cluster", ["DCD"])
    post_digest(svc)
    ts = ts_of_story(slack, first)
    assert ts is not None and ts_of_story(slack, second) == ts

    clock.advance(600)
    store.add_outlet(first, "Bloomberg", at=clock.now)
    asyncio.run(svc.after_poll())
    clock.advance(600)
    store.set_facts(second, StoryFacts(amount_usd=2.5e9), at=clock.now)  # a new fact
    asyncio.run(svc.after_poll())

    edits = [r for r in slack.received if r.kind == "chat.update"]
    assert [e.ts for e in edits] == [ts, ts]

    def section(edit: Received, story_id: int) -> str:
        block = next(b for b in edit.payload["blocks"] if b.get("block_id") == f"story-{story_id}")
        return str(block["text"]["text"])

    assert "Updated" in section(edits[0], first) and "Updated" not in section(edits[0], second)
    # the second edit starts from the first: both stories show their latest state
    assert "Updated" in section(edits[1], first) and "Bloomberg" in json.dumps(edits[1].payload)
    assert "Updated" in section(edits[1], second) and "$2.5B" in section(edits[1], second)
    assert len([r for r in slack.received if r.kind == "chat.postMessage"]) == 1
    assert asyncio.run(svc.run("desk", kind="manual")).status == "empty"


def test_on_update_none_brings_the_story_back_in_the_next_digest(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    clock = Clock(PERIOD_END)
    store = StoryStore(db, clock.now)
    svc = make_service(db, db_url, slack, tmp_path, "none", clock)
    deal = store.add("Oracle leases 1 GW to OpenAI", ["Reuters"])
    post_digest(svc)
    clock.advance(600)
    store.add_outlet(deal, "Bloomberg", at=clock.now)
    assert asyncio.run(svc.after_poll()).updates == {}
    assert not [r for r in slack.received if r.thread_ts or r.kind == "chat.update"]
    result = asyncio.run(svc.run("desk", kind="manual"))
    assert result.status == "sent" and result.digest is not None
    assert [(s.story_id, s.updated) for s in result.digest.stories] == [(deal, True)]


def test_a_failed_edit_is_reported_and_the_story_returns_in_the_digest(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    clock = Clock(PERIOD_END)
    store = StoryStore(db, clock.now)
    svc = make_service(db, db_url, slack, tmp_path, "edit", clock)
    deal = store.add("Oracle leases 1 GW to OpenAI", ["Reuters"])
    post_digest(svc)
    clock.advance(600)
    store.add_outlet(deal, "Bloomberg", at=clock.now)
    slack.fail_next(1, status=200, error="message_not_found")  # deleted by a user meanwhile
    report = asyncio.run(svc.after_poll())
    assert [status for _, status, _ in report.delivered] == ["failed"]
    result = asyncio.run(svc.run("desk", kind="manual"))
    assert result.status == "sent" and result.digest is not None
    assert [(s.story_id, s.updated) for s in result.digest.stories] == [(deal, True)]
