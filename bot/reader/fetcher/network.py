"""The fetcher's network backend: httpcore's connections on asyncio's own streams.

httpcore reaches the network through a small documented protocol (``AsyncNetworkBackend``:
connect, then read, write, start TLS and close a stream) and by default implements it on anyio.
anyio's generality costs on every call: each read and write opens a cancel scope and a
``fail_after`` (several ``current_task`` look-ups through sniffio), and each time a pool checks
whether an idle connection is still usable (on every request entering or leaving it) anyio
builds the socket's whole attribute table, ``getpeername`` included. In a cycle of 1,000
unchanged feeds that was about a tenth of the poll's CPU time. newsbot only ever runs on
asyncio, so this backend is asyncio's streams with ``asyncio.timeout``, and the errors httpcore
expects (httpx maps them to its own, which :mod:`bot.reader.fetcher.errors` classifies).

Written here rather than taken from a library because none offers one: httpcore ships anyio,
trio and blocking backends only.
"""

from __future__ import annotations

import asyncio
import select
import socket
import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

SocketOption = (
    tuple[int, int, int] | tuple[int, int, bytes | bytearray] | tuple[int, int, None, int]
)


class AsyncioStream(httpcore.AsyncNetworkStream):
    """One connection: an asyncio stream pair."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        try:
            async with asyncio.timeout(timeout):
                return await self._reader.read(max_bytes)
        except TimeoutError:
            raise httpcore.ReadTimeout(f"no data within {timeout:g}s") from None
        except OSError as exc:
            raise httpcore.ReadError(str(exc) or type(exc).__name__) from exc

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        if not buffer:
            return
        try:
            async with asyncio.timeout(timeout):
                self._writer.write(buffer)
                await self._writer.drain()
        except TimeoutError:
            raise httpcore.WriteTimeout(f"could not send within {timeout:g}s") from None
        except OSError as exc:
            raise httpcore.WriteError(str(exc) or type(exc).__name__) from exc

    async def aclose(self) -> None:
        # Not waiting for the close to complete: a TLS peer that never answers the closing
        # handshake would hold the caller for asyncio's SSL shutdown timeout (30 s); the
        # transport finishes closing on its own.
        self._writer.close()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                await self._writer.start_tls(ssl_context, server_hostname=server_hostname)
        except TimeoutError:
            self._writer.transport.abort()
            raise httpcore.ConnectTimeout(f"no TLS handshake within {timeout:g}s") from None
        except (OSError, ssl.SSLError, ssl.CertificateError) as exc:
            self._writer.transport.abort()
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        return self  # the writer now speaks TLS over the same transport

    def get_extra_info(self, info: str) -> Any:
        writer = self._writer
        if info == "is_readable":
            # Whether an idle connection is done for: the server closed it or wrote out of
            # turn. Asyncio reads as data comes, so that shows as the end of the stream, a
            # closing transport or unread bytes; or, arrived since the loop last looked, as a
            # readable socket.
            reader = self._reader
            return (
                reader.at_eof()
                or writer.transport.is_closing()
                or _buffered(reader)
                or _readable(writer.get_extra_info("socket"))
            )
        if info == "ssl_object":
            return writer.get_extra_info("ssl_object")
        if info == "client_addr":
            return writer.get_extra_info("sockname")
        if info == "server_addr":
            return writer.get_extra_info("peername")
        if info == "socket":
            return writer.get_extra_info("socket")
        return None


def _readable(sock: Any) -> bool:
    fd = sock.fileno() if sock is not None else -1
    if fd < 0:
        return True
    poll = select.poll()
    poll.register(fd, select.POLLIN)
    return bool(poll.poll(0))


def _buffered(reader: asyncio.StreamReader) -> bool:
    buffer = getattr(reader, "_buffer", None)
    return bool(buffer)


class AsyncioBackend(httpcore.AsyncNetworkBackend):
    """Opens connections as asyncio streams (see the module docstring)."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, local_addr=(local_address, 0) if local_address else None
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"no connection within {timeout:g}s") from None
        except OSError as exc:
            raise httpcore.ConnectError(str(exc) or type(exc).__name__) from exc
        sock = writer.get_extra_info("socket")
        # Requests are small writes answered at once: no waiting to coalesce them (as anyio).
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for option in socket_options or ():
            sock.setsockopt(*option)
        return AsyncioStream(reader, writer)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[SocketOption] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("feeds are fetched over TCP only")

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
