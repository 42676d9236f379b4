"""The story clusterer's words: inflections that headlines switch between share one stem, a
suffix that could leave two stems leaves the English word, and "watch" or "read" count except
as a headline's call to action."""

from __future__ import annotations

import pytest

from bot.clustering import features


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
        ["movie", "movies"],
        ["company", "companies"],
        ["carry", "carries", "carried"],
    ],
)
def test_inflections_share_one_stem(forms: list[str]) -> None:
    assert len({features.stem(form) for form in forms}) == 1, {f: features.stem(f) for f in forms}


def test_a_cut_suffix_leaves_the_english_word() -> None:
    assert features.stem("updated") == "update"
    assert features.stem("planned") == "plan"
    assert features.stem("launches") == "launch"


def test_short_and_unknown_forms_keep_the_plain_cut() -> None:
    # Short -ed words are not cut (a fired executive is not a fire), and forms whose cut leaves
    # no English word keep the cut they always had.
    assert features.stem("fired") != features.stem("fire")
    assert features.stem("xyzzled") == "xyzzl"
    assert features.stem("colossus") == "colossus"


def test_two_headlines_of_one_event_share_its_verbs() -> None:
    released = features.extract("Apple released iOS 7.1 for iPhones and iPads")
    releases = features.extract("Apple Releases iOS 7.1 With CarPlay")
    assert {"release", "ios", "7.1"} <= released.weights.keys() & releases.weights.keys()
    launched = features.extract("Google launched a smartwatch SDK")
    launches = features.extract("Google launches Android Wear for smartwatches")
    assert "launch" in launched.weights.keys() & launches.weights.keys()


def test_watch_and_read_are_words_of_events() -> None:
    watches = features.extract("Google ready to unleash a flood of Android smart watches")
    assert "watch" in watches.weights
    reading = features.extract("Speed reading app Spritz wants to change the way we read")
    assert "read" in reading.weights


@pytest.mark.parametrize(
    "title",
    [
        "WATCH: Justin Bieber and Selena Gomez dance at SXSW",
        "[Watch] Justin Bieber and Selena Gomez dance at SXSW",
        "Justin Bieber and Selena Gomez dance at SXSW - Watch Now!",
        "Justin Bieber and Selena Gomez dance at SXSW: watch",
    ],
)
def test_a_call_to_action_is_no_word_of_the_headline(title: str) -> None:
    extracted = features.extract(title)
    assert "watch" not in extracted.weights
    assert {"bieber", "gomez", "dance", "sxsw"} <= extracted.weights.keys()


def test_a_function_word_is_no_stem() -> None:
    assert features.stem("herring") != "her"
    assert features.tokens("Herring fleet returns") == ["herr", "fleet", "return"]
