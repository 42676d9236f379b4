"""Folding, tokenising and light inflection folding shared by matcher and clusterer."""

from __future__ import annotations

import pytest

from bot.text.tokens import fold, stem, stems, tokenize


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
    assert len({stem(fold(form)) for form in forms}) == 1, {f: stem(fold(f)) for f in forms}


@pytest.mark.parametrize(
    ("left", "right"),
    [("news", "new"), ("campus", "camp"), ("computer", "compute"), ("general", "generate")],
)
def test_distinct_words_stay_apart(left: str, right: str) -> None:
    assert stem(left) != stem(right)


def test_stems_of_text() -> None:
    assert stems("Microsoft Leases Data Centers") == ["microsoft", "leas", "data", "center"]
