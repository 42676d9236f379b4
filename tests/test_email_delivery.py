"""Email delivery to a real SMTP server (aiosmtpd on 127.0.0.1): plain, STARTTLS, implicit TLS,
auth, several recipients, escaping, headers, and classified failures."""

from __future__ import annotations

import asyncio
import socket
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from support.digests import EVIL_TITLE, digest, story
from support.smtp import self_signed_cert, smtp_server

from bot.config import EmailSettings
from bot.digest.render import render_email
from bot.integration import PermanentDeliveryError, TransientDeliveryError
from bot.integration.email import send_email

TO = ["analyst@example.com", "Ünal Desk <desk@example.org>"]


def settings(port: int, **overrides: Any) -> EmailSettings:
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "tls": "none",
        "from": "Newsbot <bot@example.com>",
        "to": TO,
        "timeout": 5,
    }
    values.update(overrides)
    return EmailSettings.model_validate(values)


def digest_email() -> EmailMessage:
    evil = story(1, EVIL_TITLE, summary="Click <a href='https://evil.example'>here</a> & win.")
    return render_email(digest([evil, story(2)]), from_addr="Newsbot <bot@example.com>", to=TO)


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    made = self_signed_cert(tmp_path)
    if made is None:
        pytest.skip("the 'cryptography' package is not installed; TLS tests need a certificate")
    return made


def test_plain_localhost_delivers_both_parts_to_every_recipient() -> None:
    with smtp_server() as server:
        receipt = asyncio.run(send_email(digest_email(), settings(server.port)))
        assert len(server.received) == 1
        mail = server.received[0]
    assert mail.mail_from == "bot@example.com"
    assert sorted(mail.rcpt_tos) == ["analyst@example.com", "desk@example.org"]
    assert receipt.refused == {} and sorted(receipt.accepted) == sorted(mail.rcpt_tos)
    message = mail.message
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    assert EVIL_TITLE in plain.get_content()
    html_text = html.get_content()
    assert "&lt;!channel&gt; Free GPUs &lt;https://evil.example|click&gt;" in html_text
    assert "<a href='https://evil.example'>" not in html_text
    assert 'href="https://evil.example' not in html_text
    assert message["Message-ID"].startswith("<digest.")
    assert message["Date"] is not None
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["To"].addresses[1].display_name == "Ünal Desk"


def test_starttls_with_auth(cert: tuple[Path, Path]) -> None:
    with smtp_server(tls="starttls", users={"bot": "s3cret-pass"}, cert=cert) as server:
        config = settings(server.port, tls="starttls", username="bot", password="s3cret-pass")
        asyncio.run(send_email(digest_email(), config, tls_context=server.client_tls_context()))
        assert len(server.received) == 1


def test_wrong_password_is_permanent_and_never_shown(cert: tuple[Path, Path]) -> None:
    with smtp_server(tls="starttls", users={"bot": "right"}, cert=cert) as server:
        config = settings(server.port, tls="starttls", username="bot", password="wrong-pass-123")
        with pytest.raises(PermanentDeliveryError) as caught:
            asyncio.run(send_email(digest_email(), config, tls_context=server.client_tls_context()))
        assert server.received == []
    assert caught.value.code == "smtp_535"
    assert "refused the login" in str(caught.value)
    assert "wrong-pass-123" not in str(caught.value)


def test_implicit_tls(cert: tuple[Path, Path]) -> None:
    with smtp_server(tls="implicit", cert=cert) as server:
        config = settings(server.port, tls="implicit")
        asyncio.run(send_email(digest_email(), config, tls_context=server.client_tls_context()))
        assert len(server.received) == 1


def test_untrusted_certificate_is_permanent(cert: tuple[Path, Path]) -> None:
    with smtp_server(tls="implicit", cert=cert) as server:
        with pytest.raises(PermanentDeliveryError) as caught:
            asyncio.run(send_email(digest_email(), settings(server.port, tls="implicit")))
        assert server.received == []
    assert caught.value.code == "tls_certificate"


def test_starttls_required_but_not_offered_is_permanent() -> None:
    with smtp_server() as server:
        with pytest.raises(PermanentDeliveryError) as caught:
            asyncio.run(send_email(digest_email(), settings(server.port, tls="starttls")))
        assert server.received == []
    assert caught.value.code == "smtp_not_supported"


def test_smtp_4xx_is_transient_and_5xx_permanent() -> None:
    with smtp_server() as server:
        server.handler.data_replies.append("451 4.3.0 Try again later")
        with pytest.raises(TransientDeliveryError) as transient:
            asyncio.run(send_email(digest_email(), settings(server.port)))
        server.handler.data_replies.append("554 5.7.1 Message rejected")
        with pytest.raises(PermanentDeliveryError) as permanent:
            asyncio.run(send_email(digest_email(), settings(server.port)))
        asyncio.run(send_email(digest_email(), settings(server.port)))  # the retry succeeds
        assert len(server.received) == 1
    assert transient.value.code == "smtp_451"
    assert permanent.value.code == "smtp_554"


def test_recipient_refusals() -> None:
    with smtp_server() as server:
        server.handler.refuse["desk@example.org"] = "550 5.1.1 No such user"
        receipt = asyncio.run(send_email(digest_email(), settings(server.port)))
        assert receipt.accepted == ["analyst@example.com"]
        assert receipt.refused["desk@example.org"].startswith("550")
        assert len(server.received) == 1
        server.handler.refuse["analyst@example.com"] = "450 4.2.1 Mailbox busy"
        server.handler.refuse["desk@example.org"] = "450 4.2.1 Mailbox busy"
        with pytest.raises(TransientDeliveryError):
            asyncio.run(send_email(digest_email(), settings(server.port)))
        server.handler.refuse["analyst@example.com"] = "550 5.1.1 No such user"
        with pytest.raises(PermanentDeliveryError, match="refused every recipient"):
            asyncio.run(send_email(digest_email(), settings(server.port)))


def test_connection_refused_is_transient() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(TransientDeliveryError) as caught:
        asyncio.run(send_email(digest_email(), settings(port)))
    assert caught.value.code == "connect"
    assert f"127.0.0.1:{port}" in str(caught.value)
