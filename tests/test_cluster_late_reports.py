"""Later reports of an event, worded differently, join its story when their anchors agree.

An analyst must not see "Anthropic takes over all 300 MW of xAI's Colossus 1" as a second story
a day after the five-outlet Colossus 1 story: same parties, same asset instance, same power.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clustering.config import ClusterConfig
from bot.clustering.engine import StoryClusterer
from bot.clustering.item import ClusterItem
from bot.reader.processor import strip_clutter

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

LATE_REPORTS = [
    (
        "Anthropic takes over all 300 MW of xAI's Colossus 1 in Memphis",
        "Anthropic will use the entire capacity of xAI's Colossus 1 data center in Memphis, "
        "about 300 megawatts, in a deal said to be worth billions of dollars.",
    ),
    (
        "Colossus 1 changes hands: Anthropic rents xAI's Memphis supercomputer",
        "xAI is leasing the whole of its 300-megawatt Colossus 1 facility to Anthropic, which "
        "needs more compute for Claude.",
    ),
]


def seeded(seeds: list[tuple[str, str]]) -> tuple[StoryClusterer, str]:
    clusterer = StoryClusterer(ClusterConfig())
    keys = set()
    for index, (title, text) in enumerate(seeds):
        clean = strip_clutter(text)
        assignment = clusterer.add(
            ClusterItem(
                key=f"seed-{index}",
                title=title,
                summary=clean[:400],
                text=clean,
                published=NOW - timedelta(hours=12 - index),
            )
        )
        keys.add(clusterer.resolve(assignment.story_key))
    assert len(keys) == 1
    return clusterer, keys.pop()


@pytest.mark.parametrize(("title", "summary"), LATE_REPORTS)
def test_late_report_with_agreeing_anchors_joins_the_seed_story(
    seeds: list[tuple[str, str]], title: str, summary: str
) -> None:
    clusterer, story = seeded(seeds)
    assignment = clusterer.add(
        ClusterItem(key="late", title=title, summary=summary, published=NOW + timedelta(hours=20))
    )
    assert clusterer.resolve(assignment.story_key) == clusterer.resolve(story)


def test_late_report_of_a_different_instance_stays_apart(seeds: list[tuple[str, str]]) -> None:
    clusterer, story = seeded(seeds)
    assignment = clusterer.add(
        ClusterItem(
            key="other",
            title="xAI leases all 1 GW of Colossus 2 to Anthropic",
            summary="The new Colossus 2 site in Memphis will be rented out in full.",
            published=NOW + timedelta(hours=20),
        )
    )
    assert clusterer.resolve(assignment.story_key) != clusterer.resolve(story)
