"""Fragments of one event that started as two stories, and folding one into the other.

When a report fits two stories (the join model puts both above its threshold), the two may be
one event that began as two fragments: they merge when their centroids are close for their size,
no anchor says they are different events (checks.stories_conflict), and, between two stories of
deals, some figure of one is a figure of the other. A merge that would bring a second deal's
figures into a story is refused: the digest would show that story with the other deal's value.
"""

from __future__ import annotations

import math

from bot.clustering import checks
from bot.clustering.anchors import anchor_figures, kinds_agreeing
from bot.clustering.config import ClusterConfig
from bot.clustering.index import StoryIndex
from bot.clustering.story import StoryState, fold_into


def centroid_cosine(a: StoryState, b: StoryState) -> float:
    if a.norm <= 0 or b.norm <= 0:
        return 0.0
    small, large = (a, b) if len(a.centroid) <= len(b.centroid) else (b, a)
    dot = sum(w * large.centroid.get(t, 0.0) for t, w in sorted(small.centroid.items()))
    return dot / (a.norm * b.norm)


def mergeable(a: StoryState, b: StoryState, config: ClusterConfig) -> bool:
    """Whether two stories a report fits are fragments of one event (see the module docstring)."""
    smaller = min(len(a.members), len(b.members))
    needed = config.merge_threshold + config.merge_size_slope * math.log(max(1, smaller))
    if centroid_cosine(a, b) < needed:
        return False
    if checks.stories_conflict(a, b, config):
        return False
    return not brings_other_deal(a, b, config)


def brings_other_deal(a: StoryState, b: StoryState, config: ClusterConfig) -> bool:
    """Two stories of deals (both have anchor figures) none of whose figures the other cites:
    each is another deal's, and a merge would show one story with both deals' figures."""
    a_anchors, b_anchors = anchor_figures(a, config), anchor_figures(b, config)
    if not a_anchors or not b_anchors:
        return False
    tolerance = config.quantity_tolerance
    agree_ab, _ = kinds_agreeing(a_anchors, b.all_quantities, tolerance)
    agree_ba, _ = kinds_agreeing(b_anchors, a.all_quantities, tolerance)
    return agree_ab == 0 and agree_ba == 0


def outranks(a: StoryState, b: StoryState) -> bool:
    """The story that survives a merge: more members, then the older one."""
    return (len(a.members), -a.first_seen.timestamp(), a.key) >= (
        len(b.members),
        -b.first_seen.timestamp(),
        b.key,
    )


def absorb(index: StoryIndex, keep: StoryState, gone: StoryState) -> None:
    """Fold story `gone` into `keep`: members, centroid, tables and index entries."""
    index.remove(gone.key)
    fold_into(keep, gone)
    for term, weight in gone.centroid.items():
        keep.centroid[term] = keep.centroid.get(term, 0.0) + weight
    index.trim_centroid(keep)
    index.touch(keep)
    index.register_members(keep)
    index.index(keep)
