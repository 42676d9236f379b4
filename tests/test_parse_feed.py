"""parse_feed: normalised entries, stable identities, dates, clutter and XML safety."""

from __future__ import annotations

import gzip
import json
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.reader.parser import FeedParseError, parse_feed

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
URL = "https://news.example.com/feed.xml"


def rss(items: str, channel_extra: str = "") -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:sy="http://purl.org/rss/1.0/modules/syndication/">'
        f"<channel><title>Example News</title><link>https://news.example.com/</link>"
        f"{channel_extra}{items}</channel></rss>"
    ).encode()


def item(
    title: str = "A deal",
    link: str | None = "https://news.example.com/a",
    guid: str | None = None,
    extra: str = "",
) -> str:
    parts = [f"<title>{title}</title>"]
    if link is not None:
        parts.append(f"<link>{link}</link>")
    if guid is not None:
        parts.append(f'<guid isPermaLink="false">{guid}</guid>')
    parts.append(extra)
    return "<item>" + "".join(parts) + "</item>"


def test_rss_entry_is_normalised() -> None:
    body = rss(
        item(
            title="xAI &amp;amp; Anthropic: &lt;b&gt;300 MW&lt;/b&gt;  deal",
            link="/2026/03/deal?utm_source=rss&amp;id=7",
            guid="tag:news.example.com,2026:7",
            extra=(
                "<description>&lt;p&gt;Anthropic buys &lt;em&gt;all&lt;/em&gt; of Colossus 1."
                "&lt;/p&gt;</description>"
                "<pubDate>Sun, 01 Mar 2026 09:30:00 +0100</pubDate>"
                "<dc:creator>Jane Doe</dc:creator>"
                "<category>AI</category><category>Data centers</category><category>ai</category>"
            ),
        ),
        "<ttl>30</ttl><sy:updatePeriod>hourly</sy:updatePeriod>"
        "<sy:updateFrequency>2</sy:updateFrequency>",
    )
    parsed = parse_feed(body, url=URL, now=NOW)
    assert parsed.title == "Example News" and parsed.link == "https://news.example.com/"
    assert parsed.ttl_minutes == 30 and parsed.update_period_s == 1800
    [entry] = parsed.entries
    assert entry.title == "xAI & Anthropic: 300 MW deal"
    assert entry.link == "https://news.example.com/2026/03/deal?id=7"
    assert entry.identity == "guid:tag:news.example.com,2026:7"
    assert entry.guid == "tag:news.example.com,2026:7"
    assert entry.summary == "Anthropic buys all of Colossus 1."
    assert entry.published == datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    assert entry.author == "Jane Doe"
    assert entry.categories == ["AI", "Data centers"]
    assert entry.source == "Example News"


def test_source_prefers_the_items_outlet_then_the_configured_name() -> None:
    body = rss(
        item(link="https://a.example/1", extra='<source url="https://r.example/">Reuters</source>')
        + item(link="https://a.example/2")
    )
    parsed = parse_feed(body, url=URL, now=NOW, source_name="My aggregator")
    assert [e.source for e in parsed.entries] == ["Reuters", "My aggregator"]


def test_full_text_is_cleaned_and_summary_never_holds_teasers() -> None:
    content = (
        "<p>xAI sold all of Colossus 1 to Anthropic.</p><p>The deal covers 300 MW.</p>"
        "<h3>Related articles</h3><p>Fika Jobs raises $4M for AI interviews</p>"
        "<p>Sign up for our newsletter</p>"
    )
    body = rss(item(extra=f"<content:encoded><![CDATA[{content}]]></content:encoded>"))
    [entry] = parse_feed(body, url=URL, now=NOW).entries
    assert entry.text == "xAI sold all of Colossus 1 to Anthropic.\nThe deal covers 300 MW."
    assert entry.summary == "xAI sold all of Colossus 1 to Anthropic. The deal covers 300 MW."
    assert "Fika" not in entry.summary + entry.text


def test_summary_and_title_are_capped() -> None:
    long_text = "word " * 2000
    body = rss(item(title="t " * 600, extra=f"<description>{long_text}</description>"))
    [entry] = parse_feed(body, url=URL, now=NOW).entries
    assert len(entry.title) <= 500 and len(entry.summary) <= 1000
    assert entry.summary.endswith("…")


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("", NOW),  # missing
        ("<pubDate>not a date</pubDate>", NOW),  # invalid
        ("<pubDate>Tue, 03 Mar 2026 12:00:00 GMT</pubDate>", NOW),  # two days ahead
        ("<pubDate>Sun, 01 Mar 2026 12:10:00 GMT</pubDate>", NOW + timedelta(minutes=10)),
        ("<pubDate>Thu, 01 Jan 1970 00:00:00 GMT</pubDate>", NOW),  # placeholder
        ("<dc:date>2026-02-28T10:00:00-05:00</dc:date>", datetime(2026, 2, 28, 15, tzinfo=UTC)),
    ],
)
def test_dates(date: str, expected: datetime) -> None:
    [entry] = parse_feed(rss(item(extra=date)), url=URL, now=NOW).entries
    assert entry.published == expected
    assert entry.published.tzinfo is UTC


def test_undated_entries_are_dated_when_first_seen_in_the_order_the_feed_lists_them() -> None:
    """Feeds list the newest first: undated entries keep that order in their times (a
    microsecond apart), so they are clustered oldest first, not in the order of their GUIDs."""
    body = rss(
        item("Third", "https://news.example.com/c", guid="a")
        + item(
            "Dated",
            "https://news.example.com/d",
            extra="<pubDate>Sat, 28 Feb 2026 10:00:00 GMT</pubDate>",
        )
        + item("Second", "https://news.example.com/b", guid="c")
        + item("First", "https://news.example.com/a", guid="b")
    )
    times = {e.title: e.published for e in parse_feed(body, url=URL, now=NOW).entries}
    assert times["Third"] == NOW
    assert times["First"] < times["Second"] < times["Third"]
    assert NOW - times["First"] < timedelta(milliseconds=1)
    assert times["Dated"] == datetime(2026, 2, 28, 10, tzinfo=UTC)


def test_identity_falls_back_from_reused_guids_to_links_to_hashes() -> None:
    body = rss(
        item("One", "https://news.example.com/1", guid="same")
        + item("Two", "https://news.example.com/2", guid="same")
        + item("Three", "https://news.example.com/3", guid="unique-3")
        + item("Four", URL, guid=URL)  # GUID and link are the feed itself
        + item("Five", None, guid="")
    )
    entries = parse_feed(body, url=URL, now=NOW).entries
    ids = [e.identity for e in entries]
    assert ids[0] == "link:https://news.example.com/1"
    assert ids[1] == "link:https://news.example.com/2"
    assert ids[2] == "guid:unique-3"
    assert ids[3].startswith("hash:") and ids[4].startswith("hash:")
    assert len(set(ids)) == 5


def test_identity_is_stable_when_an_item_is_retitled_or_tracking_changes() -> None:
    first = parse_feed(rss(item("Old title", guid="g-1")), url=URL, now=NOW).entries[0]
    second = parse_feed(rss(item("New title", guid="g-1")), url=URL, now=NOW).entries[0]
    assert first.identity == second.identity
    a = parse_feed(rss(item(link="https://n.example/x?utm_campaign=a")), url=URL, now=NOW)
    b = parse_feed(rss(item(link="https://n.example/x?utm_campaign=b")), url=URL, now=NOW)
    assert a.entries[0].identity == b.entries[0].identity == "link:https://n.example/x"


def test_atom_feed() -> None:
    body = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example.org/">
  <title type="html">Blog &amp;amp; more</title>
  <link rel="alternate" href="/"/>
  <entry>
    <title>GPU lease</title>
    <link rel="alternate" href="posts/gpu-lease"/>
    <id>urn:uuid:1</id>
    <updated>2026-02-27T08:00:00Z</updated>
    <author><name>Ann</name></author>
    <summary type="html">&lt;p&gt;10,000 H100s leased.&lt;/p&gt;</summary>
    <content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">
      <p>Full <b>text</b>.</p></div></content>
  </entry>
</feed>"""
    parsed = parse_feed(body, url=URL, now=NOW)
    assert parsed.title == "Blog & more"
    [entry] = parsed.entries
    assert entry.link == "https://blog.example.org/posts/gpu-lease"
    assert entry.identity == "guid:urn:uuid:1"
    assert entry.published == entry.updated == datetime(2026, 2, 27, 8, tzinfo=UTC)
    assert entry.summary == "10,000 H100s leased."
    assert entry.text == "Full text."
    assert entry.author == "Ann"


def test_json_feed() -> None:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON News",
        "home_page_url": "https://j.example/",
        "items": [
            {
                "id": "42",
                "url": "https://j.example/42?fbclid=x",
                "title": "Oracle signs 1 GW deal",
                "content_html": "<p>Oracle &amp; OpenAI.</p>",
                "date_published": "2026-02-28T10:00:00+02:00",
                "authors": [{"name": "Sam"}],
                "tags": ["cloud"],
            },
            {"id": 43, "content_text": "Plain <text> only", "url": "https://j.example/43"},
        ],
    }
    parsed = parse_feed(json.dumps(document).encode(), url=URL, now=NOW)
    assert parsed.title == "JSON News"
    first, second = parsed.entries
    assert first.identity == "guid:42" and first.link == "https://j.example/42"
    assert first.summary == "Oracle & OpenAI." and first.author == "Sam"
    assert first.published == datetime(2026, 2, 28, 8, tzinfo=UTC)
    assert first.categories == ["cloud"]
    assert second.identity == "guid:43" and second.summary == "Plain <text> only"


def test_a_null_or_missing_json_feed_id_is_no_guid() -> None:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": "JSON News",
        "items": [
            {"id": None, "url": "https://j.example/a", "title": "A"},
            {"url": "https://j.example/b", "title": "B"},
            {"id": True, "url": "https://j.example/c", "title": "C"},
            {"id": 7.5, "url": "https://j.example/d", "title": "D"},
        ],
    }
    parsed = parse_feed(json.dumps(document).encode(), url=URL, now=NOW)
    assert [entry.identity for entry in parsed.entries] == [
        "link:https://j.example/a",
        "link:https://j.example/b",
        "link:https://j.example/c",
        "guid:7.5",
    ]


@pytest.mark.parametrize("opening", [b"[", b'{"a":'])
def test_deeply_nested_json_is_a_parse_error(opening: bytes) -> None:
    depth = 100_000
    closing = b"]" if opening == b"[" else b"}"
    body = (
        b'{"version": "https://jsonfeed.org/version/1.1", "items": '
        + opening * depth
        + b"1" * (opening != b"[")
        + closing * depth
        + b"}"
    )
    with pytest.raises(FeedParseError) as caught:
        parse_feed(body, url=URL, now=NOW)
    assert caught.value.kind == "parse_error"
    assert caught.value.reason == "not a readable JSON feed: JSON nested too deeply to read"


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        (b"", "not_a_feed"),
        (b"   \n", "not_a_feed"),
        (
            b"<!DOCTYPE html><html><head><title>Home</title></head><body>hi</body></html>",
            "not_a_feed",
        ),
        (b'{"hello": "world"}', "not_a_feed"),
        (b'{"version": "https://jsonfeed.org/version/1", "items": [', "parse_error"),
        (b"\x00\x01\x02 binary junk \xff\xfe", None),
    ],
)
def test_unusable_documents_raise_a_clear_error(body: bytes, kind: str | None) -> None:
    with pytest.raises(FeedParseError) as caught:
        parse_feed(body, url=URL, now=NOW)
    assert caught.value.reason
    if kind:
        assert caught.value.kind == kind


def test_html_page_error_names_the_feed_it_advertises() -> None:
    page = (
        b"<!DOCTYPE html><html><head><title>News</title>"
        b'<link rel="alternate" type="application/rss+xml" '
        b'href="/feed.xml?a=1&amp;b=2">'
        b"</head><body>Hello</body></html>"
    )
    with pytest.raises(FeedParseError) as caught:
        parse_feed(page, url="https://news.example.com/", now=NOW)
    assert caught.value.kind == "not_a_feed"
    assert "https://news.example.com/feed.xml?a=1&b=2" in caught.value.reason


@pytest.mark.parametrize(
    ("link", "advertised"),
    [
        # A real capture (rometools/rome 2.rss): an apostrophe inside a double-quoted value.
        (
            b'<link rel="alternate" type="application/rss+xml" title="RSS" '
            b'href="http://web.mac.com/sb/iPhoto/the-5-6-7-8\'s-red-cloth/index.rss" />',
            "http://web.mac.com/sb/iPhoto/the-5-6-7-8's-red-cloth/index.rss",
        ),
        (
            b"<link rel='alternate' type='application/atom+xml' href='/a \"b\".xml'>",
            'https://news.example.com/a%20"b".xml',
        ),
        (
            b"<link rel=alternate type='application/rss+xml' href=/rss>",
            "https://news.example.com/rss",
        ),
    ],
)
def test_the_advertised_feed_is_read_whole_however_the_href_is_quoted(
    link: bytes, advertised: str
) -> None:
    page = b"<!DOCTYPE html><html><head><title>News</title>" + link + b"</head><body></body></html>"
    with pytest.raises(FeedParseError) as caught:
        parse_feed(page, url="https://news.example.com/", now=NOW)
    assert caught.value.reason.endswith(f"(the page names its feed: {advertised})")


def test_broken_but_readable_feed_keeps_entries_and_warns() -> None:
    body = rss(item("Kept &nbsp; entry", "https://n.example/k")).replace(b"</channel></rss>", b"")
    parsed = parse_feed(body, url=URL, now=NOW)
    assert [e.title for e in parsed.entries] == ["Kept entry"]
    assert parsed.warning


def _billion_laughs() -> bytes:
    declarations = '<!ENTITY lol "lol">' + "".join(
        f'<!ENTITY lol{i} "{("&lol;" if i == 1 else f"&lol{i - 1};") * 10}">' for i in range(1, 10)
    )
    return (
        f'<?xml version="1.0"?><!DOCTYPE rss [{declarations}]>'
        '<rss version="2.0"><channel><title>t</title>'
        "<item><title>x &lol9;</title><link>http://a.example/</link></item></channel></rss>"
    ).encode()


def test_billion_laughs_is_bounded() -> None:
    tracemalloc.start()
    started = time.process_time()
    try:
        parsed = parse_feed(_billion_laughs(), url=URL, now=NOW)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    cpu = time.process_time() - started
    assert peak < 5 * 1024 * 1024, peak
    assert all("lollol" not in e.title for e in parsed.entries)
    assert cpu < 30  # a hang guard, not a performance check: unbounded expansion takes minutes
    assert parsed.warning and "unsafe DTD" in parsed.warning


@pytest.mark.parametrize("kind", ["SYSTEM", "PUBLIC"])
def test_external_entities_are_never_read(tmp_path: Path, kind: str) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-CONTENT")
    public_id = '"-//X//Y//EN" ' if kind == "PUBLIC" else ""
    doctype = f'<!DOCTYPE rss [<!ENTITY xxe {kind} {public_id}"file://{secret}">]>'
    body = (
        f'<?xml version="1.0"?>{doctype}<rss version="2.0"><channel><title>t &xxe;</title>'
        "<item><title>a &xxe; b</title><description>&xxe;</description>"
        "<link>http://a.example/</link></item></channel></rss>"
    ).encode()
    parsed = parse_feed(body, url=URL, now=NOW)
    dumped = repr(parsed)
    assert "TOP-SECRET" not in dumped
    assert parsed.entries and parsed.entries[0].link == "http://a.example/"


def test_external_dtd_and_parameter_entities_are_not_fetched(tmp_path: Path) -> None:
    secret = tmp_path / "evil.dtd"
    secret.write_text('<!ENTITY leak "DTD-WAS-READ">')
    body = (
        f'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "file://{secret}" '
        f'[<!ENTITY % ext SYSTEM "file://{secret}"> %ext;]>'
        '<rss version="2.0"><channel><title>t</title><item><title>a &leak;</title>'
        "<link>http://a.example/</link></item></channel></rss>"
    ).encode()
    parsed = parse_feed(body, url=URL, now=NOW)
    assert "DTD-WAS-READ" not in repr(parsed)


def test_safe_character_entities_survive_defusing() -> None:
    body = (
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY mdash "&#8212;">]>'
        b'<rss version="2.0"><channel><title>t</title><item><title>a &mdash; b</title>'
        b"<link>http://a.example/</link></item></channel></rss>"
    )
    [entry] = parse_feed(body, url=URL, now=NOW).entries
    assert entry.title == "a — b"


# Issue 18: entities of 64 bytes survived defusing, and a 10 MiB feed of references to them
# expanded twenty-fold; UTF-16 and other encodings the defuser cannot read went to feedparser,
# which keeps a plain-text entity of any length.
AMPLIFIED = "A" * 64


def _amplifier(*, items: int, references: int, prolog_newline: bool) -> str:
    newline = "\n" if prolog_newline else ""
    declaration = f'<!DOCTYPE rss [{newline}<!ENTITY a "{AMPLIFIED}">{newline}]>'
    body = "&a;" * references
    entries = "".join(
        f"<item><title>t{i}</title><link>http://a.example/{i}</link>"
        f"<description>{body}</description></item>"
        for i in range(items)
    )
    return (
        f'<?xml version="1.0"?>{newline}{declaration}{newline}'
        f'<rss version="2.0"><channel><title>t</title>{entries}</channel></rss>'
    )


@pytest.mark.parametrize(
    ("encoding", "content_type", "prolog_newline"),
    [
        ("utf-8", None, True),
        ("utf-8", None, False),
        ("utf-16", None, True),
        ("utf-7", "application/rss+xml; charset=utf-7", True),
    ],
)
def test_text_entities_are_not_expanded_in_any_encoding(
    encoding: str, content_type: str | None, prolog_newline: bool
) -> None:
    document = _amplifier(items=20, references=200, prolog_newline=prolog_newline)
    if encoding != "utf-8":
        document = document.replace(
            '<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{encoding}"?>'
        )
    body = document.encode(encoding)
    parsed = parse_feed(body, url=URL, now=NOW, content_type=content_type)
    assert len(parsed.entries) == 20
    assert all(AMPLIFIED not in (entry.summary or "") for entry in parsed.entries)


def test_an_entity_amplifier_costs_no_more_memory_than_its_size() -> None:
    body = _amplifier(items=200, references=1000, prolog_newline=True).encode()  # 600 KiB
    tracemalloc.start()
    try:
        parsed = parse_feed(body, url=URL, now=NOW)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(parsed.entries) == 200
    # Expanded, the references make 12.8 MB of text; unexpanded the parse stays near the size.
    assert peak < 10 * len(body), (peak, len(body))


@pytest.mark.parametrize("value", ["&#8212;", "&#x2014;", "—", "x"])
def test_one_character_entities_still_survive_in_utf16(value: str) -> None:
    document = (
        '<?xml version="1.0" encoding="utf-16"?>\n'
        f'<!DOCTYPE rss [\n<!ENTITY dash "{value}">\n]>\n'
        '<rss version="2.0"><channel><title>t</title><item><title>a &dash; b</title>'
        "<link>http://a.example/</link></item></channel></rss>"
    )
    [entry] = parse_feed(document.encode("utf-16"), url=URL, now=NOW).entries
    expected = "x" if value == "x" else "—"
    assert entry.title == f"a {expected} b"


def test_a_guid_stands_in_for_a_missing_link_only_when_it_is_a_web_url() -> None:
    body = rss(
        item("A", None, extra="<guid>12345</guid>")
        + item("B", None, extra="<guid>https://n.example/b</guid>")
    )
    first, second = parse_feed(body, url=URL, now=NOW).entries
    assert first.link is None and first.identity == "guid:12345"
    assert second.link == "https://n.example/b" and second.identity == "guid:https://n.example/b"


def test_fast_and_reference_paths_agree_through_parse_feed() -> None:
    # The same document with an element only feedparser handles must give the same identities.
    plain = rss(item("A", "https://n.example/a", guid="g-a"))
    exotic = plain.replace(b"<title>A</title>", b"<title>A</title><author>x@y.z (X)</author>")
    one = parse_feed(plain, url=URL, now=NOW).entries[0]
    two = parse_feed(exotic, url=URL, now=NOW).entries[0]
    assert (one.identity, one.link, one.title) == (two.identity, two.link, two.title)


ATOM_WITH_RELATIVE_LINKS = (
    '<?xml version="1.0" encoding="{encoding}"?>'
    '<feed xmlns="http://www.w3.org/2005/Atom"><title>Blog</title>'
    '<link rel="self" href="http://blog.example.org/blog/index.atom"/>'
    '<link href="/blog/"/><id>tag:blog.example.org,2004:1</id>'
    "<updated>2026-02-28T08:00:00Z</updated>"
    '<entry><title>Plex</title><link href="/blog/2026/02/28/Plex"/>'
    "<id>tag:blog.example.org,2004:3308</id><updated>2026-02-28T08:00:00Z</updated>"
    "<summary>Media software.</summary></entry></feed>"
)


# utf-8 takes the fast path, iso-8859-1 feedparser's: both read the self link.
@pytest.mark.parametrize("encoding", ["utf-8", "iso-8859-1"])
def test_a_feed_read_from_a_file_resolves_relative_links_against_its_self_link(
    encoding: str,
) -> None:
    body = ATOM_WITH_RELATIVE_LINKS.format(encoding=encoding).encode()
    from_file = parse_feed(body, url="captures/SamRuby.xml", now=NOW)
    assert [e.link for e in from_file.entries] == ["http://blog.example.org/blog/2026/02/28/Plex"]
    assert from_file.link == "http://blog.example.org/blog/"
    # Fetched from the web, the address it was fetched from is the base, as before.
    fetched = parse_feed(body, url="https://mirror.example.net/feeds/sam.atom", now=NOW)
    assert [e.link for e in fetched.entries] == ["https://mirror.example.net/blog/2026/02/28/Plex"]
    assert from_file.entries[0].identity == fetched.entries[0].identity  # the GUID's


def test_a_guid_that_is_the_feeds_own_address_is_no_identity_when_read_from_a_file() -> None:
    placeholder = "https://news.example.com/feed.xml"
    body = rss(
        item("First", "/a", guid=placeholder),
        channel_extra=(
            f'<atom:link xmlns:atom="http://www.w3.org/2005/Atom" rel="self" href="{placeholder}"/>'
        ),
    )
    # As when fetched from that address: a GUID naming the feed is a placeholder.
    for url in ("captures/news.xml", placeholder):
        parsed = parse_feed(body, url=url, now=NOW)
        assert [e.identity for e in parsed.entries] == ["link:https://news.example.com/a"]


@pytest.mark.parametrize(
    ("element", "author"),
    [
        # RSS's own form (a real capture, rometools test2.xml): the name, not the address.
        ("<author>nobody@flickr.com (kebernet)</author>", "kebernet"),
        ("<author>Jane Doe &lt;jane@example.com&gt;</author>", "Jane Doe"),
        ("<author>jane@example.com</author>", "jane@example.com"),  # no name to keep
        ("<dc:creator>Staff Reporter</dc:creator>", "Staff Reporter"),
    ],
)
def test_an_author_is_named_without_the_e_mail_address_when_the_feed_gives_a_name(
    element: str, author: str
) -> None:
    parsed = parse_feed(rss(item("A deal", extra=element)), url=URL, now=NOW)
    assert [e.author for e in parsed.entries] == [author]


def test_a_gzip_compressed_document_is_read_like_the_plain_one() -> None:
    """A ".xml.gz" capture, or a server sending the compressed file as application/gzip
    without Content-Encoding: the same entries as the plain document."""
    body = rss(item("Deal one", guid="1") + item("Deal two", "https://news.example.com/b", "2"))
    plain = parse_feed(body, url=URL, now=NOW)
    # Two gzip members, as concatenated .gz files are.
    packed = gzip.compress(body[:100]) + gzip.compress(body[100:])
    compressed = parse_feed(packed, url=URL, now=NOW, content_type="application/gzip")
    assert [(e.identity, e.title, e.link) for e in compressed.entries] == [
        (e.identity, e.title, e.link) for e in plain.entries
    ]


def test_a_compressed_bomb_or_a_truncated_archive_is_a_clear_error() -> None:
    bomb = gzip.compress(b"<rss>" + b" " * (64 * 1024 * 1024))
    tracemalloc.start()
    try:
        with pytest.raises(FeedParseError, match="inflates to more than 1048576 bytes"):
            parse_feed(bomb, url=URL, now=NOW, max_inflated_bytes=1024 * 1024)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024
    with pytest.raises(FeedParseError, match="truncated gzip"):
        parse_feed(gzip.compress(rss(item()))[:40], url=URL, now=NOW)
    with pytest.raises(FeedParseError, match="damaged gzip"):
        parse_feed(b"\x1f\x8b" + b"not really gzip at all", url=URL, now=NOW)
