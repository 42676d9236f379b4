"""Places as event anchors: a report that puts the same kind of deal somewhere the story's
reports never go is another event (in-memory, pure engine logic)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clustering.config import ClusterConfig
from bot.clustering.engine import StoryClusterer
from bot.clustering.item import ClusterItem

T0 = datetime(2026, 5, 6, 12, 0, tzinfo=UTC)

TITLES = [
    "Nebius leases 300 MW data center to Google",
    "Google leases 300 MW data center from Nebius",
    "Nebius signs 300 MW data center lease with Google",
]
LEAD = (
    "Nebius will lease a 300 MW data center campus in {place} to Google under a multi-year "
    "contract. The companies said the first phase of the campus in {place} comes online next "
    "year."
)


def item(key: str, title: str, minutes: int, place: str | None = None) -> ClusterItem:
    text = LEAD.format(place=place) if place else ""
    return ClusterItem(key=key, title=title, text=text, published=T0 + timedelta(minutes=minutes))


def arizona_story(config: ClusterConfig | None = None) -> tuple[StoryClusterer, str]:
    clusterer = StoryClusterer(config)
    keys = {
        clusterer.add(item(f"a{i}", title, i, "Arizona")).story_key
        for i, title in enumerate(TITLES)
    }
    assert len(keys) == 1
    return clusterer, keys.pop()


def test_a_report_placing_the_deal_elsewhere_starts_its_own_story() -> None:
    clusterer, _ = arizona_story()
    assert clusterer.add(item("t", TITLES[0], 10, "Texas")).is_new_story


def test_the_same_place_named_otherwise_or_no_place_joins() -> None:
    """The story's place with its city, or a report without a place, is the same deal."""
    clusterer, key = arizona_story()
    city = clusterer.add(item("c", TITLES[1], 10, "Phoenix, Arizona"))
    bare = clusterer.add(item("b", "Nebius and Google sign 300 MW data center lease", 11))
    assert city.story_key == key and bare.story_key == key


def test_without_agreement_on_a_place_there_is_no_place_anchor() -> None:
    """When no place reaches the share of the story's reports, the place decides nothing and
    the Texas report joins on its words and figures: the anchor is what kept it out above."""
    clusterer, key = arizona_story(ClusterConfig(place_share=2.0))
    assert clusterer.add(item("t", TITLES[0], 10, "Texas")).story_key == key


def test_a_deal_reported_once_has_its_place_already() -> None:
    """Two deals of the same companies with close figures: the story of the first has one
    report, and its place tells the second deal apart; the same deal written from the city
    joins it."""
    clusterer = StoryClusterer()
    first = clusterer.add(item("a", TITLES[0], 0, "Arizona"))
    elsewhere = clusterer.add(item("f", TITLES[1], 5, "Finland"))
    city = clusterer.add(item("c", TITLES[2], 10, "Phoenix, Arizona"))
    assert elsewhere.is_new_story
    assert city.story_key == first.story_key


def test_a_single_reports_place_decides_nothing_outside_deals() -> None:
    """Without figures a report's place cue is too weak alone: another outlet may name the
    county rather than the town."""
    clusterer = StoryClusterer()
    first = clusterer.add(
        ClusterItem(
            key="a",
            title="Wildfire forces evacuation of thousands near Santa Rosa",
            text="Firefighters battled a wildfire in Santa Rosa on Tuesday as thousands of "
            "residents fled their homes.",
            published=T0,
        )
    )
    county = clusterer.add(
        ClusterItem(
            key="b",
            title="Wildfire forces evacuation of thousands of residents",
            text="Firefighters battled a wildfire in Sonoma County on Tuesday as thousands of "
            "residents fled their homes.",
            published=T0 + timedelta(minutes=20),
        )
    )
    assert county.story_key == first.story_key
