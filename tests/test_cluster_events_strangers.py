"""Reports of different events that read alike (templated deal announcements) but share no rare
actor do not join or merge while a story has one report, when core-name checks cannot judge
yet; reports of one event naming the same actors still do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clustering import ClusterConfig, ClusterItem, StoryClusterer

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def report(key: str, title: str, summary: str, minutes: int) -> ClusterItem:
    return ClusterItem(
        key=key,
        title=title,
        summary=summary,
        published=T0 + timedelta(minutes=minutes),
        source=f"outlet-{key}",
    )


def deal(key: str, seller: str, buyer: str, place: str, minutes: int) -> ClusterItem:
    return report(
        key,
        f"{seller} to supply {buyer} with 40,000 GPUs in {place} under multiyear contract",
        f"{seller} will provide {buyer} with 40,000 GPUs (800 MW) of AI infrastructure in "
        f"{place} under a 6-year agreement valued at about $7 billion, the companies said.",
        minutes,
    )


def test_a_templated_report_of_other_companies_starts_its_own_story() -> None:
    clusterer = StoryClusterer(ClusterConfig())
    first = clusterer.add(deal("a", "Nscale", "Anthropic", "Reykjavik", 0))
    other = clusterer.add(deal("b", "Fluidstack", "xAI", "Memphis", 10))
    assert other.story_key != first.story_key
    # The same deal retold by another outlet, other words, the same actors: one story.
    again = clusterer.add(
        report(
            "c",
            "Anthropic books 40,000 GPUs from Nscale in Reykjavik",
            "Anthropic has agreed to rent 40,000 GPUs (800 MW) from Nscale in Reykjavik for "
            "six years, in a deal worth about $7 billion.",
            20,
        )
    )
    assert again.story_key == first.story_key


def test_reports_naming_common_words_only_are_not_judged_by_names() -> None:
    """Names common in English (Microsoft, Texas) do not count as rare actors: such reports are
    left to the other anchors, as before."""
    clusterer = StoryClusterer(ClusterConfig())
    first = clusterer.add(deal("a", "Microsoft", "Amazon", "Texas", 0))
    second = clusterer.add(deal("b", "Microsoft", "Amazon", "Texas", 5))
    assert second.story_key == first.story_key
