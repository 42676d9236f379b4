"""Relevance decisions with their explanation."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True, frozen=True)
class MatchHit:
    """One rule that matched: which terms, in which fields."""

    rule: str
    weight: float
    terms: tuple[str, ...]
    fields: tuple[str, ...]


@dataclass(slots=True, frozen=True)
class NearestRule:
    """For an item that is not relevant: the rule it came nearest to matching, the parts of that
    rule it has (with the terms found), those it lacks, and the exclusions that vetoed it."""

    rule: str
    share: float  # of the rule's required parts that the item has
    has: tuple[str, ...]
    lacks: tuple[str, ...]
    excluded_by: tuple[str, ...]


@dataclass(slots=True)
class MatchResult:
    """Score of an item against a rule set, and whether it passes the threshold."""

    score: float
    relevant: bool
    hits: list[MatchHit] = field(default_factory=list)

    @property
    def rules(self) -> list[str]:
        return [hit.rule for hit in self.hits]


@dataclass(slots=True)
class MatchItem:
    """The fields of an entry that rules can look at."""

    title: str
    summary: str = ""
    text: str = ""
    source: str | None = None
    url: str | None = None
    author: str | None = None
    categories: list[str] = field(default_factory=list)
