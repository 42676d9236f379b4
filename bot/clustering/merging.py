"""Fragments of one event that started as two stories, and folding one into the other.

When a report fits two stories (the join model puts both above its threshold), the two may be
one event that began as two fragments: they merge when their centroids are close for their size,
no anchor says they are different events (checks.stories_conflict), and, between two stories of
deals, some figure of one is a figure of the other. A merge that would bring a second deal's
figures into a story is refused: the digest would show that story with the other deal's value.
"""

from __future__ import annotations

import math
from collections.abc import Collection

from bot.clustering import checks, presentation
from bot.clustering.anchors import anchor_figures, kinds_agreeing
from bot.clustering.config import ClusterConfig
from bot.clustering.index import StoryIndex
from bot.clustering.item import Figure
from bot.clustering.story import StoryState, fold_into


def centroid_cosine(a: StoryState, b: StoryState) -> float:
    if a.norm <= 0 or b.norm <= 0:
        return 0.0
    small, large = (a, b) if len(a.centroid) <= len(b.centroid) else (b, a)
    dot = sum(w * large.centroid.get(t, 0.0) for t, w in sorted(small.centroid.items()))
    return dot / (a.norm * b.norm)


def mergeable(
    a: StoryState, b: StoryState, config: ClusterConfig, bridge: Collection[Figure] = ()
) -> bool:
    """Whether two stories a report fits are fragments of one event (see the module docstring).
    `bridge` holds the figures of that report, if it has joined `a` or `b` already."""
    smaller = min(len(a.members), len(b.members))
    needed = config.merge_threshold + config.merge_size_slope * math.log(max(1, smaller))
    if centroid_cosine(a, b) < needed:
        return False
    if checks.stories_conflict(a, b, config):
        return False
    return not brings_other_deal(a, b, config, bridge)


def brings_other_deal(
    a: StoryState, b: StoryState, config: ClusterConfig, bridge: Collection[Figure] = ()
) -> bool:
    """Two stories of deals none of whose figures the other cites: each is another deal's, and
    a merge would show one story with both deals' figures. A story's figures are its headline
    figures, else the figures its digest entry shows (deal_figures: "xAI sells Colossus 1
    capacity to Anthropic" gives none in its headlines, 300 MW in its facts). A figure only the
    bridging report cites is no evidence: a report naming both deals cites both."""
    a_figures, b_figures = deal_figures(a, config), deal_figures(b, config)
    if not a_figures or not b_figures:
        return False
    tolerance = config.quantity_tolerance
    agree_ab, _ = kinds_agreeing(a_figures, _cited(b, bridge), tolerance)
    agree_ba, _ = kinds_agreeing(b_figures, _cited(a, bridge), tolerance)
    return agree_ab == 0 and agree_ba == 0


def _cited(story: StoryState, bridge: Collection[Figure]) -> list[Figure]:
    return [
        figure
        for figure in story.all_quantities
        if figure not in bridge or story.quantity_counts.get(figure, 0) > 1
    ]


def deal_figures(story: StoryState, config: ClusterConfig) -> list[Figure]:
    """The figures that say which deal a story is: its headline figures
    (anchors.anchor_figures), else the figures its digest entry shows (presentation.facts)."""
    anchors = anchor_figures(story, config)
    if anchors:
        return anchors
    shown = presentation.facts(story)
    figures: list[Figure] = []
    if shown.power_mw:
        figures.append(("power", shown.power_mw))
    if shown.amount_usd:
        figures.append(("money:USD", shown.amount_usd))
    if shown.chips:
        figures.append(("chips", float(shown.chips)))
    return figures


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
