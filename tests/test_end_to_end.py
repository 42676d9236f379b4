"""The whole pipeline against real local servers: feeds over HTTP, Slack stand-in, SMTP.

Serve the demo feeds (the five seed reports plus other news), poll, and check that the seed event
is one story with five sources and nothing unrelated inside; deliver one digest to each channel;
poll and digest again and see nothing sent twice; then a new report of the event arrives and the
story comes back once, marked as updated.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from support.slack_stand_in import SlackStandIn
from support.smtp import SMTPServer, smtp_server

from bot.config import Settings, load_config_text
from bot.daemon.app import Pipeline, build_pipeline
from bot.demo.data import demo_events, demo_feeds, render_demo_feeds
from bot.demo.server import FeedServer
from bot.storage.models import EntryRow, StoryMemberRow

SEED_EVENT = "xai-anthropic-colossus-1"


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer(render_demo_feeds(datetime.now(UTC))) as server:
        yield server


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    with smtp_server() as server:
        yield server


def make_settings(
    db_url: str, feeds: FeedServer, slack: SlackStandIn, smtp: SMTPServer, data_dir: Path
) -> Settings:
    lines = [f"database_url = {json.dumps(db_url)}", f"data_dir = {json.dumps(str(data_dir))}"]
    lines += ["[fetch]", "allow_private_networks = true"]  # the feeds are on loopback
    for feed in demo_feeds():
        lines += ["[[feeds]]", f"url = {json.dumps(feeds.url(feed.path))}"]
        lines += [f"name = {json.dumps(feed.name)}"]
    lines += [
        "[[channels]]",
        'name = "deals-slack"',
        'type = "slack"',
        "[channels.slack]",
        f"webhook_url = {json.dumps(slack.webhook_url)}",
        "[[channels]]",
        'name = "deals-email"',
        'type = "email"',
        "[channels.email]",
        'host = "127.0.0.1"',
        f"port = {smtp.port}",
        'tls = "none"',
        'from = "newsbot <newsbot@localhost>"',
        'to = ["analyst@localhost", "infra@localhost"]',
    ]
    return load_config_text("\n".join(lines) + "\n", data_dir / "newsbot.toml")


def story_members_by_link(pipeline: Pipeline) -> dict[int, set[str]]:
    stories: dict[int, set[str]] = {}
    with pipeline.db.session() as session:
        rows = session.execute(
            select(StoryMemberRow.story_id, EntryRow.url).join(
                EntryRow, EntryRow.id == StoryMemberRow.entry_id
            )
        )
        for story_id, url in rows:
            stories.setdefault(story_id, set()).add(url)
    return stories


def slack_text(slack: SlackStandIn) -> str:
    return json.dumps(slack.messages, ensure_ascii=False)


def test_seed_event_is_one_story_delivered_once_to_each_channel(
    db_url: str, feeds: FeedServer, slack: SlackStandIn, smtp: SMTPServer, tmp_path: Path
) -> None:
    settings = make_settings(db_url, feeds, slack, smtp, tmp_path)
    pipeline = build_pipeline(settings)
    report = asyncio.run(pipeline.poller.poll())
    assert report.new_entries >= 27
    assert report.outcome_counts["error"] == 0

    # One story holds exactly the five seed reports; every story holds one event only, and
    # every compute deal is one story holding all of its reports (the reader sees it once).
    event_of = {link: event.key for event in demo_events() for link in event.links}
    seed_links = {link for link, key in event_of.items() if key == SEED_EVENT}
    stories = story_members_by_link(pipeline)
    seed_stories = [links for links in stories.values() if links & seed_links]
    assert seed_stories == [seed_links]
    for links in stories.values():
        assert len({event_of[link] for link in links}) == 1, links
    deals = [event for event in demo_events() if event.relevant]
    assert sorted(stories.values(), key=sorted) == sorted(
        (set(event.links) for event in deals), key=sorted
    )

    # One digest to each channel.
    slack_run = asyncio.run(pipeline.digests.run("deals-slack", kind="manual"))
    email_run = asyncio.run(pipeline.digests.run("deals-email", kind="manual"))
    assert (slack_run.status, email_run.status) == ("sent", "sent")
    assert slack.messages and not slack.violations
    assert len(smtp.received) == 1
    mail = smtp.received[0]
    assert sorted(mail.rcpt_tos) == ["analyst@localhost", "infra@localhost"]
    text = slack_text(slack)
    assert text.count("Colossus 1") >= 1
    headline = slack_run.digest.stories[0].headline if slack_run.digest else ""
    assert "Colossus 1" in headline and "What's Happening" not in headline
    seed_story = next(s for s in slack_run.digest.stories if "Colossus 1" in s.headline)  # type: ignore[union-attr]
    assert len(seed_story.sources) == 5
    # Each story's headline links to the report it is the headline of.
    for shown in slack_run.digest.stories:  # type: ignore[union-attr]
        linked = [s.title for s in shown.sources if s.link == shown.link]
        assert linked == [shown.headline], (shown.headline, shown.link)
    html = mail.message.get_body(("html",))
    assert html is not None and "Colossus 1" in html.get_content()

    # Poll and digest again: feeds unchanged, nothing new, nothing sent twice.
    posted = len(slack.messages)
    again = asyncio.run(pipeline.poller.poll(force=True))
    assert again.new_entries == 0
    assert again.outcome_counts["not_modified"] == len(demo_feeds())
    assert asyncio.run(pipeline.digests.run("deals-slack", kind="manual")).status == "empty"
    assert asyncio.run(pipeline.digests.run("deals-email", kind="manual")).status == "empty"
    assert len(slack.messages) == posted
    assert len(smtp.received) == 1

    # A sixth outlet reports the event: the story comes back once, marked as updated.
    sixth = b"""<?xml version="1.0"?><rss version="2.0"><channel><title>Late Wire</title>
<link>https://latewire.example/</link><description>late</description>
<item><title>Anthropic takes over all 300 MW of xAI's Colossus 1 in Memphis</title>
<link>https://latewire.example/xai-anthropic-colossus-1</link>
<description>Anthropic will use the entire capacity of xAI's Colossus 1 data center in Memphis,
about 300 megawatts, in a deal said to be worth billions of dollars.</description>
<pubDate>%s</pubDate></item></channel></rss>""" % datetime.now(UTC).strftime(
        "%a, %d %b %Y %H:%M:%S +0000"
    ).encode()
    feeds.set("late.rss", sixth)
    later = settings.model_copy(
        update={"feeds": [*settings.feeds, type(settings.feeds[0])(url=feeds.url("late.rss"))]}
    )
    pipeline = build_pipeline(later, db=pipeline.db)
    asyncio.run(pipeline.poller.poll())
    stories = story_members_by_link(pipeline)
    assert [links for links in stories.values() if links & seed_links] == [
        seed_links | {"https://latewire.example/xai-anthropic-colossus-1"}
    ]
    update_run = asyncio.run(pipeline.digests.run("deals-slack", kind="manual"))
    assert update_run.status == "sent"
    assert update_run.digest is not None
    assert [s.updated for s in update_run.digest.stories] == [True]
    assert len(update_run.digest.stories[0].sources) == 6
    assert asyncio.run(pipeline.digests.run("deals-slack", kind="manual")).status == "empty"
    pipeline.db.dispose()
