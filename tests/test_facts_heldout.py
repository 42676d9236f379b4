"""A held-out check of story facts: realistic compute-deal headline + lead pairs.

Team-written (paraphrases in the style of 2024-2025 deal coverage, some names and figures
invented), written before this set was first run against bot/clustering/facts.py and not used to
tune it. Expected facts are what a reader of the pair knows. The test holds the measured quality
as a floor; run the file as a script to print the figures and the misses as JSON.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from test_facts import Expected, Score, _p

from bot.clustering.facts import Report, story_facts

HELDOUT: list[tuple[str, str, Expected]] = [
    (
        "Nscale signs $14 billion deal to supply Microsoft with Nvidia GB300 capacity in Texas",
        "Nscale will deliver about 104,000 Nvidia GB300 GPUs to Microsoft from a leased campus "
        "in Abilene, Texas, the British neocloud said on Wednesday.",
        Expected(_p("Nscale", "Microsoft"), 14e9, None, 104_000),
    ),
    (
        "Oracle to buy $40 billion of Nvidia chips for OpenAI's Abilene data center",
        "Oracle will purchase about 400,000 Nvidia GB200 chips and lease the computing power to "
        "OpenAI at the Stargate site in Abilene, Texas, people familiar with the matter said.",
        Expected(_p("Oracle", "Nvidia", "OpenAI"), 40e9, None, 400_000),
    ),
    (
        "Lambda inks multibillion-dollar deal with Microsoft for AI infrastructure",
        "Lambda will deploy tens of thousands of Nvidia GPUs for Microsoft under the multi-year "
        "agreement, the cloud provider said, without disclosing financial terms.",
        Expected(_p("Lambda", "Microsoft"), None, None, None),
    ),
    (
        "Equinix acquires three data centers in Manila for $180 million",
        "Equinix said the purchase adds 25 MW of capacity and expands its footprint in the "
        "Philippines.",
        Expected(_p("Equinix"), 180e6, 25, None),
    ),
    (
        "Crusoe raises $1.38 billion funding round to build AI data centers",
        "The round, led by Valor Equity Partners and Mubadala Capital, values Crusoe at more "
        "than $13 billion.",
        Expected(_p("Crusoe", "Valor Equity Partners", "Mubadala Capital"), 1.38e9, None, None),
    ),
    (
        "Meta signs 20-year lease for 1 GW Hyperion campus in Louisiana with Blue Owl",
        "Blue Owl Capital will own 80% of the $27 billion Hyperion data center joint venture in "
        "Richland Parish, Louisiana, with Meta holding the remaining 20% and leasing the "
        "facility.",
        Expected(_p("Meta", "Blue Owl Capital|Blue Owl"), 27e9, 1000, None),
    ),
    (
        "Nebius to supply Meta with $3 billion of AI infrastructure",
        "Nebius Group will provide Meta with dedicated GPU capacity over five years under an "
        "agreement valued at about $3 billion, the Amsterdam-based company said.",
        Expected(_p("Nebius Group|Nebius", "Meta"), 3e9, None, None),
    ),
    (
        "TeraWulf leases 200 MW at Lake Mariner to Fluidstack in Google-backed deal",
        "TeraWulf has signed a 10-year lease with Fluidstack for 200 MW of critical IT load at "
        "its Lake Mariner campus in New York, with Google backstopping $1.8 billion of "
        "Fluidstack's lease obligations. The contracts are worth about $3.7 billion in revenue.",
        Expected(_p("TeraWulf", "Fluidstack", "Google"), 3.7e9, 200, None),
    ),
    (
        "Anthropic expands Google Cloud TPU deal to up to one million chips",
        "Anthropic will use up to one million Google TPUs under an expanded agreement worth tens "
        "of billions of dollars that brings well over 1 GW of capacity online in 2026.",
        Expected(_p("Anthropic", "Google Cloud|Google"), None, 1000, 1_000_000),
    ),
    (
        "Hut 8 signs 15-year, $7 billion lease with Fluidstack at River Bend campus",
        "Hut 8 will lease 245 MW of IT capacity at its River Bend campus in Louisiana to "
        "Fluidstack, with Google providing a financial backstop, the company said on Wednesday.",
        Expected(_p("Hut 8", "Fluidstack", "Google"), 7e9, 245, None),
    ),
    (
        "Applied Digital signs two 15-year leases with CoreWeave worth $7 billion",
        "Applied Digital will deliver 250 MW of critical IT load to CoreWeave at its Ellendale, "
        "North Dakota campus under the leases, which begin in 2025.",
        Expected(_p("Applied Digital", "CoreWeave"), 7e9, 250, None),
    ),
    (
        "Nvidia to invest $100 billion in OpenAI as part of 10-gigawatt data center pact",
        "OpenAI will deploy at least 10 GW of Nvidia systems, and Nvidia intends to invest up to "
        "$100 billion in OpenAI progressively as each gigawatt is deployed.",
        Expected(_p("Nvidia", "OpenAI"), 100e9, 10_000, None),
    ),
    (
        "Microsoft to spend $10 billion on AI data center in Portugal's Sines",
        "Microsoft will invest $10 billion in an AI data hub in Sines, Portugal, working with "
        "developer Start Campus and Nscale on the project, which will house 12,600 Nvidia GPUs.",
        Expected(_p("Microsoft", "Start Campus", "Nscale"), 10e9, None, 12_600),
    ),
    (
        "Poolside partners with CoreWeave on 2 GW Horizon campus in West Texas",
        "CoreWeave will provide Poolside with a cluster of more than 40,000 Nvidia GB300 GPUs, "
        "and Poolside will anchor the 2 GW Project Horizon campus it is developing in Texas.",
        Expected(_p("Poolside", "CoreWeave"), None, 2000, 40_000),
    ),
    (
        "Cerebras wins contract to supply G42 with supercomputers",
        "Cerebras Systems agreed to build nine AI supercomputers for Abu Dhabi's G42 under a "
        "deal worth about $900 million, the Sunnyvale, California company said.",
        Expected(_p("Cerebras Systems|Cerebras", "G42"), 900e6, None, None),
    ),
    (
        "SoftBank buys Ohio factory from Foxconn for $375 million to build Stargate equipment",
        "SoftBank Group agreed to acquire Foxconn's electric-vehicle plant in Lordstown, Ohio, "
        "which it will use to make data-center equipment for the Stargate project.",
        Expected(_p("SoftBank Group|SoftBank", "Foxconn"), 375e6, None, None),
    ),
    (
        "Amazon signs 1.92 GW nuclear power deal with Talen Energy",
        "Talen Energy will sell up to 1,920 MW of electricity from its Susquehanna nuclear plant "
        "in Pennsylvania to Amazon Web Services through 2042 under the expanded power purchase "
        "agreement, valued at about $18 billion.",
        Expected(_p("Amazon|Amazon Web Services|AWS", "Talen Energy"), 18e9, 1920, None),
    ),
    (
        "Humain and xAI agree to build 500 MW data center in Saudi Arabia",
        "Saudi Arabia's Humain will partner with xAI on a 500-megawatt facility, with Nvidia "
        "supplying about 600,000 chips across Humain's projects over three years.",
        Expected(_p("Humain", "xAI"), None, 500, None),
    ),
]


def score_heldout() -> Score:
    score = Score()
    for title, lead, expected in HELDOUT:
        score.add(title[:48], story_facts([Report(title, lead)]), expected)
    return score


def test_heldout_quality_stays_at_its_measured_level() -> None:
    summary = score_heldout().summary()
    assert summary["party_precision"] >= MEASURED["party_precision"], summary
    assert summary["party_recall"] >= MEASURED["party_recall"], summary
    assert summary["amount_accuracy"] >= MEASURED["amount_accuracy"], summary
    assert summary["power_accuracy"] >= MEASURED["power_accuracy"], summary


# The figures measured when the set was first run (see the module docstring): a floor.
# First run: party precision 1.0, recall 0.875, amount 0.944, power 1.0, chips 0.889.
MEASURED = {
    "party_precision": 0.95,
    "party_recall": 0.85,
    "amount_accuracy": 0.9,
    "power_accuracy": 0.95,
}


if __name__ == "__main__":
    print(json.dumps(score_heldout().summary(), indent=2))
