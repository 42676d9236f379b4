"""The story clusterer's stems: inflections that headlines switch between share one stem, and a
suffix that could leave two stems leaves the English word."""

from __future__ import annotations

import pytest

from bot.clustering import features as ft


@pytest.mark.parametrize(
    "forms",
    [
        ["update", "updates", "updated", "updating"],
        ["release", "releases", "released", "releasing"],
        ["launch", "launches", "launched", "launching"],
        ["plan", "plans", "planned", "planning"],
        ["trade", "trades", "traded", "trading"],
        ["match", "matches", "matched", "matching"],
        ["cache", "caches", "cached"],
        ["check", "checks", "checked", "checking"],
        ["kill", "kills", "killed", "killing"],
    ],
)
def test_inflections_share_one_stem(forms: list[str]) -> None:
    assert len({ft.stem(form) for form in forms}) == 1, {f: ft.stem(f) for f in forms}


def test_a_cut_suffix_leaves_the_english_word() -> None:
    assert ft.stem("updated") == "update"
    assert ft.stem("planned") == "plan"
    assert ft.stem("launches") == "launch"


def test_short_and_unknown_forms_keep_the_plain_cut() -> None:
    # Short -ed words are not cut (a fired executive is not a fire), and forms whose cut leaves
    # no English word keep the cut they always had.
    assert ft.stem("fired") != ft.stem("fire")
    assert ft.stem("xyzzled") == "xyzzl"
    assert ft.stem("colossus") == "colossus"


def test_two_headlines_of_one_event_share_its_verbs() -> None:
    released = ft.extract("Apple released iOS 7.1 for iPhones and iPads")
    releases = ft.extract("Apple Releases iOS 7.1 With CarPlay")
    assert {"release", "ios", "7.1"} <= released.weights.keys() & releases.weights.keys()
    launched = ft.extract("Google launched a smartwatch SDK")
    launches = ft.extract("Google launches Android Wear for smartwatches")
    assert "launch" in launched.weights.keys() & launches.weights.keys()
