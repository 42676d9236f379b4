"""How deep a query may nest: a rule file nesting deeper than MAX_NESTING levels (300 parentheses,
a [define] chain of 250 names) is a RuleError naming the file, the rule or definition and the
column, found while parsing; before, it crashed newsbot check, match and poll with a
RecursionError traceback. A query at the limit parses, matches, is explained and pickled."""

from __future__ import annotations

import inspect
import pickle
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.matcher import RuleError, RuleSet, parse_rules
from bot.matcher.document import Document
from bot.matcher.syntax import MAX_NESTING, Parser
from bot.model.match import MatchItem

TOO_DEEP = f"expected at most {MAX_NESTING} levels of nesting"


def rule_file(query: str, defines: dict[str, str] | None = None) -> str:
    table = "".join(f"{name} = '''{text}'''\n" for name, text in (defines or {}).items())
    return (f"[define]\n{table}" if table else "") + (
        f"[[rule]]\nname = 'deep'\nquery = '''{query}'''\n"
    )


def nested(levels: int, inner: str = "gpu") -> str:
    return "(" * levels + inner + ")" * levels


def chain(length: int) -> dict[str, str]:
    """d1 = 'gpu', d2 = '@d1', ...: each name defined through the previous one."""
    return {"d1": "gpu", **{f"d{i}": f"@d{i - 1}" for i in range(2, length + 1)}}


def error_of(text: str) -> str:
    with pytest.raises(RuleError) as raised:
        parse_rules(text, "deep.toml")
    return str(raised.value)


# -- too deep: one RuleError, not a RecursionError -------------------------------------------


def test_300_nested_parentheses_are_a_rule_error_at_the_first_level_too_many() -> None:
    message = error_of(rule_file(nested(300)))
    assert message == (
        f"deep.toml: rule 'deep', column {MAX_NESTING + 1}: {TOO_DEEP} "
        "(each '(', NOT, '-' and @name is one), got a query that nests deeper"
    )


def test_a_define_chain_of_250_names_is_a_rule_error_naming_the_first_too_deep() -> None:
    """Each @name is a level: d66 reaches d1 through 65 names (@d65 ... @d1), one too many."""
    message = error_of(rule_file("@d250", chain(250)))
    too_deep = MAX_NESTING + 2
    assert message == (
        f"deep.toml: define 'd{too_deep}', column 1: {TOO_DEEP} "
        f"(each '(', NOT, '-' and @name is one), got a query that nests deeper "
        f"(through @d{too_deep - 1})"
    )


def test_a_definition_parsed_for_one_rule_counts_again_where_another_nests_it() -> None:
    """The second rule reuses @deep's parsed node: its levels still count there."""
    deep = nested(MAX_NESTING - 2)
    text = (
        f"[define]\ndeep = '{deep}'\n"
        "[[rule]]\nname = 'shallow'\nquery = '@deep'\n"
        "[[rule]]\nname = 'nested'\nquery = 'deal (lease (@deep))'\n"
    )
    message = error_of(text)
    assert message.startswith(f"deep.toml: rule 'nested', column 14: {TOO_DEEP} "), message
    assert message.endswith("got a query that nests deeper (through @deep)"), message


@pytest.mark.parametrize(
    ("query", "column"),
    [
        ("gpu " + "NOT " * 300 + "lease", 5 + 4 * MAX_NESTING),
        ("gpu " + "-" * 300 + "lease", 5 + MAX_NESTING),
        ("NEAR/3(" + nested(300) + " deal)", 7 + MAX_NESTING),
        ("gpu " + "-(" * 300 + "lease" + ")" * 300, 5 + MAX_NESTING),
    ],
    ids=["NOT", "minus", "NEAR groups", "-( )"],
)
def test_every_kind_of_nesting_counts(query: str, column: int) -> None:
    message = error_of(rule_file(query))
    assert message.startswith(f"deep.toml: rule 'deep', column {column}: {TOO_DEEP} "), message


def test_a_near_operand_chain_of_definitions_is_a_rule_error() -> None:
    defines = {"n1": "gpu*", **{f"n{i}": f"@n{i - 1}" for i in range(2, 251)}}
    message = error_of(rule_file("deal NEAR/3(@n250 lease)", {**defines, "n0": "x"}))
    assert TOO_DEEP in message and "(through @n" in message, message


def test_a_thousand_field_prefixes_are_a_syntax_error_not_a_deep_lexer() -> None:
    message = error_of(rule_file("title:" * 1000 + "gpu"))
    assert message == (
        "deep.toml: rule 'deep', column 7: expected no second field inside title:, got 'title:'"
    )


# -- at the limit: parses, matches, explains, pickles ---------------------------------------


def test_a_query_at_the_limit_parses_and_matches() -> None:
    rules = parse_rules(rule_file(nested(MAX_NESTING, "gpu lease")), "deep.toml")
    assert rules.match(MatchItem(title="GPU lease signed", summary="")).relevant
    assert not rules.match(MatchItem(title="GPU sale signed", summary="")).hits


def test_a_define_chain_at_the_limit_parses_and_matches() -> None:
    """The rule's @d64 is one level, and each of d64 ... d2 another: 64."""
    rules = parse_rules(rule_file(f"@d{MAX_NESTING}", chain(MAX_NESTING)), "deep.toml")
    assert rules.match(MatchItem(title="Nvidia GPU deal", summary="")).relevant
    with pytest.raises(RuleError, match=TOO_DEEP):
        parse_rules(rule_file(f"(@d{MAX_NESTING})", chain(MAX_NESTING)), "deep.toml")


def alternating(levels: int) -> str:
    """`(x0 OR y0 (x1 OR y1 (... gpu)))`: an OR and an AND node a level, the deepest tree a
    query at the limit can build."""
    query = "gpu"
    for level in reversed(range(levels)):
        query = f"(x{level} OR y{level} {query})"
    return query


def test_a_query_at_the_limit_is_matched_explained_and_pickled_within_a_bounded_stack() -> None:
    """Every walk of the deepest tree a query at the limit builds fits in 700 frames, well
    inside Python's limit of 1,000 whatever the caller's stack holds."""
    words = " ".join(f"y{level}" for level in range(MAX_NESTING))
    hit = MatchItem(title=f"{words} gpu", summary="")
    miss = MatchItem(title=words, summary=words)
    text = rule_file(alternating(MAX_NESTING))

    def parse() -> RuleSet:
        return parse_rules(text, "deep.toml")

    operations: dict[str, Callable[[], object]] = {
        "parse": parse,
        "match": lambda: parse().match(hit),
        "match in the text": lambda: parse().match(MatchItem(title="", summary="", text=hit.title)),
        "match every rule": lambda: parse().match_document(Document(hit)),
        "nearest": lambda: parse().nearest(miss),
        "pickle": lambda: pickle.loads(pickle.dumps(parse())),
    }
    frames = len(inspect.stack(0))
    limit = sys.getrecursionlimit()
    try:
        sys.setrecursionlimit(frames + 700)
        for operation in operations.values():
            operation()
    finally:
        sys.setrecursionlimit(limit)
    rules = parse()
    assert rules.match(hit).hits[0].terms[-1] == "gpu"
    nearest = rules.nearest(miss)
    assert nearest is not None and nearest.lacks
    assert pickle.loads(pickle.dumps(rules)).match(hit).relevant


def test_the_default_rules_nest_far_below_the_limit() -> None:
    """The margin MAX_NESTING leaves over the rules we ship: they use a quarter of it at most."""
    path = Path(__file__).resolve().parents[1] / "config" / "rules" / "compute-deals.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    macros: dict[str, str] = data["define"]
    deepest = 0
    for raw in data["rule"]:
        parser = Parser(raw["query"], macros)
        parser.parse()
        deepest = max(deepest, parser.deepest)
    assert 0 < deepest <= MAX_NESTING // 4


# -- as an operator meets it ---------------------------------------------------------------


def test_newsbot_check_reports_a_too_deep_rule_file_in_one_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(rule_file(nested(300)), encoding="utf-8")
    config = tmp_path / "newsbot.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\nrules = "{rules}"\n'
        '[[feeds]]\nurl = "http://127.0.0.1:9/feed.xml"\n',
        encoding="utf-8",
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "-c", str(config), "check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output and "RecursionError" not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines == [
        f"newsbot: rules error: {rules}: rule 'deep', column {MAX_NESTING + 1}: {TOO_DEEP} "
        "(each '(', NOT, '-' and @name is one), got a query that nests deeper"
    ], output


def test_a_huge_rule_file_is_refused_unread(tmp_path: Path) -> None:
    from bot.matcher import load_rules

    huge = tmp_path / "rules.toml"
    with huge.open("wb") as file:
        file.truncate(5 * 1024 * 1024)  # sparse: 5 MiB of zero bytes
    with pytest.raises(RuleError) as info:
        load_rules(huge)
    assert str(info.value) == f"{huge}: expected a rule file, got more than 4 MiB"
