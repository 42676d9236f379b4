"""The query tree: the nodes a parsed rule query is made of, and how each matches a `Document`.

`Node` is the interface (`matches` in one scope, `tier` for the smallest scored scope, `explain`,
and `necessary` conditions for the prefilter); here are the compound nodes (And, Or, Not), the
word leaves (Word, Prefix, Phrase) and the scopes a term is looked for in. The other leaves (NEAR,
regular expressions, quantities) are in bot/matcher/leaves.py, the parser that builds the tree in
bot/matcher/syntax.py, the conditions' algebra in bot/matcher/conditions.py.

Where a term is looked for ("scope"): a word without a field looks in the title, then the summary
and the lead paragraph of the article text, then the rest of the text; the caller scores each scope
differently. Exclusions always look at the title, summary and lead (not at the rest of the text,
where page clutter would exclude good items) unless they name a field.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.matcher.conditions import (
    Atom,
    AtomKind,
    Conditions,
    all_of,
    any_of,
    phrase_atom,
    word_clauses,
)
from bot.matcher.document import META_FIELDS, AnalysedField, Document
from bot.text.tokens import normal_form

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
            gate = self._gate = word_clauses(self.conditions())
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
        return (frozenset({Atom(AtomKind.STEM, self.stem)}),)

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
        self.stem = normal_form(prefix)

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
        return (frozenset({Atom(AtomKind.STEM, self.stem), Atom(AtomKind.PREFIX, self.prefix)}),)

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
        atom = phrase_atom(
            (AtomKind.STEM, word.stem) if isinstance(word, Word) else (AtomKind.PREFIX, word.prefix)
            for word in self.words
        )
        return (frozenset({atom}),)


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
                gate = word_clauses(child.conditions())
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
