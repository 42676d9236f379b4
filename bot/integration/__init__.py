"""Delivery to the outside world: one folder per channel type (``bot.integration.slack``,
``bot.integration.email``), each implementing :class:`bot.integration.channel.Channel` and chosen
by type from :mod:`bot.integration.registry`, with one error hierarchy the worker's outbox
classifies retries by."""

from bot.integration.errors import (
    AmbiguousDeliveryError,
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    redact,
)

__all__ = [
    "AmbiguousDeliveryError",
    "DeliveryError",
    "PermanentDeliveryError",
    "TransientDeliveryError",
    "redact",
]
