"""Failure classification for feed fetches: every problem gets one short class and a clear message.

Classes (stored in ``FetchOutcome.error_class`` and shown by ``newsbot feeds``): ``dns``,
``connect``, ``timeout``, ``tls``, ``http_status``, ``too_large``, ``redirect``, ``bad_scheme``,
``blocked`` (an internal address the fetch policy refuses, :mod:`bot.reader.fetcher.policy`),
and, from the parser, ``not_a_feed`` and ``parse_error``.
"""

from __future__ import annotations

import socket
import ssl
import zlib

import httpx

DNS = "dns"
CONNECT = "connect"
TIMEOUT = "timeout"
TLS = "tls"
HTTP_STATUS = "http_status"
TOO_LARGE = "too_large"
REDIRECT = "redirect"
BAD_SCHEME = "bad_scheme"
BLOCKED = "blocked"
NOT_A_FEED = "not_a_feed"
PARSE_ERROR = "parse_error"

ERROR_CLASSES = (
    DNS,
    CONNECT,
    TIMEOUT,
    TLS,
    HTTP_STATUS,
    TOO_LARGE,
    REDIRECT,
    BAD_SCHEME,
    BLOCKED,
    NOT_A_FEED,
    PARSE_ERROR,
)

_DNS_HINTS = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "no address associated",
    "getaddrinfo",
    "name resolution",
)


class FetchError(Exception):
    """A classified fetch failure. The fetcher turns it into an ERROR outcome; it never escapes
    :meth:`bot.reader.fetcher.Fetcher.fetch`."""

    def __init__(
        self,
        error_class: str,
        message: str,
        *,
        http_status: int | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.message = message
        self.http_status = http_status
        self.retry_after_s = retry_after_s


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and len(chain) < 10:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0][:300] if text else type(exc).__name__


def classify_exception(exc: BaseException) -> tuple[str, str]:
    """(error class, message) for an exception raised while fetching."""
    if isinstance(exc, FetchError):
        return exc.error_class, exc.message
    chain = _causes(exc)
    if isinstance(exc, httpx.TimeoutException | TimeoutError):
        phases: dict[type[BaseException], str] = {
            httpx.ConnectTimeout: "connecting",
            httpx.ReadTimeout: "waiting for data",
            httpx.WriteTimeout: "sending the request",
            httpx.PoolTimeout: "waiting for a free connection",
        }
        phase = phases.get(type(exc), "fetching")
        return TIMEOUT, f"timed out {phase}"
    if isinstance(exc, httpx.UnsupportedProtocol):
        return BAD_SCHEME, f"unsupported URL scheme ({_first_line(exc)})"
    if isinstance(exc, httpx.InvalidURL):
        return BAD_SCHEME, f"invalid URL ({_first_line(exc)})"
    if any(isinstance(item, socket.gaierror) for item in chain):
        return DNS, f"DNS lookup failed ({_first_line(exc)})"
    if any(isinstance(item, ssl.SSLError | ssl.CertificateError) for item in chain):
        return TLS, f"TLS error ({_first_line(exc)})"
    message = _first_line(exc)
    lowered = message.lower()
    if isinstance(exc, httpx.ConnectError):
        if any(hint in lowered for hint in _DNS_HINTS):
            return DNS, f"DNS lookup failed ({message})"
        if "ssl" in lowered or "certificate" in lowered or "tls" in lowered:
            return TLS, f"TLS error ({message})"
        return CONNECT, f"cannot connect ({message})"
    if isinstance(exc, httpx.DecodingError | zlib.error):
        return CONNECT, f"response body could not be decoded ({message})"
    if isinstance(exc, httpx.HTTPError | OSError):
        return CONNECT, f"connection failed ({message})"
    return CONNECT, f"{type(exc).__name__}: {message}"
