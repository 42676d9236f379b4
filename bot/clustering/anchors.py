"""Deal anchors: the figures and named assets that identify one deal, and when they conflict.

Pure functions over figures (`(kind, value)` pairs) and story states. A story's anchor figures are
the figures enough of its reports cite; its headline anchors are those its deal headlines give.
Three hard facts end a join outright (`hard_conflict`): another instance of a named asset
("Colossus 2" against "Colossus 1"); headline figures of one kind that differ when both are the
deal's own headline figure (not a ceiling, a total, an increment or a yearly amount); and deal
announcements with other counterparties. Every other disagreement is a signal the join model
weighs (scoring.py), because real coverage gives one deal as different figures (an "up to"
ceiling and the base value, a total and an increment, a yearly amount and a total) and its
analysis pieces and market reports name its parties loosely.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.clustering import features
from bot.clustering.config import ClusterConfig
from bot.clustering.item import Figure, ItemReading
from bot.clustering.story import StoryState
from bot.text.quantities import same_figure

# Figures of one kind this many times apart play different roles in a report (a share price
# and a loss, a fee and a total).
ROLE_RATIO = 10.0


def figures_conflict(kind: str, mine: list[float], theirs: list[float], tolerance: float) -> bool:
    """Figures of one kind that say "another deal": none within `tolerance` of another, and
    some of comparable size. Sums of money an order of magnitude apart play different roles,
    so they do not contradict each other; $9bn against $17.4bn does. Power and chip counts have
    no such roles in a deal report: 50 MW against 700 MW is another deal."""
    roles = kind.startswith("money")
    comparable = False
    for a in mine:
        for b in theirs:
            if same_figure(a, b, tolerance):
                return False
            if not roles or max(a, b) < ROLE_RATIO * min(a, b):
                comparable = True
    return comparable


def any_figures_conflict(mine: list[Figure], theirs: list[Figure], tolerance: float) -> bool:
    """Whether, for some kind `mine` cites, `theirs` cites figures of that kind too and they
    all differ materially (figures_conflict)."""
    for kind in {kind for kind, _ in mine}:
        theirs_of_kind = [v for k, v in theirs if k == kind]
        if theirs_of_kind and figures_conflict(
            kind, [v for k, v in mine if k == kind], theirs_of_kind, tolerance
        ):
            return True
    return False


def kinds_agreeing(mine: list[Figure], theirs: list[Figure], tolerance: float) -> tuple[int, int]:
    """(kinds of `mine` with a figure close to one of `theirs`, kinds whose figures all
    conflict with `theirs` of that kind)."""
    agree = conflict = 0
    for kind in {kind for kind, _ in mine}:
        ours = [v for k, v in mine if k == kind]
        others = [v for k, v in theirs if k == kind]
        if not others:
            continue
        if any(same_figure(a, b, tolerance) for a in ours for b in others):
            agree += 1
        elif figures_conflict(kind, ours, others, tolerance):
            conflict += 1
    return agree, conflict


def figures_agree(mine: list[Figure], theirs: list[Figure], tolerance: float) -> bool:
    """Whether `mine` gives figures of two kinds or more (money, power, chips) and each kind's
    figures come close to one of `theirs` of that kind: the terms of one deal."""
    kinds = {kind for kind, _ in mine}
    if len(kinds) < 2:
        return False
    agree, _ = kinds_agreeing(mine, theirs, tolerance)
    return agree == len(kinds)


def supported(
    counts: dict[Figure, int], figures: Iterable[Figure], needed: float, tolerance: float
) -> list[Figure]:
    """The `figures` that at least `needed` reports cite (`counts`: reports per figure),
    counting figures of the same kind within `tolerance` of one as that one. In order; the
    counts are grouped by kind once, so each figure is compared only with its own kind."""
    by_kind: dict[str, list[tuple[float, int]]] = {}
    for (kind, value), n in counts.items():
        by_kind.setdefault(kind, []).append((value, n))
    kept: list[Figure] = []
    for figure in figures:
        kind, value = figure
        # same_figure(v, value, tolerance), inlined: the same arithmetic, without a call per pair.
        total = sum(
            n
            for v, n in by_kind.get(kind, ())
            if abs(v - value) <= tolerance * (v if v > value else value)
        )
        if total >= needed:
            kept.append(figure)
    return kept


def anchor_figures(story: StoryState, config: ClusterConfig) -> list[Figure]:
    """The story's primary figures that enough of its reports cite (figure_share of them,
    counting figures of one kind within the tolerance as the same figure)."""
    counts = story.quantity_counts
    needed = config.figure_share * len(story.members)
    if not story.quantities or needed <= 1:
        return story.quantities
    cached = story.cache.get("anchors")
    if cached is not None and cached[0] == needed:
        anchors: list[Figure] = cached[1]
        return anchors
    # A figure of a state from before the counts has none: it stays an anchor.
    counted = set(supported(counts, story.quantities, needed, config.quantity_tolerance))
    anchors = [figure for figure in story.quantities if figure not in counts or figure in counted]
    story.cache["anchors"] = (needed, anchors)
    return anchors


def headline_anchors(story: StoryState, config: ClusterConfig) -> list[Figure]:
    """The figures the story's deal headlines cite that at least figure_share of its reports
    give in their headline (within the tolerance), as for anchor_figures."""
    counts = story.title_figures
    needed = max(1.0, config.figure_share * len(story.members))
    cached = story.cache.get("headline_anchors")
    if cached is not None and cached[0] == needed:
        anchors: list[Figure] = cached[1]
        return anchors
    anchors = supported(counts, counts, needed, config.quantity_tolerance)
    story.cache["headline_anchors"] = (needed, anchors)
    return anchors


def other_instance(known: Iterable[str], assets: Iterable[str]) -> bool:
    """Whether `assets` name another instance of an asset `known` names ("Colossus 2" against
    "Colossus 1"): another event."""
    instances: dict[str, set[str]] = {}
    for asset in known:
        name, _, instance = asset.rpartition(" ")
        instances.setdefault(features.fold(name), set()).add(instance)
    for asset in assets:
        name, _, instance = asset.rpartition(" ")
        seen = instances.get(features.fold(name))
        if seen and instance not in seen:
            return True
    return False


# Announcing headlines a story needs before other_counterparty trusts the parties they share
# while other reports of it announce nothing: one headline's "Irish rival Fyffes" reads as a
# party "Irish".
MIN_ANNOUNCEMENTS = 2


def other_counterparty(story: StoryState, reading: ItemReading) -> bool:
    """A deal announcement with another counterparty: the new headline announces a deal with a
    party the story's announcing headlines never name, and leaves out, in its title and lead, a
    party every one of them names ("Anthropic signs TPU deal with Google" against "xAI sells
    Colossus 1 capacity to Anthropic"; "Microsoft inks deal with Lambda" against "Microsoft
    signs $9.7 billion deal with IREN"). The story's announcements are trusted when every
    report of it announces (and then the new party is one the story never mentions at all) or
    when MIN_ANNOUNCEMENTS do. A report of the same deal names its parties; an analysis or a
    market wrap, which may not, announces nothing and is left to the join model."""
    if not reading.announced_parties or not story.announcements:
        return False
    if story.announcements == len(story.members):
        newcomers = story.unknown_terms(reading.announced_parties)
    elif story.announcements >= MIN_ANNOUNCEMENTS:
        newcomers = reading.announced_parties - story.announced_parties.keys()
    else:
        return False
    if not newcomers:
        return False
    words = reading.feats.weights.keys()
    return any(
        count == story.announcements and term not in words
        for term, count in story.announced_parties.items()
    )


def hard_conflict(story: StoryState, reading: ItemReading, config: ClusterConfig) -> bool:
    """The facts that end a join whatever else agrees: another instance of a named asset in
    the title or lead; a deal headline figure that differs from the story's headline figure of
    its kind (item.headline_figures: the deal's own value, not a total, ceiling or yearly
    amount); deal announcements with other counterparties (other_counterparty)."""
    if other_instance(story.assets, reading.feats.primary_assets):
        return True
    if other_counterparty(story, reading):
        return True
    return bool(reading.headline_figures) and any_figures_conflict(
        reading.headline_figures, headline_anchors(story, config), config.quantity_tolerance
    )


def unknown_parties(story: StoryState, parties: frozenset[str]) -> frozenset[str]:
    """The headline parties the story never names, in a title or anywhere."""
    return parties - story.title_parties.keys() - story.centroid.keys()
