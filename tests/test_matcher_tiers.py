"""A node's tier is the smallest scored scope it matches in, and `matches` agrees with a plain
evaluation of the query.

Rules are scored by the smallest of the nested scopes (title, lead, whole text) they match in;
`Node.tier` finds it in one evaluation, remembered per item, instead of one per scope. Checked
against a reference that evaluates every node of random queries on random items directly from
the definition (a term looks in the fields its scope gives it, AND needs all, OR one, NOT looks
in the exclusion scope), with and without the prefilter's atoms, in both orders of asking.
"""

from __future__ import annotations

import random

import pytest
from test_matcher_prefilter import _random_item, _random_rules

from bot.matcher.document import Document
from bot.matcher.nodes import (
    EXCLUSION_SCOPE,
    FULL_SCOPE,
    LEAD_SCOPE,
    NO_TIER,
    SCOPES_BY_LEVEL,
    TITLE_SCOPE,
    And,
    Leaf,
    Node,
    Not,
    Or,
    Scope,
)
from bot.model.match import MatchItem
from bot.text.tokens import stem

SCOPES = (TITLE_SCOPE, LEAD_SCOPE, FULL_SCOPE, EXCLUSION_SCOPE)


def _reference(node: Node, doc: Document, scope: Scope) -> bool:
    if isinstance(node, Not):
        return not _reference(node.child, doc, EXCLUSION_SCOPE)
    if isinstance(node, And):
        return all(_reference(child, doc, scope) for child in node.children)
    if isinstance(node, Or):
        return any(_reference(child, doc, scope) for child in node.children)
    assert isinstance(node, Leaf)
    return any(
        name in doc.fields and node.in_field(doc.fields[name])
        for name in scope.fields_for(node.field)
    )


def _nodes(node: Node) -> list[Node]:
    found = [node]
    if isinstance(node, And | Or):
        for child in node.children:
            found += _nodes(child)
    elif isinstance(node, Not):
        found += _nodes(node.child)
    return found


@pytest.mark.parametrize("seed", range(4))
def test_tiers_and_matches_agree_with_a_plain_evaluation(seed: int) -> None:
    rng = random.Random(100 + seed)
    rules = _random_rules(rng, 30)
    items = [_random_item(rng) for _ in range(120)]
    tiers_seen = set()
    for item in items:
        scan = rules._prefilter.scan(item)
        present = scan.present if scan is not None else None
        for tiers_first in (True, False):
            for doc in (Document(item), Document(item, present)):
                reference = Document(item)
                for rule in rules.rules:
                    for node in _nodes(rule.node):
                        expected = [_reference(node, reference, scope) for scope in SCOPES]
                        if tiers_first:
                            tier = node.tier(doc)
                            got = [node.matches(doc, scope) for scope in SCOPES]
                        else:
                            got = [node.matches(doc, scope) for scope in SCOPES]
                            tier = node.tier(doc)
                        assert got == expected, (rule.query, item)
                        levels = [level for level in range(3) if expected[level]]
                        assert tier == (levels[0] if levels else NO_TIER), (rule.query, item)
                        tiers_seen.add(tier)
    assert tiers_seen == {0, 1, 2, NO_TIER}


def test_a_rule_is_scored_in_the_smallest_scope_it_matches_in() -> None:
    from bot.matcher import parse_rules

    rules = parse_rules(
        "[[rule]]\nname = 'a'\nquery = 'gpu lease'\n"
        "[[rule]]\nname = 'b'\nquery = 'summary:gpu title:lease'\n",
        "two.toml",
    )
    title = rules.match(MatchItem(title="GPU lease"))
    assert [(hit.rule, hit.weight) for hit in title.hits] == [("a", 1.5)]
    lead = rules.match(MatchItem(title="A lease", summary="GPUs"))
    assert [(hit.rule, hit.weight) for hit in lead.hits] == [("a", 1.0), ("b", 1.0)]
    text = rules.match(MatchItem(title="A lease", text="Many GPUs " * 3))
    assert [(hit.rule, hit.weight) for hit in text.hits] == [("a", 0.35)]
    assert SCOPES_BY_LEVEL == (TITLE_SCOPE, LEAD_SCOPE, FULL_SCOPE)


def test_the_first_word_with_a_prefix_is_the_first_of_its_positions() -> None:
    from bot.matcher.document import AnalysedField

    rng = random.Random(12)
    words = ["lease", "leases", "leasing", "leased", "lea", "gpu", "gpus", "data", "datacenter"]
    words += ["chip", "chips", "chipmaker", "h100", "h100s", "the", "of", "ınfra", "Leasing"]
    prefixes = ["leas", "lea", "gpu", "data", "chip", "h1", "ın", "zz", "the"]
    for _ in range(3000):
        text = " ".join(rng.choice(words) for _ in range(rng.randrange(0, 15)))
        for warm in (False, True):
            field = AnalysedField(text)
            for prefix in rng.sample(prefixes, 4):
                prefix_stem = stem(prefix)
                if warm:
                    field.prefix_positions(prefix, prefix_stem)
                positions = AnalysedField(text).prefix_positions(prefix, prefix_stem)
                expected = positions[0] if positions else None
                assert field.first_with_prefix(prefix, prefix_stem) == expected, (text, prefix)
