"""Email rendering: a digest as a multipart/alternative message (plain text + HTML).

Both parts come from the Jinja2 templates in ``bot/digest/templates`` (the HTML one autoescaped).
Headers follow RFC 5322 through the standard library's ``email`` package: UTF-8 subject and display
names are RFC 2047-encoded, ``Date`` is set, and ``Message-ID`` is derived from the channel and
period, so a digest re-rendered after a crash keeps its identity and mail clients can de-duplicate.
``Auto-Submitted: auto-generated`` (RFC 3834) keeps auto-responders from replying to the bot.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, getaddresses, parseaddr

from bot.digest.render.common import local_time, subject_line
from bot.digest.render.mrkdwn import clean_text
from bot.digest.render.templates import environment
from bot.digest.render.text import render_text
from bot.digest.render.view import digest_context
from bot.model import Digest


def render_email_html(digest: Digest) -> str:
    """The HTML part of the digest email (also what ``--html FILE`` writes)."""
    return environment(html=True).get_template("digest.html.j2").render(digest_context(digest))


def render_email(
    digest: Digest,
    *,
    from_addr: str,
    to: list[str],
    date: datetime | None = None,
    message_id: str | None = None,
) -> EmailMessage:
    """The digest as a ready-to-send message; ``date`` defaults to now, and is written in the
    channel's time zone (``digest.timezone``) as the other times of the digest are."""
    if not to:
        raise ValueError("an email digest needs at least one recipient")
    message = EmailMessage(policy=SMTP)
    message["Subject"] = " ".join(clean_text(subject_line(digest)).split())
    message["From"] = _address_header(from_addr, "from")
    message["To"] = ", ".join(_address_header(addr, "to") for addr in to)
    message["Date"] = format_datetime(local_time(date or datetime.now(UTC), digest.timezone))
    message["Message-ID"] = message_id or digest_message_id(digest, from_addr)
    message["Auto-Submitted"] = "auto-generated"
    message["X-Newsbot-Channel"] = digest.channel
    message.set_content(
        render_text(digest), subtype="plain", charset="utf-8", cte="quoted-printable"
    )
    message.add_alternative(
        render_email_html(digest), subtype="html", charset="utf-8", cte="quoted-printable"
    )
    return message


def digest_message_id(digest: Digest, from_addr: str) -> str:
    """A Message-ID stable for one channel and period: ``<digest.<hash>@<sender domain>>``."""
    start = digest.period_start.isoformat() if digest.period_start else ""
    key = f"{digest.channel}\x00{start}\x00{digest.period_end.isoformat()}"
    digest_hash = hashlib.sha256(key.encode()).hexdigest()[:24]
    _, address = parseaddr(from_addr)
    domain = address.rpartition("@")[2] or "newsbot.invalid"
    return f"<digest.{digest_hash}@{domain}>"


def _address_header(value: str, role: str) -> str:
    """One address as a header value, display name kept; a clear error for anything malformed."""
    parsed = getaddresses([value])
    if len(parsed) != 1 or "@" not in parsed[0][1]:
        raise ValueError(f"{role} address {value!r} is not a single e-mail address")
    name, address = parsed[0]
    username, _, domain = address.rpartition("@")
    return str(Address(display_name=name, username=username, domain=domain))
