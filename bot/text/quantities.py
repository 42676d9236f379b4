"""Quantities in news text: money amounts, electrical power and chip counts.

Compute deals are described by their size ("$17.4 billion", "300 MW", "200,000 GPUs"), so the
matcher compares them in rules (`power>=100MW`) and the clusterer uses them as anchors of an event.
No library parses these news phrasings (currency prefixes with "bn"/"m" suffixes, "300-megawatt",
"100k H100s"), so this module is a small set of precompiled regular expressions over our own fixed
patterns. They use the standard `re` engine because they need look-arounds; every pattern is linear
(no nested quantifiers), so they cannot backtrack catastrophically.

Conventions:
- power is in megawatts (MW); kW, GW and TW are converted;
- money keeps the currency it was stated in (`currency`, ISO code); `value` is in that currency;
  only the figure is parsed, no exchange rates are applied;
- chips are a count of GPUs/accelerators/AI chips;
- vague amounts ("hundreds of thousands of GPUs", "billions of dollars") are returned as their lower
  bound (100,000 GPUs; 1e9 USD) with `approximate=True`; adjectives without a figure
  ("multibillion-dollar") are not quantities and are skipped.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

QuantityKind = Literal["power", "money", "chips"]


@dataclass(frozen=True, slots=True)
class Quantity:
    """One quantity found in a text, with its character span."""

    kind: QuantityKind
    value: float  # power in MW, money in `currency` units, chips as a count
    text: str  # the matched source text
    start: int
    end: int
    currency: str = "USD"  # only meaningful for money
    approximate: bool = False  # a vague lower bound ("hundreds of thousands of GPUs")


_NUMBER = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"

_MULTIPLIERS: dict[str, float] = {
    "thousand": 1e3,
    "k": 1e3,
    "million": 1e6,
    "mn": 1e6,
    "mln": 1e6,
    "mm": 1e6,
    "m": 1e6,
    "billion": 1e9,
    "bn": 1e9,
    "bln": 1e9,
    "b": 1e9,
    "trillion": 1e12,
    "tn": 1e12,
    "trn": 1e12,
    "t": 1e12,
}
_MULTIPLIER = r"trillion|billion|million|thousand|trn|tn|bln|bn|mln|mn|mm|[kmbt]"

_CURRENCY_PREFIXES: dict[str, str] = {
    "us$": "USD",
    "usd": "USD",
    "$": "USD",
    "€": "EUR",
    "eur": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "¥": "JPY",
    "jpy": "JPY",
    "c$": "CAD",
    "cad": "CAD",
    "a$": "AUD",
    "aud": "AUD",
    "chf": "CHF",
    "₹": "INR",
    "inr": "INR",
    "rmb": "CNY",
    "cny": "CNY",
    "yuan": "CNY",
    "sek": "SEK",
    "nok": "NOK",
}
_CURRENCY_WORDS: dict[str, str] = {
    "dollar": "USD",
    "usd": "USD",
    "euro": "EUR",
    "eur": "EUR",
    "pound": "GBP",
    "sterling": "GBP",
    "gbp": "GBP",
    "yen": "JPY",
    "yuan": "CNY",
    "renminbi": "CNY",
    "rupee": "INR",
}

# "$17.4 billion", "US$2bn", "€1.2 billion", "$10-15 billion", "USD 500 million".
_MONEY_PREFIXED = re.compile(
    r"(?<![\w$€£¥₹])(?P<cur>US\$|C\$|A\$|\$|€|£|¥|₹|(?:USD|EUR|GBP|JPY|CAD|AUD|CHF|INR|RMB|CNY|SEK|NOK)\s?)"
    rf"(?P<num>{_NUMBER})"
    rf"(?:\s?(?:-|–|to)\s?(?:US\$|\$|€|£)?(?:{_NUMBER}))?"
    rf"(?:[\s-]?(?P<mult>{_MULTIPLIER})\b)?",
    re.IGNORECASE,
)
# "17.4 billion dollars", "500 million euros", "2bn USD".
_MONEY_SUFFIXED = re.compile(
    rf"(?<![\w$€£¥₹.,])(?P<num>{_NUMBER})[\s-]?(?P<mult>{_MULTIPLIER})\b\s?"
    r"(?:(?:US|U\.S\.|American|Canadian|Australian)\s)?"
    r"(?P<cur>dollars?|usd|euros?|eur|pounds?(?:\ssterling)?|sterling|gbp|yen|yuan|renminbi|rupees?)\b",
    re.IGNORECASE,
)
# "billions of dollars", "hundreds of millions of dollars": vague, kept as a lower bound.
_MONEY_VAGUE = re.compile(
    r"\b(?P<scale>tens\sof\s|hundreds\sof\s)?(?P<mult>billions|millions|trillions)\sof\s"
    r"(?:(?:US|U\.S\.)\s)?(?P<cur>dollars|euros|pounds)\b",
    re.IGNORECASE,
)

_POWER_UNITS: dict[str, float] = {
    "kw": 1e-3,
    "kilowatt": 1e-3,
    "kilowatts": 1e-3,
    "mw": 1.0,
    "megawatt": 1.0,
    "megawatts": 1.0,
    "gw": 1e3,
    "gigawatt": 1e3,
    "gigawatts": 1e3,
    "tw": 1e6,
    "terawatt": 1e6,
    "terawatts": 1e6,
}
# "300MW", "300 megawatts", "1.3 gigawatts", "300-megawatt", "1-2 GW" (lower end). Not MWh (energy).
_POWER = re.compile(
    rf"(?<![\w.,])(?P<num>{_NUMBER})(?:\s?(?:-|–|to)\s?(?:{_NUMBER}))?[\s-]?"
    r"(?P<unit>kilowatts?|megawatts?|gigawatts?|terawatts?|kw|mw|gw|tw)\b",
    re.IGNORECASE,
)

_CHIP_NOUN = (
    r"(?:gpus?|tpus?|xpus?|npus?|lpus?|chips?|superchips?|accelerators?|processors?|"
    r"graphics\sprocessing\sunits?|graphics\sprocessors?|"
    r"(?:g?[bh]\d{2,3}|mi\d{3}x?|gaudi\s?\d?|trainium\s?\d?)s?)"
)
# Up to three qualifiers between the figure and the noun: "100,000 Nvidia H100 chips",
# "18,000 Grace Blackwell chips", "50,000 Huawei Ascend chips".
_CHIP_QUALIFIER = r"(?:(?:nvidia|amd|intel|google|amazon|aws|blackwell|hopper|rubin|instinct|"
_CHIP_QUALIFIER += r"grace|vera|ultra|huawei|ascend|"
_CHIP_QUALIFIER += (
    r"ai|custom|advanced|additional|more|new|of|its|their|the|[a-z]{0,3}\d{2,4}[a-z]{0,3})\s)"
)
_CHIPS = re.compile(
    rf"(?<![\w.,$€£])(?:up\sto\s|about\s|around\s|nearly\s|over\s|more\sthan\s)?"
    rf"(?P<num>{_NUMBER})(?:[\s-]?(?P<mult>thousand|million|k|m)\b)?[\s-]"
    rf"{_CHIP_QUALIFIER}{{0,3}}{_CHIP_NOUN}\b",
    re.IGNORECASE,
)
_CHIPS_VAGUE = re.compile(
    r"\b(?P<scale>tens\sof\s|hundreds\sof\s)?(?P<mult>thousands|millions)\sof\s"
    rf"{_CHIP_QUALIFIER}{{0,3}}{_CHIP_NOUN}\b",
    re.IGNORECASE,
)

# Cues: cheap patterns that every quantity of a kind contains, so that text without a cue is
# skipped without running that kind's patterns (most news text has no quantity at all), and so
# that the matcher can tell that a rule's quantity comparison cannot hold. Each is implied by the
# patterns above: a money amount has a currency sign or code right before its figure, or a currency
# word after whitespace; a power figure has a digit right before its unit; a chip count has its
# noun after whitespace or a hyphen ("a 4,000-GPU cluster"). Same engine and flags as the
# patterns, so Unicode case and class rules agree; `\s` and `\b` only, so a cue found in one
# field is also found in fields joined by "\n".
_CODES = "usd|eur|gbp|jpy|cad|aud|chf|inr|rmb|cny|sek|nok"
# Each cue pattern begins with a character class (a sign, a digit, whitespace), which the regex
# engine scans for quickly; a pattern beginning with letters under IGNORECASE is tried at every
# position.
QUANTITY_CUES: dict[QuantityKind, tuple[re.Pattern[str], ...]] = {
    "money": (
        re.compile(r"[$€£¥₹]\s?\d"),
        re.compile(rf"\d(?:(?<=(?:{_CODES})\d)|(?<=(?:{_CODES})\s\d))", re.IGNORECASE),
        re.compile(
            r"\s(?:dollars?|usd|euros?|eur|pounds?|sterling|gbp|yen|yuan|renminbi|rupees?)\b",
            re.IGNORECASE,
        ),
    ),
    "power": (
        re.compile(r"\d[\s-]?(?:kilowatt|megawatt|gigawatt|terawatt|kw|mw|gw|tw)", re.IGNORECASE),
    ),
    "chips": (re.compile(rf"[\s-]{_CHIP_NOUN}\b", re.IGNORECASE),),
}


def may_contain(kind: QuantityKind, text: str) -> bool:
    """False when `text` certainly holds no quantity of `kind` (True means: look closer)."""
    return any(cue.search(text) is not None for cue in QUANTITY_CUES[kind])


_VAGUE_SCALE = {"tens of ": 10.0, "hundreds of ": 100.0}
_VAGUE_MULT = {"thousands": 1e3, "millions": 1e6, "billions": 1e9, "trillions": 1e12}


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _currency_from_prefix(prefix: str) -> str:
    return _CURRENCY_PREFIXES.get(prefix.strip().lower(), "USD")


def _currency_from_word(word: str) -> str:
    key = word.lower().split()[0]
    if key not in _CURRENCY_WORDS and key.endswith("s"):
        key = key[:-1]
    return _CURRENCY_WORDS.get(key, "USD")


def _vague_scale(scale: str | None) -> float:
    if not scale:
        return 1.0
    return _VAGUE_SCALE.get(" ".join(scale.lower().split()) + " ", 1.0)


# Texts up to this length (titles, lead sentences: what the clusterer reads, often more than
# once and often repeated word for word by syndicated reports) have their quantities kept, for
# the last MEMO_SIZE texts: at most a few MB.
MEMO_CHARS = 2000
MEMO_SIZE = 4096


def extract_quantities(text: str) -> list[Quantity]:
    """Every money amount, power figure and chip count in `text`, in order of position.

    Overlapping readings are resolved by taking the earliest, then the longest, match: "6 gigawatts
    of Instinct GPUs" is power, not a chip count.
    """
    if len(text) > MEMO_CHARS:
        return _extract(text)
    return list(_remembered(text))


@functools.lru_cache(maxsize=MEMO_SIZE)
def _remembered(text: str) -> tuple[Quantity, ...]:
    return tuple(_extract(text))


def _extract(text: str) -> list[Quantity]:
    found: list[Quantity] = []
    sign_cue, code_cue, word_cue = QUANTITY_CUES["money"]
    # A sign or code before a figure for prefixed amounts, a currency word for the others.
    prefixed = sign_cue.search(text) is not None or code_cue.search(text) is not None
    suffixed = word_cue.search(text) is not None
    power = may_contain("power", text)
    chips = may_contain("chips", text)
    if not (prefixed or suffixed or power or chips):
        return found
    for match in _MONEY_PREFIXED.finditer(text) if prefixed else ():
        mult = match.group("mult")
        if mult is None and match.group("cur").strip() == "":
            continue
        value = _number(match.group("num")) * (_MULTIPLIERS[mult.lower()] if mult else 1.0)
        found.append(
            Quantity(
                "money",
                value,
                match.group(0),
                match.start(),
                match.end(),
                currency=_currency_from_prefix(match.group("cur")),
            )
        )
    for match in _MONEY_SUFFIXED.finditer(text) if suffixed else ():
        value = _number(match.group("num")) * _MULTIPLIERS[match.group("mult").lower()]
        found.append(
            Quantity(
                "money",
                value,
                match.group(0),
                match.start(),
                match.end(),
                currency=_currency_from_word(match.group("cur")),
            )
        )
    for match in _MONEY_VAGUE.finditer(text) if suffixed else ():
        value = _vague_scale(match.group("scale")) * _VAGUE_MULT[match.group("mult").lower()]
        found.append(
            Quantity(
                "money",
                value,
                match.group(0),
                match.start(),
                match.end(),
                currency=_currency_from_word(match.group("cur")),
                approximate=True,
            )
        )
    for match in _POWER.finditer(text) if power else ():
        value = _number(match.group("num")) * _POWER_UNITS[match.group("unit").lower()]
        found.append(Quantity("power", value, match.group(0), match.start(), match.end()))
    for match in _CHIPS.finditer(text) if chips else ():
        mult = match.group("mult")
        if mult is None and _looks_like_year(match.group("num")):
            continue
        value = _number(match.group("num")) * (_MULTIPLIERS[mult.lower()] if mult else 1.0)
        found.append(Quantity("chips", value, match.group(0), match.start(), match.end()))
    for match in _CHIPS_VAGUE.finditer(text) if chips else ():
        value = _vague_scale(match.group("scale")) * _VAGUE_MULT[match.group("mult").lower()]
        found.append(
            Quantity("chips", value, match.group(0), match.start(), match.end(), approximate=True)
        )
    return _without_overlaps(found)


def _looks_like_year(number: str) -> bool:
    return len(number) == 4 and number.isdigit() and 1900 <= int(number) <= 2100


def _without_overlaps(found: list[Quantity]) -> list[Quantity]:
    found.sort(key=lambda q: (q.start, -(q.end - q.start)))
    kept: list[Quantity] = []
    for quantity in found:
        if kept and quantity.start < kept[-1].end:
            continue
        kept.append(quantity)
    return kept


def same_figure(a: float, b: float, tolerance: float) -> bool:
    """Two figures of one kind within `tolerance` of the larger: the same figure told twice
    ("$6.2 billion", "$6.25bn"). The one "same figure" test of the clusterer, the ledger and the
    digest; each names its own tolerance."""
    return abs(a - b) <= tolerance * max(a, b)
