"""The figures of a deal: value, power and chips, as each report states them.

Owns which figure of a kind a segment states for the deal (`segment_figure`: not one next to
words that make it something else, not one of a sister site), whether a headline cites a figure
in passing (`cited_in_passing`, for the clusterer), and the majority vote of the reports.
"""

from __future__ import annotations

from collections.abc import Iterator

from bot.clustering import features
from bot.clustering.facts.segments import Segment
from bot.clustering.facts.vocabulary import (
    CHIPS_EXCLUDE,
    CLAUSE_BREAK,
    FUNDING_TERMS,
    MONEY_EXCLUDE,
    POWER_EXCLUDE,
    word_stem,
)
from bot.text.quantities import Quantity, extract_quantities, same_figure
from bot.text.tokens import tokenize

# Money the story facts read: dollars only (no exchange rates here).
USD_ONLY = frozenset({"USD"})
# Figures within this relative distance are the same figure ("$6.2 billion", "$6.25bn").
FIGURE_TOLERANCE = 0.05


def _clause_bounds(text: str, quantity: Quantity) -> tuple[int, int]:
    """Where the clause around a figure starts and ends in `text`."""
    start = max((m.end() for m in CLAUSE_BREAK.finditer(text, 0, quantity.start)), default=0)
    end_match = CLAUSE_BREAK.search(text, quantity.end)
    return start, end_match.start() if end_match else len(text)


def _context_words(
    text: str,
    quantity: Quantity,
    before: int,
    after: int,
    neighbours: tuple[Quantity, ...] = (),
) -> set[str]:
    """Words (as written and stemmed) of the clause around a figure, `before`/`after` of it;
    with `neighbours` (the other figures of the text), the words after it only up to the next
    one ("$1.1B at a $19B valuation": the valuation is the $19B). Words before it are kept
    whatever stands between ("its valuation rose from $5bn to $19bn")."""
    start, end = _clause_bounds(text, quantity)
    for other in neighbours:
        if other.start >= quantity.end:
            end = min(end, other.start)
    words = tokenize(text[start : quantity.start])[-before:]
    words += tokenize(text[quantity.end : end])[:after]
    return set(words) | {word_stem(w) for w in words}


# Words near a figure of a kind that make it something other than the deal's.
_EXCLUDED_BY_KIND = {"money": MONEY_EXCLUDE, "power": POWER_EXCLUDE, "chips": CHIPS_EXCLUDE}


def cited_in_passing(headline: str, quantity: Quantity) -> bool:
    """Whether a headline's words say that one of its figures is not the deal's own: a backlog,
    revenue or valuation ("Northlake's backlog swells to $9 billion after Microsoft signs on"),
    a battery's or a planned expansion's power, a count per rack. The same words that keep such
    a figure out of a story's facts (`segment_figure`); money raised counts as the deal's own
    where the headline is about raising it."""
    exclude = _EXCLUDED_BY_KIND.get(quantity.kind)
    if not exclude:
        return False
    if quantity.kind == "money" and set(tokenize(headline)) & FUNDING_TERMS:
        exclude = exclude - FUNDING_TERMS
    return bool(_context_words(headline, quantity, 5, 4) & exclude)


def segment_figure(
    segment: Segment,
    kind: str,
    *,
    needs_deal: bool,
    funding_deal: bool,
    foreign_assets: frozenset[str],
) -> float | None:
    """The first figure of `kind` a segment states for the deal (a report's figure is its
    first segment's with one: `story`); money only in US dollars (no exchange rates here)."""
    quantity = segment_quantity(
        segment,
        kind,
        needs_deal=needs_deal,
        funding_deal=funding_deal,
        foreign_assets=foreign_assets,
        currencies=USD_ONLY,
    )
    return quantity.value if quantity is not None else None


def segment_quantity(
    segment: Segment,
    kind: str,
    *,
    needs_deal: bool,
    funding_deal: bool,
    foreign_assets: frozenset[str] = frozenset(),
    currencies: frozenset[str] | None = None,
) -> Quantity | None:
    """The first quantity of `kind` a segment states for the deal, as written: not vague, not
    next to words that make it something else (a backlog, a valuation, a battery), not a
    sister site's; money in one of `currencies` (None: any). `segment_figure` is its value in
    dollars; the deal ledger (bot.ledger) also shows amounts in other currencies as given."""
    quantities = segment_quantities(
        segment,
        kind,
        needs_deal=needs_deal,
        funding_deal=funding_deal,
        foreign_assets=foreign_assets,
        currencies=currencies,
    )
    return next(quantities, None)


def segment_quantities(
    segment: Segment,
    kind: str,
    *,
    needs_deal: bool,
    funding_deal: bool,
    foreign_assets: frozenset[str] = frozenset(),
    currencies: frozenset[str] | None = None,
    nearest: bool = False,
) -> Iterator[Quantity]:
    """Every quantity of `kind` a segment states for the deal, in order (`segment_quantity` is
    the first). With `nearest` (the ledger's reading; the clusterer's is without) the words
    after a figure count only up to the next figure ("raises $1.1B at a $19B valuation": the
    valuation is the $19B's)."""
    if needs_deal and not segment.is_title and not segment.deal:
        return
    blocked = _EXCLUDED_BY_KIND[kind] - (FUNDING_TERMS if funding_deal else frozenset())
    quantities = extract_quantities(segment.text)
    for quantity in quantities:
        if quantity.kind != kind or quantity.approximate or quantity.value <= 0:
            continue
        if kind == "money" and currencies is not None and quantity.currency not in currencies:
            continue
        neighbours = tuple(q for q in quantities if q is not quantity) if nearest else ()
        if _context_words(segment.text, quantity, 5, 4, neighbours) & blocked:
            continue
        if foreign_assets and _near_foreign_asset(segment.text, quantity, foreign_assets):
            continue
        yield quantity


def _near_foreign_asset(text: str, quantity: Quantity, foreign: frozenset[str]) -> bool:
    """A figure of a sister site ("The first phase of Colossus 2, about 200 MW")."""
    start, end = _clause_bounds(text, quantity)
    clause = features.fold(text[start:end])
    if any(features.fold(a) in clause for a in foreign):
        return True
    if len(clause.split()) <= 4:
        head = features.fold(text[: quantity.start])
        pieces = CLAUSE_BREAK.split(head)
        previous = pieces[-2] if len(pieces) >= 2 else ""
        return any(features.fold(a) in previous for a in foreign)
    return False


def vote(values: list[float]) -> float | None:
    """The figure a majority of reports agree on (within `FIGURE_TOLERANCE`), else None."""
    if not values:
        return None
    groups: list[list[float]] = []
    for value in values:
        for group in groups:
            if same_figure(group[0], value, FIGURE_TOLERANCE):
                group.append(value)
                break
        else:
            groups.append([value])
    groups.sort(key=len, reverse=True)
    top = groups[0]
    if len(groups) > 1 and len(groups[1]) >= len(top):
        return None
    if len(top) * 2 < len(values):
        return None
    return max(set(top), key=lambda v: (top.count(v), -top.index(v)))
