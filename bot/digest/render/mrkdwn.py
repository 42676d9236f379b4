"""Escaping of untrusted feed text for Slack's mrkdwn.

Hand-written because slack-sdk has no escaping helper, and because this is the product's security
edge: a feed item must never ping (``<!channel>``, ``<!here>``, ``<@U123>``, ``<!subteam^ID>``),
link a channel (``<#C123>``), forge a link (``<https://evil.example|click>``), or format our
message (``*bold*``, ``_italic_``, ``~strike~``, ```code```, a ``>`` quote).

Slack decodes exactly three entities (``&amp;`` ``&lt;`` ``&gt;``), and every control sequence
starts with a literal ``<``; once ``&``, ``<`` and ``>`` are escaped, feed text can produce none of
them. Bare ``@channel``/``@here``/``@everyone`` only ping when a client asks Slack to parse names,
which we never do, but they get a harmless full-width at sign anyway so a misconfigured integration
cannot turn them into pings either. Inside a link's label ``|`` would end the label early on some
clients, so it is replaced by a look-alike. Links are emitted only for http(s) URLs, with the
characters that would end the ``<url|label>`` syntax percent-encoded.

Formatting characters (``*`` ``_`` ``~`` `````) from a feed are replaced by look-alike letters
that Slack does not interpret (``∗`` U+2217, ``ˍ`` U+02CD, ``∼`` U+223C, ``ˋ`` U+02CB, the table
jsx-slack's ``<Escape>`` uses), in every feed-derived string: headlines, summaries, fact values,
outlet and feed names, in blocks and in the ``text`` fallback alike. The text reads as written;
only a copy of it differs. Why not the alternatives:

- mrkdwn has no escape character: a backslash is shown and does not stop formatting
  (slackhq/slack-api-docs#34, #93).
- ``"verbatim": true`` on a text object only turns off auto-linking of URLs, channel names and
  mentions; Slack's reference says it "will continue to process all markdown formatting".
- zero-width spaces (or joiners) around a formatting character make word boundaries, which is
  what *enables* formatting: jsx-slack's "exact mode" inserts them to force ``_x_`` to render
  inside a word, so wrapping feed text in them would keep it live.
- a date token with an invalid format and the character as its fallback
  (``<!date^0^{_}|*>``, jsx-slack's main trick) shows the real character, but relies on
  undocumented client behaviour and costs ~20 characters per character, against Slack's 3,000
  character section limit.

A look-alike is one character for one, so escaping never lengthens text beyond the entities and
the message-size budgets of :mod:`bot.digest.render.slack` hold. A line that starts with ``>``
(a quote in mrkdwn, escaped or not) gets an invisible soft hyphen (U+00AD) in front, as jsx-slack
does.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from bot.digest.compose import is_http_url

_BROADCAST = re.compile(r"@(?=(?:channel|here|everyone)\b)", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """Drop control and bidi-override characters (terminal escapes, RTL tricks); keep newlines."""
    return _CONTROL.sub("", text)


def escape(text: str) -> str:
    """Untrusted text made inert for mrkdwn: no pings, no links, no entities and no formatting
    of its own (see the module docstring); newlines are kept."""
    text = clean_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _BROADCAST.sub("＠", text)
    for char, lookalike in _LOOKALIKES:  # four replaces: far faster than str.translate
        text = text.replace(char, lookalike)
    return _QUOTE_START.sub(_SOFT_HYPHEN, text)


def escape_label(text: str) -> str:
    """Untrusted text for a link label or bold span: also on one line and without '|', which
    would end a link's label early."""
    return escape(" ".join(text.split())).replace("|", "¦")


_LOOKALIKES = (("*", "∗"), ("_", "ˍ"), ("~", "∼"), ("`", "ˋ"))
_SOFT_HYPHEN = "\u00ad"
# the start of a line (after blanks) that begins with an escaped ">": a quote in mrkdwn
_QUOTE_START = re.compile(r"^(?=[ \t]*&gt;)", re.MULTILINE)


def escape_url(url: str) -> str:
    """An http(s) URL made safe inside ``<url|label>``: nothing in it can end the link."""
    url = clean_text(url).strip()
    # keep existing escapes; only a bare % that starts no escape is encoded
    url = re.sub(r"%(?![0-9A-Fa-f]{2})", "%25", url)
    url = re.sub(r"\s", "%20", url)
    for char, code in (("|", "%7C"), ("<", "%3C"), (">", "%3E")):
        url = url.replace(char, code)
    return url.replace("&", "&amp;")


def link(url: str | None, label: str) -> str:
    """``<url|label>`` for http(s) URLs, else just the escaped label: no other scheme is linked."""
    text = escape_label(label)
    if url and is_http_url(url):
        return f"<{escape_url(url)}|{text}>"
    return text


def date(moment: datetime, fallback: str) -> str:
    """A Slack date token: each reader's client shows ``moment`` in their own time zone ("Dec 4
    11:51 PM", "Yesterday at ..."); ``fallback`` is shown where tokens are not understood."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    label = escape(" ".join(fallback.split())).replace("|", "¦")
    return f"<!date^{int(aware.timestamp())}^{{date_short_pretty}} {{time}}|{label}>"
