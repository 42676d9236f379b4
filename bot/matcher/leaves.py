"""The query's leaves that are more than words: NEAR/PRE and the (a OR b) groups inside them,
regular expressions (RE2) and quantity comparisons; each is a `Leaf` (bot/matcher/nodes.py)."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any, Literal

import re2

from bot.matcher.conditions import Atom, AtomKind, Conditions, all_of, any_of
from bot.matcher.document import AnalysedField
from bot.matcher.nodes import Leaf, Node
from bot.text.quantities import Quantity


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
        return (frozenset({Atom(AtomKind.PREFIX, literal.group(1))}),)


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
        return (frozenset({Atom(AtomKind.QUANTITY, self.kind)}),)
