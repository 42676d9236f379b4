"""The worker's digest composition on a real database (SQLite and PostgreSQL) delivered to the
Slack stand-in: new and materially updated stories, channel rules and thresholds, ranking, the
cap with "and K more", and the footer naming failing feeds."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

from sqlalchemy import select
from support.digests import (
    PERIOD_END,
    Clock,
    StoryStore,
    service_settings,
    slack_channel_toml,
)
from support.slack_stand_in import SlackStandIn
from support.smtp import smtp_server

from bot.config import Settings
from bot.model import StoryFacts
from bot.storage.database import Database
from bot.storage.models import EntryRow, StoryMemberRow, StoryRow
from bot.worker.digests import DigestService


def service(settings: Settings, db: Database, clock: Clock) -> DigestService:
    return DigestService(settings, db, clock=clock, sleep=clock.sleep)


def run(svc: DigestService, channel: str) -> tuple[str, list[int], list[bool]]:
    result = asyncio.run(svc.run(channel, kind="manual"))
    stories = result.digest.stories if result.digest else []
    return result.status, [s.story_id for s in stories], [s.updated for s in stories]


def test_new_outlets_and_new_facts_are_material_updates_other_changes_are_not(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    clock = Clock(PERIOD_END)
    store = StoryStore(db, clock.now)
    settings = service_settings(
        db_url, tmp_path, slack_channel_toml("desk", webhook_url=slack.webhook_url)
    )
    svc = service(settings, db, clock)
    deal = store.add(
        "xAI sells Colossus 1 capacity to Anthropic",
        ["Reuters", "Bloomberg"],
        facts=StoryFacts(parties=["xAI", "Anthropic"], power_mw=300),
    )
    assert run(svc, "desk") == ("sent", [deal], [False])
    assert run(svc, "desk")[0] == "empty"

    clock.advance(3600)
    store.set_facts(
        deal, StoryFacts(parties=["xAI", "Anthropic"], power_mw=300, places=["Memphis"])
    )
    assert run(svc, "desk")[0] == "empty"  # a place is not news to someone who read it
    store.set_facts(deal, StoryFacts(parties=["xAI", "Anthropic"], power_mw=300.0 * 1.01))
    assert run(svc, "desk")[0] == "empty"  # the same figure, rounded differently

    clock.advance(3600)
    store.set_facts(deal, StoryFacts(parties=["xAI", "Anthropic"], power_mw=300, amount_usd=17.4e9))
    assert run(svc, "desk") == ("sent", [deal], [True])  # the value became known
    assert run(svc, "desk")[0] == "empty"

    clock.advance(3600)
    store.add_outlet(deal, "Financial Times")
    status, ids, updated = run(svc, "desk")
    assert (status, ids, updated) == ("sent", [deal], [True])
    assert run(svc, "desk")[0] == "empty"
    assert len(slack.messages) == 3 and not slack.violations
    assert "Updated" in json.dumps(slack.messages[1]) and "$17.4B" in json.dumps(slack.messages[1])


def test_channel_rules_and_threshold_filter_what_a_channel_gets(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    clock = Clock(PERIOD_END)
    store = StoryStore(db, clock.now)
    rules = tmp_path / "power-only.toml"
    rules.write_text(
        'threshold = 1.0\n[[rule]]\nname = "power"\nweight = 2.0\n'
        "query = 'megawatt* OR gigawatt* OR MW'\n",
        encoding="utf-8",
    )
    channels = slack_channel_toml("all", webhook_url=slack.webhook_url, extra="threshold = 3.0")
    channels += slack_channel_toml(
        "power", webhook_url=slack.webhook_url, extra=f'rules = "{rules}"'
    )
    settings = service_settings(db_url, tmp_path, channels)
    svc = service(settings, db, clock)
    power = store.add("Crusoe leases 200 MW campus to OpenAI", ["Reuters"], score=4.0)
    gpus = store.add("CoreWeave sells 10,000 H100 GPUs of capacity to Meta", ["DCD"], score=6.0)
    weak = store.add("Nebius signs small 5 MW colocation deal", ["Wire"], score=2.0)

    status, ids, _ = run(svc, "all")
    assert status == "sent" and sorted(ids) == sorted([power, gpus])  # weak is under 3.0
    status, ids, _ = run(svc, "power")
    assert status == "sent" and sorted(ids) == sorted([power, weak])  # only power deals


def test_ranking_cap_more_count_and_footer_with_failing_feeds(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    clock = Clock(PERIOD_END)
    store = StoryStore(db, clock.now)
    settings = service_settings(
        db_url,
        tmp_path,
        slack_channel_toml("desk", webhook_url=slack.webhook_url, extra="max_stories = 2"),
    )
    svc = service(settings, db, clock)
    low = store.add("Small GPU lease in Oslo", ["A"], score=2.0)
    top = store.add("Oracle leases 1 GW to OpenAI", ["A", "B", "C"], score=9.0)
    mid = store.add("Lambda rents H200 cluster", ["A", "B"], score=5.0)
    also = store.add("Vultr adds AMD MI325X capacity", ["B"], score=3.0)
    store.fail_feed("Broken Wire")

    result = asyncio.run(svc.run("desk", kind="manual"))
    assert result.status == "sent" and result.digest is not None
    assert [s.story_id for s in result.digest.stories] == [top, mid]
    assert result.digest.more_count == 2
    assert result.digest.unhealthy_feeds == ["Broken Wire"]
    posted = json.dumps(slack.messages)
    assert "2 more stories" in posted
    assert "Broken Wire" in posted and "failing" in posted
    # the two below the cut were not sent: they lead the next digest
    status, ids, _ = run(svc, "desk")
    assert status == "sent" and ids == [also, low]


def test_a_story_links_to_a_preferred_outlet_else_to_its_headlines_report(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    clock = Clock(PERIOD_END)
    store = StoryStore(db, clock.now)
    settings = service_settings(
        db_url,
        tmp_path,
        slack_channel_toml("plain", webhook_url=slack.webhook_url)
        + "\n"
        + slack_channel_toml(
            "desk", webhook_url=slack.webhook_url, extra='preferred_outlets = ["Wire C"]'
        ),
    )
    story_id = store.add("Oracle leases 1 GW to OpenAI", ["Wire A", "Wire B", "Wire C"])
    with db.session() as session:
        urls = {
            entry.source_name: (entry.id, entry.url)
            for entry in session.scalars(
                select(EntryRow)
                .join(StoryMemberRow, StoryMemberRow.entry_id == EntryRow.id)
                .where(StoryMemberRow.story_id == story_id)
            )
        }
        story = session.get(StoryRow, story_id)
        assert story is not None
        story.headline_entry_id = urls["Wire B"][0]
    svc = service(settings, db, clock)
    plain = asyncio.run(svc.run("plain", kind="manual"))
    desk = asyncio.run(svc.run("desk", kind="manual"))
    assert plain.digest is not None and desk.digest is not None
    assert plain.digest.stories[0].link == urls["Wire B"][1]
    assert desk.digest.stories[0].link == urls["Wire C"][1]


def test_a_story_below_the_cut_comes_back_marked_held_over_not_as_new(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    clock = Clock(PERIOD_END)
    store = StoryStore(db, clock.now)
    settings = service_settings(
        db_url, tmp_path, slack_channel_toml("desk", webhook_url=slack.webhook_url)
    )  # max_stories = 15, the default
    svc = service(settings, db, clock)
    ids = [store.add(f"Deal {n}: a GPU lease", ["Reuters"], score=9.0 - n * 0.1) for n in range(16)]

    first = asyncio.run(svc.run("desk", kind="manual"))
    assert first.status == "sent" and first.digest is not None
    assert len(first.digest.stories) == 15 and first.digest.more_count == 1
    assert len(slack.messages) == 1  # one message: cut notice and footer with the stories
    (message,) = slack.messages
    assert message["text"].startswith("Compute deals digest · desk: 16 stories")
    posted = json.dumps(message)
    assert "1 more story below the cut, held over to the next digest" in posted

    clock.advance(3600)  # nothing new arrives
    second = asyncio.run(svc.run("desk", kind="manual"))
    assert second.status == "sent" and second.digest is not None
    assert [s.story_id for s in second.digest.stories] == [ids[15]]
    assert second.digest.stories[0].held_over
    held = slack.messages[1]
    text = json.dumps(held)
    assert held["text"].startswith("Compute deals digest · desk: 1 story, held over")
    assert "Held over from an earlier digest" in text
    assert "from 0 new entries" not in text
    assert "1 story held over from an earlier digest; no new entries." in text
    # shown once: not held over again
    clock.advance(3600)
    assert asyncio.run(svc.run("desk", kind="manual")).status == "empty"


def test_times_are_shown_in_the_channels_time_zone(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    # 23:51 on Friday 4 December in New York is 04:51 on the 5th in UTC
    sent_at = datetime(2026, 12, 5, 4, 51, tzinfo=UTC)
    clock = Clock(sent_at)
    StoryStore(db, datetime(2026, 12, 4, 22, 15, tzinfo=UTC)).add(
        "Oracle leases 1 GW to OpenAI", ["Reuters"]
    )
    zone = '[channels.schedule]\ncron = "51 23 * * *"\ntimezone = "America/New_York"\n'
    with smtp_server() as smtp:
        channels = (
            slack_channel_toml("desk", webhook_url=slack.webhook_url)
            + zone
            + '[[channels]]\nname = "mail"\ntype = "email"\nthreshold = 1.0\n'
            f'[channels.email]\nhost = "127.0.0.1"\nport = {smtp.port}\ntls = "none"\n'
            'from = "newsbot <bot@example.test>"\nto = ["desk@example.test"]\n' + zone
        )
        svc = service(service_settings(db_url, tmp_path, channels), db, clock)
        assert asyncio.run(svc.run("mail", kind="manual")).status == "sent"
        assert asyncio.run(svc.run("desk", kind="manual")).status == "sent"
        (mail,) = smtp.received
    message = mail.message
    assert "· 4 Dec 2026 ·" in message["Subject"]
    date = parsedate_to_datetime(message["Date"])
    assert date == sent_at and date.utcoffset() == timedelta(hours=-5)
    for subtype in ("plain", "html"):
        part = message.get_body((subtype,))
        assert part is not None
        body = part.get_content()
        assert "first seen 4 Dec 2026, 17:15 EST" in " ".join(body.split())
        assert "23:51 EST" in body and "UTC" not in body and "5 Dec" not in body

    # Slack: date tokens each reader's client shows in their own zone, New York time as fallback
    (posted,) = slack.messages
    text = json.dumps(posted)
    first_seen = int(datetime(2026, 12, 4, 22, 15, tzinfo=UTC).timestamp())
    token = f"<!date^{first_seen}^{{date_short_pretty}} {{time}}|4 Dec 2026, 17:15 EST>"
    assert token in text
    assert f"<!date^{int(sent_at.timestamp())}^" in text and "UTC" not in text
    assert slack.violations == []


def test_a_held_over_story_comes_back_though_its_reports_aged_out_of_the_period(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    """Digests show only stories reported within their period (at least 72 hours), and a story
    left below the cut of the last digest is shown in the next one: its reports were within the
    last digest's period, so it is held over even when they are older than this one's."""
    clock = Clock(PERIOD_END)
    store = StoryStore(db, clock.now)
    settings = service_settings(
        db_url, tmp_path, slack_channel_toml("desk", webhook_url=slack.webhook_url)
    )  # max_stories = 15, the default
    svc = service(settings, db, clock)
    ids = [store.add(f"Deal {n}: a GPU lease", ["Reuters"], score=9.0 - n * 0.1) for n in range(16)]
    stale = store.add("An old deal, first reported long ago", ["Reuters"], score=9.5)
    with db.session() as session:  # reported 70 h before the first digest, joined just now
        for member in session.scalars(select(StoryMemberRow)):
            entry = session.get(EntryRow, member.entry_id)
            assert entry is not None
            days = 30 if member.story_id == stale else 0  # the backlog of a feed just added
            entry.published_at = PERIOD_END - timedelta(hours=70, days=days)

    first = asyncio.run(svc.run("desk", kind="manual"))
    assert first.digest is not None and first.digest.more_count == 1
    assert stale not in [s.story_id for s in first.digest.stories]  # not reported in the period

    clock.advance(24 * 3600)  # the next day: the reports are now 94 h old, nothing new
    second = asyncio.run(svc.run("desk", kind="manual"))
    assert second.status == "sent" and second.digest is not None
    assert [s.story_id for s in second.digest.stories] == [ids[15]]
    assert second.digest.stories[0].held_over
    clock.advance(3600)
    assert asyncio.run(svc.run("desk", kind="manual")).status == "empty"
