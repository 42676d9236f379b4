"""The story scores shared by `newsbot eval` and bench/: B-cubed, pairwise, and where two
partitions of the same items disagree."""

from __future__ import annotations

import pytest

from bot.evaluation.scores import (
    bcubed,
    differing_items,
    mixed_stories,
    pairwise,
    split_stories,
)

GOLD = {"a": "x", "b": "x", "c": "y", "d": "y"}


def test_bcubed_and_pairwise_metrics() -> None:
    assert bcubed(GOLD, dict(GOLD)).as_tuple() == (1.0, 1.0, 1.0)
    merged = {"a": "1", "b": "1", "c": "1", "d": "1"}
    assert bcubed(GOLD, merged).as_tuple()[:2] == (0.5, 1.0)
    split = {"a": "1", "b": "2", "c": "3", "d": "4"}
    assert bcubed(GOLD, split).as_tuple()[:2] == (1.0, 0.5)
    assert pairwise(GOLD, merged).as_tuple()[:2] == (2 / 6, 1.0)
    assert pairwise(GOLD, split).as_tuple()[:2] == (1.0, 0.0)


def test_bcubed_by_hand_on_an_uneven_partition() -> None:
    gold = {"a": "x", "b": "x", "c": "x", "d": "y"}
    predicted = {"a": "1", "b": "1", "c": "2", "d": "2"}
    scores = bcubed(gold, predicted)
    # Precision: a, b 1; c, d 1/2. Recall: a, b 2/3; c 1/3; d 1.
    assert scores.precision == pytest.approx(3 / 4)
    assert scores.recall == pytest.approx((2 / 3 + 2 / 3 + 1 / 3 + 1) / 4)
    expected_f1 = 2 * scores.precision * scores.recall / (scores.precision + scores.recall)
    assert scores.f1 == pytest.approx(expected_f1)


def test_an_item_without_a_predicted_story_is_an_error() -> None:
    with pytest.raises(ValueError, match="1 item has no predicted story"):
        bcubed(GOLD, {"a": "1", "b": "1", "c": "2"})


def test_split_and_mixed_stories_name_the_parts() -> None:
    gold = {"a": "x", "b": "x", "c": "x", "d": "y", "e": "z"}
    predicted = {"a": "1", "b": "1", "c": "2", "d": "2", "e": "3"}
    [split] = split_stories(gold, predicted)
    assert split.story == "x" and split.parts == {"1": ["a", "b"], "2": ["c"]}
    [mixed] = mixed_stories(gold, predicted)
    assert mixed.story == "2" and mixed.parts == {"x": ["c"], "y": ["d"]}


def test_differing_items_ignore_story_names() -> None:
    first = {"a": "1", "b": "1", "c": "2", "d": "3"}
    assert differing_items(first, {"a": "p", "b": "p", "c": "q", "d": "r"}) == []
    # c joins d's story: both their story-mates change, a and b keep theirs.
    assert differing_items(first, {"a": "p", "b": "p", "c": "q", "d": "q"}) == ["c", "d"]
    with pytest.raises(ValueError, match="different items"):
        differing_items(first, {"a": "p"})
