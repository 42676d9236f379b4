"""Scoring, explanation, thresholds, rule files and the prefilter's faithfulness."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from bot.matcher import RuleError, RuleSet, load_rules, parse_rules
from bot.matcher.document import Document, lead_paragraph
from bot.matcher.nodes import FULL_SCOPE
from bot.model.match import MatchItem

RULES = """
threshold = 1.0
[define]
compute = 'gpu* OR "data center*"'
[[rule]]
name = "compute-deal"
query = '@compute AND (deal OR lease*)'
weight = 1.0
[[rule]]
name = "earnings-penalty"
query = 'title:earnings'
weight = -2
"""


@pytest.fixture
def rules() -> RuleSet:
    return parse_rules(RULES, "rules.toml")


def test_title_hits_count_more_than_summary_hits(rules: RuleSet) -> None:
    in_title = rules.match(MatchItem(title="GPU lease signed", summary=""))
    split = rules.match(MatchItem(title="GPU news", summary="a lease was signed"))
    in_summary = rules.match(MatchItem(title="News", summary="a GPU lease was signed"))
    assert in_title.score == 1.5
    assert split.score == 1.0
    assert in_summary.score == 1.0
    assert in_title.relevant and split.relevant and in_summary.relevant


def test_explanation_names_rule_terms_and_fields(rules: RuleSet) -> None:
    result = rules.match(MatchItem(title="Data centers", summary="Meta is leasing them"))
    (hit,) = result.hits
    assert hit.rule == "compute-deal"
    assert hit.weight == 1.0
    assert hit.terms == ('"data center*" (data centers)', "lease* (leasing)")
    assert hit.fields == ("title", "summary")
    assert result.rules == ["compute-deal"]


def test_negative_weight_rules_lower_the_score(rules: RuleSet) -> None:
    result = rules.match(MatchItem(title="GPU lease and earnings"))
    assert result.score == pytest.approx(1.5 - 3.0)
    assert not result.relevant
    assert [hit.rule for hit in result.hits] == ["compute-deal", "earnings-penalty"]


def test_threshold_from_file_and_override(rules: RuleSet) -> None:
    item = MatchItem(title="News", summary="a GPU lease")
    assert rules.match(item).relevant
    strict = rules.with_threshold(1.2)
    assert strict.threshold == 1.2
    assert not strict.match(item).relevant
    assert rules.with_threshold(None) is rules


def test_full_text_is_weak_evidence_and_capped(rules: RuleSet) -> None:
    text = "Opening paragraph about a concert in the park with music and food for everyone.\n"
    text += "Related: GPU lease deal\nRelated: data center deal\n"
    result = rules.match(MatchItem(title="Concert", text=text))
    assert result.hits and result.hits[0].fields == ("text",)
    assert 0 < result.score <= 0.5
    assert not result.relevant


def test_lead_paragraph_of_text_counts_like_a_summary(rules: RuleSet) -> None:
    text = (
        "By a reporter\nMeta agreed to lease a data center from a neocloud for ten years today.\n"
    )
    assert lead_paragraph(text).startswith("Meta agreed")
    result = rules.match(MatchItem(title="Big news", text=text))
    assert result.score == 1.0
    assert result.relevant


def test_exclusions_look_at_summary_but_not_full_text() -> None:
    rules = parse_rules("[[rule]]\nname='r'\nquery='gpu deal -earnings'\n", "r.toml")
    lead = "Microsoft signs a GPU deal with a neocloud for five years of capacity in Texas.\n"
    assert not rules.match(MatchItem(title="GPU deal", summary="earnings beat")).hits
    clutter = lead + "Related articles\nNvidia earnings beat estimates\n"
    assert rules.match(MatchItem(title="GPU deal", text=clutter)).relevant


def test_disabled_rules_are_validated_but_not_run() -> None:
    text = "[[rule]]\nname='on'\nquery='gpu'\n[[rule]]\nname='off'\nquery='deal'\nenabled=false\n"
    rules = parse_rules(text, "r.toml")
    assert [rule.name for rule in rules.rules] == ["on"]
    with pytest.raises(RuleError, match="rule 'off', column 1"):
        parse_rules(text.replace("query='deal'", "query='OR'"), "r.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "threshold = 'high'\n[[rule]]\nname='r'\nquery='x'",
            "r.toml: threshold: expected a number, got 'high'",
        ),
        (
            "[[rule]]\nname='r'\nquery='x'\nweight='heavy'",
            "r.toml: rule 'r', key 'weight': expected a number, got 'heavy'",
        ),
        (
            "[[rule]]\nname='r'\nqueri='x'",
            "r.toml: rule 'r': expected only the keys name, query, weight, description, "
            "enabled, got 'queri'",
        ),
        ("[[rule]]\nname='r'", "r.toml: rule 'r', key 'query': expected a query string, got None"),
        ("[[rule]]\nquery='x'", "r.toml: rule #1: expected a name, got None"),
        (
            "[[rule]]\nname='r'\nquery='x'\n[[rule]]\nname='r'\nquery='y'",
            "r.toml: rule 'r': expected a unique name",
        ),
        ("threshold = 1", "r.toml: expected at least one [[rule]] table, got none"),
        ("rules = []", "r.toml: expected only the keys threshold, define, rule, got 'rules'"),
        (
            "[define]\nc = 'gpu OR'\n[[rule]]\nname='r'\nquery='@c'",
            "r.toml: define 'c', column 7: expected a term after 'OR'",
        ),
        (
            "[define]\nc = '@c'\n[[rule]]\nname='r'\nquery='@c'",
            "r.toml: define 'c', column 1: expected a definition that does not refer to itself",
        ),
        ("[[rule]\nname='r'", "r.toml: expected valid TOML, got a syntax error"),
    ],
)
def test_rule_file_errors(text: str, message: str) -> None:
    with pytest.raises(RuleError) as caught:
        parse_rules(text, "r.toml")
    assert str(caught.value).startswith(message), str(caught.value)


def test_load_rules_from_disk_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(RULES, encoding="utf-8")
    assert len(load_rules(path).rules) == 2
    with pytest.raises(RuleError, match=r"nope\.toml: expected a readable rule file"):
        load_rules(tmp_path / "nope.toml")
    path.write_bytes(b"\xff\xfe[[rule]]")
    with pytest.raises(RuleError, match="expected UTF-8 text"):
        load_rules(path)


VOCABULARY = [
    *(
        [
            "gpu",
            "gpus",
            "data",
            "center",
            "centers",
            "lease",
            "leasing",
            "leased",
            "deal",
            "deals",
            "nvidia",
            "meta",
            "power",
        ]
    ),
    *(
        [
            "300",
            "MW",
            "$2",
            "billion",
            "earnings",
            "campus",
            "datacentres",
            "gigawatts",
            "amd",
            "mi300x",
            "chips",
        ]
    ),
    *(["20,000", "GPUs", "the", "a", "of"]),
]
QUERIES = [
    "gpu* (deal OR lease*) -earnings",
    '"data center*" OR datacentre*',
    "NEAR/3(lease* (gpu OR center))",
    "title:nvidia OR summary:meta",
    "power>=100MW deal",
    "amount>=1B OR chips>=10k",
    "/mi3\\d\\dx/",
    "gigawatt* -title:earnings",
    "campus NOT (amd OR nvidia)",
]


def test_prefilter_never_changes_a_result() -> None:
    text = "\n".join(
        f"[[rule]]\nname='q{i}'\nquery='''{query}'''" for i, query in enumerate(QUERIES)
    )
    rules = parse_rules(text, "random.toml")
    rng = random.Random(5)
    for _ in range(400):
        item = MatchItem(
            title=" ".join(rng.choices(VOCABULARY, k=rng.randint(1, 8))),
            summary=" ".join(rng.choices(VOCABULARY, k=rng.randint(0, 12))),
        )
        doc = Document(item)
        expected = {rule.name for rule in rules.rules if rule.node.matches(doc, FULL_SCOPE)}
        assert set(rules.match(item).rules) == expected, item
    assert rules.match_many([MatchItem(title="GPU deal")])[0].rules == ["q0"]
