"""Slack delivery against the local stand-in: limits, escaping, rate limits, classified errors."""

from __future__ import annotations

import asyncio
import json
import socket

import pytest
from support.digests import EVIL_TITLE, digest, story
from support.slack_stand_in import SlackStandIn

from bot.digest.render import render_slack, render_slack_story_update
from bot.integration import PermanentDeliveryError, TransientDeliveryError
from bot.integration.slack import SlackBot, SlackWebhook, post_messages
from bot.model import StoryFacts


def big_digest_messages() -> list[dict[str, object]]:
    facts = StoryFacts(parties=["xAI", "Anthropic"], power_mw=300, amount_usd=17.4e9)
    summary = "Anthropic buys all of Colossus 1 & more <capacity>. " * 20
    candidates = [story(i, f"Deal {i}: " + "y" * 200, outlets=8, summary=summary, facts=facts)
                  for i in range(1, 61)]  # fmt: skip
    return render_slack(digest(candidates, max_stories=60))


def test_webhook_delivers_a_digest_split_within_limits(slack: SlackStandIn) -> None:
    messages = big_digest_messages()
    assert len(messages) > 1
    webhook = SlackWebhook(slack.webhook_url)
    posts = asyncio.run(post_messages(webhook.post, messages))
    assert len(posts) == len(messages)
    assert slack.rejected == []
    assert slack.violations == []
    assert [m["blocks"] for m in slack.messages] == [m["blocks"] for m in messages]


def test_evil_feed_title_arrives_as_inert_text(slack: SlackStandIn) -> None:
    evil = story(1, EVIL_TITLE, summary="Hi <@U123> <!here> <#C999|general> @channel")
    message = render_slack(digest([evil]))[0]
    asyncio.run(SlackWebhook(slack.webhook_url).post(message))
    assert slack.violations == []
    received = json.dumps(slack.messages[0])
    assert "&lt;!channel&gt; Free GPUs" in received
    assert "<!channel>" not in received and "<@U123>" not in received


def test_stand_in_flags_unescaped_sequences(slack: SlackStandIn) -> None:
    """The stand-in's safety check can fail: raw feed text is caught."""
    raw = {"text": EVIL_TITLE, "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "<!here> <@U1> <javascript:x|y>"}}
    ]}  # fmt: skip
    asyncio.run(SlackWebhook(slack.webhook_url).post(raw))
    assert len(slack.violations) >= 4


def test_rate_limit_is_retried_after_retry_after_then_succeeds(slack: SlackStandIn) -> None:
    slack.fail_next(1, status=429, retry_after=1)
    asyncio.run(SlackWebhook(slack.webhook_url).post({"text": "hello"}))
    assert slack.requests == 2
    assert slack.rejected == [(429, "ratelimited")]
    assert slack.messages == [{"text": "hello", "unfurl_links": False, "unfurl_media": False}]


def test_long_retry_after_goes_back_to_the_outbox(slack: SlackStandIn) -> None:
    slack.fail_next(1, status=429, retry_after=120)
    with pytest.raises(TransientDeliveryError) as caught:
        asyncio.run(SlackWebhook(slack.webhook_url).post({"text": "hello"}))
    assert caught.value.retry_after == 120
    assert caught.value.code == "ratelimited"
    assert slack.messages == []


def test_server_error_is_transient(slack: SlackStandIn) -> None:
    slack.fail_next(1, status=500)
    with pytest.raises(TransientDeliveryError) as caught:
        asyncio.run(SlackWebhook(slack.webhook_url).post({"text": "hello"}))
    assert caught.value.code == "http_500"
    assert caught.value.retry_after is None


def test_unknown_webhook_is_permanent_and_the_url_is_never_shown(slack: SlackStandIn) -> None:
    url = slack.base_url + "/services/T0000/B0000/revokedsecret"
    with pytest.raises(PermanentDeliveryError) as caught:
        asyncio.run(SlackWebhook(url).post({"text": "hello"}))
    assert caught.value.code == "no_service"
    assert "revokedsecret" not in str(caught.value)
    assert "revoked or the URL is wrong" in str(caught.value)
    assert "revokedsecret" not in repr(SlackWebhook(url))


def test_payload_over_the_limits_is_refused_permanently(slack: SlackStandIn) -> None:
    blocks = [{"type": "divider"}] * 51
    with pytest.raises(PermanentDeliveryError, match="invalid_blocks"):
        asyncio.run(SlackWebhook(slack.webhook_url).post({"text": "x", "blocks": blocks}))
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    with pytest.raises(PermanentDeliveryError, match="invalid_blocks"):
        asyncio.run(SlackWebhook(slack.webhook_url).post({"text": "x", "blocks": [section]}))
    with pytest.raises(PermanentDeliveryError, match="no_text"):
        asyncio.run(SlackWebhook(slack.webhook_url).post({}))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_transient() -> None:
    url = f"http://127.0.0.1:{closed_port()}/services/T/B/secretvalue"
    with pytest.raises(TransientDeliveryError) as caught:
        asyncio.run(SlackWebhook(url, timeout=2).post({"text": "hello"}))
    assert caught.value.code == "connect"
    assert "secretvalue" not in str(caught.value)


def test_partial_failure_reports_progress_and_resumes_without_duplicates(
    slack: SlackStandIn,
) -> None:
    messages = [{"text": f"part {n}"} for n in range(4)]
    webhook = SlackWebhook(slack.webhook_url)
    asyncio.run(webhook.post(messages[0]))  # make the third request fail: parts 0, 1 go through
    slack.received.clear()

    async def post_then_fail() -> None:
        await post_messages(webhook.post, messages[:2])
        slack.fail_next(1, status=503)
        await post_messages(webhook.post, messages, already_sent=2)

    with pytest.raises(TransientDeliveryError) as caught:
        asyncio.run(post_then_fail())
    assert caught.value.sent_parts == 2
    asyncio.run(post_messages(webhook.post, messages, already_sent=caught.value.sent_parts))
    assert [m["text"] for m in slack.messages] == ["part 0", "part 1", "part 2", "part 3"]


def test_bot_posts_replies_in_thread_and_edits(slack: SlackStandIn) -> None:
    bot = SlackBot(slack.token, slack.channels[0], base_url=slack.api_url)
    original = digest([story(5, outlets=2)])
    message = render_slack(original)[0]

    async def flow() -> None:
        posted = await bot.post(message)
        assert posted.ts and posted.channel == slack.channels[0]
        grown = digest([story(5, outlets=5)]).stories[0]
        reply = await bot.reply(posted.ts, render_slack_story_update(grown))
        assert reply.ts != posted.ts
        edited = await bot.update(posted.ts, {"text": "edited", "blocks": message["blocks"]})
        assert edited.ts == posted.ts

    asyncio.run(flow())
    kinds = [(r.kind, r.thread_ts) for r in slack.received]
    assert kinds == [
        ("chat.postMessage", None),
        ("chat.postMessage", slack.received[0].ts),
        ("chat.update", None),
    ]
    assert slack.violations == []


def test_bot_rate_limit_then_success(slack: SlackStandIn) -> None:
    slack.fail_next(1, status=429, retry_after=1)
    bot = SlackBot(slack.token, slack.channels[0], base_url=slack.api_url)
    posted = asyncio.run(bot.post({"text": "hello"}))
    assert posted.ts is not None and slack.requests == 2


@pytest.mark.parametrize(
    ("make_bot", "code"),
    [
        (
            lambda s: SlackBot("xoxb-wrong-secret", s.channels[0], base_url=s.api_url),
            "invalid_auth",
        ),
        (lambda s: SlackBot(s.token, "C_MISSING", base_url=s.api_url), "channel_not_found"),
    ],
)
def test_bot_configuration_errors_are_permanent(
    slack: SlackStandIn, make_bot: object, code: str
) -> None:
    bot = make_bot(slack)  # type: ignore[operator]
    with pytest.raises(PermanentDeliveryError) as caught:
        asyncio.run(bot.post({"text": "hello"}))
    assert caught.value.code == code
    assert "xoxb" not in str(caught.value) and "xoxb" not in repr(bot)


def test_bot_injected_invalid_auth_and_server_error(slack: SlackStandIn) -> None:
    bot = SlackBot(slack.token, slack.channels[0], base_url=slack.api_url)
    slack.fail_next(1, status=200, error="invalid_auth")
    with pytest.raises(PermanentDeliveryError, match="bot token is invalid"):
        asyncio.run(bot.post({"text": "hello"}))
    slack.fail_next(1, status=503)
    with pytest.raises(TransientDeliveryError):
        asyncio.run(bot.post({"text": "hello"}))
    with pytest.raises(PermanentDeliveryError) as caught:
        asyncio.run(bot.update("1.000", {"text": "edit of nothing"}))
    assert caught.value.code == "message_not_found"
