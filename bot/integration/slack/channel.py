"""The Slack channel (:class:`bot.integration.channel.Channel`): a digest as Block Kit messages,
posted with an incoming webhook or a bot token, and updates of posted stories (bot token).

Posts in doubt (exactly once where Slack allows it). Each part is posted through
:func:`bot.integration.channel.post_once`:

- **Bot token.** Every post carries Slack message ``metadata`` naming its outbox row and part
  (event type ``newsbot_digest``, :func:`post_tag`). A part in doubt is looked up in
  ``conversations.history`` (``conversations.replies`` for a thread reply) with
  ``include_all_metadata``; a message found there is the post, none found means Slack never
  committed it, and it is posted again. Should the look-up be impossible (the token lacks
  ``channels:history`` / ``groups:history``, or the channel had more messages since than are
  read), the row becomes ``unknown``, as with a webhook.
- **Webhook.** Slack cannot be asked, so the row becomes ``unknown`` and is not re-posted.

Parts already acknowledged are never posted again; each story's message ``ts`` is stored with
its outbox row, for updates (``on_update = "thread"`` replies in the story's thread, ``"edit"``
rewrites its message with ``chat.update``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bot.config import SlackChannelSettings
from bot.config.settings import SecretUnavailable
from bot.digest.render import pack_slack_messages, render_slack_story_update, replace_story_blocks
from bot.integration.channel import (
    DeliveryRecord,
    Payload,
    foreign_payload,
    post_once,
    secret_failure,
)
from bot.integration.errors import PermanentDeliveryError
from bot.integration.slack.client import SlackBot, SlackPost, SlackWebhook
from bot.model import Digest, DigestStory

POST_TAG_EVENT = "newsbot_digest"  # the Slack metadata event_type of newsbot's posts
FORMATS = ("slack", "slack-update")


def post_tag(outbox_key: str, part: int) -> dict[str, Any]:
    """The Slack message metadata that names one part of one outbox row."""
    return {"event_type": POST_TAG_EVENT, "event_payload": {"outbox": outbox_key, "part": part}}


class SlackChannel:
    """A ``type = "slack"`` channel."""

    def __init__(self, channel: SlackChannelSettings) -> None:
        self.name = channel.name
        self.settings = channel.slack
        self.timezone = channel.schedule.timezone

    @property
    def supports_updates(self) -> bool:
        """A bot token and a channel are needed to reply to or edit a posted message."""
        slack = self.settings
        return slack.uses_bot_token and bool(slack.channel) and slack.on_update != "none"

    def render(self, digest: Digest) -> Payload:
        packed = pack_slack_messages(digest)
        return {
            "format": "slack",
            "messages": [message.payload for message in packed],
            "story_ids": [list(message.story_ids) for message in packed],
        }

    def render_update(
        self, story: DigestStory, ref: str, posted: Callable[[], Mapping[str, Any] | None]
    ) -> Payload | None:
        action = self.settings.on_update
        if action == "edit":
            current = posted()
            if current is None:
                return None  # the posted message is unknown: the digest reports it
            message = replace_story_blocks(dict(current), story, timezone=self.timezone)
        else:
            message = render_slack_story_update(story, timezone=self.timezone)
        return {"format": "slack-update", "action": action, "ref": ref, "message": message}

    async def send(self, payload: Payload, record: DeliveryRecord) -> dict[str, Any]:
        if payload.get("format") not in FORMATS:
            raise foreign_payload(self.name, "slack", payload)
        client = self._client()
        if payload["format"] == "slack-update":
            return await self._update(client, payload, record)
        messages: list[dict[str, Any]] = payload.get("messages", [])
        story_ids: list[list[int]] = payload.get("story_ids") or [[] for _ in messages]
        done: list[int] = list(record.progress.get("sent_parts", []))
        refs: list[str | None] = list(record.progress.get("refs", []))
        for index, message in enumerate(messages):
            if index in done:  # delivered before a crash or a failure of a later part
                continue
            posted = await self._post(client, record, index, message)
            done.append(index)
            refs.append(posted.ts)
            has_ref = bool(posted.ts) and index < len(story_ids)
            record.save_progress(  # and the part is no longer in doubt
                {"sent_parts": done, "refs": refs},
                posted=(story_ids[index], str(posted.ts)) if has_ref else None,
            )
        return {"parts": len(messages), "refs": refs}

    async def _update(
        self, client: SlackBot | SlackWebhook, payload: Payload, record: DeliveryRecord
    ) -> dict[str, Any]:
        if not isinstance(client, SlackBot):
            raise PermanentDeliveryError(
                f"channel {self.name}: updating a posted story needs a bot token",
                code="no_bot_token",
            )
        ref, message = str(payload["ref"]), dict(payload["message"])
        if payload.get("action") == "edit":
            await client.update(ref, message)  # an edit done twice is the same edit
        else:
            await self._post(client, record, 0, message, thread_ts=ref)
            record.save_progress({})  # no longer in doubt
        return {"action": payload.get("action"), "ref": ref}

    async def _post(
        self,
        client: SlackBot | SlackWebhook,
        record: DeliveryRecord,
        part: int,
        message: dict[str, Any],
        *,
        thread_ts: str | None = None,
    ) -> SlackPost:
        tag = post_tag(record.key, part)
        if not isinstance(client, SlackBot):
            return await post_once(
                record,
                part,
                lambda: client.post(message),
                where="Slack webhook",
                timeout_s=client.timeout,
            )

        async def find(oldest: datetime) -> SlackPost | None:
            return await client.find_tagged(tag, oldest=oldest.timestamp(), thread_ts=thread_ts)

        return await post_once(
            record,
            part,
            lambda: client.post(message, tag=tag, thread_ts=thread_ts),
            where=f"Slack channel {client.channel}",
            find=find,
            timeout_s=client.timeout,
        )

    def _client(self) -> SlackBot | SlackWebhook:
        slack = self.settings
        try:
            token = slack.resolved_bot_token()
            webhook = None if token is not None else slack.resolved_webhook_url()
        except SecretUnavailable as exc:
            raise secret_failure(self.name, "slack", exc) from None
        if token is not None and slack.channel:
            return SlackBot(
                token.get_secret_value(),
                slack.channel,
                base_url=slack.api_base_url,
                timeout=slack.timeout,
            )
        assert webhook is not None
        return SlackWebhook(webhook.get_secret_value(), timeout=slack.timeout)
