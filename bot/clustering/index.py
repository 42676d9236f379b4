"""The active stories and how an item finds its candidates among them.

Owns `StoryIndex`: the active stories by key; their look-ups by item key, canonical URL and
near-duplicate title; the inverted index from salient terms to stories (posting lists bounded so
the cost per item does not grow with the number of stories); the stream statistics that weigh
terms (background rarity discounted by how many active stories share a term); and expiry of
stories that left the join window. Everything here is rebuilt exactly from the stories' states
after a restart (`add_restored`).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Set as AbstractSet
from datetime import datetime

from bot.clustering import features
from bot.clustering.config import ClusterConfig
from bot.clustering.story import StoryState, centroid_norm


class StoryIndex:
    """See the module docstring."""

    def __init__(self, config: ClusterConfig) -> None:
        self.config = config
        self.stories: dict[str, StoryState] = {}
        self.by_item: dict[str, str] = {}
        self.by_url: dict[str, str] = {}
        self.by_title: dict[str, str] = {}
        self._postings: dict[str, set[str]] = {}
        # For postings that reached the limit: (sequence number, story) entries, possibly stale,
        # from which the least recently updated story is evicted (see _evict_oldest).
        self._posting_heaps: dict[str, list[tuple[int, str]]] = {}
        # Story key -> its live sequence number (story.seq), for evicting the stalest story of a
        # full posting list with one dict look-up per entry.
        self._seq_of: dict[str, int] = {}
        self.seq = 0
        # (last update as a timestamp, story key) per update, a heap: expiry pops what fell out
        # of the window instead of scanning every story. Entries of stories updated since, or
        # gone, are skipped when popped.
        self._expiry: list[tuple[float, str]] = []
        # Stories whose exported state went stale without their being updated: dropped from a
        # full posting list, or a title of theirs taken over (see drain_restated).
        self.restated: set[str] = set()

    def __len__(self) -> int:
        return len(self.stories)

    # ------------------------------------------------------------------------- term weights
    def idf(self, term: str, background: float) -> float:
        """Background rarity, discounted for terms spread over many active stories.

        The discount uses story frequency, not document frequency: a burst of reports about one
        event keeps its words' weight, a word shared by many different stories ("stocks") loses
        it.
        """
        spread = len(self._postings.get(term, ()))
        stories = len(self.stories) + self.config.idf_prior_docs
        return background * math.log((stories + 1.0) / (spread + 1.0)) / math.log(stories + 1.0)

    def vector(self, feats: features.ItemFeatures) -> dict[str, float]:
        """The item's unit TF-IDF vector over its `item_terms` heaviest terms."""
        raw = {
            term: math.log1p(w) * self.idf(term, feats.rarity.get(term, 1.0))
            for term, w in feats.weights.items()
        }
        top = sorted(raw.items(), key=lambda kv: (-kv[1], kv[0]))[: self.config.item_terms]
        norm = math.sqrt(sum(w * w for _, w in top)) or 1.0
        return {term: w / norm for term, w in top if w > 0}

    # ------------------------------------------------------------------------- look-up
    def candidates(self, vector: dict[str, float]) -> list[str]:
        """The stories sharing the item's salient terms, best first (at most max_candidates)."""
        if self.config.exhaustive_search:
            return list(self.stories)
        query = sorted(vector.items(), key=lambda kv: (-kv[1], kv[0]))[: self.config.query_terms]
        hits: dict[str, float] = {}
        found = hits.get
        postings = self._postings
        full = self.config.posting_limit
        for term, weight in query:
            posting = postings.get(term)
            if posting is None:
                continue
            # A term few stories have locates a story better than one in a full posting list
            # (a word of every deal: "gpus", "multiyear"); without this, stories sharing several
            # such words with the item outrank the one sharing its rare figure and party.
            weight *= 1.0 + math.log(full / min(full, len(posting)))
            if not hits:
                hits = dict.fromkeys(posting, weight)
                found = hits.get
                continue
            for key in posting:
                hits[key] = found(key, 0.0) + weight
        limit = self.config.max_candidates
        if len(hits) > limit:
            # The weight of the limit-th best hit, found on bare floats (fast), then only the
            # hits at or above it are ranked with the tie-break on recency.
            cutoff = heapq.nlargest(limit, hits.values())[-1]
            hits = {key: weight for key, weight in hits.items() if weight >= cutoff}
        stories = self.stories
        ranked = sorted(hits.items(), key=lambda kv: (-kv[1], -stories[kv[0]].seq))
        return [key for key, _ in ranked[:limit]]

    def story_of(self, item_key: str, url: str | None) -> str | None:
        """The active story already holding this item (by key, else by canonical URL)."""
        known = self.by_item.get(item_key) or (self.by_url.get(url) if url else None)
        return known if known is not None and known in self.stories else None

    def near_duplicate(self, title_key: str | None) -> str | None:
        """The active story that holds this informative title."""
        near = self.by_title.get(title_key) if title_key else None
        return near if near is not None and near in self.stories else None

    # ------------------------------------------------------------------------- upkeep
    def touch(self, story: StoryState) -> None:
        """A story changed: it takes the next sequence number and a place in the expiry heap."""
        self.seq += 1
        story.seq = self.seq
        self._seq_of[story.key] = story.seq
        heapq.heappush(self._expiry, (story.last_updated.timestamp(), story.key))

    def add_vector(self, story: StoryState, vector: dict[str, float]) -> None:
        """Add a joining item's vector to the story's centroid."""
        for term, weight in vector.items():
            story.centroid[term] = story.centroid.get(term, 0.0) + weight
        self.trim_centroid(story)

    def trim_centroid(self, story: StoryState) -> None:
        if len(story.centroid) > self.config.centroid_terms:
            kept = sorted(story.centroid.items(), key=lambda kv: (-kv[1], kv[0]))
            story.centroid = dict(kept[: self.config.centroid_terms])
            for term, _ in kept[self.config.centroid_terms :]:
                self._drop_posting(term, story.key)
        story.norm = centroid_norm(story.centroid)

    def register_members(self, story: StoryState) -> None:
        """Point the story's items, URLs and titles at it."""
        for member in story.members:
            self.by_item[member.key] = story.key
            if member.url:
                self.by_url[member.url] = story.key
        for title in story.titles:
            self.claim_title(title, story.key)

    def claim_title(self, title: str, story_key: str) -> None:
        """Near-duplicates of `title` go to `story_key` from now on."""
        previous = self.by_title.get(title)
        if previous is not None and previous != story_key:
            self.restated.add(previous)
        self.by_title[title] = story_key

    def index(self, story: StoryState, unposted: AbstractSet[str] = frozenset()) -> None:
        """Make `story` findable under every centroid term (but `unposted`, when restoring).

        Posting lists are bounded: a common term keeps the most recently updated stories (by live
        sequence number, so the lists are the same whatever order stories were restored in);
        older stories stay reachable through their rarer terms.
        """
        limit = self.config.posting_limit
        heaps = self._posting_heaps
        key = story.key
        for term in story.centroid:
            if term in unposted:
                continue
            posting = self._postings.get(term)
            if posting is None:
                self._postings[term] = {key}
                continue
            if key in posting:
                continue
            posting.add(key)
            heap = heaps.get(term)
            if heap is not None:
                heapq.heappush(heap, (story.seq, key))
            if len(posting) > limit:
                self._evict_oldest(term, posting)

    def _evict_oldest(self, term: str, posting: set[str]) -> None:
        """Drop the story of `posting` with the lowest live sequence number.

        A scan of the posting for its minimum on every insertion into a full list was the cost
        that grew most with the number of stories (common terms' lists are always full). A heap
        per full posting gives the same story: each member has an entry whose number is at most
        its live one (entries are pushed when a story enters the list; a story's number only
        changes when it is updated), and an entry whose number is no longer the live one is
        replaced by the live one before it can be chosen."""
        seq_of = self._seq_of
        heap = self._posting_heaps.get(term)
        if heap is None or len(heap) > 4 * self.config.posting_limit:
            heap = [(seq_of[key], key) for key in posting]
            heapq.heapify(heap)
            self._posting_heaps[term] = heap
        while heap:
            seq, key = heapq.heappop(heap)
            if key not in posting:
                continue
            live = seq_of[key]
            if seq != live:
                heapq.heappush(heap, (live, key))
                continue
            posting.discard(key)
            self.restated.add(key)
            return

    def _drop_posting(self, term: str, story_key: str) -> None:
        posting = self._postings.get(term)
        if posting is not None:
            posting.discard(story_key)
            if not posting:
                del self._postings[term]
                self._posting_heaps.pop(term, None)

    def remove(self, story_key: str) -> StoryState:
        """Take a story out of every look-up; returns its state."""
        story = self.stories.pop(story_key)
        self._seq_of.pop(story.key, None)
        self.restated.discard(story.key)  # gone: no state to write again
        for term in story.centroid:
            self._drop_posting(term, story.key)
        for member in story.members:
            if self.by_item.get(member.key) == story.key:
                del self.by_item[member.key]
            if member.url and self.by_url.get(member.url) == story.key:
                del self.by_url[member.url]
        for title in story.titles:
            if self.by_title.get(title) == story.key:
                del self.by_title[title]
        return story

    def add_restored(
        self, story: StoryState, lent_titles: AbstractSet[str], unposted: AbstractSet[str]
    ) -> None:
        """Index a story rebuilt from its exported state, as it was when exported."""
        self.stories[story.key] = story
        self._seq_of[story.key] = story.seq
        heapq.heappush(self._expiry, (story.last_updated.timestamp(), story.key))
        self.seq = max(self.seq, story.seq)
        for member in story.members:
            self.by_item[member.key] = story.key
            if member.url:
                self.by_url[member.url] = story.key
        for title in story.titles - lent_titles:
            current = self.by_title.get(title)
            if current is None or self.stories[current].seq < story.seq:
                self.by_title[title] = story.key
        self.index(story, unposted=unposted)

    def export_extras(self, story: StoryState) -> tuple[list[str], list[str]]:
        """(lent titles, unposted terms) of a story, as story.to_json takes them."""
        lent = sorted(t for t in story.titles if self.by_title.get(t) != story.key)
        unposted = sorted(t for t in story.centroid if story.key not in self._postings.get(t, ()))
        return lent, unposted

    def expired(self, cutoff: datetime) -> list[str]:
        """Keys of the stories last updated before `cutoff`, taken out of the expiry heap."""
        limit = cutoff.timestamp()
        heap = self._expiry
        gone: list[str] = []
        while heap and heap[0][0] < limit:
            _, key = heapq.heappop(heap)
            story = self.stories.get(key)
            if story is not None and story.last_updated < cutoff and key not in gone:
                gone.append(key)
        return gone
