"""Figures as event anchors: a story's figure vetoes other figures while its reports cite it,
not when one report in many quoted it (in-memory, pure engine logic)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clustering.config import ClusterConfig
from bot.clustering.engine import StoryClusterer
from bot.clustering.item import ClusterItem

T0 = datetime(2026, 5, 6, 12, 0, tzinfo=UTC)

MERGER = [
    "Chiquita to acquire Fyffes creating biggest banana supplier",
    "Chiquita buys rival Fyffes for $526 million",
    "Chiquita and Fyffes merge to create biggest banana supplier",
    "Fyffes and Chiquita merge, creating the biggest banana supplier",
    "Banana rivals Chiquita and Fyffes merge into biggest supplier",
    "Chiquita, Fyffes merger creates biggest banana supplier",
]
OTHER_FIGURE = "Chiquita and Fyffes agree $1.07 billion banana merger"


def item(key: str, title: str, minutes: int, summary: str = "") -> ClusterItem:
    return ClusterItem(
        key=key, title=title, summary=summary, published=T0 + timedelta(minutes=minutes)
    )


def test_a_figure_few_reports_cite_does_not_veto_the_story() -> None:
    """One report in six quotes the price: a report giving the merger's combined value joins."""
    clusterer = StoryClusterer()
    keys = {clusterer.add(item(f"m{i}", title, i)).story_key for i, title in enumerate(MERGER)}
    assert len(keys) == 1
    joined = clusterer.add(item("x", OTHER_FIGURE, 10))
    assert joined.story_key in keys


def test_with_no_share_needed_every_figure_vetoes() -> None:
    """With the share at zero every figure a report ever gave anchors the story, and the
    other value is vetoed: the share is what lets the report above join."""
    strict = StoryClusterer(ClusterConfig(figure_share=0.0))
    for i, title in enumerate(MERGER):
        strict.add(item(f"m{i}", title, i))
    assert strict.add(item("x", OTHER_FIGURE, 10)).is_new_story


def test_a_young_storys_figure_is_its_anchor() -> None:
    """The first reports' figure is the story's: a comparable, materially different amount is
    another deal."""
    clusterer = StoryClusterer()
    first = clusterer.add(
        item("a", "CoreWeave signs $11.9 billion compute contract with OpenAI", 0)
    )
    again = clusterer.add(item("b", "OpenAI signs $11.9bn compute contract with CoreWeave", 1))
    other = clusterer.add(item("c", "CoreWeave signs $4 billion compute contract with OpenAI", 2))
    assert again.story_key == first.story_key
    assert other.is_new_story


def test_a_headline_figure_cited_in_passing_is_no_anchor() -> None:
    """The first report's headline gives the seller's backlog, its lead the deal's value: the
    reports that give the value join it, and another value of the same companies does not."""
    clusterer = StoryClusterer()
    first = clusterer.add(
        item(
            "backlog",
            "Northlake's backlog swells to $9 billion after Microsoft signs on for GPU capacity",
            0,
            "A $6.2 billion, five-year capacity agreement with Microsoft gives the "
            "neocloud its biggest customer yet.",
        )
    )
    same = clusterer.add(
        item(
            "same",
            "Northlake Compute lands five-year Microsoft contract for 48,000 GPUs",
            90,
            "The neocloud will reserve roughly 48,000 Nvidia GB300 GPUs for Microsoft "
            "under a deal worth $6.2 billion.",
        )
    )
    other = clusterer.add(
        item(
            "other",
            "Northlake Compute lands Microsoft contract for 20,000 GPUs",
            100,
            "The neocloud will reserve 20,000 GPUs for Microsoft under a deal worth $2.5 billion.",
        )
    )
    assert same.story_key == first.story_key
    assert other.story_key != first.story_key


def test_figure_counts_survive_export_and_restore() -> None:
    """Restored stories decide like the live one; states without counts keep every figure
    as an anchor (the behaviour they were written under)."""
    live = StoryClusterer()
    key = ""
    for i, title in enumerate(MERGER):
        key = live.add(item(f"m{i}", title, i)).story_key
    state = live.export_state(key)
    restored = StoryClusterer()
    restored.restore(key, state)
    assert restored.add(item("x", OTHER_FIGURE, 10)).story_key == key
    old = StoryClusterer()
    old.restore(key, {k: v for k, v in state.items() if k != "quantity_counts"})
    assert old.add(item("x", OTHER_FIGURE, 10)).is_new_story


DEAL_LEAD = (
    "Cipher Mining will provide Meta with 47,000 GPUs (850 MW) of AI infrastructure in Arizona "
    "under a 9-year agreement valued at about $16 billion, the companies said."
)


def _deal_report(key: str, minutes: int, teasers: str) -> ClusterItem:
    """A report of the deal whose description carries teasers of other news as prose, as CMS
    descriptions do (unrelated names, some of them rare)."""
    return ClusterItem(
        key=key,
        title="Meta signs $16 billion deal for 850 MW of AI compute from Cipher Mining",
        summary=f"{DEAL_LEAD} {teasers}",
        published=T0 + timedelta(minutes=minutes),
    )


MT_GOX = "Mt. Gox files for bankruptcy protection in Tokyo after losing bitcoins."
WEARABLES = "Google releases developer preview for Android wearables, reports say."


def test_a_report_giving_the_deals_terms_joins_whatever_other_news_it_carries() -> None:
    """Teasers recur across some reports (two carry the Mt. Gox one, two the wearables one),
    so their names look like the story's shared actors; a later report with other teasers
    (rare names: Antonoff, Bangerz) leaves them out. It gives the deal's parties, money, power
    and chips: it is a report of the deal. A report of the same parties with other figures is
    still another deal."""
    clusterer = StoryClusterer()
    teasers = [MT_GOX, WEARABLES, MT_GOX, WEARABLES, ""]
    keys = {
        clusterer.add(_deal_report(f"r{i}", i * 60, text)).story_key
        for i, text in enumerate(teasers)
    }
    assert len(keys) == 1
    later = clusterer.add(
        _deal_report(
            "later",
            400,
            "Lena Dunham and Jack Antonoff pictured on a double date. Miley Cyrus performs at "
            "the Bangerz concert in Oslo.",
        )
    )
    assert later.story_key in keys
    other = clusterer.add(
        item(
            "other",
            "Meta signs $4 billion deal for 200 MW of AI compute from Cipher Mining",
            410,
            DEAL_LEAD.replace("47,000", "12,000").replace("850 MW", "200 MW").replace("$16", "$4"),
        )
    )
    assert other.story_key not in keys


def test_a_second_report_of_the_deal_joins_though_their_teasers_name_other_people() -> None:
    """A story of one report: its teaser names two rare people, the second report's teaser
    two others, and no report names the other's. Two accounts of different events would
    look like that (the strangers check); these give the same parties and figures."""
    clusterer = StoryClusterer()
    first = clusterer.add(
        _deal_report("first", 0, "Grigoropoulos and Ketsoyan were pictured in Yerevan.")
    )
    second = clusterer.add(
        _deal_report("second", 30, "Tshabalala and Oyelaran-Adeyemi confirm a reunion in Gqeberha.")
    )
    assert second.story_key == first.story_key


def test_teasers_recurring_in_half_the_reports_are_not_the_storys_core() -> None:
    """Two of four reports carry the same teaser, so its names count as names most reports
    share; a fifth report with another teaser leaves them out and names its own people."""
    clusterer = StoryClusterer()
    bachelor = (
        "The Bachelor Juan Pablo Galavis and Taylor Swift discuss the finale with Lena Dunham."
    )
    keys = {
        clusterer.add(_deal_report(f"r{i}", i * 60, text)).story_key
        for i, text in enumerate([bachelor, "", bachelor, ""])
    }
    assert len(keys) == 1
    fifth = clusterer.add(
        _deal_report("fifth", 300, "Detective apologizes on HBO after an inappropriate tweet.")
    )
    assert fifth.story_key in keys
