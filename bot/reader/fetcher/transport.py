"""The fetcher's transport: one small httpcore connection pool per origin, idle ones bounded.

httpx's default transport keeps every connection in one httpcore pool, and that pool re-checks
every connection it holds (expiry, a ``getpeername`` per idle socket, and a count of all
connections per idle one) each time a request enters or leaves it: for a poll cycle over many
hosts that is O(connections²) work per request, and more than half the fetcher's CPU time. A
single pool sized to the global limit also evicts one host's idle connection to open another's,
so a cycle over more hosts than the pool holds reconnects for almost every feed.

Politeness already caps a host at ``per_host`` connections (the fetcher's per-host semaphore),
so a pool per origin of that size never scans more than a handful of connections and never
evicts another host's. Pools of origins with no request in flight are closed, least recently
used first, once more than ``max_idle_origins`` of them are open, so the kept-alive sockets of a
cycle over thousands of hosts stay bounded. Each pool is httpx's own ``AsyncHTTPTransport``
(same TLS context, timeouts, error mapping), its connections on asyncio's streams
(:mod:`bot.reader.fetcher.network`).
"""

from __future__ import annotations

import functools
import ssl
from collections import OrderedDict
from collections.abc import AsyncIterator

import httpcore
import httpx

from bot.reader.fetcher.network import AsyncioBackend

# (scheme, host, port, Host header). The fetch policy sends requests to a checked IP address
# with the feed's host name in the Host header and as the TLS server name, so two feeds on one
# address (a CDN) must not share a connection opened for the other's name.
Origin = tuple[bytes, bytes, int | None, str]
_BACKEND = AsyncioBackend()


@functools.cache
def default_ssl_context() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's CA bundle), built once per process: loading the
    bundle takes ~20 ms, and a context is safe to share between connections."""
    return httpx.create_ssl_context()


class _ReleasingStream(httpx.AsyncByteStream):
    """A response body that tells the transport when its request is over."""

    def __init__(self, inner: httpx.AsyncByteStream, release: _Release) -> None:
        self._inner = inner
        self._release = release

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._inner:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            await self._release()


class _Release:
    """Called once when a request on `origin` is done (its body closed, or it failed)."""

    def __init__(self, transport: PerOriginTransport, origin: Origin) -> None:
        self._transport = transport
        self._origin = origin
        self._done = False

    async def __call__(self) -> None:
        if not self._done:
            self._done = True
            await self._transport._release(self._origin)


class PerOriginTransport(httpx.AsyncBaseTransport):
    """Routes each request to the pool of its origin (scheme, host, port)."""

    def __init__(
        self,
        *,
        per_origin: int,
        max_idle_origins: int,
        keepalive_expiry: float = 5.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._limits = httpx.Limits(
            max_connections=per_origin,
            max_keepalive_connections=per_origin,
            keepalive_expiry=keepalive_expiry,
        )
        self._max_idle = max(0, max_idle_origins)
        self._ssl = ssl_context or default_ssl_context()
        self._pools: OrderedDict[Origin, httpx.AsyncHTTPTransport] = OrderedDict()
        self._in_flight: dict[Origin, int] = {}
        self._closed = False

    @property
    def open_origins(self) -> int:
        """How many origins have a pool (with connections in use or kept alive)."""
        return len(self._pools)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("transport is closed")
        url = request.url
        origin: Origin = (url.raw_scheme, url.raw_host, url.port, request.headers.get("host", ""))
        pool = self._pools.get(origin)
        if pool is None:
            pool = self._pools[origin] = self._new_pool()
        else:
            self._pools.move_to_end(origin)
        self._in_flight[origin] = self._in_flight.get(origin, 0) + 1
        release = _Release(self, origin)
        try:
            response = await pool.handle_async_request(request)
        except BaseException:
            await release()
            raise
        assert isinstance(response.stream, httpx.AsyncByteStream)
        response.stream = _ReleasingStream(response.stream, release)
        return response

    def _new_pool(self) -> httpx.AsyncHTTPTransport:
        transport = httpx.AsyncHTTPTransport(verify=self._ssl, limits=self._limits, trust_env=False)
        # The same pool httpx built, on asyncio's streams (bot.reader.fetcher.network) rather
        # than anyio's. httpx takes no network backend, so its pool is replaced.
        limits = self._limits
        transport._pool = httpcore.AsyncConnectionPool(
            ssl_context=self._ssl,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_BACKEND,
        )
        return transport

    async def _release(self, origin: Origin) -> None:
        left = self._in_flight.get(origin, 1) - 1
        if left > 0:
            self._in_flight[origin] = left
            return
        self._in_flight.pop(origin, None)
        await self._close_surplus()

    async def _close_surplus(self) -> None:
        """Close the least recently used idle pools beyond `max_idle_origins`."""
        idle = len(self._pools) - len(self._in_flight)
        if idle <= self._max_idle:
            return
        surplus = [o for o in self._pools if o not in self._in_flight][: idle - self._max_idle]
        for origin in surplus:
            pool = self._pools.pop(origin)
            await pool.aclose()

    async def aclose(self) -> None:
        self._closed = True
        pools = list(self._pools.values())
        self._pools.clear()
        self._in_flight.clear()
        for pool in pools:
            await pool.aclose()
