"""The reader's fast paths give exactly what the general code gives.

Dates in the RFC 822 form are read without feedparser, plain web links are made canonical
without `urlsplit`, white space is collapsed only where there is something to collapse, and
clutter lines are searched for sign-up prompts only when they hold one of the prompts' words.
Each is compared with the general code on values built to hit the corners (and the fast path
must actually be taken for the common values, so that the comparison means something).
"""

from __future__ import annotations

import random
import re
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from feedparser.datetimes import _parse_date

from bot.reader.parser.fast import _date, _rfc822
from bot.reader.processor import from_struct_time, to_plain_text
from bot.reader.processor import text as text_module
from bot.reader.processor.text import collapse_space
from bot.reader.processor.urls import _plain_canonical, _split_canonical, canonical_url
from bot.text import clutter
from bot.text.clutter import strip_clutter

ALL_CHARS = "".join(chr(code) for code in range(sys.maxunicode + 1) if not 0xD800 <= code < 0xE000)


def _feedparser_date(value: str) -> datetime | None:
    return from_struct_time(_parse_date(value))


def test_rfc822_dates_equal_feedparsers_reading() -> None:
    rng = random.Random(5)
    values = []
    start = datetime(1990, 1, 1, tzinfo=UTC)
    for _ in range(3000):
        when = start + timedelta(seconds=rng.randrange(60 * 365 * 86400))
        value = format_datetime(when, usegmt=True)
        zone = rng.choice(["GMT", "UTC", "UT", "Z", "+0000", "-0500", "+0530", "+1400", "-0099"])
        values.append(value[: -len("GMT")] + zone)
    values += [
        "Sat, 28 Nov 2026 18:18:00 GMT",
        "Sun, 31 Feb 2026 10:00:00 GMT",  # no such day
        "Mon, 01 Jan 2024 24:00:00 GMT",
        "Mon, 01 Jan 2024 23:59:60 GMT",  # leap second
        "Mon, 01 Jan 2024 23:61:00 +0000",
        "Mon, 01 Jan 0001 00:00:00 +0100",
        "Fri, 31 Dec 9999 23:59:59 -1200",
        "Tue, 10 Jun 2003 04:00:00 EST",  # a zone name: feedparser's
        "Tue, 10 Jun 2003 04:00:00 gmt",
        "tue, 10 jun 2003 04:00:00 GMT",
        "Tue, 10 Jun 03 04:00:00 GMT",
        "Tue, 1 Jun 2003 04:00:00 GMT",
        "Tue, 10 Jun 2003 04:00 GMT",
        "Tue,  10 Jun 2003 04:00:00 GMT",
        "Tue, 10 Jun 2003 04:00:00 +05:30",
        "2003-06-10T04:00:00Z",
        "",
    ]
    fast = 0
    for value in values:
        expected = _feedparser_date(value) if value else None
        assert _date(value) == expected, value
        direct = _rfc822(value)
        if direct is not None:
            fast += 1
            assert direct == expected and direct.tzinfo is UTC, value
    assert fast >= 3000  # the common form takes the fast path


def _random_url(rng: random.Random) -> str:
    pieces = [
        rng.choice(["https://", "http://", "HTTPS://", "Http://", "ftp://", "https:/", "//"]),
        rng.choice(
            [
                "example.com",
                "Example.COM",
                "www.google.com",
                "news.google.com",
                "l.facebook.com",
                "href.li",
                "r.search.yahoo.com",
                "a-b.example",
                "ex..ample",
                "example.com.",
                "user@example.com",
                "example.com:443",
                "example.com:8080",
                "[::1]",
                "exämple.com",
                "",
            ]
        ),
    ]
    for _ in range(rng.randrange(4)):
        pieces.append(
            rng.choice(
                [
                    "/",
                    "/news",
                    "/a b",
                    "/%20",
                    "//x",
                    "/ü",
                    "/a;b",
                    "/url",
                    "/l.php",
                    "/:x",
                    "/a;jsessionid=F00",
                    ";JSESSIONID=1",
                ]
            )
        )
    if rng.random() < 0.6:
        params = [
            rng.choice(
                [
                    "utm_source=rss",
                    "UTM_Medium=x",
                    "id=5",
                    "fbclid=abc",
                    "q=https://target.example/x",
                    "url=https%3A%2F%2Ft.example%2F",
                    "a",
                    "",
                    "x=%75tm",
                    "%75tm_source=1",
                    "u=http://a.example/?utm_x=1",
                    "b=?c",
                    "PHPSESSID=42",
                    "ASPSESSIONIDAB=C",
                ]
            )
            for _ in range(rng.randrange(4))
        ]
        pieces.append("?" + "&".join(params))
    if rng.random() < 0.3:
        pieces.append(rng.choice(["#", "#top", "#!/page", "#!", "#a#b", "# x"]))
    if rng.random() < 0.1:
        pieces.insert(rng.randrange(len(pieces) + 1), rng.choice(["\t", "\n", " ", "\x00"]))
    return "".join(pieces)


def test_plain_links_are_made_canonical_as_urlsplit_makes_them() -> None:
    rng = random.Random(8)
    fast = 0
    for _ in range(20000):
        url = _random_url(rng)
        candidate = url.strip()
        if not candidate:
            continue
        plain = _plain_canonical(candidate)
        general = _split_canonical(candidate, None)
        if plain is not None:
            fast += 1
            assert plain == general, url
        assert canonical_url(url) == general, url
        assert canonical_url(url, "https://feed.example/a/") == _split_canonical(
            candidate, "https://feed.example/a/"
        )
    assert fast > 1000
    assert canonical_url("https://Outlet.example/news/1?utm_source=rss&utm_medium=feed") == (
        "https://outlet.example/news/1"
    )


# The white-space collapsing as it was before the fast paths: the reference.
_SPACES = re.compile(r"[^\S\n]+")
_ALL_SPACE = re.compile(r"\s+")


def test_the_odd_white_space_class_is_every_white_space_but_space_and_newline() -> None:
    expected = "".join(re.findall(r"[^\S\n ]", ALL_CHARS))
    assert "".join(text_module._ODD_SPACE.findall(ALL_CHARS)) == expected


def test_the_control_or_odd_space_class_is_the_union_of_both() -> None:
    found = set(text_module._CONTROL_OR_ODD_SPACE.findall(ALL_CHARS))
    control = set(text_module._CONTROL.findall(ALL_CHARS))
    assert found == control | set(text_module._ODD_SPACE.findall(ALL_CHARS))
    assert "\n" not in found and " " not in found


def test_white_space_is_collapsed_as_before() -> None:
    rng = random.Random(2)
    parts = [" ", "  ", "   ", "\n", "\n \n", "\t", "\xa0", "\u2003", "\u3000", "\r\n", "w"]
    parts += ["word", ".", "\x0b", "\u2028", "\x85", "\x1f", "\u200b", " \n "]
    for _ in range(50000):
        text = "".join(rng.choice(parts) for _ in range(rng.randrange(12)))
        expected_lines = re.sub(r"\n\s*", "\n", _SPACES.sub(" ", text)).strip()
        assert collapse_space(text, keep_lines=True) == expected_lines, repr(text)
        assert collapse_space(text) == _ALL_SPACE.sub(" ", text).strip(), repr(text)
    markup = "<p>A  GPU\tdeal</p>  <p>signed &nbsp; today</p>"
    assert to_plain_text(markup, keep_lines=True) == "A GPU deal\nsigned today"
    assert to_plain_text(markup) == "A GPU deal signed today"


def test_odd_case_letters_are_all_that_match_ascii_letters_without_lowering_to_them() -> None:
    odd = set()
    for letter in "abcdefghijklmnopqrstuvwxyz":
        for char in re.findall(letter, ALL_CHARS, re.IGNORECASE):
            if char.lower() != letter:
                odd.add(char)
    odd -= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    assert odd == set(clutter._ODD_CASE.findall(ALL_CHARS))


def _reference_is_clutter_line(line: str, word_count: int) -> bool:
    if clutter._TEASER_LINE.match(line) or clutter._READ_MORE.match(line):
        return True
    if clutter._LABEL_ONLY.match(line):
        return True
    if word_count <= 30 and clutter._NEWSLETTER_STRONG.search(line):
        return True
    if word_count <= 15 and clutter._NEWSLETTER_WEAK.search(line):
        return True
    if word_count > 8:
        return False
    words = clutter._WORD.findall(line.lower())
    return bool(words) and all(word in clutter._SOCIAL_WORDS for word in words)


def test_clutter_lines_are_found_as_before() -> None:
    rng = random.Random(4)
    words = [
        "sign",
        "up",
        "for",
        "our",
        "newsletter",
        "get",
        "updates",
        "in",
        "your",
        "inbox",
        "subscribe",
        "now",
        "today",
    ]
    words += [
        "deals",
        "delivered",
        "daily",
        "weekly",
        "briefing",
        "email",
        "address",
        "privacy",
        "policy",
        "terms",
    ]
    words += [
        "of",
        "use",
        "service",
        "subscribers",
        "only",
        "share",
        "on",
        "twitter",
        "the",
        "gpu",
        "lease",
        "signed",
    ]
    words += ["SIGN", "Subscribe", "ſubscribe", "İnbox", "ınbox", "NEWSLETTER", "e-mail", "K"]
    words += ["Register", "join", "monthly", "roundup", "unsubscribe", "for", "free", "→"]
    words += ["Read", "more:", "MORE »", "Advertisement", "ſponsored", "İmage", "credit:", "ad"]
    words += ["Continue", "reading", "Related:", "Watch:", "click", "here", "listen", "Skip"]
    words += ["to", "content", "photo", "source:", "Don't", "miss:", "ıMAGE", "The", "post"]
    checked = 0
    for _ in range(30000):
        line = " ".join(rng.choice(words) for _ in range(rng.randrange(1, 34)))
        if rng.random() < 0.3:
            line = rng.choice(["Read more: ", "Advertisement", "Related: x", "Watch: "]) + line
        count = len(line.split())
        expected = _reference_is_clutter_line(line, count)
        assert clutter._is_clutter_line(line, count) == expected, line
        checked += expected
    assert checked > 1000
    assert strip_clutter("A GPU deal.\nSign up for our newsletter\nMore.") == "A GPU deal.\nMore."


def test_the_combined_markup_hint_finds_whatever_the_three_hints_find() -> None:
    rng = random.Random(6)
    names = "script style noscript template iframe svg math object select button nav aside"
    names += " form footer ul ol td th p div tr strong span li"
    letters = {"s": "sSſ", "k": "kK\u212a", "i": "iIİı"}
    checked = 0
    for _ in range(20000):
        name = rng.choice(names.split())
        name = "".join(rng.choice(letters.get(ch, ch + ch.upper())) for ch in name)
        text = rng.choice(["", "a ", "<p>"]) + "<" + rng.choice(["", "/"]) + name
        text += rng.choice([">", " x>", "x>", "", "-", "_"])
        hinted = any(
            hint.search(text)
            for hint in (text_module._DROP_HINT, text_module._LIST_HINT, text_module._CELL_HINT)
        )
        if hinted:
            checked += 1
            assert text_module._ANY_HINT.search(text), text
    assert checked > 5000
