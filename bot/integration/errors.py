"""Delivery failures, classified for the outbox: retry later, give up and report loudly, or - when
the request may have arrived - find out before anything is sent again.

Every delivery client (Slack, email) raises only these, so the worker decides retries from the class
alone. Messages are written for an operator and never carry a secret: callers pass the webhook URL,
token or password to :func:`redact` before building a message from anything a library printed.
"""

from __future__ import annotations

from collections.abc import Iterable


class DeliveryError(Exception):
    """A digest (or one part of it) could not be delivered.

    ``code`` is a short machine-readable reason (``"ratelimited"``, ``"invalid_auth"``,
    ``"smtp_550"``, ``"connect"``...) for metrics and ``newsbot digests``; ``str(error)`` is the
    human-readable message. ``sent_parts`` counts the messages of a multi-message digest that were
    delivered before the failure, so a retry resumes after them instead of posting them twice.
    """

    transient: bool = False

    def __init__(self, message: str, *, code: str = "error", sent_parts: int = 0) -> None:
        super().__init__(message)
        self.code = code
        self.sent_parts = sent_parts

    @property
    def message(self) -> str:
        return str(self)


class TransientDeliveryError(DeliveryError):
    """Worth retrying: rate limits, 5xx, SMTP 4xx, timeouts, refused or dropped connections.

    ``retry_after`` is the delay in seconds the server asked for (Slack's 429 ``Retry-After``),
    or None when the worker's own back-off applies.
    """

    transient = True

    def __init__(
        self,
        message: str,
        *,
        code: str = "error",
        retry_after: float | None = None,
        sent_parts: int = 0,
    ) -> None:
        super().__init__(message, code=code, sent_parts=sent_parts)
        self.retry_after = retry_after


class AmbiguousDeliveryError(DeliveryError):
    """The request may or may not have been delivered: the connection timed out or dropped after
    the body was sent, or the process died while it was in flight. Never retried blindly.

    ``verifiable`` says whether the receiver can be asked (a Slack bot token reads the channel's
    history); an unverifiable one (a webhook, or a lookup the token is not allowed to make) is
    left for the operator. ``retry_after`` is the earliest sensible look-up, in seconds.
    """

    transient = False

    def __init__(
        self,
        message: str,
        *,
        code: str = "unknown",
        verifiable: bool,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, code=code)
        self.verifiable = verifiable
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """Retrying cannot help until someone fixes configuration: bad credentials, unknown channel,
    a payload the server rejects, a recipient the SMTP server refuses."""

    transient = False


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Replace every occurrence of each non-empty secret in ``text`` with ``[redacted]``."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return text
