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
import functools
import html
import json
import multiprocessing
import os
import random
import resource
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
DATA = ROOT.parent / "shared" / "data"

PORTS = 25  # 25 "hosts" x the default per-host limit of 4 > the default concurrency of 50


@functools.cache  # read once per process: the feed server renders thousands of feeds
def _headlines() -> tuple[list[str], list[dict[str, str]]]:
    """General news headlines (real, from the shared data) and the labelled compute deals."""
    general: list[str] = []
    deals: list[dict[str, str]] = []
    uci = DATA / "stories" / "uci_dev.jsonl"
    if uci.is_file():
        general = [json.loads(line)["title"] for line in uci.open(encoding="utf-8")]
    relevance = DATA / "relevance" / "dev.jsonl"
    if relevance.is_file():
        for line in relevance.open(encoding="utf-8"):
            record = json.loads(line)
            if record.get("relevant"):
                deals.append({"title": record["title"], "summary": record["summary"]})
    if not general:  # the shared data is missing: fall back to generated headlines
        general = [f"Markets move as company {i} reports quarterly results" for i in range(500)]
    if not deals:
        deals = [{"title": "Cloud firm leases 300 MW data center", "summary": "A lease deal."}]
    return general, deals


def _description(rng: random.Random, general: list[str], lead: str) -> str:
    """An HTML description as CMSs emit it: paragraphs, inline markup, a link, an image."""
    others = rng.sample(general, 3)
    return (
        f"<p>{html.escape(lead)}</p>"
        f'<p><img src="https://cdn.example/img/{rng.randrange(10**6)}.jpg" alt="" width="640"/>'
        f"{html.escape(others[0])}. <strong>{html.escape(others[1])}</strong>, according to "
        f'<a href="https://source.example/{rng.randrange(10**6)}?utm_source=rss">people familiar '
        f"with the matter</a>. {html.escape(others[2])}.</p>"
        f'<p><a href="https://news.example/more">Read more &raquo;</a></p>'
    )


_BUYERS = ["Microsoft", "OpenAI", "Anthropic", "Meta", "Google", "Amazon", "Oracle", "xAI"]
_SELLERS = ["CoreWeave", "Nebius", "Lambda", "Crusoe", "Applied Digital", "IREN", "TeraWulf",
            "Cipher Mining", "Equinix", "Digital Realty", "Nscale", "Fluidstack"]  # fmt: skip
_SITES = ["Texas", "Ohio", "Norway", "Finland", "Virginia", "Arizona", "Wyoming", "Iceland"]
_TITLES = [
    "{buyer} signs ${amount} billion deal for {mw} of AI compute from {seller}",
    "{seller} to supply {buyer} with {gpus} in {site} under multiyear contract",
    "{buyer} leases {mw} {site} data center from {seller} in ${amount}bn contract",
]
EVENTS = 300  # distinct compute deals; each is reported by several outlets in their own words


def _deal(event: int, rng: random.Random) -> tuple[str, str]:
    """One outlet's report of compute deal ``event``: same facts, its own wording."""
    facts = random.Random(event)
    buyer, seller = facts.choice(_BUYERS), facts.choice(_SELLERS)
    mw, gpus = f"{facts.randrange(1, 20) * 50} MW", f"{facts.randrange(2, 60)},000 GPUs"
    amount, site = facts.randrange(1, 30), facts.choice(_SITES)
    years = facts.randrange(2, 11)
    title = rng.choice(_TITLES).format(
        buyer=buyer, seller=seller, mw=mw, gpus=gpus, amount=amount, site=site
    )
    lead = (
        f"{seller} will provide {buyer} with {gpus} ({mw}) of AI infrastructure in {site} "
        f"under a {years}-year agreement valued at about ${amount} billion, the companies said."
    )
    return title, lead


def render_feed(index: int, items: int) -> bytes:
    """Feed ``index``: deterministic; one item in twenty reports a compute deal; dates in the
    last two days."""
    general, _ = _headlines()
    rng = random.Random(index)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    host = f"outlet{index}.example"
    parts = []
    for number in range(items):
        if rng.random() < 0.05:
            title, lead = _deal(rng.randrange(EVENTS), rng)
        else:
            title = rng.choice(general)
            lead = rng.choice(general)
        when = now - timedelta(minutes=rng.randrange(48 * 60))
        link = f"https://{host}/news/{index}-{number}?utm_source=rss&utm_medium=feed"
        parts.append(
            f"<item><title>{html.escape(title)}</title><link>{html.escape(link)}</link>"
            f'<guid isPermaLink="false">{host}-{number}</guid>'
            f"<pubDate>{format_datetime(when, usegmt=True)}</pubDate>"
            f"<dc:creator>Staff {rng.randrange(40)}</dc:creator>"
            f"<category>{rng.choice(['Business', 'Technology', 'Markets', 'AI'])}</category>"
            f"<description><![CDATA[{_description(rng, general, lead)}]]></description></item>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
        f"<title>Outlet {index}</title><link>https://{host}/</link>"
        f"<description>News from outlet {index}</description>{''.join(parts)}</channel></rss>"
    ).encode()


def serve(feeds: int, items: int, ports_out: Any) -> None:
    """The feed server process: renders every feed once, then serves them on PORTS ports."""
    bodies = [render_feed(index, items) for index in range(feeds)]

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; with Nagle's algorithm on, every response
        # on a kept-alive connection would wait for the client's delayed ACK (~40 ms).
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            try:
                index = int(self.path.rsplit("/", 1)[-1].split(".")[0])
                body = bodies[index]
            except (ValueError, IndexError):
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            etag = f'"feed-{index}-v1"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml; charset=utf-8")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    servers = []
    for _ in range(PORTS):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ports_out.put([server.server_address[1] for server in servers])
    threading.Event().wait()


def feed_urls(ports: list[int], feeds: int) -> list[str]:
    return [f"http://127.0.0.1:{ports[i % len(ports)]}/feeds/{i}.xml" for i in range(feeds)]


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
    from deal_stream import deal_events
    from sqlalchemy import select

    from bot.evaluation.scores import bcubed
    from bot.storage.models import EntryRow, StoryMemberRow

    general, _ = _headlines()
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
