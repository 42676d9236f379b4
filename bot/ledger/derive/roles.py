"""Buyer and seller: the roles the verbs between two parties give them.

Owns the verb patterns (`COMPILED_ROLES`, by the family of what changes hands: money, goods or
either), how a party is written in a sentence (`party_pattern`, `party_mentions`), the roles
one sentence states (`sentence_roles`) and a deal's roles from weighted sentences
(`deal_roles`). Which sentences of a story are read, and with what weight, is `record`'s.

The buyer pays and the seller is paid (customer and provider, acquirer and target, investor or
lender and who raises the money). Roles are read from the verbs between two parties in titles
and lead sentences ("X sells ... to Y", "X buys ... from Y", "X takes 260MW at Y's campus", "X
taps Y", "X invests ... in Y", "X raises ... from Y", "X raises $2bn"), shared by the parties
listed beside either ("from Microsoft, Nvidia and others"); a party written as an owner is not
the verb's subject ("Nvidia's Huang ... back"). The deal's kind picks which verbs count: an
investment's or an acquisition's roles are the money's, not those of the cloud contract it
pays for ("Anthropic picks AWS ... in exchange for $4 billion from Amazon"). A role the
reports do not state is left empty rather than guessed.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Sequence

from bot.clustering import features
from bot.model.deal import UNKNOWN_KIND
from bot.text.stopwords import STOPWORDS

_GAP = r"(?:[\w$€£.,'’%-]+\s+){0,8}?"
# Words between the verb's last word and party B: "to Saudi Arabia's Humain", "AI startup".
BEFORE_PARTY = r"\s+(?:[\w'’.-]+\s+){0,3}?"
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
COMPILED_ROLES = tuple(
    (
        re.compile(r"\s+" + pattern.replace("{gap}", _GAP) + BEFORE_PARTY + r"$", re.IGNORECASE),
        a,
        b,
        family,
    )
    for pattern, a, b, family in _ROLE_PATTERNS
)
# The one pattern whose party A is written as an owner ("A's acquisition of B"); after any
# other "A's" the verb's subject is what A has ("Nvidia's Huang and Macron back Mistral's push").
_OWNER_PATTERN = COMPILED_ROLES[-1][0]
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
PASSIVE = re.compile(
    r"\s+(?:is|was|to\s+be|will\s+be|being)\s+(?:acquired|bought|purchased|backed)\s+by\s+$",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=4096)
def party_forms(party: str) -> tuple[str, ...]:
    """How a party is written in a sentence: its name, its first word or its initials."""
    words = party.split()
    forms = [party]
    if len(words) > 1:
        first = words[0]
        if len(first) >= 3 and features.fold(first) not in STOPWORDS:
            forms.append(first)
        initials = "".join(w[0] for w in words if w[:1].isupper())
        if len(initials) >= 2:
            forms.append(initials)
    return tuple(forms)


@functools.lru_cache(maxsize=4096)
def party_pattern(party: str) -> re.Pattern[str]:
    """Where a sentence writes a party (`party_forms`), whole, possessive or not."""
    forms = "|".join(re.escape(form) for form in party_forms(party))
    return re.compile(r"(?<![\w-])(?:" + forms + r")(?:'s|’s)?(?![\w-])")


def party_mentions(sentence: str, parties: Sequence[str]) -> list[tuple[int, int, str]]:
    """Where each party is named in `sentence`: (start, end, party), in order, no overlaps."""
    found: list[tuple[int, int, str]] = []
    for party in parties:
        for match in party_pattern(party).finditer(sentence):
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
    mentions = party_mentions(sentence, parties)
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
        if PASSIVE.search(between):
            found = [(b, "buyer", a, "seller", EITHER)]
        else:
            owner = sentence[a_end - 2 : a_end] in ("'s", "’s")
            # the first role pattern that reads the gap (the patterns are in order of priority)
            first_role = next(
                (
                    (a, role_a, b, role_b, family)
                    for pattern, role_a, role_b, family in COMPILED_ROLES
                    if (not owner or pattern is _OWNER_PATTERN) and pattern.search(between)
                ),
                None,
            )
            found = [first_role] if first_role else []
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
