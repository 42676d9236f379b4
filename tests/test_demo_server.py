"""FeedServer: a real HTTP server on 127.0.0.1, exercised with httpx over loopback."""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime

import httpx
import pytest

from bot.demo.server import FeedServer, content_type_for

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>\n' * 20
ATOM = b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>a</title></feed>'
IDENTITY = {"Accept-Encoding": "identity"}


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with FeedServer({"/news.rss": RSS, "feed.atom": ATOM, "/plain.xml": b"<x/>"}) as srv:
        yield srv


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as c:
        yield c


def test_serves_files_with_content_type_by_extension(
    server: FeedServer, client: httpx.Client
) -> None:
    expected = {
        "news.rss": ("application/rss+xml", RSS),
        "/feed.atom": ("application/atom+xml", ATOM),
        "plain.xml": ("application/xml", b"<x/>"),
    }
    for path, (ctype, body) in expected.items():
        response = client.get(server.url(path), headers=IDENTITY)
        assert response.status_code == 200
        assert response.headers["content-type"] == ctype
        assert response.content == body
        assert int(response.headers["content-length"]) == len(body)
    assert server.url("news.rss") == server.url("/news.rss")
    assert server.url("news.rss").startswith("http://127.0.0.1:")
    assert server.port > 0


def test_unknown_path_is_404_and_query_is_ignored_for_lookup(
    server: FeedServer, client: httpx.Client
) -> None:
    assert client.get(server.url("missing.rss")).status_code == 404
    response = client.get(server.url("news.rss?utm_source=x"), headers=IDENTITY)
    assert response.status_code == 200
    assert response.content == RSS
    last = server.requests[-1]
    assert (last.path, last.query, last.status) == ("/news.rss", "utm_source=x", 200)


def test_head_sends_headers_without_body(server: FeedServer, client: httpx.Client) -> None:
    response = client.head(server.url("news.rss"), headers=IDENTITY)
    assert response.status_code == 200
    assert response.content == b""
    assert int(response.headers["content-length"]) == len(RSS)
    assert response.headers["etag"] == server.etag("news.rss")
    # the connection stays usable after a HEAD (no stray body bytes on a keep-alive socket)
    assert client.get(server.url("news.rss"), headers=IDENTITY).content == RSS


def test_other_methods_are_405_with_allow(server: FeedServer, client: httpx.Client) -> None:
    response = client.post(server.url("news.rss"), content=b"x")
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, HEAD"
    assert server.requests[-1].method == "POST"


def test_etag_is_strong_hash_and_if_none_match_round_trip(
    server: FeedServer, client: httpx.Client
) -> None:
    first = client.get(server.url("news.rss"), headers=IDENTITY)
    etag = first.headers["etag"]
    assert etag == f'"{hashlib.sha256(RSS).hexdigest()[:32]}"'
    assert not etag.startswith("W/")

    again = client.get(server.url("news.rss"), headers={**IDENTITY, "If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["etag"] == etag

    # weak comparison applies to If-None-Match; lists and * match too
    weak = client.get(server.url("news.rss"), headers={**IDENTITY, "If-None-Match": "W/" + etag})
    assert weak.status_code == 304
    listed = client.get(
        server.url("news.rss"), headers={**IDENTITY, "If-None-Match": f'"nope", {etag}'}
    )
    assert listed.status_code == 304
    star = client.get(server.url("news.rss"), headers={**IDENTITY, "If-None-Match": "*"})
    assert star.status_code == 304

    changed = RSS + b"<!-- new item -->"
    server.set("news.rss", changed)
    after = client.get(server.url("news.rss"), headers={**IDENTITY, "If-None-Match": etag})
    assert after.status_code == 200
    assert after.content == changed
    assert after.headers["etag"] != etag
    statuses = [r.status for r in server.requests if r.path == "/news.rss"]
    assert statuses == [200, 304, 304, 304, 304, 200]
    assert server.hits("/news.rss") == 6


def test_setting_identical_bytes_keeps_validators(server: FeedServer, client: httpx.Client) -> None:
    before = client.get(server.url("news.rss"), headers=IDENTITY).headers
    server.set("news.rss", bytes(RSS))
    after = client.get(server.url("news.rss"), headers=IDENTITY).headers
    assert after["etag"] == before["etag"]
    assert after["last-modified"] == before["last-modified"]


def test_if_modified_since(server: FeedServer, client: httpx.Client) -> None:
    stamp = datetime(2030, 5, 6, 7, 8, 9, tzinfo=UTC)
    server.set("dated.xml", b"<x>1</x>", last_modified=stamp)
    url = server.url("dated.xml")
    first = client.get(url, headers=IDENTITY)
    assert parsedate_to_datetime(first.headers["last-modified"]) == stamp

    def get_since(moment: datetime | str, **extra: str) -> int:
        since = moment if isinstance(moment, str) else format_datetime(moment, usegmt=True)
        headers = {**IDENTITY, "If-Modified-Since": since, **extra}
        return client.get(url, headers=headers).status_code

    assert get_since(stamp) == 304
    assert get_since(stamp + timedelta(hours=1)) == 304
    assert get_since(stamp - timedelta(seconds=1)) == 200
    assert get_since("not a date") == 200
    # If-None-Match takes precedence over If-Modified-Since
    assert get_since(stamp, **{"If-None-Match": '"other"'}) == 200


def test_changed_body_in_same_second_still_advances_last_modified(server: FeedServer) -> None:
    stamps = []
    for n in range(3):
        server.set("fast.rss", b"<rss>%d</rss>" % n)
        with httpx.Client() as c:
            response = c.get(server.url("fast.rss"), headers=IDENTITY)
        stamps.append(parsedate_to_datetime(response.headers["last-modified"]))
    assert stamps[0] < stamps[1] < stamps[2]


def test_gzip_when_accepted(server: FeedServer, client: httpx.Client) -> None:
    zipped = client.get(server.url("news.rss"), headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert zipped.content == RSS  # httpx decodes it
    raw = client.get(server.url("news.rss"), headers={"Accept-Encoding": "gzip"})
    with client.stream("GET", server.url("news.rss"), headers={"Accept-Encoding": "gzip"}) as s:
        wire = b"".join(s.iter_raw())
    assert gzip.decompress(wire) == RSS
    assert len(wire) < len(RSS)
    assert int(raw.headers["content-length"]) == len(wire)

    # the gzip representation has its own strong ETag, and it validates like the identity one
    gz_etag = zipped.headers["etag"]
    assert gz_etag != server.etag("news.rss")
    revalidated = client.get(
        server.url("news.rss"), headers={"Accept-Encoding": "gzip", "If-None-Match": gz_etag}
    )
    assert revalidated.status_code == 304

    for refused in ("identity", "gzip;q=0", "br", "*;q=0"):
        plain = client.get(server.url("news.rss"), headers={"Accept-Encoding": refused})
        assert "content-encoding" not in plain.headers, refused
        assert plain.content == RSS
    star = client.get(server.url("news.rss"), headers={"Accept-Encoding": "br;q=1, *;q=0.5"})
    assert star.headers["content-encoding"] == "gzip"


def test_set_status_gone_and_retry_after(server: FeedServer, client: httpx.Client) -> None:
    server.set_status("news.rss", 410)
    gone = client.get(server.url("news.rss"))
    assert gone.status_code == 410
    assert gone.text == "410 Gone\n"

    server.set_status("news.rss", 503, {"Retry-After": "120"})
    busy = client.get(server.url("news.rss"))
    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "120"

    server.set_status("news.rss", 200)  # clears the override; the file was kept
    back = client.get(server.url("news.rss"), headers=IDENTITY)
    assert (back.status_code, back.content) == (200, RSS)

    server.set_status("feed.atom", 429, {"Retry-After": "5"}, body=b"slow down")
    limited = client.get(server.url("feed.atom"))
    assert (limited.status_code, limited.content) == (429, b"slow down")
    server.clear_status("feed.atom")
    assert client.get(server.url("feed.atom")).status_code == 200
    assert [r.status for r in server.requests if r.path == "/news.rss"] == [410, 503, 200]


def test_redirects_are_followed_to_the_new_path(server: FeedServer, client: httpx.Client) -> None:
    server.set("moved.rss", RSS)
    server.set_status("old.rss", 301, {"Location": server.url("moved.rss")})
    server.set_status("temp.rss", 302, {"Location": "/moved.rss"})  # relative Location
    response = client.get(server.url("old.rss"), follow_redirects=True, headers=IDENTITY)
    assert response.status_code == 200
    assert response.content == RSS
    assert [r.status_code for r in response.history] == [301]
    assert str(response.url) == server.url("moved.rss")
    relative = client.get(server.url("temp.rss"), follow_redirects=True, headers=IDENTITY)
    assert relative.content == RSS
    assert server.hits("old.rss") == 1
    assert server.hits("moved.rss") == 2


def test_remove_makes_path_404(server: FeedServer, client: httpx.Client) -> None:
    server.set_status("news.rss", 503)
    server.remove("news.rss")
    assert client.get(server.url("news.rss")).status_code == 404
    assert server.get("news.rss") is None
    server.set("news.rss", b"<rss/>")
    assert client.get(server.url("news.rss"), headers=IDENTITY).content == b"<rss/>"


def test_requests_are_recorded_with_headers(server: FeedServer, client: httpx.Client) -> None:
    server.clear_requests()
    client.get(server.url("feed.atom"), headers={"User-Agent": "newsbot-test/1", "X-Trace": "a"})
    [recorded] = server.requests
    assert recorded.method == "GET"
    assert recorded.path == "/feed.atom"
    assert recorded.header("User-Agent") == "newsbot-test/1"
    assert recorded.headers["x-trace"] == "a"
    assert recorded.status == 200
    assert server.hits("feed.atom") == 1
    assert server.hits("news.rss") == 0


def test_concurrent_requests_are_all_served_and_counted(server: FeedServer) -> None:
    results: list[bytes] = []
    lock = threading.Lock()

    # one thread-safe client with a pool large enough for parallel connections
    with httpx.Client(timeout=10, limits=httpx.Limits(max_connections=16)) as shared:

        def fetch() -> None:
            body = shared.get(server.url("news.rss"), headers=IDENTITY).content
            with lock:
                results.append(body)

        threads = [threading.Thread(target=fetch) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == [RSS] * 16
    assert server.hits("news.rss") == 16


def test_delay_makes_a_client_time_out(server: FeedServer) -> None:
    server.set_delay("news.rss", 30)
    with httpx.Client(timeout=0.3) as c, pytest.raises(httpx.ReadTimeout):
        c.get(server.url("news.rss"))
    server.set_delay("news.rss", 0)
    with httpx.Client(timeout=10) as c:
        assert c.get(server.url("news.rss")).status_code == 200


def test_stop_closes_keep_alive_connections_and_is_idempotent() -> None:
    server = FeedServer({"a.rss": RSS}).start()
    url = server.url("a.rss")
    with httpx.Client(timeout=5) as c:
        assert c.get(url).status_code == 200  # leaves a pooled keep-alive connection
        server.stop()
        with pytest.raises(httpx.TransportError):
            c.get(url)
    server.stop()
    assert not server.running
    with pytest.raises(RuntimeError):
        server.url("a.rss")


def test_start_twice_is_an_error_and_restart_after_stop_works() -> None:
    server = FeedServer({"a.rss": RSS})
    with server, pytest.raises(RuntimeError):
        server.start()
    with server, httpx.Client() as c:
        assert c.get(server.url("a.rss"), headers=IDENTITY).content == RSS


def test_bad_arguments_are_rejected() -> None:
    server = FeedServer()
    with pytest.raises(TypeError):
        server.set("a.rss", "text")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        server.set_status("a.rss", 999)
    with pytest.raises(ValueError):
        server.set("a.rss", b"x", last_modified=datetime(2030, 1, 1))
    with pytest.raises(ValueError):
        server.set_delay("a.rss", -1)


def test_content_type_for() -> None:
    assert content_type_for("/x/feed.rss") == "application/rss+xml"
    assert content_type_for("feed.ATOM") == "application/atom+xml"
    assert content_type_for("/feed.xml?x=1") == "application/xml"
    assert content_type_for("index.html").startswith("text/html")
    assert content_type_for("/feed") == "application/octet-stream"


def test_explicit_content_type_and_extra_headers(server: FeedServer, client: httpx.Client) -> None:
    server.set("feed", RSS, content_type="text/xml; charset=utf-8", headers={"Cache-Control": "x"})
    response = client.get(server.url("feed"), headers=IDENTITY)
    assert response.headers["content-type"] == "text/xml; charset=utf-8"
    assert response.headers["cache-control"] == "x"
