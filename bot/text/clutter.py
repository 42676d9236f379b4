"""Page clutter removal for full-text articles: related-story teasers, sign-up boxes, share bars.

Full text taken from ``content:encoded`` (or scraped pages in the demo) carries the chrome of the
page it came from: "Related articles" blocks that quote *other* news, newsletter sign-up lines,
"More stories" lists, FAQ boxes and share buttons. Left in, the teasers make the matcher and the
clusterer see companies and events the article is not about. General-purpose boilerplate
removers (readability, trafilatura, jusText) work on whole HTML pages with their DOM; here the
text is already reduced to lines, so the rules work on lines:

* a *section heading* of a clutter block ("Related articles", "More stories:", "Read next",
  "Frequently Asked Questions", "You may also like", ...) ends the article: it and everything after
  it is dropped, since after such a heading a page carries no more of its own story. When the
  heading is the very first line (nothing of the article before it), only the heading goes;
* single clutter *lines* go wherever they are: teaser lines with a label ("Read more: ...",
  "Related: ..."), newsletter and subscription prompts, share-button rows, "Advertisement".

Link-only lists in the HTML are removed earlier, by ``to_plain_text(..., keep_lines=True)``.
"""

from __future__ import annotations

import re

_HEADING_MAX_WORDS = 8

_SECTION_HEADING = re.compile(
    r"""^(?:
        (?:
            related(?:\s+(?:articles?|stories|story|posts?|coverage|content|news|reading|links?
                |topics|videos?))?
          | (?:more|other|latest|recent|top|trending|popular)\s+
            (?:from|on|in|about|like\s+this)\b[^.]*
          | (?:read|watch|up)\s+next
          | you\s+(?:may|might|could)\s+(?:also\s+)?(?:like|enjoy|be\s+interested\s+in)
          | also\s+on\s+\S+
          | recommended(?:\s+(?:for\s+you|stories|articles|reading))?
          | (?:editor'?s\s+picks?|most\s+(?:read|popular|viewed|shared))
          | (?:further|suggested|continue)\s+reading
          | (?:frequently\s+asked\s+questions|faqs?)
          | comments?|\d+\s+comments?|leave\s+a\s+(?:comment|reply)
          | join\s+the\s+(?:discussion|conversation)
          | (?:about\s+the\s+author|share\s+this\s+(?:article|story|post))
        )\s*[:!?»›>|-]*
      | (?:more|other|latest|recent|top|trending|popular)\s+
        (?:stories|news|articles|posts|headlines|coverage|reporting|reads?|videos?)
        (?:\s+(?:from|on|in|about|around|like|for)\b[^.!?:]{0,40})?\s*[.:!»›>|-]*
    )\s*$""",
    re.IGNORECASE | re.VERBOSE,
)

_TEASER_LINE = re.compile(
    r"^(?:read\s+more|read\s+also|also\s+read|see\s+also|related|read\s+next|more|recommended|"
    r"don'?t\s+miss|must\s+read|watch)\s*[:»›|]\s*\S",
    re.IGNORECASE,
)
_READ_MORE = re.compile(
    r"^(?:read\s+(?:the\s+)?(?:more|full\s+(?:story|article)|on)|continue\s+reading|"
    r"click\s+here\b|the\s+post\s+.+\s+appeared\s+first\s+on\b).{0,120}$",
    re.IGNORECASE,
)
# Sign-up prompts: unmistakable phrases (checked on lines of up to 30 words) and weaker words
# that only mark a prompt on a short line (up to 15 words), so article sentences survive.
_NEWSLETTER_STRONG = re.compile(
    r"\b(?:(?:sign\s+up|signup|subscribe|register|join)\b.{0,60}\b(?:newsletters?|updates|inbox|"
    r"e-?mails?|briefings?|alerts?|for\s+free)|(?:in|to|into)\s+your\s+inbox|unsubscribe|"
    r"subscribe\s+(?:now|today|here)|delivered\s+(?:daily|weekly|every\s+\w+)|"
    r"(?:daily|weekly|monthly)\s+(?:briefing|digest|newsletter|roundup))\b",
    re.IGNORECASE,
)
_NEWSLETTER_WEAK = re.compile(
    r"\b(?:newsletters?|inbox|e-?mail\s+address|privacy\s+policy|terms\s+of\s+(?:use|service)|"
    r"subscribe|subscribers?\s+only)\b",
    re.IGNORECASE,
)
_SOCIAL_WORDS = frozenset(
    [
        "share",
        "shares",
        "sharing",
        "tweet",
        "email",
        "e-mail",
        "mail",
        "print",
        "copy",
        "link",
        "url",
        "facebook",
        "twitter",
        "x",
        "linkedin",
        "whatsapp",
        "reddit",
        "pinterest",
        "flipboard",
        "telegram",
        "bluesky",
        "threads",
        "mastodon",
        "messenger",
        "sms",
        "on",
        "this",
        "article",
        "story",
        "post",
        "via",
        "save",
        "bookmark",
        "follow",
        "us",
    ]
)
_LABEL_ONLY = re.compile(
    r"^(?:advertisement|advert|sponsored(?:\s+content)?|ad|skip\s+to\s+(?:main\s+)?content|"
    r"(?:image|photo|picture)\s+(?:credit|source)\s*:.*|listen\s+to\s+this\s+article.*)\s*[:.]?$",
    re.IGNORECASE,
)
_WORD = re.compile(r"[\w'-]+")

# Words every match of the sign-up patterns contains, lower-cased: a line without any of them is
# not searched (the searches try an alternation at every word). Exact for a line whose letters
# lower-case to ASCII letters only where the patterns' case-insensitive matching says so; the
# three letters that match ASCII ones without lower-casing to them send the line to the search.
_ODD_CASE = re.compile("[\u0130\u0131\u017f]")  # İ ı ſ


def _may_be_prompt(lowered: str) -> bool:
    """Whether a lower-cased line holds a word of the strong or the weak sign-up patterns."""
    return (
        "sign" in lowered
        or "subscribe" in lowered
        or "register" in lowered
        or "join" in lowered
        or "inbox" in lowered
        or "delivered" in lowered
        or "daily" in lowered
        or "weekly" in lowered
        or "monthly" in lowered
        or "newsletter" in lowered
        or "mail" in lowered
        or "privacy" in lowered
        or "terms" in lowered
    )


def _is_section_heading(line: str, word_count: int) -> bool:
    return word_count <= _HEADING_MAX_WORDS and _SECTION_HEADING.match(line) is not None


# The letters a teaser, "read more" or label line can begin with, in any case (with the three
# letters that match ASCII ones case-insensitively without being ASCII): a line beginning with
# any other character is not matched against those patterns.
_LABEL_START = frozenset("acdilmprstwACDILMPRSTW\u0130\u0131\u017f")


def _is_clutter_line(line: str, word_count: int) -> bool:
    if line[:1] in _LABEL_START and (
        _TEASER_LINE.match(line) or _READ_MORE.match(line) or _LABEL_ONLY.match(line)
    ):
        return True
    if word_count > 30:
        return False
    lowered = line.lower()
    if _may_be_prompt(lowered) or (not line.isascii() and _ODD_CASE.search(line)):
        if _NEWSLETTER_STRONG.search(line):
            return True
        if word_count <= 15 and _NEWSLETTER_WEAK.search(line):
            return True
    if word_count > 8:
        return False
    words = _WORD.findall(lowered)
    return bool(words) and all(word in _SOCIAL_WORDS for word in words)


def strip_clutter(text: str) -> str:
    """``text`` (lines separated by "\\n") without related-story blocks, sign-up and share lines."""
    if not text:
        return ""
    kept: list[str] = []
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        word_count = len(line.split())
        if _is_section_heading(line, word_count):
            if kept:
                break
            continue
        if _is_clutter_line(line, word_count):
            continue
        kept.append(line)
    return "\n".join(kept)
