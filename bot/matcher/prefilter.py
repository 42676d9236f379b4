"""The rule prefilter: which rules an item can possibly match, found in one pass over its text.

Each rule's query yields necessary conditions (`Node.necessary`): clauses of atoms (a word stem, a
word prefix, a phrase, a quantity kind), and the rule can only match an item in which one atom of
every clause occurs; a rule that is an OR of cases ("(A B) OR (C D)") has such clauses for each
case (`alternatives`) and can only match where the clauses of one case hold. All word atoms of a
rule set are compiled into one RE2 set (a single automaton): one pass over the item's folded text
tells which of them occur. Quantity atoms are checked with the cues of `bot.text.quantities`, and
only for rules whose word clauses all hold. The rules left are evaluated on the analysed
`Document`; for most items there are none, and the item is never analysed at all, which is what
makes matching cheap for long texts. Inside the rules left, the atoms found let compound nodes be
skipped without evaluating them (`Node.possible`).

Soundness (the prefilter never drops a rule that would match): the fields are joined with "\\n",
which is no part of any word or quantity, so an atom in any field is an atom of the joined text
(the metadata fields are left out only when no term of the rule set names one, and the analysed
item then leaves them out too); a word pattern accepts every word whose stem is its atom
(`forms_pattern`, tested on real text) between any two characters that are not ASCII letters or
digits, which includes every word boundary of the tokeniser; quantity cues are implied by the
quantity patterns. When RE2 cannot run (its memory budget exceeded, text that is not valid
Unicode), every rule is evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import cast

import re2

from bot.matcher.conditions import (
    Atom,
    AtomKind,
    Clause,
    Conditions,
    all_of,
    commonness,
    phrase_words,
)
from bot.matcher.document import META_FIELDS, raw_fields
from bot.matcher.nodes import And, Leaf, Node, Or
from bot.model.match import MatchItem
from bot.text.quantities import may_contain
from bot.text.tokens import fold, forms_pattern, normal_form

# Before and after a word: anything but an ASCII letter or digit. Looser than the tokeniser's
# Unicode word boundary, so never stricter. The text searched is framed by line breaks, so that
# a word at its start or end has one too: the patterns need no "^" or "$", which would multiply
# the states of RE2's automaton (a fresh process built states for every new text, some 25 us
# per item, ten times the search itself).
_START = r"[^a-z0-9]"
_END = r"[^a-z0-9]"
_MAX_MEM = 64 << 20
# Quantity cues cheapest first (a power cue begins with a digit; money and chip cues are tried
# at every space), so a clause that one of them satisfies skips the dearer ones.
_CUE_ORDER = ("power", "money", "chips")

# Looser forms of the quantity cues (`bot.text.quantities.QUANTITY_CUES`), searched for by the
# RE2 set in the same pass as the word atoms, on the folded text: a cue is only searched for
# (in the raw text, as before) when its loose form occurred, which most text lacks. Each is
# implied by the cue it stands for, whatever folding does to the characters the cue matched
# (tested over every code point): a Unicode digit folds to a digit, white space and "-" to one
# character that is no letter or digit, a sign to itself, and a letter that matches an ASCII
# letter case-insensitively to that letter, except dotless "ı", which stays (hence "[iı]");
# word boundaries are left out (what folding does next to a word cannot be told).
_I = "[i\u0131]"
_ANY = "(?s:.)?"
_SPACE = "[^\\p{L}\\p{N}]"
_DIGIT = "\\p{Nd}"
LOOSE_CUES: dict[str, tuple[str, ...]] = {
    "money": (
        f"[$\u20ac\u00a3\u00a5\u20b9]{_ANY}{_DIGIT}",
        f"(?:usd|eur|gbp|jpy|cad|aud|chf|{_I}nr|rmb|cny|sek|nok){_ANY}{_DIGIT}",
        f"{_SPACE}(?:dollar|usd|eur|pound|sterl{_I}ng|gbp|yen|yuan|renm{_I}nb{_I}|rupee)",
    ),
    "power": (f"{_DIGIT}{_ANY}(?:k{_I}lowatt|megawatt|g{_I}gawatt|terawatt|kw|mw|gw|tw)",),
    "chips": (
        f"{_SPACE}(?:gpu|tpu|xpu|npu|lpu|ch{_I}p|superch{_I}p|accelerator|processor|graph{_I}cs"
        f"|g?[bh]{_DIGIT}{_DIGIT}|m{_I}{_DIGIT}{_DIGIT}{_DIGIT}|gaud{_I}|tra{_I}n{_I}um)",
    ),
}


# Between the words of a phrase: anything but ASCII letters and digits, and possessive "'s"
# (the tokeniser drops it, making the words around it adjacent).
_GAP = r"(?:[^a-z0-9]|'s)+"
# The rest of a word after a prefix: ASCII letters and digits, and anything not ASCII.
_REST = r"[^\x00-\x2f\x3a-\x60\x7b-\x7f]*"


def atom_pattern(kind: AtomKind, value: str) -> str:
    """The RE2 pattern that finds a word atom in folded text (see `Node.necessary`)."""
    if kind is AtomKind.STEM:
        return _START + forms_pattern(value) + _END
    if kind is AtomKind.PREFIX:
        return _START + re.escape(value)
    if kind is AtomKind.PHRASE:
        words = phrase_words(value)
        parts: list[str] = []
        for position, (word_kind, text) in enumerate(words):
            last = position == len(words) - 1
            if word_kind is AtomKind.STEM:
                parts.append(forms_pattern(text) + (_END if last else ""))
            else:
                # A prefix word is a word beginning with it, or of the same stem ("lease*" also
                # finds "leasing").
                rest = "" if last else _REST
                ending = _END if last else ""
                parts.append(
                    f"(?:{re.escape(text)}{rest}|{forms_pattern(normal_form(text))}{ending})"
                )
        return _START + _GAP.join(parts)
    raise ValueError(f"not a word atom: {kind}")


# Fills the pattern ids that are no atom's (the sentinel, the loose cues); equal to no atom.
_NOT_AN_ATOM = Atom(cast(AtomKind, ""), "")
# One clause as the scan checks it: the ids of its word atoms and its quantity kinds.
_Clause = tuple[frozenset[int], tuple[str, ...]]
# A rule whose query is an OR of cases ("(A AND B) OR (C AND D)") is looked at for each case on
# its own, up to this many cases; the conditions of an OR of all of them would be much looser.
MAX_ALTERNATIVES = 8


class _RuleConditions:
    """One rule's alternatives (any may hold), each a tuple of clauses (all must hold)."""

    __slots__ = ("alternatives", "index")

    def __init__(self, index: int, alternatives: tuple[tuple[_Clause, ...], ...]) -> None:
        self.index = index
        self.alternatives = alternatives


@dataclass(slots=True)
class Scan:
    """What one pass found in an item: the rules worth evaluating, in rule order, and the word
    atoms that occur (`present`, for `Node.possible`, which prunes inside those rules)."""

    rules: list[int]
    found: list[int]  # ids of the patterns found
    atoms: list[Atom] = field(repr=False, compare=False)  # the atom of each pattern id

    @property
    def present(self) -> frozenset[Atom]:
        atoms = self.atoms
        return frozenset([atoms[atom_id] for atom_id in self.found])


class Prefilter:
    """Compiled conditions of a rule set; `scan(item)` finds the rules worth evaluating."""

    def __init__(self, nodes: Sequence[Node]) -> None:
        self.rule_count = len(nodes)
        # The metadata fields (source, url, author, category) are scanned only when some term
        # names one: unscoped terms never look at them, and a feed's name or an article's URL
        # slug ("...-data-center-deal") would otherwise wake rules that cannot match.
        self.meta = any(
            getattr(node, "field", None) in META_FIELDS for node in _walk(nodes, leaves=True)
        )
        atom_ids: dict[Atom, int] = {}
        # Every word atom of every node's conditions is searched for, so that `Node.possible`
        # can rely on the atoms found: one missing from the scan is missing from the item.
        for node in _walk(nodes):
            for clause in node.conditions():
                for atom in clause:
                    if atom.kind is not AtomKind.QUANTITY:
                        atom_ids.setdefault(atom, len(atom_ids) + 1)  # 0 is the sentinel
        compiled: list[_RuleConditions] = []
        # Each alternative's rarest clause, by the estimate of `commonness`: the rule is looked
        # at only where one of their atoms (or the loose cue of a quantity kind) occurs.
        rarest: dict[int, list[Clause]] = {}
        for index, node in enumerate(nodes):
            cases = alternatives(node)
            if all(cases):
                rarest[index] = _anchor_clauses(cases)
            converted = []
            for clauses in cases:
                checks = [
                    (
                        frozenset(
                            atom_ids[atom] for atom in clause if atom.kind is not AtomKind.QUANTITY
                        ),
                        tuple(
                            sorted(
                                (value for kind, value in clause if kind is AtomKind.QUANTITY),
                                key=_CUE_ORDER.index,
                            )
                        ),
                    )
                    for clause in clauses
                ]
                # Clauses of words alone first: they cost nothing once the set has run.
                checks.sort(key=lambda c: (bool(c[1]), len(c[0])))
                converted.append(tuple(checks))
            compiled.append(_RuleConditions(index, tuple(converted)))
        self._conditions: tuple[_RuleConditions, ...] = tuple(compiled)
        # The loose cues follow the atoms in the set (their ids are no atom's).
        cue_patterns: list[str] = []
        self._cue_ids: dict[str, frozenset[int]] = {}
        for kind in _CUE_ORDER:
            first = len(atom_ids) + 1 + len(cue_patterns)
            cue_patterns += LOOSE_CUES[kind]
            self._cue_ids[kind] = frozenset(range(first, len(atom_ids) + 1 + len(cue_patterns)))
        self._set = self._compile(atom_ids, cue_patterns)
        # Rules are indexed by the atoms of their rarest clause, a quantity kind by the ids of
        # its loose cues (a clause holds only where one of them is found); rules without
        # conditions are always looked at.
        by_atom: dict[int, list[_RuleConditions]] = {}
        self._always: dict[int, _RuleConditions] = {}
        for rule in compiled:
            if rule.index not in rarest:
                self._always[rule.index] = rule
                continue
            anchor: set[int] = set()
            for clause in rarest[rule.index]:
                for atom in clause:
                    if atom.kind is AtomKind.QUANTITY:
                        anchor |= self._cue_ids[atom.value]
                    else:
                        anchor.add(atom_ids[atom])
            for atom_id in anchor:
                by_atom.setdefault(atom_id, []).append(rule)
        size = len(atom_ids) + 1 + len(cue_patterns)
        self._anchors = frozenset(by_atom)
        self._by_atom: list[tuple[_RuleConditions, ...]] = [()] * size
        for atom_id, rules in by_atom.items():
            self._by_atom[atom_id] = tuple(rules)
        self._atoms: list[Atom] = [_NOT_AN_ATOM] * size
        for atom, atom_id in atom_ids.items():
            self._atoms[atom_id] = atom

    @staticmethod
    def _compile(atom_ids: dict[Atom, int], cues: list[str]) -> re2.Set | None:
        options = re2.Options()
        options.log_errors = False
        options.never_capture = True
        options.max_mem = _MAX_MEM
        patterns = re2.Set.SearchSet(options)
        # Pattern 0 matches every text: a result without it means the search itself failed.
        if patterns.Add("") != 0:
            return None
        try:
            for (kind, value), atom_id in atom_ids.items():
                if patterns.Add(atom_pattern(kind, value)) != atom_id:
                    return None
            for position, cue in enumerate(cues, start=len(atom_ids) + 1):
                if patterns.Add(cue) != position:
                    return None
            patterns.Compile()
        except re2.error:
            return None
        return patterns

    def scan(self, item: MatchItem) -> Scan | None:
        """The rules `item` might match and the atoms it has; None: evaluate every rule."""
        if self._set is None:
            return None
        raw = "\n".join(raw_fields(item, for_prefilter=True, meta=self.meta))
        try:
            found = self._set.Match(f"\n{fold(raw)}\n".encode())
        except UnicodeEncodeError:  # lone surrogates: RE2 takes valid UTF-8 only
            return None
        if not found or found[0] != 0:
            return None  # RE2 gave up (memory): no answer is not "no atom"
        if not self._always and self._anchors.isdisjoint(found):
            return Scan([], found, self._atoms)  # no rule can match (most items)
        by_atom = self._by_atom
        rules = dict(self._always) if self._always else None
        for atom_id in found:
            anchored = by_atom[atom_id]
            if anchored:
                if rules is None:
                    rules = {}
                for rule in anchored:
                    rules[rule.index] = rule
        if not rules:
            return Scan([], found, self._atoms)
        ids = frozenset(found)
        cues: dict[str, bool] = {}
        chosen: list[int] = []
        for index in sorted(rules):
            for clauses in rules[index].alternatives:
                if self._holds(clauses, ids, raw, cues):
                    chosen.append(index)
                    break
        return Scan(chosen, found, self._atoms)

    def _holds(
        self, clauses: tuple[_Clause, ...], ids: frozenset[int], raw: str, cues: dict[str, bool]
    ) -> bool:
        for words, kinds in clauses:
            if not words.isdisjoint(ids):
                continue
            if any(self._cue(kind, ids, raw, cues) for kind in kinds):
                continue
            return False
        return True

    def _cue(self, kind: str, ids: frozenset[int], raw: str, seen: dict[str, bool]) -> bool:
        known = seen.get(kind)
        if known is None:
            known = seen[kind] = not self._cue_ids[kind].isdisjoint(ids) and may_contain(
                kind,  # type: ignore[arg-type]
                raw,
            )
        return known


def _anchor_clauses(cases: list[Conditions]) -> list[Clause]:
    """The clauses a rule is looked at by: one of each case's, the rarest, or, if rarer
    altogether, one clause that every case has (a company every case names)."""
    own = [min(clauses, key=commonness) for clauses in cases]
    shared = set(cases[0]).intersection(*cases[1:])
    if shared:
        best = min(shared, key=commonness)
        if commonness(best) <= commonness(frozenset().union(*own)):
            return [best]
    return own


def alternatives(node: Node) -> list[Conditions]:
    """Cases of `node` of which one holds wherever it matches, each with its conditions: an
    OR's alternatives, an AND's combinations of its parts' cases; at most MAX_ALTERNATIVES
    (where there would be more, a part's cases are merged into its own conditions, the
    loosest of them first). Sound: a matching OR has a matching alternative, a matching AND a
    matching case of each required part."""
    if isinstance(node, Or):
        cases = [case for child in node.children for case in alternatives(child)]
        if len(cases) <= MAX_ALTERNATIVES:
            return cases
        if len(node.children) <= MAX_ALTERNATIVES:
            return [child.conditions() for child in node.children]
        return [node.conditions()]
    if isinstance(node, And):
        parts = [alternatives(child) for child in node.children if child.is_positive()]
        required = [child for child in node.children if child.is_positive()]

        def count() -> int:
            total = 1
            for options in parts:
                total *= len(options)
            return total

        while count() > MAX_ALTERNATIVES:
            widest = max(range(len(parts)), key=lambda position: len(parts[position]))
            parts[widest] = [required[widest].conditions()]
        combined: list[list[Conditions]] = [[]]
        for options in parts:
            combined = [[*chosen, option] for chosen in combined for option in options]
        return [all_of(chosen) for chosen in combined]
    return [node.conditions()]


def _walk(nodes: Sequence[Node], *, leaves: bool = False) -> list[Node]:
    """The nodes `Node.possible` may be asked about: the rules' compound nodes and the leaves
    they hold. The words inside a phrase or a NEAR are never asked (the leaf is, with its own
    conditions), so their atoms, often as common as "to" or "for", are not searched for.
    `leaves`: those words too."""
    seen: dict[int, Node] = {}
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if id(node) not in seen:
            seen[id(node)] = node
            if leaves or not isinstance(node, Leaf):
                stack.extend(node.parts())
    return list(seen.values())
