"""Rendering of in-memory digests: wording, Slack limits and escaping, email MIME structure."""

from __future__ import annotations

import json
import re
from email import message_from_bytes, policy
from email.message import EmailMessage
from html.parser import HTMLParser

import pytest
from support.digests import EVIL_TITLE, digest, source, story

from bot.digest.render import (
    pack_slack_messages,
    render_email,
    render_email_html,
    render_slack,
    render_slack_story_update,
    render_text,
    replace_story_blocks,
)
from bot.digest.render.common import format_amount, format_power
from bot.digest.render.mrkdwn import escape, link
from bot.model import StoryFacts


@pytest.mark.parametrize(
    ("megawatts", "text"),
    [(300, "300 MW"), (1300, "1.3 GW"), (1250, "1.25 GW"), (12.5, "12.5 MW"), (0.5, "500 kW"),
     (999.97, "1 GW"), (5000, "5 GW")],
)  # fmt: skip
def test_power_reads_naturally(megawatts: float, text: str) -> None:
    assert format_power(megawatts) == text


@pytest.mark.parametrize(
    ("usd", "text"),
    [(17.4e9, "$17.4B"), (5e8, "$500M"), (1.2e12, "$1.2T"), (750_000, "$750K"),
     (999.96e6, "$1B"), (2.25e9, "$2.25B"), (999, "$999")],
)  # fmt: skip
def test_amount_reads_naturally(usd: float, text: str) -> None:
    assert format_amount(usd) == text


def analyst_digest() -> object:
    facts = StoryFacts(
        parties=["xAI", "Anthropic"], power_mw=300, amount_usd=17.4e9, places=["Memphis"]
    )
    first = story(1, outlets=5, facts=facts, score=9)
    second = story(2, "Oracle leases 1.3 GW campus", facts=StoryFacts(power_mw=1300), score=4)
    return digest(
        [first, second],
        previously_sent={1: 2},
        unhealthy_feeds=["broken-feed"],
    )


def test_text_digest_has_every_part_an_analyst_needs() -> None:
    text = render_text(analyst_digest())  # type: ignore[arg-type]
    assert text.startswith("Compute deals\n")
    assert "1. xAI sells all of Colossus 1's 300 MW to Anthropic  [UPDATED]" in text
    assert "Power:\u00a0300 MW" in text and "Value:\u00a0$17.4B" in text
    assert "Power:\u00a01.3 GW" in text
    # earliest reports first; the earliest linked report is the story's link
    assert "Reported by Outlet 1-4, Outlet 1-3, Outlet 1-2, Outlet 1-1, Outlet 1-0 ·" in (
        " ".join(text.split())
    )
    assert max(len(line) for line in text.splitlines()) <= 72  # reads in a terminal and mail
    assert "first seen 14 May 2026" in text
    assert "    https://outlet-1-4.example/news/outlet-1-4-story\n" in text
    assert "A third" not in text and "Analysts put the value" not in text  # two sentences at most
    assert "2 stories" in text and "240 new entries" in text
    assert "1 feed is failing: broken-feed" in text
    assert "\n\n\n" not in text


def test_empty_digest_says_so() -> None:
    result = digest([])
    assert "No new compute-deal stories" in render_text(result)
    messages = render_slack(result)
    assert len(messages) == 1
    assert "No new compute-deal stories" in json.dumps(messages[0])


def test_mrkdwn_escaping_makes_feed_text_inert() -> None:
    assert escape("<!here> & <@U123> <#C1|x>") == "&lt;!here&gt; &amp; &lt;@U123&gt; &lt;#C1|x&gt;"
    assert "@channel" not in escape("hey @channel")
    assert link("javascript:alert(1)", "x") == "x"
    assert link("https://a.example/p?a=1&b=2|x>y", "a|b *c*") == (
        "<https://a.example/p?a=1&amp;b=2%7Cx%3Ey|a¦b ∗c∗>"
    )


def all_mrkdwn(messages: list[dict[str, object]]) -> list[str]:
    texts: list[str] = []
    for message in messages:
        texts.append(str(message["text"]))
        for block in message["blocks"]:  # type: ignore[attr-defined]
            if block.get("text", {}).get("type") == "mrkdwn":
                texts.append(block["text"]["text"])
            texts += [e["text"] for e in block.get("elements", []) if e["type"] == "mrkdwn"]
    return texts


def test_evil_headline_is_inert_in_slack() -> None:
    evil = story(1, EVIL_TITLE, summary="Ping <@U123> and <!subteam^S1> now & @here.")
    messages = render_slack(digest([evil]))
    for text in all_mrkdwn(messages):
        for sequence in re.findall(r"<[^>]*>?", text):
            assert re.fullmatch(
                r"<(https?://[^\s|<>]+(\|[^<>|]*)?|!date\^\d+\^[^|<>^]*\|[^<>|]+)>", sequence
            ), sequence
        assert "@here" not in text and "@channel" not in text
    section = messages[0]["blocks"][3]["text"]["text"]
    assert "&lt;!channel&gt; Free GPUs &lt;https://evil.example¦click&gt;" in section
    assert "<https://evil.example" not in json.dumps(messages)


def test_only_http_links_are_linked() -> None:
    bad = story(1, sources=[source("Evil", 1, link="javascript:alert(1)")])
    payload = json.dumps(render_slack(digest([bad])))
    assert "javascript:" not in payload
    html = render_email_html(digest([bad]))
    assert "javascript:" not in html


def test_big_digest_is_split_within_slack_limits_without_losing_a_story() -> None:
    long_summary = "A very long sentence about a data-center deal & its <terms> " * 80
    facts = StoryFacts(parties=[f"Company {n}" for n in range(60)], power_mw=2500, chips=100_000)
    candidates = [
        story(i, f"Deal number {i} " + "x" * 280, outlets=12, summary=long_summary, facts=facts)
        for i in range(1, 121)
    ]
    result = digest(candidates, max_stories=120)
    packed = pack_slack_messages(result)
    assert len(packed) > 1
    seen: list[int] = []
    for message in packed:
        payload = message.payload
        blocks = payload["blocks"]
        assert len(blocks) <= 50
        assert len(json.dumps(payload).encode()) <= 16 * 1024
        assert 0 < len(payload["text"]) <= 3000
        for block in blocks:
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= 3000
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= 150
            if block["type"] == "context":
                assert len(block["elements"]) <= 10
        ids = [b["block_id"] for b in blocks if "block_id" in b]
        assert len(ids) == len(set(ids))
        seen += list(message.story_ids)
    assert seen == [s.story_id for s in result.stories]
    assert "footer" in json.dumps(packed[-1].payload)


def test_long_header_is_cut_to_slack_limit() -> None:
    messages = render_slack(digest([story(1)], title="T" * 400))
    assert len(messages[0]["blocks"][0]["text"]["text"]) == 150


def test_story_update_reply_and_in_place_edit() -> None:
    result = digest([story(7, outlets=2)])
    message = render_slack(result)[0]
    grown = digest([story(7, outlets=6)]).stories[0]
    reply = render_slack_story_update(grown)
    assert "now reported by 6 outlets" in reply["text"]
    edited = replace_story_blocks(message, grown)
    assert "+3" in json.dumps(edited) and "+3" not in json.dumps(message)
    assert len(edited["blocks"]) == len(message["blocks"])


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.hrefs: list[str] = []
        self.tags: set[str] = set()
        self.srcs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        for name, value in attrs:
            if name == "href":
                self.hrefs.append(value or "")
            if name == "src":
                self.srcs.append(value or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_html_email_escapes_feed_text_and_loads_nothing_external() -> None:
    evil = story(1, EVIL_TITLE, summary="<script>alert(1)</script> <img src=x onerror=y>")
    html = render_email_html(digest([evil]))
    assert "&lt;!channel&gt; Free GPUs &lt;https://evil.example|click&gt;" in html
    assert "<script" not in html and "<img" not in html
    parsed = _Collector()
    parsed.feed(html)
    assert EVIL_TITLE in "".join(parsed.text)  # shown to the reader as text
    assert {"script", "img", "link", "style", "iframe"}.isdisjoint(parsed.tags)
    assert parsed.srcs == []
    assert all(href.startswith("https://outlet-1-") for href in parsed.hrefs)
    assert "table" in parsed.tags and 'style="' in html


def test_email_is_multipart_alternative_with_correct_headers() -> None:
    result = analyst_digest()
    message = render_email(
        result,  # type: ignore[arg-type]
        from_addr="Zoë Newsbot <bot@example.com>",
        to=["a@example.com", "Ünal <u@example.org>"],
    )
    raw = message.as_bytes()
    assert all(byte < 128 for byte in raw)  # every header and part is 7-bit encoded
    parsed = message_from_bytes(raw, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed.get_content_type() == "multipart/alternative"
    parts = [part.get_content_type() for part in parsed.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    plain = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert plain is not None and html is not None
    assert "[UPDATED]" in plain.get_content()
    assert "UPDATED" in html.get_content()
    assert parsed["Subject"] == "Compute deals · 14 May 2026 · 2 stories"
    assert parsed["From"].addresses[0].display_name == "Zoë Newsbot"
    assert [a.addr_spec for a in parsed["To"].addresses] == ["a@example.com", "u@example.org"]
    assert parsed["Date"].datetime is not None
    assert re.fullmatch(r"<digest\.[0-9a-f]{24}@example\.com>", parsed["Message-ID"])
    again = render_email(result, from_addr="bot@example.com", to=["a@example.com"])  # type: ignore[arg-type]
    assert again["Message-ID"] == parsed["Message-ID"]  # same channel and period, same identity


def test_email_rejects_malformed_addresses() -> None:
    with pytest.raises(ValueError, match="not a single e-mail address"):
        render_email(digest([story(1)]), from_addr="nobody", to=["a@example.com"])
    with pytest.raises(ValueError, match="at least one recipient"):
        render_email(digest([story(1)]), from_addr="bot@example.com", to=[])


def test_control_characters_never_reach_any_rendering() -> None:
    sneaky = story(1, "Deal\x1b[31m red\u202e txet", summary="Bell\x07 here.")
    result = digest([sneaky])
    for output in (
        render_text(result),
        render_email_html(result),
        json.dumps(render_slack(result)),
    ):
        assert "\x1b" not in output and "\u202e" not in output and "\x07" not in output


def test_text_names_six_outlets_and_slack_three_before_counting_the_rest() -> None:
    many = digest([story(1, outlets=8)])
    text = render_text(many)
    assert (
        "Reported by Outlet 1-7, Outlet 1-6, Outlet 1-5, Outlet 1-4, Outlet 1-3, Outlet 1-2 +2"
        in (" ".join(text.split()))
    )
    slack = json.dumps(render_slack(many))
    assert "+5" in slack and "Outlet 1-4" not in slack


def test_a_lead_cut_mid_sentence_ends_with_an_ellipsis() -> None:
    cut = digest([story(1, summary="xAI leases Colossus 1 to Anthropic, allowing")])
    assert "xAI leases Colossus 1 to Anthropic, allowing…" in render_text(cut)
    whole = digest([story(1, summary="xAI leases Colossus 1 to Anthropic.")])
    assert "Anthropic.…" not in render_text(whole) and "Anthropic." in render_text(whole)


def story_ids_in(message: dict[str, object]) -> list[str]:
    return [
        str(b["block_id"])
        for b in message["blocks"]  # type: ignore[attr-defined]
        if re.fullmatch(r"story-\d+", str(b.get("block_id", "")))
    ]


def test_sixteen_stories_capped_at_fifteen_go_out_as_one_message_with_one_count() -> None:
    result = digest([story(i, f"Deal {i}") for i in range(1, 17)], max_stories=15)
    messages = render_slack(result)
    assert len(messages) == 1  # 3 + 15 * 3 + cut notice + footer = 50 blocks: Slack's limit
    (message,) = messages
    assert len(message["blocks"]) <= 50 and len(story_ids_in(message)) == 15
    text = json.dumps(message)
    assert "1 more story below the cut" in text and "digest-footer" in text
    assert message["text"].startswith("Compute deals: 16 stories")


@pytest.mark.parametrize("shown", range(1, 41))
@pytest.mark.parametrize("unhealthy", [[], ["broken-feed"]])
def test_no_message_holds_only_the_cut_notice_and_every_part_counts_alike(
    shown: int, unhealthy: list[str]
) -> None:
    candidates = [story(i, f"Deal {i}") for i in range(1, shown + 2)]
    result = digest(candidates, max_stories=shown, unhealthy_feeds=unhealthy)
    packed = pack_slack_messages(result)
    assert [i for m in packed for i in m.story_ids] == [s.story_id for s in result.stories]
    for message in packed:
        assert message.story_ids, "a message with no story (only the cut notice and footer)"
        assert len(message.payload["blocks"]) <= 50
    # what fits Slack's 50 blocks is one message: nothing is held back for a continuation line
    if 3 + 3 * shown + 2 + len(unhealthy) <= 50:
        assert len(packed) == 1
    counts = {re.sub(r"^[^:]*: ", "", m.payload["text"]).split(" — ")[0] for m in packed}
    assert counts == {f"{shown + 1} stories"}
    assert "below the cut" in json.dumps(packed[-1].payload)


def test_periods_read_in_the_channels_zone_and_name_both_sides_of_a_clock_change() -> None:
    from dataclasses import replace
    from datetime import UTC, datetime

    from bot.digest.render.common import format_period

    base = digest([story(1)])
    new_york = replace(
        base,
        timezone="America/New_York",
        period_start=datetime(2026, 10, 31, 12, 0, tzinfo=UTC),  # 08:00 EDT
        period_end=datetime(2026, 11, 1, 13, 0, tzinfo=UTC),  # 08:00 EST, clocks went back
    )
    assert format_period(new_york) == "31 Oct 2026, 08:00 EDT – 1 Nov 2026, 08:00 EST"
    same_day = replace(new_york, period_start=datetime(2026, 11, 1, 6, 0, tzinfo=UTC))
    assert format_period(same_day) == "1 Nov 2026, 01:00 – 08:00 EST"
    assert format_period(base) == "13 May 2026, 08:00 – 14 May 2026, 08:00 UTC"
    text = render_text(same_day)
    assert "1 Nov 2026, 01:00 – 08:00 EST" in text and "UTC" not in text
