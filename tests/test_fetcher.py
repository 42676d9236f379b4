"""The fetcher against a real HTTP server on 127.0.0.1: validators, redirects, limits, caps."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
import socket
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from bot import USER_AGENT
from bot.config.settings import FetchSettings
from bot.model import FetchOutcome, FetchStatus
from bot.reader.fetcher import FeedRequest, Fetcher
from bot.reader.fetcher.transport import PerOriginTransport

FEED = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
    b"<item><title>One</title><link>https://ex.com/1</link></item></channel></rss>"
)
ETAG = '"v1"'
LAST_MODIFIED = "Mon, 03 Nov 2025 10:00:00 GMT"


class FeedServer:
    """A threaded HTTP server whose routes are plain functions of the request handler."""

    def __init__(self) -> None:
        self.routes: dict[str, Callable[[BaseHTTPRequestHandler], None]] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.client_ports: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                with server.lock:
                    server.requests.append((self.path, dict(self.headers.items())))
                    server.client_ports[self.path] = self.client_address[1]
                route = server.routes.get(self.path.split("?")[0])
                if route is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    route(self)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def send(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> None:
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    if "Content-Length" not in (headers or {}):
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def redirect(status: int, location: str) -> Callable[[BaseHTTPRequestHandler], None]:
    return lambda h: send(h, status, headers={"Location": location})


def feed_with_validators(handler: BaseHTTPRequestHandler) -> None:
    validators = {"ETag": ETAG, "Last-Modified": LAST_MODIFIED, "Cache-Control": "max-age=600"}
    if handler.headers.get("If-None-Match") == ETAG:
        send(handler, 304, headers=validators)
    else:
        send(handler, 200, FEED, {"Content-Type": "application/rss+xml", **validators})


def streamed(total: int, chunk: int = 65536) -> Callable[[BaseHTTPRequestHandler], None]:
    def route(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Connection", "close")
        handler.end_headers()
        block = b"x" * chunk
        for _ in range(total // chunk):
            handler.wfile.write(block)

    return route


def slow_headers(handler: BaseHTTPRequestHandler) -> None:
    time.sleep(1.5)
    send(handler, 200, FEED)


def trickle(handler: BaseHTTPRequestHandler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "100")
    handler.end_headers()
    for _ in range(100):
        handler.wfile.write(b"x")
        handler.wfile.flush()
        time.sleep(0.05)


GZIP_BOMB = gzip.compress(b"\0" * (64 * 1024 * 1024), compresslevel=9)


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    srv = FeedServer()
    srv.routes.update(
        {
            "/feed": feed_with_validators,
            "/plain": lambda h: send(h, 200, FEED),
            "/r301": redirect(301, "/r308"),
            "/r308": redirect(308, "/feed"),
            "/r302": redirect(302, "/feed"),
            "/r307": redirect(307, "/feed"),
            "/r301-then-302": redirect(301, "/r302"),
            "/r302-then-301": redirect(302, "/r301"),
            "/loop-a": redirect(302, "/loop-b"),
            "/loop-b": redirect(302, "/loop-a"),
            "/to-ftp": redirect(301, "ftp://127.0.0.1/feed.xml"),
            "/no-location": lambda h: send(h, 301),
            "/gone": lambda h: send(h, 410, b"gone"),
            "/busy": lambda h: send(h, 429, headers={"Retry-After": "120"}),
            "/unavailable": lambda h: send(
                h, 503, headers={"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}
            ),
            "/broken": lambda h: send(h, 500, b"oops"),
            "/slow": slow_headers,
            "/trickle": trickle,
            "/huge": streamed(3 * 1024 * 1024),
            "/huge-declared": lambda h: send(h, 200, b"x", {"Content-Length": "999999999"}),
            "/bomb": lambda h: send(h, 200, GZIP_BOMB, {"Content-Encoding": "gzip"}),
            "/gzip": lambda h: send(h, 200, gzip.compress(FEED), {"Content-Encoding": "gzip"}),
            "/deflate": lambda h: send(
                h, 200, zlib.compress(FEED), {"Content-Encoding": "deflate"}
            ),
            "/raw-deflate": lambda h: send(
                h, 200, zlib.compress(FEED, wbits=-15), {"Content-Encoding": "deflate"}
            ),
            "/bad-gzip": lambda h: send(h, 200, b"not gzip at all", {"Content-Encoding": "gzip"}),
            "/brotli": lambda h: send(h, 200, b"\x0b\x02\x80", {"Content-Encoding": "br"}),
        }
    )
    for hops in range(0, 8):
        srv.routes[f"/hops/{hops}"] = (
            redirect(302, f"/hops/{hops - 1}") if hops else (lambda h: send(h, 200, FEED))
        )
    yield srv
    srv.close()


def settings(**overrides: object) -> FetchSettings:
    base: dict[str, object] = {
        "connect_timeout": 2.0,
        "read_timeout": 5.0,
        "total_timeout": 10.0,
        "max_body_bytes": 1024 * 1024,
        "allow_private_networks": True,  # the test server is on loopback
    }
    base.update(overrides)
    return FetchSettings.model_validate(base)


def fetch(request: FeedRequest, fetch_settings: FetchSettings | None = None) -> FetchOutcome:
    async def run() -> FetchOutcome:
        async with Fetcher(fetch_settings or settings()) as fetcher:
            return await fetcher.fetch(request)

    return asyncio.run(run())


def test_ok_returns_body_validators_and_cache_lifetime(server: FeedServer) -> None:
    outcome = fetch(FeedRequest(server.url("/feed")))
    assert outcome.status is FetchStatus.OK
    assert outcome.body == FEED and outcome.http_status == 200
    assert outcome.etag == ETAG and outcome.last_modified == LAST_MODIFIED
    assert outcome.cache_max_age_s == 600
    assert outcome.content_type == "application/rss+xml"
    assert outcome.body_hash and len(outcome.body_hash) == 64
    assert outcome.final_url == server.url("/feed") and outcome.permanent_url is None


def test_user_agent_names_newsbot_and_its_url(server: FeedServer) -> None:
    fetch(FeedRequest(server.url("/plain?ua")))
    headers = next(h for path, h in server.requests if path == "/plain?ua")
    assert headers["User-Agent"] == USER_AGENT
    assert "newsbot" in USER_AGENT and "https://" in USER_AGENT
    assert headers["Accept-Encoding"] == "gzip, deflate"


def test_conditional_get_sends_validators_and_gets_304(server: FeedServer) -> None:
    outcome = fetch(FeedRequest(server.url("/feed?cond"), etag=ETAG, last_modified=LAST_MODIFIED))
    headers = next(h for path, h in server.requests if path == "/feed?cond")
    assert headers["If-None-Match"] == ETAG
    assert headers["If-Modified-Since"] == LAST_MODIFIED
    assert outcome.status is FetchStatus.NOT_MODIFIED
    assert outcome.body is None and outcome.http_status == 304
    assert outcome.etag == ETAG


def test_identical_body_counts_as_not_modified(server: FeedServer) -> None:
    first = fetch(FeedRequest(server.url("/plain")))
    assert first.status is FetchStatus.OK and first.body_hash
    second = fetch(FeedRequest(server.url("/plain"), body_hash=first.body_hash))
    assert second.status is FetchStatus.NOT_MODIFIED and second.body is None
    changed = fetch(FeedRequest(server.url("/plain"), body_hash="0" * 64))
    assert changed.status is FetchStatus.OK and changed.body == FEED


@pytest.mark.parametrize(
    ("path", "permanent"),
    [
        ("/r301", "/feed"),  # 301 -> 308 -> feed: both permanent, the feed moved to the end
        ("/r308", "/feed"),
        ("/r302", None),
        ("/r307", None),
        ("/r301-then-302", "/r302"),  # moved permanently to a URL that redirects temporarily
        ("/r302-then-301", None),  # a temporary hop first: nothing is permanent
    ],
)
def test_redirects(server: FeedServer, path: str, permanent: str | None) -> None:
    outcome = fetch(FeedRequest(server.url(path)))
    assert outcome.status is FetchStatus.OK and outcome.body == FEED
    assert outcome.url == server.url(path)
    assert outcome.final_url == server.url("/feed")
    assert outcome.permanent_url == (server.url(permanent) if permanent else None)


def test_five_redirects_are_followed_six_are_an_error(server: FeedServer) -> None:
    assert fetch(FeedRequest(server.url("/hops/5"))).status is FetchStatus.OK
    outcome = fetch(FeedRequest(server.url("/hops/6")))
    assert outcome.status is FetchStatus.ERROR and outcome.error_class == "redirect"
    assert "more than 5 redirects" in (outcome.error_message or "")


@pytest.mark.parametrize(
    ("path", "error_class", "words"),
    [
        ("/loop-a", "redirect", "loop"),
        ("/no-location", "redirect", "Location"),
        ("/to-ftp", "bad_scheme", "ftp"),
        ("/broken", "http_status", "500"),
        ("/missing", "http_status", "404"),
        ("/huge", "too_large", "larger than"),
        ("/huge-declared", "too_large", "999999999"),
        ("/bomb", "too_large", "inflates"),
        ("/bad-gzip", "connect", "decoded"),
        ("/brotli", "connect", "Content-Encoding"),
    ],
)
def test_classified_errors(server: FeedServer, path: str, error_class: str, words: str) -> None:
    outcome = fetch(FeedRequest(server.url(path)))
    assert outcome.status is FetchStatus.ERROR
    assert outcome.error_class == error_class
    assert words in (outcome.error_message or "")
    assert outcome.body is None


def test_gone_disables(server: FeedServer) -> None:
    outcome = fetch(FeedRequest(server.url("/gone")))
    assert outcome.status is FetchStatus.GONE and outcome.http_status == 410
    assert "410" in (outcome.error_message or "")


def test_retry_after_seconds_and_date(server: FeedServer) -> None:
    busy = fetch(FeedRequest(server.url("/busy")))
    assert busy.status is FetchStatus.ERROR and busy.http_status == 429
    assert busy.error_class == "http_status" and busy.retry_after_s == 120
    unavailable = fetch(FeedRequest(server.url("/unavailable")))
    assert unavailable.http_status == 503
    assert unavailable.retry_after_s == 7 * 86400  # a far-future date is capped at a week


@pytest.mark.parametrize("path", ["/gzip", "/deflate", "/raw-deflate"])
def test_compressed_bodies_are_decoded(server: FeedServer, path: str) -> None:
    outcome = fetch(FeedRequest(server.url(path)))
    assert outcome.status is FetchStatus.OK and outcome.body == FEED


def test_gzip_bomb_memory_stays_near_the_cap(server: FeedServer) -> None:
    cap = 1024 * 1024
    tracemalloc.start()
    try:
        outcome = fetch(FeedRequest(server.url("/bomb")), settings(max_body_bytes=cap))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert outcome.error_class == "too_large"
    # 64 MiB inflated would show here; the cap plus buffers must not.
    assert peak < 8 * cap, peak


def test_read_timeout(server: FeedServer) -> None:
    outcome = fetch(FeedRequest(server.url("/slow")), settings(read_timeout=0.3))
    assert outcome.status is FetchStatus.ERROR and outcome.error_class == "timeout"


def test_total_timeout_bounds_a_trickling_body(server: FeedServer) -> None:
    outcome = fetch(
        FeedRequest(server.url("/trickle")), settings(read_timeout=2, total_timeout=0.5)
    )
    assert outcome.status is FetchStatus.ERROR and outcome.error_class == "timeout"
    assert "0.5s" in (outcome.error_message or "")


def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    outcome = fetch(FeedRequest(f"http://127.0.0.1:{port}/feed"))
    assert outcome.status is FetchStatus.ERROR and outcome.error_class == "connect"


def test_dns_failure() -> None:
    outcome = fetch(FeedRequest("http://feeds.newsbot-test.invalid/rss"))
    assert outcome.status is FetchStatus.ERROR and outcome.error_class == "dns"


def test_tls_failure_against_a_plain_http_server(server: FeedServer) -> None:
    outcome = fetch(FeedRequest(f"https://127.0.0.1:{server.port}/plain"))
    assert outcome.status is FetchStatus.ERROR and outcome.error_class == "tls"


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/feed", "file:///etc/passwd", "feed.xml"])
def test_bad_scheme(url: str) -> None:
    outcome = fetch(FeedRequest(url))
    assert outcome.status is FetchStatus.ERROR and outcome.error_class == "bad_scheme"


def _holding(server: FeedServer) -> Callable[[BaseHTTPRequestHandler], None]:
    def route(handler: BaseHTTPRequestHandler) -> None:
        with server.lock:
            server.in_flight += 1
            server.max_in_flight = max(server.max_in_flight, server.in_flight)
        time.sleep(0.2)
        with server.lock:
            server.in_flight -= 1
        send(handler, 200, FEED)

    return route


def test_per_host_limit(server: FeedServer) -> None:
    server.routes["/hold"] = _holding(server)
    server.max_in_flight = 0
    requests = [FeedRequest(server.url(f"/hold?{i}")) for i in range(10)]

    async def run() -> list[FetchOutcome]:
        async with Fetcher(settings(concurrency=50, per_host=2)) as fetcher:
            return await fetcher.fetch_many(requests)

    outcomes = asyncio.run(run())
    assert [o.url for o in outcomes] == [r.url for r in requests]
    assert all(o.status is FetchStatus.OK for o in outcomes)
    assert server.max_in_flight == 2


def test_connections_are_reused_after_304_redirect_and_error(server: FeedServer) -> None:
    paths = ["/feed?k1", "/feed?k2", "/r302?k3", "/missing?k4", "/gone?k5", "/feed?k6"]
    requests = [FeedRequest(server.url(path), etag=ETAG) for path in paths]

    async def run() -> list[FetchOutcome]:
        async with Fetcher(settings(concurrency=1, per_host=1)) as fetcher:
            return [await fetcher.fetch(request) for request in requests]

    outcomes = asyncio.run(run())
    assert outcomes[0].status is FetchStatus.NOT_MODIFIED
    ports = {server.client_ports[path] for path in paths}
    assert len(ports) == 1  # one kept-alive connection served every request


def test_a_cookie_one_feed_sets_is_not_sent_with_the_next_request(server: FeedServer) -> None:
    # A feed's response must not shape the requests for other feeds of its host (a tracking
    # cookie, a session handed to every feed of a cycle): feeds are fetched without a jar.
    server.routes["/cookie"] = lambda h: send(
        h, 200, FEED, {"Set-Cookie": "visitor=feed-a; Path=/", "Content-Type": "text/xml"}
    )
    paths = ["/cookie?a", "/plain?after-cookie"]

    async def run() -> list[FetchOutcome]:
        async with Fetcher(settings(concurrency=1, per_host=1)) as fetcher:
            return [await fetcher.fetch(FeedRequest(server.url(path))) for path in paths]

    outcomes = asyncio.run(run())
    assert [outcome.status for outcome in outcomes] == [FetchStatus.OK, FetchStatus.OK]
    sent = dict(server.requests)
    assert "Cookie" not in sent["/plain?after-cookie"]
    assert sent["/plain?after-cookie"]["User-Agent"] == USER_AGENT


def test_an_idle_connection_the_server_closed_is_not_reused(server: FeedServer) -> None:
    def closing(handler: BaseHTTPRequestHandler) -> None:
        send(handler, 200, FEED)  # no "Connection: close": the client may keep it alive ...
        handler.close_connection = True  # ... but the server closes it once idle

    server.routes["/closing"] = closing

    async def run() -> list[FetchOutcome]:
        async with Fetcher(settings(concurrency=1, per_host=1)) as fetcher:
            first = await fetcher.fetch(FeedRequest(server.url("/closing?1")))
            await asyncio.sleep(0.3)  # the connection idles; the server's close arrives
            return [first, await fetcher.fetch(FeedRequest(server.url("/closing?2")))]

    outcomes = asyncio.run(run())
    assert [o.status for o in outcomes] == [FetchStatus.OK] * 2, outcomes[1].error_message
    assert server.client_ports["/closing?1"] != server.client_ports["/closing?2"]


def test_global_limit_across_hosts(server: FeedServer) -> None:
    server.routes["/hold"] = _holding(server)
    server.max_in_flight = 0
    requests = [
        FeedRequest(server.url(f"/hold?g{i}", host=host))
        for i in range(6)
        for host in ("127.0.0.1", "localhost")
    ]

    async def run() -> list[FetchOutcome]:
        async with Fetcher(settings(concurrency=3, per_host=4)) as fetcher:
            return await fetcher.fetch_many(requests)

    outcomes = asyncio.run(run())
    assert all(o.status is FetchStatus.OK for o in outcomes)
    assert server.max_in_flight == 3


def test_idle_origins_are_bounded_least_recently_used_first() -> None:
    servers = [FeedServer() for _ in range(3)]
    for srv in servers:
        srv.routes["/plain"] = lambda h: send(h, 200, FEED)
    a, b, c = servers
    order = [(a, "/plain?1"), (b, "/plain?2"), (c, "/plain?3"), (b, "/plain?4"), (a, "/plain?5")]

    async def run() -> list[int]:
        transport = PerOriginTransport(per_origin=2, max_idle_origins=2)
        async with httpx.AsyncClient(transport=transport) as client:
            opened = []
            for srv, path in order:
                response = await client.get(srv.url(path))
                assert response.status_code == 200
                opened.append(transport.open_origins)
            return opened

    try:
        opened = asyncio.run(run())
    finally:
        for srv in servers:
            srv.close()
    assert max(opened) <= 2  # never more idle pools than allowed
    # b was used after c closed a's pool: its connection was kept and reused ...
    assert b.client_ports["/plain?4"] == b.client_ports["/plain?2"]
    # ... while a, the least recently used origin, lost its idle connection.
    assert a.client_ports["/plain?5"] != a.client_ports["/plain?1"]


def test_host_names_sharing_an_address_never_share_a_connection(server: FeedServer) -> None:
    # The fetch policy sends requests to the checked address with the feed's host name in the
    # Host header (and as the TLS server name): two names on one address, as on a CDN, must each
    # get their own connection, while one name keeps its own alive.
    order = [("a.example", "/plain?1"), ("b.example", "/plain?2"), ("a.example", "/plain?3")]

    async def run() -> None:
        transport = PerOriginTransport(per_origin=2, max_idle_origins=4)
        async with httpx.AsyncClient(transport=transport) as client:
            for host, path in order:
                response = await client.get(server.url(path), headers={"Host": host})
                assert response.status_code == 200

    server.routes["/plain"] = lambda h: send(h, 200, FEED)
    asyncio.run(run())
    ports = server.client_ports
    assert ports["/plain?2"] != ports["/plain?1"]
    assert ports["/plain?3"] == ports["/plain?1"]
