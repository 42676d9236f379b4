"""Defusing of XML document type declarations before any XML parser sees a feed.

feedparser parses with expat (through ``xml.sax``) and falls back to an SGML parser. Python's SAX
reader does not fetch external entities by default and expat >= 2.4 refuses large entity
amplification, and feedparser itself drops most entity declarations; but those guarantees belong
to three different projects and versions (and feedparser's own clean-up only recognises
declarations that start a line). A feed never needs anything in a DTD except, rarely, a named
character such as ``<!ENTITY nbsp "&#160;">``. So before parsing we rewrite the internal subset of
the DOCTYPE to keep only such character entities and drop everything else: external entities
(``SYSTEM``/``PUBLIC``, i.e. XXE), parameter entities (``%``), and entities whose value refers to
other entities (the "billion laughs" expansion). ``defusedxml`` does the equivalent by refusing
such documents outright; we would rather still read the feed, minus its DTD.

Measured: a one-line billion-laughs document (declarations not at line starts, so feedparser's
clean-up misses them) costs feedparser 2.7 s and 57 MiB before expat's amplification limit stops
it; defused, it parses in 20 ms and 32 KiB.
"""

from __future__ import annotations

import re

_DOCTYPE = re.compile(rb"<!DOCTYPE\b", re.IGNORECASE)
_FIRST_ELEMENT = re.compile(rb"<[A-Za-z_]")
_ENTITY_DECL = re.compile(
    rb"""<!ENTITY\s+([A-Za-z_][\w.:-]*)\s+(?:"([^"]*)"|'([^']*)')\s*>""",
)
_SAFE_VALUE = re.compile(rb"^(?:[^&%<]*|&#[0-9]{1,7};|&#x[0-9A-Fa-f]{1,6};)$")
_MAX_SAFE_VALUE = 64


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
        if len(found.group(2) or found.group(3) or b"") <= _MAX_SAFE_VALUE
        and _SAFE_VALUE.match(found.group(2) if found.group(2) is not None else found.group(3))
    ]
    name = re.match(rb"<!DOCTYPE\s+([^\s\[>]+)", body[start:end], re.IGNORECASE)
    replacement = b"<!DOCTYPE " + (name.group(1) if name else b"rss")
    if safe:
        replacement += b" [\n" + b"\n".join(safe) + b"\n]"
    replacement += b">"
    removed = len(re.findall(rb"<!", subset)) > len(safe)
    return body[:start] + replacement + body[end:], removed
