"""Why an item did not match a rule: which parts of the rule it has, which it lacks, and which
exclusion vetoed it.

`diagnose(node, doc)` walks a compiled query over an analysed item, in the widest scope (title,
summary, lead and text): a term holds or not; an AND holds in the share of its required parts that
hold; a NEAR whose words are too far apart or partly missing counts half of the share of them
found; an OR is as near as its nearest alternative, and is itself what is lacking when it is a
named definition (@deal) or none of its alternatives came near; an exclusion that finds its terms
is reported with them. `RuleSet.nearest` ranks a rule set's rules by that share, so a user tuning
rules sees the rule the item came closest to and what to add (a word to a definition, a figure) or
what excluded it. This is for people reading one item at a time; matching never calls it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.matcher.document import Document
from bot.matcher.leaves import Near, QuantityCompare
from bot.matcher.nodes import (
    EXCLUSION_SCOPE,
    FULL_SCOPE,
    NO_TIER,
    And,
    Evidence,
    Leaf,
    Node,
    Not,
    Or,
)

# Labels longer than this (an inline OR of forty words) are cut in explanations.
MAX_LABEL = 90


@dataclass(slots=True)
class Diagnosis:
    """How near an item comes to one query node."""

    share: float  # of the node's required parts that the item has, 0..1
    has: list[str] = field(default_factory=list)
    lacks: list[str] = field(default_factory=list)
    excluded_by: list[str] = field(default_factory=list)

    def rank(self) -> tuple[float, int, int]:
        """Nearer first: a larger share, then fewer exclusions, then fewer missing parts."""
        return (self.share, -len(self.excluded_by), -len(self.lacks))


def _label(node: Node) -> str:
    text = " ".join(str(getattr(node, "label", "") or type(node).__name__).split())
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 1].rstrip() + "…"


def _terms(evidence: Evidence) -> list[str]:
    shown: dict[str, str] = {}
    for _, surface, where in evidence:
        shown.setdefault(surface, f"{surface} ({where})")
    return list(shown.values())


def _with_terms(node: Node, doc: Document, scope_terms: list[str]) -> str:
    label = _label(node)
    if not scope_terms:
        return label
    return f"{label}: {', '.join(scope_terms[:4])}{' …' if len(scope_terms) > 4 else ''}"


def _lacking_quantity(node: QuantityCompare, doc: Document) -> str:
    """`chips>=1000`, and the figures of that kind the item does have, if any."""
    found = [
        quantity.text
        for analysed in doc.fields.values()
        for quantity in analysed.quantities
        if quantity.kind == node.kind
    ]
    unique = list(dict.fromkeys(found))
    if not unique:
        return node.label
    return f"{node.label} (the item has {', '.join(unique[:3])})"


def _near(node: Near, doc: Document) -> Diagnosis:
    """A NEAR that does not hold: half credit for the share of its operands found (they are
    there but too far apart, or some are missing), and which."""
    fields = [doc.fields[name] for name in FULL_SCOPE.fields_for(node.field) if name in doc.fields]
    present = [any(op.found_in(field) for field in fields) for op in node.operands]
    share = 0.5 * sum(present) / len(node.operands)
    if all(present):
        detail = "its terms are there, but farther apart"
    else:
        missing = [
            _lacking_quantity(op, doc) if isinstance(op, QuantityCompare) else op.label
            for op, found in zip(node.operands, present, strict=True)
            if not found
        ]
        detail = "no " + ", no ".join(missing)
    return Diagnosis(share, lacks=[f"{_label(node)} ({detail})"])


def diagnose(node: Node, doc: Document) -> Diagnosis:
    """How near `doc` comes to matching `node` anywhere in the item (see the module docstring).

    `doc` must be built without the prefilter's atoms (`Document(item)`): every part is looked at.
    """
    if isinstance(node, Not):
        if node.child.matches(doc, EXCLUSION_SCOPE):
            evidence: Evidence = []
            node.child.explain(doc, EXCLUSION_SCOPE, evidence)
            return Diagnosis(0.0, excluded_by=[_with_terms(node, doc, _terms(evidence))])
        return Diagnosis(1.0)
    if node.tier(doc) != NO_TIER:
        evidence = []
        node.explain(doc, FULL_SCOPE, evidence)
        return Diagnosis(1.0, has=[_with_terms(node, doc, _terms(evidence))])
    if isinstance(node, And):
        parts = [diagnose(child, doc) for child in node.children]
        required = [
            part for child, part in zip(node.children, parts, strict=True) if child.is_positive()
        ]
        share = sum(part.share for part in required) / max(len(required), 1)
        result = Diagnosis(share)
        for part in parts:
            result.has += part.has
            result.lacks += part.lacks
            result.excluded_by += part.excluded_by
        return result
    if isinstance(node, Or):
        options = [diagnose(child, doc) for child in node.children]
        nearest = max(options, key=Diagnosis.rank)
        if nearest.share == 0.0 or node.label.lstrip("-").rpartition(":")[2].startswith("@"):
            # A named definition (@deal) is what a user extends: it is what is lacking, however
            # near one of its many alternatives came.
            return Diagnosis(nearest.share, lacks=[_label(node)])
        return nearest
    if isinstance(node, QuantityCompare):
        return Diagnosis(0.0, lacks=[_lacking_quantity(node, doc)])
    if isinstance(node, Near):
        return _near(node, doc)
    if isinstance(node, Leaf):
        return Diagnosis(0.0, lacks=[_label(node)])
    return Diagnosis(0.0, lacks=[_label(node)])


__all__ = ["Diagnosis", "diagnose"]
