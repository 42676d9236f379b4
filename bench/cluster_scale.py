"""Clustering cost per item as the number of active stories grows, against brute force.

The stream is built from real headlines (the UCI news-aggregator, STS-headlines and ECB+ titles
in ../shared/data/stories). Background stories are distinct headlines spliced from the first half
of one real headline and the second half of another, so that 100,000 stories can be stored; the
probes are real headlines in their original order. Background items are placed each in a story
of its own (StoryClusterer.add_labelled: spliced halves of one real story would otherwise join);
probes run with the shipped defaults. At 1,000, 10,000 and 100,000 stored
stories the script times `StoryClusterer.add` on the probes (the indexed engine; the median
per-item CPU time over chunks of 100 probes, robust to load from other processes), and at
100,000 also the same
engine comparing each probe with every story (the brute-force baseline, on fewer probes because
it is slow). It also times export and restore of 10,000 stories through JSON, as the daemon does.
Then it feeds one stream of similar reports of one deal (each from its own outlet, with figures
that vary a little from report to report) into a fresh clusterer, where they all join one story,
and times the joins just before the story reaches 5,000, 10,000 and 20,000 members (the same
median per-item CPU time): a join must cost the same whatever the size of the story it joins
(`one_story_ratio_20k_to_5k` near 1).
Prints progress lines, then JSON last.
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import statistics
import sys
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.clustering.config import ClusterConfig  # noqa: E402
from bot.clustering.engine import StoryClusterer  # noqa: E402
from bot.clustering.features import extract  # noqa: E402
from bot.clustering.item import ClusterItem  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "stories"
START = datetime(2026, 1, 1, tzinfo=UTC)


def real_headlines() -> list[str]:
    titles: list[str] = []
    for name in ("uci_dev.jsonl", "ecbplus_dev.jsonl"):
        with (DATA / name).open(encoding="utf-8") as handle:
            titles.extend(json.loads(line)["title"] for line in handle if line.strip())
    with (DATA / "sts_headlines_dev.tsv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            titles.extend([row["headline1"], row["headline2"]])
    seen: set[str] = set()
    return [t for t in titles if t and not (t in seen or seen.add(t))]  # type: ignore[func-returns-value]


def spliced(titles: list[str], index: int) -> str:
    first = titles[index % len(titles)].split()
    second = titles[(index * 7919 + 13) % len(titles)].split()
    return " ".join(first[: max(2, len(first) // 2)] + second[len(second) // 2 :])


class Stream:
    def __init__(self) -> None:
        self.count = 0

    def item(self, title: str, prefix: str) -> ClusterItem:
        self.count += 1
        return ClusterItem(
            key=f"{prefix}-{self.count}",
            title=title,
            published=START + timedelta(milliseconds=self.count * 10),
        )


def time_probes(clusterer: StoryClusterer, stream: Stream, probes: list[str]) -> float:
    """Milliseconds per item: this process's CPU time (time spent waiting for a core that other
    processes hold is not the engine's cost), the median over chunks of 100 probes, so that a
    burst of load on a shared machine (caches and memory bandwidth) does not decide the figure."""
    items = [stream.item(title, "probe") for title in probes]
    chunk = 100
    per_item: list[float] = []
    for start in range(0, len(items), chunk):
        part = items[start : start + chunk]
        started = time.process_time()
        for item in part:
            clusterer.add(item)
        per_item.append((time.process_time() - started) * 1000.0 / len(part))
    return statistics.median(per_item)


def similar_report(number: int) -> ClusterItem:
    """Report `number` of one deal: the same parties and wording, its own outlet, and figures
    that differ a little from report to report (rounded differently, updated)."""
    gpus = 50_000 + (number * 37) % 4_000
    amount = 5.0 + (number % 40) / 100.0
    return ClusterItem(
        key=f"same-{number}",
        title=f"Nimbus Cloud to supply Orbital AI with {gpus:,} GPUs in ${amount:.2f} billion deal",
        summary=(
            f"Nimbus Cloud will supply Orbital AI with {gpus:,} Nvidia GPUs at its Abilene, "
            f"Texas campus under a multiyear agreement worth about ${amount:.2f} billion, "
            "the companies said."
        ),
        published=START + timedelta(seconds=number),
        source=f"Outlet {number}",
        url=f"https://outlet{number}.example/news/{number}",
    )


def one_story(sizes: list[int], window: int = 500) -> dict[str, float | int]:
    """Per-item CPU milliseconds of the `window` joins before the one story reaches each size
    (median over chunks of 100, as time_probes), and the ratio of the last to the first."""
    clusterer = StoryClusterer(ClusterConfig())
    result: dict[str, float | int] = {}
    placed = 0
    for size in sizes:
        while placed < size - window:
            clusterer.add(similar_report(placed))
            placed += 1
        per_item: list[float] = []
        while placed < size:
            started = time.process_time()
            for _ in range(100):
                clusterer.add(similar_report(placed))
                placed += 1
            per_item.append((time.process_time() - started) * 1000.0 / 100)
        ms = statistics.median(per_item)
        label = f"{size // 1000}k"
        result[f"one_story_ms_per_item_{label}"] = round(ms, 4)
        print(f"one story of {placed}: {ms:.3f} ms/join ({len(clusterer)} stories)", flush=True)
    result["one_story_stories"] = len(clusterer)
    first, last = sizes[0], sizes[-1]
    result[f"one_story_ratio_{last // 1000}k_to_{first // 1000}k"] = round(
        float(result[f"one_story_ms_per_item_{last // 1000}k"])
        / float(result[f"one_story_ms_per_item_{first // 1000}k"]),
        3,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=1000)
    parser.add_argument("--baseline-probes", type=int, default=30)
    parser.add_argument("--max-stories", type=int, default=100_000)
    parser.add_argument(
        "--one-story",
        type=int,
        default=20_000,
        help="largest one-story size timed (5,000, 10,000 and 20,000 up to it; 0: skip)",
    )
    args = parser.parse_args()

    titles = real_headlines()
    probes = titles[: args.probes]
    # Warm the per-word caches so the first checkpoint is not charged for cold lookups.
    for title in titles:
        extract(title)
    clusterer = StoryClusterer(ClusterConfig())
    stream = Stream()
    fill = 0
    result: dict[str, float | int] = {"headlines": len(titles)}
    checkpoints = [(1_000, "1k"), (10_000, "10k"), (100_000, "100k")]
    for target, label in checkpoints:
        if target > args.max_stories:
            break
        started = time.perf_counter()
        while len(clusterer) < target:
            # Each background item starts its own story, as a labeller would place it.
            clusterer.add_labelled(stream.item(spliced(titles, fill), "bg"), None)
            fill += 1
        fill_s = time.perf_counter() - started
        stored = len(clusterer)
        ms = time_probes(clusterer, stream, probes)
        result[f"ms_per_item_{label}"] = round(ms, 4)
        # Probes may merge background stories (a real headline fits the two spliced stories
        # that hold its halves), so the count after probing is lower.
        print(
            f"{stored} stories: {ms:.3f} ms/item (filled in {fill_s:.1f}s; "
            f"{len(clusterer)} after the probes)",
            flush=True,
        )
        if label == "10k":
            keys = clusterer.story_keys()
            started = time.perf_counter()
            states = json.dumps({key: clusterer.export_state(key) for key in keys})
            export_ms = (time.perf_counter() - started) * 1000.0
            started = time.perf_counter()
            restored = StoryClusterer(ClusterConfig())
            for key, state in json.loads(states).items():
                restored.restore(key, state)
            restore_ms = (time.perf_counter() - started) * 1000.0
            result["stories_restored"] = len(restored)
            result["export_ms_10k"] = round(export_ms, 1)
            result["restore_ms_10k"] = round(restore_ms, 1)
            result["state_bytes_per_story"] = round(len(states) / len(keys))
            print(f"export {export_ms:.0f} ms, restore {restore_ms:.0f} ms for {len(keys)} stories")
            del restored, states
        if label == "100k":
            indexed = clusterer.index.config
            clusterer.index.config = replace(indexed, exhaustive_search=True)
            baseline = time_probes(clusterer, stream, titles[-args.baseline_probes :])
            clusterer.index.config = indexed
            result["baseline_ms_per_item_100k"] = round(baseline, 4)
            print(f"brute force at {len(clusterer)} stories: {baseline:.3f} ms/item")
    sizes = [size for size in (5_000, 10_000, 20_000) if size <= args.one_story]
    if sizes:
        del clusterer
        result.update(one_story(sizes))
    result["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0, 1)
    if "ms_per_item_100k" in result:
        result["ratio_100k_to_1k"] = round(
            float(result["ms_per_item_100k"]) / float(result["ms_per_item_1k"]), 3
        )
        result["speedup_vs_baseline_100k"] = round(
            float(result["baseline_ms_per_item_100k"]) / float(result["ms_per_item_100k"]), 1
        )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
