"""The clusterer's settings: `ClusterConfig`. The defaults are the shipped configuration for every
data set; the join model's weights (scoring.py) were trained with them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

# How long a story stays open for new reports (hours since its last report). Two weeks: a scoop
# ("in talks") and the signed deal come up to two weeks apart in real deal coverage, and the join
# model weighs the time gap itself (deals_dev: 336 h scores above 72 h and 168 h on both halves).
JOIN_WINDOW_HOURS = 336.0


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """See the module docstring; each field says what it bounds or decides."""

    # How long a story stays open for new reports (JOIN_WINDOW_HOURS).
    active_window_hours: float = JOIN_WINDOW_HOURS
    # The probability of "same event" from which a report joins its best candidate story.
    # None: the threshold shipped with the model's weights (chosen by cross-validation).
    join_probability: float | None = None
    # Weights of the join model (a JSON file written by bench/train_join.py); None: the shipped
    # ones (bot/clustering/join_model.json).
    join_model: Path | None = None
    # Terms per item vector, and per story centroid: bound memory and per-item work.
    item_terms: int = 40
    centroid_terms: int = 160
    # Terms of the item used to look up candidates, postings kept per term, candidates scored.
    query_terms: int = 12
    posting_limit: int = 32
    max_candidates: int = 32
    # Share of members that must name a term for it to be part of the story's core.
    core_share: float = 0.5
    # Relative difference above which two figures of the same kind are different figures.
    quantity_tolerance: float = 0.15
    # A smoothing mass for the stream IDF (in stories): how far a term's spread over the active
    # stories may discount its background rarity depends on how many stories back the count; a
    # stream of a few dozen stories says little about a word.
    idf_prior_docs: float = 100.0
    # Compare every item with every active story (the brute-force baseline of the benchmark).
    exhaustive_search: bool = False
    # Two stories whose centroids are this similar (and whose anchors agree) are one event that
    # started as two fragments; checked when an item fits both (merging.py). The bar rises by
    # merge_size_slope per factor e of the smaller story's size: a fragment of one or two reports
    # has a noisy centroid; two stories of 50 reports each need closer centroids.
    merge_threshold: float = 0.22
    merge_size_slope: float = 0.02
    # Other stories the item also fits that may merge with the one it joins.
    merge_candidates: int = 1
    # Blend sentence embeddings into the similarity (the [semantic] extra, semantic.py).
    semantic: bool = False
    # Actors of a report: names at least this rare in general English (background IDF; Zipf
    # <= 2.5: "Grigoropoulos", "Ketsoyan", not "Obama" or "Greece").
    actor_rarity: float = 4.5
    # The actor check (checks.actors_conflict): a report bringing rare names the story never
    # saw conflicts when it also leaves out this many of the names at least this share of the
    # story's reports (and two at least) put in their title or lead.
    actor_missing: int = 2
    actor_share: float = 0.3
    # A story's figure is an anchor while at least this share of its reports cite it: the first
    # report's figure is the story's until more reports come in; a figure that one outlet in
    # forty quotes is a detail of that report, not what identifies the event.
    figure_share: float = 0.25
    # A story's place (title and lead, "in Arizona") is an anchor when at least this share of
    # its reports (two at least; the one report of a deal story) give it.
    place_share: float = 0.3

    @classmethod
    def from_settings(cls, settings: Any) -> ClusterConfig:
        """From `bot.config.settings.ClusteringSettings` (only the fields it has)."""
        return cls(
            active_window_hours=float(settings.active_window_hours),
            semantic=bool(getattr(settings, "semantic", False)),
        )
