"""Folding, tokenising and light inflection folding, shared by the matcher and the clusterer.

`fold` makes text case- and accent-insensitive, `tokenize` splits folded text into words, and `stem`
folds plurals and the -ed/-ing inflections so that "lease", "leases", "leased" and "leasing" are one
word, an English one ("lease", not "leas": where a cut suffix leaves more than one candidate, the
word English uses most, by bot.text.frequency's table). One stemmer for the clusterer and the
matcher; the matcher reads words by `normal_form`, which adds the forms no suffix rule finds
(irregular deal verbs, plural acronyms, "news" kept whole), and finds them in raw text with
`forms_pattern`. Stemming loads no wordfreq: every parser process stems (issue 19 measured
+47 MB each when it did).

The stemmer is deliberately light (plurals and -ed/-ing of longer words), written here rather than
taken from NLTK/Snowball: a full stemmer conflates words that rules and events must keep apart
("general"/"generate", "computer"/"compute", "fired"/"fire"), and the matcher must apply exactly the
same folding to rule terms and to text, which a small, stable function of our own guarantees.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from typing import Any

import re2

from bot.text.frequency import zipf
from bot.text.stopwords import STOPWORDS

_APOSTROPHES = ("’", "‘", "ʼ", "`")  # all folded to "'"
_POSSESSIVE = re.compile(r"'s\b")
_WORD = re.compile(r"[^\W_]+")

# The matcher's forms no suffix rule finds (normal_form): irregular past forms of the verbs deals
# are reported with, and plural acronyms that end like "campus" and keep their "s" under `stem`.
# The clusterer reads words by `stem` alone: these forms joined reports of other deals there
# ("GPU cloud" and "GPUs"; measured on deals_dev, B-cubed P 0.992 -> 0.977).
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
    "gpus": "gpu",
    "tpus": "tpu",
    "cpus": "cpu",
    "npus": "npu",
    "xpus": "xpu",
    "dpus": "dpu",
    "ipus": "ipu",
    "lpus": "lpu",
}
# Words whose final "s" is not a plural, which the matcher keeps whole ("news" is not "new").
_KEEP = frozenset({"news", "series", "species", "always", "perhaps", "whereas"})
_STEM_CACHE: dict[str, str] = {}
_STEM_CACHE_LIMIT = 200_000


# The code points with a combining class (the marks NFKD leaves after a letter), as runs, for
# Unicode 14.0 (Python 3.11's unicodedata): finding them walks every code point, 55 ms in each
# process that folds accented text. Another Unicode version walks them anew.
_MARKS_UNICODE_VERSION = "14.0.0"
_MARK_RUNS = """
300-34e 350-36f 483-487 591-5bd 5bf 5c1-5c2 5c4-5c5 5c7 610-61a 64b-65f 670 6d6-6dc 6df-6e4
6e7-6e8 6ea-6ed 711 730-74a 7eb-7f3 7fd 816-819 81b-823 825-827 829-82d 859-85b 898-89f
8ca-8e1 8e3-8ff 93c 94d 951-954 9bc 9cd 9fe a3c a4d abc acd b3c b4d bcd c3c c4d c55-c56 cbc
ccd d3b-d3c d4d dca e38-e3a e48-e4b eb8-eba ec8-ecb f18-f19 f35 f37 f39 f71-f72 f74 f7a-f7d
f80 f82-f84 f86-f87 fc6 1037 1039-103a 108d 135d-135f 1714-1715 1734 17d2 17dd 18a9
1939-193b 1a17-1a18 1a60 1a75-1a7c 1a7f 1ab0-1abd 1abf-1ace 1b34 1b44 1b6b-1b73 1baa-1bab
1be6 1bf2-1bf3 1c37 1cd0-1cd2 1cd4-1ce0 1ce2-1ce8 1ced 1cf4 1cf8-1cf9 1dc0-1dff 20d0-20dc
20e1 20e5-20f0 2cef-2cf1 2d7f 2de0-2dff 302a-302f 3099-309a a66f a674-a67d a69e-a69f
a6f0-a6f1 a806 a82c a8c4 a8e0-a8f1 a92b-a92d a953 a9b3 a9c0 aab0 aab2-aab4 aab7-aab8
aabe-aabf aac1 aaf6 abed fb1e fe20-fe2f 101fd 102e0 10376-1037a 10a0d 10a0f 10a38-10a3a
10a3f 10ae5-10ae6 10d24-10d27 10eab-10eac 10f46-10f50 10f82-10f85 11046 11070 1107f
110b9-110ba 11100-11102 11133-11134 11173 111c0 111ca 11235-11236 112e9-112ea 1133b-1133c
1134d 11366-1136c 11370-11374 11442 11446 1145e 114c2-114c3 115bf-115c0 1163f 116b6-116b7
1172b 11839-1183a 1193d-1193e 11943 119e0 11a34 11a47 11a99 11c3f 11d42 11d44-11d45 11d97
16af0-16af4 16b30-16b36 16ff0-16ff1 1bc9e 1d165-1d169 1d16d-1d172 1d17b-1d182 1d185-1d18b
1d1aa-1d1ad 1d242-1d244 1e000-1e006 1e008-1e018 1e01b-1e021 1e023-1e024 1e026-1e02a
1e130-1e136 1e2ae 1e2ec-1e2ef 1e8d0-1e8d6 1e944-1e94a
"""


def _combining_ranges(end: int) -> list[list[int]]:
    """[low, high] runs of the combining-mark code points below `end`, found by walking them."""
    ranges: list[list[int]] = []
    for code in range(end):
        if unicodedata.combining(chr(code)):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return ranges


@functools.cache
def mark_ranges() -> tuple[tuple[int, int], ...]:
    """(low, high) runs of every combining-mark code point of this Python's Unicode."""
    if unicodedata.unidata_version != _MARKS_UNICODE_VERSION:
        return tuple((low, high) for low, high in _combining_ranges(0x110000))
    runs = []
    for run in _MARK_RUNS.split():
        low, _, high = run.partition("-")
        runs.append((int(low, 16), int(high or low, 16)))
    return tuple(runs)


def _combining_marks() -> re.Pattern[str]:
    """Runs of combining marks of the Basic Multilingual Plane and of astral characters (few of
    which are marks; they are checked one by one): one character class, which the regex engine
    tests with a bitmap lookup, where filtering characters one by one in Python costs ten times
    more."""
    marks = "".join(
        re.escape(chr(low)) + ("" if low == high else "-" + re.escape(chr(min(high, 0xFFFF))))
        for low, high in mark_ranges()
        if low < 0x10000
    )
    return re.compile(f"[{marks}\\U00010000-\\U0010ffff]+")


_COMBINING = _combining_marks()


@functools.cache
def _any_mark() -> Any:
    """RE2 (one pass over UTF-8, several times faster than the regex above) finding any
    combining mark: most non-ASCII text (quotes, dashes, other scripts) has none after NFKD, and
    is then only case-folded."""
    marks = "".join(
        f"\\x{{{low:x}}}" + ("" if low == high else f"-\\x{{{high:x}}}")
        for low, high in mark_ranges()
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


def normal_form(word: str) -> str:
    """The matcher's form of a folded word: an irregular verb's or a plural acronym's base form
    ("sold" -> "sell", "gpus" -> "gpu"), a word kept whole ("news"), else its `stem`. Rule terms
    and text are read through it alike."""
    cached = _STEM_CACHE.get(word)
    if cached is not None:
        return cached
    result = _IRREGULAR.get(word) or (word if word in _KEEP else stem(word))
    if len(_STEM_CACHE) < _STEM_CACHE_LIMIT:
        _STEM_CACHE[word] = result
    return result


def normal_forms(words: list[str]) -> list[str]:
    """`normal_form` of each folded word; the cache is read inline, a function call per word
    being most of the cost of a text whose words are already known."""
    known = _STEM_CACHE.get
    return [known(word) or normal_form(word) for word in words]


def forms_pattern(form: str) -> str:
    """A regular expression (the common subset of `re` and RE2 syntax) that fully matches every
    folded word whose `normal_form` is `form`, and a few more.

    It follows `stem` backwards: the form, then an optional plural "s"/"es", "d" or "ed" or
    "ing" (with the final consonant doubled or not); for a form ending in "e", the -ed/-ing
    forms without it; for a form ending in "y", the -ies/-ied forms; and the irregular forms
    that map to it. The matcher's prefilter relies on it never missing a form
    (tests/test_text_tokens.py checks that on real text).
    """
    body = re.escape(form)
    last = re.escape(form[-1:])
    forms = [f"{body}(?:e?s|e?d|ing|{last}(?:ed|ing))?"]
    if form.endswith("e") and len(form) > 1:
        forms.append(f"{re.escape(form[:-1])}(?:ed|ing)")
    if form.endswith("y") and len(form) > 1:
        forms.append(f"{re.escape(form[:-1])}ie[sd]")
    forms.extend(re.escape(irregular) for irregular in _IRREGULAR if _IRREGULAR[irregular] == form)
    return "(?:" + "|".join(forms) + ")"


def stem(token: str) -> str:
    """A conservative suffix stripper: plurals, possessives and -ed/-ing of longer words.

    Porter stemming conflates too much for event identity ("fired"/"fire"); this only joins the
    inflections that headlines switch between ("checks"/"checked"/"check", "launches"/"launch",
    "updated"/"update", "planned"/"plan").

    Where a suffix can leave more than one stem ("updat" or "update", "launche" or "launch",
    "plann" or "plan", "movy" or "movie") the word English uses most is taken: stripping
    letters alone gave "Apple releases updated iOS" the stem "updat" and "Apple Releases iOS
    7.1 Update" the stem "update", so two reports of one release shared one word fewer.
    """
    if "'" in token:
        token = token.split("'", 1)[0]
    if token.isdigit() or len(token) <= 3:
        return token
    if token.endswith("ies") and len(token) > 4:
        return _commonest((token[:-3] + "y", token[:-1]))  # "companies", "movies"
    if token.endswith("sses"):
        return token[:-2]
    if token.endswith(("ches", "shes", "xes", "zes", "uses")) and len(token) > 4:
        # "caches" -> "cache", "taxes" -> "tax", "causes" -> "cause", "campuses" -> "campus"
        return _commonest((token[:-1], token[:-2]))
    if token.endswith("s") and not token.endswith(("ss", "us", "is")):
        token = token[:-1]
    elif token.endswith("ing") and len(token) >= 6:
        token = _verb_stem(token[:-3])
    elif token.endswith("ed") and len(token) >= 6:
        token = _verb_stem(token[:-2])
    return token


def _verb_stem(bare: str) -> str:
    """The stem of a verb form whose -ed or -ing was cut off: `bare` ("check"), `bare` with the
    silent e back ("updat" -> "update"), or with a doubled consonant undone ("plann" -> "plan"),
    whichever is the commoner English word; `bare` when none is a word ("noth" of "nothing", as
    before). A function word is no verb's stem ("herring" is not "her")."""
    options = [bare, bare + "e"]
    if bare.endswith("i"):
        options.append(bare[:-1] + "y")  # "carried" -> "carry"
    if (
        len(bare) >= 4
        and bare[-1] == bare[-2]
        and bare[-1] not in "aeiou"
        and bare[:-1] not in STOPWORDS
    ):
        options.append(bare[:-1])
    best = _commonest(options)
    return best if zipf(best) > 0 else bare


def _commonest(words: Iterable[str]) -> str:
    """The most frequent of `words` in English at large (the first of equals)."""
    return max(words, key=zipf)


def stems(text: str) -> list[str]:
    """`normal_form` of every word of `text` (the matcher's reading of it)."""
    return normal_forms(tokenize(text))
