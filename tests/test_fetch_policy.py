"""The fetch policy (issue 18, SSRF): no loopback, private, link-local or metadata targets unless
`fetch.allow_private_networks` is set; checked on every redirect hop and after resolution, and
the connection goes to the address that was checked.

A "public" host is played by a FeedServer on 127.0.0.2 that the test's address check calls
public (no test may depend on the internet); everything else is the real policy."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import ssl
import threading
import urllib.request
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from support.daemon_proc import DaemonProcess, scalar, wait_for, write_config

from bot.config.settings import FetchSettings
from bot.demo.server import FeedServer
from bot.model import FetchOutcome, FetchStatus
from bot.reader.fetcher import FeedRequest, Fetcher
from bot.reader.fetcher.policy import IPAddress, blocked_kind, system_resolve

FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Internal</title>'
    b"<item><title>Secret deal</title><link>https://internal.example/1</link></item>"
    b"</channel></rss>"
)
PUBLIC = ipaddress.ip_address("127.0.0.2")
PUBLIC_NAME = "news.example"
ALLOW = "set fetch.allow_private_networks = true to poll internal feeds"


@pytest.fixture
def internal() -> Iterator[FeedServer]:
    with FeedServer({"/secret.rss": FEED}) as server:
        yield server


@pytest.fixture
def public() -> Iterator[FeedServer]:
    with FeedServer(host=str(PUBLIC)) as server:
        yield server


def stand_in_classify(address: IPAddress) -> str | None:
    """The real check, except that the stand-in public server's address passes."""
    return None if address == PUBLIC else blocked_kind(address)


class StandInResolver:
    """The system resolver, except that PUBLIC_NAME resolves to the stand-in public server."""

    def __init__(self, *answers: Sequence[IPAddress]) -> None:
        self.answers = list(answers) or [[PUBLIC]]
        self.lookups: list[str] = []

    async def __call__(self, host: str, port: int) -> Sequence[IPAddress]:
        if host != PUBLIC_NAME:
            return await system_resolve(host, port)
        self.lookups.append(host)
        return self.answers[min(len(self.lookups), len(self.answers)) - 1]


def fetch(
    url: str, *, allow: bool = False, resolver: StandInResolver | None = None
) -> FetchOutcome:
    async def run() -> FetchOutcome:
        settings = FetchSettings(allow_private_networks=allow, total_timeout=10.0)
        async with Fetcher(
            settings, resolve=resolver or StandInResolver(), classify=stand_in_classify
        ) as fetcher:
            return await fetcher.fetch(FeedRequest(url))

    return asyncio.run(run())


def public_url(public: FeedServer, path: str) -> str:
    return f"http://{PUBLIC_NAME}:{public.port}/{path}"


def test_a_loopback_url_is_blocked_by_default(internal: FeedServer) -> None:
    outcome = fetch(internal.url("secret.rss"))
    assert outcome.status is FetchStatus.ERROR and outcome.body is None
    assert outcome.error_class == "blocked"
    assert outcome.error_message == f"127.0.0.1 is a loopback address; {ALLOW}"
    assert internal.hits("/secret.rss") == 0


def test_a_name_is_checked_after_resolution(internal: FeedServer) -> None:
    outcome = fetch(internal.url("secret.rss").replace("127.0.0.1", "localhost"))
    assert outcome.error_class == "blocked"
    assert outcome.error_message is not None
    assert outcome.error_message.startswith("localhost resolves to ")
    assert "a loopback address" in outcome.error_message
    assert internal.hits("/secret.rss") == 0


@pytest.mark.parametrize("by_name", [False, True], ids=["to-address", "to-name"])
def test_a_public_feed_redirecting_to_loopback_is_blocked(
    public: FeedServer, internal: FeedServer, by_name: bool
) -> None:
    target = internal.url("secret.rss")
    if by_name:
        target = target.replace("127.0.0.1", "localhost")
    public.set_status("/feed.rss", 302, {"Location": target})
    outcome = fetch(public_url(public, "feed.rss"))
    assert outcome.error_class == "blocked" and outcome.body is None
    assert outcome.error_message is not None
    if by_name:
        assert outcome.error_message.startswith(
            "the feed redirects to localhost, which resolves to "
        )
    else:
        assert outcome.error_message == (
            f"the feed redirects to 127.0.0.1, a loopback address; {ALLOW}"
        )
    assert public.hits("/feed.rss") == 1
    assert internal.hits("/secret.rss") == 0


def test_the_switch_allows_loopback_and_redirects_to_it(
    public: FeedServer, internal: FeedServer
) -> None:
    public.set_status("/feed.rss", 302, {"Location": internal.url("secret.rss")})
    direct = fetch(internal.url("secret.rss"), allow=True)
    # With the switch on the system resolver alone is used: the stand-in is reached by address.
    redirected = fetch(public.url("feed.rss"), allow=True)
    assert direct.status is FetchStatus.OK and direct.body == FEED
    assert redirected.status is FetchStatus.OK and redirected.body == FEED
    assert redirected.final_url == internal.url("secret.rss")


def test_the_request_goes_to_the_checked_address_with_the_feeds_host_name(
    public: FeedServer, internal: FeedServer
) -> None:
    # A rebinding resolver: public for the first answer, loopback for any later one.
    resolver = StandInResolver([PUBLIC], [ipaddress.ip_address("127.0.0.1")])
    public.set("/feed.rss", FEED)
    outcome = fetch(public_url(public, "feed.rss"), resolver=resolver)
    assert outcome.status is FetchStatus.OK and outcome.body == FEED
    assert resolver.lookups == [PUBLIC_NAME]  # resolved once: the connection used that answer
    [request] = public.requests
    assert request.header("host") == f"{PUBLIC_NAME}:{public.port}"


def _certificate_for(name: str, directory: Path) -> tuple[Path, Path]:
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def test_https_verifies_the_feeds_host_name_on_the_checked_address(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cert, key = _certificate_for(PUBLIC_NAME, tmp_path)
    server_names: list[str | None] = []
    hosts: list[str | None] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hosts.append(self.headers["Host"])
            self.send_response(200)
            self.send_header("Content-Length", str(len(FEED)))
            self.end_headers()
            self.wfile.write(FEED)

        def log_message(self, format: str, *args: object) -> None:
            pass

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _socket, name, _context: server_names.append(name)
    httpd = ThreadingHTTPServer((str(PUBLIC), 0), Handler)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    # The machine's trust store, standing in for a public CA, trusts the test's certificate.
    trusting = ssl.create_default_context(cafile=str(cert))
    monkeypatch.setattr("bot.reader.fetcher.transport.default_ssl_context", lambda: trusting)
    try:
        port = httpd.server_address[1]
        outcome = fetch(f"https://{PUBLIC_NAME}:{port}/feed.rss")
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert outcome.status is FetchStatus.OK and outcome.body == FEED, outcome.error_message
    assert server_names == [PUBLIC_NAME]
    assert hosts == [f"{PUBLIC_NAME}:{port}"]


def test_one_internal_address_among_public_ones_blocks_the_name(public: FeedServer) -> None:
    resolver = StandInResolver([PUBLIC, ipaddress.ip_address("10.1.2.3")])
    public.set("/feed.rss", FEED)
    outcome = fetch(public_url(public, "feed.rss"), resolver=resolver)
    assert outcome.error_message == (
        f"{PUBLIC_NAME} resolves to 10.1.2.3, a private address; {ALLOW}"
    )
    assert public.hits("/feed.rss") == 0


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("::ffff:127.0.0.1", "a loopback address"),
        ("64:ff9b::7f00:1", "a loopback address"),
        ("2002:7f00:1::", "a loopback address"),
        ("10.0.0.1", "a private address"),
        ("172.16.5.4", "a private address"),
        ("192.168.1.1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("169.254.169.254", "a cloud metadata address"),
        ("fd00:ec2::254", "a cloud metadata address"),
        ("100.100.100.200", "a cloud metadata address"),
        ("169.254.10.1", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("224.0.0.1", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("100.64.0.1", "a shared (carrier-grade NAT) address"),
        ("240.0.0.1", "a private address"),
        ("192.0.2.1", "a private address"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_address_kinds(address: str, kind: str | None) -> None:
    assert blocked_kind(ipaddress.ip_address(address)) == kind


def test_the_daemon_reports_a_blocked_feed_counts_it_and_stores_nothing(
    sqlite_url: str, internal: FeedServer, tmp_path: Path
) -> None:
    url = internal.url("secret.rss")
    config = write_config(
        tmp_path / "newsbot.toml",
        db_url=sqlite_url,
        feed_urls=[url],
        allow_private_networks=False,
    )
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        base = daemon.health_url()
        failed = "SELECT count(*) FROM feeds WHERE last_error_class = 'blocked'"
        wait_for(lambda: scalar(sqlite_url, failed) == 1, 60, "the feed to be blocked")
        # the daemon's summary line (not the poller's logger name, "bot.worker.poll:")
        wait_for(lambda: "app: poll: " in daemon.output, 60, "the poll to finish")
        with urllib.request.urlopen(base + "/metrics", timeout=10) as response:
            metrics = response.read().decode()
    finally:
        assert daemon.stop() == 0, daemon.output
    assert 'newsbot_fetch_errors_total{error_class="blocked"} 1.0' in metrics
    assert scalar(sqlite_url, "SELECT count(*) FROM entries") == 0
    assert internal.hits("/secret.rss") == 0
    assert f"(blocked): 127.0.0.1 is a loopback address; {ALLOW}" in daemon.output
    assert "Traceback" not in daemon.output


def test_the_daemon_polls_loopback_feeds_with_the_switch_on(
    sqlite_url: str, internal: FeedServer, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "newsbot.toml",
        db_url=sqlite_url,
        feed_urls=[internal.url("secret.rss")],
        allow_private_networks=True,
    )
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        wait_for(
            lambda: scalar(sqlite_url, "SELECT count(*) FROM entries") == 1, 60, "the entry stored"
        )
    finally:
        assert daemon.stop() == 0, daemon.output
    assert internal.hits("/secret.rss") >= 1
