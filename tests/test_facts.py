"""Story facts (bot.clustering.facts): parties, value, power, chips, places and facilities.

Expected facts are written by the team from reading the items: the demo's deal events (fiction
written by the team, grouped by bot/demo/feeds/events.toml), the five seed reports of the canonical
event, and the positives of ../shared/data/relevance/dev.jsonl. Run this file as a script to print
the measured party precision/recall and figure accuracy as JSON.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from conftest import require_shared

from bot.clustering.engine import StoryClusterer
from bot.clustering.facts import Report, fact_lead, lead_sentences, story_facts
from bot.clustering.item import ClusterItem
from bot.demo.data import demo_events, render_demo_feeds
from bot.model.story import StoryFacts
from bot.reader.parser.feed import parse_feed

SHARED = Path(__file__).resolve().parents[2] / "shared"
NOW = datetime(2031, 3, 4, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Expected:
    """What a reader of the reports knows about the deal. A party is a tuple of accepted names."""

    parties: tuple[tuple[str, ...], ...]
    amount: float | None = None
    power: float | None = None
    chips: int | None = None
    places: tuple[str, ...] | None = None  # None: not judged
    assets: tuple[str, ...] | None = None


def _p(*names: str) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(n.split("|")) for n in names)


DEMO_EXPECTED = {
    "xai-anthropic-colossus-1": Expected(
        _p("xAI", "Anthropic"), None, 300, None, ("Memphis, Tennessee",), ("Colossus 1",)
    ),
    "microsoft-northlake-gpu-capacity": Expected(
        _p("Microsoft", "Northlake Compute"),
        6.2e9,
        None,
        48_000,
        ("Fort Worth, Texas", "Stavanger, Norway"),
        (),
    ),
    "corvane-brightwater-ppa": Expected(
        _p("Corvane Data", "Brightwater Energy"),
        None,
        450,
        None,
        ("Midland, Texas",),
        ("Red Mesa",),
    ),
    "kestrel-amd-supply": Expected(
        _p("Kestrel Labs", "AMD"), 3.1e9, None, 120_000, ("Arizona", "Ohio"), ()
    ),
    "quarry-pellucid-lease": Expected(
        _p("Quarry Data Centers", "Pellucid"), None, 36, None, ("Ashburn, Virginia",), ()
    ),
    "ironbridge-saltmarsh-acquisition": Expected(
        _p("Ironbridge Infrastructure", "Saltmarsh Data Centers"), 1.8e9, 210, None, ("Ohio",), ()
    ),
    "aldergrove-google-tpu": Expected(
        _p("Aldergrove AI", "Google Cloud"), 2.4e9, 150, None, ("Iowa", "Netherlands"), ()
    ),
}
SEEDS_EXPECTED = Expected(
    _p("xAI", "Anthropic"), None, 300, None, ("Memphis, Tennessee",), ("Colossus 1",)
)
# Line number in dev.jsonl -> expected facts of that positive.
DEV_EXPECTED = {
    0: Expected(_p("Microsoft", "Nebius"), 17.4e9, None, None, ("Vineland, New Jersey",)),
    1: Expected(_p("OpenAI", "CoreWeave"), 11.9e9, None, None, ()),
    2: Expected(_p("AMD", "OpenAI"), None, 6000, None, ()),
    3: Expected(_p("Meta", "CoreWeave"), 14e9, None, None, ()),
    4: Expected(_p("Amazon|Amazon Web Services|AWS", "OpenAI"), 38e9, None, None, ()),
    5: Expected(_p("CoreWeave", "Core Scientific"), 9e9, 1300, None, ()),
    6: Expected(_p("Cipher Mining", "Amazon Web Services|AWS|Amazon"), 5.5e9, 300, None, ()),
    7: Expected(_p("Microsoft", "IREN"), 9.7e9, None, None, ("Childress, Texas",)),
    8: Expected(_p("Anthropic", "Fluidstack"), 50e9, None, None, ("Texas", "New York")),
    9: Expected(_p("Oracle", "OpenAI"), None, 4500, None, ("Texas",)),
}


# ---------------------------------------------------------------------------- data


def demo_reports() -> dict[str, list[Report]]:
    """The demo's relevant events as the pipeline parses their items."""
    by_link: dict[str, Report] = {}
    for path, body in render_demo_feeds(NOW).items():
        parsed = parse_feed(body, url=f"http://127.0.0.1/{path}", now=NOW, source_name=path)
        for entry in parsed.entries:
            if entry.link:
                by_link[entry.link] = Report(
                    entry.title, entry.summary, entry.text, entry.published, entry.source
                )
    return {
        event.key: [by_link[link] for link in event.links]
        for event in demo_events()
        if event.relevant
    }


def seed_reports() -> list[Report]:
    reports = []
    for path in sorted(require_shared(SHARED / "seeds").glob("*.txt")):
        title, _, text = path.read_text(encoding="utf-8").partition("\n")
        reports.append(Report(title.strip(), "", text))
    return reports


def dev_reports() -> dict[int, Report]:
    path = require_shared(SHARED / "data" / "relevance" / "dev.jsonl")
    rows = path.read_text(encoding="utf-8").splitlines()
    out = {}
    for index, line in enumerate(rows):
        row = json.loads(line)
        if row["relevant"]:
            out[index] = Report(row["title"], row.get("summary") or "")
    return out


# ---------------------------------------------------------------------------- scoring


@dataclass
class Score:
    """Party precision/recall and figure accuracy over a set of stories."""

    stories: int = 0
    predicted: int = 0
    correct: int = 0
    expected: int = 0
    found: int = 0
    amount_right: int = 0
    power_right: int = 0
    chips_right: int = 0
    places_right: int = 0
    places_judged: int = 0
    misses: list[str] | None = None

    def add(self, name: str, facts: StoryFacts, expected: Expected) -> None:
        self.misses = self.misses or []
        self.stories += 1
        accepted = [{n.casefold() for n in party} for party in expected.parties]
        got = [p.casefold() for p in facts.parties]
        hits = [p for p in got if any(p in names for names in accepted)]
        self.predicted += len(got)
        self.correct += len(hits)
        self.expected += len(accepted)
        self.found += sum(1 for names in accepted if names & set(got))
        if set(got) - set(hits) or len(hits) < len(accepted):
            self.misses.append(f"{name}: parties {facts.parties}")
        for label, value, want in (
            ("amount", facts.amount_usd, expected.amount),
            ("power", facts.power_mw, expected.power),
            ("chips", facts.chips, expected.chips),
        ):
            right = _same(value, want)
            setattr(self, f"{label}_right", getattr(self, f"{label}_right") + int(right))
            if not right:
                self.misses.append(f"{name}: {label} {value} (expected {want})")
        if expected.places is not None:
            self.places_judged += 1
            if sorted(facts.places) == sorted(expected.places):
                self.places_right += 1
            else:
                self.misses.append(f"{name}: places {facts.places}")

    def summary(self) -> dict[str, object]:
        return {
            "stories": self.stories,
            "party_precision": round(self.correct / max(1, self.predicted), 3),
            "party_recall": round(self.found / max(1, self.expected), 3),
            "amount_accuracy": round(self.amount_right / max(1, self.stories), 3),
            "power_accuracy": round(self.power_right / max(1, self.stories), 3),
            "chips_accuracy": round(self.chips_right / max(1, self.stories), 3),
            "places_accuracy": (
                round(self.places_right / self.places_judged, 3) if self.places_judged else None
            ),
            "misses": self.misses or [],
        }


def _same(value: float | None, want: float | None) -> bool:
    if value is None or want is None:
        return value is None and want is None
    return abs(value - want) <= 0.005 * want


def score_known() -> dict[str, Score]:
    demo = Score()
    for key, reports in demo_reports().items():
        demo.add(key, story_facts(reports), DEMO_EXPECTED[key])
    seeds = Score()
    seeds.add("seeds", story_facts(seed_reports()), SEEDS_EXPECTED)
    dev = Score()
    for index, report in dev_reports().items():
        dev.add(f"dev:{index}", story_facts([report]), DEV_EXPECTED[index])
    return {"demo": demo, "seeds": seeds, "dev": dev}


# ---------------------------------------------------------------------------- the answer keys


@pytest.fixture(scope="module")
def demo() -> dict[str, list[Report]]:
    return demo_reports()


@pytest.mark.parametrize("key", sorted(DEMO_EXPECTED))
def test_demo_deal_facts_match_the_answer_key(demo: dict[str, list[Report]], key: str) -> None:
    facts = story_facts(demo[key])
    want = DEMO_EXPECTED[key]
    assert [p.casefold() for p in facts.parties] == [
        p[0].casefold() for p in sorted(want.parties, key=lambda p: facts_order(facts, p))
    ]
    assert facts.amount_usd == pytest.approx(want.amount) if want.amount else not facts.amount_usd
    assert facts.power_mw == want.power
    assert facts.chips == want.chips
    assert sorted(facts.places) == sorted(want.places or ())
    assert facts.assets == list(want.assets or ())


def facts_order(facts: StoryFacts, party: tuple[str, ...]) -> int:
    folded = [p.casefold() for p in facts.parties]
    names = {n.casefold() for n in party}
    return next((i for i, p in enumerate(folded) if p in names), len(folded))


def test_the_five_seed_reports_give_the_canonical_facts() -> None:
    facts = story_facts(seed_reports())
    assert facts.parties == ["xAI", "Anthropic"]
    assert facts.power_mw == 300
    assert facts.amount_usd is None  # "likely worth billions of dollars" is no value
    assert facts.places == ["Memphis, Tennessee"]
    assert facts.assets == ["Colossus 1"]  # not the sister site Colossus 2


@pytest.mark.parametrize("index", sorted(DEV_EXPECTED))
def test_dev_positives_give_their_parties_and_figures(index: int) -> None:
    report = dev_reports()[index]
    facts = story_facts([report])
    want = DEV_EXPECTED[index]
    got = {p.casefold() for p in facts.parties}
    for party in want.parties:
        assert got & {n.casefold() for n in party}, (party, facts.parties)
    assert len(facts.parties) == len(want.parties), facts.parties
    assert _same(facts.amount_usd, want.amount), facts.amount_usd
    assert _same(facts.power_mw, want.power), facts.power_mw


# ---------------------------------------------------------------------------- behaviour


def _story(*pairs: tuple[str, str]) -> StoryFacts:
    return story_facts([Report(title, summary) for title, summary in pairs])


def test_a_backlog_figure_does_not_outvote_the_deal_value() -> None:
    facts = _story(
        ("Northlake's backlog swells to $9 billion after Microsoft signs on", "No details."),
        ("Microsoft books $6.2 billion of GPU capacity from Northlake Compute", ""),
    )
    assert facts.amount_usd == pytest.approx(6.2e9)


def test_conflicting_amounts_without_a_majority_show_none() -> None:
    facts = _story(
        ("Acme Cloud signs $4 billion GPU deal with Zenlayer Labs", ""),
        ("Zenlayer Labs agrees $7 billion compute contract with Acme Cloud", ""),
    )
    assert facts.amount_usd is None
    facts = _story(
        ("Acme Cloud signs $4 billion GPU deal with Zenlayer Labs", ""),
        ("Zenlayer Labs agrees $7 billion compute contract with Acme Cloud", ""),
        ("Acme Cloud lands $4.1bn contract from Zenlayer Labs", ""),
    )
    assert facts.amount_usd == pytest.approx(4e9)


def test_vague_and_foreign_amounts_are_not_values() -> None:
    assert _story(("Acme Cloud inks deal worth billions of dollars with Zenlayer Labs", "")) == (
        _story(("Acme Cloud inks deal with Zenlayer Labs", ""))
    )
    assert _story(("Acme Cloud signs €2 billion lease with Zenlayer Labs", "")).amount_usd is None


def test_money_in_the_lead_counts_only_near_deal_words() -> None:
    facts = _story(
        (
            "Zenlayer Labs picks Acme Cloud for training capacity",
            "Zenlayer Labs, which reported $300 million in revenue last year, did not say more. "
            "Zenlayer Labs said it had raised $2 billion earlier this year.",
        )
    )
    assert facts.amount_usd is None
    facts = _story(
        (
            "Zenlayer Labs picks Acme Cloud for training capacity",
            "The contract is worth $1.5 billion over three years, Zenlayer Labs said.",
        )
    )
    assert facts.amount_usd == pytest.approx(1.5e9)


def test_a_funding_round_is_the_value_only_when_the_story_is_the_round() -> None:
    facts = _story(
        (
            "Crusoe raises $1.38 billion to build AI data centers",
            "The round, led by Valor Equity Partners, values Crusoe at more than $13 billion.",
        )
    )
    assert facts.amount_usd == pytest.approx(1.38e9)


def test_battery_and_sister_site_power_is_not_the_deal_power() -> None:
    facts = _story(
        (
            "Brightwater to supply power to Corvane's Red Mesa campus",
            "A 200 MW battery is part of the deal, which covers 450 MW of wind and solar power.",
        )
    )
    assert facts.power_mw == 450
    facts = story_facts(
        [
            Report(
                "Zenlayer Labs rents Titan 1 from Acme Cloud",
                "The first phase of Titan 2, about 200 MW, is running. Titan 1 is a 120 MW site "
                "that Acme Cloud will lease to Zenlayer Labs.",
            ),
            Report("Acme Cloud leases its Titan 1 data center to Zenlayer Labs", ""),
        ]
    )
    assert facts.assets == ["Titan 1"]
    assert facts.power_mw == 120


def test_party_variants_merge_into_the_fullest_name() -> None:
    facts = _story(
        ("Northlake lands Microsoft GPU contract", "Northlake Compute will host the GPUs."),
        ("Microsoft signs capacity deal with Northlake Compute", ""),
    )
    assert sorted(facts.parties) == ["Microsoft", "Northlake Compute"]


def test_generic_words_products_headings_and_people_are_not_parties() -> None:
    facts = story_facts(
        [
            Report(
                "Zenlayer Labs buys 20,000 Nvidia GB300 GPUs from Acme Cloud",
                "",
                "Beyond Algorithms: The Rise of AI Infrastructure\n"
                "Zenlayer Labs has agreed to buy AI Capacity from Acme Cloud, chief executive "
                "Alana Voss said. The MW figure was not disclosed.",
            )
        ]
    )
    assert facts.parties == ["Zenlayer Labs", "Acme Cloud"]
    assert facts.chips == 20_000


def test_headline_case_titles_keep_names_and_drop_capitalised_verbs() -> None:
    facts = _story(
        (
            "Kestrel Labs Signs Multi-Year Compute Deal With Orbyte Cloud",
            "Kestrel Labs will rent capacity from Orbyte Cloud over three years.",
        )
    )
    assert facts.parties == ["Kestrel Labs", "Orbyte Cloud"]


def test_places_merge_and_skip_headquarters() -> None:
    facts = _story(
        (
            "Quarry Data Centers leases 36 MW in Ashburn to Pellucid",
            "The Denver-based developer leased the hall at its Ashburn, Virginia campus to "
            "Pellucid, which is headquartered in Boston.",
        )
    )
    assert facts.places == ["Ashburn, Virginia"]


def test_lead_sentences_skip_headings_questions_quotes_and_clutter() -> None:
    text = (
        "Beyond Algorithms: The Rise of AI Infrastructure\n"
        "IS XAI TRANSFORMING INTO A NEOCLOUD?\n"
        "xAI sold its Colossus 1 capacity to Anthropic. Is this the future?\n"
        '"Imagine a giant computer factory," one analyst said.\n'
        "The deal covers about 300 MW of capacity in Memphis.\n"
        "Related articles\n"
        "Fika Jobs raises $4M to build a video-first hiring platform with AI agents."
    )
    assert lead_sentences("", text) == [
        "xAI sold its Colossus 1 capacity to Anthropic.",
        "The deal covers about 300 MW of capacity in Memphis.",
    ]
    assert fact_lead("", text) == "\n".join(lead_sentences("", text))


def test_the_clusterer_reports_agreed_facts_and_keeps_them_across_a_restart() -> None:
    clusterer = StoryClusterer()
    start = datetime(2031, 3, 4, 8, tzinfo=UTC)
    key = ""
    for offset, report in enumerate(seed_reports()):
        assignment = clusterer.add(
            ClusterItem(
                key=f"seed-{offset}",
                title=report.title,
                text=report.text,
                published=start + timedelta(minutes=offset),
                source=f"outlet {offset}",
            )
        )
        key = assignment.story_key
    facts = clusterer.facts(key)
    assert facts.parties == ["xAI", "Anthropic"]
    assert facts.power_mw == 300
    assert facts.places == ["Memphis, Tennessee"]
    state = clusterer.export_state(key)
    restored = StoryClusterer()
    restored.restore(key, json.loads(json.dumps(state)))
    assert restored.facts(key) == facts
    # A state written before member leads were kept (six member fields) still restores.
    for member in state["members"]:
        del member[6:]
    older = StoryClusterer()
    older.restore(key, state)
    assert older.facts(key).parties == ["xAI", "Anthropic"]


def _print(scores: Sequence[tuple[str, Score]]) -> None:
    print(json.dumps({name: score.summary() for name, score in scores}, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    _print(list(score_known().items()))


def test_a_possessive_region_after_a_comma_names_an_owner_not_a_city() -> None:
    """ "AMD, Saudi Arabia's Humain": two parties, not a city "AMD" in Saudi Arabia; "Abilene,
    Texas" stays a place."""
    facts = story_facts(
        [Report("AMD, Saudi Arabia's Humain to invest $10 billion in AI infrastructure", "")]
    )
    assert [p.casefold() for p in facts.parties] == ["amd", "humain"]
    assert not any("AMD" in place for place in facts.places)
    city = story_facts([Report("Crusoe expands its campus in Abilene, Texas to 1.2 GW", "")])
    assert city.places == ["Abilene, Texas"]
    assert [p.casefold() for p in city.parties] == ["crusoe"]
