"""Fragment merges and core actors: a story about people at a setting is not a fragment of the
setting's story (in-memory, pure engine logic)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clustering.config import ClusterConfig
from bot.clustering.engine import StoryClusterer
from bot.clustering.item import ClusterItem

T0 = datetime(2026, 5, 6, 12, 0, tzinfo=UTC)

FESTIVAL = [
    "Sundance festival opens in Park City with record crowds",
    "Sundance festival lineup draws record crowds to Park City",
    "Record crowds as Sundance festival opens in Park City",
    "Sundance festival opens as crowds pack Park City",
]
TALK = [
    "Oprah Winfrey speaks at Sundance festival about diversity",
    "Oprah Winfrey at Sundance festival: diversity talk draws crowds",
    "Winfrey tells Sundance festival crowds about diversity",
]
BOTH = "Crowds pack Sundance festival in Park City for Oprah Winfrey diversity talk"


def two_stories(config: ClusterConfig, festival: list[str] | None = None) -> StoryClusterer:
    """The festival's story and the talk's story, each built on its own, restored into one
    clusterer (as two stories that never met an item fitting both)."""
    clusterer = StoryClusterer(config)
    for prefix, titles in (("f", festival or FESTIVAL), ("t", TALK)):
        single = StoryClusterer(config)
        keys = {
            single.add(
                ClusterItem(key=f"{prefix}{i}", title=title, published=T0 + timedelta(minutes=i))
            ).story_key
            for i, title in enumerate(titles)
        }
        assert len(keys) == 1
        key = keys.pop()
        clusterer.restore(key, single.export_state(key))
    return clusterer


def test_a_story_of_actors_the_other_hardly_names_does_not_merge() -> None:
    """The talk's core actors (Oprah Winfrey) are named by none of the festival's reports: a
    report that fits both joins one and leaves the two stories apart."""
    clusterer = two_stories(ClusterConfig())
    placed = clusterer.add(ClusterItem(key="x", title=BOTH, published=T0 + timedelta(minutes=30)))
    assert not placed.is_new_story
    assert placed.merged == [] and len(clusterer) == 2


def test_stories_that_name_each_others_actors_still_merge() -> None:
    """The same stories, but one festival report names the speaker in its headline: the talk's
    core now has one actor the festival never names (not most of them), and a report that fits
    both merges the two. What keeps them apart above is that the festival never names them."""
    named = [*FESTIVAL[:-1], "Winfrey to speak as Sundance festival opens in Park City"]
    clusterer = two_stories(ClusterConfig(), festival=named)
    placed = clusterer.add(ClusterItem(key="x", title=BOTH, published=T0 + timedelta(minutes=30)))
    assert len(placed.merged) == 1 and len(clusterer) == 1
