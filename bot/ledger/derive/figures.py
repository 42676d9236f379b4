"""Which figures a deal record counts: each report's own whole figure of value, power and chips.

Owns reading one stated figure (a yearly amount, a running total or first tranche, a first
part's or a facility's size, an earlier year's deal cited in passing, a chip count "plus ...
more"), which of a report's figures may be the deal's own (`own_figures`), and whether the
reports agree on one (`agreed_claims`, `deal_figure`). Pure functions over the story facts'
`StatedFigure`s and the ledger's `Claim`s; gathering each report's claims is `record`'s.

- Each report's figure of a kind is the one it votes with in the story facts
  (`bot.clustering.facts.report_figures`: the title's, else the lead's; not a backlog, a
  valuation, a battery or a sister site). A figure is *counted* (goes into totals) only when every
  report that states it agrees with the story's majority figure within the facts' tolerance
  (`same_figure` with `FIGURE_TOLERANCE`, the one "same figure" test of the clusterer); where
  they disagree the record keeps the range and the outlets at each end, and no total counts it.
  A figure in a sentence dated to an earlier year than its report is an earlier deal cited in
  passing ("In 2020 ... 10,000 GPUs") and is left out, as are a first part's figures ("an
  initial $900m will go to the 400MW campus") and a party's facility's size ("Poolside's 2GW
  Horizon campus"). A report whose first figure differs from what most say, but which also
  states their figure, agrees with them (its first was a phase: "200MW in 2026").
- Money in other currencies, and amounts per year, are kept as given ("€1.2 billion", "$290m
  a year") and never converted: no exchange rates are applied anywhere in newsbot, and a yearly
  amount times an assumed term would be an invented total. A deal has a dollar value only where
  its reports give one in dollars.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from bot.clustering.facts.figures import FIGURE_TOLERANCE, vote
from bot.clustering.facts.story import StatedFigure
from bot.model.deal import Claim, DealFigure
from bot.text.quantities import extract_quantities, same_figure

_YEARLY = re.compile(
    r"^\W{0,2}(?:a|per|each|every)\s+(?:year|annum)\b|^\W{0,2}annually\b|^\W{0,2}yearly\b",
    re.IGNORECASE,
)
_YEARLY_BEFORE = re.compile(r"\b(?:annual|yearly)\s+(?:\w+\s+){0,2}$", re.IGNORECASE)


def is_yearly(stated: StatedFigure) -> bool:
    """ "$290m a year", "annual payments of $1 billion": a yearly amount, not the deal's total."""
    quantity = stated.quantity
    after = stated.sentence[quantity.end : quantity.end + 30]
    before = stated.sentence[max(0, quantity.start - 40) : quantity.start]
    return bool(_YEARLY.search(after) or _YEARLY_BEFORE.search(before))


# The words that introduce the first tranche of a deal's figure ("starts at $1.25B", "an initial
# $900m", "the first tranche of").
_FIRST_PART = (
    r"\b(?:starts?|starting)\s+(?:at|with)\s+|\b(?:an\s+)?initial\s+|\bfirst\s+tranche\s+of\s+"
)

# Words right before or after a figure that make it something other than the deal's whole:
# a running total the deal brings a party to ("lifting total investment to $15bn", "has raised
# $12 billion in a year", "bringing total to 393MW"), the first tranche of it ("starts at
# $1.25B", "an initial $900m"), capital spending around it, a count in equivalents ("equal to
# nearly 600,000 H100s"), or an outsider's estimate ("implies
# roughly $9 billion", "could be worth more than $10 billion", "a goal of more than $2 billion",
# "could take around 100,000 H100s"), a figure per building or rack, or the size of the
# larger project the deal is part of ("as part of plans for data centers of up to 500 MW",
# "the first phase of 500MW AI factories"). The story facts read the figure
# each report states first; the ledger, which adds figures up, leaves these out.
_NOT_WHOLE_BEFORE = re.compile(
    r"(?:\b(?:total|totals|totalling|totaling|cumulative|so\s+far|altogether)\b[^.;]{0,40}"
    r"|\b(?:lift|lifts|lifting|lifted|bring|brings|bringing|brought|take|takes|taking|raise|"
    r"raises|raising|boost|boosts|boosting|double|doubles|doubling|push|pushes|pushing)\b"
    r"(?:\s+[\w'’-]+){0,7}\s+to\s+(?:about\s+|roughly\s+|around\s+|nearly\s+)?"
    r"|\b(?:has|have|had)\s+(?:raised|invested)\s+(?:more\s+than\s+|over\s+|about\s+)?"
    r"|\b(?:equal|equivalent)\s+(?:to|of)\s+"
    rf"|{_FIRST_PART}"
    r"|\b(?:implies|imply|implying|estimated?|estimates|could\s+be\s+worth)\b[^.;]{0,25}"
    r"|\bfund\s+(?:roughly\s+|about\s+)?"
    r"|\b(?:goal|target|forecast|projection)s?\s+of\s+(?:more\s+than\s+|over\s+|about\s+)?"
    r"|\b(?:could|would|might)\s+(?:take|need|require)\s+"
    r"|\b(?:each|every|per)\s+(?:building|site|rack|server|hall|unit)\b[^.;]{0,40}"
    r"|\b(?:part\s+of|inside|within)\b[^.;,]{0,40}|\b(?:first|initial)\s+phase\s+of\s+)$",
    re.IGNORECASE,
)
_NOT_WHOLE_AFTER = re.compile(
    r"^\W{0,2}(?:in\s+a\s+year|in\s+total|so\s+far|to\s+date|of\s+capital\s+spending|"
    r"now\s+(?:committed|contracted)|"
    r"(?:\w+\s+){0,2}in\s+(?:debt\s+and\s+equity|total))\b",
    re.IGNORECASE,
)
_NOT_WHOLE_REACH = 90


# A relative clause about a party ("The GPU cloud, which this week extended its Series B with
# $200m from Magnetar, is reported to have signed ..."): what it says is another deal's.
_RELATIVE_CLAUSE = re.compile(r",\s+(?:which|who|whose)\b[^,;]*$", re.IGNORECASE)


def not_the_whole(stated: StatedFigure) -> bool:
    """A figure its words make a running total, a first tranche, capital spending or an
    estimate (see _NOT_WHOLE_BEFORE), or one said in a relative clause about a party: not the
    deal's own whole figure."""
    quantity = stated.quantity
    before = stated.sentence[max(0, quantity.start - _NOT_WHOLE_REACH) : quantity.start]
    after = stated.sentence[quantity.end : quantity.end + _NOT_WHOLE_REACH]
    return bool(
        _NOT_WHOLE_BEFORE.search(before)
        or _NOT_WHOLE_AFTER.search(after)
        or _RELATIVE_CLAUSE.search(stated.sentence[: quantity.start])
    )


# Money a sentence gives as a first part of the deal ("An initial $900m will go to the 400MW
# Ellendale campus"): the sentence's other figures are that part's, not the deal's.
_PART_MONEY_BEFORE = re.compile(rf"(?:{_FIRST_PART})$", re.IGNORECASE)
# A figure written as a party's facility's size ("Poolside's 2GW Horizon campus gets CoreWeave
# as anchor tenant"): the whole of what that party has, of which a tenant, a lender or a
# supplier takes part.
_POSSESSOR_BEFORE = re.compile(r"[\w.-](?:'s|’s)\s+$")
_FACILITY_AFTER = re.compile(
    r"^[\s-]*(?:[\w'’-]+\s+){0,3}?(?:campus|campuses|site|sites|facility|park|hub|cluster)\b",
    re.IGNORECASE,
)


def of_a_part(stated: StatedFigure) -> bool:
    """A power or chip figure in a sentence about a first part of the deal's money, or
    written as the size of a party's facility: not the deal's own."""
    quantity = stated.quantity
    sentence = stated.sentence
    if _POSSESSOR_BEFORE.search(sentence[: quantity.start]) and _FACILITY_AFTER.search(
        sentence[quantity.end :]
    ):
        return True
    return quantity.kind != "money" and any(
        other.kind == "money" and _PART_MONEY_BEFORE.search(sentence[: other.start])
        for other in extract_quantities(sentence)
    )


# "10,000 of its GPUs from Lambda, plus roughly $200 million for 8,000 more": a count and more.
_PLUS_MORE = re.compile(
    r"^[^.;]{0,60}?\bplus\b[^.;]{0,50}?\b(\d{1,3}(?:,\d{3})+|\d+)(k)?\s+more\b", re.IGNORECASE
)


def with_more(stated: StatedFigure) -> tuple[float, str]:
    """A chip count and what the sentence adds to it ("plus ... 8,000 more"), as value and
    text; other figures as stated."""
    quantity = stated.quantity
    more = _PLUS_MORE.search(stated.sentence[quantity.end :])
    if quantity.kind != "chips" or more is None:
        return quantity.value, quantity.text
    added = float(more.group(1).replace(",", "")) * (1000 if more.group(2) else 1)
    return quantity.value + added, f"{quantity.text} plus {more.group(1)}{more.group(2) or ''} more"


_YEAR = re.compile(r"\b(?:19|20)\d\d\b")


def earlier_year(stated: StatedFigure, published: datetime | None) -> bool:
    """A figure in a sentence dated to an earlier year than the report ("In 2020 Microsoft
    built OpenAI a system with 10,000 GPUs"): an earlier deal cited in passing."""
    if published is None:
        return False
    return any(int(year) < published.year for year in _YEAR.findall(stated.sentence))


def deal_figure(claims: Sequence[Claim]) -> DealFigure:
    """A figure from the reports' claims: counted when they all agree with the majority figure
    within tolerance, else the range with the outlets at each end."""
    if not claims:
        return DealFigure()
    values = [claim.value for claim in claims]
    low, high = min(values), max(values)
    majority = vote(values)
    agreed = majority is not None and all(
        same_figure(v, majority, FIGURE_TOLERANCE) for v in values
    )

    def outlets_near(end: float) -> tuple[str, ...]:
        near = [c.outlet for c in claims if same_figure(c.value, end, FIGURE_TOLERANCE)]
        return tuple(dict.fromkeys(near))

    return DealFigure(
        counted=majority if agreed else None,
        low=low,
        high=high,
        low_outlets=outlets_near(low),
        high_outlets=outlets_near(high),
        claims=tuple(claims),
    )


def own_figures(stated: Sequence[StatedFigure], published: datetime | None) -> list[StatedFigure]:
    """The figures of one kind a report states that may be the deal's own, in order; none if
    the first is not (a report's figure is its first, as in the story facts: a later one that
    the report does not lead with is less often the deal's, "annual revenue ... at $290m")."""
    own = [
        figure
        for figure in stated
        if not earlier_year(figure, published)
        and not not_the_whole(figure)
        and not of_a_part(figure)
    ]
    return own if own and own[0] is stated[0] else []


# A report's claim of a figure, with the title or lead sentence it stands in.
Said = tuple[Claim, str]


def agreed_claims(claims: list[list[Said]]) -> list[Said]:
    """Each report's claim, its first own figure; where that differs from what most reports
    say and the report also states their figure, the report is read as agreeing with them: its
    first figure is a part of the deal ("200MW in 2026" of a 1 GW cluster) or another's."""
    majority = vote([options[0][0].value for options in claims])
    if majority is None:
        return [options[0] for options in claims]
    return [
        next(
            (said for said in options if same_figure(said[0].value, majority, FIGURE_TOLERANCE)),
            options[0],
        )
        for options in claims
    ]
