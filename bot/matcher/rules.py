"""Rule sets: loading them from TOML, matching items against them, scoring and explaining.

A rule file:

    threshold = 1.0                      # items scoring at least this are relevant

    [define]                             # named sub-queries, used in rules as @name
    compute = 'gpu* OR "data center*"'

    [[rule]]
    name = "compute-deal"
    query = '@compute AND (deal OR lease*) -earnings'
    weight = 1.0                         # may be negative: a penalty rule
    description = "..."

Scoring: a rule that matches on the title alone contributes `weight * 1.5`; one that needs the
summary (or the lead paragraph of the article text) contributes `weight`; one that needs the rest of
the article text contributes `weight * 0.35`, and all such text-only evidence together adds at most
half the threshold, so page clutter ("Related articles") can never make an item relevant by itself.
Each `MatchHit.weight` is the score that rule contributed; the item's score is their sum.

Speed: every query is compiled once. Each rule also yields necessary conditions (words and
quantities that must occur for it to match); one pass of the prefilter (`bot.matcher.prefilter`)
over an item's text tells which rules can match, and only those are evaluated on the analysed item
(`Document`, built once and shared by them). Most items can match no rule and are never analysed,
so the cost grows slowly with the number of rules and with the length of the text. A sub-query
(@name) used by several rules is one node, and the results of compound nodes are remembered per
item and scope (`Document.results`), so shared parts (the exclusions) are evaluated once per item.
"""

from __future__ import annotations

import threading
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.matcher.diagnosis import Diagnosis, diagnose
from bot.matcher.document import Document
from bot.matcher.nodes import FIELDS, FULL_SCOPE, NO_TIER, SCOPES_BY_LEVEL, Evidence, Node, Scope
from bot.matcher.prefilter import Prefilter
from bot.matcher.syntax import Expansions, Parser, QuerySyntaxError, parse_query
from bot.model.match import MatchHit, MatchItem, MatchResult, NearestRule
from bot.text.bounded import FileTooLarge, read_at_most

DEFAULT_THRESHOLD = 1.0
TITLE_FACTOR = 1.5
LEAD_FACTOR = 1.0
TEXT_FACTOR = 0.35
TEXT_ONLY_SHARE = 0.5  # of the threshold: the most that text-only evidence may add
_FACTORS = (TITLE_FACTOR, LEAD_FACTOR, TEXT_FACTOR)  # by scope level

_TOP_LEVEL_KEYS = ("threshold", "define", "rule")
_RULE_KEYS = ("name", "query", "weight", "description", "enabled")


# Far above any real rule file (the default rules are about 22 KB).
MAX_RULE_FILE_BYTES = 4 * 1024 * 1024


class RuleError(ValueError):
    """A rule file that cannot be used; the message names the file, the rule and the column."""


@dataclass(frozen=True, slots=True)
class Rule:
    name: str
    query: str
    weight: float
    description: str
    node: Node


class RuleSet:
    """Compiled rules and a threshold; `match` scores one item and explains the score."""

    def __init__(
        self,
        rules: Iterable[Rule],
        threshold: float = DEFAULT_THRESHOLD,
        source: str = "<rules>",
        *,
        prefilter: Prefilter | None = None,
    ) -> None:
        """`prefilter`: the compiled prefilter of the same rules, to share it."""
        self.rules: tuple[Rule, ...] = tuple(rules)
        self.threshold = float(threshold)
        self.source = source
        # Built on the first match (an RE2 set of every rule's atoms: some 70 ms of start-up):
        # a poll in which no feed changed matches nothing. Building it reports no error; a set
        # RE2 cannot compile leaves the prefilter off.
        self._built_prefilter = prefilter
        # Threads may match at once (a poll's parse thread and its story builder; an embedding
        # program's own): each would otherwise build a prefilter on its first match (a cold poll
        # of 100 feeds, parsing in six threads, built six: 0.3 s of CPU).
        self._building = threading.Lock()

    @property
    def _prefilter(self) -> Prefilter:
        built = self._built_prefilter
        if built is None:
            with self._building:
                built = self._built_prefilter
                if built is None:
                    built = self._built_prefilter = Prefilter([rule.node for rule in self.rules])
        return built

    def __repr__(self) -> str:
        return f"RuleSet({self.source!r}, {len(self.rules)} rules, threshold={self.threshold})"

    def __reduce__(self) -> tuple[Any, ...]:
        # The prefilter holds a compiled RE2 set, which cannot be pickled: it is rebuilt from
        # the rules (rule sets are sent to parser processes).
        return (RuleSet, (self.rules, self.threshold, self.source))

    def with_threshold(self, threshold: float | None) -> RuleSet:
        """The same rules with another threshold (a channel's own); None keeps this one."""
        if threshold is None or threshold == self.threshold:
            return self
        return RuleSet(self.rules, threshold, self.source, prefilter=self._prefilter)

    def match(self, item: MatchItem) -> MatchResult:
        """Score `item`: the matched rules' weights, scaled by where they matched.

        Only the rules the prefilter leaves are evaluated; the result is the same as
        `match_document(Document(item))`, which evaluates every rule.
        """
        scan = self._prefilter.scan(item)
        if scan is None:
            return self.match_document(Document(item))
        if not scan.rules:
            return MatchResult(score=0.0, relevant=self.threshold <= 0.0, hits=[])
        return self._score(Document(item, scan.present, meta=self._prefilter.meta), scan.rules)

    def nearest(self, item: MatchItem) -> NearestRule | None:
        """The rule `item` came nearest to matching among those it did not match: what it has of
        that rule, what it lacks, what excluded it. None when it matched every rule, or has no
        required part of any rule it did not match."""
        doc = Document(item)
        best: tuple[tuple[float, int, int], int, Diagnosis] | None = None
        for index, rule in enumerate(self.rules):
            if rule.weight <= 0 or rule.node.tier(doc) != NO_TIER:
                continue
            found = diagnose(rule.node, doc)
            if best is None or found.rank() > best[0]:
                best = (found.rank(), index, found)
        if best is None or best[2].share == 0.0:
            return None  # no rule has any of its required parts in the item
        _, index, found = best
        return NearestRule(
            self.rules[index].name,
            round(found.share, 3),
            tuple(found.has),
            tuple(found.lacks),
            tuple(found.excluded_by),
        )

    def match_many(self, items: Iterable[MatchItem]) -> list[MatchResult]:
        return [self.match(item) for item in items]

    def match_document(self, doc: Document) -> MatchResult:
        """Score an analysed item against every rule (no prefilter)."""
        return self._score(doc, range(len(self.rules)))

    def _score(self, doc: Document, indexes: Iterable[int]) -> MatchResult:
        hits: list[MatchHit] = []
        score = 0.0
        text_only = 0.0
        for index in indexes:
            rule = self.rules[index]
            node = rule.node
            # The smallest scope the rule matches in: title, else lead, else the whole text.
            tier = node.tier(doc)
            if tier == NO_TIER:
                continue
            scope: Scope = SCOPES_BY_LEVEL[tier]
            factor = _FACTORS[tier]
            contribution = rule.weight * factor
            if scope is FULL_SCOPE and contribution > 0:
                room = max(0.0, TEXT_ONLY_SHARE * self.threshold - text_only)
                contribution = min(contribution, room)
                text_only += contribution
            evidence: Evidence = []
            node.explain(doc, scope, evidence)
            terms = _terms(evidence)
            found = {field for _, _, field in evidence}
            fields = tuple(field for field in FIELDS if field in found)
            hits.append(MatchHit(rule.name, round(contribution, 6), terms, fields))
            score += contribution
        score = round(score, 6)
        hits.sort(key=lambda hit: -hit.weight)
        return MatchResult(score=score, relevant=score >= self.threshold, hits=hits)


def _terms(evidence: Evidence) -> tuple[str, ...]:
    """Matched terms for an explanation, one per matched text: 'gpu* (gpus)', 'deal'."""
    terms: list[str] = []
    seen: set[str] = set()
    for label, surface, _ in evidence:
        if surface in seen:
            continue
        seen.add(surface)
        same = surface == label or f'"{surface}"' == label
        terms.append(label if same else f"{label} ({surface})")
    return tuple(terms)


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def parse_rules(toml_text: str, source: str = "<rules>") -> RuleSet:
    """Compile a rule file's text; raises RuleError naming `source`, the rule and the column."""
    try:
        data = tomllib.loads(toml_text)
    except tomllib.TOMLDecodeError as error:
        raise RuleError(f"{source}: expected valid TOML, got a syntax error: {error}") from None
    for key in data:
        if key not in _TOP_LEVEL_KEYS:
            raise RuleError(
                f"{source}: expected only the keys {', '.join(_TOP_LEVEL_KEYS)}, got {key!r}"
            )
    threshold = DEFAULT_THRESHOLD
    if "threshold" in data:
        number = _number(data["threshold"])
        if number is None:
            raise RuleError(
                f"{source}: threshold: expected a number, got {_describe(data['threshold'])}"
            )
        threshold = number
    # One cache of parsed @names for the definitions and the rules: a definition checked here
    # is not parsed again for each definition and rule that uses it.
    expansions: Expansions = {}
    macros = _defines(data.get("define", {}), source, expansions)
    raw_rules = data.get("rule")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise RuleError(f"{source}: expected at least one [[rule]] table, got none")
    rules: list[Rule] = []
    seen: set[str] = set()
    for position, raw in enumerate(raw_rules, start=1):
        rule = _rule(raw, position, macros, source, expansions)
        if rule is None:
            continue
        if rule.name in seen:
            raise RuleError(
                f"{source}: rule '{rule.name}': expected a unique name, got it a second time"
            )
        seen.add(rule.name)
        rules.append(rule)
    return RuleSet(rules, threshold, source)


def _defines(raw: Any, source: str, expansions: Expansions) -> dict[str, str]:
    if not isinstance(raw, dict):
        raise RuleError(
            f"{source}: define: expected a table of name = 'query', got {_describe(raw)}"
        )
    macros: dict[str, str] = {}
    for name, text in raw.items():
        if not isinstance(text, str):
            raise RuleError(
                f"{source}: define '{name}': expected a query string, got {_describe(text)}"
            )
        if not name.replace("_", "").replace("-", "").isalnum():
            raise RuleError(
                f"{source}: define '{name}': expected a name of letters, digits, - or _"
            )
        macros[name] = text
    for name, text in macros.items():
        try:
            parser = Parser(text, macros, (name,), expansions)
            if not parser.tokens:
                raise QuerySyntaxError(1, "a query", "an empty string")
            parser.parse_or(None)
            if parser.peek() is not None:
                raise parser.fail("an operator or the end of the query", parser.peek())
        except QuerySyntaxError as error:
            raise RuleError(
                f"{source}: define '{name}', column {error.column}: "
                f"expected {error.expected}, got {error.got}"
            ) from None
    return macros


def _rule(
    raw: Any,
    position: int,
    macros: dict[str, str],
    source: str,
    expansions: Expansions,
) -> Rule | None:
    if not isinstance(raw, dict):
        raise RuleError(f"{source}: rule #{position}: expected a table, got {_describe(raw)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise RuleError(f"{source}: rule #{position}: expected a name, got {_describe(name)}")
    where = f"{source}: rule '{name}'"
    for key in raw:
        if key not in _RULE_KEYS:
            raise RuleError(f"{where}: expected only the keys {', '.join(_RULE_KEYS)}, got {key!r}")
    query = raw.get("query")
    if not isinstance(query, str):
        raise RuleError(f"{where}, key 'query': expected a query string, got {_describe(query)}")
    weight = _number(raw.get("weight", 1.0))
    if weight is None:
        raise RuleError(f"{where}, key 'weight': expected a number, got {_describe(raw['weight'])}")
    description = raw.get("description", "")
    if not isinstance(description, str):
        raise RuleError(
            f"{where}, key 'description': expected a string, got {_describe(description)}"
        )
    enabled = raw.get("enabled", True)
    if not isinstance(enabled, bool):
        raise RuleError(f"{where}, key 'enabled': expected true or false, got {_describe(enabled)}")
    try:
        node = parse_query(query, macros, expansions)
    except QuerySyntaxError as error:
        raise RuleError(
            f"{where}, column {error.column}: expected {error.expected}, got {error.got}"
        ) from None
    if not enabled:
        return None
    return Rule(name, query, weight, description, node)


def load_rules(path: Path) -> RuleSet:
    """Read and compile a rule file; raises RuleError (also for a missing or unreadable file)."""
    try:
        text = read_at_most(path, MAX_RULE_FILE_BYTES).decode("utf-8")
    except FileTooLarge:
        megabytes = MAX_RULE_FILE_BYTES // (1024 * 1024)
        raise RuleError(f"{path}: expected a rule file, got more than {megabytes} MiB") from None
    except OSError as error:
        raise RuleError(f"{path}: expected a readable rule file, got {error.strerror}") from None
    except UnicodeDecodeError:
        raise RuleError(f"{path}: expected UTF-8 text, got undecodable bytes") from None
    return parse_rules(text, str(path))


__all__ = ["Rule", "RuleError", "RuleSet", "load_rules", "parse_rules"]
