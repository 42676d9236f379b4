"""Email delivery over SMTP with aiosmtplib: STARTTLS, implicit TLS, or plain on localhost.

``send_email`` is a coroutine, like the Slack clients, so the daemon's event loop drives delivery.
The envelope comes from the channel's settings (sender address without display name, every ``to``
recipient), so one message reaches several recipients in one transaction.

Errors are classified for the outbox: a refused, dropped or timed-out connection and SMTP 4xx
replies are transient; SMTP 5xx replies (bad credentials, refused sender or recipients, rejected
content), a server that lacks STARTTLS when it is required, and certificate failures are
permanent. When the server accepts some recipients and refuses others the message has been
delivered, so nothing is raised (a retry would duplicate it to the others); the refusals are
logged and returned.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses, parseaddr

import aiosmtplib

from bot.config import EmailSettings
from bot.config.settings import SecretUnavailable
from bot.integration.errors import (
    DeliveryError,
    PermanentDeliveryError,
    TransientDeliveryError,
    redact,
)
from bot.text.plural import plural

log = logging.getLogger(__name__)


@dataclass(slots=True, frozen=True)
class EmailReceipt:
    """Who the server accepted, and who it refused (address -> SMTP reply) while taking the rest."""

    accepted: list[str]
    refused: dict[str, str] = field(default_factory=dict)


async def send_email(
    message: EmailMessage,
    settings: EmailSettings,
    *,
    tls_context: ssl.SSLContext | None = None,
) -> EmailReceipt:
    """Send ``message`` to ``settings.to``.

    ``tls_context`` overrides certificate verification (for a private CA). Raises
    :class:`TransientDeliveryError` or :class:`PermanentDeliveryError`.
    """
    where = f"SMTP {settings.host}:{settings.port}"
    try:
        secret = settings.resolved_password()
    except SecretUnavailable as exc:
        raise PermanentDeliveryError(
            f"{where}: {exc.key}: {exc.problem}", code="secret_unavailable"
        ) from None
    password = secret.get_secret_value() if secret is not None else None
    sender = parseaddr(settings.from_addr)[1]
    recipients = [address for _, address in getaddresses(settings.to) if address]
    try:
        errors, _ = await aiosmtplib.send(
            message,
            sender=sender,
            recipients=recipients,
            hostname=settings.host,
            port=settings.port,
            username=settings.username,
            password=password,
            use_tls=settings.tls == "implicit",
            # explicit False: aiosmtplib's default (None) would upgrade opportunistically
            start_tls=settings.tls == "starttls",
            tls_context=tls_context,
            timeout=settings.timeout,
        )
    except Exception as exc:
        raise _classify(exc, where, [password]) from None
    refused = {address: f"{reply.code} {reply.message}" for address, reply in errors.items()}
    if refused:
        log.warning(
            "%s accepted the digest but refused %s: %s",
            where,
            plural(len(refused), "recipient"),
            "; ".join(f"{address}: {reply}" for address, reply in refused.items()),
        )
    return EmailReceipt(accepted=[r for r in recipients if r not in refused], refused=refused)


def _classify(exc: Exception, where: str, secrets: list[str | None]) -> DeliveryError:
    def clean(text: object) -> str:
        return redact(" ".join(str(text).split()), secrets)[:300]

    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        replies = [(r.code, f"{r.recipient}: {r.code} {clean(r.message)}") for r in exc.recipients]
        detail = "; ".join(text for _, text in replies)
        message = f"{where} refused every recipient ({detail})"
        if all(400 <= code < 500 for code, _ in replies):
            return TransientDeliveryError(message, code="smtp_4xx")
        return PermanentDeliveryError(message, code="smtp_recipients_refused")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        what = {
            aiosmtplib.SMTPAuthenticationError: "refused the login (check username and password)",
            aiosmtplib.SMTPSenderRefused: "refused the sender address",
            aiosmtplib.SMTPDataError: "refused the message",
            aiosmtplib.SMTPHeloError: "refused the greeting",
        }.get(type(exc), "answered with an error")
        message = f"{where} {what}: {exc.code} {clean(exc.message)}"
        if 400 <= exc.code < 500 or exc.code < 0:
            return TransientDeliveryError(message, code=f"smtp_{exc.code}")
        return PermanentDeliveryError(message, code=f"smtp_{exc.code}")
    # aiosmtplib raises a bare SMTPException when a required STARTTLS is not offered
    if isinstance(exc, aiosmtplib.SMTPNotSupported) or (
        type(exc) is aiosmtplib.SMTPException and "not supported" in str(exc)
    ):
        return PermanentDeliveryError(
            f"{where}: {clean(exc)} (tls = 'starttls' needs a server that offers STARTTLS; "
            "use tls = 'implicit' for port 465)",
            code="smtp_not_supported",
        )
    if isinstance(exc, ssl.SSLCertVerificationError) or isinstance(
        getattr(exc, "__cause__", None), ssl.SSLCertVerificationError
    ):
        return PermanentDeliveryError(
            f"{where}: the server's TLS certificate was not accepted ({clean(exc)})",
            code="tls_certificate",
        )
    if isinstance(exc, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return TransientDeliveryError(f"{where}: timed out ({clean(exc)})", code="timeout")
    if isinstance(exc, aiosmtplib.SMTPException | OSError):
        return TransientDeliveryError(
            f"{where}: could not deliver ({type(exc).__name__}: {clean(exc)})", code="connect"
        )
    return PermanentDeliveryError(
        f"{where}: unexpected failure ({type(exc).__name__}: {clean(exc)})", code="error"
    )
