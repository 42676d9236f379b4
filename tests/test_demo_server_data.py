"""The bundled demo feeds: well-formed, fresh relative to `now`, and faithful to the seeds."""

from __future__ import annotations

import calendar
import html
import os
import re
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import feedparser
import httpx
import pytest

from bot.demo.data import (
    DemoDataError,
    demo_events,
    demo_feeds,
    fill_dates,
    format_feed_date,
    render_demo_feeds,
)
from bot.demo.server import FeedServer

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
NOW = datetime(2031, 3, 4, 10, 0, 0, tzinfo=UTC)
SEED_TITLES = {
    "AI Startup Shifts Focus to Data Centers?",
    "Is xAI a neocloud now?",
    "What's Happening?",
    "We’re feeling cynical about xAI’s big deal with Anthropic",
    "xAI Pivots to Compute Provider, Sells Colossus 1 Capacity to Anthropic",
}


def _parsed(now: datetime = NOW) -> dict[str, Any]:
    return {path: feedparser.parse(body) for path, body in render_demo_feeds(now).items()}


def _entries(now: datetime = NOW) -> list[Any]:
    return [entry for doc in _parsed(now).values() for entry in doc.entries]


def _published(entry: Any) -> datetime:
    return datetime.fromtimestamp(calendar.timegm(entry.published_parsed), UTC)


def _paragraphs(entry: Any) -> list[str]:
    content = entry.content[0].value
    return [html.unescape(p) for p in re.findall(r"<p>(.*?)</p>", content, re.DOTALL)]


def test_manifest_lists_distinct_outlets_in_both_formats() -> None:
    feeds = demo_feeds()
    assert len(feeds) >= 7
    assert len({f.name for f in feeds}) == len(feeds)
    assert len({f.path for f in feeds}) == len(feeds)
    assert {f.format for f in feeds} == {"rss", "atom"}
    assert set(render_demo_feeds(NOW)) == {f.path for f in feeds}


def test_every_feed_parses_cleanly_in_its_declared_format() -> None:
    parsed = _parsed()
    for feed in demo_feeds():
        doc = parsed[feed.path]
        assert not doc.bozo, (feed.path, doc.get("bozo_exception"))
        assert doc.version == ("rss20" if feed.format == "rss" else "atom10"), feed.path
        assert doc.feed.title == feed.name
        assert doc.entries, feed.path
        for entry in doc.entries:
            assert entry.title and entry.link and entry.id and entry.summary, feed.path
            assert entry.published_parsed is not None, (feed.path, entry.title)
    # at least one RSS feed carries full text in content:encoded
    rss_with_content = [
        f.path
        for f in demo_feeds()
        if f.format == "rss" and parsed[f.path].entries[0].get("content")
    ]
    assert rss_with_content


def test_item_count_and_unique_identities() -> None:
    entries = _entries()
    assert len(entries) >= 27
    assert len({e.id for e in entries}) == len(entries)
    assert len({e.link for e in entries}) == len(entries)


def test_exactly_the_five_seed_titles_each_once() -> None:
    titles = Counter(e.title for e in _entries())
    assert {t: titles[t] for t in SEED_TITLES} == dict.fromkeys(SEED_TITLES, 1)
    seed_feeds = {
        path for path, doc in _parsed().items() for e in doc.entries if e.title in SEED_TITLES
    }
    assert len(seed_feeds) == 5  # one seed per outlet


@pytest.mark.parametrize(
    "now",
    [NOW, datetime(2031, 3, 4, 19, 30, tzinfo=timezone(timedelta(hours=9, minutes=30)))],
    ids=["utc", "plus-0930"],
)
def test_dates_are_relative_to_now_and_within_60_hours(now: datetime) -> None:
    entries = _entries(now)
    for entry in entries:
        age = now - _published(entry)
        assert timedelta(0) < age <= timedelta(hours=60), (entry.title, age)
    seed_times = [_published(e) for e in entries if e.title in SEED_TITLES]
    assert max(seed_times) - min(seed_times) <= timedelta(hours=12)
    assert min(now - t for t in seed_times) <= timedelta(hours=6)  # fresh enough for "h ago"


def test_dates_move_with_now() -> None:
    early = sorted(_published(e) for e in _entries(NOW))
    later = sorted(_published(e) for e in _entries(NOW + timedelta(days=400)))
    assert [b - a for a, b in zip(early, later, strict=True)] == [timedelta(days=400)] * len(early)


def test_ground_truth_covers_every_item_exactly_once() -> None:
    entries = _entries()
    events = demo_events()
    links = [link for event in events for link in event.links]
    assert sorted(links) == sorted(e.link for e in entries)
    by_link = {e.link: e for e in entries}
    by_key = {event.key: event for event in events}
    seed_event = by_key["xai-anthropic-colossus-1"]
    assert seed_event.relevant
    assert {by_link[link].title for link in seed_event.links} == SEED_TITLES
    assert not by_key["xai-grok-training-colossus-2"].relevant
    # the brief's mix: multi-outlet deals, single-outlet deals, and more near misses than deals
    relevant = [event for event in events if event.relevant]
    assert sorted(len(event.links) for event in relevant if len(event.links) > 1) == [2, 2, 3, 5]
    assert sum(1 for event in relevant if len(event.links) == 1) >= 3
    assert sum(len(event.links) for event in events if not event.relevant) >= 12


def test_reports_of_one_event_are_published_close_together() -> None:
    published = {e.link: _published(e) for e in _entries()}
    for event in demo_events():
        times = [published[link] for link in event.links]
        limit = (
            timedelta(hours=12) if event.key == "xai-anthropic-colossus-1" else timedelta(hours=4)
        )
        assert max(times) - min(times) <= limit, event.key


def test_links_stay_on_reserved_example_domains() -> None:
    for path, body in render_demo_feeds(NOW).items():
        for url in re.findall(rb'(?:href="|<link>|<url>)(https?://[^"<]+)', body):
            host = urlsplit(url.decode()).hostname or ""
            assert host.endswith(".example"), (path, url)


def test_seed_items_carry_the_seed_text_verbatim_with_clutter() -> None:
    if not SEEDS.is_dir():
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"shared seeds missing at {SEEDS}")
        pytest.skip(f"shared seeds not found at {SEEDS}")
    by_title = {e.title: e for e in _entries() if e.title in SEED_TITLES}
    seed_files = sorted(SEEDS.glob("*.txt"))
    assert len(seed_files) == 5
    for seed in seed_files:
        lines = seed.read_text(encoding="utf-8").split("\n")
        entry = by_title[lines[0]]
        expected = [line for line in lines[1:] if line.strip()]
        assert _paragraphs(entry) == expected, seed.name
        body = " ".join(expected)
        assert entry.summary in body, seed.name  # the teaser comes from the body
    clutter = by_title["We’re feeling cynical about xAI’s big deal with Anthropic"]
    assert "Related articles" in _paragraphs(clutter)


def test_feeds_served_over_http_parse_with_their_content_types() -> None:
    with FeedServer(render_demo_feeds(NOW)) as server, httpx.Client(timeout=10) as client:
        for feed in demo_feeds():
            response = client.get(server.url(feed.path))
            assert response.status_code == 200
            expected = "application/rss+xml" if feed.format == "rss" else "application/atom+xml"
            assert response.headers["content-type"] == expected
            doc = feedparser.parse(response.content)
            assert not doc.bozo and doc.feed.title == feed.name


def test_fill_dates_formats_and_offsets() -> None:
    template = "<a>{{published:-3h}}</a><b>{{updated:-1d2h30m}}</b><c>{{ published : +45m }}</c>"
    rss = fill_dates(template, fmt="rss", now=NOW)
    assert rss == (
        "<a>Tue, 04 Mar 2031 07:00:00 GMT</a><b>Mon, 03 Mar 2031 07:30:00 GMT</b>"
        "<c>Tue, 04 Mar 2031 10:45:00 GMT</c>"
    )
    atom = fill_dates(template, fmt="atom", now=NOW.astimezone(timezone(timedelta(hours=-5))))
    assert (
        atom == "<a>2031-03-04T07:00:00Z</a><b>2031-03-03T07:30:00Z</b><c>2031-03-04T10:45:00Z</c>"
    )
    assert format_feed_date(NOW.replace(microsecond=999_999), "atom") == "2031-03-04T10:00:00Z"


@pytest.mark.parametrize(
    "bad",
    ["{{published:3h}}", "{{published:-2h1d}}", "{{publshed:-3h}}", "{{published:-3x}}", "{{}}"],
)
def test_malformed_placeholders_are_errors(bad: str) -> None:
    with pytest.raises(DemoDataError):
        fill_dates(f"<x>{bad}</x>", fmt="rss", now=NOW)


def test_naive_now_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        render_demo_feeds(datetime(2031, 3, 4, 10, 0))
