"""Deriving a deal record from one story: its reports, read as the story facts read them.

Owns which figures go into totals, the buyer and seller roles, the deal's kind and whether it
was confirmed. Pure functions (no I/O) over `LedgerReport`s, the member reports of one story.

- Figures: each report's figure of a kind is the one it votes with in the story facts
  (`bot.clustering.facts.report_figures`: the title's, else the lead's; not a backlog, a
  valuation, a battery or a sister site). A figure is *counted* (goes into totals) only when every
  report that states it agrees with the story's majority figure within the facts' tolerance
  (`anchors.close` with `FIGURE_TOLERANCE`, the one "same figure" test of the clusterer); where
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
- Roles: the buyer pays and the seller is paid (customer and provider, acquirer and target,
  investor or lender and who raises the money). They are read from the verbs between two
  parties in titles and lead sentences ("X sells ... to Y", "X buys ... from Y", "X takes 260MW
  at Y's campus", "X taps Y", "X invests ... in Y", "X raises ... from Y", "X raises $2bn"),
  shared by the parties listed beside either ("from Microsoft, Nvidia and others"); a party
  written as an owner is not the verb's subject ("Nvidia's Huang ... back"), and a first lead
  sentence that describes its subject ("The nuclear startup agreed to supply Switch") is about
  the title's first party. The deal's kind picks which verbs count: an investment's or an
  acquisition's roles are the money's, not those of the cloud contract it pays for ("Anthropic
  picks AWS ... in exchange for $4 billion from Amazon"); in a chips deal the maker an agreed
  chip count names sells them. A role the reports do not state is left empty rather than
  guessed.
- Parties: the organisations the deal is between. The story facts' parties, less what is not
  an organisation (a figure, a product or funding round, a month, a person's surname, a name
  written mostly as a party's: "Oklo's Aurora", "xAI's Grok chatbot"), less what the reports'
  own words show is not one: a person (after a title, "President Macron", "Sheikh Mohamed",
  "CEO Jensen Huang"; a first and last name whose last name is written alone; a first and last
  name written only as a party's owner, "Jed McCaleb's Navigation Fund"), a place's people or a
  description ("Emirati", "French AI", "Hyperscale Data Centers"), a product by its version
  or as a model ("Claude 3", "Grok models", "Trainium2"), a project or a quoted brand
  ("Project Ceiba", "'Stargate Norway'"), a piece of a longer name ("Owl" of "Blue Owl"); and
  with any other name that a report's title or first lead sentence makes a party's
  counterparty ("raises $1.3 billion from Microsoft", "signs power deal with data center
  operator Switch").
- Kind: the deal vocabulary of the titles and leads, weighted towards titles (KIND_WORDS),
  then read against the deal's own figure and seller: an agreed chip count naming a party as
  maker is a chips deal, and chips that a seller the reports call a cloud provides are cloud
  capacity.
- Status: confirmed from the first report that does not read as talks or a plan ("in talks",
  "weighs", "people familiar"); ended when the newest report says the deal is off ("talks
  end", "rejects ... offer", "called off"); the dates first reported and confirmed are report
  times.

Written here rather than with an NLP library for the reasons the facts package gives: small,
deterministic, and about deal roles that general parsers do not know.
"""

from __future__ import annotations

import calendar
import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.clustering import features as ft
from bot.clustering.anchors import close
from bot.clustering.facts import Report, fact_lead, story_facts
from bot.clustering.facts.figures import FIGURE_TOLERANCE, vote
from bot.clustering.facts.mentions import Mentions
from bot.clustering.facts.readings import read_mentions, read_report
from bot.clustering.facts.segments import is_acronym, unusual_caps
from bot.clustering.facts.story import MAX_REPORTS, ReportFigures, StatedFigure, report_figures
from bot.clustering.facts.vocabulary import (
    FACILITY_NOUNS,
    GENERIC,
    MODEL_CODE,
    ORG_SUFFIX,
    PRIOR_NAMES,
    PRODUCT_LINES,
    ROLE_WORDS,
    gazetteer,
)
from bot.ledger.records import (
    KINDS,
    STATUS_CONFIRMED,
    STATUS_ENDED,
    STATUS_TALKS,
    UNKNOWN_KIND,
    Claim,
    DealFigure,
    DealRecord,
    DealSource,
)
from bot.text.quantities import extract_quantities

# Lead sentences read per report for roles, kind and status (the facts read five).
LEAD_SENTENCES = 3
TITLE_WEIGHT = 3.0
LEAD_WEIGHT = 1.0


@dataclass(frozen=True, slots=True)
class LedgerReport:
    """One member report of a deal story, as storage hands it to the ledger."""

    outlet: str
    link: str | None
    title: str
    summary: str = ""
    text: str = ""
    published: datetime | None = None


# ----------------------------------------------------------------------------- figures
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
    r"|\b(?:starts?|starting)\s+(?:at|with)\s+|\b(?:an\s+)?initial\s+|\bfirst\s+tranche\s+of\s+"
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
_PART_MONEY_BEFORE = re.compile(
    r"(?:\b(?:an\s+)?initial\s+|\bfirst\s+tranche\s+of\s+|\b(?:starts?|starting)\s+(?:at|with)\s+)$",
    re.IGNORECASE,
)
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
    agreed = majority is not None and all(close(v, majority, FIGURE_TOLERANCE) for v in values)

    def outlets_near(end: float) -> tuple[str, ...]:
        near = [c.outlet for c in claims if close(c.value, end, FIGURE_TOLERANCE)]
        return tuple(dict.fromkeys(near))

    return DealFigure(
        counted=majority if agreed else None,
        low=low,
        high=high,
        low_outlets=outlets_near(low),
        high_outlets=outlets_near(high),
        claims=tuple(claims),
    )


# ----------------------------------------------------------------------------- roles
_GAP = r"(?:[\w$€£.,'’%-]+\s+){0,8}?"
# Words between the verb's last word and party B: "to Saudi Arabia's Humain", "AI startup".
_BEFORE_PARTY = r"\s+(?:[\w'’.-]+\s+){0,3}?"
# What a verb says changes hands: money (a stake, a loan, a company), goods (capacity, chips,
# power, space), or either with the same direction (an acquirer buys, a payer pays). A story of
# an investment often also reports a contract the other way ("Anthropic picks AWS as its main
# cloud in exchange for up to $4 billion from Amazon"): the deal's kind picks the family its
# roles are read from (`deal_roles`).
MONEY = "money"
GOODS = "goods"
EITHER = "either"
# (pattern between party A and party B, role of A, role of B, family); `{gap}` is a run of up
# to 8 words.
_ROLE_PATTERNS: tuple[tuple[str, str, str, str], ...] = (
    # "A will provide early-stage capital for B", "A to fund B's sites", "A lends $1bn to B":
    # what is provided is money, and its provider the one paying
    (
        r"(?:to\s+|will\s+)?(?:provide|provides|providing|provided|supply|supplies|supplied|"
        r"extend|extends|extended|offer|offers|offered|commit|commits|committed)\s+"
        r"(?=(?:[\w$€£.,'’%-]+\s+){0,4}?(?:capital|funding|financing|investment|loans?|"
        r"credit|cash|equity)\b){gap}(?:for|to|in|into)",
        "buyer",
        "seller",
        MONEY,
    ),
    (
        r"(?:to\s+|will\s+)?(?:fund|funds|funded|finance|finances|financed|lend|lends|lent|"
        r"lending)(?!\s+by\b)(?:\s+{gap}to)?",
        "buyer",
        "seller",
        MONEY,
    ),
    # "A, funded by B": A raised the money
    (r"(?:funded|financed|backed)\s+by", "seller", "buyer", MONEY),
    # "A sells / leases / rents / supplies ... to B"
    (
        r"(?:to\s+)?(?:sell|sells|sold|selling|lease|leases|leased|leasing|rent|rents|rented|"
        r"supply|supplies|supplied|supplying|provide|provides|provided|providing|deliver|"
        r"delivers|ship|ships|offload|offloads|hand|hands)\s+{gap}to",
        "seller",
        "buyer",
        GOODS,
    ),
    # "A to supply / power / host B", "A wins ... from B", "A lands ... with B"; not the noun
    # ("supply Switch with power from its Aurora reactors")
    (
        r"(?<!\bwith\s)(?<!\bof\s)(?<!\bfor\s)(?<!\bthe\s)(?<!\bits\s)"
        r"(?:to\s+|will\s+)?(?:supply|supplies|supplying|power|powers|powering|host|hosts|"
        r"hosting|equip|equips|serve|serves)"
        # the noun: "signs nuclear power deals with B", "to buy power from B"
        r"(?!\s+(?:[\w'’.-]+\s+){0,3}?(?:from|with|and|deals?|agreements?|contracts?|"
        r"purchases?)\s)",
        "seller",
        "buyer",
        GOODS,
    ),
    # "A to provide server racks for B", "A will build supercomputers for B"
    (
        r"(?:to\s+|will\s+|would\s+)?(?:build|builds|building|built|provide|provides|"
        r"providing|provided|supply|supplies|supplying|supplied)\s+{gap}for",
        "seller",
        "buyer",
        GOODS,
    ),
    # "A, being tapped for B's supercomputer", "A was picked by B": A is the one chosen
    (
        r"(?:being|been|is|was|are|were|be)\s+(?:tapped|picked|chosen|selected|hired)\s+"
        r"(?:by|for|as)",
        "seller",
        "buyer",
        GOODS,
    ),
    # "A, B and C sign up for D's chips"
    (r"(?:sign|signs|signed|signing)\s+up\s+(?:for|with)", "buyer", "seller", GOODS),
    (
        r"(?:wins|won|lands|landed|secures|secured|bags|books)\s+{gap}(?:from|with)",
        "seller",
        "buyer",
        EITHER,
    ),
    # "A raises / borrows ... from B", "A gets $N from B"
    (
        r"(?:raises|raised|raising|borrows|borrowed|draws|draw)\s+{gap}(?:from|led by|backed by)",
        "seller",
        "buyer",
        MONEY,
    ),
    (
        r"(?:gets|got|receives|received)\s+(?=[^;]*?(?:[$€£]\d|\b(?:funding|investment|loan|"
        r"financing|backing|capital)\b)){gap}(?:from|led by|backed by)",
        "seller",
        "buyer",
        MONEY,
    ),
    # "A buys / leases / rents / orders / gets ... from B", "A takes 260MW at B's campus"
    (
        r"(?:to\s+)?(?:buy|buys|bought|buying|purchase|purchases|purchased|lease|leases|leased|"
        r"rent|rents|rented|order|orders|ordered|source|sources|license|licenses|procure|"
        r"procures|take|takes|took|takes up|gets|got|receives|received)\s+{gap}from",
        "buyer",
        "seller",
        GOODS,
    ),
    (
        r"(?:to\s+)?(?:lease|leases|leased|rent|rents|rented|take|takes|took|signs\s+for|"
        r"signed\s+for)\s+{gap}at",
        "buyer",
        "seller",
        GOODS,
    ),
    # "A to buy up to 1 GW of B's fuel cells", "A contracts for 1 GW of B fuel cells"
    (
        r"(?:to\s+)?(?:buy|buys|bought|buying|purchase|purchases|purchased|order|orders|"
        r"ordered|procure|procures|procured|contracts\s+for|contracted\s+for)\s+{gap}of",
        "buyer",
        "seller",
        EITHER,
    ),
    # "A acquires / buys B"
    (
        r"(?:to\s+|will\s+|agrees\s+to\s+|agreed\s+to\s+|in\s+talks\s+to\s+)?(?:acquire|acquires|"
        r"acquired|acquiring|buy|buys|bought|buying|take\s+over|takes\s+over)",
        "buyer",
        "seller",
        EITHER,
    ),
    # "A taps / picks B"
    (
        r"(?<!\bbeing\s)(?<!\bbeen\s)(?<!\bis\s)(?<!\bwas\s)(?<!\bare\s)(?<!\bwere\s)"
        r"(?<!\bbe\s)(?:to\s+|will\s+)?(?:tap|taps|tapped|pick|picks|picked|choose|chooses|chose|select|"
        r"selects|selected|hire|hires|hired|turns\s+to|turn\s+to|rent\s+from)",
        "buyer",
        "seller",
        GOODS,
    ),
    # "A backs / invests in B"
    (
        r"(?:to\s+|will\s+)?(?:back|backs|backed|invest\s+in|invests\s+in)",
        "buyer",
        "seller",
        MONEY,
    ),
    # "A invests / puts / pours $N in(to) B"
    (
        r"(?:to\s+)?(?:invest|invests|invested|investing|put|puts|pour|pours|plow|plows|"
        r"inject|injects)\s+{gap}(?:in|into|to|on|with)",
        "buyer",
        "seller",
        MONEY,
    ),
    # "A commits / spends / pays ... to / on B"
    (
        r"(?:to\s+)?(?:commit|commits|committed|spend|spends|pay|pays|paid)\s+{gap}"
        r"(?:in|into|to|on|with)",
        "buyer",
        "seller",
        EITHER,
    ),
    # "A's acquisition of B", "A agrees deal to acquire B"
    (r"(?:'s|’s)?\s+(?:acquisition|purchase|takeover|buyout)\s+of", "buyer", "seller", EITHER),
)
_COMPILED_ROLES = tuple(
    (
        re.compile(r"\s+" + pattern.replace("{gap}", _GAP) + _BEFORE_PARTY + r"$", re.IGNORECASE),
        a,
        b,
        family,
    )
    for pattern, a, b, family in _ROLE_PATTERNS
)
# The one pattern whose party A is written as an owner ("A's acquisition of B"); after any
# other "A's" the verb's subject is what A has ("Nvidia's Huang and Macron back Mistral's push").
_OWNER_PATTERN = _COMPILED_ROLES[-1][0]
# A party raising money with no lender named beside it: "CoreWeave raises $2.3 billion in debt".
_RAISES_AFTER = re.compile(
    r"^\s+(?:[\w'’-]+\s+){0,2}?(?:raises|raised|borrows|borrowed|secures|secured|closes|closed)"
    r"\s+(?:up\s+to\s+|about\s+|nearly\s+|more\s+than\s+)?(?:[A-Z]{0,3}[$€£]\d|\d[\d.,]*\s*"
    r"(?:billion|million|bn|m)\b)",
    re.IGNORECASE,
)
# Parties listed together share a role: "from Microsoft, Nvidia and others", "Blackstone and
# CPP Investments agreed to acquire".
_LIST_GAP = re.compile(r"^(?:\s*,\s*|\s+and\s+|\s*,\s+and\s+|\s*&\s*)$")
# A sentence in which B is being acted on by A in the passive: "B is acquired by A".
_PASSIVE = re.compile(
    r"\s+(?:is|was|to\s+be|will\s+be|being)\s+(?:acquired|bought|purchased|backed)\s+by\s+$",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=4096)
def _party_pattern(party: str) -> re.Pattern[str]:
    """How a party is written in a sentence: its name, its first word or its initials."""
    words = party.split()
    forms = [re.escape(party)]
    if len(words) > 1:
        first = words[0]
        if len(first) >= 3 and ft.fold(first) not in ft.STOPWORDS:
            forms.append(re.escape(first))
        initials = "".join(w[0] for w in words if w[:1].isupper())
        if len(initials) >= 2:
            forms.append(re.escape(initials))
    return re.compile(r"(?<![\w-])(?:" + "|".join(forms) + r")(?:'s|’s)?(?![\w-])")


def _mentions(sentence: str, parties: Sequence[str]) -> list[tuple[int, int, str]]:
    """Where each party is named in `sentence`: (start, end, party), in order, no overlaps."""
    found: list[tuple[int, int, str]] = []
    for party in parties:
        for match in _party_pattern(party).finditer(sentence):
            found.append((match.start(), match.end(), party))
    found.sort(key=lambda m: (m[0], -(m[1] - m[0])))
    kept: list[tuple[int, int, str]] = []
    for mention in found:
        if kept and mention[0] < kept[-1][1]:
            continue
        kept.append(mention)
    return kept


def _family_roles(sentence: str, parties: Sequence[str]) -> list[tuple[str, str, str]]:
    """(party, role, family) triples a sentence states between consecutive named parties,
    with the parties listed beside either of them (`_LIST_GAP`), and of a party raising money
    (`_RAISES_AFTER`)."""
    mentions = _mentions(sentence, parties)
    roles: list[tuple[str, str, str]] = []

    def listed(index: int, step: int) -> list[str]:
        """The parties listed next to mention `index`, going back (-1) or on (+1)."""
        out = []
        while 0 <= index + step < len(mentions):
            a, b = sorted((index, index + step))
            if not _LIST_GAP.match(sentence[mentions[a][1] : mentions[b][0]]):
                break
            index += step
            out.append(mentions[index][2])
        return out

    for index, ((_, a_end, a), (b_start, _, b)) in enumerate(itertools.pairwise(mentions)):
        if a == b:
            continue
        between = " " + sentence[a_end:b_start] + " "
        if len(between) > 120 or ";" in between:
            continue
        if _PASSIVE.search(between):
            found = [(b, "buyer", a, "seller", EITHER)]
        else:
            owner = sentence[a_end - 2 : a_end] in ("'s", "’s")
            found = [
                (a, role_a, b, role_b, family)
                for pattern, role_a, role_b, family in _COMPILED_ROLES
                if (not owner or pattern is _OWNER_PATTERN) and pattern.search(between)
            ][:1]
        for first, role_first, second, role_second, family in found:
            first_at, second_at = (index, index + 1) if first == a else (index + 1, index)
            ahead, behind = sorted((first_at, second_at))
            roles += [(first, role_first, family), (second, role_second, family)]
            # the parties listed before the first of the two share its role, and after the
            # second its role
            for party in listed(ahead, -1):
                roles.append((party, role_first if ahead == first_at else role_second, family))
            for party in listed(behind, +1):
                roles.append((party, role_second if behind == second_at else role_first, family))
    for _, end, party in mentions:
        if sentence[end - 2 : end] not in ("'s", "’s") and _RAISES_AFTER.match(sentence[end:]):
            roles.append((party, "seller", MONEY))
    return roles


def sentence_roles(sentence: str, parties: Sequence[str]) -> list[tuple[str, str]]:
    """(party, role) pairs a sentence states between its named parties."""
    return [(party, role) for party, role, _ in _family_roles(sentence, parties)]


# The families of verbs a deal's roles are read from, by its kind: an investment's or an
# acquisition's roles are those of the money, any other deal's those of what is sold.
_FAMILIES = {"acquisition": (MONEY, EITHER), "financing": (MONEY, EITHER)}
_GOODS_FAMILIES = (GOODS, EITHER)

# A vote for a role: (party, role, weight).
RoleVote = tuple[str, str, float]


def deal_roles(
    sentences: Sequence[tuple[str, float]],
    parties: Sequence[str],
    kind: str = UNKNOWN_KIND,
    extra: Sequence[RoleVote] = (),
) -> dict[str, str]:
    """Each party's role where the sentences agree on it (weighted votes), else none.

    Only the verbs of the deal's kind's family vote when any of them states a role (a
    financing's roles are the money's, not those of the cloud contract the money pays for);
    `extra` votes are of what is sold (the maker of a chips deal's chips)."""
    said: list[tuple[str, str, str, float]] = []
    for sentence, weight in sentences:
        for party, role, family in set(_family_roles(sentence, parties)):
            said.append((party, role, family, weight))
    said += [(party, role, GOODS, weight) for party, role, weight in extra]
    families = _FAMILIES.get(kind, _GOODS_FAMILIES)
    if any(family in families for _, _, family, _ in said):
        said = [vote for vote in said if vote[2] in families]
    votes: dict[str, dict[str, float]] = {}
    for party, role, _, weight in said:
        counts = votes.setdefault(party, {})
        counts[role] = counts.get(role, 0.0) + weight
    roles: dict[str, str] = {}
    for party, counts in votes.items():
        ranked = sorted(counts.items(), key=lambda kv: -kv[1])
        if len(ranked) == 1 or ranked[0][1] > ranked[1][1]:
            roles[party] = ranked[0][0]
    return roles


# ----------------------------------------------------------------------------- parties
# "A signs a deal with B", "A partners with B": B is a party to the deal, whoever pays.
_COUNTERPARTY = re.compile(
    r"\s+(?:(?:deal|deals|agreement|agreements|contract|contracts|pact|partnership|alliance|"
    r"memorandum|mou|venture)|(?:partners?|partnered|partnering|teams?\s+up|teamed\s+up|"
    r"signs?|signed|inks?|inked))\s+with" + _BEFORE_PARTY + r"$",
    re.IGNORECASE,
)
# A name made of a figure ("$19B", "Dh5.5bn", "500MW" in a Headline Case title).
_FIGURE_WORD = re.compile(
    r"^(?:[$€£¥]?\d.*|[A-Za-z]{1,3}[$€£¥]?\d[\d.,]*(?:bn|b|mn|m|k)|[A-Za-z]{1,3}[$€£¥]\d.*)$",
    re.IGNORECASE,
)
_MONTHS = frozenset(m.casefold() for m in calendar.month_name if m)
MAX_DEAL_PARTIES = 6
_PAST_AFTER = re.compile(
    r"^[\s,]+(?:[\w'’-]+\s+){0,3}?(?:ago|earlier|previously|last\s+year)\b", re.IGNORECASE
)
_DEAL_NOUN = re.compile(
    r"^\s*(?:deal|deals|agreement|agreements|pact|contract|contracts|partnership)\b",
    re.IGNORECASE,
)
# Words that describe a name's owner or backer ("PIF-backed AI", "Philanthropy-funded"), or
# make it a description ("AI-related", "Biden-era AI").
_ATTRIBUTE = re.compile(
    r"-(?:backed|funded|owned|led|based|powered|linked|controlled|related|era|style|class|"
    r"grade|scale|sized|level)$"
)
# Up to three words, no punctuation, between a name and the party it describes.
_MODIFIER_GAP = re.compile(r"^\s+(?:[\w'’.-]+\s+){0,3}$")


def _what_is_sold(words: Sequence[str]) -> bool:
    """A name made of the words of what a deal sells ("Azure", "OCI", "Blackwell", "Series
    C"): a product, a service or a funding round, not an organisation."""
    return all(
        w in _KIND_VOCABULARY or w in PRODUCT_LINES or w in GENERIC or len(w) == 1 for w in words
    )


def not_an_organisation(name: str, surnames: frozenset[str]) -> bool:
    """A name found where parties are that is a figure, a product or a funding round, a month
    or a person's surname (`surnames`: names the story also writes after a first name)."""
    words = [ft.fold(w) for w in name.split()]
    if not words:
        return True
    if any(_FIGURE_WORD.match(w) or _ATTRIBUTE.search(w) for w in words):
        return True
    if len(words) == 1 and MODEL_CODE.match(name) and words[0] not in PRIOR_NAMES:
        return True  # "MI300X", "H100s"; not "G42"
    if _what_is_sold(words) or (len(words) == 1 and words[0] in _MONTHS):
        return True
    return " ".join(words) in surnames


# ----------------------------------------------------------------------------- not organisations
# Titles written before a person's name ("President Macron", "Sheikh Mohamed bin Zayed", "Nvidia
# CEO Jensen Huang"): the facts' role words and the honorifics.
HONORIFICS = frozenset(
    [
        "sheikh",
        "sheik",
        "prince",
        "princess",
        "king",
        "queen",
        "emir",
        "sultan",
        "crown",
        "mr",
        "mrs",
        "ms",
        "dr",
        "sir",
        "lord",
        "dame",
        "president",
        "premier",
        "chancellor",
    ]
)
# Words inside a person's name that its next part follows ("Sheikh Mohamed bin Zayed").
_NAME_PARTICLES = frozenset(["bin", "ibn", "bint"])
_TITLES = ROLE_WORDS | HONORIFICS | _NAME_PARTICLES
# Demonyms English does not form from the place's name by a suffix; the others are found by
# their suffix ("Japanese", "Emirati", "Indian").
_IRREGULAR_DEMONYMS = frozenset(
    [
        "french",
        "dutch",
        "finnish",
        "spanish",
        "danish",
        "swiss",
        "greek",
        "welsh",
        "scottish",
        "irish",
        "flemish",
        "filipino",
        "thai",
        "basque",
    ]
)
_DEMONYM_SUFFIXES = ("ese", "ian", "ish", "an", "i", "ic")
_CONTINENTS = frozenset(["europe", "africa", "america", "americas", "asia", "arabia", "oceania"])


@functools.lru_cache(maxsize=1)
def _place_words() -> tuple[frozenset[str], frozenset[str]]:
    """The folded whole names of countries, US states and continents, and their words."""
    whole = frozenset(gazetteer()) | _CONTINENTS
    return whole, frozenset(word for name in whole for word in name.split())


@functools.lru_cache(maxsize=4096)
def is_demonym(word: str) -> bool:
    """ "Emirati", "Japanese", "Indian", "French", "Saudi": a word for a place's people or things,
    not the place ("Japan", "Taiwan" are places; a word of a place's name on its own, "Saudi",
    is the adjective)."""
    folded = ft.fold(word)
    if folded in _IRREGULAR_DEMONYMS:
        return True
    if not word[:1].isupper() or not word.isalpha():
        return False
    whole, words = _place_words()
    if folded in whole:
        return False
    if folded in words:
        return True
    stems = [
        folded[: -len(suffix)]
        for suffix in _DEMONYM_SUFFIXES
        if folded.endswith(suffix) and len(folded) - len(suffix) >= 4
    ]
    return any(place.startswith(stem) for stem in stems for place in words)


def _generic_word(word: str) -> bool:
    """A folded word of a description, not of a name ("hyperscale", "data", "centers", "AI")."""
    if word in GENERIC or word in _KIND_VOCABULARY or word in FACILITY_NOUNS:
        return True
    if len(word) >= 6:
        return any(len(g) >= 6 and (g.startswith(word) or word.startswith(g)) for g in GENERIC)
    return False


def a_description(name: str) -> bool:
    """A name made only of places, demonyms and generic words ("Hyperscale Data Centers",
    "Texas AI Data Center", "French AI", "Emirati"): what the reports call something, not an
    organisation's name."""
    _, place_words = _place_words()
    parts = name.replace("-", " ").split()
    return bool(parts) and all(
        is_demonym(part) or ft.fold(part) in place_words or _generic_word(ft.fold(part))
        for part in parts
    )


# A product's version after its name ("Claude 3", "Grok 2", "Gemini 2.5"), not a figure.
_VERSION_AFTER = re.compile(
    r"^\s+\d{1,2}(?:\.\d)?(?![\d,%]|\.\d|\s*(?:%|[kKmMgG][wW]|billion|million|bn|mn|m\b|k\b|"
    r"per\b|percent|a\s+year|years?))"
)
# What a model or an app is called after its name ("Grok models", "the Claude chatbot"); not
# hardware, which is called after its maker too ("Nvidia chips").
_MODEL_AFTER = re.compile(r"^\s+(?:models?|chatbots?|assistants?|apps?)\b", re.IGNORECASE)
# A product code that runs a word and a number together ("Trainium2", "Trainium3").
_PRODUCT_CODE = re.compile(r"^[A-Za-z]{4,}\d{1,2}[A-Za-z]{0,2}$")


def a_product(name: str, texts: Sequence[str]) -> bool:
    """A product or model rather than its maker: a word run together with its generation
    ("Trainium2"), or a name written with a version or as a model or app in at least half its
    mentions ("Claude 3", "Llama 3", "Grok 2", "next Grok models")."""
    if " " not in name and _PRODUCT_CODE.match(name) and ft.fold(name) not in PRIOR_NAMES:
        return True
    named = re.compile(r"(?<![\w-])" + re.escape(name) + r"(?![\w-])")
    versioned = total = 0
    for text in texts:
        for match in named.finditer(text):
            total += 1
            after = text[match.end() :]
            versioned += bool(_VERSION_AFTER.match(after) or _MODEL_AFTER.match(after))
    return versioned > 0 and 2 * versioned >= total


def a_person(name: str, texts: Sequence[str], surnames: frozenset[str]) -> bool:
    """A person: a name that starts with a title ("Sheikh Mohamed") or that a report writes
    after one or after "bin" ("President Trump", "Nvidia CEO Jensen Huang", "founder Mira
    Murati", "Mohamed bin Zayed"), or a first and last name whose last name the story also
    writes alone ("Elon Musk" and "Musk")."""
    words = name.split()
    if len(words) > 1 and ft.fold(words[0]) in HONORIFICS:
        return True
    if ft.fold(words[-1]) in surnames and _first_and_last(name):
        return True
    titled = re.compile(r"(?<![\w-])([A-Za-z]+)\.?\s+" + re.escape(name) + r"(?![\w-])")
    return any(
        ft.fold(match.group(1)) in _TITLES for text in texts for match in titled.finditer(text)
    )


def _first_and_last(name: str) -> bool:
    """Shaped as a person's name: two or three capitalised words, none of them an
    organisation's word ("Jed McCaleb", not "Navigation Fund", "Blue Owl Capital")."""
    words = name.split()
    return 2 <= len(words) <= 3 and all(
        w[:1].isupper()
        and w.isalpha()
        and not is_acronym(w)
        and ft.fold(w) not in ORG_SUFFIX
        and ft.fold(w) not in PRIOR_NAMES
        and not _generic_word(ft.fold(w))
        for w in words
    )


def only_an_owner(name: str, texts: Sequence[str], names: Sequence[str]) -> bool:
    """A first and last name written only as the owner of another name of the story ("Ilya
    Sutskever's SSI", "Jed McCaleb's Navigation Fund"): a person who owns a party, not a party
    (as "to Elon Musk's startup" names the startup's owner). A company written so is kept: the
    owner of a factory sold is its seller ("to buy Sharp's Sakai factory")."""
    others = [n for n in names if n != name]
    if not others or not _first_and_last(name):
        return False
    named = re.compile(r"(?<![\w-])" + re.escape(name) + r"(?![\w-])")
    owned = re.compile(
        r"^(?:'s|’s)\s+(?:" + "|".join(re.escape(other) for other in others) + r")(?![\w-])"
    )
    mentions = [(text, match.end()) for text in texts for match in named.finditer(text)]
    return bool(mentions) and all(owned.match(text[end:]) for text, end in mentions)


# A name a report puts in quotes ("announces 'Stargate Norway' with Nscale", "a Saudi 'AI
# Zone'"): a brand it introduces, a project or a product; not possessives ("Musk's xAI").
_QUOTED = re.compile(r"(?:(?<=\s)|^)['‘\"“]([A-Z][^'’\"”]{1,40}?)['’\"”](?!\w)")


def a_project(name: str, texts: Sequence[str]) -> bool:
    """ "Project Ceiba", "Project Rainier", or a name the reports quote ("'Stargate UAE'"): a
    project or a brand, not who builds it or pays for it."""
    if ft.fold(name.split()[0]) == "project" and " " in name:
        return True
    return any(
        quoted == name or (quoted.endswith(" " + name) and a_description(quoted[: -len(name)]))
        for text in texts
        for quoted in _QUOTED.findall(text)
    )


def a_fragment(name: str, texts: Sequence[str], names: Sequence[str]) -> bool:
    """A one-word name the reports write only after the words that precede it in another name
    of the story ("Owl", always "Blue Owl", of "Blue Owl Real Assets"; "Hynix" of "SK
    Hynix"): a piece of that name (an organisation is shortened to its first word, which the
    party's forms already match)."""
    if " " in name:
        return False
    folded = ft.fold(name)
    alone = re.compile(r"(?<![\w-])" + re.escape(name) + r"(?![\w-])")
    mentions = [(text, m.start()) for text in texts for m in alone.finditer(text)]
    for other in names:
        words = other.split()
        for index in range(1, len(words)):
            if ft.fold(words[index]) != folded:
                continue
            prefix = " ".join(words[:index]) + " "
            if mentions and all(text[:at].endswith(prefix) for text, at in mentions):
                return True
    return False


def not_an_organisation_here(
    name: str, texts: Sequence[str], surnames: frozenset[str], names: Sequence[str]
) -> bool:
    """What the reports' own words show is not an organisation: a person (by title or last
    name), a place's people or a description, a product by its version, a project or a quoted
    brand, a piece of a longer name, or a person written only as another party's owner."""
    return (
        a_project(name, texts)
        or a_fragment(name, texts, names)
        or a_description(name)
        or a_product(name, texts)
        or a_person(name, texts, surnames)
        or only_an_owner(name, texts, names)
    )


def _surnames(found: Mentions, candidates: Sequence[str]) -> frozenset[str]:
    """Names the story writes alone and after a first name ("Huang" and "Jensen Huang"): a
    person's surname, as an organisation's short form is its first word ("Galaxy Digital" ->
    "Galaxy"). A name with capitals inside ("CoreWeave") or a prior name is an organisation's,
    and a word with a hyphen is not a first name ("Nvidia-backed CoreWeave"). People the facts
    recognised by their role or speech are included."""
    alone = {
        ft.fold(c) for c in candidates if " " not in c and not unusual_caps(c) and not is_acronym(c)
    }
    longer: set[str] = set()
    for key, _, _, _ in found.names:
        if (
            2 <= len(key) <= 3
            and key[-1] in alone
            and key[-1] not in PRIOR_NAMES
            and all(w.isalpha() for w in key)
            and not any(w in ORG_SUFFIX or w in GENERIC or w in PRIOR_NAMES for w in key)
        ):
            longer.add(key[-1])
    return frozenset(longer | {ft.fold(p) for p in found.people})


# What a product is called after its name ("xAI's Grok chatbot", "its Mistral Compute
# platform", "Anthropic's Claude models").
_PRODUCT_AFTER = re.compile(
    r"^\s+(?:\d{1,2}(?:\.\d)?\s+)?(?:models?|chatbots?|assistants?|apps?|platforms?|software|"
    r"services?|instances?|clusters?|supercomputers?|systems?|chips?|cpus?|gpus?|tpus?|"
    r"processors?|accelerators?|superchips?)\b",
    re.IGNORECASE,
)


def _mostly_possessed(name: str, sentences: Sequence[str], owners: Sequence[str]) -> bool:
    """Whether the sentences write `name` as a party's or as "its" ("Oklo's Aurora", "its
    Aurora reactors") at least as often as alone, more than once or once as a product ("xAI's
    Grok chatbot"): what a party has (a product, a person, a unit), not a party ("Microsoft's
    G42 stake" is one of many G42s; one "Ilya Sutskever's SSI" may be a person's company)."""
    owner = "|".join(re.escape(o) for o in owners if o != name) or r"(?!)"
    owned = re.compile(
        r"(?:\b(?:its|their)|(?:" + owner + r")(?:'s|’s))\s+" + re.escape(name) + r"(?![\w-])"
    )
    named = _party_pattern(name)
    matches = [(sentence, m.end()) for sentence in sentences for m in owned.finditer(sentence)]
    possessed = len(matches)
    as_product = any(_PRODUCT_AFTER.match(sentence[end:]) for sentence, end in matches)
    return (possessed > 1 or as_product) and 2 * possessed >= sum(
        len(named.findall(sentence)) for sentence in sentences
    )


def _related(sentence: str, kept: Sequence[str], candidates: Sequence[str]) -> set[str]:
    """The candidates a sentence names as a kept party's counterparty: a buyer or seller of
    it ("Inflection AI raises $1.3 billion from Microsoft") or who it signs a deal with ("Oklo
    signs power deal with data center operator Switch")."""
    related: set[str] = set()
    mentions = _mentions(sentence, [*kept, *candidates])
    for index, ((_, a_end, a), (b_start, b_end, b)) in enumerate(itertools.pairwise(mentions)):
        if (a in kept) == (b in kept):
            continue
        between = " " + sentence[a_end:b_start] + " "
        if len(between) > 120:
            continue
        following = mentions[index + 2] if index + 2 < len(mentions) else None
        if (
            b not in kept
            and following is not None
            and following[2] in kept
            and _MODIFIER_GAP.match(sentence[b_end : following[0]])
        ):
            continue  # "to buy Australian data center operator AirTrunk": B describes a party
        if _PAST_AFTER.match(sentence[b_end:]):
            continue  # "echoing Blackstone's purchase of QTS three years ago": another deal
        if a not in kept and (len(between.split()) > 6 or _DEAL_NOUN.match(between)):
            # "BEP and BEPC units rose after the company disclosed an agreement to supply
            # Microsoft": too far from the verb; "Hydropower Deal With": names the deal
            continue
        candidate_end = b_end if a in kept else a_end
        if sentence[candidate_end - 2 : candidate_end] in ("'s", "’s"):
            continue  # "to Elon Musk's startup": the owner of the party
        if (
            _PASSIVE.search(between)
            or _COUNTERPARTY.search(between)
            or any(pattern.search(between) for pattern, _, _, _ in _COMPILED_ROLES)
        ):
            related.add(b if a in kept else a)
    return related


def deal_parties(
    named: Sequence[str],
    found: Mentions,
    places: Sequence[str],
    sentences: Sequence[tuple[str, float]],
    openings: Sequence[str],
) -> tuple[str, ...]:
    """The organisations a deal is between: the story facts' parties (`named`) that are
    organisations, and the other names of the story that a title or lead sentence makes a
    counterparty of one of them in a report's `openings` (its title and first lead sentence: a
    name in one report scores too little for the facts, "Inflection AI raises $1.3 billion from
    Microsoft, Nvidia and others"; later sentences cite other deals, "Related: Nvidia leasing
    its own GPUs back from Lambda").

    Not parties: a figure, a product or round, a month, a person (`_surnames`), and a name the
    reports write only as a party's ("Oklo's Aurora", "its Aurora reactors") that no sentence
    puts in a deal role."""
    texts = [sentence for sentence, _ in sentences]
    place_words = {ft.fold(part.strip()) for p in places for part in p.split(",")}
    place_words |= {
        ft.fold(name) for region, city, _ in found.places for name in (region, city or "")
    }
    names: dict[str, list[str]] = {}
    for key, surface, _, weight in found.names:
        folded = " ".join(key)
        if weight > 0 and folded not in place_words:
            names.setdefault(folded, []).append(surface)
    others = [max(forms, key=forms.count) for forms in names.values()]
    surnames = _surnames(found, [*named, *others])
    every = [*named, *others]

    def organisation(name: str) -> bool:
        return not not_an_organisation(name, surnames) and not not_an_organisation_here(
            name, texts, surnames, every
        )

    kept = [p for p in named if organisation(p)]
    with_role = {party for sentence in texts for party, _ in sentence_roles(sentence, kept)}
    kept = [p for p in kept if p in with_role or not _mostly_possessed(p, texts, kept)]
    candidates = [
        name
        for name in others
        if organisation(name)
        and not any(_party_pattern(p).fullmatch(name) for p in kept)
        and not any(_party_pattern(name).fullmatch(p) for p in kept)
    ]
    added: list[str] = []
    for sentence in openings:
        related = _related(sentence, kept, candidates)
        added += [c for c in candidates if c in related]
    return tuple(dict.fromkeys([*kept, *added]))[:MAX_DEAL_PARTIES]


# ----------------------------------------------------------------------------- kind
# Words (folded, with their inflections by prefix) that say what kind of deal it is.
KIND_WORDS: dict[str, tuple[str, ...]] = {
    "acquisition": (
        "acquire",
        "acquisition",
        "takeover",
        "take over",
        "buyout",
        "merger",
        "to buy",
        "agrees to buy",
        "purchase of",
    ),
    "financing": (
        "invest",
        "investment",
        "stake",
        "raise",
        "raises",
        "raised",
        "funding",
        "debt",
        "loan",
        "financing",
        "financed",
        "credit facility",
        "borrow",
        "bond",
        "equity",
        "joint venture",
        "series",
    ),
    "power": (
        "power purchase",
        "ppa",
        "nuclear",
        "reactor",
        "electricity",
        "fuel cell",
        "hydro",
        "solar",
        "hydropower",
        "wind",
        "geothermal",
        "utility",
        "energy",
        "power plant",
        "power supply",
        "gas-fired",
        "smr",
    ),
    "lease": ("lease", "leases", "leased", "leasing", "colocation", "hosting", "host", "tenant"),
    "chips": (
        "chips",
        "gpus",
        "accelerators",
        "processors",
        "superchips",
        "h100",
        "h200",
        "gb200",
        "gb300",
        "mi300",
        "mi450",
        "blackwell",
        "servers",
        "memory",
        "dram",
        "hbm",
        "wafers",
        "supercomputer",
    ),
    "cloud capacity": (
        "cloud",
        "compute capacity",
        "computing capacity",
        "capacity",
        "compute",
        "azure",
        "oci",
        "tpu",
        "tpus",
        "infrastructure",
        "gpu capacity",
    ),
}
_KIND_VOCABULARY = frozenset(word for words in KIND_WORDS.values() for word in words)
_KIND_PATTERNS = {
    kind: re.compile(
        r"(?<![\w-])(?:" + "|".join(re.escape(w) for w in words) + r")(?:s|es|d|ed|ing)?(?![\w-])",
        re.IGNORECASE,
    )
    for kind, words in KIND_WORDS.items()
}
# A kind must reach this share of the sentences' weight to be the deal's.
KIND_MIN_SCORE = 1.0
MONEY_KIND_SHARE = 0.5


def deal_kind(sentences: Sequence[tuple[str, float]]) -> str:
    """The kind whose words weigh most in the titles and leads; earlier kinds in
    _KIND_PRIORITY win ties (an acquisition of a chip maker is an acquisition). An acquisition
    or a financing wins with half the weight of the best: what the money buys (cloud, chips,
    power) is what such reports describe at length, and the deal is the stake or the loan."""
    scores: dict[str, float] = {}
    for sentence, weight in sentences:
        for kind, pattern in _KIND_PATTERNS.items():
            if pattern.search(sentence):
                scores[kind] = scores.get(kind, 0.0) + weight
    if not scores:
        return UNKNOWN_KIND
    order = {kind: index for index, kind in enumerate(_KIND_PRIORITY)}
    best = max(scores, key=lambda kind: (scores[kind], -order[kind]))
    for money_kind in ("acquisition", "financing"):
        if scores.get(money_kind, 0.0) >= MONEY_KIND_SHARE * scores[best]:
            best = money_kind
            break
    return best if scores[best] >= KIND_MIN_SCORE else UNKNOWN_KIND


def _names_party_chips(figure: DealFigure, parties: Sequence[str]) -> bool:
    """Whether an agreed chip count names a party as the chips' maker ("18,000 Nvidia Grace
    Blackwell chips")."""
    if figure.counted is None:
        return False
    return any(
        _party_pattern(party).search(claim.text)
        for claim in figure.claims
        if close(claim.value, figure.counted, FIGURE_TOLERANCE)
        for party in parties
    )


@functools.lru_cache(maxsize=1024)
def _cloud_pattern(party: str) -> re.Pattern[str]:
    """How the reports call a party a cloud, or its own name does ("Oracle Cloud")."""
    name = _party_pattern(party).pattern
    if re.search(r"\bcloud\b", party, re.IGNORECASE):
        return re.compile(name)
    return re.compile(
        r"(?:\b(?:gpu\s+|ai\s+)?(?:neo)?cloud\s+(?:provider\s+|company\s+|operator\s+)?"
        + name
        + r"|"
        + name
        + r"(?:'s|’s)\s+(?:[\w-]+\s+)?cloud\b|"
        + name
        + r",\s+(?:a|an|the)\s+[^,;]{0,40}?\bcloud\b)",
        re.IGNORECASE,
    )


def what_is_sold(
    kind: str,
    chips: DealFigure,
    parties: Sequence[str],
    sellers: Sequence[str],
    texts: Sequence[str],
) -> str:
    """The deal's kind read against its own figure and seller (`kind` is the vocabulary's).

    A deal whose agreed chip count names a party as their maker sells that party's chips,
    however much the reports say of the cloud the buyer builds with them ("Mistral AI will
    deploy 18,000 Nvidia Grace Blackwell chips" for "Mistral's push for a European AI cloud").
    Chips a cloud provides are cloud capacity: the reports call a seller a cloud ("GPU cloud
    CoreWeave", "Nvidia GPUs on CoreWeave's cloud", "CoreWeave, a GPU cloud ..."), and a cloud
    rents GPUs out rather than selling them."""
    if kind == "cloud capacity" and _names_party_chips(chips, parties):
        kind = "chips"
    if kind == "chips" and any(
        _cloud_pattern(seller).search(text) for seller in sellers for text in texts
    ):
        kind = "cloud capacity"
    return kind


_KIND_PRIORITY = ("acquisition", "financing", "power", "lease", "chips", "cloud capacity")
assert set(_KIND_PRIORITY) == set(KINDS)


# ----------------------------------------------------------------------------- status
_TALKS = re.compile(
    r"\b(?:in\s+(?:advanced\s+)?talks|talks\s+(?:to|with|over|on)|weighs|weighing|considers|"
    r"considering|explores|exploring|nears|nearing|close\s+to\s+(?:a\s+)?(?:deal|agreement)|"
    r"in\s+discussions|discussing|negotiat\w*|people\s+(?:familiar|briefed)|"
    r"(?:sources|people|a\s+source|a\s+person)\s+(?:said|say|says)|"
    r"according\s+to\s+(?:people|sources|a\s+person|a\s+report|reports)|"
    r"on\s+(?:a\s+)?reports?\s+(?:that\s+)?|reports?\s+(?:say|says|said)|"
    r"reportedly|is\s+said\s+to|are\s+said\s+to|mulls|mulling|eyes|eyeing|seeks|seeking|"
    r"plans\s+to|would\s+(?:buy|invest|lease|acquire|supply))\b",
    re.IGNORECASE,
)


_ENDED = re.compile(
    r"\b(?:rejects?|rejected|rejecting|turns?\s+down|turned\s+down|walks?\s+away|walked\s+away|"
    r"calls?\s+off|called\s+off|scraps?|scrapped|abandons?|abandoned|terminates?|terminated|"
    r"cancels?|cancell?ed|ends?\s+(?:[\w'’-]+\s+){0,2}talks|"
    r"talks\s+(?:end|ended|collapse|collapsed|broke\s+down|have\s+broken\s+down|fell\s+apart)|"
    r"negotiations\s+(?:had\s+)?(?:broken\s+down|broke\s+down|collapsed|ended))\b",
    re.IGNORECASE,
)


def reads_as_ended(title: str, lead: Sequence[str]) -> bool:
    """A report that the deal is off: talks ended, a bid rejected, a deal called off."""
    return bool(_ENDED.search(title) or any(_ENDED.search(s) for s in lead[:1]))


def reads_as_talks(title: str, lead: Sequence[str]) -> bool:
    """A report of talks, a plan or an unconfirmed account ("sources say", "on report",
    "reportedly") rather than of a deal a party announced."""
    return bool(_TALKS.search(title) or any(_TALKS.search(s) for s in lead[:1]))


def _own_figures(stated: Sequence[StatedFigure], published: datetime | None) -> list[StatedFigure]:
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


def _agreed(claims: list[list[Said]]) -> list[Said]:
    """Each report's claim, its first own figure; where that differs from what most reports
    say and the report also states their figure, the report is read as agreeing with them: its
    first figure is a part of the deal ("200MW in 2026" of a 1 GW cluster) or another's."""
    majority = vote([options[0][0].value for options in claims])
    if majority is None:
        return [options[0] for options in claims]
    return [
        next(
            (said for said in options if close(said[0].value, majority, FIGURE_TOLERANCE)),
            options[0],
        )
        for options in claims
    ]


def _claims(
    reports: Sequence[LedgerReport], figures: Sequence[ReportFigures]
) -> tuple[list[Said], list[Said], list[Said], list[Claim]]:
    """The reports' claims of value (dollars), power and chips, and the money they give only
    as a yearly amount or in another currency."""
    money: list[list[Said]] = []
    power: list[list[Said]] = []
    chips: list[list[Said]] = []
    as_given: list[Claim] = []

    def claim(figure: StatedFigure, outlet: str) -> Claim:
        return Claim(outlet, *with_more(figure))

    for report, stated in zip(reports, figures, strict=True):
        outlet = report.outlet
        dollars = _own_figures(stated.money, report.published)
        other = _own_figures(stated.money_other_currency, report.published)
        if dollars:
            first = dollars[0]
            if is_yearly(first):
                as_given.append(claim(first, outlet))
            else:
                money.append([(claim(f, outlet), f.sentence) for f in dollars if not is_yearly(f)])
        elif other:
            as_given.append(claim(other[0], outlet))
        for kind, found in ((power, stated.power), (chips, stated.chips)):
            own = _own_figures(found, report.published)
            if own:
                kind.append([(claim(f, outlet), f.sentence) for f in own])
    return _agreed(money), _agreed(power), _agreed(chips), as_given


# ----------------------------------------------------------------------------- roles, per story
# A lead sentence that opens with a description of its subject rather than its name ("The Sam
# Altman-backed nuclear startup agreed to supply Switch with power"): newswire style, in which
# the subject is the title's ("Oklo signs 12-gigawatt power deal with ... Switch").
_DESCRIBED_SUBJECT = re.compile(r"^(?:The|A|An)\s")


def _role_sentences(
    reports: Sequence[LedgerReport], leads: Sequence[str], parties: Sequence[str]
) -> list[tuple[str, float]]:
    """The titles and lead sentences roles are read from, weighted; a first lead sentence
    that describes its subject is read with the title's first party, not written as an owner
    ("Nvidia's Huang ..."), as that subject."""
    out: list[tuple[str, float]] = []
    for report, joined in zip(reports, leads, strict=True):
        lead = joined.splitlines()[:LEAD_SENTENCES] if joined else []
        out.append((report.title, TITLE_WEIGHT))
        named = _mentions(report.title, parties)
        for index, sentence in enumerate(lead):
            if (
                index == 0
                and named
                and _DESCRIBED_SUBJECT.match(sentence)
                and report.title[named[0][1] - 2 : named[0][1]] not in ("'s", "’s")
            ):
                sentence = f"{named[0][2]}: {sentence}"
            out.append((sentence, LEAD_WEIGHT))
    return out


def _maker_votes(
    chips: Sequence[Said], count: DealFigure, parties: Sequence[str], titles: set[str]
) -> list[RoleVote]:
    """In a chips deal, the party an agreed chip count names as maker sells them, and the
    party the sentence names before the count gets them ("Mistral AI will deploy 18,000 Nvidia
    Grace Blackwell chips", "Meta will have 350,000 Nvidia H100s")."""
    if count.counted is None:
        return []
    votes: list[RoleVote] = []
    for claim, sentence in chips:
        if not close(claim.value, count.counted, FIGURE_TOLERANCE):
            continue
        weight = TITLE_WEIGHT if sentence in titles else LEAD_WEIGHT
        makers = [p for p in parties if _party_pattern(p).search(claim.text)]
        at = sentence.find(claim.text)
        if not makers or at < 0:
            continue
        votes += [(maker, "seller", weight) for maker in makers]
        before = [party for _, _, party in _mentions(sentence[:at], parties) if party not in makers]
        if before:
            votes.append((before[0], "buyer", weight))
    return votes


# ----------------------------------------------------------------------------- the record
_UNDATED = datetime.max.replace(tzinfo=UTC)  # undated reports are listed last


def derive_deal(story_id: int, headline: str, reports: Sequence[LedgerReport]) -> DealRecord:
    """The deal record of one story from its member reports, in the order they joined it.

    Parties, places and facilities are the story facts of those reports, read again here
    (`story_facts`, as the clusterer reads them) rather than taken from the stored story: a
    record must not depend on whether the story was still in the clusterer's window when its
    batch ended."""
    read = list(reports[:MAX_REPORTS])
    leads = [fact_lead(r.summary, r.text, r.title) for r in reports]
    # As the clusterer keeps its members (the lead as summary, no text): the same facts, and
    # the readings it cached while clustering are found again.
    members = [
        Report(title=r.title, summary=lead, published=r.published, outlet=r.outlet)
        for r, lead in zip(read, leads, strict=False)
    ]
    facts = story_facts(members)
    money, power, chips, as_given = _claims(read, report_figures(members))
    value_usd = deal_figure([claim for claim, _ in money])
    power_mw = deal_figure([claim for claim, _ in power])
    chips_count = deal_figure([claim for claim, _ in chips])

    sentences: list[tuple[str, float]] = []
    openings: list[str] = []
    talks: list[bool] = []
    ended: list[bool] = []
    for report, joined in zip(reports, leads, strict=True):
        lead = joined.splitlines()[:LEAD_SENTENCES] if joined else []
        sentences.append((report.title, TITLE_WEIGHT))
        sentences += [(sentence, LEAD_WEIGHT) for sentence in lead]
        openings += [report.title, *lead[:1]]
        talks.append(reads_as_talks(report.title, lead))
        ended.append(reads_as_ended(report.title, lead))
    found, _ = read_mentions([read_report(m.title, m.summary, m.text) for m in members])
    parties = deal_parties(facts.parties, found, facts.places, sentences, openings)
    role_sentences = _role_sentences(reports, leads, parties)
    vocabulary_kind = deal_kind(sentences)
    roles = deal_roles(role_sentences, parties, vocabulary_kind)
    sellers = tuple(p for p in parties if roles.get(p) == "seller")
    kind = what_is_sold(
        vocabulary_kind,
        chips_count,
        parties,
        sellers,
        [*(r.title for r in reports), *leads],
    )
    if kind == "chips":
        titles = {r.title for r in reports}
        roles = deal_roles(
            role_sentences, parties, kind, _maker_votes(chips, chips_count, parties, titles)
        )
        sellers = tuple(p for p in parties if roles.get(p) == "seller")
    dated = sorted(
        (r.published, is_talks) for r, is_talks in zip(reports, talks, strict=True) if r.published
    )
    confirmed = next((when for when, is_talks in dated if not is_talks), None)
    if confirmed is None and not dated and not all(talks):
        status = STATUS_CONFIRMED
    else:
        status = STATUS_CONFIRMED if confirmed is not None else STATUS_TALKS
    latest = max(
        zip(reports, ended, strict=True),
        key=lambda pair: pair[0].published or _UNDATED,
        default=None,
    )
    if latest is not None and latest[1]:  # the newest report says the deal is off
        status = STATUS_ENDED
    return DealRecord(
        story_id=story_id,
        headline=headline,
        kind=kind,
        parties=parties,
        buyers=tuple(p for p in parties if roles.get(p) == "buyer"),
        sellers=sellers,
        value_usd=value_usd,
        power_mw=power_mw,
        chips=chips_count,
        value_as_given=tuple(as_given),
        places=tuple(facts.places),
        facilities=tuple(facts.assets),
        status=status,
        first_reported=dated[0][0] if dated else None,
        confirmed=confirmed,
        sources=tuple(
            DealSource(r.outlet, r.link, r.title, r.published)
            for r in sorted(reports, key=lambda r: r.published or _UNDATED)
        ),
    )
