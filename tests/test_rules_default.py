"""Acceptance of the default compute-deal rules on shared and team-written data.

Data: ../shared/data/relevance/dev.jsonl (labelled compute-deal items), ../shared/seeds/ (five
reports of one deal, with page clutter), ../shared/data/stories/uci_dev.jsonl (2014 headlines, all
negatives) and tests/data/relevance_extra.jsonl (positives and near misses written by the team).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.config.settings import packaged_rules_path
from bot.matcher import RuleSet, load_rules
from bot.matcher.document import lead_paragraph
from bot.model.match import MatchItem

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEFAULT_RULES = ROOT / "config" / "rules" / "compute-deals.toml"
PACKAGED_RULES = ROOT / "bot" / "config" / "compute-deals.toml"
SEEDS = sorted((SHARED / "seeds").glob("*.txt"))

needs_shared = pytest.mark.skipif(
    not (SHARED / "data").is_dir(), reason="../shared/data (evaluation data) is not present"
)


@pytest.fixture(scope="module")
def rules() -> RuleSet:
    return load_rules(DEFAULT_RULES)


def _jsonl(path: Path) -> list[dict[str, Any]]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [row for row in rows if "note" not in row]


def _item(row: dict[str, Any]) -> MatchItem:
    return MatchItem(title=row["title"], summary=row.get("summary") or "")


def _failures(rules: RuleSet, rows: list[dict[str, Any]]) -> list[str]:
    wrong = []
    for row in rows:
        result = rules.match(_item(row))
        if result.relevant != row["relevant"]:
            wrong.append(f"{row['id']} expected {row['relevant']}: {row['title']} ({result})")
    return wrong


def test_packaged_copy_is_identical_to_the_repository_rules() -> None:
    assert PACKAGED_RULES.read_bytes() == DEFAULT_RULES.read_bytes()
    assert packaged_rules_path().read_bytes() == DEFAULT_RULES.read_bytes()


@needs_shared
def test_dev_set_every_positive_and_no_negative(rules: RuleSet) -> None:
    rows = _jsonl(SHARED / "data" / "relevance" / "dev.jsonl")
    assert {row["relevant"] for row in rows} == {True, False}
    assert _failures(rules, rows) == []


def test_team_written_examples(rules: RuleSet) -> None:
    rows = _jsonl(ROOT / "tests" / "data" / "relevance_extra.jsonl")
    assert len(rows) >= 40
    assert sum(row["relevant"] for row in rows) >= 20
    assert _failures(rules, rows) == []


@needs_shared
def test_at_most_half_a_percent_of_general_news_headlines(rules: RuleSet) -> None:
    rows = _jsonl(SHARED / "data" / "stories" / "uci_dev.jsonl")
    relevant = [row["title"] for row in rows if rules.match(_item(row)).relevant]
    assert len(relevant) <= 0.005 * len(rows), relevant


def _seed(path: Path) -> tuple[str, str]:
    title, _, body = path.read_text(encoding="utf-8").partition("\n")
    return title.strip(), body


@needs_shared
@pytest.mark.parametrize("path", SEEDS, ids=lambda p: p.name[:3])
def test_seed_reports_are_relevant_in_every_feed_shape(rules: RuleSet, path: Path) -> None:
    title, body = _seed(path)
    first_line = body.strip().splitlines()[0]
    shapes = {
        "title + first paragraph": MatchItem(title=title, summary=lead_paragraph(body)),
        "title + full text as summary": MatchItem(title=title, summary=body),
        "title + full text": MatchItem(title=title, text=body),
        "title + dek + full text": MatchItem(title=title, summary=first_line, text=body),
    }
    for shape, item in shapes.items():
        result = rules.match(item)
        assert result.relevant, (shape, result)
        assert "compute-deal" in result.rules


def _related_teasers(body: str) -> list[tuple[str, str]]:
    after = body.split("Related articles", 1)[1].strip().splitlines()
    return [(after[i], after[i + 1] if i + 1 < len(after) else "") for i in range(0, len(after), 2)]


@needs_shared
def test_related_article_teasers_are_not_relevant_on_their_own(rules: RuleSet) -> None:
    (seed,) = [path for path in SEEDS if path.name.startswith("003")]
    teasers = _related_teasers(_seed(seed)[1])
    assert any(title.startswith("Fika Jobs") for title, _ in teasers)
    for title, summary in teasers:
        result = rules.match(MatchItem(title=title, summary=summary))
        assert not result.relevant, (title, result)
        assert result.score == 0, (title, result)


def test_clutter_in_full_text_alone_cannot_make_an_item_relevant(rules: RuleSet) -> None:
    clutter = (
        "Related articles\nMicrosoft signs $10 billion GPU capacity deal with Nebius\n"
        "Oracle leases 1 GW data center campus to OpenAI in $30 billion contract\n"
        "CoreWeave agrees to buy Core Scientific in $9 billion deal\n"
    )
    body = "The festival returns this summer with three stages and more food stalls than ever.\n"
    item = MatchItem(title="City festival announces lineup", summary="", text=body + clutter)
    result = rules.match(item)
    assert result.hits, "text evidence should still be reported"
    assert 0 < result.score < rules.threshold
    assert not result.relevant


@pytest.mark.parametrize(
    "teaser",
    [
        "Miley Cyrus fan arrested after sneaking into dressing room.",
        "Hackers allege exchange head controls stolen Bitcoin; fraud committed.",
        "Chipmaker beats estimates as quarterly earnings jump.",
    ],
)
def test_a_teaser_in_a_description_only_feed_does_not_exclude_the_deal(
    rules: RuleSet, teaser: str
) -> None:
    """Feeds that give only a description have the whole body as summary and text; the noise
    exclusions judge the item by its lead paragraph, not by the headlines around it."""
    lead = (
        "Lambda will provide Microsoft with 57,000 GPUs (650 MW) of AI infrastructure in "
        "Arizona under a 5-year agreement valued at about $25 billion, the companies said."
    )
    text = f"{lead}\n{teaser} Read more about it here.\nRead more »"
    item = MatchItem(
        title="Microsoft signs $25 billion deal for 650 MW of AI compute from Lambda",
        summary=text.replace("\n", " "),
        text=text,
    )
    assert rules.match(item).relevant
    # The same words in the lead exclude an item whose headline names no deal: the lead is then
    # all there is to judge it by. Under a headline that names the deal, they are what deal
    # reports say in passing ("...said alongside its quarterly results"; relevance/deals_dev).
    noisy = f"{lead} {teaser}\nRead more »"
    vague = MatchItem(title="Lambda and Microsoft", summary=noisy.replace("\n", " "), text=noisy)
    assert not rules.match(vague).relevant
    deal_headline = MatchItem(title=item.title, summary=noisy.replace("\n", " "), text=noisy)
    assert rules.match(deal_headline).relevant
