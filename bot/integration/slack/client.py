"""Slack delivery: incoming webhooks and the Web API (``chat.postMessage``, ``chat.update``).

Built on slack-sdk's ``WebhookClient`` and ``WebClient``. Their asyncio twins need aiohttp, which
newsbot does not otherwise depend on, so the synchronous clients run in a worker thread
(``asyncio.to_thread``) and every public method here is a coroutine, like ``send_email``: the
daemon's event loop is never blocked.

Retries. slack-sdk's rate-limit handler retries a 429 in place after ``Retry-After``; here it does
so at most ``rate_limit_retries`` times and only while Slack asks for at most ``max_inline_wait``
seconds. Beyond that, and for 5xx and failures before the request was sent (refused, DNS), a
:class:`TransientDeliveryError` (with ``retry_after``) goes back to the worker's outbox, which backs
off and retries later. A request that may have reached Slack - the connection timed out or dropped
after the body was sent - raises :class:`AmbiguousDeliveryError` and is never retried in place:
urllib wraps a failure while connecting and sending in ``URLError``, and lets one while waiting
for the answer through as it is, which is how the two are told apart.

Finding a message. :meth:`SlackBot.post` can tag a message with Slack message ``metadata``
(``event_type`` + ``event_payload``); :meth:`SlackBot.find_tagged` pages through
``conversations.history`` (or ``conversations.replies`` of a thread) with
``include_all_metadata`` to find it again. This needs the ``channels:history`` scope
(``groups:history`` for a private channel). A webhook has neither, so it cannot be asked.

Errors are classified by Slack's documented error strings; no message ever contains the webhook
URL or the token.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.error import URLError

from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.web import WebClient
from slack_sdk.webhook import WebhookClient

from bot.integration.errors import (
    AmbiguousDeliveryError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    redact,
)

log = logging.getLogger(__name__)

Message = dict[str, Any]

# Web API errors worth retrying; everything else Slack reports with ok=false is a configuration or
# payload problem that a retry cannot fix (invalid_auth, channel_not_found, invalid_blocks, ...).
TRANSIENT_API_ERRORS = frozenset(
    {
        "ratelimited",
        "rate_limited",
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)


# conversations.history pages read to find one tagged message: newsbot looks back only as far as
# the attempt in doubt, so this many pages is only reached in a very busy channel.
HISTORY_PAGE_SIZE = 200
HISTORY_MAX_PAGES = 10


@dataclass(slots=True, frozen=True)
class SlackPost:
    """A posted message: ``ts`` and ``channel`` with a bot token; both None for a webhook."""

    ts: str | None = None
    channel: str | None = None


class _BoundedRateLimitRetry(RateLimitErrorRetryHandler):
    """slack-sdk's 429 handler, but only for waits short enough to spend inside one attempt."""

    def __init__(self, max_retry_count: int, max_wait: float) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.max_wait = max_wait

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        wait = _retry_after({k: v[0] if v else "" for k, v in response.headers.items()})
        return wait is not None and wait <= self.max_wait


class SlackWebhook:
    """Posts messages to one incoming webhook."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 10,
        rate_limit_retries: int = 2,
        max_inline_wait: float = 30.0,
    ) -> None:
        self._url = url
        self.timeout = max(int(timeout), 1)  # seconds, as the SDK takes it
        self._client = WebhookClient(
            url,
            timeout=self.timeout,
            retry_handlers=[_BoundedRateLimitRetry(rate_limit_retries, max_inline_wait)],
            logger=logging.getLogger("bot.integration.slack.sdk"),
        )

    def __repr__(self) -> str:
        return "SlackWebhook(url=[redacted])"

    async def post(self, message: Message) -> SlackPost:
        """Post one message; raises a :class:`DeliveryError` subclass on failure."""
        body = {**message, "unfurl_links": False, "unfurl_media": False}
        try:
            response = await asyncio.to_thread(self._client.send_dict, body)
        except SlackRequestError as exc:
            raise PermanentDeliveryError(
                f"Slack webhook: invalid request ({redact(str(exc), [self._url])})",
                code="invalid_request",
            ) from None
        except Exception as exc:
            raise _connection_error(exc, "Slack webhook", [self._url], verifiable=False) from None
        status, text = response.status_code, (response.body or "").strip()
        if status == 200:
            return SlackPost()
        reason = redact(text[:200] or f"HTTP {status}", [self._url])
        if status == 429:
            retry_after = _retry_after(response.headers)
            raise TransientDeliveryError(
                f"Slack webhook rate limited (429), retry after {retry_after or '?'} s",
                code="ratelimited",
                retry_after=retry_after,
            )
        if status >= 500:
            raise TransientDeliveryError(
                f"Slack webhook server error {status}: {reason}", code=f"http_{status}"
            )
        hint = {
            "no_service": "the webhook was revoked or the URL is wrong",
            "invalid_token": "the webhook was revoked or the URL is wrong",
            "no_active_hooks": "the webhook is disabled",
            "channel_not_found": "the webhook's channel no longer exists",
            "channel_is_archived": "the webhook's channel is archived",
            "action_prohibited": "a workspace admin has restricted posting",
            "invalid_payload": "Slack rejected the message payload",
            "no_text": "the message has no text",
            "too_many_attachments": "the message has too many attachments",
        }.get(text, "Slack refused the message")
        raise PermanentDeliveryError(
            f"Slack webhook refused the message ({status} {reason}): {hint}",
            code=text or str(status),
        )


class SlackBot:
    """Posts, replies to and edits messages in one channel with a bot token."""

    def __init__(
        self,
        token: str,
        channel: str,
        *,
        base_url: str = "https://slack.com/api/",
        timeout: float = 10,
        rate_limit_retries: int = 2,
        max_inline_wait: float = 30.0,
    ) -> None:
        self._token = token
        self.channel = channel
        self.timeout = max(int(timeout), 1)  # seconds, as the SDK takes it
        self._client = WebClient(
            token=token,
            base_url=base_url if base_url.endswith("/") else base_url + "/",
            timeout=self.timeout,
            retry_handlers=[_BoundedRateLimitRetry(rate_limit_retries, max_inline_wait)],
            logger=logging.getLogger("bot.integration.slack.sdk"),
        )

    def __repr__(self) -> str:
        return f"SlackBot(channel={self.channel!r}, token=[redacted])"

    async def post(
        self, message: Message, *, tag: Message | None = None, thread_ts: str | None = None
    ) -> SlackPost:
        """``chat.postMessage`` to the channel (or a reply in the thread of ``thread_ts``); the
        returned ``ts`` identifies the message. ``tag`` is the message ``metadata``
        (``{"event_type": ..., "event_payload": {...}}``) that :meth:`find_tagged` looks for."""
        arguments = dict(message)
        if tag is not None:
            arguments["metadata"] = tag
        if thread_ts is not None:
            arguments["thread_ts"] = thread_ts
        return await self._call("chat.postMessage", self._client.chat_postMessage, arguments)

    async def reply(self, thread_ts: str, message: Message) -> SlackPost:
        """A reply in the thread of an earlier message."""
        return await self.post(message, thread_ts=thread_ts)

    async def find_tagged(
        self, tag: Message, *, oldest: float, thread_ts: str | None = None
    ) -> SlackPost | None:
        """The message of this channel posted since ``oldest`` (Unix time) whose ``metadata``
        equals ``tag``, or None when there is none. Reads ``conversations.history`` (the
        replies of ``thread_ts`` instead, when given) with ``include_all_metadata``.

        Raises :class:`AmbiguousDeliveryError` (not verifiable) when the answer cannot be known:
        the token may not read the channel, or more messages were posted since than are read."""
        method = "conversations.replies" if thread_ts else "conversations.history"
        cursor: str | None = None
        for _page in range(HISTORY_MAX_PAGES):
            arguments: dict[str, Any] = {
                "channel": self.channel,
                "oldest": f"{oldest:.6f}",
                "limit": HISTORY_PAGE_SIZE,
                "include_all_metadata": True,
            }
            if thread_ts:
                arguments["ts"] = thread_ts
            if cursor:
                arguments["cursor"] = cursor
            function: Callable[..., Any] = (
                self._client.conversations_replies
                if thread_ts
                else self._client.conversations_history
            )
            try:
                response = await asyncio.to_thread(function, **arguments)
            except SlackApiError as exc:
                error = self._api_error(method, exc)
                if isinstance(error, PermanentDeliveryError):
                    raise AmbiguousDeliveryError(
                        f"cannot check whether the message was posted: {error}",
                        code=error.code,
                        verifiable=False,
                    ) from None
                raise error from None
            except Exception as exc:
                raise _connection_error(exc, f"Slack {method}", [self._token]) from None
            for item in response.get("messages") or []:
                if isinstance(item, dict) and item.get("metadata") == tag:
                    return SlackPost(ts=str(item.get("ts")), channel=self.channel)
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not response.get("has_more") or not cursor:
                return None
        raise AmbiguousDeliveryError(
            f"cannot check whether the message was posted: more than "
            f"{HISTORY_MAX_PAGES * HISTORY_PAGE_SIZE} messages in channel {self.channel} since",
            code="history_too_long",
            verifiable=False,
        )

    async def update(self, ts: str, message: Message) -> SlackPost:
        """``chat.update``: replace an earlier message's text and blocks."""
        return await self._call("chat.update", self._client.chat_update, {**message, "ts": ts})

    async def _call(self, method: str, function: Callable[..., Any], message: Message) -> SlackPost:
        arguments = {"channel": self.channel, **message}
        if method == "chat.postMessage":
            arguments.update(unfurl_links=False, unfurl_media=False)
        try:
            response = await asyncio.to_thread(function, **arguments)
        except SlackApiError as exc:
            raise self._api_error(method, exc) from None
        except SlackRequestError as exc:
            raise PermanentDeliveryError(
                f"Slack {method}: invalid request ({redact(str(exc), [self._token])})",
                code="invalid_request",
            ) from None
        except Exception as exc:
            # chat.update replaces a message: doing it twice is harmless, so it is not in doubt
            verifiable = method == "chat.postMessage"
            error = _connection_error(exc, f"Slack {method}", [self._token], verifiable=verifiable)
            if method != "chat.postMessage" and isinstance(error, AmbiguousDeliveryError):
                error = TransientDeliveryError(str(error), code=error.code)
            raise error from None
        return SlackPost(ts=response.get("ts"), channel=response.get("channel"))

    def _api_error(self, method: str, exc: SlackApiError) -> DeliveryError:
        response = exc.response
        status = response.status_code
        data = response.data if isinstance(response.data, dict) else {}
        error = str(data.get("error") or f"http_{status}")
        error = redact(error, [self._token])[:200]
        where = f"Slack {method} to channel {self.channel}"
        if status == 429 or error in ("ratelimited", "rate_limited"):
            retry_after = _retry_after(response.headers)
            return TransientDeliveryError(
                f"{where}: rate limited, retry after {retry_after or '?'} s",
                code="ratelimited",
                retry_after=retry_after,
            )
        if status >= 500 or error in TRANSIENT_API_ERRORS:
            return TransientDeliveryError(f"{where}: {error} (HTTP {status})", code=error)
        hint = {
            "invalid_auth": "the bot token is invalid",
            "not_authed": "no bot token was sent",
            "invalid_token": "the bot token is malformed",
            "token_revoked": "the bot token was revoked",
            "token_expired": "the bot token has expired",
            "account_inactive": "the bot's account was deactivated",
            "no_permission": "the token lacks a scope (chat:write)",
            "missing_scope": (
                "the token lacks a scope: chat:write to post, channels:history "
                "(groups:history for a private channel) to check a post in doubt"
            ),
            "channel_not_found": "check the channel id, and invite the bot to the channel",
            "not_in_channel": "invite the bot to the channel",
            "is_archived": "the channel is archived",
            "invalid_blocks": "Slack rejected the message blocks",
            "invalid_blocks_format": "Slack rejected the message blocks",
            "msg_too_long": "the message is too long",
            "msg_blocks_too_long": "the message blocks are too long",
            "message_not_found": "the message to edit no longer exists",
            "cant_update_message": "the message cannot be edited by this bot",
        }.get(error, "Slack refused the request")
        return PermanentDeliveryError(f"{where}: {error}: {hint}", code=error)


async def post_messages(
    post: Callable[[Message], Awaitable[SlackPost]],
    messages: Sequence[Message],
    *,
    already_sent: int = 0,
) -> list[SlackPost]:
    """Post the messages of one digest in order, skipping the first ``already_sent``.

    On failure the raised :class:`DeliveryError` has ``sent_parts`` set to the number of messages
    delivered so far (including ``already_sent``), so the outbox resumes without posting any twice.
    """
    posts: list[SlackPost] = []
    for index in range(already_sent, len(messages)):
        try:
            posts.append(await post(messages[index]))
        except DeliveryError as exc:
            exc.sent_parts = index
            raise
    return posts


def _retry_after(headers: Any) -> float | None:
    value = None
    for key, item in dict(headers or {}).items():
        if str(key).lower() == "retry-after":
            value = item[0] if isinstance(item, list) and item else item
            break
    try:
        seconds = float(str(value).strip())
    except (TypeError, ValueError):
        return None
    return seconds if seconds >= 0 else None


def _connection_error(
    exc: Exception, where: str, secrets: list[str], *, verifiable: bool = True
) -> DeliveryError:
    """Failures below HTTP: refused, reset, DNS, timeout; none carry secrets.

    urllib raises ``URLError`` for a failure while connecting or sending the request: Slack
    never had all of it, so it is transient. Anything else (a timeout or a dropped connection
    while waiting for the answer) came after the body was sent: the message may have been
    posted, so it is ambiguous."""
    sent = not isinstance(exc, URLError)
    reason: object = exc.reason if isinstance(exc, URLError) else exc
    if isinstance(reason, TimeoutError | socket.timeout):
        code = "timeout"
    elif isinstance(reason, socket.gaierror):
        code = "dns"
    elif isinstance(reason, ConnectionError | OSError):
        code = "connect" if not sent else "dropped"
    else:
        code = "error"
    detail = redact(f"{type(reason).__name__}: {reason}", secrets)[:300]
    if sent:
        return AmbiguousDeliveryError(
            f"{where}: no answer after the request was sent ({detail}); "
            "it may or may not have been posted",
            code=code,
            verifiable=verifiable,
        )
    return TransientDeliveryError(f"{where}: could not reach Slack ({detail})", code=code)
