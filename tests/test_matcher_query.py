"""The rule query language: every syntax element, precedence, scopes and error columns."""

from __future__ import annotations

import pytest

from bot.matcher import RuleError, RuleSet, parse_rules
from bot.model.match import MatchItem, MatchResult


def ruleset(
    query: str, *, weight: float = 1.0, threshold: float = 1.0, defines: str = ""
) -> RuleSet:
    define_table = f"[define]\n{defines}\n" if defines else ""
    text = (
        f"threshold = {threshold}\n{define_table}[[rule]]\nname = 'r'\n"
        f"query = '''{query}'''\nweight = {weight}\n"
    )
    return parse_rules(text, "test.toml")


def run(query: str, title: str, summary: str = "", **fields: str) -> MatchResult:
    item = MatchItem(title=title, summary=summary, **fields)  # type: ignore[arg-type]
    return ruleset(query).match(item)


def matches(query: str, title: str, summary: str = "", **fields: str) -> bool:
    return bool(run(query, title, summary, **fields).hits)


# -- terms, folding, inflections -----------------------------------------------------------


def test_words_are_case_insensitive_and_accent_folded() -> None:
    assert matches("societe", "SOCIÉTÉ Générale finances campus")
    assert matches("Société", "societe generale finances campus")


def test_words_match_on_word_boundaries() -> None:
    assert matches("gpu", "Nvidia GPU deal")
    assert not matches("gpu", "GPUaaS startup")
    assert not matches("lease", "release notes")


def test_plurals_and_inflections_match() -> None:
    assert matches("lease", "Cipher leased capacity")
    assert matches("leases", "Cipher is leasing capacity")
    assert matches("buy", "CoreWeave bought Core Scientific")
    assert matches("gpu", "200,000 GPUs")


def test_phrases_need_adjacent_words_in_order() -> None:
    assert matches('"data center"', "New data centers in Texas")
    assert matches('"data center"', "A data-center deal")
    assert not matches('"data center"', "center for data science")
    assert not matches('"data center"', "data and the center")


def test_prefix_wildcards_alone_and_in_phrases() -> None:
    assert matches("gigawatt*", "a 2-gigawatts campus")
    assert matches("mi3*", "AMD MI300X order")
    assert not matches("giga*", "a megawatt campus")
    assert matches('"data cent*"', "European data centres")
    assert matches("lease*", "leasing capacity")  # inflections of the prefix itself


def test_hyphenated_term_is_a_phrase() -> None:
    assert matches("multi-year", "a multi year deal")
    assert not matches("multi-year", "multi purpose year")


# -- boolean logic and precedence ----------------------------------------------------------


def test_and_is_implicit_and_explicit() -> None:
    assert matches("gpu deal", "GPU deal")
    assert not matches("gpu deal", "GPU shortage")
    assert matches("gpu AND deal", "deal for GPUs")


def test_or_and_parentheses() -> None:
    assert matches("(lease OR buy) gpu", "Microsoft buys GPUs")
    assert not matches("(lease OR buy) gpu", "Microsoft buys chips")


def test_and_binds_tighter_than_or() -> None:
    query = "nvidia OR gpu deal"
    assert matches(query, "Nvidia news")
    assert matches(query, "GPU deal signed")
    assert not matches(query, "GPU shortage")


def test_not_and_minus_exclude() -> None:
    for query in ("gpu -earnings", "gpu NOT earnings", "gpu AND NOT earnings"):
        assert matches(query, "GPU deal")
        assert not matches(query, "GPU earnings beat")
    assert not matches("gpu -(earnings OR layoffs)", "GPU layoffs")


def test_lowercase_operators_are_words() -> None:
    assert not matches("gpu or deal", "a deal")
    assert matches("gpu or deal", "gpu or deal")


# -- fields ------------------------------------------------------------------------------


def test_field_scopes() -> None:
    assert matches("title:deal", "GPU deal", "nothing")
    assert not matches("title:deal", "GPU news", "a deal")
    assert matches("summary:deal", "GPU news", "a deal")
    assert matches("title:(lease OR buy)", "Meta leases campus")
    assert matches('title:"data center"', "New data center")
    assert matches("source:reuters", "x", source="Reuters")
    assert matches("url:datacenterdynamics", "x", url="https://www.datacenterdynamics.com/en/news/")
    assert matches("author:smith", "x", author="Jane Smith")
    assert matches("category:infrastructure", "x", categories=["AI Infrastructure"])  # type: ignore[arg-type]
    assert matches("text:colossus", "x", text="About Colossus 1 and more.")


def test_field_scoped_exclusion() -> None:
    assert matches("gpu -title:earnings", "GPU deal", "earnings call mention")
    assert not matches("gpu -title:earnings", "GPU earnings", "")


# -- proximity ---------------------------------------------------------------------------


def test_near_counts_words_between_in_any_order() -> None:
    query = 'NEAR/3(lease "data center")'
    assert matches(query, "Meta will lease a big new data center")
    assert matches(query, "data center space to lease")
    assert not matches(query, "lease of a very big and new data center")


def test_near_with_groups_and_three_operands() -> None:
    query = "NEAR/4((buy OR lease) gpu* nvidia)"
    assert matches(query, "Oracle to buy Nvidia GPUs")
    assert not matches(query, "Oracle to buy chips; later, in another story entirely, Nvidia GPUs")


def test_near_does_not_cross_fields() -> None:
    assert not matches("NEAR/2(lease gpu)", "lease", "gpu")


def test_near_places_a_quantity_as_the_words_of_its_figure() -> None:
    query = "NEAR/3(chips>=1000 (buy OR order*))"
    assert matches(query, "Humain orders 18,000 Nvidia GB300 chips")
    assert matches(query, "18,693 GPUs the ministry will buy")
    assert matches(query, "plans to buy up to 4,000-GPU clusters")
    assert not matches(query, "Humain orders 16 GB300 chips")  # the comparison still holds
    assert not matches(query, "Humain orders more racks after a year of talks, then 18,000 GPUs")
    assert not matches(query, "Humain orders", "18,000 GB300 chips")  # not across fields
    result = run(query, "Humain orders 18,000 Nvidia GB300 chips")
    assert result.hits[0].terms == (
        "NEAR/3(chips>=1000 (buy OR order*)) (18,000 Nvidia GB300 chips … orders)",
    )


def test_near_tells_a_retail_price_from_a_contract_value() -> None:
    query = 'NEAR/2(amount<=5000 (off OR "drops to" OR discount*))'
    assert matches(query, "This RTX 4090 gaming laptop is $700 off at Best Buy")
    assert matches(query, "RTX 4070 Super drops to $549 in early Black Friday GPU deal")
    assert not matches(query, "xAI pays $700 million for GPUs, a discount to list prices")
    assert not matches(query, "GPU maker's shares are $700 after a 5% drop")


def test_pre_wants_its_operands_in_the_order_written() -> None:
    query = "PRE/1(for (anthropic OR openai))"
    assert matches(query, "AWS unveils a Trainium2 cluster for Anthropic")
    assert matches(query, "A cluster built for the OpenAI team")
    assert not matches(query, "Anthropic researchers for a new team")
    assert not matches(query, "A cluster for a lab called Anthropic")
    query = "PRE/4((buy OR acquire*) startup*)"
    assert matches(query, "Nvidia acquires synthetic data startup Gretel")
    assert not matches(query, "The startup buys more GPUs")
    # Three operands: each after the previous, within the words allowed between all of them.
    assert matches("PRE/2(to train on)", "OpenAI to train its models on TPUs")
    assert not matches("PRE/2(to train on)", "OpenAI to train its largest models on TPUs")
    assert not matches("PRE/2(to train on)", "on TPUs, to train")


def test_named_alternatives_inside_near() -> None:
    defines = "buyer = 'buy* OR order* OR \"to use\" OR (deploy* OR install*)'"
    rules = ruleset("NEAR/4(chips>=1000 @buyer)", defines=defines)
    assert rules.match(MatchItem(title="Mistral to deploy 18,000 Grace Blackwell GPUs")).hits
    assert rules.match(MatchItem(title="Meta to use 350,000 H100s")).hits
    far = "Meta to use Llama 3, a model that it trained on 350,000 H100s"
    assert not rules.match(MatchItem(title=far)).hits
    with pytest.raises(RuleError) as caught:
        ruleset("NEAR/4(chips>=1000 @buyer)", defines="buyer = 'buy AND order'")
    assert "expected a @buyer that NEAR can use" in str(caught.value)
    assert "expected OR or the end" in str(caught.value)


# -- regular expressions -----------------------------------------------------------------


def test_regex_on_folded_text() -> None:
    assert matches("/gb[23]00/", "Nvidia GB300 racks")
    assert not matches("/gb[23]00/", "Nvidia GB100 racks")
    assert matches(r"/\d+\s?mw/", "a 300 MW campus")


@pytest.mark.timeout(60)
def test_regex_cannot_backtrack_catastrophically() -> None:
    # With a backtracking engine this search would run for longer than the universe has existed
    # (the timeout turns that into a failure); RE2 answers in linear time.
    rules = ruleset("/(a+)+$/ OR /(x+x+)+y/")
    assert not rules.match(MatchItem(title="a" * 5000 + "!", summary="x" * 5000)).hits


# -- quantities --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "text", "expected"),
    [
        ("power>=100MW", "Cipher will deliver 300 MW to AWS", True),
        ("power>=100MW", "a 50 MW site", False),
        ("power>=1GW", "about 1.3 gigawatts of capacity", True),
        ("power>1300", "about 1.3 gigawatts of capacity", False),
        ("power<=50MW", "a 50 MW site", True),
        ("amount>=1B", "a $17.4 billion agreement", True),
        ("amount>=1B", "a $350 million stake", False),
        ("amount>=$500M", "a €1.2 billion loan", True),
        ("amount>=1bn", "worth billions of dollars", True),
        ("amount<1B", "worth billions of dollars", False),
        ("chips>=100k", "200,000 GPUs", True),
        ("gpus>=100000", "hundreds of thousands of Nvidia GPUs", True),
        ("chips>=1000", "a multibillion-dollar deal", False),
        ("amount=350M", "a $350 million stake", True),
    ],
)
def test_quantity_comparisons(query: str, text: str, expected: bool) -> None:
    assert matches(query, text) is expected


def test_quantities_in_explanations() -> None:
    result = run("power>=100MW lease", "Cipher signs lease", "300 MW of capacity")
    (hit,) = result.hits
    assert "power>=100MW (300 MW)" in hit.terms


# -- definitions -------------------------------------------------------------------------


def test_defines_are_reusable_and_scoped() -> None:
    defines = "compute = 'gpu* OR \"data center*\"'\ndeal = 'lease* OR buy'"
    rules = ruleset("title:@compute AND @deal", defines=defines)
    assert rules.match(MatchItem(title="GPU lease"))
    assert rules.match(MatchItem(title="Data centers", summary="to buy")).hits
    assert not rules.match(MatchItem(title="Chips", summary="GPU lease")).hits


# -- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "column", "expected", "got"),
    [
        ("gpu OR", 7, "a term after 'OR'", "end of query"),
        ("(gpu deal", 10, "')' to close the '(' at column 1", "end of query"),
        ("gpu deal)", 9, "an operator or the end of the query", "')'"),
        ("title:", 7, "a term after 'title:'", "end of query"),
        ("gpu titel:deal", 5, "a field (title, summary", "'titel:'"),
        ('gpu "data center', 5, "a closing '\"'", "end of query"),
        ("gpu /(a/", 5, "a valid RE2 regular expression", "'/(a/'"),
        ("gpu /abc", 5, "a closing '/'", "end of query"),
        ("gpu - deal", 5, "a term right after '-'", "a space"),
        ("NEAR/3(gpu)", 11, "at least two operands", "')'"),
        ("NEAR/x(gpu deal)", 1, "NEAR/<number>", "'NEAR/x'"),
        ("NEAR/3 (gpu deal)", 8, "'(' right after NEAR/3", "'('"),
        ("PRE/x(gpu deal)", 1, "PRE/<number>", "'PRE/x'"),
        ("gpu*deal", 1, "'*' only at the end", "'gpu*deal'"),
        ("g*", 1, "at least 2 letters before '*'", "'g*'"),
        ("power>=12XW", 8, "a power such as 100MW", "'12XW'"),
        ("size>=5", 1, "a quantity name", "'size>=5'"),
        ("power >= 5MW", 7, "write comparisons without spaces", "'>='"),
        ("@nope", 1, "a name from [define]", "'@nope'"),
        ("-earnings", 1, "at least one term that must be present", "a query that needs no term"),
        ("title:summary:x", 7, "no second field inside title:", "'summary:'"),
        ("", 1, "a term", "an empty query"),
    ],
)
def test_errors_name_the_rule_column_and_expectation(
    query: str, column: int, expected: str, got: str
) -> None:
    with pytest.raises(RuleError) as caught:
        ruleset(query)
    message = str(caught.value)
    assert message.startswith(f"test.toml: rule 'r', column {column}: expected "), message
    assert expected in message
    assert f", got {got}" in message
