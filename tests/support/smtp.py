"""SMTP test servers: aiosmtpd on 127.0.0.1 (ephemeral port) recording what it receives.

Plain, STARTTLS (``tls="starttls"``) or implicit TLS (``tls="implicit"``) with a self-signed
certificate made by :func:`self_signed_cert` (needs ``cryptography``), optional AUTH, and switches
to refuse recipients or answer DATA with an SMTP error.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import ipaddress
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class ReceivedMail:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes

    @property
    def message(self) -> EmailMessage:
        parsed = email.message_from_bytes(self.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        return parsed


@dataclass
class RecordingHandler:
    """Records every accepted message.

    ``refuse`` maps addresses to RCPT replies; ``data_replies`` queues replies for the next DATA
    commands (e.g. ``"451 4.3.0 try again later"``).
    """

    received: list[ReceivedMail] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    data_replies: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        content = envelope.original_content or envelope.content
        self.received.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), content))
        return "250 Message accepted for delivery"


class _EphemeralController(Controller):
    """aiosmtpd's Controller bound to port 0: the chosen port is read back before first use."""

    async def _bind(self) -> Any:
        server = await self.loop.create_server(
            self._factory_invoker, host=self.hostname, port=0, ssl=self.ssl_context
        )
        self.port = server.sockets[0].getsockname()[1]
        return server

    def _create_server(self) -> Any:
        return self._bind()


@dataclass
class SMTPServer:
    host: str
    port: int
    handler: RecordingHandler
    cert_file: Path | None

    @property
    def received(self) -> list[ReceivedMail]:
        return self.handler.received

    def client_tls_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's self-signed certificate."""
        assert self.cert_file is not None
        return ssl.create_default_context(cafile=str(self.cert_file))


def self_signed_cert(directory: Path) -> tuple[Path, Path] | None:
    """A certificate for 127.0.0.1/localhost and its key, or None without ``cryptography``."""
    try:
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID
    except ImportError:
        return None
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


@contextmanager
def smtp_server(
    *,
    tls: Literal["none", "starttls", "implicit"] = "none",
    users: dict[str, str] | None = None,
    cert: tuple[Path, Path] | None = None,
) -> Iterator[SMTPServer]:
    """Run a recording SMTP server; with ``users``, AUTH is required (PLAIN/LOGIN)."""
    handler = RecordingHandler()
    kwargs: dict[str, Any] = {}
    server_context = None
    if tls != "none":
        assert cert is not None, "TLS needs a certificate (self_signed_cert)"
        server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_context.load_cert_chain(str(cert[0]), str(cert[1]))
    if tls == "starttls":
        kwargs.update(tls_context=server_context, require_starttls=True)
    if users is not None:

        def authenticator(
            server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
        ) -> AuthResult:
            ok = (
                isinstance(auth_data, LoginPassword)
                and users.get(auth_data.login.decode()) == auth_data.password.decode()
            )
            return AuthResult(success=ok, handled=False)

        kwargs.update(
            authenticator=authenticator, auth_required=True, auth_require_tls=tls == "starttls"
        )
    controller = _EphemeralController(
        handler,
        hostname="127.0.0.1",
        ssl_context=server_context if tls == "implicit" else None,
        **kwargs,
    )
    controller.start()
    try:
        yield SMTPServer("127.0.0.1", controller.port, handler, cert[0] if cert else None)
    finally:
        controller.stop()
