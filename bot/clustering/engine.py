"""The incremental story clusterer: one story per event, in arrival order.

`StoryClusterer.add` places one item, in these steps:
1. Identity: an item whose key or canonical URL a story already holds stays in that story.
2. Reading: the item is read once (item.py) and weighed against the stream (index.py).
3. Candidates: the active stories sharing its salient terms (a bounded inverted index), the story
   holding its title if it is a near-duplicate, and, with the semantic extra, stories close in
   meaning.
4. Decision: each candidate's join signals, weighed by the learned join model (scoring.py), give
   the probability that the item reports the story's event; facts that truly conflict (another
   instance of a named asset, a deal headline figure far from the story's) rule a candidate out
   (anchors.py). The item joins the most probable story above the model's threshold, or starts
   a story.
5. Fragments: when the item also fits a second story, the two merge if they are one event that
   started as two (merging.py); the absorbed key stays resolvable (`resolve`), and merges are
   reported on the Assignment and by `drain_merges`.

A hand-written engine rather than a clustering library because it must be incremental, bounded per
item, and persist per story (the daemon stores each story's state next to the story row, and a
restart restores the same decisions).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.clustering import presentation, scoring
from bot.clustering.anchors import hard_conflict
from bot.clustering.config import ClusterConfig
from bot.clustering.index import StoryIndex
from bot.clustering.item import (
    ClusterItem,
    ItemReader,
    ItemReading,
    read_item,
    story_key,
    utc,
)
from bot.clustering.merging import absorb, mergeable, outranks
from bot.clustering.story import Member, StoryState, from_json, record_reading, to_json
from bot.model.story import Assignment, StoryFacts

if TYPE_CHECKING:
    from bot.clustering.facts import Report
    from bot.clustering.semantic import SemanticIndex, Vector

# A scored candidate: (probability, story key, its signals).
Scored = tuple[float, str, dict[str, float]]
# Called with each item's reading and its scored candidates (training and diagnostics).
Observer = Callable[[ItemReading, list[Scored]], None]
# Called with a story's key just before it leaves the active window, while its headline, facts
# and state can still be read (a caller that stores stories writes them then).
ExpiryHook = Callable[[str], None]


class StoryClusterer:
    """Places items into stories one at a time; see the module docstring."""

    def __init__(
        self,
        config: ClusterConfig | None = None,
        semantic: SemanticIndex | None = None,
        model: scoring.JoinModel | None = None,
    ) -> None:
        self.config = config or ClusterConfig()
        self.model = model or scoring.load_model(
            self.config.join_model
            or (scoring.SHIPPED_SEMANTIC_MODEL if self.config.semantic else None)
        )
        self.threshold = self.config.join_probability or self.model.threshold
        self._threshold_logit = scoring.logit(self.threshold)
        # Sentence embeddings (semantic.py), loaded only when asked for: the default install
        # has no torch.
        if semantic is None and self.config.semantic:
            from bot.clustering.semantic import load_index

            semantic = load_index()
        self.semantic = semantic
        self.index = StoryIndex(self.config)
        self._latest: datetime | None = None
        # Absorbed story key -> the key that absorbed it; resolve() follows the chain.
        self._aliases: dict[str, str] = {}
        self._merges: list[tuple[str, str]] = []
        self.before_expiry: ExpiryHook | None = None

    # ----------------------------------------------------------------- placing items
    def prepare(self, items: list[ClusterItem]) -> None:
        """Items about to be added, in one batch: lets the semantic signal embed them in one
        call (a no-op without it)."""
        if self.semantic is not None:
            self.semantic.prepare(items)

    @property
    def reader(self) -> ItemReader:
        """How this clusterer reads items, to read them ahead elsewhere (see `add`)."""
        return ItemReader(self.config.active_window_hours, self.config.actor_rarity)

    def add(
        self,
        item: ClusterItem,
        observer: Observer | None = None,
        *,
        read: ItemReading | None = None,
    ) -> Assignment:
        """Place `item` into an active story or start a new one. `read`: the item's reading
        made ahead by `reader` (in another process), else the item is read here."""
        published = utc(item.published)
        self._advance(published)
        known = self.index.story_of(item.key, item.url)
        if known is not None:
            return Assignment(story_key=known, is_new_story=False, similarity=1.0)
        reading = self.read(item, read)
        embedding = self.semantic.item_vector(item) if self.semantic is not None else None
        scored = self.score(reading, embedding)
        if observer is not None:
            observer(reading, scored)
        joinable = [entry for entry in scored if entry[0] >= self.threshold]
        if not joinable:
            story = self.place(reading, None, embedding=embedding)
            return Assignment(story_key=story.key, is_new_story=True, similarity=1.0)
        probability, best, _ = joinable[0]
        story = self.place(reading, best, probability, embedding)
        also = [key for _, key, _ in joinable[1 : 1 + self.config.merge_candidates]]
        survivor, merged = self._merge_fragments(story, also, reading)
        return Assignment(
            story_key=survivor, is_new_story=False, similarity=probability, merged=merged
        )

    def add_labelled(
        self, item: ClusterItem, story: str | None, observer: Observer | None = None
    ) -> str:
        """Place `item` in `story` (None, or a story no longer active: a new story), as a
        labeller says, after showing the observer every candidate scored: how the join model's
        training pairs are drawn (bench/train_join.py). Returns the item's story key."""
        self._advance(utc(item.published))
        reading = self.read(item)
        embedding = self.semantic.item_vector(item) if self.semantic is not None else None
        if observer is not None:
            observer(reading, self.score(reading, embedding, prune=False))
        target = story if story is not None and story in self.index.stories else None
        return self.place(reading, target, embedding=embedding).key

    def read(self, item: ClusterItem, ahead: ItemReading | None = None) -> ItemReading:
        """Read `item` once (or take `ahead`, its reading by `reader` made elsewhere), its term
        vector weighed against the stream as it is now: that part depends on the stories
        placed before it, so it is never made ahead."""
        if ahead is None:
            reading = read_item(item, self.config.active_window_hours, self.config.actor_rarity)
        elif ahead.item.key != item.key:
            raise ValueError(f"a reading of item {ahead.item.key!r} given for {item.key!r}")
        else:
            reading = ahead
        reading.vector = self.index.vector(reading.feats)
        return reading

    def candidate_keys(self, reading: ItemReading, embedding: Vector | None = None) -> list[str]:
        """The active stories `reading` is compared with (step 3 of the module docstring)."""
        keys = self.index.candidates(reading.vector)
        near = self.index.near_duplicate(reading.title_key)
        if near is not None and near not in keys:
            keys.append(near)
        if self.semantic is not None and embedding is not None:
            keys += [
                key
                for key in self.semantic.neighbours(embedding, keys)
                if key in self.index.stories
            ]
        window = self.config.active_window_hours
        return [
            key
            for key in keys
            if self.index.stories[key].informative
            and scoring.gap_hours(self.index.stories[key], reading) <= window
        ]

    def score(
        self, reading: ItemReading, embedding: Vector | None = None, *, prune: bool = True
    ) -> list[Scored]:
        """The candidates' probabilities of being the item's event, best first (ties keep the
        candidate order). Candidates a hard fact rules out are left out, and with `prune` those
        whose cheap signals leave no chance of reaching the threshold."""
        scored: list[Scored] = []
        model = self.model
        for key in self.candidate_keys(reading, embedding):
            story = self.index.stories[key]
            # The vetoes first: they read a few sets, while the text signals compare the item
            # with every sampled report; most candidates of a stream of deals are other deals
            # a veto rules out.
            if hard_conflict(story, reading, self.config):
                continue
            shift = 0.0
            if self.semantic is not None and embedding is not None and not model.semantic:
                # Weights trained without embeddings: the extra moves the text similarities.
                shift = self.semantic.blend(0.0, embedding, key)
            values = scoring.cheap_signals(
                story, reading, self._embedding_cosine(embedding, key), shift
            )
            cheap = model.logit(values)
            if prune and not model.could_reach(cheap, self._threshold_logit):
                continue
            checks = scoring.check_signals(story, reading, self.config, values["member_cosine_max"])
            values.update(checks)
            probability = scoring.sigmoid(cheap + model.logit(checks) - model.bias)
            scored.append((probability, key, values))
        scored.sort(key=lambda entry: -entry[0])
        return scored

    def _embedding_cosine(self, embedding: Vector | None, key: str) -> float | None:
        if self.semantic is None or embedding is None or not self.model.semantic:
            return None
        return self.semantic.similarity(embedding, key)

    def place(
        self,
        reading: ItemReading,
        key: str | None,
        similarity: float = 1.0,
        embedding: Vector | None = None,
    ) -> StoryState:
        """Add the read item to story `key`, or to a new story when `key` is None."""
        story = self._start(reading) if key is None else self.index.stories[key]
        published = reading.published
        story.first_seen = min(story.first_seen, published)
        story.last_updated = max(story.last_updated, published)
        self.index.touch(story)
        item = reading.item
        story.add_member(
            Member(
                item.key,
                reading.feats.title,
                item.url,
                item.source,
                published,
                similarity,
                reading.lead,
            )
        )
        self.index.add_vector(story, reading.vector)
        record_reading(story, reading, self.config.centroid_terms)
        self.index.by_item[item.key] = story.key
        if item.url:
            self.index.by_url[item.url] = story.key
        if reading.title_key:
            self.index.claim_title(reading.title_key, story.key)
        self.index.index(story)
        if self.semantic is not None and embedding is not None:
            self.semantic.join(story.key, embedding)
        return story

    def _start(self, reading: ItemReading) -> StoryState:
        key = story_key(reading.key)
        while key in self.index.stories:  # the same item key placed again after expiry
            key = story_key(key)
        story = StoryState(
            key=key, seq=0, first_seen=reading.published, last_updated=reading.published
        )
        self.index.stories[key] = story
        return story

    def _advance(self, published: datetime) -> None:
        """Note the stream's newest time and let go of the stories it left behind (last report
        more than the window before it). Expiry follows the items' own times, never the
        clock of the run that places them: the stories an item is compared with, and the
        stream statistics that weigh its words, then depend only on the items before it, so
        the same entries make the same stories in one run or in many (and a restart, which
        restores a superset and trims it here, changes nothing)."""
        if self._latest is None or published > self._latest:
            self._latest = published
            self.expire(published)

    # ----------------------------------------------------------------- merging fragments
    def _merge_fragments(
        self, story: StoryState, also: list[str], reading: ItemReading
    ) -> tuple[str, list[str]]:
        """Merge `story` with the other stories the new item (`reading`, just placed in
        `story`) also fits, where they are fragments of one event (merging.mergeable); returns
        the surviving key and the keys absorbed into it."""
        published = reading.published
        bridge = set(reading.figures)
        merged: list[str] = []
        window = timedelta(hours=self.config.active_window_hours)
        for key in also:
            other = self.index.stories.get(key)
            if other is None or other is story or published - other.last_updated > window:
                continue
            if not mergeable(story, other, self.config, bridge):
                continue
            keep, gone = (story, other) if outranks(story, other) else (other, story)
            if self.semantic is not None:
                self.semantic.absorb(keep.key, gone.key)
                self.semantic.forget(gone.key)
            absorb(self.index, keep, gone)
            self._aliases[gone.key] = keep.key
            self._merges.append((gone.key, keep.key))
            merged.append(gone.key)
            story = keep
        return story.key, merged

    def resolve(self, story_key: str) -> str:
        """The live key of a story that may since have been merged into another (following
        merges of merges, and shortening the chain for the next look-up)."""
        chain = []
        key = story_key
        while key in self._aliases:
            chain.append(key)
            key = self._aliases[key]
        for link in chain[:-1]:
            self._aliases[link] = key
        return key

    def drain_restated(self) -> list[str]:
        """Active stories whose state changed since the last call without their being updated
        (another story took a posting place or a title of theirs): a caller that keeps states
        for a restart writes theirs again, as it does for the stories it placed items in."""
        keys = sorted(self.index.restated)
        self.index.restated.clear()
        return keys

    def drain_merges(self) -> list[tuple[str, str]]:
        """(absorbed key, surviving key) of the merges since the last call, in order."""
        merges, self._merges = self._merges, []
        return merges

    @property
    def latest(self) -> datetime | None:
        """The newest publication time placed or restored so far."""
        return self._latest

    def trim(self) -> list[str]:
        """Expire what the newest time placed or restored leaves behind (after restoring)."""
        return self.expire(self._latest) if self._latest is not None else []

    def expire(self, now: datetime) -> list[str]:
        """Drop stories not updated within the active window before `now`; returns their keys."""
        cutoff = utc(now) - timedelta(hours=self.config.active_window_hours)
        gone = self.index.expired(cutoff)
        for key in gone:
            if self.before_expiry is not None:
                self.before_expiry(key)
            self.index.remove(key)
            if self.semantic is not None:
                self.semantic.forget(key)
        return gone

    # ----------------------------------------------------------------- the stories
    def __len__(self) -> int:
        return len(self.index)

    def __contains__(self, story_key: object) -> bool:
        return story_key in self.index.stories

    def story_keys(self) -> list[str]:
        return list(self.index.stories)

    def members(self, story_key: str) -> list[dict[str, Any]]:
        """The sources of a story: item key, title, outlet, link, time, similarity at join."""
        return [
            {
                "key": m.key,
                "title": m.title,
                "source": m.source,
                "url": m.url,
                "published": m.published.isoformat(),
                "similarity": m.similarity,
            }
            for m in self.index.stories[story_key].members
        ]

    def headline(self, story_key: str) -> tuple[str, str]:
        return presentation.headline(self.index.stories[story_key])

    def summary(self, story_key: str) -> str:
        return presentation.summary(self.index.stories[story_key])

    def facts(self, story_key: str) -> StoryFacts:
        return presentation.facts(self.index.stories[story_key])

    def fact_reports(self, story_key: str) -> list[Report]:
        """What `facts` are made of (facts.story_facts of them), to make them elsewhere."""
        return presentation.fact_reports(self.index.stories[story_key])

    # ----------------------------------------------------------------- persistence
    def export_state(self, story_key: str) -> dict[str, Any]:
        """The story's state as JSON-serialisable data (stored in stories.cluster_state)."""
        story = self.index.stories[story_key]
        lent, unposted = self.index.export_extras(story)
        state = to_json(story, lent, unposted)
        if self.semantic is not None:
            # The story's mean sentence embedding, with the semantic extra (optional key).
            state.update(self.semantic.export(story_key))
        return state

    def restore(self, story_key: str, state: dict[str, Any]) -> None:
        """Rebuild a story from `export_state` output; restoring every active story gives the
        same index, term weights and therefore the same future decisions as before the restart."""
        story = from_json(story_key, state)
        if story_key in self.index.stories:
            self.index.remove(story_key)
            if self.semantic is not None:
                self.semantic.forget(story_key)
        # A story that holds members of the restored one was merged into it elsewhere (another
        # instance on the same database): it is stale.
        stale = {self.index.by_item.get(m.key) for m in story.members} - {None, story_key}
        for key in sorted(k for k in stale if k is not None and k in self.index.stories):
            self.index.remove(key)
            if self.semantic is not None:
                self.semantic.forget(key)
            self._aliases[key] = story_key
        self.index.add_restored(
            story,
            lent_titles=frozenset(state.get("lent_titles", ())),
            unposted=frozenset(state.get("unposted", ())),
        )
        for member in story.members:
            if self._latest is None or member.published > self._latest:
                self._latest = member.published
        if self.semantic is not None:
            self.semantic.restore(story_key, state)
