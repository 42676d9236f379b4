"""The channel registry: each channel ``type`` a configuration may name, with the settings class
of its ``[channels.<type>]`` table and the factory of its :class:`~bot.integration.channel.Channel`.

Adding a channel type is a folder under ``bot/integration/``, a settings class in
``bot/config/settings.py`` and one entry here. It lives apart from ``channel.py`` because it
imports every channel, and every channel imports ``channel.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.config import (
    ChannelBase,
    ChannelSettings,
    EmailChannelSettings,
    SlackChannelSettings,
    WebhookChannelSettings,
)
from bot.integration.channel import Channel
from bot.integration.email.channel import EmailChannel
from bot.integration.slack.channel import SlackChannel
from bot.integration.webhook.channel import WebhookChannel


class UnknownChannelType(LookupError):
    """A channel whose ``type`` has no entry in :data:`CHANNEL_TYPES`."""


@dataclass(frozen=True, slots=True)
class ChannelType:
    settings: type[ChannelBase]  # the class a [[channels]] entry of this type validates as
    factory: Callable[[Any], Channel]


CHANNEL_TYPES: dict[str, ChannelType] = {
    "slack": ChannelType(SlackChannelSettings, SlackChannel),
    "email": ChannelType(EmailChannelSettings, EmailChannel),
    "webhook": ChannelType(WebhookChannelSettings, WebhookChannel),
}


def open_channel(settings: ChannelSettings) -> Channel:
    """The channel configured by ``settings``; raises :class:`UnknownChannelType` naming a type
    that no entry registers (never another type's channel in its place)."""
    entry = CHANNEL_TYPES.get(settings.type)
    if entry is None:
        known = ", ".join(sorted(CHANNEL_TYPES))
        raise UnknownChannelType(
            f"channel {settings.name!r} has type {settings.type!r}, which no channel registers "
            f"(known: {known})"
        )
    if not isinstance(settings, entry.settings):
        raise UnknownChannelType(
            f"channel {settings.name!r} of type {settings.type!r} is configured by "
            f"{type(settings).__name__}, not {entry.settings.__name__}"
        )
    return entry.factory(settings)
