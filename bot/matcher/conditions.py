"""Necessary conditions of queries: atoms, clauses of them, and their algebra (AND, OR).

An atom is something an item can be checked for without analysing it (see `AtomKind`); a clause
holds when one of its atoms occurs anywhere in the item; a query can only match an item where all
its clauses hold. No clauses: no condition could be derived (the query must always be
evaluated). The nodes of a query (bot/matcher/nodes.py) derive their conditions here, and the
prefilter (bot/matcher/prefilter.py) searches for them.

`Atom` is a NamedTuple rather than a dataclass: atoms are hashed into sets for every item the
prefilter scans and compared in `Node.possible`, and a frozen dataclass's generated `__hash__`
and `__eq__` run in Python (measured: building a set of 40 atoms 11 us against 2.4 us, a
disjointness test 338 ns against 76 ns).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum
from itertools import product
from typing import NamedTuple


class AtomKind(StrEnum):
    """What an atom's value names."""

    STEM = "stem"  # a word whose stem is the value
    PREFIX = "prefix"  # a word beginning with the value
    PHRASE = "phrase"  # adjacent words, written "stem:s prefix:p ..." (see `phrase_atom`)
    QUANTITY = "quantity"  # a quantity of the kind named by the value (power, money, chips)


class Atom(NamedTuple):
    kind: AtomKind
    value: str


Clause = frozenset[Atom]
Conditions = tuple[Clause, ...]
# An OR of queries with several clauses each is expanded into all combinations up to this many
# clauses; beyond, one clause of each alternative is kept (still necessary, less selective).
MAX_EXPANDED_CLAUSES = 16


def phrase_atom(words: Iterable[tuple[AtomKind, str]]) -> Atom:
    """The atom of a phrase of stems and prefixes, in order: the whole phrase is one atom (its
    words are common, "data", "center"; the phrase is not)."""
    return Atom(AtomKind.PHRASE, " ".join(f"{kind}:{value}" for kind, value in words))


def phrase_words(value: str) -> list[tuple[AtomKind, str]]:
    """The words of a phrase atom's value, as `phrase_atom` wrote them."""
    words: list[tuple[AtomKind, str]] = []
    for word in value.split(" "):
        kind, _, text = word.partition(":")
        words.append((AtomKind(kind), text))
    return words


def is_word_clause(clause: Clause) -> bool:
    """Whether the clause can be told from the words found by the prefilter's scan alone (it
    names no quantity, which needs a search of its own)."""
    return all(atom.kind is not AtomKind.QUANTITY for atom in clause)


def word_clauses(conditions: Conditions) -> Conditions:
    return tuple(clause for clause in conditions if is_word_clause(clause))


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
    return all(kind is AtomKind.STEM and value in _FUNCTION_WORDS for kind, value in clause)


# Words found in almost every text: a clause of them is no condition worth checking first.
_FUNCTION_WORDS = frozenset(
    {"a", "an", "and", "as", "at", "be", "by", "for", "from", "in", "into", "is", "it", "its"}
    | {"no", "not", "of", "on", "or", "out", "over", "the", "their", "to", "up", "will", "with"}
    | {"without", "yet"}
)


def _atom_commonness(atom: Atom) -> float:
    match atom.kind:
        case AtomKind.QUANTITY:
            return 1.0  # figures are frequent in news, and a quantity cue costs a regex search
        case AtomKind.PHRASE:
            return 0.1
        case _ if atom.value in _FUNCTION_WORDS:
            return 5.0
        case _:
            return 1.0 / max(len(atom.value), 1)  # short words are the common ones


def commonness(clause: Clause) -> float:
    """A rough estimate of how often a clause holds, to keep the rarest clauses of an OR."""
    return sum(_atom_commonness(atom) for atom in clause)


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
