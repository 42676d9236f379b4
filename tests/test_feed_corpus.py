"""Robustness over the shared corpus of real and malformed feeds (../shared/data/feeds).

Every file must be handled without an exception escaping (a FeedParseError is a handled,
reported outcome) and without hanging (pytest-timeout guards each file), and wherever the
reference parser finds usable entries, parse_feed must return at least as many.
"""

from __future__ import annotations

import csv
import html
import io
import re
from datetime import UTC, datetime
from pathlib import Path

import feedparser
import pytest

from bot.reader.parser import FeedParseError, parse_feed

FEEDS = Path(__file__).resolve().parents[2] / "shared" / "data" / "feeds"
NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _corpus() -> list[tuple[str, str, dict[str, str]]]:
    cases = []
    for folder in ("real_world", "malformed"):
        index = FEEDS / folder / "INDEX.csv"
        if not index.is_file():
            continue
        with index.open(newline="", encoding="utf-8") as handle:
            cases.extend((folder, row["file"], row) for row in csv.DictReader(handle))
    return cases


CORPUS = _corpus()


def _has_text(value: object) -> bool:
    """Whether markup holds visible text (independent of our own plain-text code)."""
    return bool(html.unescape(re.sub(r"<[^>]*>", " ", str(value or ""))).strip())


def _usable_reference_entries(body: bytes) -> tuple[int, int]:
    """By the reference parser: (entries with visible text or a web link, entries with a link)."""
    result = feedparser.parse(io.BytesIO(body), sanitize_html=False, resolve_relative_uris=False)
    usable = linked = 0
    for entry in result.entries:
        contents = [c.get("value") for c in entry.get("content") or []]
        has_link = str(entry.get("link", "")).startswith(("http://", "https://"))
        texts = [entry.get("title"), entry.get("summary"), *contents]
        if has_link or any(_has_text(text) for text in texts):
            usable += 1
        linked += has_link
    return usable, linked


def test_corpus_is_present() -> None:
    if not FEEDS.is_dir():
        pytest.skip(f"shared feed corpus not found at {FEEDS}")
    assert len(CORPUS) >= 400


@pytest.mark.timeout(30)
@pytest.mark.parametrize(("folder", "name", "row"), CORPUS, ids=[c[1] for c in CORPUS])
def test_corpus_file(folder: str, name: str, row: dict[str, str]) -> None:
    body = (FEEDS / folder / name).read_bytes()
    url = "https://corpus.example/" + name
    try:
        parsed = parse_feed(body, url=url, now=NOW)
    except FeedParseError as exc:
        assert exc.reason and exc.kind in ("not_a_feed", "parse_error")
        entries = []
    else:
        entries = parsed.entries
    usable, linked = _usable_reference_entries(body)
    if name.endswith(".json"):
        usable = max(usable, int(row["entries"] or 0))  # JSON Feed: feedparser 6 cannot read it
    assert len(entries) >= usable, (len(entries), usable)
    assert sum(1 for e in entries if e.link) >= linked
    for entry in entries:
        assert entry.identity.split(":", 1)[0] in ("guid", "link", "hash")
        assert entry.published is not None and entry.published.tzinfo is not None
        assert len(entry.title) <= 500 and len(entry.summary) <= 1000
        assert entry.title or entry.summary or entry.link
