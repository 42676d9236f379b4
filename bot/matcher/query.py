"""The rule query language: its syntax tree, how each node matches a `Document`, and the parser.

Syntax (operators are upper-case; everything else is case-insensitive and accent-folded):

    gpu                      a word; plurals and -ed/-ing forms match too ("leases", "leasing")
    "data center"            a phrase: the words in this order, adjacent
    gigawatt*   "data cent*" a prefix wildcard, alone or as a phrase word (at least 2 letters)
    a b, a AND b             both (AND is implicit)
    a OR b                   either; AND binds tighter than OR: `a OR b c` is `a OR (b AND c)`
    NOT a, -a                exclusion
    ( ... )                  grouping
    title:a  title:(a OR b)  field scope: title, summary, text, source, url, author, category
    NEAR/5(lease "data center")   every operand within 5 words of the others, in any order;
                             operands are words, phrases, wildcards, quantity comparisons (a
                             figure counts as its words: "18,000 GB300 chips" is four), @names
                             whose definition lists such alternatives, or (x OR y) groups of them:
                             NEAR/6(chips>=1000 @acquire), NEAR/2(amount<=5000 off)
    PRE/2(for @ai_lab)       as NEAR, with the operands in the order written: "for Anthropic",
                             not "Anthropic for"
    /gb[23]00/               a regular expression (RE2 syntax, no backtracking) on the folded field
    power>=100MW  amount>=1B  chips>=10k    quantity comparisons (>, >=, <, <=, =)
    @name                    a named sub-query from the rule file's [define] table

Where a term is looked for ("scope"): a word without a field looks in the title, then the summary
and the lead paragraph of the article text, then the rest of the text; the caller scores each scope
differently. Exclusions always look at the title, summary and lead (not at the rest of the text,
where page clutter would exclude good items) unless they name a field.

The language is the product's own edge (field scopes, quantities, scoring tiers), so the parser is
hand-written: a small recursive-descent parser whose errors name the column and what was expected.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any, Literal

import re2

from bot.matcher.document import META_FIELDS, AnalysedField, Document
from bot.text.quantities import Quantity
from bot.text.tokens import fold, stem, tokenize

FIELDS = ("title", "summary", "text", "source", "url", "author", "category")
FIELD_ALIASES = {"categories": "category", "tag": "category", "tags": "category", "feed": "source"}


@dataclass(frozen=True, slots=True)
class Scope:
    """Which analysed fields an unscoped term searches, and which named fields may be searched."""

    name: str
    default_fields: tuple[str, ...]
    allowed: frozenset[str]
    # The scopes a rule is scored in are nested: title (0) within lead (1) within text (2), and
    # a node matches in a scope exactly when its `tier` is at most the scope's level. The
    # exclusion scope (-1) is not part of that order.
    level: int = -1

    def fields_for(self, field: str | None) -> tuple[str, ...]:
        if field is None:
            return self.default_fields
        if field not in self.allowed:
            return ()
        if field == "text":
            return ("text",)
        return (field,)


TITLE_SCOPE = Scope("title", ("title",), frozenset({"title", *META_FIELDS}), 0)
LEAD_SCOPE = Scope(
    "lead", ("title", "summary", "lead"), frozenset({"title", "summary", *META_FIELDS}), 1
)
FULL_SCOPE = Scope("text", ("title", "summary", "lead", "text"), frozenset(FIELDS), 2)
EXCLUSION_SCOPE = Scope("exclusion", ("title", "summary", "lead"), frozenset(FIELDS))
# The scored scopes by level, and the tier of a node that matches in none of them.
SCOPES_BY_LEVEL = (TITLE_SCOPE, LEAD_SCOPE, FULL_SCOPE)
NO_TIER = 3
# The level of the smallest scored scope in which a term finds a field: unscoped terms by the
# field they are found in, terms naming a field by that field (where each scope allows it).
_UNSCOPED_LEVELS = (("title", 0), ("summary", 1), ("lead", 1), ("text", 2))
_FIELD_LEVELS = {"title": 0, "summary": 1, "text": 2, **{name: 0 for name in META_FIELDS}}

Evidence = list[tuple[str, str, str]]  # (term as written, the text it matched, field name)

# Necessary conditions for the prefilter (bot/matcher/prefilter.py). An atom is something an item
# can be checked for without analysing it: ("stem", s) a word whose stem is s, ("prefix", p) a
# word beginning with p, ("phrase", "stem:s prefix:p ...") adjacent words that are such stems and
# prefixes, ("quantity", kind) a quantity of that kind. A clause holds when one of
# its atoms occurs anywhere in the item; a query can only match an item where all its clauses
# hold. No clauses: no condition could be derived (the query must always be evaluated).
Atom = tuple[str, str]
Clause = frozenset[Atom]
Conditions = tuple[Clause, ...]
# An OR of queries with several clauses each is expanded into all combinations up to this many
# clauses; beyond, one clause of each alternative is kept (still necessary, less selective).
MAX_EXPANDED_CLAUSES = 16


def _reported_field(name: str) -> str:
    return "text" if name == "lead" else name


class Node:
    """A query node. `matches` is the fast path; `explain` records which terms matched where.

    `shown` (on leaves) is the text a term matched, for explanations: "gpu*" shows "gpus".
    """

    __slots__ = ("_conditions", "_gate")

    def matches(self, doc: Document, scope: Scope) -> bool:
        raise NotImplementedError

    def tier(self, doc: Document) -> int:
        """The level of the smallest scored scope this node matches in (SCOPES_BY_LEVEL), or
        NO_TIER: `matches(doc, scope)` is `tier(doc) <= scope.level` for those scopes, which
        are nested, found in one evaluation instead of one per scope. Remembered per item."""
        tiers = doc.tiers
        found = tiers.get(id(self))
        if found is None:
            found = tiers[id(self)] = self._tier(doc)
        return found

    def _tier(self, doc: Document) -> int:
        raise NotImplementedError

    def parts(self) -> tuple[Node, ...]:
        """The nodes this one is made of."""
        return ()

    def conditions(self) -> Conditions:
        """`necessary()`, derived once."""
        found: Conditions | None = getattr(self, "_conditions", None)
        if found is None:
            found = self._conditions = self.necessary()
        return found

    def possible(self, doc: Document) -> bool:
        """False when the item lacks every atom of one of this node's word clauses, so the
        node cannot match it in any scope; a cheap test before evaluating a compound node.

        `doc.present` holds the atoms the prefilter found in the item (None: not known)."""
        present = doc.present
        if present is None:
            return True
        gate: Conditions | None = getattr(self, "_gate", None)
        if gate is None:
            gate = self._gate = tuple(
                clause
                for clause in self.conditions()
                if all(kind != "quantity" for kind, _ in clause)
            )
        return all(not clause.isdisjoint(present) for clause in gate)

    def explain(self, doc: Document, scope: Scope, evidence: Evidence) -> None:
        raise NotImplementedError

    def necessary(self) -> Conditions:
        """Clauses of atoms that hold in every item this node matches, in any scope (see Atom).

        Sound by construction: every field a scope searches is part of the item, and a term in a
        field is an atom in the item; exclusions and regular expressions add no condition.
        """
        raise NotImplementedError

    def is_positive(self) -> bool:
        """Whether matching needs something to be present (a pure exclusion does not)."""
        return True


class Leaf(Node):
    __slots__ = ("field", "label")

    def __init__(self, label: str, field: str | None) -> None:
        self.label = label
        self.field = field

    def in_field(self, analysed: AnalysedField) -> bool:
        raise NotImplementedError

    def found_in(self, analysed: AnalysedField) -> bool:
        """`in_field`, remembered per field: the scopes overlap (title, then title and lead,
        then all), and a rule that matches is evaluated in several of them and explained."""
        memo = analysed.memo
        found: bool | None = memo.get(id(self))
        if found is None:
            found = memo[id(self)] = self.in_field(analysed)
        return found

    def shown(self, analysed: AnalysedField) -> str:
        return self.label

    def matches(self, doc: Document, scope: Scope) -> bool:
        fields = doc.fields
        for name in scope.fields_for(self.field):
            analysed = fields.get(name)
            if analysed is not None and self.found_in(analysed):
                return True
        return False

    def _tier(self, doc: Document) -> int:
        fields = doc.fields
        if self.field is None:
            for name, level in _UNSCOPED_LEVELS:
                analysed = fields.get(name)
                if analysed is not None and self.found_in(analysed):
                    return level
            return NO_TIER
        analysed = fields.get(self.field)
        if analysed is not None and self.found_in(analysed):
            return _FIELD_LEVELS[self.field]
        return NO_TIER

    def explain(self, doc: Document, scope: Scope, evidence: Evidence) -> None:
        for name in scope.fields_for(self.field):
            analysed = doc.fields.get(name)
            if analysed is not None and self.found_in(analysed):
                evidence.append((self.label, self.shown(analysed), _reported_field(name)))

    def spans(self, analysed: AnalysedField) -> list[tuple[int, int]]:
        raise TypeError(f"{self.label} has no word positions")


class Word(Leaf):
    """One word, matched on its stem."""

    __slots__ = ("stem",)

    def __init__(self, label: str, word_stem: str, field: str | None) -> None:
        super().__init__(label, field)
        self.stem = word_stem

    def in_field(self, analysed: AnalysedField) -> bool:
        return self.stem in analysed.stem_set

    found_in = in_field  # a set lookup: cheaper than remembering it

    def shown(self, analysed: AnalysedField) -> str:
        return analysed.first_token_with_stem(self.stem)

    def spans(self, analysed: AnalysedField) -> list[tuple[int, int]]:
        return [(i, i + 1) for i in analysed.stem_positions.get(self.stem, ())]

    def necessary(self) -> Conditions:
        return (frozenset({("stem", self.stem)}),)

    def relabel(self, label: str, field: str | None) -> Word:
        return Word(label, self.stem, field)


class Prefix(Leaf):
    """A word beginning with a prefix (`gigawatt*`), matched on the folded, unstemmed word.

    Inflections of the prefix itself match too, so `lease*` also finds "leasing" and "leased".
    """

    __slots__ = ("prefix", "stem")

    def __init__(self, label: str, prefix: str, field: str | None) -> None:
        super().__init__(label, field)
        self.prefix = prefix
        self.stem = stem(prefix)

    def in_field(self, analysed: AnalysedField) -> bool:
        return self.stem in analysed.stem_set or analysed.has_prefix(self.prefix)

    found_in = in_field

    def _token_matches(self, token: str, token_stem: str) -> bool:
        return token.startswith(self.prefix) or token_stem == self.stem

    def shown(self, analysed: AnalysedField) -> str:
        first = analysed.first_with_prefix(self.prefix, self.stem)
        return analysed.tokens[first] if first is not None else self.label

    def spans(self, analysed: AnalysedField) -> list[tuple[int, int]]:
        return [(i, i + 1) for i in analysed.prefix_positions(self.prefix, self.stem)]

    def necessary(self) -> Conditions:
        return (frozenset({("stem", self.stem), ("prefix", self.prefix)}),)

    def relabel(self, label: str, field: str | None) -> Prefix:
        return Prefix(label, self.prefix, field)


class Phrase(Leaf):
    """Adjacent words in order; each word is a stem or a prefix."""

    __slots__ = ("words",)

    def __init__(self, label: str, words: tuple[Word | Prefix, ...], field: str | None) -> None:
        super().__init__(label, field)
        self.words = words

    def in_field(self, analysed: AnalysedField) -> bool:
        first = self.words[0]
        if isinstance(first, Word) and first.stem not in analysed.stem_set:
            return False
        return bool(self.spans(analysed))

    def spans(self, analysed: AnalysedField) -> list[tuple[int, int]]:
        stems = analysed.stems
        tokens = analysed.tokens
        size = len(self.words)
        found: list[tuple[int, int]] = []
        for start, _ in self.words[0].spans(analysed):
            if start + size > len(stems):
                break
            for offset in range(1, size):
                word = self.words[offset]
                if isinstance(word, Word):
                    if stems[start + offset] != word.stem:
                        break
                elif not word._token_matches(tokens[start + offset], stems[start + offset]):
                    break
            else:
                found.append((start, start + size))
        return found

    def shown(self, analysed: AnalysedField) -> str:
        spans = self.spans(analysed)
        if not spans:
            return self.label
        start, end = spans[0]
        return " ".join(analysed.tokens[start:end])

    def parts(self) -> tuple[Node, ...]:
        return self.words

    def necessary(self) -> Conditions:
        # The whole phrase is one atom: its words are common ("data", "center"), the phrase is not.
        key = " ".join(
            ("stem:" + word.stem) if isinstance(word, Word) else ("prefix:" + word.prefix)
            for word in self.words
        )
        return (frozenset({("phrase", key)}),)


class AnyOf(Leaf):
    """`(a OR b)` inside NEAR: positional alternatives."""

    __slots__ = ("options",)

    def __init__(self, label: str, options: tuple[Leaf, ...], field: str | None) -> None:
        super().__init__(label, field)
        self.options = options

    def in_field(self, analysed: AnalysedField) -> bool:
        return any(option.in_field(analysed) for option in self.options)

    def spans(self, analysed: AnalysedField) -> list[tuple[int, int]]:
        return sorted(span for option in self.options for span in option.spans(analysed))

    def shown(self, analysed: AnalysedField) -> str:
        return next(o.shown(analysed) for o in self.options if o.in_field(analysed))

    def parts(self) -> tuple[Node, ...]:
        return self.options

    def necessary(self) -> Conditions:
        return any_of([option.conditions() for option in self.options])


class Near(Leaf):
    """All operands within `distance` words of each other (words between them), in any order,
    or, `ordered` (PRE/n), in the order written."""

    __slots__ = ("distance", "operands", "ordered")

    def __init__(
        self,
        label: str,
        distance: int,
        operands: tuple[Leaf, ...],
        field: str | None,
        ordered: bool = False,
    ) -> None:
        super().__init__(label, field)
        self.distance = distance
        self.operands = operands
        self.ordered = ordered

    def in_field(self, analysed: AnalysedField) -> bool:
        if not all(op.in_field(analysed) for op in self.operands):
            return False
        if self.ordered:
            return _in_order_within([op.spans(analysed) for op in self.operands], self.distance)
        labelled = sorted(
            (start, end, index)
            for index, op in enumerate(self.operands)
            for start, end in op.spans(analysed)
        )
        return _window_within(labelled, len(self.operands), self.distance)

    def shown(self, analysed: AnalysedField) -> str:
        return " … ".join(op.shown(analysed) for op in self.operands)

    def parts(self) -> tuple[Node, ...]:
        return self.operands

    def necessary(self) -> Conditions:
        return all_of([op.conditions() for op in self.operands])


def _in_order_within(spans: list[list[tuple[int, int]]], distance: int) -> bool:
    """Is there one span of each operand, each after the previous one, with at most `distance`
    other words between the first and the last? From each span of the first operand, the
    earliest span of each next operand that starts after the previous one ends (which leaves
    the fewest words between)."""
    for _, first_end in spans[0]:
        end = first_end
        between = 0
        for later in spans[1:]:
            following = next((span for span in later if span[0] >= end), None)
            if following is None:
                return False  # no later span of this operand follows any later start either
            between += following[0] - end
            if between > distance:
                break
            end = following[1]
        else:
            return True
    return False


def _window_within(labelled: list[tuple[int, int, int]], count: int, distance: int) -> bool:
    """Is there a stretch holding one span of every operand with at most `distance` other words?"""
    seen: dict[int, int] = {}
    left = 0
    for right, (_, _, label) in enumerate(labelled):
        seen[label] = seen.get(label, 0) + 1
        while len(seen) == count:
            window = labelled[left : right + 1]
            chosen: dict[int, tuple[int, int]] = {}
            for start, end, index in window:
                chosen.setdefault(index, (start, end))
            begin = min(start for start, _ in chosen.values())
            finish = max(end for _, end in chosen.values())
            covered = sum(end - start for start, end in chosen.values())
            if finish - begin - covered <= distance:
                return True
            left_label = labelled[left][2]
            seen[left_label] -= 1
            if not seen[left_label]:
                del seen[left_label]
            left += 1
    return False


def compile_regex(source: str) -> Any:
    """A rule's /regular expression/, case-insensitive, in RE2 with a memory budget."""
    options = re2.Options()
    options.case_sensitive = False
    options.log_errors = False
    options.max_mem = 8 << 20
    return re2.compile(source, options)


class Regex(Leaf):
    """A regular expression on the folded field text, run by RE2 (linear time, no backtracking)."""

    __slots__ = ("pattern", "source")

    def __init__(self, label: str, source: str, field: str | None) -> None:
        super().__init__(label, field)
        self.source = source
        self.pattern = compile_regex(source)

    def __reduce__(self) -> tuple[Any, ...]:
        # Compiled RE2 patterns cannot be pickled (rule sets go to parser processes).
        return (Regex, (self.label, self.source, self.field))

    def in_field(self, analysed: AnalysedField) -> bool:
        return self.pattern.search(analysed.folded) is not None

    def shown(self, analysed: AnalysedField) -> str:
        found = self.pattern.search(analysed.folded)
        return str(found.group(0)) if found is not None else self.label

    def necessary(self) -> Conditions:
        # /\bearnings\b/ can only match where a word begins with "earnings"; other
        # expressions give no condition.
        literal = _LEADING_LITERAL.match(self.source)
        if literal is None or "|" in self.source:
            return ()
        return (frozenset({("prefix", literal.group(1))}),)


# A regular expression that begins at a word boundary with three or more plain lower-case
# letters, none of them made optional or repeated by what follows.
_LEADING_LITERAL = re.compile(r"\\b([a-z]{3,})(?![a-z*+?{])")


QuantityName = Literal["power", "money", "chips"]
Comparison = Literal[">", ">=", "<", "<=", "="]


def _about_equal(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0)


# Module-level functions, not lambdas: compiled rules are pickled for parser processes.
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "=": _about_equal,
}

# Approximate US-dollar value of one unit, used only to compare amounts with rule thresholds
# (order of magnitude is what matters there); quantities themselves keep their own currency.
USD_PER_UNIT: dict[str, float] = {
    "USD": 1.0,
    "EUR": 1.1,
    "GBP": 1.3,
    "CHF": 1.15,
    "CAD": 0.73,
    "AUD": 0.66,
    "JPY": 0.0067,
    "CNY": 0.14,
    "INR": 0.012,
    "SEK": 0.095,
    "NOK": 0.095,
}


class QuantityCompare(Leaf):
    """`power>=100MW`, `amount>=1B`, `chips>=10k`: some quantity of that kind in the field."""

    __slots__ = ("compare", "kind", "lower_bound_ok", "value")

    def __init__(
        self, label: str, kind: QuantityName, op: Comparison, value: float, field: str | None
    ) -> None:
        super().__init__(label, field)
        self.kind = kind
        self.value = value
        self.compare = _COMPARE[op]
        # A vague quantity ("hundreds of thousands of GPUs") is a lower bound: it can only
        # prove a "greater than" comparison.
        self.lower_bound_ok = op in (">", ">=")

    def _found(self, analysed: AnalysedField) -> str | None:
        for quantity in analysed.quantities:
            if self._holds(quantity):
                return quantity.text
        return None

    def _holds(self, quantity: Quantity) -> bool:
        if quantity.kind != self.kind:
            return False
        if quantity.approximate and not self.lower_bound_ok:
            return False
        value = quantity.value
        if quantity.kind == "money":
            value *= USD_PER_UNIT.get(quantity.currency, 0.0)
        return self.compare(value, self.value)

    def in_field(self, analysed: AnalysedField) -> bool:
        return self._found(analysed) is not None

    def shown(self, analysed: AnalysedField) -> str:
        return self._found(analysed) or self.label

    def spans(self, analysed: AnalysedField) -> list[tuple[int, int]]:
        """The word positions of the quantities that satisfy the comparison (inside NEAR)."""
        return [
            span
            for quantity, span in zip(analysed.quantities, analysed.quantity_spans, strict=True)
            if self._holds(quantity)
        ]

    def necessary(self) -> Conditions:
        return (frozenset({("quantity", self.kind)}),)


class And(Node):
    __slots__ = ("children", "label")

    def __init__(self, children: tuple[Node, ...], label: str = "") -> None:
        self.children = children
        self.label = label  # the query text it was parsed from, for explanations

    def matches(self, doc: Document, scope: Scope) -> bool:
        results = doc.results
        key = (id(self), scope.name)
        found: bool | None = results.get(key)
        if found is None:
            found = results[key] = all(
                child.possible(doc) and child.matches(doc, scope) for child in self.children
            )
        return found

    def _tier(self, doc: Document) -> int:
        highest = 0
        for child in self.children:
            if not child.possible(doc):
                return NO_TIER
            tier = child.tier(doc)
            if tier == NO_TIER:
                return NO_TIER
            highest = max(highest, tier)
        return highest

    def explain(self, doc: Document, scope: Scope, evidence: Evidence) -> None:
        for child in self.children:
            child.explain(doc, scope, evidence)

    def parts(self) -> tuple[Node, ...]:
        return self.children

    def necessary(self) -> Conditions:
        return all_of([child.conditions() for child in self.children])

    def is_positive(self) -> bool:
        return any(child.is_positive() for child in self.children)


# An Or's children by the atoms of their first word clause, the atoms indexed, the children
# without a word clause, and the children with at most one (see Or._possible_children).
_ChildIndex = tuple[dict[Atom, tuple[int, ...]], frozenset[Atom], tuple[int, ...], frozenset[int]]


class Or(Node):
    """Alternatives. Plain words and prefixes are checked as one set operation per field."""

    __slots__ = ("_by_atom", "children", "gated", "label", "others", "prefixes", "stems")

    def __init__(self, children: tuple[Node, ...], label: str = "") -> None:
        self.children = children
        self.label = label  # the query text it was parsed from, for explanations
        self._by_atom: _ChildIndex | None = None  # built on first use
        stems: dict[str | None, set[str]] = {}
        prefixes: dict[str | None, list[str]] = {}
        gated: dict[str | None, list[tuple[str, Node]]] = {}
        others: list[Node] = []
        for child in children:
            if isinstance(child, Word):
                stems.setdefault(child.field, set()).add(child.stem)
            elif isinstance(child, Prefix):
                stems.setdefault(child.field, set()).add(child.stem)
                prefixes.setdefault(child.field, []).append(child.prefix)
            elif isinstance(child, Phrase) and isinstance(child.words[0], Word):
                # A phrase cannot match unless its first word is present: test all of those
                # first words at once before looking at any phrase.
                gated.setdefault(child.field, []).append((child.words[0].stem, child))
            else:
                others.append(child)
        self.stems = tuple((field, frozenset(group)) for field, group in stems.items())
        self.prefixes = tuple((field, tuple(group)) for field, group in prefixes.items())
        self.gated = tuple(
            (field, frozenset(gate for gate, _ in group), tuple(group))
            for field, group in gated.items()
        )
        self.others = tuple(others)

    def matches(self, doc: Document, scope: Scope) -> bool:
        results = doc.results
        key = (id(self), scope.name)
        found: bool | None = results.get(key)
        if found is None:
            found = results[key] = self._matches(doc, scope)
        return found

    def _matches(self, doc: Document, scope: Scope) -> bool:
        if doc.present is not None:
            return any(child.matches(doc, scope) for child in self._possible_children(doc))
        fields = doc.fields
        for field, stems in self.stems:
            for name in scope.fields_for(field):
                analysed = fields.get(name)
                if analysed is not None and not stems.isdisjoint(analysed.stem_set):
                    return True
        for field, prefixes in self.prefixes:
            for name in scope.fields_for(field):
                analysed = fields.get(name)
                if analysed is not None and any(
                    token.startswith(prefixes) for token in analysed.sorted_tokens
                ):
                    return True
        for field, gates, phrases in self.gated:
            for name in scope.fields_for(field):
                analysed = fields.get(name)
                if analysed is None or gates.isdisjoint(analysed.stem_set):
                    continue
                present = analysed.stem_set
                for gate, phrase in phrases:
                    if gate in present and phrase.possible(doc) and phrase.matches(doc, scope):
                        return True
        return any(child.possible(doc) and child.matches(doc, scope) for child in self.others)

    def _tier(self, doc: Document) -> int:
        lowest = NO_TIER
        for child in self._possible_children(doc):
            tier = child.tier(doc)
            if tier < lowest:
                if tier == 0:
                    return 0
                lowest = tier
        return lowest

    def explain(self, doc: Document, scope: Scope, evidence: Evidence) -> None:
        # Explained in a scored scope: a child matches there when its tier is at most its level.
        level = scope.level
        for child in self._possible_children(doc):
            if (child.tier(doc) <= level) if level >= 0 else child.matches(doc, scope):
                child.explain(doc, scope, evidence)

    def _possible_children(self, doc: Document) -> list[Node] | tuple[Node, ...]:
        """The children that pass `possible`, in order, found from the item's atoms through an
        index instead of testing each of (often a hundred) alternatives."""
        present = doc.present
        if present is None:
            return self.children
        remembered: list[Node] | None = doc.memo.get(id(self))
        if remembered is not None:
            return remembered
        if self._by_atom is None:
            index: dict[Atom, list[int]] = {}
            unindexed: list[int] = []
            one_clause: list[int] = []
            for position, child in enumerate(self.children):
                gate = [c for c in child.conditions() if all(k != "quantity" for k, _ in c)]
                if not gate:
                    unindexed.append(position)
                if len(gate) <= 1:
                    one_clause.append(position)
                for atom in gate[0] if gate else ():
                    index.setdefault(atom, []).append(position)
            self._by_atom = (
                {atom: tuple(positions) for atom, positions in index.items()},
                frozenset(index),
                tuple(unindexed),
                frozenset(one_clause),
            )
        by_atom, indexed, always, single = self._by_atom
        chosen = set(always)
        for atom in indexed & present:
            chosen.update(by_atom[atom])
        children = self.children
        # A child found through the atom of its only word clause (or with none) is possible.
        found = [children[i] for i in sorted(chosen) if i in single or children[i].possible(doc)]
        doc.memo[id(self)] = found
        return found

    def parts(self) -> tuple[Node, ...]:
        return self.children

    def necessary(self) -> Conditions:
        return any_of([child.conditions() for child in self.children])

    def is_positive(self) -> bool:
        return all(child.is_positive() for child in self.children)


class Not(Node):
    __slots__ = ("child", "label")

    def __init__(self, child: Node, label: str = "") -> None:
        self.child = child
        self.label = label  # the query text it was parsed from, for explanations

    def matches(self, doc: Document, scope: Scope) -> bool:
        # The same in every scope: exclusions look at the exclusion scope.
        results = doc.results
        key = (id(self), EXCLUSION_SCOPE.name)
        found: bool | None = results.get(key)
        if found is None:
            found = results[key] = not self.child.matches(doc, EXCLUSION_SCOPE)
        return found

    def _tier(self, doc: Document) -> int:
        return 0 if self.matches(doc, EXCLUSION_SCOPE) else NO_TIER

    def explain(self, doc: Document, scope: Scope, evidence: Evidence) -> None:
        return None

    def parts(self) -> tuple[Node, ...]:
        return (self.child,)

    def necessary(self) -> Conditions:
        return ()

    def is_positive(self) -> bool:
        return False


def _simplified(clauses: Iterable[Clause]) -> Conditions:
    """Without duplicates and without clauses implied by a smaller one (a superset of it)."""
    kept: list[Clause] = []
    for clause in sorted(set(clauses), key=len):
        if not any(smaller <= clause for smaller in kept):
            kept.append(clause)
    return tuple(kept)


def all_of(parts: Sequence[Conditions]) -> Conditions:
    """The conditions of a conjunction: all clauses of all parts, less those made only of
    function words ("to", "for"), which every text has: they would cost a search and prune
    nothing. Any subset of necessary clauses is still necessary."""
    clauses = _simplified(clause for part in parts for clause in part)
    telling = tuple(clause for clause in clauses if not _only_function_words(clause))
    return telling if telling or not clauses else clauses


def _only_function_words(clause: Clause) -> bool:
    return all(kind == "stem" and value in _FUNCTION_WORDS for kind, value in clause)


# Words found in almost every text: a clause of them is no condition worth checking first.
_FUNCTION_WORDS = frozenset(
    {"a", "an", "and", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it", "its"}
    | {"no", "not", "of", "on", "or", "out", "over", "the", "their", "to", "up", "will", "with"}
    | {"without", "yet"}
)


def _atom_commonness(kind: str, value: str) -> float:
    if kind == "quantity":
        return 1.0  # figures are frequent in news, and a quantity cue costs a regex search
    if kind == "phrase":
        return 0.1
    if value in _FUNCTION_WORDS:
        return 5.0
    return 1.0 / max(len(value), 1)  # short words are the common ones


def commonness(clause: Clause) -> float:
    """A rough estimate of how often a clause holds, to keep the rarest clauses of an OR."""
    return sum(_atom_commonness(kind, value) for kind, value in clause)


def any_of(parts: Sequence[Conditions]) -> Conditions:
    """The conditions of a disjunction: one clause of each alternative joined into one clause,
    for every choice of clauses; when that would be more than MAX_EXPANDED_CLAUSES, only the
    rarest clauses of each alternative are combined."""
    if not parts or any(not part for part in parts):
        return ()
    ranked = [sorted(part, key=commonness) for part in parts]
    counts = [1] * len(ranked)
    grown = True
    while grown:  # give each alternative one more clause in turn while the product fits
        grown = False
        for position, part in enumerate(ranked):
            if counts[position] >= len(part):
                continue
            total = 1
            for other, count in enumerate(counts):
                total *= count + 1 if other == position else count
            if total <= MAX_EXPANDED_CLAUSES:
                counts[position] += 1
                grown = True
    chosen = [part[:count] for part, count in zip(ranked, counts, strict=True)]
    return _simplified(frozenset().union(*choice) for choice in product(*chosen))


# ---------------------------------------------------------------------------------------------
# Parsing


class QuerySyntaxError(Exception):
    """A query error at a 1-based column; the rule loader adds the file and rule name."""

    def __init__(self, column: int, expected: str, got: str) -> None:
        super().__init__(f"column {column}: expected {expected}, got {got}")
        self.column = column
        self.expected = expected
        self.got = got


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # word phrase regex quantity field near macro lparen rparen and or not minus
    text: str
    column: int
    value: str = ""


_DELIMITERS = frozenset(' \t\r\n()"')
_NEAR = re.compile(r"(NEAR|PRE)/(\d+)")
_QUANTITY = re.compile(r"([A-Za-z]+)(>=|<=|>|<|=)(.*)")
_QUANTITY_NAMES: dict[str, QuantityName] = {
    "power": "power",
    "amount": "money",
    "money": "money",
    "value": "money",
    "chips": "chips",
    "gpus": "chips",
}
_MONEY_VALUE = re.compile(
    r"(?:us\$|\$|€|£|usd|eur|gbp)?(\d+(?:\.\d+)?)(k|m|mn|b|bn|t|tn|thousand|million|billion|trillion)?",
    re.IGNORECASE,
)
_POWER_VALUE = re.compile(r"(\d+(?:\.\d+)?)(kw|mw|gw|tw)?", re.IGNORECASE)
_COUNT_VALUE = re.compile(r"(\d+(?:\.\d+)?)(k|m|thousand|million)?", re.IGNORECASE)
_SCALE = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "million": 1e6,
    "b": 1e9,
    "bn": 1e9,
    "billion": 1e9,
    "t": 1e12,
    "tn": 1e12,
    "trillion": 1e12,
}
_POWER_SCALE = {"kw": 1e-3, "mw": 1.0, "gw": 1e3, "tw": 1e6}


def _show(text: str) -> str:
    return f"'{text}'"


def lex(query: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    length = len(query)
    while i < length:
        ch = query[i]
        column = i + 1
        if ch.isspace():
            i += 1
        elif ch == "(":
            tokens.append(Token("lparen", ch, column))
            i += 1
        elif ch == ")":
            tokens.append(Token("rparen", ch, column))
            i += 1
        elif ch == '"':
            close = query.find('"', i + 1)
            if close < 0:
                raise QuerySyntaxError(column, "a closing '\"' for this phrase", "end of query")
            tokens.append(Token("phrase", query[i : close + 1], column, query[i + 1 : close]))
            i = close + 1
        elif ch == "/":
            j = i + 1
            while j < length and query[j] != "/":
                j += 2 if query[j] == "\\" else 1
            if j >= length:
                raise QuerySyntaxError(
                    column, "a closing '/' for this regular expression", "end of query"
                )
            tokens.append(
                Token("regex", query[i : j + 1], column, query[i + 1 : j].replace("\\/", "/"))
            )
            i = j + 1
        elif ch == "-" and (i + 1 >= length or query[i + 1].isspace()):
            raise QuerySyntaxError(
                column, "a term right after '-'", "a space" if i + 1 < length else "end of query"
            )
        elif ch == "-":
            tokens.append(Token("minus", ch, column))
            i += 1
        else:
            j = i
            while j < length and query[j] not in _DELIMITERS:
                j += 1
            word = query[i:j]
            i = j
            tokens.extend(_classify(word, column))
    return tokens


def _classify(word: str, column: int) -> list[Token]:
    if word in ("AND", "OR", "NOT"):
        return [Token(word.lower(), word, column)]
    near = _NEAR.fullmatch(word)
    if near:
        return [Token("near", word, column, near.group(2))]
    for operator_name in ("NEAR", "PRE"):
        if word == operator_name or word.startswith(operator_name + "/"):
            raise QuerySyntaxError(column, f"{operator_name}/<number> followed by (", _show(word))
    if word.startswith("@"):
        return [Token("macro", word, column, word[1:])]
    if word[0] in "<>=":
        raise QuerySyntaxError(
            column, "a term (write comparisons without spaces, as in power>=100MW)", _show(word)
        )
    quantity = _QUANTITY.fullmatch(word)
    if quantity and quantity.group(1).lower() in _QUANTITY_NAMES:
        return [Token("quantity", word, column)]
    if quantity:
        raise QuerySyntaxError(
            column, "a quantity name (power, amount, chips) before the comparison", _show(word)
        )
    colon = word.find(":")
    if colon > 0:
        name = word[:colon].lower()
        name = FIELD_ALIASES.get(name, name)
        if name not in FIELDS:
            raise QuerySyntaxError(
                column, f"a field ({', '.join(FIELDS)})", _show(word[: colon + 1])
            )
        rest = word[colon + 1 :]
        field_token = Token("field", word[: colon + 1], column, name)
        if not rest:
            return [field_token]
        return [field_token, *_classify(rest, column + colon + 1)]
    return [Token("word", word, column)]


class Parser:
    """Recursive descent over the tokens of one query; `macros` maps @names to query text."""

    def __init__(
        self,
        query: str,
        macros: dict[str, str] | None = None,
        expanding: tuple[str, ...] = (),
        expansions: dict[tuple[str, str | None], Node] | None = None,
    ) -> None:
        """`expansions`: @names already parsed (by name and field), shared by the queries of
        one rule set, so that a sub-query used by several rules is one node: its results on an
        item are then found once (see Document.results)."""
        self.query = query
        self.macros = macros or {}
        self.expanding = expanding
        self.expansions: dict[tuple[str, str | None], Node] = (
            expansions if expansions is not None else {}
        )
        self.tokens = lex(query)
        self.position = 0

    # -- token helpers
    def peek(self) -> Token | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def end_column(self) -> int:
        return len(self.query) + 1

    def fail(self, expected: str, token: Token | None) -> QuerySyntaxError:
        if token is None:
            return QuerySyntaxError(self.end_column(), expected, "end of query")
        return QuerySyntaxError(token.column, expected, _show(token.text))

    # -- grammar
    def parse(self) -> Node:
        if not self.tokens:
            raise QuerySyntaxError(1, "a term", "an empty query")
        node = self.parse_or(None)
        token = self.peek()
        if token is not None:
            raise self.fail("an operator or the end of the query", token)
        if not node.is_positive():
            raise QuerySyntaxError(
                1, "at least one term that must be present", "a query that needs no term at all"
            )
        return node

    def text_since(self, first: int) -> str:
        """The query text of the tokens taken since token number `first`."""
        if first >= self.position:
            return ""
        last = self.tokens[self.position - 1]
        return self.query[self.tokens[first].column - 1 : last.column - 1 + len(last.text)]

    def parse_or(self, field: str | None) -> Node:
        first = self.position
        children = [self.parse_and(field)]
        while (token := self.peek()) is not None and token.kind == "or":
            self.take()
            children.append(self.parse_and(field))
        if len(children) == 1:
            return children[0]
        return Or(tuple(children), self.text_since(first))

    def parse_and(self, field: str | None) -> Node:
        first = self.position
        children = [self.parse_unary(field)]
        while (token := self.peek()) is not None and token.kind not in ("or", "rparen"):
            if token.kind == "and":
                self.take()
            children.append(self.parse_unary(field))
        if len(children) == 1:
            return children[0]
        return And(tuple(children), self.text_since(first))

    def parse_unary(self, field: str | None) -> Node:
        token = self.peek()
        if token is not None and token.kind in ("not", "minus"):
            first = self.position
            self.take()
            child = self.parse_unary(field)
            return Not(child, self.text_since(first))
        return self.parse_primary(field)

    def parse_primary(self, field: str | None) -> Node:
        token = self.peek()
        if token is None:
            previous = self.tokens[self.position - 1] if self.position else None
            after = f" after {_show(previous.text)}" if previous is not None else ""
            raise self.fail(f"a term{after}", None)
        if token.kind == "lparen":
            self.take()
            node = self.parse_or(field)
            closing = self.peek()
            if closing is None or closing.kind != "rparen":
                raise self.fail(f"')' to close the '(' at column {token.column}", closing)
            self.take()
            return node
        if token.kind == "field":
            first = self.position
            self.take()
            if field is not None:
                raise self.fail(f"no second field inside {field}:", token)
            nxt = self.peek()
            if nxt is None or nxt.kind in ("rparen", "or", "and"):
                raise self.fail(f"a term after {_show(token.text)}", nxt)
            scoped = self.parse_primary(token.value)
            if isinstance(scoped, And | Or | Not) and nxt.kind == "lparen":
                scoped.label = self.text_since(first)
            return scoped
        if token.kind == "near":
            return self.parse_near(field)
        if token.kind == "macro":
            self.take()
            return self.expand(token, field)
        if token.kind in ("word", "phrase"):
            self.take()
            return self.term(token, field)
        if token.kind == "regex":
            self.take()
            return self.regex(token, field)
        if token.kind == "quantity":
            self.take()
            return self.quantity(token, field)
        raise self.fail("a term", token)

    def parse_near(self, field: str | None) -> Leaf:
        near = self.take()
        distance = int(near.value)
        opening = self.peek()
        if (
            opening is None
            or opening.kind != "lparen"
            or opening.column != near.column + len(near.text)
        ):
            raise self.fail(f"'(' right after {near.text}", opening)
        self.take()
        operands: list[Leaf] = []
        while (token := self.peek()) is not None and token.kind != "rparen":
            operands.append(self.near_operand(field))
        if token is None:
            raise self.fail(f"')' to close {near.text}(", None)
        self.take()
        if len(operands) < 2:
            raise self.fail(f"at least two operands in {near.text}(...)", token)
        label = f"{near.text}(" + " ".join(op.label for op in operands) + ")"
        return Near(label, distance, tuple(operands), field, near.text.startswith("PRE"))

    def near_operand(self, field: str | None) -> Leaf:
        token = self.peek()
        if token is not None and token.kind in ("word", "phrase"):
            self.take()
            return self.term(token, field)
        if token is not None and token.kind == "quantity":
            # A figure is a stretch of words too: NEAR/5(chips>=1000 order*).
            self.take()
            return self.quantity(token, field)
        if token is not None and token.kind == "macro":
            self.take()
            return self.expand_near_operand(token, field)
        if token is not None and token.kind == "lparen":
            self.take()
            options: list[Leaf] = [self.near_operand(field)]
            while (nxt := self.peek()) is not None and nxt.kind == "or":
                self.take()
                options.append(self.near_operand(field))
            closing = self.peek()
            if closing is None or closing.kind != "rparen":
                raise self.fail("OR or ')' in a NEAR group", closing)
            self.take()
            shown = [o.label for o in options[:3]] + (["…"] if len(options) > 3 else [])
            return AnyOf("(" + " OR ".join(shown) + ")", tuple(options), field)
        raise self.fail(
            "a word, phrase, wildcard, quantity, @name or (a OR b) group inside NEAR", token
        )

    def expand_near_operand(self, token: Token, field: str | None) -> Leaf:
        """`@name` inside NEAR: its definition must list alternatives that NEAR can place
        (words, phrases, wildcards, quantities, groups of them, other such @names)."""
        name = token.value
        if name not in self.macros:
            known = ", ".join("@" + n for n in sorted(self.macros)) or "none defined"
            raise self.fail(f"a name from [define] ({known})", token)
        if name in self.expanding:
            raise self.fail("a definition that does not refer to itself", token)
        key = ("near:" + name, field)
        parsed = self.expansions.get(key)
        if isinstance(parsed, Leaf):
            return parsed
        inner = Parser(self.macros[name], self.macros, (*self.expanding, name), self.expansions)
        try:
            if not inner.tokens:
                raise inner.fail("a term", None)
            options = [inner.near_operand(field)]
            while (nxt := inner.peek()) is not None and nxt.kind == "or":
                inner.take()
                options.append(inner.near_operand(field))
            if inner.peek() is not None:
                raise inner.fail("OR or the end (inside NEAR, a @name lists alternatives)", nxt)
        except QuerySyntaxError as error:
            raise QuerySyntaxError(
                token.column,
                f"a @{name} that NEAR can use",
                f"an error in it at its column {error.column}: "
                f"expected {error.expected}, got {error.got}",
            ) from None
        node: Leaf = options[0] if len(options) == 1 else AnyOf(token.text, tuple(options), field)
        self.expansions[key] = node
        return node

    def expand(self, token: Token, field: str | None) -> Node:
        name = token.value
        if name not in self.macros:
            known = ", ".join("@" + n for n in sorted(self.macros)) or "none defined"
            raise self.fail(f"a name from [define] ({known})", token)
        if name in self.expanding:
            raise self.fail("a definition that does not refer to itself", token)
        parsed = self.expansions.get((name, field))
        if parsed is not None:
            return parsed
        inner = Parser(self.macros[name], self.macros, (*self.expanding, name), self.expansions)
        try:
            node = inner.parse_or(field)
            if inner.peek() is not None:
                raise inner.fail("an operator or the end of the query", inner.peek())
        except QuerySyntaxError as error:
            raise QuerySyntaxError(
                token.column,
                f"a valid @{name}",
                f"an error in it at its column {error.column}: "
                f"expected {error.expected}, got {error.got}",
            ) from None
        if isinstance(node, And | Or | Not):
            node.label = f"{field}:@{name}" if field else f"@{name}"
        self.expansions[(name, field)] = node
        return node

    def term(self, token: Token, field: str | None) -> Leaf:
        if token.kind == "phrase":
            words = [self.word_part(part, token) for part in token.value.split()]
            flat = tuple(w for group in words for w in group)
            if not flat:
                raise self.fail("words inside the quotes", token)
            if len(flat) == 1:
                return flat[0].relabel(token.text, field)
            return Phrase(token.text, flat, field)
        parts = self.word_part(token.text, token)
        if not parts:
            raise self.fail("a word", token)
        if len(parts) == 1:
            return parts[0].relabel(token.text, field)
        # "ai-driven" is the phrase "ai driven", as it is tokenised in text.
        return Phrase(token.text, tuple(parts), field)

    def word_part(self, part: str, token: Token) -> list[Word | Prefix]:
        wildcard = part.endswith("*")
        body = part[:-1] if wildcard else part
        if "*" in body:
            raise self.fail("'*' only at the end of a word", token)
        pieces = tokenize(body)
        if wildcard and (not pieces or not fold(body).rstrip().endswith(pieces[-1])):
            raise self.fail("letters or digits right before '*'", token)
        result: list[Word | Prefix] = [_WordSpec.word(p) for p in pieces]
        if wildcard:
            if len(pieces[-1]) < 2:
                raise self.fail("at least 2 letters before '*'", token)
            result[-1] = _WordSpec.prefix(pieces[-1])
        return result

    def regex(self, token: Token, field: str | None) -> Regex:
        try:
            return Regex(token.text, token.value, field)
        except re2.error as error:
            message = error.args[0] if error.args else error
            if isinstance(message, bytes):
                message = message.decode("utf-8", "replace")
            raise self.fail(f"a valid RE2 regular expression ({message})", token) from None

    def quantity(self, token: Token, field: str | None) -> QuantityCompare:
        found = _QUANTITY.fullmatch(token.text)
        assert found is not None
        name, op, raw = found.groups()
        kind = _QUANTITY_NAMES[name.lower()]
        value = _quantity_value(kind, raw)
        if value is None:
            examples = {
                "power": "a power such as 100MW or 1.5GW",
                "money": "an amount such as 500M, $1.5B or 2bn",
                "chips": "a count such as 10000 or 10k",
            }
            raise self.fail(
                examples[kind],
                Token("quantity", raw or "nothing", token.column + len(name) + len(op)),
            )
        return QuantityCompare(token.text, kind, op, value, field)  # type: ignore[arg-type]


class _WordSpec:
    """Builders for the word leaves inside terms and phrases."""

    @staticmethod
    def word(piece: str) -> Word:
        return Word(piece, stem(piece), None)

    @staticmethod
    def prefix(piece: str) -> Prefix:
        return Prefix(piece + "*", piece, None)


def _quantity_value(kind: QuantityName, raw: str) -> float | None:
    compact = raw.replace(",", "").replace("_", "")
    if kind == "power":
        found = _POWER_VALUE.fullmatch(compact)
        if found is None:
            return None
        return float(found.group(1)) * _POWER_SCALE[(found.group(2) or "mw").lower()]
    pattern = _MONEY_VALUE if kind == "money" else _COUNT_VALUE
    found = pattern.fullmatch(compact)
    if found is None:
        return None
    return float(found.group(1)) * _SCALE.get((found.group(2) or "").lower(), 1.0)


def parse_query(
    query: str,
    macros: dict[str, str] | None = None,
    expansions: dict[tuple[str, str | None], Node] | None = None,
) -> Node:
    """Parse one query; raises QuerySyntaxError with the column of the problem.

    `expansions`: shared by the queries of one rule set (see Parser)."""
    return Parser(query, macros, expansions=expansions).parse()
