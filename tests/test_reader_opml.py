"""OPML import and export: nesting, odd exporters, bad entries, round trip, XML safety."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.reader.opml import OpmlError, OpmlFeed, parse_opml, render_opml

OPML = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>My subscriptions</title></head>
  <body>
    <outline text="Tech">
      <outline text="Infra">
        <outline type="rss" text="Data Center News" title="DCN" xmlUrl="https://dcn.example/feed"
                 htmlUrl="https://dcn.example/"/>
      </outline>
      <outline type="rss" text="Chips" xmlurl="http://chips.example/rss"/>
    </outline>
    <outline type="rss" text="Top level" url="https://top.example/atom.xml"/>
    <outline type="rss" text="Again" xmlUrl="https://dcn.example/feed"/>
    <outline type="rss" text="Mail" xmlUrl="mailto:news@example.com"/>
    <outline text="Empty folder"/>
  </body>
</opml>"""


def test_parse_nested_categories_and_attribute_variants() -> None:
    result = parse_opml(OPML)
    assert result.feeds == [
        OpmlFeed("https://dcn.example/feed", "DCN", "https://dcn.example/", "Tech / Infra"),
        OpmlFeed("http://chips.example/rss", "Chips", None, "Tech"),
        OpmlFeed("https://top.example/atom.xml", "Top level", None, None),
    ]
    assert len(result.skipped) == 2
    assert "listed twice" in result.skipped[0]
    assert "not a feed URL: expected an http:// or https:// URL" in result.skipped[1]


def test_round_trip() -> None:
    feeds = parse_opml(OPML).feeds
    document = render_opml(feeds, now=datetime(2026, 3, 1, tzinfo=UTC))
    assert document.startswith(b"<?xml")
    assert b"Sun, 01 Mar 2026 00:00:00 GMT" in document
    assert parse_opml(document).feeds == feeds


def test_export_escapes_titles() -> None:
    document = render_opml([OpmlFeed("https://a.example/?a=1&b=2", 'A & "B" <C>')])
    [feed] = parse_opml(document).feeds
    assert feed.url == "https://a.example/?a=1&b=2" and feed.title == 'A & "B" <C>'


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (b"<opml><body><outline", "not well-formed"),
        (b"<rss version='2.0'/>", "expected an <opml>"),
        (b"<opml version='2.0'><head/></opml>", "no <body>"),
    ],
)
def test_errors(data: bytes, words: str) -> None:
    with pytest.raises(OpmlError, match=words):
        parse_opml(data)


def test_external_entities_are_not_read(tmp_path: Path) -> None:
    secret = tmp_path / "secret"
    secret.write_text("https://leaked.example/")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file://{secret}">]>'
        '<opml version="2.0"><body><outline text="t" xmlUrl="https://a.example/&x;"/>'
        "</body></opml>"
    ).encode()
    try:
        result = parse_opml(data)
    except OpmlError:
        return  # refusing the document is as safe as ignoring the entity
    assert "leaked" not in repr(result)


def test_an_entity_its_dtd_declares_is_named_as_refused_not_as_undefined() -> None:
    document = (
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY a "<b>x</b>"><!ENTITY b "&a;&a;">]>'
        b'<opml version="2.0"><body><outline text="&b;" xmlUrl="https://a.example/feed"/>'
        b"</body></opml>"
    )
    with pytest.raises(OpmlError) as info:
        parse_opml(document)
    message = str(info.value)
    assert message.startswith("uses an entity its DTD declares (undefined entity")
    assert "not read, for safety" in message
