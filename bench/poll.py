"""Benchmark of one poll cycle: 1,000 feeds of 50 items, cold and warm, against feedparser.

A local HTTP server in another process serves the feeds (RSS 2.0, ETags, 304 on If-None-Match)
on several ports of 127.0.0.1, so the fetcher's per-host politeness limit applies as it would
across many sites. Items are realistic: HTML descriptions (paragraphs, images, tracked links,
"Read more") around real general-news headlines from ../shared/data, and one item in twenty a
report of one of 300 generated compute deals, each reported by several outlets in different words
(so matching and clustering have real work).

* cold: the real pipeline (fetch, parse, store, match, cluster: ``Poller.poll``) on an empty
  SQLite database, every feed new;
* warm: the same pipeline again, every feed unchanged (conditional GET, 304);
* baseline, in the same run: a sequential loop of ``feedparser.parse(url)`` over the same feeds,
  the way most small bots poll (``--baseline-feeds`` times a sample and scales it to all feeds).

Prints progress on stderr, then one JSON object as the last line of stdout with at least:
feeds, cold_s, warm_s, baseline_s, cold_speedup, warm_speedup, peak_rss_mib (the benchmark
process's peak resident memory after the cold and warm cycles, before the baseline runs).
Diagnostics follow: the cold cycle's phases (seconds), CPU seconds of the main process and of
the parser processes it started, and the parser processes' peak resident memory; then the
machine's cores, the cold cycle's CPU seconds in all, and the CPU seconds those cores give in
baseline_s / 5 (a cold cycle using more than that cannot be 5 times faster than the baseline).

    .venv/bin/python bench/poll.py [--feeds 1000] [--items 50] [--baseline-feeds 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from outlets import feed_urls, headlines, serve  # noqa: E402


def _cpu_seconds() -> dict[str, float]:
    """CPU seconds of this process and of its finished children (the parser processes; the
    feed server is still running and not counted)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {
        "main": own.ru_utime + own.ru_stime,
        "parsers": children.ru_utime + children.ru_stime,
    }


def story_quality(database: Any, feeds: int, items: int) -> dict[str, float]:
    """B-cubed precision, recall and F1 of the cold cycle's stories against the deals the
    generator reported (bench/deal_stream.py replays its draws): a faster cycle must not make
    worse stories."""
    from outlets import deal_events
    from sqlalchemy import select

    from bot.evaluation.scores import bcubed
    from bot.storage.models import EntryRow, StoryMemberRow

    general, _ = headlines()
    gold: dict[str, str] = {}
    for index in range(feeds):
        gold.update(
            {guid: str(event) for guid, event in deal_events(index, items, general).items()}
        )
    with database.session() as session:
        rows = session.execute(
            select(EntryRow.guid, StoryMemberRow.story_id).join(
                StoryMemberRow, StoryMemberRow.entry_id == EntryRow.id
            )
        ).all()
    predicted = {guid: str(story) for guid, story in rows if guid in gold}
    # A deal report left out of every story counts as a story of its own.
    predicted.update({guid: f"unclustered:{guid}" for guid in gold if guid not in predicted})
    precision, recall, f1 = bcubed(gold, predicted).as_tuple()
    return {"precision": round(precision, 3), "recall": round(recall, 3), "f1": round(f1, 3)}


def run_pipeline(urls: list[str], items: int, workdir: Path) -> dict[str, Any]:
    from bot.config.settings import Settings
    from bot.daemon.app import build_pipeline

    settings = Settings.model_validate(
        {
            "data_dir": workdir,
            "feeds": [{"url": url} for url in urls],
            "poll_interval": 900,
            "fetch": {"allow_private_networks": True},  # the bench's feed server is on loopback
        }
    )
    pipeline = build_pipeline(settings)
    cpu = _cpu_seconds()
    started = time.perf_counter()
    cold = asyncio.run(pipeline.poller.poll(force=True))
    cold_s = time.perf_counter() - started
    cold_cpu = {k: round(v - cpu[k], 2) for k, v in _cpu_seconds().items()}
    # The parser processes have ended (the feed server has not): their largest resident set.
    parser_rss_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"cold: {cold_s:.2f}s: {cold.summary()}", file=sys.stderr)
    quality = story_quality(pipeline.db, len(urls), items)
    started = time.perf_counter()
    warm = asyncio.run(pipeline.poller.poll(force=True))
    warm_s = time.perf_counter() - started
    print(f"warm: {warm_s:.2f}s: {warm.summary()}", file=sys.stderr)
    return {
        "cold_s": cold_s,
        "warm_s": warm_s,
        "cold_ok": cold.outcome_counts["ok"],
        "cold_new_entries": cold.new_entries,
        "cold_relevant": cold.processing.relevant,
        "cold_stories": cold.processing.stories_created,
        "warm_not_modified": warm.outcome_counts["not_modified"],
        "cold_deal_stories_b3": quality,
        "cold_phases_s": {k: round(v, 2) for k, v in cold.seconds.items()},
        "cold_cpu_s": cold_cpu,
        "parser_peak_rss_mib": round(parser_rss_mib, 1),
        "errors": dict(cold.error_counts + warm.error_counts),
    }


def run_baseline(urls: list[str]) -> tuple[float, int]:
    import feedparser

    started = time.perf_counter()
    entries = 0
    for url in urls:
        entries += len(feedparser.parse(url).entries)
    return time.perf_counter() - started, entries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument(
        "--baseline-feeds", type=int, default=None, help="feeds timed for the baseline (all)"
    )
    args = parser.parse_args()
    context = multiprocessing.get_context("spawn")
    ports_queue = context.Queue()
    server = context.Process(target=serve, args=(args.feeds, args.items, ports_queue), daemon=True)
    server.start()
    try:
        ports = ports_queue.get(timeout=300)
        urls = feed_urls(ports, args.feeds)
        print(
            f"serving {args.feeds} feeds of {args.items} items on {len(ports)} ports",
            file=sys.stderr,
        )
        with tempfile.TemporaryDirectory(prefix="newsbot-bench-") as workdir:
            result = run_pipeline(urls, args.items, Path(workdir))
        peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        sample = urls[: args.baseline_feeds] if args.baseline_feeds else urls
        sample_s, baseline_entries = run_baseline(sample)
        baseline_s = sample_s * len(urls) / len(sample)
        print(
            f"baseline: {sample_s:.2f}s for {len(sample)} feeds ({baseline_entries} entries)",
            file=sys.stderr,
        )
    finally:
        server.terminate()
        server.join(10)
    report = {
        "feeds": args.feeds,
        "items_per_feed": args.items,
        "cold_s": round(result["cold_s"], 3),
        "warm_s": round(result["warm_s"], 3),
        "baseline_s": round(baseline_s, 3),
        "baseline_feeds_timed": len(sample),
        "cold_speedup": round(baseline_s / result["cold_s"], 2),
        "warm_speedup": round(baseline_s / result["warm_s"], 2),
        "peak_rss_mib": round(peak_rss_mib, 1),
        **{k: v for k, v in result.items() if k not in ("cold_s", "warm_s")},
        # What a cold cycle 5 times faster than the baseline could spend: every core busy for
        # baseline_s / 5, against the CPU seconds the cold cycle used (main and parsers).
        "cores": os.cpu_count() or 1,
        "cold_cpu_total_s": round(sum(result["cold_cpu_s"].values()), 2),
        "cpu_s_within_5x": round((os.cpu_count() or 1) * baseline_s / 5, 2),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
