"""Folding, tokenising and light inflection folding, shared by the matcher and the clusterer.

`fold` makes text case- and accent-insensitive, `tokenize` splits folded text into words, and `stem`
folds plurals and the -ed/-ing inflections so that "lease", "leases", "leased" and "leasing" are one
word. The stemmer is deliberately light (Porter's step 1 plus a few irregular deal verbs), written
here rather than taken from NLTK/Snowball: a full stemmer conflates words that rules must keep apart
("general"/"generate", "computer"/"compute"), and the matcher must apply exactly the same folding to
rule terms and to text, which a small, stable function of our own guarantees.

The clusterer stems with its own rules (bot.clustering.features.stem), which pick the English word
where a cut suffix leaves several ("update", not "updat") by word frequency. One stemmer for both
was built and measured (issue 19): the matcher's decisions were identical on 9,368 labelled items,
but every process that matches then loads the frequency lists (wordfreq: 47 MB resident in each
parser process, 75 ms on a warm one-shot poll), so the matcher keeps this light one.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterator
from typing import Any

import re2

_APOSTROPHES = ("’", "‘", "ʼ", "`")  # all folded to "'"
_POSSESSIVE = re.compile(r"'s\b")
_WORD = re.compile(r"[^\W_]+")

# Irregular past forms of the verbs deals are reported with; regular forms are handled by `stem`.
_IRREGULAR: dict[str, str] = {
    "bought": "buy",
    "sold": "sell",
    "struck": "strike",
    "spent": "spend",
    "built": "build",
    "paid": "pay",
    "took": "take",
    "sought": "seek",
    "brought": "bring",
    "made": "make",
    "grew": "grow",
    "began": "begin",
    "begun": "begin",
    "won": "win",
    "led": "lead",
    "went": "go",
    "dealt": "deal",
    "leant": "lean",
    "rode": "ride",
    "chose": "choose",
    "chosen": "choose",
    # Plural acronyms that end like "campus" and would otherwise keep their "s".
    "gpus": "gpu",
    "tpus": "tpu",
    "cpus": "cpu",
    "npus": "npu",
    "xpus": "xpu",
    "dpus": "dpu",
    "ipus": "ipu",
    "lpus": "lpu",
}
# Words whose final "s" is not a plural.
_KEEP = frozenset({"news", "series", "species", "always", "perhaps", "whereas"})
_VOWELS = frozenset("aeiouy")
_STEM_CACHE: dict[str, str] = {}
_STEM_CACHE_LIMIT = 200_000


def _combining_ranges(end: int) -> list[list[int]]:
    """[low, high] runs of the combining-mark code points below `end`."""
    ranges: list[list[int]] = []
    for code in range(end):
        if unicodedata.combining(chr(code)):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return ranges


def _combining_marks() -> re.Pattern[str]:
    """Runs of combining marks of the Basic Multilingual Plane and of astral characters (few of
    which are marks; they are checked one by one): one character class, which the regex engine
    tests with a bitmap lookup, where filtering characters one by one in Python costs ten times
    more."""
    marks = "".join(
        re.escape(chr(low)) + ("" if low == high else "-" + re.escape(chr(high)))
        for low, high in _combining_ranges(0x10000)
    )
    return re.compile(f"[{marks}\\U00010000-\\U0010ffff]+")


_COMBINING = _combining_marks()


@functools.cache
def _any_mark() -> Any:
    """RE2 (one pass over UTF-8, several times faster than the regex above) finding any
    combining mark: most non-ASCII text (quotes, dashes, other scripts) has none after NFKD, and
    is then only case-folded. Built on first use (it walks every code point)."""
    marks = "".join(
        f"\\x{{{low:x}}}" + ("" if low == high else f"-\\x{{{high:x}}}")
        for low, high in _combining_ranges(0x110000)
    )
    options = re2.Options()
    options.log_errors = False
    options.never_capture = True
    return re2.compile(f"[{marks}]", options)


def _without_marks(match: re.Match[str]) -> str:
    return "".join(ch for ch in match.group(0) if not unicodedata.combining(ch))


# Non-ASCII texts up to this length are folded through a cache: the clusterer folds the same
# words and names over and over; whole entry texts (the matcher's) are folded once each.
_CACHED_FOLD_MAX = 64


def fold(text: str) -> str:
    """Lower-case, accent-free text with one kind of apostrophe ("Société" -> "societe")."""
    if text.isascii():
        return text.lower()
    if len(text) <= _CACHED_FOLD_MAX:
        return _fold_short(text)
    return _fold_unicode(text)


@functools.lru_cache(maxsize=8192)
def _fold_short(text: str) -> str:
    return _fold_unicode(text)


def _fold_unicode(text: str) -> str:
    for apostrophe in _APOSTROPHES:
        text = text.replace(apostrophe, "'")
    decomposed = unicodedata.normalize("NFKD", text)
    if decomposed.isascii():
        return decomposed.lower()
    try:
        marked = _any_mark().search(decomposed.encode("utf-8")) is not None
    except UnicodeEncodeError:  # lone surrogates are not UTF-8: ask the regex instead
        marked = _COMBINING.search(decomposed) is not None
    if marked:
        decomposed = _COMBINING.sub(_without_marks, decomposed)
    return decomposed.casefold()


def tokenize(text: str) -> list[str]:
    """The words of `text`, folded, with possessive "'s" removed ("xAI’s" -> "xai")."""
    return _WORD.findall(_POSSESSIVE.sub("", fold(text)))


def iter_token_spans(text: str) -> Iterator[tuple[str, int, int]]:
    """Words of already folded `text` with their character spans."""
    for match in _WORD.finditer(text):
        yield match.group(0), match.start(), match.end()


def stem(word: str) -> str:
    """Fold plural and -ed/-ing inflections of a folded word ("leasing" -> "leas")."""
    cached = _STEM_CACHE.get(word)
    if cached is not None:
        return cached
    result = _stem(word)
    if len(_STEM_CACHE) < _STEM_CACHE_LIMIT:
        _STEM_CACHE[word] = result
    return result


def stem_words(words: list[str]) -> list[str]:
    """`stem` of each folded word; the cache is read inline, a function call per word being
    most of the cost of stemming a text whose words are already known."""
    known = _STEM_CACHE.get
    return [known(word) or stem(word) for word in words]


def forms_pattern(word_stem: str) -> str:
    """A regular expression (the common subset of `re` and RE2 syntax) that fully matches every
    folded word whose `stem` is `word_stem`, and a few more.

    It follows `_stem` backwards: the stem, then an optional "e" (removed last), an optional
    -ed/-ing with an optional doubled consonant, an optional plural "s"/"es"; for a stem ending
    in "y", the -ies/-ied forms; and the irregular forms that fold to it. The matcher's prefilter
    relies on it never missing a form (tests/test_text_tokens.py checks that on real text).
    """
    body = re.escape(word_stem)
    last = re.escape(word_stem[-1:])
    forms = [f"{body}e?(?:{last}?(?:ed|ing))?(?:e?s)?"]
    if word_stem.endswith("y") and len(word_stem) > 1:
        forms.append(f"{re.escape(word_stem[:-1])}ie[sd]s?")
    forms.extend(re.escape(irregular) for irregular in _IRREGULAR if stem(irregular) == word_stem)
    return "(?:" + "|".join(forms) + ")"


def _has_vowel(part: str) -> bool:
    return any(ch in _VOWELS for ch in part)


def _undouble(word: str) -> str:
    if len(word) > 4 and word[-1] == word[-2] and word[-1] not in "lsz" and word[-1] not in _VOWELS:
        return word[:-1]
    return word


def _stem(word: str) -> str:
    if word in _IRREGULAR:
        word = _IRREGULAR[word]
    if len(word) <= 3 or word in _KEEP:
        return word
    if not word.isalpha():
        # Model numbers: "h100s" -> "h100", "gb200s" -> "gb200".
        if word[-1] == "s" and word[-2].isdigit():
            return word[:-1]
        return word
    if word.endswith("ies") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith(("sses", "xes", "zes", "ches", "shes")):
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if word.endswith("ied") and len(word) > 4:
        word = word[:-3] + "y"
    elif word.endswith("ed") and len(word) >= 5 and _has_vowel(word[:-2]):
        word = _undouble(word[:-2])
    elif word.endswith("ing") and len(word) >= 6 and _has_vowel(word[:-3]):
        word = _undouble(word[:-3])
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def stems(text: str) -> list[str]:
    """`stem` of every word of `text`."""
    return stem_words(tokenize(text))
