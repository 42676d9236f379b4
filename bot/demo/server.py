"""A local feed HTTP server on 127.0.0.1 for ``newsbot demo`` and for the tests.

:class:`FeedServer` serves a mutable set of files from memory in a background thread and behaves
like a well-configured feed host: content types by extension, a strong ``ETag`` (a hash of the
body) and ``Last-Modified`` on every file, ``304 Not Modified`` for ``If-None-Match`` and
``If-Modified-Since``, gzip when the client accepts it, HTTP/1.1 keep-alive. Tests can change a
feed while it is served (:meth:`FeedServer.set`, :meth:`FeedServer.remove`), make a path answer
with any status and headers (410, 503 with ``Retry-After``, 301 with ``Location``), slow a path
down, and assert on every request the server saw.

It is built on the standard library's ``http.server.ThreadingHTTPServer``: serving a handful of
in-memory files on loopback needs no framework, the demo must run on a bare install without
extra packages, and a test server must expose hooks (per-path statuses, request recording,
delays) that a general-purpose server would hide. The HTTP details a feed reader depends on
(validators, conditional requests, content coding) are small and written out here on purpose.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import logging
import mimetypes
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import MappingProxyType, TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

# Feed types are listed explicitly: the platform's mime.types often lacks .rss and .atom.
CONTENT_TYPES: Mapping[str, str] = MappingProxyType(
    {
        ".rss": "application/rss+xml",
        ".atom": "application/atom+xml",
        ".xml": "application/xml",
        ".rdf": "application/rdf+xml",
        ".json": "application/json",
        ".html": "text/html; charset=utf-8",
        ".htm": "text/html; charset=utf-8",
        ".txt": "text/plain; charset=utf-8",
    }
)
_ALLOWED_METHODS = "GET, HEAD"
# An idle keep-alive connection is closed after this long, so stray clients cannot pin threads.
_IDLE_TIMEOUT_S = 30.0


def content_type_for(path: str) -> str:
    """The Content-Type the server sends for a path, chosen by its extension."""
    name = urlsplit(path).path.rsplit("/", 1)[-1].lower()
    for suffix, ctype in CONTENT_TYPES.items():
        if name.endswith(suffix):
            return ctype
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def _normalise(path: str) -> str:
    """The key a path is stored under: its path part, with exactly one leading slash."""
    only_path = urlsplit(path).path
    return "/" + only_path.lstrip("/")


@dataclass(frozen=True, eq=False)
class RecordedRequest:
    """One request as the server saw it, and the status it answered with.

    ``headers`` maps lower-cased header names to values (repeated headers joined by ", ").
    """

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    status: int
    at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def header(self, name: str) -> str | None:
        """A request header by case-insensitive name, or None."""
        return self.headers.get(name.lower())


@dataclass(frozen=True)
class _Resource:
    body: bytes
    content_type: str
    last_modified: datetime
    extra_headers: Mapping[str, str]
    digest: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "digest", hashlib.sha256(self.body).hexdigest()[:32])

    @property
    def etag(self) -> str:
        return f'"{self.digest}"'

    @property
    def gzip_etag(self) -> str:
        # The gzip-coded representation is a different byte sequence, so a strong validator must
        # differ from the identity one (RFC 9110 8.8.3); both match in If-None-Match below.
        return f'"{self.digest}-gzip"'

    def gzipped(self) -> bytes:
        # mtime=0 makes the compressed bytes deterministic, so repeated requests are identical.
        return _gzip_cache(self.body)


_GZIP_CACHE: dict[str, bytes] = {}
_GZIP_CACHE_LOCK = threading.Lock()


def _gzip_cache(body: bytes) -> bytes:
    key = hashlib.sha256(body).hexdigest()
    with _GZIP_CACHE_LOCK:
        cached = _GZIP_CACHE.get(key)
    if cached is None:
        cached = gzip.compress(body, mtime=0)
        with _GZIP_CACHE_LOCK:
            if len(_GZIP_CACHE) > 256:
                _GZIP_CACHE.clear()
            _GZIP_CACHE[key] = cached
    return cached


@dataclass(frozen=True)
class _StatusOverride:
    status: int
    headers: Mapping[str, str]
    body: bytes | None


def _accepts_gzip(accept_encoding: str | None) -> bool:
    """Whether an Accept-Encoding value allows gzip (q > 0), per RFC 9110 12.5.3."""
    if not accept_encoding:
        return False
    explicit: float | None = None
    wildcard: float | None = None
    for part in accept_encoding.split(","):
        coding, _, params = part.strip().partition(";")
        coding = coding.strip().lower()
        quality = 1.0
        for param in params.split(";"):
            pname, _, value = param.strip().partition("=")
            if pname.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if coding in ("gzip", "x-gzip"):
            explicit = quality
        elif coding == "*":
            wildcard = quality
    if explicit is not None:
        return explicit > 0
    return wildcard is not None and wildcard > 0


def _etag_matches(if_none_match: str, resource: _Resource) -> bool:
    """Weak comparison of an If-None-Match list against either representation's tag."""
    candidates = {resource.etag, resource.gzip_etag}
    for raw in if_none_match.split(","):
        tag = raw.strip()
        if tag == "*":
            return True
        if tag.startswith("W/"):
            tag = tag[2:]
        if tag in candidates:
            return True
    return False


def _not_modified(headers: Mapping[str, str], resource: _Resource) -> bool:
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        # When both are sent, If-None-Match wins and If-Modified-Since is ignored (RFC 9110 13.2.2).
        return _etag_matches(if_none_match, resource)
    if_modified_since = headers.get("if-modified-since")
    if if_modified_since is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError):
        return False  # an unparsable date is ignored, as the RFC requires
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return resource.last_modified <= since


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], owner: FeedServer, family: int) -> None:
        self.address_family = family
        self.owner = owner
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        self.owner._track(request)
        super().process_request(request, client_address)

    def close_request(self, request: Any) -> None:
        self.owner._untrack(request)
        super().close_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client hanging up mid-response is routine for a test server; do not print tracebacks.
        logger.debug("feed server: error while serving %s", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "newsbot-feedserver/1"
    timeout = _IDLE_TIMEOUT_S
    server: _HTTPServer

    def do_GET(self) -> None:
        self.server.owner._respond(self)

    def do_HEAD(self) -> None:
        self.server.owner._respond(self)

    def _not_allowed(self) -> None:
        self.server.owner._respond(self)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _not_allowed

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("feed server: %s - " + format, self.address_string(), *args)


class FeedServer:
    """Serve in-memory files over HTTP on loopback, in a background thread.

    >>> with FeedServer({"/a.rss": b"<rss/>"}) as server:  # doctest: +SKIP
    ...     httpx.get(server.url("a.rss"))

    Paths are stored with one leading slash; ``"a.rss"`` and ``"/a.rss"`` name the same file and
    a query string is ignored when looking a file up. All methods are thread-safe.
    """

    def __init__(
        self,
        files: Mapping[str, bytes] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self._host = host
        self._requested_port = port
        self._lock = threading.Lock()
        self._files: dict[str, _Resource] = {}
        self._statuses: dict[str, _StatusOverride] = {}
        self._delays: dict[str, float] = {}
        self._requests: list[RecordedRequest] = []
        self._connections: set[socket.socket] = set()
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        for path, body in (files or {}).items():
            self.set(path, body)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Self:
        """Bind the socket and start serving; the port is known once this returns."""
        if self._httpd is not None:
            raise RuntimeError("FeedServer is already running")
        family = socket.AF_INET6 if ":" in self._host else socket.AF_INET
        self._stopping.clear()
        httpd = _HTTPServer((self._host, self._requested_port), self, family)
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"feed-server-{self.port}",
            daemon=True,
        )
        self._thread.start()
        logger.debug("feed server listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop serving and close every connection, including idle keep-alive ones. Idempotent."""
        httpd, thread = self._httpd, self._thread
        if httpd is None:
            return
        self._stopping.set()  # wakes handlers sleeping in a configured delay
        httpd.shutdown()
        with self._lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        httpd.server_close()
        if thread is not None:
            thread.join(timeout=5)
        self._httpd = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._httpd is not None

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("FeedServer is not running; call start() or use it as a context")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    def url(self, path: str) -> str:
        """The absolute URL of a path on this server (a query string is kept)."""
        return f"{self.base_url}/{path.lstrip('/')}"

    # -- content -------------------------------------------------------------------------------

    def set(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str | None = None,
        last_modified: datetime | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Add or replace a file. Unchanged bytes keep their validators; new bytes get new ones.

        ``last_modified`` defaults to now; when the body changes within the same second, the new
        time is pushed one second past the old one, so ``If-Modified-Since`` (which has one-second
        resolution) still sees the change. ``headers`` are extra response headers for 200s
        (for example ``Cache-Control``).
        """
        if not isinstance(body, bytes | bytearray | memoryview):
            raise TypeError(f"body for {path!r} must be bytes, not {type(body).__name__}")
        key = _normalise(path)
        data = bytes(body)
        ctype = content_type or content_type_for(key)
        extra = MappingProxyType(dict(headers or {}))
        with self._lock:
            previous = self._files.get(key)
            if last_modified is not None:
                if last_modified.tzinfo is None:
                    raise ValueError("last_modified must be timezone-aware")
                stamp = last_modified.astimezone(UTC).replace(microsecond=0)
            elif previous is not None and previous.body == data:
                stamp = previous.last_modified
            else:
                stamp = datetime.now(UTC).replace(microsecond=0)
                if previous is not None and stamp <= previous.last_modified:
                    stamp = previous.last_modified + timedelta(seconds=1)
            self._files[key] = _Resource(data, ctype, stamp, extra)

    def get(self, path: str) -> bytes | None:
        """The bytes currently served at a path, or None."""
        with self._lock:
            resource = self._files.get(_normalise(path))
        return None if resource is None else resource.body

    def etag(self, path: str) -> str | None:
        """The ETag of the identity representation at a path, or None."""
        with self._lock:
            resource = self._files.get(_normalise(path))
        return None if resource is None else resource.etag

    def remove(self, path: str) -> None:
        """Remove a file and any status set for it; the path then answers 404."""
        key = _normalise(path)
        with self._lock:
            self._files.pop(key, None)
            self._statuses.pop(key, None)

    def set_status(
        self,
        path: str,
        status: int,
        headers: Mapping[str, str] | None = None,
        *,
        body: bytes | None = None,
    ) -> None:
        """Make a path answer ``status`` with ``headers`` until cleared; the file is kept.

        Examples: ``set_status("/a.rss", 410)``, ``set_status("/a.rss", 503, {"Retry-After":
        "120"})``, ``set_status("/old.rss", 301, {"Location": server.url("new.rss")})``.
        Status 200 clears the override, as does :meth:`clear_status`.
        """
        if not 100 <= status <= 599:
            raise ValueError(f"HTTP status must be in 100..599, got {status}")
        key = _normalise(path)
        with self._lock:
            if status == 200 and not headers and body is None:
                self._statuses.pop(key, None)
            else:
                override = _StatusOverride(status, MappingProxyType(dict(headers or {})), body)
                self._statuses[key] = override

    def clear_status(self, path: str) -> None:
        """Serve the path's file normally again."""
        with self._lock:
            self._statuses.pop(_normalise(path), None)

    def set_delay(self, path: str, seconds: float) -> None:
        """Wait ``seconds`` before answering a path (0 clears); stop() cuts the wait short."""
        if seconds < 0:
            raise ValueError("delay must be >= 0")
        key = _normalise(path)
        with self._lock:
            if seconds == 0:
                self._delays.pop(key, None)
            else:
                self._delays[key] = seconds

    # -- observation ---------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of every request answered so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def hits(self, path: str) -> int:
        """How many requests (any method, any status) the server answered for a path."""
        key = _normalise(path)
        with self._lock:
            return sum(1 for request in self._requests if request.path == key)

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # -- internals -----------------------------------------------------------------------------

    def _track(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.add(conn)

    def _untrack(self, conn: socket.socket) -> None:
        with self._lock:
            self._connections.discard(conn)

    def _respond(self, handler: _Handler) -> None:
        split = urlsplit(handler.path)
        key = _normalise(split.path)
        request_headers: dict[str, str] = {}
        for name, value in handler.headers.items():
            lname = name.lower()
            request_headers[lname] = (
                f"{request_headers[lname]}, {value}" if lname in request_headers else value
            )
        with self._lock:
            override = self._statuses.get(key)
            resource = self._files.get(key)
            delay = self._delays.get(key, 0.0)
        if delay and self._stopping.wait(delay):
            handler.close_connection = True
            return

        method = handler.command
        status: int
        headers: dict[str, str] = {}
        body = b""
        if method not in ("GET", "HEAD"):
            status = HTTPStatus.METHOD_NOT_ALLOWED
            headers["Allow"] = _ALLOWED_METHODS
            headers["Content-Type"] = "text/plain; charset=utf-8"
            body = b"405 Method Not Allowed\n"
        elif override is not None:
            status = override.status
            headers.update(override.headers)
            if override.body is not None:
                body = override.body
            elif status >= 300:
                body = f"{status} {_phrase(status)}\n".encode()
                headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        elif resource is None:
            status = HTTPStatus.NOT_FOUND
            headers["Content-Type"] = "text/plain; charset=utf-8"
            body = b"404 Not Found\n"
        else:
            use_gzip = _accepts_gzip(request_headers.get("accept-encoding"))
            headers["ETag"] = resource.gzip_etag if use_gzip else resource.etag
            headers["Last-Modified"] = format_datetime(resource.last_modified, usegmt=True)
            headers["Vary"] = "Accept-Encoding"
            headers.update(resource.extra_headers)
            if _not_modified(request_headers, resource):
                status = HTTPStatus.NOT_MODIFIED
            else:
                status = HTTPStatus.OK
                headers["Content-Type"] = resource.content_type
                if use_gzip:
                    headers["Content-Encoding"] = "gzip"
                    body = resource.gzipped()
                else:
                    body = resource.body

        record = RecordedRequest(
            method=method,
            path=key,
            query=split.query,
            headers=MappingProxyType(request_headers),
            status=int(status),
        )
        with self._lock:
            self._requests.append(record)
        self._send(handler, int(status), headers, body, head=(method == "HEAD"))

    def _send(
        self, handler: _Handler, status: int, headers: Mapping[str, str], body: bytes, *, head: bool
    ) -> None:
        bodyless = status < 200 or status in (204, 304)
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        if not bodyless:
            handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        if not head and not bodyless:
            handler.wfile.write(body)
        handler.wfile.flush()


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Status"
