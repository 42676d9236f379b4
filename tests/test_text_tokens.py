"""Folding, tokenising and light inflection folding shared by matcher and clusterer."""

from __future__ import annotations

import pytest

from bot.text import tokens
from bot.text.tokens import fold, normal_form, stem, stems, tokenize


def test_fold_is_case_and_accent_insensitive() -> None:
    assert fold("Société GÉNÉRALE Straße") == "societe generale strasse"
    assert fold("xAI’s") == "xai's"
    assert fold("plain ASCII") == "plain ascii"


def test_tokenize_drops_possessives_and_punctuation() -> None:
    assert tokenize("xAI’s Colossus-1 data-center, $17.4bn!") == [
        "xai",
        "colossus",
        "1",
        "data",
        "center",
        "17",
        "4bn",
    ]


@pytest.mark.parametrize(
    "forms",
    [
        ["lease", "leases", "leased", "leasing"],
        ["sign", "signs", "signed", "signing"],
        ["acquire", "acquires", "acquired", "acquiring"],
        ["buy", "buys", "buying", "bought"],
        ["sell", "sells", "selling", "sold"],
        ["supply", "supplies", "supplied"],
        ["gpu", "gpus", "GPUs"],
        ["h100", "h100s"],
        ["center", "centers"],
        ["campus", "campuses"],
        ["plan", "plans", "planned", "planning"],
    ],
)
def test_inflections_fold_together(forms: list[str]) -> None:
    """The matcher's reading: irregular verbs and plural acronyms too."""
    assert len({normal_form(fold(form)) for form in forms}) == 1, {
        f: normal_form(fold(f)) for f in forms
    }


@pytest.mark.parametrize(
    "forms",
    [
        ["lease", "leases", "leased", "leasing"],
        ["update", "updates", "updated", "updating"],
        ["company", "companies"],
        ["carry", "carries", "carried", "carrying"],
        ["plan", "plans", "planned", "planning"],
        ["campus", "campuses"],
        ["cause", "causes", "caused"],
        ["tax", "taxes"],
    ],
)
def test_one_stem_for_the_clusterer_and_the_matcher(forms: list[str]) -> None:
    """The clusterer reads words by `stem`, the matcher by `normal_form`: the same stem of every
    regular form, an English word ("lease", not "leas")."""
    assert len({stem(form) for form in forms}) == 1, {f: stem(f) for f in forms}
    assert {stem(form) for form in forms} == {normal_form(form) for form in forms} == {forms[0]}


@pytest.mark.parametrize(
    ("left", "right"),
    [("news", "new"), ("campus", "camp"), ("computer", "compute"), ("general", "generate")],
)
def test_distinct_words_stay_apart(left: str, right: str) -> None:
    assert normal_form(left) != normal_form(right)


def test_stems_of_text() -> None:
    assert stems("Microsoft Leases Data Centers") == ["microsoft", "lease", "data", "center"]


def _vocabulary() -> set[str]:
    """Words of real text (the shared data and seeds when present), the irregular forms, and
    random words with every suffix the stemmer strips."""
    import json
    import random
    from pathlib import Path

    from bot.text.tokens import _IRREGULAR

    words: set[str] = set(_IRREGULAR)
    shared = Path(__file__).resolve().parents[2] / "shared"
    for name in ("data/stories/uci_dev.jsonl", "data/relevance/dev.jsonl"):
        path = shared / name
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                words.update(tokenize(f"{row['title']} {row.get('summary') or ''}"))
    for seed in (shared / "seeds").glob("*.txt"):
        words.update(tokenize(seed.read_text(encoding="utf-8")))
    rng = random.Random(1)
    letters = "aeiouybcdlsnrtzxhgmpk1ø"
    suffixes = ["", "s", "es", "ies", "ied", "ed", "ing", "e", "eed", "eing", "sses", "xes"]
    suffixes += ["ches", "shes", "zes", "ying", "ings", "eds", "ss", "us", "is"]
    for _ in range(20_000):
        body = "".join(rng.choice(letters) for _ in range(rng.randint(1, 7)))
        words.add(body + rng.choice(suffixes) + rng.choice(["", "", "s", "ed"]))
    return words


def test_forms_pattern_accepts_every_word_of_its_stem() -> None:
    import re

    from bot.text.tokens import forms_pattern

    patterns: dict[str, re.Pattern[str]] = {}
    missed = []
    for word in _vocabulary():
        word_stem = normal_form(word)
        if word_stem not in patterns:
            patterns[word_stem] = re.compile(forms_pattern(word_stem))
        if not patterns[word_stem].fullmatch(word):
            missed.append((word, word_stem))
    assert missed == []
    # and it is narrow: other words of the same beginning are not forms of the stem
    lease = re.compile(forms_pattern(normal_form("lease")))
    assert lease.fullmatch("leasing") and lease.fullmatch("leases")
    assert not lease.fullmatch("leasehold") and not lease.fullmatch("leash")
    assert re.fullmatch(forms_pattern(normal_form("buy")), "bought")


def test_fold_drops_every_combining_mark_and_keeps_other_characters() -> None:
    import unicodedata

    def reference(text: str) -> str:
        for apostrophe in ("’", "‘", "ʼ", "`"):
            text = text.replace(apostrophe, "'")
        decomposed = unicodedata.normalize("NFKD", text)
        return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()

    for code in range(0x80, 0x110000, 7):
        text = f"A{chr(code)}é{chr(code)}"
        assert fold(text) == reference(text), hex(code)
    assert fold("Cafe\u0301 » “x” — \U0001d165") == "cafe » “x” — "


def test_the_shipped_combining_mark_runs_are_those_of_this_unicode() -> None:
    walked = tuple((low, high) for low, high in tokens._combining_ranges(0x110000))
    assert tokens.mark_ranges() == walked
    assert (0x300, 0x34E) in walked  # the combining diacritics (U+034F has no class)
