"""The state of one story, and its (de)serialisation.

Owns `StoryState`: the story's members, its centroid and the tables the join signals read (names,
parties, figures, places, years), plus a bounded sample of member profiles (each sampled report's
own term vector and actors) for the signals that compare a report with reports rather than with
the story's average. `to_json`/`from_json` turn a state into the JSON the daemon stores next to
the story row and back, so a restart rebuilds every story exactly.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from bot.clustering import features
from bot.clustering.facts.story import MAX_REPORTS
from bot.clustering.item import (
    Figure,
    ItemReading,
    exact_figures,
    informative,
)
from bot.text.quantities import extract_quantities

STATE_VERSION = 2
# States of version 1 (before member profiles) restore with no profiles: the signals that
# compare with single reports then see none until the story gains reports.
READABLE_VERSIONS = (1, 2)
# Member profiles kept per story: the first report and the most recent ones. Bounded, so a story
# of a thousand reports costs no more per comparison than one of eight.
PROFILE_SAMPLE = 8
# Lead sentences kept per story for its summary.
STORY_LEADS = 8
# Distinct figures a story keeps: its primary figures and their counts, and its headline
# figures' counts (the most cited are kept), and the figures it cites anywhere (the first ones).
# The join signals compare every kept figure with every other of its kind, so an unbounded table
# made a join cost more the more figures a story had collected (a feed of a hundred thousand
# reports each with its own figure). Real stories cite a handful (at most 7 on the labelled sets).
FIGURES_KEPT = 32
ALL_FIGURES_KEPT = 2 * FIGURES_KEPT

_Key = TypeVar("_Key", str, int, tuple[str, float])


@dataclass(slots=True)
class Member:
    key: str
    title: str
    url: str | None
    source: str | None
    published: datetime
    similarity: float
    # The report's fact sentences (facts.fact_lead), for story facts; "" for a member that can
    # never be one of the reports they are read from (see StoryState.add_member).
    lead: str = ""


@dataclass(frozen=True, slots=True)
class MemberProfile:
    """One report as the join signals compare it: its own term vector (as weighted when it
    joined), its rare actors and its title terms."""

    key: str
    vector: dict[str, float]
    rare_names: frozenset[str]
    title_terms: frozenset[str]
    source: str | None

    @classmethod
    def of(cls, reading: ItemReading) -> MemberProfile:
        return cls(
            key=reading.key,
            vector=dict(reading.vector),
            rare_names=reading.rare_names,
            title_terms=reading.distinctive_terms,
            source=reading.item.source,
        )


@dataclass(slots=True)
class StoryState:
    key: str
    seq: int
    first_seen: datetime
    last_updated: datetime
    centroid: dict[str, float] = field(default_factory=dict)
    norm: float = 0.0
    titles: set[str] = field(default_factory=set)  # folded informative titles (near-duplicates)
    members: list[Member] = field(default_factory=list)
    profiles: list[MemberProfile] = field(default_factory=list)
    assets: dict[str, int] = field(default_factory=dict)  # primary assets -> members naming them
    quantities: list[Figure] = field(default_factory=list)  # primary exact figures
    # Members citing each primary figure (figures of states that predate the counts have none).
    quantity_counts: dict[Figure, int] = field(default_factory=dict)
    all_quantities: list[Figure] = field(default_factory=list)
    entities: dict[str, int] = field(default_factory=dict)
    places: dict[str, int] = field(default_factory=dict)
    leads: list[tuple[str, str]] = field(default_factory=list)  # (item key, lead sentence)
    names: dict[str, int] = field(default_factory=dict)  # name-like lead terms -> members
    years: dict[int, int] = field(default_factory=dict)  # years of written dates -> members
    # Some member says something: a title that is not a placeholder, or prose (informative).
    informative: bool = False
    # Years of the datelines of members dated away from their feed time (dateline_year).
    dated_years: dict[int, int] = field(default_factory=dict)
    # Names the members' titles give that can be a deal's party (title_parties) -> members.
    title_parties: dict[str, int] = field(default_factory=dict)
    # Figures the members' deal headlines cite (headline_figures) -> members.
    title_figures: dict[Figure, int] = field(default_factory=dict)
    # Deal parties of the members (ItemReading.fact_parties) -> members naming them.
    parties: dict[str, int] = field(default_factory=dict)
    # Members whose headline announces a deal and names its parties, and those parties' terms
    # (ItemReading.announced_parties) -> members.
    announcements: int = 0
    # Event kind (ItemReading.kinds) -> members reporting it.
    kinds: dict[str, int] = field(default_factory=dict)
    announced_parties: dict[str, int] = field(default_factory=dict)
    # Cached derived values keyed by the state they were computed for (see anchors.py).
    cache: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    # Outlets of the members -> members from each (derived from `members`, not stored): whether
    # a report's outlet has reported the story already is one look-up, not a scan of every member.
    sources: dict[str, int] = field(default_factory=dict)
    # The MAX_REPORTS earliest members' (published, key), sorted (derived from `members`, not
    # stored, once the story has that many): which joining members' leads story facts may read
    # (add_member). None until then, so that a story of one report pays nothing for it.
    earliest: list[tuple[datetime, str]] | None = None

    def __post_init__(self) -> None:
        if self.members and not self.sources:
            count_all(self.sources, (m.source for m in self.members if m.source is not None))

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def is_deal(self) -> bool:
        """Whether some report of the story cites money, power or chip figures."""
        return bool(self.quantities)

    def known_terms(self) -> set[str]:
        """Every term the story's reports put in its names or its centroid."""
        return self.names.keys() | self.centroid.keys()

    def unknown_terms(self, terms: frozenset[str]) -> frozenset[str]:
        """The `terms` not among `known_terms`, without building that union (a few terms
        against a story's hundreds: asked of every candidate story of every report)."""
        names, centroid = self.names, self.centroid
        return frozenset(term for term in terms if term not in names and term not in centroid)

    def add_member(self, member: Member) -> None:
        """Add a joining report. Its lead is kept only where story facts may read it: they read
        the first MAX_REPORTS members, in joining order until a merge sorts them by publication
        (`fold_into`). A member that joins past that many, with that many members published
        before it, is never among them (members only ever gain company earlier than them), and
        its lead would only weigh on the state: a story of 190 reports stored 190 leads, 60% of
        its state's JSON, rewritten on each update. `earliest` tells which: the members are read
        once, when the story reaches MAX_REPORTS (or joins after a restore or a merge)."""
        if len(self.members) >= MAX_REPORTS:
            earliest = self.earliest
            if earliest is None:  # once per story, and after a restore or a merge
                earliest = sorted((m.published, m.key) for m in self.members)[:MAX_REPORTS]
                self.earliest = earliest
            order = (member.published, member.key)
            if order < earliest[-1]:
                bisect.insort(earliest, order)
                del earliest[MAX_REPORTS:]
            else:
                member.lead = ""
        self.members.append(member)
        if member.source is not None:
            self.sources[member.source] = self.sources.get(member.source, 0) + 1

    def add_profile(self, profile: MemberProfile) -> None:
        """Keep the first report's profile and the most recent others (PROFILE_SAMPLE)."""
        self.profiles.append(profile)
        if len(self.profiles) > PROFILE_SAMPLE:
            del self.profiles[1]


def add_counts(into: dict[_Key, int], more: dict[_Key, int]) -> None:
    """Add the counts of `more` to those of `into` (a merged story's tables)."""
    for key, count in more.items():
        into[key] = into.get(key, 0) + count


def count_all(into: dict[_Key, int], keys: Iterable[_Key]) -> None:
    for key in keys:
        into[key] = into.get(key, 0) + 1


def to_json(story: StoryState, lent_titles: list[str], unposted: list[str]) -> dict[str, Any]:
    """The story's state as JSON-serialisable data (stored in stories.cluster_state).

    `lent_titles`: titles whose near-duplicates no longer come here (another story took them
    over); `unposted`: centroid terms whose full posting list dropped this story for more recent
    ones. With them a restart rebuilds the index as it is, not as it would be had every story
    just been indexed."""
    s = story
    return {
        "v": STATE_VERSION,
        "key": s.key,
        "seq": s.seq,
        "first_seen": s.first_seen.isoformat(),
        "last_updated": s.last_updated.isoformat(),
        "centroid": s.centroid,
        "titles": sorted(s.titles),
        "lent_titles": lent_titles,
        "unposted": unposted,
        "members": [
            [m.key, m.title, m.url, m.source, m.published.isoformat(), m.similarity, m.lead]
            for m in s.members
        ],
        "profiles": [
            [p.key, p.vector, sorted(p.rare_names), sorted(p.title_terms), p.source]
            for p in s.profiles
        ],
        "assets": s.assets,
        "quantities": [list(q) for q in s.quantities],
        "quantity_counts": [[k, v, n] for (k, v), n in s.quantity_counts.items()],
        "all_quantities": [list(q) for q in s.all_quantities],
        "entities": s.entities,
        "places": s.places,
        "leads": [list(lead) for lead in s.leads],
        "names": s.names,
        "title_parties": s.title_parties,
        "title_figures": [[k, v, n] for (k, v), n in s.title_figures.items()],
        "parties": s.parties,
        "announcements": s.announcements,
        "kinds": s.kinds,
        "announced_parties": s.announced_parties,
        "years": {str(year): count for year, count in s.years.items()},
        "dated_years": {str(year): count for year, count in s.dated_years.items()},
        "informative": s.informative,
    }


def from_json(story_key: str, state: dict[str, Any]) -> StoryState:
    """Rebuild a story from `to_json` output (raises ValueError for another version)."""
    if state.get("v") not in READABLE_VERSIONS:
        raise ValueError(f"story {story_key}: unsupported clusterer state version")
    story = StoryState(
        key=story_key,
        seq=int(state["seq"]),
        first_seen=datetime.fromisoformat(state["first_seen"]),
        last_updated=datetime.fromisoformat(state["last_updated"]),
        centroid={str(t): float(w) for t, w in state["centroid"].items()},
        titles=set(state["titles"]),
        members=[
            # States written before member leads were kept have six fields.
            Member(k, title, url, src, datetime.fromisoformat(ts), float(sim), *rest[:1])
            for k, title, url, src, ts, sim, *rest in state["members"]
        ],
        profiles=[
            MemberProfile(
                key=str(k),
                vector={str(t): float(w) for t, w in vector.items()},
                rare_names=frozenset(rare),
                title_terms=frozenset(terms),
                source=source,
            )
            for k, vector, rare, terms, source in state.get("profiles", [])
        ],
        assets={str(a): int(c) for a, c in state["assets"].items()},
        quantities=[(str(k), float(v)) for k, v in state["quantities"]],
        quantity_counts={
            (str(k), float(v)): int(n) for k, v, n in state.get("quantity_counts", [])
        },
        all_quantities=[(str(k), float(v)) for k, v in state["all_quantities"]],
        entities={str(e): int(c) for e, c in state["entities"].items()},
        places={str(p): int(c) for p, c in state["places"].items()},
        leads=[(str(k), str(text)) for k, text in state["leads"]],
        names={str(t): int(c) for t, c in state["names"].items()},
        years={int(y): int(c) for y, c in state.get("years", {}).items()},
        dated_years={int(y): int(c) for y, c in state.get("dated_years", {}).items()},
        title_parties={str(t): int(c) for t, c in state.get("title_parties", {}).items()},
        title_figures={(str(k), float(v)): int(n) for k, v, n in state.get("title_figures", [])},
        parties={str(p): int(c) for p, c in state.get("parties", {}).items()},
        announcements=int(state.get("announcements", 0)),
        kinds={str(k): int(c) for k, c in state.get("kinds", {}).items()},
        announced_parties={str(p): int(c) for p, c in state.get("announced_parties", {}).items()},
    )
    story.norm = centroid_norm(story.centroid)
    flag = state.get("informative")
    # States written before the flag was kept: some member had prose (then the story kept a
    # lead sentence) or an informative title (read as features.extract reads it).
    story.informative = (
        bool(flag)
        if flag is not None
        else bool(story.leads)
        or any(
            informative(m.title, False, features.tokens(features.untruncated(m.title)))
            for m in story.members
        )
    )
    return story


def centroid_norm(centroid: dict[str, float]) -> float:
    return float(sum(w * w for w in centroid.values()) ** 0.5)


def record_reading(story: StoryState, reading: ItemReading, max_terms: int) -> None:
    """Fold a joining report's reading into the story's tables (not the centroid, which the
    index maintains with the stream's statistics)."""
    feats = reading.feats
    if not story.informative:
        story.informative = informative(feats.title, reading.has_lead, feats.title_terms)
    count_all(story.assets, features.unique(feats.primary_assets))
    for figure in reading.figures:
        if figure not in story.quantities:
            story.quantities.append(figure)
    count_all(story.quantity_counts, set(reading.figures))
    if len(story.quantity_counts) > FIGURES_KEPT:
        story.quantity_counts = _bounded(story.quantity_counts, FIGURES_KEPT)
        story.quantities = [f for f in story.quantities if f in story.quantity_counts]
    body_figures = exact_figures(extract_quantities("\n".join(feats.lead_sentences)))
    for figure in reading.figures + body_figures:
        if len(story.all_quantities) < ALL_FIGURES_KEPT and figure not in story.all_quantities:
            story.all_quantities.append(figure)
    count_all(story.entities, features.unique(feats.entity_names))
    count_all(story.names, feats.names)
    count_all(story.title_figures, set(reading.headline_figures))
    story.title_figures = _bounded(story.title_figures, FIGURES_KEPT)
    count_all(story.title_parties, reading.parties)
    count_all(story.parties, reading.fact_parties)
    count_all(story.kinds, reading.kinds)
    if reading.announced_parties:
        story.announcements += 1
        count_all(story.announced_parties, reading.announced_parties)
    count_all(story.places, features.unique(feats.places))
    count_all(story.years, feats.years)
    if reading.dated is not None:
        story.dated_years[reading.dated] = story.dated_years.get(reading.dated, 0) + 1
        # The dateline is a written date too, wherever it stands (features read the first
        # 1,500 characters): the story it starts takes reports dated alike.
        if reading.dated not in feats.years:
            story.years[reading.dated] = story.years.get(reading.dated, 0) + 1
    # Every table the join signals read is bounded (the most counted kept), so a join costs
    # the same in a story of a hundred thousand reports as in one of ten.
    story.names = _bounded(story.names, max_terms)
    story.parties = _bounded(story.parties, max_terms)
    story.title_parties = _bounded(story.title_parties, max_terms)
    story.assets = _bounded(story.assets, max_terms)
    story.entities = _bounded(story.entities, max_terms)
    story.places = _bounded(story.places, max_terms)
    story.kinds = _bounded(story.kinds, max_terms)
    story.announced_parties = _bounded(story.announced_parties, max_terms)
    story.years = _bounded(story.years, max_terms)
    story.dated_years = _bounded(story.dated_years, max_terms)
    if feats.lead_sentences and len(story.leads) < STORY_LEADS:
        story.leads.append((reading.key, " ".join(feats.lead_sentences[:2])))
    if reading.title_key:
        story.titles.add(reading.title_key)
    story.add_profile(MemberProfile.of(reading))
    story.cache.clear()


def _bounded(counts: dict[_Key, int], limit: int) -> dict[_Key, int]:
    """The `limit` most counted keys (ties by key) when there are more."""
    if len(counts) <= limit:
        return counts
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return dict(ranked[:limit])


def fold_into(keep: StoryState, gone: StoryState) -> None:
    """Fold story `gone`'s members and tables into `keep` (a merge); the centroid and the
    index are the index's to update."""
    keep.first_seen = min(keep.first_seen, gone.first_seen)
    keep.last_updated = max(keep.last_updated, gone.last_updated)
    keep.informative = keep.informative or gone.informative
    keep.announcements += gone.announcements
    keep.members.extend(gone.members)
    keep.members.sort(key=lambda m: (m.published, m.key))
    keep.earliest = None  # derived again on the next join
    add_counts(keep.sources, gone.sources)
    for counts_keep, counts_gone in (
        (keep.assets, gone.assets),
        (keep.entities, gone.entities),
        (keep.places, gone.places),
        (keep.names, gone.names),
        (keep.title_parties, gone.title_parties),
        (keep.parties, gone.parties),
        (keep.announced_parties, gone.announced_parties),
        (keep.kinds, gone.kinds),
    ):
        add_counts(counts_keep, counts_gone)
    add_counts(keep.years, gone.years)
    add_counts(keep.dated_years, gone.dated_years)
    add_counts(keep.quantity_counts, gone.quantity_counts)
    add_counts(keep.title_figures, gone.title_figures)
    for figure in gone.quantities:
        if figure not in keep.quantities:
            keep.quantities.append(figure)
    for figure in gone.all_quantities:
        if figure not in keep.all_quantities:
            keep.all_quantities.append(figure)
    keep.leads.extend(gone.leads[: max(0, STORY_LEADS - len(keep.leads))])
    keep.titles |= gone.titles
    # The sample of a merged story: its first report and the most recent of both.
    position = {m.key: index for index, m in enumerate(keep.members)}
    profiles = sorted(keep.profiles + gone.profiles, key=lambda p: position.get(p.key, -1))
    keep.profiles = profiles[:1] + profiles[1:][-(PROFILE_SAMPLE - 1) :]
    keep.cache.clear()
