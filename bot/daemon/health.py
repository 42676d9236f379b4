"""The daemon's HTTP endpoint: `/healthz` (JSON, 200 or 503) and `/metrics` (Prometheus text).

Hand-written on asyncio streams rather than prometheus-client's threaded server because
`/healthz` must answer from the daemon's own state (last poll, a database ping) and run inside
its event loop; it serves two fixed GET paths to local probes and scrapers, nothing more, so a
web framework would be a dependency for ~80 lines. Each connection gets one request and is
closed; slow or oversized requests are cut off.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from bot import metrics

log = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[tuple[bool, dict[str, Any]]]]

REQUEST_TIMEOUT_S = 10.0
MAX_HEADER_LINES = 100
MAX_LINE_BYTES = 8192

_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}
_REASONS |= {503: "Service Unavailable"}


class HealthServer:
    """Serves `/healthz` from `check()` and `/metrics` from the metrics registry."""

    def __init__(self, bind: str, port: int, check: HealthCheck) -> None:
        self.bind = bind
        self.port = port
        self.check = check
        self._server: asyncio.Server | None = None

    async def start(self) -> tuple[str, int]:
        """Listen (port 0 = an ephemeral port); returns the bound (host, port)."""
        self._server = await asyncio.start_server(
            self._handle, self.bind, self.port, limit=MAX_LINE_BYTES
        )
        host, port = self._server.sockets[0].getsockname()[:2]
        self.port = int(port)
        return str(host), int(port)

    @property
    def url(self) -> str:
        host = f"[{self.bind}]" if ":" in self.bind else self.bind
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, content_type, body, head = await asyncio.wait_for(
                self._respond(reader), REQUEST_TIMEOUT_S
            )
        except (TimeoutError, ValueError, asyncio.IncompleteReadError, ConnectionError):
            status, content_type, body, head = 400, "text/plain", b"bad request\n", False
        except Exception:
            log.exception("health endpoint failed")
            status, content_type, body, head = 503, "text/plain", b"internal error\n", False
        reason = _REASONS.get(status, "")
        headers = (
            f"HTTP/1.1 {status} {reason}\r\n"
            f"Content-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\n"
            "Cache-Control: no-store\r\n"
            "Connection: close\r\n\r\n"
        )
        try:
            writer.write(headers.encode("ascii") + (b"" if head else body))
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _respond(self, reader: asyncio.StreamReader) -> tuple[int, str, bytes, bool]:
        request_line = (await reader.readline()).decode("latin-1").strip()
        parts = request_line.split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise ValueError("malformed request line")
        for _ in range(MAX_HEADER_LINES):
            if (await reader.readline()) in (b"\r\n", b"\n", b""):
                break
        else:
            raise ValueError("too many header lines")
        method, target = parts[0], parts[1].split("?", 1)[0]
        if target not in ("/healthz", "/metrics"):
            return 404, "text/plain", b"not found: try /healthz or /metrics\n", method == "HEAD"
        if method not in ("GET", "HEAD"):
            return 405, "text/plain", b"method not allowed\n", False
        if target == "/metrics":
            body = await asyncio.to_thread(metrics.render)
            return 200, metrics.CONTENT_TYPE, body, method == "HEAD"
        healthy, detail = await self.check()
        payload = json.dumps(detail, indent=1, sort_keys=True, default=str).encode() + b"\n"
        return (200 if healthy else 503), "application/json", payload, method == "HEAD"
