"""The engine's bounded posting lists evict the least recently updated story, exactly as a scan
of the whole list for its lowest live sequence number would (the engine keeps a heap per full
list instead): same lists, same candidates, same stories, on a stream of real headlines with
joins, merges and re-indexing of updated stories. And what is looked up through them ranks a
story sharing the item's rare terms above stories sharing only words of every story."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.clustering.config import ClusterConfig
from bot.clustering.engine import StoryClusterer
from bot.clustering.index import StoryIndex
from bot.clustering.item import ClusterItem

STORIES = Path(__file__).resolve().parents[2] / "shared" / "data" / "stories"
UCI = STORIES / "uci_dev.jsonl"
T0 = datetime(2026, 3, 1, tzinfo=UTC)


class ScanningIndex(StoryIndex):
    """The reference: evict by scanning the posting for its minimum live sequence number."""

    def _evict_oldest(self, term: str, posting: set[str]) -> None:
        oldest = min(posting, key=self._seq_of.__getitem__)
        posting.discard(oldest)
        self.restated.add(oldest)


class ScanningClusterer(StoryClusterer):
    def __init__(self, config: ClusterConfig) -> None:
        super().__init__(config)
        self.index = ScanningIndex(self.config)


def _headlines() -> list[str]:
    if UCI.is_file():
        with UCI.open(encoding="utf-8") as handle:
            return [json.loads(line)["title"] for line in handle][:1500]
    # Without the shared data: a stream that still fills short lists and updates stories.
    return [f"Company {i % 40} reports {['profit', 'loss', 'deal'][i % 3]} in {i % 7}" for i in
            range(1500)]  # fmt: skip


@pytest.mark.parametrize("limit", [2, 5])
def test_heap_eviction_matches_the_scan(limit: int) -> None:
    config = replace(ClusterConfig(), posting_limit=limit)
    heap, scan = StoryClusterer(config), ScanningClusterer(config)
    evictions = 0
    for index, title in enumerate(_headlines()):
        item = ClusterItem(key=str(index), title=title, published=T0 + timedelta(minutes=index))
        assert heap.add(item).story_key == scan.add(item).story_key
        evictions += sum(len(p) == limit for p in heap.index._postings.values())
    assert heap.index._postings == scan.index._postings
    assert evictions > 0  # lists were full, so evictions happened
    assert sorted(heap.story_keys()) == sorted(scan.story_keys())


def test_a_rare_shared_term_outranks_several_common_ones() -> None:
    """Candidates are looked up through the item's terms: a story sharing its rare terms (a
    party, a figure) with the item must rank above stories that share only words every story
    of the stream has (their postings full), or it is never compared and the item starts a
    second story of the same event."""
    config = replace(ClusterConfig(), posting_limit=4, max_candidates=2)
    clusterer = StoryClusterer(config)
    start = datetime(2026, 5, 6, tzinfo=UTC)
    target = clusterer.add(
        ClusterItem(
            key="target",
            title="Zephyrine Systems books 48,000 GPUs from Northlake",
            published=start,
        )
    )
    deals = [
        ("Microsoft", "Nebius"),
        ("Oracle", "Lambda"),
        ("Amazon", "Crusoe"),
        ("Meta", "Nscale"),
    ]
    for index, (buyer, seller) in enumerate([*deals, ("OpenAI", "Fluidstack")]):
        other = clusterer.add(
            ClusterItem(
                key=f"other{index}",
                title=f"{buyer} signs multiyear GPU supply contract with {seller} for "
                f"{(index + 1) * 100} MW",
                published=start + timedelta(minutes=index + 1),
            )
        )
        assert other.is_new_story
    again = clusterer.add(
        ClusterItem(
            key="again",
            title="Zephyrine signs multiyear GPU supply contract for 48,000 chips",
            published=start + timedelta(minutes=10),
        )
    )
    assert again.story_key == target.story_key
