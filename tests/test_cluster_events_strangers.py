"""Reports of different events that read alike (templated deal announcements) but share no rare
actor do not join or merge while a story has one report, when core-name checks cannot judge
yet; reports of one event naming the same actors still do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clustering.config import ClusterConfig
from bot.clustering.engine import StoryClusterer
from bot.clustering.item import ClusterItem

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


# Reports from bench/deal_stream.py (the poll benchmark's generated deals, with their page
# clutter): (deal, published, title, summary). Three reports of the IREN deal; one of a
# Fluidstack deal and one of a TeraWulf deal, both with Microsoft, which had joined each other.
DEAL_REPORTS = [
    (
        "57",
        "2026-11-28T02:06:00+00:00",
        "IREN to supply Microsoft with 40,000 GPUs in Finland under multiyear contract",
        "IREN will provide Microsoft with 40,000 GPUs (950 MW) of AI infrastructure in "
        "Finland under a 10-year agreement valued at about $1 billion, the companies "
        "said. Anonymous hackers claim MtGox still has 'stolen' Bitcoins. ECB unlikely "
        "to end sterilisation of SMP purchases - traders, according to people familiar "
        "with the matter. Lindsay Lohan fails to reinvent herself as calm and together "
        "as she loses her ....",
    ),
    (
        "57",
        "2026-11-28T02:13:00+00:00",
        "Microsoft signs $1 billion deal for 950 MW of AI compute from IREN",
        "IREN will provide Microsoft with 40,000 GPUs (950 MW) of AI infrastructure in "
        "Finland under a 10-year agreement valued at about $1 billion, the companies "
        "said. March may be the worst month of the year for gas prices. 4.7-Inch "
        "'iPhone Air' Shown Off In New Concept Video, according to people familiar "
        "with the matter. Microsoft's Walt Whitman store girds for Titanfall landing.",
    ),
    (
        "139",
        "2026-11-28T04:10:00+00:00",
        "Microsoft signs $29 billion deal for 900 MW of AI compute from Fluidstack",
        "Fluidstack will provide Microsoft with 40,000 GPUs (900 MW) of AI "
        "infrastructure in Virginia under a 10-year agreement valued at about $29 "
        "billion, the companies said. Feynman, Sagan & Tyson. True Detective creator "
        "talks season 2!, according to people familiar with the matter. Google plans "
        "to release an Android software developer kit for wearables.",
    ),
    (
        "10",
        "2026-11-28T04:42:00+00:00",
        "Microsoft signs $1 billion deal for 800 MW of AI compute from TeraWulf",
        "TeraWulf will provide Microsoft with 38,000 GPUs (800 MW) of AI "
        "infrastructure in Finland under a 9-year agreement valued at about $1 "
        "billion, the companies said. Phenomena:. A look inside SXSW Interactive, "
        "according to people familiar with the matter. Lindsay Lohan's new reality "
        "show? So not a good idea....",
    ),
    (
        "57",
        "2026-11-28T06:13:00+00:00",
        "IREN to supply Microsoft with 40,000 GPUs in Finland under multiyear contract",
        "IREN will provide Microsoft with 40,000 GPUs (950 MW) of AI infrastructure in "
        "Finland under a 10-year agreement valued at about $1 billion, the companies "
        "said. It's Hard to Tell If Edward Snowden is a Liberal or a Libertarian. SXSW "
        'Highlights: "Chef", "Neighbors" And "Veronica Mars" Bring The Laughs ..., '
        "according to people familiar with the matter. Game of Thrones season 4 "
        "premiere: HBO's Epic Fan experience at Barclays ....",
    ),
]


def test_deal_stories_with_other_counterparties_do_not_merge() -> None:
    """The third report of the IREN deal fits both stories (the same buyer, close figures); it
    joins the IREN story and does not merge the other deals' story into it: the two stories
    cite deal figures and share no rare actor."""
    clusterer = StoryClusterer(ClusterConfig())
    story_of: dict[str, str] = {}
    for index, (deal_id, published, title, summary) in enumerate(
        sorted(DEAL_REPORTS, key=lambda row: row[1])
    ):
        item = ClusterItem(
            key=f"{deal_id}-{index}",
            title=title,
            summary=summary,
            published=datetime.fromisoformat(published),
        )
        placed = clusterer.add(item)
        story_of[item.key] = placed.story_key
        for gone in placed.merged:
            story_of = {k: placed.story_key if v == gone else v for k, v in story_of.items()}
    iren = {story for key, story in story_of.items() if key.startswith("57-")}
    others = {story for key, story in story_of.items() if not key.startswith("57-")}
    assert len(iren) == 1
    assert not iren & others
