"""The kind of a deal: acquisition, financing, power, lease, chips or cloud capacity.

Owns the deal vocabulary (`KIND_WORDS`), the kind it gives the titles and leads, weighted
towards titles (`deal_kind`), and that kind read against the deal's own figure and seller
(`what_is_sold`): an agreed chip count naming a party as maker is a chips deal, and chips that
a seller the reports call a cloud provides are cloud capacity.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence

from bot.clustering.facts.figures import FIGURE_TOLERANCE
from bot.ledger.derive.roles import party_pattern
from bot.model.deal import KINDS, UNKNOWN_KIND, DealFigure
from bot.text.quantities import same_figure

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
KIND_VOCABULARY = frozenset(word for words in KIND_WORDS.values() for word in words)
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
        party_pattern(party).search(claim.text)
        for claim in figure.claims
        if same_figure(claim.value, figure.counted, FIGURE_TOLERANCE)
        for party in parties
    )


@functools.lru_cache(maxsize=1024)
def _cloud_pattern(party: str) -> re.Pattern[str]:
    """How the reports call a party a cloud, or its own name does ("Oracle Cloud")."""
    name = party_pattern(party).pattern
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
