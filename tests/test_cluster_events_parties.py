"""Reports of deals are told apart by their parties: a deal report whose headline names a party
the story never names, and never names a party the story's headlines give, is another deal of
one of the companies, however close its figures; reports naming the story's parties still join,
and reports without deal figures are not judged this way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.clustering import ClusterConfig, ClusterItem, StoryClusterer
from bot.clustering.engine import _title_parties
from bot.clustering.features import extract

T0 = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)


def report(key: str, title: str, summary: str, minutes: int) -> ClusterItem:
    return ClusterItem(
        key=key, title=title, summary=summary, published=T0 + timedelta(minutes=minutes)
    )


# From bench/deal_stream.py (the poll benchmark's generated deals, with their page clutter): one
# seller's deals with two buyers, 20,000 GPUs against 21,000 and 800 MW against 900, within the
# figures' tolerance, which had joined one story.
ANTHROPIC = report(
    "anthropic-1",
    "Cipher Mining to supply Anthropic with 21,000 GPUs in Iceland under multiyear contract",
    "Cipher Mining will provide Anthropic with 21,000 GPUs (900 MW) of AI infrastructure in "
    "Iceland under a 8-year agreement valued at about $16 billion, the companies said. Google "
    "to make Chromecast available in 'many more countries' in a few weeks. FOX's Cosmos "
    "dazzles in debut, according to people familiar with the matter.",
    0,
)
AMAZON = report(
    "amazon-1",
    "Cipher Mining to supply Amazon with 20,000 GPUs in Finland under multiyear contract",
    "Cipher Mining will provide Amazon with 20,000 GPUs (800 MW) of AI infrastructure in "
    "Finland under a 9-year agreement valued at about $14 billion, the companies said. Third "
    "Game of Thrones trailer released. Edward Snowden: Tech Giants Are Irresponsible With "
    "Consumer Data.",
    11,
)
ANTHROPIC_AGAIN = report(
    "anthropic-2",
    "Anthropic signs $16 billion deal for 900 MW of AI compute from Cipher Mining",
    "Cipher Mining will provide Anthropic with 21,000 GPUs (900 MW) of AI infrastructure in "
    "Iceland under a 8-year agreement valued at about $16 billion, the companies said. Game of "
    "Thrones Season 4 Spoilers, Rumors and News. Business Highlights, according to people "
    "familiar with the matter.",
    165,
)


def test_a_headlines_parties_leave_out_deal_words_and_places() -> None:
    features = extract(AMAZON.title, AMAZON.summary)
    assert _title_parties(features) == {"cipher", "mining", "amazon"}


def test_one_sellers_deal_with_another_buyer_starts_its_own_story() -> None:
    clusterer = StoryClusterer(ClusterConfig())
    anthropic = clusterer.add(ANTHROPIC)
    amazon = clusterer.add(AMAZON)
    assert amazon.story_key != anthropic.story_key
    # Another outlet's account of the Anthropic deal, worded the other way round: its story.
    again = clusterer.add(ANTHROPIC_AGAIN)
    assert again.story_key == anthropic.story_key


def test_a_report_naming_one_party_of_the_story_joins_it() -> None:
    clusterer = StoryClusterer(ClusterConfig())
    anthropic = clusterer.add(ANTHROPIC)
    shorter = clusterer.add(
        report(
            "anthropic-3",
            "Anthropic books 21,000 GPUs in $16 billion Iceland deal",
            "Anthropic has agreed to rent 21,000 GPUs (900 MW) in Iceland for eight years, in "
            "a deal worth about $16 billion, from the bitcoin miner turned AI host Cipher "
            "Mining.",
            30,
        )
    )
    assert shorter.story_key == anthropic.story_key


def test_reports_without_deal_figures_are_not_judged_by_parties() -> None:
    clusterer = StoryClusterer(ClusterConfig())
    first = clusterer.add(
        report(
            "a",
            "Plosser says weak data was caused by the weather",
            "Philadelphia Fed President Charles Plosser said on Monday that weak economic data "
            "was caused by the cold winter and should not slow the taper.",
            0,
        )
    )
    second = clusterer.add(
        report(
            "b",
            "Fed's Plosser sees high bar for change in pace of tapering",
            "Charles Plosser, president of the Philadelphia Fed, said weak economic data was "
            "caused by the cold winter and should not slow the tapering of bond purchases.",
            20,
        )
    )
    assert second.story_key == first.story_key
