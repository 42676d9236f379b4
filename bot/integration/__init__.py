"""Delivery to the outside world: Slack (``bot.integration.slack``) and email
(``bot.integration.email``), with one error hierarchy the worker's outbox classifies retries by."""

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
