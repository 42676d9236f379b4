"""Bounded reading of a response body: a cap on the bytes received and on the bytes they inflate to.

httpx decodes ``Content-Encoding`` itself, but its decoders inflate a whole network chunk at once,
so one 64 KiB chunk of a gzip bomb becomes some 64 MiB in memory before any check can run. We
read the raw stream and inflate with ``zlib``'s ``max_length`` so that no step ever holds more
than the cap (plus one chunk), which is why this small decoder is hand-written.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

from bot.reader.fetcher.errors import CONNECT, TOO_LARGE, FetchError

SUPPORTED_ENCODINGS = "gzip, deflate"


class BoundedInflater:
    """Incremental gzip/deflate/identity decoding that refuses to produce more than ``limit``."""

    def __init__(self, encoding: str, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._parts: list[bytes] = []
        names = [part.strip().lower() for part in encoding.split(",") if part.strip()]
        names = [name for name in names if name != "identity"]
        if len(names) > 1:
            raise FetchError(CONNECT, f"unsupported stacked Content-Encoding {encoding!r}")
        self._kind = names[0] if names else "identity"
        if self._kind not in ("identity", "gzip", "x-gzip", "deflate"):
            raise FetchError(CONNECT, f"unsupported Content-Encoding {encoding!r}")
        self._inflater: zlib._Decompress | None = None
        self._raw_deflate_tried = False
        self._started = False

    def _new_inflater(self) -> zlib._Decompress:
        if self._kind in ("gzip", "x-gzip"):
            return zlib.decompressobj(16 + zlib.MAX_WBITS)
        return zlib.decompressobj(zlib.MAX_WBITS)

    def _emit(self, data: bytes) -> None:
        if not data:
            return
        self.size += len(data)
        if self.size > self.limit:
            raise FetchError(TOO_LARGE, f"body inflates to more than {self.limit} bytes")
        self._parts.append(data)

    def _inflate(self, data: bytes) -> None:
        while data:
            if self._inflater is None:
                self._inflater = self._new_inflater()
            try:
                out = self._inflater.decompress(data, self.limit - self.size + 1)
            except zlib.error:
                if self._kind == "deflate" and not self._raw_deflate_tried and not self._started:
                    # Some servers send raw DEFLATE (no zlib header) as "deflate".
                    self._raw_deflate_tried = True
                    self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise
            self._started = True
            self._emit(out)
            if self._inflater.unconsumed_tail:
                data = self._inflater.unconsumed_tail
                continue
            if self._inflater.eof and self._inflater.unused_data:
                data = self._inflater.unused_data  # a second gzip member
                self._inflater = None
                continue
            break

    def feed(self, chunk: bytes) -> None:
        if self._kind == "identity":
            self._emit(chunk)
        else:
            self._inflate(chunk)

    def finish(self) -> bytes:
        if self._inflater is not None:
            self._emit(self._inflater.flush())
        return b"".join(self._parts)


async def read_bounded(chunks: AsyncIterator[bytes], encoding: str, limit: int) -> bytes:
    """The decoded body from raw ``chunks``; FetchError(too_large) past ``limit`` either way."""
    inflater = BoundedInflater(encoding, limit)
    received = 0
    async for chunk in chunks:
        received += len(chunk)
        if received > limit:
            raise FetchError(TOO_LARGE, f"response is larger than {limit} bytes")
        inflater.feed(chunk)
    return inflater.finish()
