"""Markup to plain text: tags stripped, entities decoded, whitespace collapsed, lengths capped.

Feed titles and descriptions arrive as HTML fragments (sometimes escaped twice, sometimes
plain text with stray ``&amp;``). Downstream stages only need words, and every renderer escapes
on output, so nothing here has to be *safe* HTML: we only have to recover the text. A pass of
compiled regular expressions does that several times faster than ``html.parser`` or a DOM
library, and feed parsing is the hot loop of a poll cycle (50,000 descriptions per 1,000 feeds),
which is why this is hand-written rather than built on BeautifulSoup/lxml.

Block boundaries (``<p>``, ``<br>``, ``<li>``, headings, ...) become line breaks when
``keep_lines`` is set, so :func:`bot.text.clutter.strip_clutter` can reason about
paragraphs and headings of a full-text article.
"""

from __future__ import annotations

import html
import re

# Elements whose content is never article text (code, styling, embedded widgets, page chrome).
_DROP_ELEMENTS = re.compile(
    r"<(script|style|noscript|template|iframe|svg|math|object|select|button|nav|aside|form|footer)"
    r"\b[^>]*>.*?</\1\s*>",
    re.IGNORECASE | re.DOTALL,
)
_DROP_HINT = re.compile(
    r"<(?:script|style|noscript|template|iframe|svg|math|object|select|button|nav|aside|form|"
    r"footer)\b",
    re.IGNORECASE,
)
_LIST_HINT = re.compile(r"<[uo]l\b", re.IGNORECASE)
_CELL_HINT = re.compile(r"<t[dh]\b", re.IGNORECASE)
# Any of the three hints above, in one search (most descriptions have none of them).
_ANY_HINT = re.compile(
    r"<(?:s(?:cript|tyle|vg|elect)|n(?:oscript|av)|t(?:emplate|[dh])|iframe|math|o(?:bject|l)"
    r"|button|aside|f(?:orm|ooter)|ul)\b",
    re.IGNORECASE,
)
_COMMENT = re.compile(r"<!--.*?(?:-->|$)", re.DOTALL)
_CDATA = re.compile(r"<!\[CDATA\[(.*?)(?:\]\]>|$)", re.DOTALL)
_BLOCK_TAG = re.compile(
    r"</?(?:p|div|br|hr|li|ul|ol|dl|dt|dd|h[1-6]|tr|table|thead|tbody|blockquote|pre|section|"
    r"article|header|figure|figcaption|main|address|details|summary)\b[^>]*>",
    re.IGNORECASE,
)
_CELL_TAG = re.compile(r"</?(?:td|th)\b[^>]*>", re.IGNORECASE)
# A tag must start with a letter, "/" or "!" so that text such as "a < b" survives.
_ANY_TAG = re.compile(r"</?[A-Za-z][^<>]*>|<![^<>]*>|<\?[^<>]*\?>")
# Tags a second unescape may reveal in double-escaped HTML; other "<words>" are literal text.
_HTML_TAG = re.compile(
    r"</?(?:a|abbr|b|big|blockquote|br|caption|cite|code|dd|del|div|dl|dt|em|figcaption|figure|"
    r"font|h[1-6]|hr|i|img|ins|kbd|li|mark|ol|p|pre|q|s|small|span|strike|strong|sub|sup|table|"
    r"tbody|td|tfoot|th|thead|tr|tt|u|ul|iframe|script|style|video|audio|source|picture)\b[^<>]*>",
    re.IGNORECASE,
)
_LINK_LIST = re.compile(r"<(ul|ol)\b[^>]*>(.*?)</\1\s*>", re.IGNORECASE | re.DOTALL)
_ANCHOR = re.compile(r"<a\b[^>]*>(.*?)</a\s*>", re.IGNORECASE | re.DOTALL)
_SPACES = re.compile(r"[^\S\n]+")
_ALL_SPACE = re.compile(r"\s+")
# White space other than " " and "\n" (every character `\s` matches, listed: a class of
# characters is tested several times faster than the `\s` category). Text without any, and
# without two spaces in a row, has nothing to collapse; text without any has only runs of
# spaces to collapse, which a literal search finds faster than a pass over every space.
_ODD_SPACE = re.compile(
    "[\t\x0b\x0c\r\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
)
_SPACE_RUN = re.compile(" {2,}")
# A control character (see _CONTROL) or odd white space: text without any has none to remove.
_CONTROL_OR_ODD_SPACE = re.compile(
    "[\x00-\x09\x0b\x0c\r\x0e-\x1f\x7f\x85\xa0\u1680\u2000-\u200d\u2028\u2029\u202f"
    "\u205f\u2060\u3000\ufeff]"
)
_BLANK_LINES = re.compile(r"\n\s*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\u200c\u200d\u2060\ufeff]")
_LOOKS_LIKE_MARKUP = re.compile(r"<[A-Za-z/!?]|&(?:#\d+|#x[0-9A-Fa-f]+|[A-Za-z][A-Za-z0-9]{1,31});")


def _drop_link_lists(markup: str) -> str:
    """Remove lists that are (almost) only links: "related stories" and share-button menus."""

    def replace(match: re.Match[str]) -> str:
        inner = match.group(2)
        anchors = _ANCHOR.findall(inner)
        if len(anchors) < 2:
            return match.group(0)
        linked = sum(len(_ANY_TAG.sub("", a).strip()) for a in anchors)
        total = len(_ALL_SPACE.sub(" ", _ANY_TAG.sub(" ", inner)).strip())
        return "\n" if total and linked / total >= 0.8 else match.group(0)

    return _LINK_LIST.sub(replace, markup)


def to_plain_text(markup: str | None, *, keep_lines: bool = False, limit: int | None = None) -> str:
    """The readable text of an HTML fragment (or of plain text with entities).

    With ``keep_lines`` block elements become line breaks and blank lines are collapsed, else the
    whole text is one line. ``limit`` caps the length, cutting at a word boundary with an ellipsis.
    """
    if not markup:
        return ""
    text = markup
    if not keep_lines and "<" not in text and "&" not in text:
        # Most titles, authors and categories: only white space and control characters to fix.
        text = " ".join(_CONTROL.sub("", text).split())
        return truncate(text, limit) if limit is not None else text
    if _LOOKS_LIKE_MARKUP.search(text):
        if "<" in text:
            # Cheap substring tests spare most descriptions most of the passes.
            if "<!" in text:
                text = _COMMENT.sub(" ", text)
                text = _CDATA.sub(r"\1", text)
            if _ANY_HINT.search(text) is None:
                # Replacing tags by white space creates no new tag: no hint appears later.
                text = _ANY_TAG.sub("", _BLOCK_TAG.sub("\n", text))
            else:
                if _DROP_HINT.search(text):
                    text = _DROP_ELEMENTS.sub("\n", text)
                if keep_lines and _LIST_HINT.search(text):
                    text = _drop_link_lists(text)
                text = _BLOCK_TAG.sub("\n", text)
                if _CELL_HINT.search(text):
                    text = _CELL_TAG.sub(" ", text)
                text = _ANY_TAG.sub("", text)
        text = html.unescape(text)
        # Descriptions escaped twice ("&lt;p&gt;") only show their tags after one unescape.
        if "<" in text and _HTML_TAG.search(text):
            text = _DROP_ELEMENTS.sub("\n", text)
            text = _BLOCK_TAG.sub("\n", text)
            text = _HTML_TAG.sub("", text)
    if _CONTROL_OR_ODD_SPACE.search(text) is None:  # most text: one search instead of two
        text = _collapse(text, keep_lines, odd=False)
    else:
        text = collapse_space(_CONTROL.sub("", text), keep_lines=keep_lines)
    if limit is not None:
        text = truncate(text, limit)
    return text


def collapse_space(text: str, *, keep_lines: bool = False) -> str:
    """`text` with every run of white space one space, or with `keep_lines` every run without a
    line break one space and every run with one a single line break; stripped."""
    return _collapse(text, keep_lines, odd=_ODD_SPACE.search(text) is not None)


def _collapse(text: str, keep_lines: bool, *, odd: bool) -> str:
    """collapse_space, told whether `text` has white space other than spaces and line breaks."""
    if keep_lines:
        if odd:
            text = _SPACES.sub(" ", text)
        elif "  " in text:
            text = _SPACE_RUN.sub(" ", text)
        return _BLANK_LINES.sub("\n", text).strip()
    if odd or "\n" in text:
        return _ALL_SPACE.sub(" ", text).strip()
    return _SPACE_RUN.sub(" ", text).strip() if "  " in text else text.strip()


def truncate(text: str, limit: int) -> str:
    """Cut ``text`` to at most ``limit`` characters at a word boundary, marking the cut with '…'."""
    if len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    space = cut.rfind(" ")
    if space > limit * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"
