"""How close a partition of items into stories comes to the gold stories: B-cubed and pairwise
precision, recall and F1, and where the two partitions disagree.

Both partitions are maps from item id to story id. Every scorer here reads the gold map's items;
an item missing from the predicted map is an error (callers decide what an unplaced item is, for
`newsbot eval` a story of its own). Pure functions, no I/O: `newsbot eval`, `bench/` and the tests
share this one implementation.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

from bot.text.plural import plural


@dataclass(frozen=True, slots=True)
class Scores:
    """Precision, recall and their harmonic mean."""

    precision: float
    recall: float
    f1: float

    def as_tuple(self) -> tuple[float, float, float]:
        return self.precision, self.recall, self.f1


def _f1(precision: float, recall: float) -> float:
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _check(gold: Mapping[str, str], predicted: Mapping[str, str]) -> None:
    missing = [item for item in gold if item not in predicted]
    if missing:
        raise ValueError(
            f"{plural(len(missing), 'item has', 'items have')} no predicted story, "
            f"e.g. {missing[:3]}"
        )


def bcubed(gold: Mapping[str, str], predicted: Mapping[str, str]) -> Scores:
    """Item-averaged B-cubed precision, recall and F1 (Bagga & Baldwin 1998).

    An item's precision is the share of its predicted story that shares its gold story, its
    recall the share of its gold story that shares its predicted story; both are averaged over
    the items of ``gold``. An empty ``gold`` scores 1.0 throughout.
    """
    _check(gold, predicted)
    if not gold:
        return Scores(1.0, 1.0, 1.0)
    together: Counter[tuple[str, str]] = Counter((gold[i], predicted[i]) for i in gold)
    gold_size = Counter(gold.values())
    predicted_size = Counter(predicted[i] for i in gold)
    n = len(gold)
    precision = sum(c * c / predicted_size[p] for (_, p), c in together.items()) / n
    recall = sum(c * c / gold_size[g] for (g, _), c in together.items()) / n
    return Scores(precision, recall, _f1(precision, recall))


def pairwise(gold: Mapping[str, str], predicted: Mapping[str, str]) -> Scores:
    """Precision, recall and F1 over the pairs of items placed in one story.

    With no predicted pair precision is 1.0 (nothing wrongly joined); with no gold pair recall
    is 1.0 (nothing to join).
    """
    _check(gold, predicted)

    def pairs(sizes: Counter[object]) -> int:
        return sum(c * (c - 1) // 2 for c in sizes.values())

    both = pairs(Counter((gold[i], predicted[i]) for i in gold))
    in_predicted = pairs(Counter(predicted[i] for i in gold))
    in_gold = pairs(Counter(gold.values()))
    precision = both / in_predicted if in_predicted else 1.0
    recall = both / in_gold if in_gold else 1.0
    return Scores(precision, recall, _f1(precision, recall))


@dataclass(frozen=True, slots=True)
class Disagreement:
    """One story of one partition whose items the other partition spreads over several stories:
    ``parts`` maps each of those stories to the story's items in it (largest part first)."""

    story: str
    parts: dict[str, list[str]]


def _spread(
    of: Mapping[str, str], over: Mapping[str, str], order: Mapping[str, int]
) -> list[Disagreement]:
    members: defaultdict[str, defaultdict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for item in sorted(of, key=lambda key: order[key]):
        members[of[item]][over[item]].append(item)
    found = [
        Disagreement(story, dict(sorted(parts.items(), key=lambda kv: (-len(kv[1]), kv[0]))))
        for story, parts in members.items()
        if len(parts) > 1
    ]
    return sorted(found, key=lambda d: (-sum(map(len, d.parts.values())), d.story))


def split_stories(gold: Mapping[str, str], predicted: Mapping[str, str]) -> list[Disagreement]:
    """Gold stories whose items went to more than one predicted story (recall lost), biggest
    first; each part lists its items in the order of ``gold``."""
    _check(gold, predicted)
    order = {item: index for index, item in enumerate(gold)}
    return _spread(gold, predicted, order)


def mixed_stories(gold: Mapping[str, str], predicted: Mapping[str, str]) -> list[Disagreement]:
    """Predicted stories holding items of more than one gold story (precision lost), biggest
    first; ``parts`` maps each gold story to its items in the predicted one."""
    _check(gold, predicted)
    order = {item: index for index, item in enumerate(gold)}
    return _spread({item: predicted[item] for item in gold}, gold, order)


def differing_items(first: Mapping[str, str], second: Mapping[str, str]) -> list[str]:
    """Items whose story-mates differ between two partitions of the same items (story ids need
    not agree): an item counts when the set of items it shares a story with is not the same."""
    if set(first) != set(second):
        raise ValueError("the two partitions hold different items")

    def mates(partition: Mapping[str, str]) -> dict[str, frozenset[str]]:
        groups: defaultdict[str, set[str]] = defaultdict(set)
        for item, story in partition.items():
            groups[story].add(item)
        return {item: frozenset(groups[story]) for item, story in partition.items()}

    one, other = mates(first), mates(second)
    return [item for item in first if one[item] != other[item]]
