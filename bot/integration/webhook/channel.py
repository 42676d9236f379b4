"""The webhook channel (:class:`bot.integration.channel.Channel`): the digest as one JSON
document (:func:`digest_document`, ``"schema": "newsbot.digest/1"``) POSTed with httpx to the
configured URL, with the configured headers and an ``Idempotency-Key`` header naming the outbox
row (the same at every attempt, so a receiver can drop a repeat).

Outcomes, as the Slack webhook's: any 2xx is delivered. 408, 429 (with its ``Retry-After``) and
5xx, and a failure before the request was sent (connect, DNS, a pool or write timeout) are
transient and retried by the outbox. Any other status is permanent. A timeout or a dropped
connection *after* the body was sent is in doubt: the row becomes ``unknown`` and is never
posted again by itself (a receiver cannot be asked; ``newsbot digests --resend ID``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from bot.config import WebhookChannelSettings
from bot.config.settings import SecretUnavailable
from bot.integration.channel import (
    DeliveryRecord,
    Payload,
    foreign_payload,
    post_once,
    secret_failure,
)
from bot.integration.errors import (
    AmbiguousDeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    redact,
)
from bot.model import Digest, DigestStory

SCHEMA = "newsbot.digest/1"
FORMAT = "webhook"
# Failures while connecting or sending: the receiver never had the whole request.
NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.WriteError,
    httpx.WriteTimeout,
    httpx.UnsupportedProtocol,
)


def digest_document(digest: Digest) -> dict[str, Any]:
    """The JSON document of a digest (README, "Webhook channel")."""

    def when(moment: Any) -> str | None:
        return moment.isoformat() if moment is not None else None

    return {
        "schema": SCHEMA,
        "channel": digest.channel,
        "title": digest.title,
        "period_start": when(digest.period_start),
        "period_end": when(digest.period_end),
        "timezone": digest.timezone,
        "stories": [_story(story, when) for story in digest.stories],
        "more_count": digest.more_count,
        "unhealthy_feeds": list(digest.unhealthy_feeds),
    }


def _story(story: DigestStory, when: Callable[[Any], str | None]) -> dict[str, Any]:
    return {
        "id": story.story_id,
        "version": story.version,
        "headline": story.headline,
        "link": story.link,
        "summary": story.summary,
        "score": round(story.score, 3),
        "updated": story.updated,
        "first_seen": when(story.first_seen),
        "facts": story.facts.to_json(),
        "sources": [
            {
                "outlet": source.outlet,
                "title": source.title,
                "link": source.link,
                "published": when(source.published),
            }
            for source in story.sources
        ],
    }


async def post_json(
    url: str, document: Mapping[str, Any], *, headers: Mapping[str, str], timeout: float
) -> int:
    """POST ``document``; returns the 2xx status or raises a :class:`DeliveryError` subclass
    whose message never carries the URL or a header value."""
    secrets = [url, *headers.values()]
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=False) as client:
            response = await client.post(url, json=dict(document), headers=dict(headers))
    except NOT_SENT as exc:
        raise TransientDeliveryError(
            f"webhook: could not deliver ({type(exc).__name__}: {redact(str(exc), secrets)})",
            code="connect",
        ) from None
    except httpx.HTTPError as exc:  # read timeout, dropped connection: the body was sent
        raise AmbiguousDeliveryError(
            f"webhook: no answer after the digest was sent ({type(exc).__name__}: "
            f"{redact(str(exc), secrets)[:200]}); it may or may not have arrived",
            code="timeout" if isinstance(exc, httpx.TimeoutException) else "dropped",
            verifiable=False,
        ) from None
    status = response.status_code
    if 200 <= status < 300:
        return status
    reason = redact(" ".join(response.text.split())[:200], secrets) or response.reason_phrase
    if status in (408, 429) or status >= 500:
        retry_after = _seconds(response.headers.get("retry-after"))
        raise TransientDeliveryError(
            f"webhook: HTTP {status} ({reason}), retried later",
            code=f"http_{status}",
            retry_after=retry_after,
        )
    raise PermanentDeliveryError(
        f"webhook refused the digest: HTTP {status} ({reason}); check the channel's "
        "webhook url and headers",
        code=f"http_{status}",
    )


def _seconds(value: str | None) -> float | None:
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None
    return seconds if seconds is not None and seconds >= 0 else None


class WebhookChannel:
    """A ``type = "webhook"`` channel."""

    supports_updates = False

    def __init__(self, channel: WebhookChannelSettings) -> None:
        self.name = channel.name
        self.settings = channel.webhook

    def render(self, digest: Digest) -> Payload:
        return {"format": FORMAT, "document": digest_document(digest)}

    def render_update(
        self, story: DigestStory, ref: str, posted: Callable[[], Mapping[str, Any] | None]
    ) -> Payload | None:
        return None

    async def send(self, payload: Payload, record: DeliveryRecord) -> dict[str, Any]:
        if payload.get("format") != FORMAT:
            raise foreign_payload(self.name, "webhook", payload)
        try:
            url = self.settings.resolved_url().get_secret_value()
            headers = {
                name: secret.get_secret_value()
                for name in self.settings.headers
                if (secret := self.settings.resolved_header(name)) is not None
            }
        except SecretUnavailable as exc:
            raise secret_failure(self.name, "webhook", exc) from None
        headers["Idempotency-Key"] = record.key
        document = payload["document"]

        async def post() -> int:
            return await post_json(url, document, headers=headers, timeout=self.settings.timeout)

        status = await post_once(
            record, 0, post, where=f"channel {self.name}: webhook", timeout_s=self.settings.timeout
        )
        record.save_progress({"sent_parts": [0]})  # no longer in doubt
        return {"status": status}
