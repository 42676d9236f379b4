"""Reports that say nothing: a story of placeholder titles without prose is not joined on its
page furniture (in-memory, pure engine logic)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clustering.engine import StoryClusterer
from bot.clustering.item import ClusterItem

T0 = datetime(2026, 5, 6, 12, 0, tzinfo=UTC)

SHARES = [
    "Hong Kong shares sink on weak China data",
    "Hong Kong shares in biggest loss in five weeks after weak China data",
]


def item(key: str, title: str, minutes: int, text: str = "") -> ClusterItem:
    return ClusterItem(key=key, title=title, text=text, published=T0 + timedelta(minutes=minutes))


def test_a_placeholder_story_is_not_joined_on_its_furniture() -> None:
    """ "Share this on:" leaves "share" as the story's only term; reports about shares falling
    start their own story and join each other, not the placeholder."""
    clusterer = StoryClusterer()
    furniture = clusterer.add(item("p", "Share this on:", 0))
    first = clusterer.add(item("a", SHARES[0], 1))
    second = clusterer.add(item("b", SHARES[1], 2))
    assert first.is_new_story and first.story_key != furniture.story_key
    assert second.story_key == first.story_key


def test_the_flag_survives_export_and_restore() -> None:
    clusterer = StoryClusterer()
    key = clusterer.add(item("p", "Share this on:", 0)).story_key
    state = clusterer.export_state(key)
    restored = StoryClusterer()
    restored.restore(key, state)
    assert restored.add(item("a", SHARES[0], 1)).is_new_story
    # A state written before the flag was kept: rebuilt from the members.
    older = StoryClusterer()
    older.restore(key, {k: v for k, v in state.items() if k != "informative"})
    assert older.add(item("a", SHARES[0], 1)).is_new_story


def test_a_placeholder_title_with_prose_is_a_report() -> None:
    """A placeholder title over prose says something: the story it starts is joined by the
    next report of the same event."""
    clusterer = StoryClusterer()
    first = clusterer.add(
        item(
            "p",
            "What's Happening?",
            0,
            "Hong Kong shares sank on Monday after weak China trade data. The Hang Seng index "
            "had its biggest loss in five weeks as exporters fell.",
        )
    )
    second = clusterer.add(item("a", SHARES[1], 1))
    assert second.story_key == first.story_key
