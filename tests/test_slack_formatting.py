"""Feed text cannot format a Slack message (issue 18, defect 7): ``*bold*``, ``_italic_``,
``~strike~``, backticks and ``>`` quotes from a feed reach Slack as look-alike letters, in the
blocks and in the ``text`` fallback, while pings and links stay inert and every message stays
within the stand-in's limits. The choice (look-alikes rather than zero-width characters, which
make formatting *work*, or ``verbatim``, which does not stop it) is explained in
bot/digest/render/mrkdwn.py."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape as xml_escape

from click.testing import CliRunner
from support.daemon_proc import write_config
from support.digests import digest, slack_channel_toml, source, story
from support.slack_stand_in import SlackStandIn

from bot.cli.main import cli
from bot.demo.server import FeedServer
from bot.digest.render import render_slack, render_slack_story_update
from bot.integration.slack import SlackWebhook, post_messages
from bot.model import StoryFacts

HOSTILE = "*URGENT* _buy_ ~now~ `rm -rf` <!channel> <https://evil|click>"
# what Slack would format, each as the feed wrote it
LIVE = ("*URGENT*", "_buy_", "~now~", "`rm -rf`")
# the same words as they must arrive: look-alike letters Slack does not interpret
INERT_FORMATTING = "∗URGENT∗ ˍbuyˍ ∼now∼ ˋrm -rfˋ"
INERT = f"{INERT_FORMATTING} &lt;!channel&gt; &lt;https://evil|click&gt;"


def mrkdwn_texts(message: dict[str, Any]) -> list[str]:
    """Every string of a message that Slack reads as mrkdwn: the fallback and block texts."""
    texts = [str(message.get("text", ""))]
    for block in message.get("blocks", []):
        if isinstance(block.get("text"), dict) and block["text"].get("type") == "mrkdwn":
            texts.append(block["text"]["text"])
        for element in block.get("elements", []):
            if element.get("type") == "mrkdwn":
                texts.append(element["text"])
    return texts


def assert_inert(messages: list[dict[str, Any]]) -> None:
    for message in messages:
        for text in mrkdwn_texts(message):
            for live in LIVE:
                assert live not in text, f"{live!r} stays live in {text!r}"
            assert "<!channel>" not in text and "<https://evil" not in text


def rss_item_feed(title: str, summary: str, now: datetime) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0"><channel><title>Wire</title><link>https://wire.example/</link>
<item><title>{xml_escape(title)}</title>
<link>https://wire.example/news/colossus</link><guid>colossus-1</guid>
<pubDate>{format_datetime(now - timedelta(hours=1))}</pubDate>
<description>{xml_escape(summary)}</description></item>
</channel></rss>""".encode()


def test_a_hostile_feed_item_polled_and_posted_reads_as_written_but_formats_nothing(
    sqlite_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    now = datetime.now(UTC)
    title = f"{HOSTILE} xAI sells all of Colossus 1's 300 MW of GPU capacity to Anthropic"
    summary = (
        f"{HOSTILE}. Anthropic will buy all of the compute capacity of xAI's Colossus 1 data "
        "center in Memphis, 300 megawatts of Nvidia GPUs, in a multi-year deal."
    )
    with FeedServer({"/wire.rss": rss_item_feed(title, summary, now)}) as feeds:
        config = write_config(
            tmp_path / "newsbot.toml",
            db_url=sqlite_url,
            feed_urls=[feeds.url("wire.rss")],
            channels=slack_channel_toml("hook", webhook_url=slack.webhook_url)
            + slack_channel_toml("bot", api_url=slack.api_url),
        )
        runner = CliRunner()
        polled = runner.invoke(cli, ["-c", str(config), "poll"])
        assert polled.exit_code == 0, polled.output
    sent = runner.invoke(cli, ["-c", str(config), "digest"])
    assert sent.exit_code == 0, sent.output
    assert "hook: sent (1 story)" in sent.output and "bot: sent (1 story)" in sent.output

    assert len(slack.messages) == 2 and slack.rejected == [] and slack.violations == []
    assert_inert(slack.messages)
    for message in slack.messages:
        section = next(b for b in message["blocks"] if b.get("block_id", "").startswith("story-"))
        # the headline and the summary read as written (the parser drops the <...> parts as tags)
        headline, summary = section["text"]["text"].splitlines()[:2]
        assert INERT_FORMATTING in headline and summary.startswith(INERT_FORMATTING)
        assert INERT_FORMATTING in message["text"]  # and so does the notification


def test_every_feed_derived_string_is_escaped_in_blocks_and_fallback() -> None:
    hostile = story(
        1,
        HOSTILE,
        summary=f"> {HOSTILE}\n```a code block```",  # a summary line that would be a quote
        facts=StoryFacts(parties=["*Evil* _Corp_"], places=["~Nowhere~"], power_mw=300),
        sources=[source("`Outlet` *Wire*"), source("Reuters", hours_before=2)],
    )
    composed = digest([hostile], unhealthy_feeds=["_Broken_ *Feed*"])
    messages = render_slack(composed)
    update = render_slack_story_update(composed.stories[0])
    assert_inert([*messages, update])
    text = json.dumps([*messages, update], ensure_ascii=False)
    for live in ("*Evil*", "_Corp_", "~Nowhere~", "`Outlet`", "*Wire*", "_Broken_", "*Feed*"):
        assert live not in text, live
    assert "```" not in text
    section = messages[0]["blocks"][3]["text"]["text"]
    assert section.splitlines()[1].startswith("\u00ad&gt; ∗URGENT∗")  # not a quote in Slack
    assert "∗Evil∗ ˍCorpˍ" in text and "ˍBrokenˍ ∗Feed∗" in text and "ˋOutletˋ ∗Wire∗" in text
    # our own formatting is untouched
    assert "*Power:*" in text and text.count("*<https://") >= 1


def test_escaped_digests_stay_within_the_stand_in_limits(slack: SlackStandIn) -> None:
    """Escaping lengthens text ('&' -> '&amp;', a soft hyphen before a '>' line): the packer
    measures the escaped text, so a digest full of such characters is still accepted whole."""
    summary = "> *x* _y_ ~z~ `w` & <b> @here\n" * 150  # ~4,300 characters before escaping
    candidates = [
        story(i, f"{HOSTILE} & {'<&>' * 40} {i}", outlets=8, summary=summary) for i in range(1, 41)
    ]
    messages = render_slack(digest(candidates, max_stories=40))
    assert len(messages) > 1
    posts = asyncio.run(post_messages(SlackWebhook(slack.webhook_url).post, messages))
    assert len(posts) == len(messages)
    assert slack.rejected == [] and slack.violations == []
    assert_inert(slack.messages)
    shown = json.dumps(slack.messages)
    assert all(f"story-{i}" in shown for i in range(1, 41))  # every story delivered
