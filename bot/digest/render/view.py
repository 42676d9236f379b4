"""The template context of a digest: every value the text and HTML templates show, prepared once.

Feed text arrives here untrusted. This module removes control and bidi-override characters and
keeps only http(s) links; escaping for HTML is left to Jinja2's autoescape, and plain text needs
none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from bot.digest.compose import is_http_url
from bot.digest.render.chart import ledger_chart_svg
from bot.digest.render.common import (
    VISIBLE_OUTLETS_LONG,
    count_phrase,
    fact_items,
    footer_lines,
    format_period,
    format_when,
    more_line,
    reported_by,
    subject_line,
)
from bot.digest.render.ledger import ledger_view
from bot.digest.render.mrkdwn import clean_text
from bot.model import Digest, DigestStory


@dataclass(slots=True, frozen=True)
class Reporter:
    name: str
    link: str | None


def digest_context(digest: Digest) -> dict[str, Any]:
    stories = [
        _story_context(number, story, digest.timezone)
        for number, story in enumerate(digest.stories, 1)
    ]
    headlines = "; ".join(str(story["headline"]) for story in stories[:3])
    return {
        "title": _clean(digest.title),
        "subject": _clean(subject_line(digest)),
        "period": format_period(digest),
        "count_line": count_phrase(digest),
        "preheader": headlines or "No new compute-deal stories in this period.",
        "stories": stories,
        "more_line": more_line(digest) if digest.more_count else "",
        "footer": [_clean(line) for line in footer_lines(digest)],
        "ledger": _ledger_context(digest),
    }


def _ledger_context(digest: Digest) -> dict[str, Any] | None:
    """The weekly ledger section, with its bar chart as inline SVG (our own markup: labels
    escaped by the chart; feed text only in the lines, which the templates escape)."""
    if digest.ledger is None:
        return None
    view = ledger_view(digest.ledger, digest.timezone)
    return {"view": view, "chart": Markup(ledger_chart_svg(digest.ledger))}


def _story_context(number: int, story: DigestStory, timezone: str) -> dict[str, Any]:
    who = reported_by(story.sources, VISIBLE_OUTLETS_LONG)
    return {
        "number": number,
        "headline": _clean(story.headline),
        "link": safe_link(story.link),
        "updated": story.updated,
        "held_over": story.held_over,
        "summary": _clean(story.summary),
        "facts": [(label, _clean(value)) for label, value in fact_items(story.facts)],
        "reporters": [Reporter(_clean(s.outlet), safe_link(s.link)) for s in who.shown],
        "more_reporters": who.more,
        "first_seen": format_when(story.first_seen, timezone),
    }


def safe_link(url: str | None) -> str | None:
    """The URL when it is http(s) and has no whitespace or control characters, else None."""
    if not url or not is_http_url(url):
        return None
    url = url.strip()
    if clean_text(url) != url or any(ch.isspace() for ch in url):
        return None
    return url


def _clean(text: str) -> str:
    return " ".join(clean_text(text).split())
