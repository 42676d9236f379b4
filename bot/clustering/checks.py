"""Evidence that a report, or a story fragment, is another event than a story: pure functions.

Each check names one kind of disagreement between reports of two events of the same kind: other
actors (a fight with another opponent), another place (the buyer's campus in Texas, not the one
in Arizona), other parties of a deal, another year. None of them ends a join by itself: real
reports of one event also leave names out or add their own, so each is a signal the join model
weighs against the text's agreement (scoring.py). Between fragments (`stories_conflict`) they
still decide, as merges are checked after the model chose to join.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet

from bot.clustering import features
from bot.clustering.anchors import (
    anchor_figures,
    any_figures_conflict,
    headline_anchors,
    other_instance,
    unknown_parties,
)
from bot.clustering.config import ClusterConfig
from bot.clustering.item import ItemReading
from bot.clustering.story import StoryState


def core_names(story: StoryState, config: ClusterConfig) -> list[str]:
    """Name-like terms of at least core_share of the members (and of two at least)."""
    if len(story.members) < 2:
        return []
    needed = max(2.0, config.core_share * len(story.members))
    return [t for t, n in story.names.items() if n >= needed]


def title_core(story: StoryState, config: ClusterConfig, *, single: bool = False) -> list[str]:
    """Names that at least core_share of the story's titles give (two titles at least, or, with
    `single`, the one title of a story of one): who the story is about, as its headlines say
    it."""
    if len(story.members) < 2 and not single:
        return []
    needed = max(1.0 if single else 2.0, config.core_share * len(story.members))
    return [t for t, n in story.title_parties.items() if n >= needed]


def core_parties(story: StoryState, config: ClusterConfig) -> list[str]:
    """Deal parties that at least core_share of the story's reports name, two at least: the
    parties of one report are often its asides ("ChatGPT creator OpenAI")."""
    needed = max(2.0, config.core_share * len(story.members))
    return [p for p, n in story.parties.items() if n >= needed]


def rare_names(story: StoryState, config: ClusterConfig) -> set[str]:
    """The story's name-like terms rare in English at large (actors, not "President")."""
    if not story.leads:  # headlines alone name too little to tell events apart by names
        return set()
    return {t for t in story.names if features.background_idf(t) >= config.actor_rarity}


def no_actor_in_common(
    a_rare: AbstractSet[str], a_words: AbstractSet[str], b_rare: set[str], b_words: AbstractSet[str]
) -> bool:
    """Two accounts that each name two rare actors or more (`*_rare`) and neither of which
    mentions any of the other's anywhere (`*_words`: every term it has)."""
    return len(a_rare) >= 2 and len(b_rare) >= 2 and not a_rare & b_words and not b_rare & a_words


def names_conflict(story: StoryState, reading: ItemReading, config: ClusterConfig) -> bool:
    """A report that leaves out the story's core names and brings its own actors.

    The core is the name-like terms most members put in their title or lead (the parties, the
    opponent, the town). A report conflicts when it misses a core name and puts a name the story
    has never seen in its headline ("Klitschko stops Thompson" against a story about his fight
    with Rahman), or when it misses half the core and names anyone new.
    """
    core = core_names(story, config)
    if not core:
        return False
    feats = reading.feats
    missing = sum(1 for t in core if t not in feats.weights)
    if missing == 0:
        return False
    new = [t for t in feats.names if t not in story.names and t not in story.centroid]
    if not new:
        return False
    if missing * 2 >= len(core):
        return True
    title_terms = set(feats.title_terms)
    return any(t in title_terms for t in new)


def actors_conflict(story: StoryState, reading: ItemReading, config: ClusterConfig) -> bool:
    """A report with prose that brings rare names the story has never seen and leaves out
    several names the story's reports share: a same-kind event elsewhere (another riot in the
    same country) names its own victims, officials and streets."""
    feats = reading.feats
    if not reading.has_lead or len(story.members) < 2:
        return False
    if not any(t not in story.names and t not in story.centroid for t in reading.rare_names):
        return False
    needed = max(2.0, config.actor_share * len(story.members))
    missing = sum(1 for t, n in story.names.items() if n >= needed and t not in feats.weights)
    return missing >= config.actor_missing


def strangers(story: StoryState, reading: ItemReading, config: ClusterConfig) -> bool:
    """A report with prose that shares no rare name with a story of one report with prose:
    each names two rare actors or more and neither mentions any of the other's anywhere."""
    if len(story.members) != 1 or not reading.has_lead or not story.leads:
        return False
    return no_actor_in_common(
        reading.rare_names,
        reading.feats.weights.keys(),
        rare_names(story, config),
        story.known_terms(),
    )


def places_conflict(story: StoryState, reading: ItemReading, config: ClusterConfig) -> bool:
    """A report that places its event where none of the story's reports go, while the story's
    reports agree on a place the report never names.

    Only places cued in the title or lead ("in Arizona") count, and any mention of one side's
    place by the other is agreement. One report's place decides only between two reports of
    deals (both cite figures); elsewhere a single report's odd cue would split events.
    """
    feats = reading.feats
    if not feats.places:
        return False
    if len(story.members) < 2:
        if not (reading.is_deal and story.is_deal):
            return False
        needed = 1.0
    else:
        needed = max(2.0, config.place_share * len(story.members))
    core = [place for place, count in story.places.items() if count >= needed]
    if not core:
        return False
    if any(feats.weights.keys() & set(features.tokens(place)) for place in core):
        return False
    known = set(story.centroid)
    for place in story.places:
        known.update(features.tokens(place))
    return not any(known.intersection(features.tokens(place)) for place in feats.places)


def places_agree(story: StoryState, reading: ItemReading) -> bool:
    """The report's cued place is one the story's reports give."""
    return any(place in story.places for place in reading.feats.places)


def other_parties(story: StoryState, reading: ItemReading, config: ClusterConfig) -> bool:
    """A report of a deal whose headline names a party the story never names, while it never
    names a party that most of the story's headlines give: a deal of one company with another
    (CoreWeave's with Amazon, not its deal with Anthropic). Only between reports of deals."""
    if not reading.is_deal or not reading.parties:
        return False
    if not story.is_deal or not story.title_parties:
        return False
    if not unknown_parties(story, reading.parties):
        return False
    needed = max(1.0, config.core_share * len(story.members))
    return any(
        count >= needed and term not in reading.feats.weights
        for term, count in story.title_parties.items()
    )


def dated_elsewhere(story: StoryState, reading: ItemReading) -> bool:
    """A report dated by its dateline in a year none of the story's reports write."""
    return reading.dated is not None and reading.dated not in story.years


def years_disagree(story: StoryState, reading: ItemReading) -> bool:
    """The report and the story both write dates, and never of the same year."""
    years = reading.feats.years
    return bool(years) and bool(story.years) and not set(years) & story.years.keys()


def stories_conflict(a: StoryState, b: StoryState, config: ClusterConfig) -> bool:
    """Anchors of two story fragments that say they are different events: core names each has
    that the other never mentions, most of one's core names unnamed by the other, no rare actor
    in common (between deals, or when one is a single report), dates of different years,
    another instance of a named asset, or deal figures of one kind that all differ."""
    a_core, b_core = core_names(a, config), core_names(b, config)
    a_only = [t for t in a_core if t not in b.names and t not in b.centroid]
    b_only = [t for t in b_core if t not in a.names and t not in a.centroid]
    if a_only and b_only:
        return True
    if a_core and b_core:
        for core, other in ((a_core, b), (b_core, a)):
            unnamed = [t for t in core if t not in other.names]
            if len(unnamed) >= 2 and 2 * len(unnamed) > len(core):
                return True
    if (min(len(a.members), len(b.members)) == 1 or (a.is_deal and b.is_deal)) and (
        no_actor_in_common(
            rare_names(a, config), a.known_terms(), rare_names(b, config), b.known_terms()
        )
    ):
        return True
    if a.years and b.years and not a.years.keys() & b.years.keys():
        return True
    for x, y in ((a, b), (b, a)):
        if x.dated_years and not x.dated_years.keys() & y.years.keys():
            return True
    if other_instance(a.assets, b.assets):
        return True
    tolerance = config.quantity_tolerance
    a_anchors, b_anchors = anchor_figures(a, config), anchor_figures(b, config)
    return (
        any_figures_conflict(headline_anchors(a, config), b_anchors, tolerance)
        or any_figures_conflict(headline_anchors(b, config), a_anchors, tolerance)
        or any_figures_conflict(a_anchors, b_anchors, tolerance)
    )
