"""Defusing of XML document type declarations before any XML parser sees a feed.

feedparser parses with expat (through ``xml.sax``) and falls back to an SGML parser. Python's SAX
reader does not fetch external entities by default and expat >= 2.4 refuses large entity
amplification, and feedparser itself drops most entity declarations; but those guarantees belong
to three different projects and versions (and feedparser's own clean-up only recognises
declarations that start a line, and keeps any plain-text entity however long). A feed never
needs anything in a DTD except, rarely, a named character such as ``<!ENTITY nbsp "&#160;">``.
So before parsing we rewrite the internal subset of the DOCTYPE to keep only such character
entities and drop everything else: external entities (``SYSTEM``/``PUBLIC``, i.e. XXE),
parameter entities (``%``), entities whose value refers to other entities (the "billion laughs"
expansion), and entities whose value is text longer than one character. The last rule is what
bounds expansion: a kept entity expands to at most 4 bytes (one UTF-8 character) and a reference
to it takes at least 3 (``&a;``), so no document grows by more than a third when its entities
are expanded, whatever its size. (A 64-byte entity, allowed until issue 18, let a 10 MiB feed
expand twenty-fold.) ``defusedxml`` does the equivalent by refusing such documents outright; we
would rather still read the feed, minus its DTD: references to a dropped entity are left to the
parser as undefined entities.

Both parsers are covered whatever the document's encoding. :func:`defuse_doctype` runs on the
bytes as received, which shows the DOCTYPE of any ASCII-compatible document;
:func:`guard_feedparser` also runs it on the UTF-8 text feedparser makes of the document before
feedparser reads the DTD, which covers UTF-16/32, EBCDIC, UTF-7 and any charset the HTTP header
names. The fast path (:mod:`bot.reader.parser.fast`) declines every document with a DOCTYPE
(:func:`has_doctype`).

Measured: a one-line billion-laughs document (declarations not at line starts, so feedparser's
clean-up misses them) costs feedparser 2.7 s and 57 MiB before expat's amplification limit stops
it; defused, it parses in 20 ms and 32 KiB. ``bench/entity_amplifier.py``: a 10 MiB feed whose
items repeat a 64-byte entity took 269 MiB peak RSS (a plain 10 MiB feed: 57 MiB); with
one-character entities only it takes 110 MiB, the cost of a document full of undefined entities.
A 1.2 MiB UTF-16 feed repeating a 2,000-byte entity took 439 MiB and 21 s of CPU before
feedparser was guarded, and takes 30 MiB and 0.8 s since.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_DOCTYPE = re.compile(rb"<!DOCTYPE\b", re.IGNORECASE)
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_ENTITY_DECL = re.compile(
    rb"""<!ENTITY\s+([A-Za-z_][\w.:-]*)\s+(?:"([^"]*)"|'([^']*)')\s*>""",
)
# One character: up to 4 bytes of plain text (UTF-8's longest character; shorter in a legacy
# single-byte charset) or one character reference.
_SAFE_VALUE = re.compile(rb"^(?:[^&%<]{0,4}|&#[0-9]{1,7};|&#x[0-9A-Fa-f]{1,6};)$")


def _skip_prolog_noise(body: bytes, start: int) -> int:
    """Index of the first markup after ``start`` that is not a comment or processing instruction."""
    position = start
    while True:
        lt = body.find(b"<", position)
        if lt < 0:
            return len(body)
        if body.startswith(b"<!--", lt):
            end = body.find(b"-->", lt + 4)
            if end < 0:
                return len(body)
            position = end + 3
        elif body.startswith(b"<?", lt):
            end = body.find(b"?>", lt + 2)
            if end < 0:
                return len(body)
            position = end + 2
        else:
            return lt


def _doctype_end(body: bytes, start: int) -> tuple[int, int, int]:
    """(end of DOCTYPE, start of internal subset or -1, end of internal subset or -1)."""
    quote: int | None = None
    subset_start = -1
    index = start + len(b"<!DOCTYPE")
    length = len(body)
    while index < length:
        char = body[index]
        if quote is not None:
            if char == quote:
                quote = None
        elif subset_start < 0:
            if char in (0x22, 0x27):
                quote = char
            elif char == 0x5B:  # "["
                subset_start = index + 1
            elif char == 0x3E:  # ">"
                return index + 1, -1, -1
        else:
            if body.startswith(b"<!--", index):
                comment_end = body.find(b"-->", index + 4)
                if comment_end < 0:
                    break
                index = comment_end + 3
                continue
            if char in (0x22, 0x27):
                quote = char
            elif char == 0x5D:  # "]"
                close = body.find(b">", index)
                if close < 0:
                    break
                return close + 1, subset_start, index
        index += 1
    # Unterminated: the DOCTYPE swallows the rest of the prolog; cut it up to the first element.
    element = _FIRST_ELEMENT.search(body, start + 2)
    end = element.start() if element else length
    return end, subset_start, (end if subset_start >= 0 else -1)


def defuse_doctype(body: bytes) -> tuple[bytes, bool]:
    """``body`` with a DOCTYPE reduced to safe character entities; True if anything was removed.

    Only an ASCII-compatible encoding is inspected; UTF-16/32 documents are left to expat, whose
    external-entity loading is off and whose amplification limit bounds entity expansion.
    """
    head = _skip_prolog_noise(body, 0)
    match = _DOCTYPE.match(body, head)
    if match is None:
        return body, False
    start = match.start()
    end, subset_start, subset_end = _doctype_end(body, start)
    if subset_start < 0:
        return body, False  # an external DTD reference only: never fetched by the SAX reader
    subset = body[subset_start:subset_end]
    safe = [
        found.group(0)
        for found in _ENTITY_DECL.finditer(subset)
        if _SAFE_VALUE.match(found.group(2) if found.group(2) is not None else found.group(3))
    ]
    name = re.match(rb"<!DOCTYPE\s+([^\s\[>]+)", body[start:end], re.IGNORECASE)
    replacement = b"<!DOCTYPE " + (name.group(1) if name else b"rss")
    if safe:
        replacement += b" [\n" + b"\n".join(safe) + b"\n]"
    replacement += b">"
    removed = len(re.findall(rb"<!", subset)) > len(safe)
    return body[:start] + replacement + body[end:], removed


def has_doctype(body: bytes) -> bool:
    """Whether an ASCII-compatible document declares a DOCTYPE (after any comments and PIs)."""
    return _DOCTYPE.match(body, _skip_prolog_noise(body, 0)) is not None


_FeedparserDoctype = Callable[[bytes], tuple[str | None, bytes, dict[str, str]]]


def _defusing(replace_doctype: _FeedparserDoctype) -> _FeedparserDoctype:
    def replace_defused_doctype(data: bytes) -> tuple[str | None, bytes, dict[str, str]]:
        return replace_doctype(defuse_doctype(data)[0])

    replace_defused_doctype.defuses = True  # type: ignore[attr-defined]
    return replace_defused_doctype


def guard_feedparser() -> None:
    """Make feedparser defuse the DTD of the UTF-8 text it decoded, before it reads the DTD.

    feedparser decodes a document to UTF-8 (:func:`feedparser.encodings.convert_to_utf8`) and
    then hands it to ``replace_doctype``, which keeps the entity declarations its parsers use;
    that call is the one place where every document's DTD is visible as UTF-8 whatever its
    original encoding, so our defusing goes in front of it. Idempotent.
    """
    import feedparser.api

    current = getattr(feedparser.api, "replace_doctype", None)
    if current is None:  # a feedparser release that no longer works this way: fail loudly
        raise RuntimeError("feedparser.api.replace_doctype is missing: the DTD guard cannot apply")
    if not getattr(current, "defuses", False):
        feedparser.api.replace_doctype = _defusing(current)
