"""The ElementTree fast path yields exactly the entries of the feedparser path, or declines."""

from __future__ import annotations

import io
import itertools
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from bot.model import ParsedFeed
from bot.reader.parser.fast import parse_fast
from bot.reader.parser.feed import _from_feedparser
from bot.reader.parser.normalise import normalise
from bot.reader.parser.safety import defuse_doctype

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
URL = "https://site.example/feed/"
FEEDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "feeds"
NAMESPACES = (
    'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
    'xmlns:dc="http://purl.org/dc/elements/1.1/" '
    'xmlns:media="http://search.yahoo.com/mrss/" '
    'xmlns:wfw="http://wellformedweb.org/CommentAPI/" '
    'xmlns:atom="http://www.w3.org/2005/Atom" '
    'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"'
)


def reference(body: bytes) -> ParsedFeed:
    result = feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)
    return normalise(_from_feedparser(result), url=URL, now=NOW, source_name=None)


def fast(body: bytes) -> ParsedFeed | None:
    raw = parse_fast(body)
    return None if raw is None else normalise(raw, url=URL, now=NOW, source_name=None)


TITLES = [
    "Plain title",
    "  AT&amp;T &amp; Nvidia: &lt;b&gt;GPUs&lt;/b&gt; ",
    "<![CDATA[A <i>CDATA</i> title]]>",
    "",
]
LINKS = [
    "<link>https://site.example/a?utm_source=rss</link>",
    "<link>/relative/path</link>",
    "",
]
GUIDS = [
    '<guid isPermaLink="false">post-{n}</guid>',
    "<guid>https://site.example/p/{n}</guid>",
    "<guid>{n}</guid>",
    "",
]
BODIES = [
    "<description><![CDATA[<p>Deal for <b>300 MW</b>.</p><p>Second &amp; last.</p>]]>"
    "</description>",
    "<description>Escaped &lt;p&gt;html&lt;/p&gt; &#8217;quote&#8217;</description>"
    "<content:encoded><![CDATA[<h2>Head</h2><p>Full text.</p><p>Related articles</p>"
    "<p>Other news</p>]]></content:encoded>",
    "<content:encoded><![CDATA[<p>Only content</p>]]></content:encoded>",
    "",
]
DATES = [
    "<pubDate>Sun, 01 Mar 2026 09:30:00 +0100</pubDate>",
    "<pubDate>Sat, 28 Feb 2026 10:00:00 EST</pubDate>",
    "<dc:date>2026-02-27T08:00:00Z</dc:date>",
    "<pubDate>2099-01-01T00:00:00Z</pubDate>",
    "<pubDate>garbage</pubDate>",
    "",
]
EXTRAS = [
    "<dc:creator>Jane Roe</dc:creator><category>AI</category><category>Power</category>",
    '<media:content url="https://img.example/x.jpg"/><wfw:commentRss>https://c/</wfw:commentRss>'
    '<comments>https://c/</comments><enclosure url="https://e/x.mp3" type="audio/mpeg"/>',
    "",
]


def rss_variants() -> list[bytes]:
    docs = []
    combos = itertools.product(TITLES, LINKS, GUIDS, BODIES, DATES, EXTRAS)
    for index, (title, link, guid, body, date, extra) in enumerate(combos):
        if index % 7:  # a spread of the 3,456 combinations keeps the test fast
            continue
        items = "".join(
            f"<item><title>{title}</title>{link}{guid.format(n=n)}{body}{date}{extra}</item>"
            for n in range(3)
        )
        docs.append(
            (
                f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" {NAMESPACES}><channel>'
                "<title>Site &amp; Co</title><link>https://site.example/</link>"
                '<atom:link href="https://site.example/feed/" rel="self"/>'
                "<ttl>60</ttl><sy:updatePeriod>hourly</sy:updatePeriod>"
                f"{items}</channel></rss>"
            ).encode()
        )
    return docs


ATOM_ENTRIES = [
    '<title type="html">A &amp;lt;b&amp;gt;bold&amp;lt;/b&amp;gt; move</title>'
    '<link href="/a/1"/><id>urn:uuid:1</id><updated>2026-02-28T10:00:00+01:00</updated>'
    '<summary type="html">&lt;p&gt;Summary&lt;/p&gt;</summary>'
    "<author><name>Ann</name><uri>https://ann.example/</uri></author>"
    '<category term="cloud"/><category label="Power" term=""/>',
    "<title>Text title</title>"
    '<link rel="alternate" type="text/html" href="https://site.example/2"/>'
    '<link rel="enclosure" href="https://site.example/2.mp3"/>'
    "<id>tag:site.example,2026:2</id><published>2026-02-01T00:00:00Z</published>"
    '<content type="html">&lt;p&gt;Content only&lt;/p&gt;</content>',
    "<title>No link</title><id>relative-id</id><updated>2026-02-02T00:00:00Z</updated>"
    "<summary>Plain summary</summary><content>Plain content that is longer</content>",
]


def atom_variants() -> list[bytes]:
    docs = []
    for count in range(1, len(ATOM_ENTRIES) + 1):
        for entries in itertools.permutations(ATOM_ENTRIES, count):
            body = "".join(f"<entry>{e}</entry>" for e in entries)
            docs.append(
                (
                    '<?xml version="1.0" encoding="utf-8"?>'
                    '<feed xmlns="http://www.w3.org/2005/Atom"><title>Atom &amp; feed</title>'
                    '<link href="https://site.example/"/><link rel="self" href="/feed.atom"/>'
                    f"<id>urn:feed</id>{body}</feed>"
                ).encode()
            )
    return docs


VARIANTS = rss_variants() + atom_variants()


@pytest.mark.parametrize("body", VARIANTS, ids=[f"variant{i}" for i in range(len(VARIANTS))])
def test_fast_path_matches_feedparser(body: bytes) -> None:
    result = fast(body)
    assert result is not None, "the fast path should accept this common shape"
    assert result == reference(body)


def _corpus_files() -> list[Path]:
    if not FEEDS.is_dir():
        return []
    return sorted(p for d in ("real_world", "malformed") for p in (FEEDS / d).iterdir())


def test_fast_path_matches_feedparser_on_the_corpus() -> None:
    files = [p for p in _corpus_files() if p.name != "INDEX.csv"]
    if not files:
        pytest.skip(f"shared feed corpus not found at {FEEDS}")
    accepted = 0
    for path in files:
        body, _ = defuse_doctype(path.read_bytes())
        result = fast(body)
        if result is None:
            continue
        accepted += 1
        assert result == reference(body), path.name
    assert accepted >= 5


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0" encoding="iso-8859-1"?><rss version="2.0"><channel></channel></rss>',
        b'<rss version="2.0"><channel xml:base="https://b/"><item><title>x</title></item>'
        b"</channel></rss>",
        b'<rss version="0.91"><channel><item><title>x</title></item></channel></rss>',
        b'<rss version="2.0"><channel><item><title>x</title><author>a@b.c (A)</author></item>'
        b"</channel></rss>",
        b'<rss version="2.0"><channel><item><title>x<b>y</b></title></item></channel></rss>',
        b'<rss version="2.0"><channel><item><title>x</title><title>y</title></item>'
        b"</channel></rss>",
        b'<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><item>'
        b"<media:title>m</media:title></item></channel></rss>",
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><content type="xhtml">'
        b'<div xmlns="http://www.w3.org/1999/xhtml">x</div></content></entry></feed>',
        b"<rss version='2.0'><channel><item><title>&nbsp;</title></item></channel></rss>",
        b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/>',
    ],
)
def test_fast_path_declines_what_it_does_not_reproduce(body: bytes) -> None:
    assert parse_fast(body) is None
