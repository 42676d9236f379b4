"""Reading local input with a bound: JSON lines with each line bounded, a file up to a size.

A device or a huge file given by mistake (`--input /dev/zero`, a disk image) would otherwise be
read until memory runs out.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO

# Far above any real item (a full article's text is tens of kilobytes).
MAX_LINE_CHARS = 16 * 1024 * 1024


class LineTooLong(ValueError):
    """A line longer than MAX_LINE_CHARS; the message names it."""


def bounded_lines(stream: IO[str]) -> Iterator[tuple[int, str]]:
    """(line number, line) of a text stream, from 1; raises LineTooLong."""
    number = 0
    while True:
        line = stream.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        number += 1
        if len(line) > MAX_LINE_CHARS:
            megabytes = MAX_LINE_CHARS // (1024 * 1024)
            raise LineTooLong(
                f"line {number}: longer than {megabytes} MiB: expected one JSON object per line"
            )
        yield number, line


class FileTooLarge(ValueError):
    """A file larger than the caller's bound; the message says the bound."""


def read_at_most(path: Path, limit: int) -> bytes:
    """The bytes of `path`, reading at most `limit` + 1 of them; raises FileTooLarge beyond
    `limit` (and OSError as reading does)."""
    with path.open("rb") as stream:
        data = stream.read(limit + 1)
    if len(data) > limit:
        raise FileTooLarge(f"larger than {_size(limit)}")
    return data


def _size(limit: int) -> str:
    megabytes = limit / (1024 * 1024)
    return f"{megabytes:g} MiB" if megabytes >= 1 else f"{limit:,} bytes"
