"""The email channel (:class:`bot.integration.channel.Channel`): a digest as one MIME message
(text and HTML), stored whole in the outbox and sent over SMTP to every recipient at once.

A connection lost after the message was handed over is retried (SMTP cannot be asked whether it
arrived), so a digest may then arrive twice; email has no updates in place.
"""

from __future__ import annotations

import email
import email.policy
from collections.abc import Callable, Mapping
from typing import Any

from bot.config import EmailChannelSettings
from bot.config.settings import SecretUnavailable
from bot.digest.render import render_email
from bot.integration.channel import DeliveryRecord, Payload, foreign_payload, secret_failure
from bot.integration.email.sender import send_email
from bot.model import Digest, DigestStory


class EmailChannel:
    """A ``type = "email"`` channel."""

    supports_updates = False

    def __init__(self, channel: EmailChannelSettings) -> None:
        self.name = channel.name
        self.settings = channel.email

    def render(self, digest: Digest) -> Payload:
        message = render_email(
            digest, from_addr=self.settings.from_addr, to=self.settings.to, date=digest.period_end
        )
        return {"format": "email", "eml": message.as_string()}

    def render_update(
        self, story: DigestStory, ref: str, posted: Callable[[], Mapping[str, Any] | None]
    ) -> Payload | None:
        return None

    async def send(self, payload: Payload, record: DeliveryRecord) -> dict[str, Any]:
        if payload.get("format") != "email":
            raise foreign_payload(self.name, "email", payload)
        try:
            self.settings.resolved_password()
        except SecretUnavailable as exc:
            raise secret_failure(self.name, "email", exc) from None
        mail = email.message_from_string(payload["eml"], policy=email.policy.default)
        receipt = await send_email(mail, self.settings)
        return {"message_id": mail.get("Message-ID"), "refused": receipt.refused}
