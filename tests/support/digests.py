"""Builders of in-memory stories and digests for the digest, Slack and email tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.digest import StoryView, compose_digest
from bot.model import Digest, SourceRef, StoryFacts

PERIOD_END = datetime(2026, 5, 14, 8, 0, tzinfo=UTC)
EVIL_TITLE = "<!channel> Free GPUs <https://evil.example|click>"


def source(outlet: str, hours_before: float = 1.0, link: str | None = "auto") -> SourceRef:
    slug = outlet.lower().replace(" ", "-")
    return SourceRef(
        outlet=outlet,
        link=f"https://{slug}.example/news/{slug}-story" if link == "auto" else link,
        title=f"{outlet} report",
        published=PERIOD_END - timedelta(hours=hours_before),
    )


def story(
    story_id: int,
    headline: str = "xAI sells all of Colossus 1's 300 MW to Anthropic",
    *,
    outlets: int = 1,
    score: float = 5.0,
    summary: str = (
        "Anthropic will buy all of the computing capacity of xAI's Colossus 1 data center. "
        "The facility has 300 megawatts of capacity. Analysts put the value in the billions."
    ),
    facts: StoryFacts | None = None,
    sources: list[SourceRef] | None = None,
    hours_old: float = 2.0,
) -> StoryView:
    return StoryView(
        story_id=story_id,
        headline=headline,
        summary=summary,
        facts=facts
        if facts is not None
        else StoryFacts(parties=["xAI", "Anthropic"], power_mw=300, places=["Memphis"]),
        sources=sources
        if sources is not None
        else [source(f"Outlet {story_id}-{n}", hours_before=hours_old + n) for n in range(outlets)],
        first_seen=PERIOD_END - timedelta(hours=hours_old + outlets),
        last_updated=PERIOD_END - timedelta(hours=hours_old),
        score=score,
        version=1,
    )


def digest(
    candidates: list[StoryView],
    *,
    previously_sent: dict[int, int] | None = None,
    max_stories: int = 15,
    min_score: float = 0.0,
    unhealthy_feeds: list[str] | None = None,
    title: str = "Compute deals",
) -> Digest:
    return compose_digest(
        channel="deals",
        title=title,
        candidates=candidates,
        previously_sent=previously_sent or {},
        period_start=PERIOD_END - timedelta(days=1),
        period_end=PERIOD_END,
        max_stories=max_stories,
        min_score=min_score,
        unhealthy_feeds=unhealthy_feeds or [],
        total_entries=240,
    )
