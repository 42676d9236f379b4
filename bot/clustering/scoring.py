"""The join decision: how likely a report is to be of a story's event, from weighed signals.

Owns the signals the clusterer computes for a (report, story) pair (`SIGNALS`, `signals`) and the
model that weighs them (`JoinModel`): a logistic regression whose weights are learned from
labelled pairs of the dev sets by `bench/train_join.py` and shipped in `join_model.json`. At run
time a decision is a dot product and a sigmoid; nothing here needs a new dependency.

Why a learned model rather than thresholds and vetoes: each hand-set veto protected precision on
one pattern of one data set and cost recall on others (a deal's analysis piece leaves out a party,
a trade-press report adds the site and chip count, a scoop and its confirmation give the value
differently). A model trained on the three dev sets weighs each signal by how much it tells on
all of them (Miranda et al. 2018, "Multilingual Clustering of Streaming News", do the same over
TF-IDF, entity and time features).

Signals come in two tiers: cheap ones (text similarity, time, size) for every candidate, and the
name, place and figure checks only for candidates the cheap ones leave a chance of joining (an
upper bound on what the rest can add, `JoinModel.could_reach`), which keeps the work per item
bounded.
"""

from __future__ import annotations

import functools
import json
import math
import operator
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.clustering import checks
from bot.clustering.anchors import (
    anchor_figures,
    any_figures_conflict,
    figures_agree,
    headline_anchors,
    kinds_agreeing,
    unknown_parties,
)
from bot.clustering.config import ClusterConfig
from bot.clustering.item import ItemReading
from bot.clustering.story import StoryState

SHIPPED_MODEL = Path(__file__).with_name("join_model.json")
# The weights trained with the embedding cosine, for the [semantic] extra.
SHIPPED_SEMANTIC_MODEL = Path(__file__).with_name("join_model_semantic.json")
MODEL_FORMAT = 1
# Counts are capped where more says nothing more (a third unknown name, as a second).
COUNT_CAP = 3

# Which way a signal may move the probability of "same event" (bench/train_join.py bounds the
# weights so): agreement only raises it, disagreement only lowers it. Without the bounds,
# correlated signals (three ways of saying "the figures differ") take weights of opposite signs
# that fit the dev sets and nothing else. FREE signals set the context (a story's size).
RAISES, LOWERS, FREE = 1, -1, 0

# Signal name -> (the largest value it takes, its direction). The largest value bounds what a
# signal can add (the pruning bound); fractions and flags are 1.
CHEAP_SIGNALS: dict[str, tuple[float, int]] = {
    "centroid_cosine": (1.0, RAISES),  # TF-IDF cosine of the report and the story's centroid
    "member_cosine_max": (1.0, RAISES),  # the closest sampled report of the story
    "member_cosine_mean": (1.0, RAISES),
    "title_cosine": (1.0, RAISES),  # the closest title of the sampled reports (title terms)
    "near_duplicate": (1.0, RAISES),  # the story holds this informative title
    "log_gap_hours": (6.0, LOWERS),  # log(1 + hours from the story's span), capped by the window
    "log_size": (7.0, FREE),  # log of the story's reports
    "headline_only": (1.0, FREE),  # the report has no lead prose
    "headline_only_cosine": (1.0, RAISES),  # centroid_cosine of a headline-only report
    "same_outlet": (1.0, FREE),  # an outlet of the story's reports
    "embedding_cosine": (1.0, RAISES),  # sentence embeddings (the [semantic] extra), else 0
    # 1 when the report shares no weighed word with the story, falling to 0 at UNRELATED_BELOW
    # (unrelated_text): without it, the weights of a linear model could say "no evidence" only
    # through the bias, and a report sharing nothing with a lone report's story joined it.
    "unrelated_text": (1.0, LOWERS),
    # Ramps of the text similarities (ramp_signals): the probability of one event rises
    # steeply between weak and strong agreement, which a single weight per similarity cannot
    # say; non-negative weights on ramps give any rising curve.
    **{
        f"{name}_above_{knot}": (1.0, RAISES)
        for name in ("member_cosine_max", "centroid_cosine", "title_cosine")
        for knot in (20, 35, 50, 65)
    },
}
CHECK_SIGNALS: dict[str, tuple[float, int]] = {
    "name_share": (1.0, RAISES),  # the report's names the story's reports name
    "rare_known": (COUNT_CAP, RAISES),  # the report's rare actors the story knows
    "rare_new": (COUNT_CAP, LOWERS),  # ... and those it has never seen
    "core_missing_share": (1.0, LOWERS),  # the story's core names the report leaves out
    "core_missing": (COUNT_CAP, LOWERS),
    "title_names_new": (COUNT_CAP, LOWERS),  # names of the report's title the story never saw
    "entity_share": (1.0, RAISES),  # the report's entity names among the story's
    "member_strangers": (1.0, LOWERS),  # sampled reports with no rare actor in common
    "member_missing_rare": (
        1.0,
        LOWERS,
    ),  # share of a sampled report's rare actors the report lacks
    "member_missing_rare_min": (1.0, LOWERS),
    "member_new_rare": (1.0, LOWERS),  # share of the report's rare actors a sampled report lacks
    "names_conflict": (1.0, LOWERS),
    "actors_conflict": (1.0, LOWERS),
    "strangers": (1.0, LOWERS),
    "places_conflict": (1.0, LOWERS),
    "places_agree": (1.0, RAISES),
    "other_parties": (1.0, LOWERS),
    "dated_elsewhere": (1.0, LOWERS),
    "years_disagree": (1.0, LOWERS),
    "figures_conflict": (1.0, LOWERS),  # the report's figures against the story's anchor figures
    "headline_anchor_conflict": (1.0, LOWERS),  # ... against its headline anchors
    "headline_figure_conflict": (1.0, LOWERS),  # the report's headline figures against its anchors
    "kinds_agree": (COUNT_CAP, RAISES),  # figure kinds with a figure in common
    "kinds_conflict": (COUNT_CAP, LOWERS),
    "same_terms": (1.0, RAISES),  # two kinds of figures agree and every headline party is known
    "parties_known": (COUNT_CAP, RAISES),
    "parties_unknown": (COUNT_CAP, LOWERS),
    "title_core_missing": (COUNT_CAP, LOWERS),  # names most of the story's titles give, absent here
    "title_core_swapped": (
        1.0,
        LOWERS,
    ),  # ... while this title names someone no title of the story does
    "headline_swap": (1.0, LOWERS),  # the headline drops a name the story's headlines share
    # and names a party none of them does ("AMD and Humain" against "Nvidia ... Humain")
    "party_share": (1.0, RAISES),  # the report's deal parties the story's reports name
    # Jaccard of the report's parties and the story's (its core parties, or its one report's)
    "party_overlap": (1.0, RAISES),
    "parties_new": (COUNT_CAP, LOWERS),  # ... and those they never name
    "party_core_missing": (
        COUNT_CAP,
        LOWERS,
    ),  # parties most of the story's reports name, absent here
    "party_swap": (1.0, LOWERS),  # ... while the report brings a party of its own
    # The absence signals again for reports with prose, which had room to name the story's
    # actors: leaving them out says more there than in a bare headline.
    "core_missing_prose": (COUNT_CAP, LOWERS),
    "title_core_missing_prose": (COUNT_CAP, LOWERS),
    "party_core_missing_prose": (COUNT_CAP, LOWERS),
    "both_deals": (1.0, FREE),  # report and story cite deal figures
    "names_conflict_deal": (1.0, LOWERS),
    "other_parties_deal": (1.0, LOWERS),
    # ... between two announcements that each give the deal's own figure in the headline: not
    # an analysis or a market report that names the deal in passing
    "other_parties_announced": (1.0, LOWERS),
    # the report's headline announces a deal with a party no announcement of the story names,
    # and leaves out a party they name ("Anthropic signs TPU deal with Google" against
    # "xAI sells Colossus 1 capacity to Anthropic")
    "announced_swap": (1.0, LOWERS),
    # the report speaks of a kind of event none of the story's reports speaks of (a launch, a
    # lawsuit, results, a funding round against a deal): the same companies' other news
    "kind_conflict": (1.0, LOWERS),
}
# Conflicts again, scaled by the text similarity (conflict_signals): two reports of one kind of
# event read alike (a fight of the same champion, a lease of the same seller), so the closer the
# words, the more a conflict of actors, places or figures says "another event of the same kind".
SCALED_CONFLICTS = (
    "names_conflict",
    "actors_conflict",
    "places_conflict",
    "figures_conflict",
    "headline_figure_conflict",
    "party_swap",
    "other_parties",
    "title_core_swapped",
    "dated_elsewhere",
    "years_disagree",
)
CHECK_SIGNALS.update({f"{name}_similar": (1.0, LOWERS) for name in SCALED_CONFLICTS})
SIGNALS: tuple[str, ...] = (*CHEAP_SIGNALS, *CHECK_SIGNALS)
DIRECTION: dict[str, int] = {
    name: direction for name, (_, direction) in (CHEAP_SIGNALS | CHECK_SIGNALS).items()
}


def gap_hours(story: StoryState, reading: ItemReading) -> float:
    """Hours between the report and the nearest end of the story's span (0 inside it)."""
    published = reading.published
    if published > story.last_updated:
        gap = published - story.last_updated
    elif published < story.first_seen:
        gap = story.first_seen - published
    else:
        return 0.0
    return gap.total_seconds() / 3600.0


def _cosine(vector: Mapping[str, float], other: Mapping[str, float]) -> float:
    # Summing in sorted term order keeps the result bit-identical whatever order the dicts
    # were built in (a restored story's decisions equal the uninterrupted one's).
    shared = sorted(vector.keys() & other.keys())
    return float(
        sum(map(operator.mul, map(vector.__getitem__, shared), map(other.__getitem__, shared)))
    )


# Each text similarity also enters the model through ramps starting at these knots (a
# piecewise-linear response): (similarity, start, signal name).
_SIMILARITY_RAMPS = tuple(
    (name, knot / 100.0, f"{name}_above_{knot}")
    for name in ("member_cosine_max", "centroid_cosine", "title_cosine")
    for knot in (20, 35, 50, 65)
)


def cheap_signals(
    story: StoryState,
    reading: ItemReading,
    embedding_cosine: float | None,
    text_shift: float = 0.0,
) -> dict[str, float]:
    """The signals every candidate gets (see CHEAP_SIGNALS). `text_shift` moves the text
    similarities (the semantic extra's vote with weights trained without embeddings)."""
    vector = reading.vector
    centroid = _cosine(vector, story.centroid) / story.norm if story.norm > 0 else 0.0
    centroid += text_shift
    member_cosines = [_cosine(vector, p.vector) + text_shift for p in story.profiles] or [centroid]
    title_terms = reading.distinctive_terms
    title = 0.0
    for profile in story.profiles:
        if title_terms and profile.title_terms:
            shared = len(title_terms & profile.title_terms)
            title = max(title, shared / math.sqrt(len(title_terms) * len(profile.title_terms)))
    title += text_shift
    source = reading.item.source
    headline_only = 0.0 if reading.has_lead else 1.0
    values = {
        "centroid_cosine": centroid,
        "member_cosine_max": max(member_cosines),
        "member_cosine_mean": sum(member_cosines) / len(member_cosines),
        "title_cosine": title,
        "near_duplicate": float(
            reading.title_key is not None and reading.title_key in story.titles
        ),
        "log_gap_hours": math.log1p(gap_hours(story, reading)),
        "log_size": math.log(max(1, len(story.members))),
        "headline_only": headline_only,
        "headline_only_cosine": headline_only * centroid,
        "same_outlet": float(source is not None and source in story.sources),
        "embedding_cosine": embedding_cosine or 0.0,
    }
    values["unrelated_text"] = unrelated_text(
        max(values["member_cosine_max"], values["centroid_cosine"], values["title_cosine"])
    )
    for name, start, ramped in _SIMILARITY_RAMPS:
        values[ramped] = ramp(values[name], start)
    return values


RAMP_WIDTH = 0.15
# The text similarity below which a report reads as unrelated to a story, more so the lower.
UNRELATED_BELOW = 0.1


def unrelated_text(similarity: float) -> float:
    """1 at no similarity, 0 from UNRELATED_BELOW up, linear between."""
    return max(0.0, 1.0 - max(0.0, similarity) / UNRELATED_BELOW)


def ramp(value: float, start: float) -> float:
    """0 below `start`, 1 from start + RAMP_WIDTH, linear between."""
    return min(1.0, max(0.0, (value - start) / RAMP_WIDTH))


def check_signals(
    story: StoryState, reading: ItemReading, config: ClusterConfig, similarity: float
) -> dict[str, float]:
    """The name, place, date and figure signals (see CHECK_SIGNALS); `similarity` is the
    closest sampled report's cosine (member_cosine_max), which scales the conflicts."""
    feats = reading.feats
    words = feats.weights.keys()
    known = story.known_terms()
    names = set(feats.names)
    rare = reading.rare_names
    rare_known = sum(1 for t in rare if t in known)
    core = checks.core_names(story, config)
    core_missing = sum(1 for t in core if t not in words)
    title_terms = set(feats.title_terms)
    entities = set(feats.entity_names)
    strangers = missing = 0.0
    missing_min = 1.0 if story.profiles else 0.0
    new_rare = 0.0
    for profile in story.profiles:
        profile_words = profile.vector.keys() | profile.rare_names
        if checks.no_actor_in_common(rare, words, set(profile.rare_names), profile_words):
            strangers += 1
        share = (
            len(profile.rare_names - words) / len(profile.rare_names) if profile.rare_names else 0.0
        )
        missing += share
        missing_min = min(missing_min, share)
        new_rare += len(rare - profile_words) / len(rare) if rare else 0.0
    sampled = max(1, len(story.profiles))
    tolerance = config.quantity_tolerance
    figures, headline = reading.figures, reading.headline_figures
    anchors = anchor_figures(story, config) if figures else []
    agree, conflict = kinds_agreeing(figures, story.all_quantities, tolerance)
    both_deals = reading.is_deal and story.is_deal
    names_conflict = checks.names_conflict(story, reading, config)
    other_parties = checks.other_parties(story, reading, config)
    unknown = unknown_parties(story, reading.parties)
    title_core = checks.title_core(story, config)
    title_core_missing = sum(1 for t in title_core if t not in words)
    title_newcomer = any(t not in story.title_parties for t in reading.parties)
    headline_core = checks.title_core(story, config, single=True)
    headline_dropped = any(t not in title_terms for t in headline_core)
    party_known = [p for p in reading.fact_parties if _party_known(p, story, known)]
    parties_new = len(reading.fact_parties) - len(party_known)
    party_core = checks.core_parties(story, config)
    party_core_missing = sum(1 for p in party_core if not set(p.split()) <= words)
    prose = 1.0 if reading.has_lead else 0.0
    values = {
        "name_share": sum(1 for t in names if t in story.names) / len(names) if names else 0.0,
        "rare_known": min(rare_known, COUNT_CAP),
        "rare_new": min(len(rare) - rare_known, COUNT_CAP),
        "core_missing_share": core_missing / len(core) if core else 0.0,
        "core_missing": min(core_missing, COUNT_CAP),
        "title_names_new": min(
            sum(1 for t in names if t in title_terms and t not in known), COUNT_CAP
        ),
        "entity_share": (
            len(entities & story.entities.keys()) / len(entities) if entities else 0.0
        ),
        "member_strangers": strangers / sampled,
        "member_missing_rare": missing / sampled,
        "member_missing_rare_min": missing_min,
        "member_new_rare": new_rare / sampled,
        "names_conflict": float(names_conflict),
        "actors_conflict": float(checks.actors_conflict(story, reading, config)),
        "strangers": float(checks.strangers(story, reading, config)),
        "places_conflict": float(checks.places_conflict(story, reading, config)),
        "places_agree": float(checks.places_agree(story, reading)),
        "other_parties": float(other_parties),
        "dated_elsewhere": float(checks.dated_elsewhere(story, reading)),
        "years_disagree": float(checks.years_disagree(story, reading)),
        "figures_conflict": float(any_figures_conflict(figures, anchors, tolerance)),
        "headline_anchor_conflict": float(
            bool(figures)
            and any_figures_conflict(figures, headline_anchors(story, config), tolerance)
        ),
        "headline_figure_conflict": float(any_figures_conflict(headline, anchors, tolerance)),
        "kinds_agree": min(agree, COUNT_CAP),
        "kinds_conflict": min(conflict, COUNT_CAP),
        "same_terms": float(
            bool(reading.parties) and not unknown and figures_agree(figures, anchors, tolerance)
        ),
        "parties_known": min(len(reading.parties) - len(unknown), COUNT_CAP),
        "parties_unknown": min(len(unknown), COUNT_CAP),
        "title_core_missing": min(title_core_missing, COUNT_CAP),
        "title_core_swapped": float(title_core_missing > 0 and title_newcomer),
        "headline_swap": float(headline_dropped and title_newcomer),
        "party_overlap": _party_overlap(reading.fact_parties, party_core or list(story.parties)),
        "party_share": len(party_known) / len(reading.fact_parties)
        if reading.fact_parties
        else 0.0,
        "parties_new": min(parties_new, COUNT_CAP),
        "party_core_missing": min(party_core_missing, COUNT_CAP),
        "party_swap": float(party_core_missing > 0 and parties_new > 0),
        "core_missing_prose": prose * min(core_missing, COUNT_CAP),
        "title_core_missing_prose": prose * min(title_core_missing, COUNT_CAP),
        "party_core_missing_prose": prose * min(party_core_missing, COUNT_CAP),
        "both_deals": float(both_deals),
        "names_conflict_deal": float(names_conflict and both_deals),
        "other_parties_deal": float(other_parties and both_deals),
        "announced_swap": float(_announced_swap(story, reading)),
        "kind_conflict": float(
            bool(reading.kinds) and bool(story.kinds) and not reading.kinds & story.kinds.keys()
        ),
        "other_parties_announced": float(
            other_parties and bool(headline) and bool(headline_anchors(story, config))
        ),
    }
    for name in SCALED_CONFLICTS:
        values[f"{name}_similar"] = values[name] * similarity
    return values


def _party_overlap(mine: frozenset[str], theirs: list[str]) -> float:
    if not mine or not theirs:
        return 0.0
    union = mine | set(theirs)
    return len(mine & set(theirs)) / len(union)


def _announced_swap(story: StoryState, reading: ItemReading) -> bool:
    if not reading.announced_parties or not story.announcements:
        return False
    if not reading.announced_parties - story.announced_parties.keys():
        return False
    words = reading.feats.weights.keys()
    return any(term not in words for term in story.announced_parties)


def _party_known(party: str, story: StoryState, known: set[str]) -> bool:
    """A deal party the story's reports name as a party, or whose every term they use."""
    return party in story.parties or set(party.split()) <= known


@dataclass(slots=True)
class JoinModel:
    """Logistic regression over SIGNALS: P(same event) = sigmoid(bias + weights . signals)."""

    weights: dict[str, float]
    bias: float
    threshold: float
    # Whether the weights were trained with the embedding cosine (the [semantic] extra).
    semantic: bool = False
    # The most the check signals can add to a logit (could_reach).
    check_ceiling: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.check_ceiling = sum(
            max(0.0, self.weights.get(name, 0.0)) * top for name, (top, _) in CHECK_SIGNALS.items()
        )

    def logit(self, values: Mapping[str, float]) -> float:
        weights = self.weights
        return self.bias + sum(weights[name] * value for name, value in values.items() if value)

    def probability(self, values: Mapping[str, float]) -> float:
        return sigmoid(self.logit(values))

    def could_reach(self, cheap_logit: float, threshold_logit: float) -> bool:
        """Whether the check signals could still lift a candidate whose cheap signals give
        `cheap_logit` (bias included) to `threshold_logit`: every positive weight at its
        signal's largest value."""
        return cheap_logit + self.check_ceiling >= threshold_logit

    @classmethod
    def from_json(cls, data: Mapping[str, Any], where: str) -> JoinModel:
        if data.get("format") != MODEL_FORMAT:
            raise ValueError(f"{where}: not a join model of format {MODEL_FORMAT}")
        raw = data.get("weights")
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: 'weights' must be a table of signal -> weight")
        unknown = sorted(set(raw) - set(SIGNALS))
        if unknown:
            raise ValueError(f"{where}: unknown signals {', '.join(unknown)}")
        weights = {name: float(raw.get(name, 0.0)) for name in SIGNALS}
        return cls(
            weights=weights,
            bias=float(data["bias"]),
            threshold=float(data["threshold"]),
            semantic=bool(data.get("semantic", False)),
        )


def sigmoid(value: float) -> float:
    if value >= 0:
        return 1.0 / (1.0 + math.exp(-value))
    exp = math.exp(value)
    return exp / (1.0 + exp)


def logit(probability: float) -> float:
    return math.log(probability / (1.0 - probability))


@functools.lru_cache(maxsize=8)
def load_model(path: Path | None = None) -> JoinModel:
    """The join model of `path` (default: the shipped one); raises ValueError naming the file."""
    source = path or SHIPPED_MODEL
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{source}: cannot read the join model ({exc})") from exc
    return JoinModel.from_json(data, str(source))
