"""Reports of deals are told apart by their parties: a deal report whose headline names a party
the story never names, and never names a party the story's headlines give, is another deal of
one of the companies, however close its figures; reports naming the story's parties still join,
and reports without deal figures are not judged this way. A deal headline's figure is its deal's:
a report that cites it only in passing is not that deal."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.clustering.config import ClusterConfig
from bot.clustering.engine import StoryClusterer
from bot.clustering.features import extract
from bot.clustering.item import ClusterItem, report_parties
from bot.clustering.item import title_parties as _title_parties

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
    assert _title_parties(features) == {"cipher", "mine", "amazon"}  # stems: "Mining" -> "mine"


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


# Reports of four deals of two neoclouds, written the ways outlets wrote them: (deal, headline,
# lead). The Meta report names Nebius's earlier Microsoft deal and its amount in passing.
NEOCLOUD_DEALS = [
    (
        "nebius-microsoft",
        "Microsoft signs multibillion-dollar GPU capacity deal with Nebius",
        "Nebius will supply Microsoft with dedicated GPU infrastructure from its new Vineland, "
        "New Jersey data center under a five-year agreement worth $17.4 billion, which could "
        "rise to $19.4 billion.",
    ),
    (
        "nebius-microsoft",
        "Nebius shares soar after $17.4 billion Microsoft deal",
        "Shares of Nebius Group jumped more than 40% after the company said it would provide "
        "Microsoft with GPU capacity worth $17.4 billion over five years from a data center in "
        "Vineland, New Jersey.",
    ),
    (
        "nebius-meta",
        "Meta signs $3 billion AI infrastructure deal with Nebius",
        "Nebius said it signed a five-year agreement worth about $3 billion to provide Meta with "
        "AI infrastructure, its second big contract after a $17.4 billion deal with Microsoft.",
    ),
    (
        "nebius-microsoft",
        "Microsoft taps Nebius for up to $19.4 billion in AI compute",
        "Microsoft will pay Nebius $17.4 billion, and up to $19.4 billion with additional "
        "services, for GPU capacity at the Vineland, New Jersey site through 2031.",
    ),
    (
        "coreweave-meta",
        "CoreWeave signs $14 billion AI deal with Meta",
        "CoreWeave will provide Meta with cloud computing capacity under a deal worth $14.2 "
        "billion that runs through 2031, the company said in a filing.",
    ),
    (
        "coreweave-openai",
        "CoreWeave expands OpenAI contract by $6.5 billion",
        "CoreWeave said OpenAI agreed to pay up to $6.5 billion more for computing capacity, "
        "bringing the total value of its contracts with OpenAI to about $22.4 billion.",
    ),
    (
        "coreweave-meta",
        "Meta inks $14.2 billion computing pact with CoreWeave",
        "Meta Platforms has agreed to a $14.2 billion deal with CoreWeave for access to Nvidia "
        "GB300 systems through December 2031, with an option to expand.",
    ),
    (
        "coreweave-openai",
        "OpenAI boosts CoreWeave deal to $22.4 billion",
        "OpenAI will pay CoreWeave up to $6.5 billion more for AI infrastructure, the cloud "
        "provider said, taking the contracts' total to $22.4 billion.",
    ),
    (
        "nebius-meta",
        "Nebius lands $3bn Meta contract, shares jump",
        "Nebius Group shares rose after it said Meta Platforms would buy about $3 billion of AI "
        "infrastructure over five years.",
    ),
]


# Three deals retold by several outlets, naming a party by another name ("AWS" for Amazon,
# "Alphabet's Google Cloud"), and one company's deals with two sellers.
HYPERSCALER_DEALS = [
    (
        "google-anthropic",
        "Anthropic to use up to 1 million Google TPUs in deal worth tens of billions",
        "Anthropic will expand its use of Google Cloud's tensor processing units to as many as 1 "
        "million chips, bringing well over a gigawatt of capacity online in 2026.",
    ),
    (
        "google-anthropic",
        "Google, Anthropic seal cloud deal worth tens of billions of dollars",
        "Alphabet's Google will supply Anthropic with up to one million of its TPU chips under "
        "an agreement valued at tens of billions of dollars.",
    ),
    (
        "google-anthropic",
        "Alphabet's Google Cloud wins giant Anthropic TPU deal",
        "The deal gives Anthropic access to up to 1 million TPUs and more than 1 GW of "
        "capacity, the companies said on Thursday.",
    ),
    (
        "amazon-openai",
        "OpenAI signs $38 billion cloud deal with Amazon",
        "OpenAI will buy $38 billion of computing capacity from Amazon Web Services over seven "
        "years, gaining access to hundreds of thousands of Nvidia GPUs.",
    ),
    (
        "amazon-openai",
        "AWS and OpenAI announce $38bn multi-year strategic partnership",
        "Amazon Web Services will provide OpenAI with Amazon EC2 UltraServers featuring "
        "hundreds of thousands of Nvidia chips under a $38 billion agreement.",
    ),
    (
        "amazon-openai",
        "Amazon shares jump after $38 billion OpenAI deal",
        "Amazon stock rose 5% after its cloud unit AWS agreed to supply OpenAI with $38 billion "
        "of compute over seven years.",
    ),
    (
        "microsoft-iren",
        "Microsoft signs $9.7 billion AI cloud deal with IREN",
        "IREN will provide Microsoft with access to Nvidia GB300 GPUs at its Childress, Texas "
        "campus under a five-year contract worth $9.7 billion.",
    ),
    (
        "microsoft-lambda",
        "Microsoft inks multibillion-dollar deal with Lambda",
        "Lambda will deploy tens of thousands of Nvidia GPUs for Microsoft under a "
        "multibillion-dollar agreement, the startup said.",
    ),
    (
        "microsoft-iren",
        "IREN stock soars on $9.7bn Microsoft contract",
        "Shares of IREN surged after the bitcoin miner turned AI cloud provider said Microsoft "
        "will pay $9.7 billion over five years for GPU capacity in Texas.",
    ),
]


@pytest.mark.parametrize("reports", [NEOCLOUD_DEALS, HYPERSCALER_DEALS])
def test_each_deal_is_one_story(reports: list[tuple[str, str, str]]) -> None:
    """Each deal's reports make one story and no two deals share one. In the neocloud deals,
    the Microsoft report that fits both Nebius stories (it cites $17.4 billion, as the Meta
    report does in passing) does not merge the Meta deal into the Microsoft one, whose
    headline figure is $3 billion; the OpenAI reports whose headlines give the increment and
    the total stay one story, as both leads cite both."""
    clusterer = StoryClusterer(ClusterConfig())
    story_of: dict[str, str] = {}
    for index, (deal, title, lead) in enumerate(reports):
        placed = clusterer.add(report(f"{deal}#{index}", title, lead, 10 * index))
        story_of[f"{deal}#{index}"] = placed.story_key
    by_deal: dict[str, set[str]] = {}
    for key, story in story_of.items():
        by_deal.setdefault(key.split("#")[0], set()).add(clusterer.resolve(story))
    assert all(len(stories) == 1 for stories in by_deal.values()), by_deal
    assert len({next(iter(stories)) for stories in by_deal.values()}) == len(by_deal)


def test_a_demonym_is_no_party() -> None:
    features = extract("Greek austerity: British views", "")
    assert _title_parties(features) == frozenset()
    assert report_parties("Day six of the Greek youth revolt", "Protests spread.") == frozenset()
    assert report_parties("Iranian officials meet Nvidia", "") == {"nvidia"}
