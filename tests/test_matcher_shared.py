"""Sub-queries shared by the rules of a rule set are one node, evaluated once per item and scope."""

from __future__ import annotations

import json
import pickle
import tomllib
from pathlib import Path

from bot.matcher import RuleSet, parse_rules
from bot.matcher.document import Document
from bot.matcher.nodes import And, Not
from bot.matcher.rules import Rule
from bot.matcher.syntax import parse_query
from bot.model.match import MatchItem

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DEFAULT_RULES = ROOT / "config" / "rules" / "compute-deals.toml"

RULES = """
[define]
noise = 'earnings OR lawsuit*'
compute = 'gpu* OR "data center*"'

[[rule]]
name = "a"
query = "@compute lease* -@noise"

[[rule]]
name = "b"
query = "@compute deal -@noise"

[[rule]]
name = "c"
query = "title:@compute deal"
"""


def test_a_sub_query_used_by_several_rules_is_one_node() -> None:
    rules = parse_rules(RULES, "shared.toml")
    a, b, c = (rule.node for rule in rules.rules)
    assert isinstance(a, And) and isinstance(b, And) and isinstance(c, And)
    assert a.children[0] is b.children[0]  # @compute
    noise_a, noise_b = a.children[-1], b.children[-1]
    assert isinstance(noise_a, Not) and isinstance(noise_b, Not)
    assert noise_a.child is noise_b.child  # @noise
    assert c.children[0] is not a.children[0]  # another field: another node
    copy = pickle.loads(pickle.dumps(rules))
    first, second = (rule.node for rule in copy.rules[:2])
    assert isinstance(first, And) and isinstance(second, And)
    assert first.children[0] is second.children[0]


def _unshared(text: str) -> RuleSet:
    """The rules of `text` with every query parsed on its own (no node shared between rules)."""
    shared = parse_rules(text, "x.toml")
    macros = tomllib.loads(text).get("define", {})
    rules = [
        Rule(rule.name, rule.query, rule.weight, rule.description, parse_query(rule.query, macros))
        for rule in shared.rules
    ]
    return RuleSet(rules, shared.threshold)


def _items() -> list[MatchItem]:
    items = [
        MatchItem(title="GPU lease deal", summary="A data center."),
        MatchItem(title="GPU deal", summary="Earnings beat."),
        MatchItem(title="Deal", summary="GPUs leased in a data center", text="lawsuits"),
        MatchItem(title="Nothing here"),
    ]
    for path in (SHARED / "relevance" / "dev.jsonl", SHARED / "stories" / "uci_dev.jsonl"):
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines()[:1500]:
                row = json.loads(line)
                items.append(MatchItem(title=row["title"], summary=row.get("summary") or ""))
    return items


def test_shared_nodes_give_the_results_of_separate_ones() -> None:
    items = _items()
    for text in (RULES, DEFAULT_RULES.read_text(encoding="utf-8")):
        rules, unshared = parse_rules(text, "x.toml"), _unshared(text)
        for item in items:
            expected = unshared.match_document(Document(item))
            assert rules.match(item) == expected, item
            assert rules.match_document(Document(item)) == expected, item
    rules = parse_rules(RULES, "shared.toml")
    assert rules.match(items[0]).rules == ["a", "b", "c"]
    assert rules.match(items[1]).rules == ["c"]


def test_a_definition_is_parsed_twice_however_many_definitions_use_it(monkeypatch) -> None:
    # A chain of definitions, each using the next: checking each definition in [define] parsed
    # the whole rest of the chain again (the last definition six times). It is parsed once when
    # it is checked and once where it is first used, then shared by definitions and rules.
    import bot.matcher.syntax as syntax

    lexed: list[str] = []
    real_lex = syntax.lex

    def counting_lex(query: str):  # type: ignore[no-untyped-def]
        lexed.append(query)
        return real_lex(query)

    monkeypatch.setattr(syntax, "lex", counting_lex)
    chain = "".join(f"d{i} = 'term{i} OR @d{i + 1}'\n" for i in range(1, 5))
    rules = parse_rules(
        f"[define]\n{chain}d5 = 'term5'\n"
        '[[rule]]\nname = "a"\nquery = "@d1 lease"\n'
        '[[rule]]\nname = "b"\nquery = "@d1 deal"\n'
    )
    definitions = [text for text in lexed if text.startswith("term")]
    assert len(set(definitions)) == 5
    assert all(definitions.count(text) == 2 for text in definitions)
    assert lexed.count("@d1 lease") == lexed.count("@d1 deal") == 1
    match = rules.match(MatchItem(title="term5 lease", summary="", text=""))
    assert [hit.rule for hit in match.hits] == ["a"]
