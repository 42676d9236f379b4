"""Soak benchmark: the daemon polls 2,000 local feeds for many cycles while new items keep arriving.

A feed server runs in another process: feed i carries its newest 10 items; each cycle one feed in
ten gains an item (a mix of general headlines and compute-deal reports from ../shared/data), and
unchanged feeds answer 304 to conditional requests. The daemon runs in this process (the real
`Daemon`: its poll job with lease reclaim, metrics, story processing and outbox; one digest per
cycle to a local Slack stand-in), so its memory and CPU are measured here. Between cycles the
feeds are marked due, standing in for the poll interval elapsing.

The baseline is the daemon's own second cycle: `rss_mib_last` must stay within 1.1 x
`rss_mib_cycle2` (no growth with cycles), `entries_lost` (items served but not stored) and
`duplicate_posts` (Slack messages beyond the parts of the digests sent, plus digest periods sent
twice) must be 0. Prints progress on stderr and one JSON object as the last line of stdout.

    .venv/bin/python bench/soak.py [--feeds 2000] [--cycles 12] [--db-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))
DATA = ROOT.parent / "shared" / "data"
ITEMS_PER_FEED = 10
CHANGE_EVERY = 10  # each cycle, one feed in this many gains an item
PORTS = 25  # "hosts": the fetcher's per-host limit applies as it would across many sites


def _pool() -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    uci = DATA / "stories" / "uci_dev.jsonl"
    if uci.is_file():
        for line in uci.open(encoding="utf-8"):
            items.append((json.loads(line)["title"], ""))
    relevance = DATA / "relevance" / "dev.jsonl"
    if relevance.is_file():
        for line in relevance.open(encoding="utf-8"):
            record = json.loads(line)
            items.append((record["title"], record.get("summary", "")))
    if not items:
        items = [(f"Company {i} reports quarterly results", "") for i in range(1000)]
    return items


def version(feed: int, cycle: int) -> int:
    """How many items feed `feed` has published by `cycle` (beyond its first ITEMS_PER_FEED)."""
    return sum(1 for c in range(1, cycle + 1) if (feed + c) % CHANGE_EVERY == 0)


def item_ids(feed: int, cycle: int) -> list[int]:
    newest = ITEMS_PER_FEED + version(feed, cycle)
    return list(range(max(0, newest - ITEMS_PER_FEED), newest))


def render(feed: int, cycle: int, pool: list[tuple[str, str]], epoch: datetime) -> bytes:
    parts = [
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>',
        f"<title>Outlet {feed}</title><link>http://outlet{feed}.test/</link>",
    ]
    for n in item_ids(feed, cycle):
        title, summary = pool[(feed * 7919 + n * 104729) % len(pool)]
        published = epoch + timedelta(minutes=n)
        parts.append(
            f"<item><title>{escape(title)}</title><link>http://outlet{feed}.test/a/{n}</link>"
            f"<guid>outlet{feed}-{n}</guid><description>{escape(summary)}</description>"
            f"<pubDate>{format_datetime(published)}</pubDate></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def serve(port_queue: Any, cycle: Any, feeds: int, epoch_ts: float) -> None:
    pool = _pool()
    epoch = datetime.fromtimestamp(epoch_ts, UTC)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            try:
                feed = int(self.path.strip("/").removesuffix(".xml").removeprefix("f"))
            except ValueError:
                feed = -1
            if not 0 <= feed < feeds:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            now = cycle.value
            etag = f'"{feed}-{version(feed, now)}"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = render(feed, now, pool, epoch)
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    import threading

    ThreadingHTTPServer.request_queue_size = 256
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(PORTS)]
    for server in servers:
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
    port_queue.put([server.server_address[1] for server in servers])
    threading.Event().wait()


def feed_url(ports: list[int], feed: int) -> str:
    return f"http://127.0.0.1:{ports[feed % len(ports)]}/f{feed}.xml"


def rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def cpu_s() -> float:
    times = os.times()
    return times.user + times.system


async def soak(args: argparse.Namespace) -> dict[str, Any]:
    from sqlalchemy import text
    from support.slack_stand_in import SlackStandIn

    from bot.config.loader import load_config
    from bot.daemon.app import Daemon
    from bot.storage.database import upgrade_schema

    epoch = datetime.now(UTC) - timedelta(days=2)
    cycle = multiprocessing.Value("i", 0)
    ports: Any = multiprocessing.Queue()
    server = multiprocessing.Process(
        target=serve, args=(ports, cycle, args.feeds, epoch.timestamp()), daemon=True
    )
    server.start()
    port_list: list[int] = ports.get(timeout=30)
    tmp = Path(tempfile.mkdtemp(prefix="newsbot-soak-"))
    db_url = args.db_url or f"sqlite:///{tmp / 'soak.db'}"
    with SlackStandIn() as slack:
        config = tmp / "newsbot.toml"
        lines = [
            f"database_url = {json.dumps(db_url)}",
            f"data_dir = {json.dumps(str(tmp))}",
            f"rules = {json.dumps(str(ROOT / 'config' / 'rules' / 'compute-deals.toml'))}",
            "[fetch]",
            "allow_private_networks = true",  # the soak's feed servers are on loopback
            "[daemon]",
            "health_port = 0",
            "log_level = 'WARNING'",
            "[[channels]]",
            'name = "desk"',
            'type = "slack"',
            "max_stories = 50",
            "[channels.schedule]",
            'cron = "0 0 1 1 *"',  # never during the run: digests are driven per cycle below
            "[channels.slack]",
            f"webhook_url = {json.dumps(slack.webhook_url)}",
        ]
        for i in range(args.feeds):
            lines += ["[[feeds]]", f'url = "{feed_url(port_list, i)}"']
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        settings = load_config(config)
        daemon = Daemon(settings)
        upgrade_schema(daemon.pipeline.db)  # serve() does this once the database answers
        daemon._caught_up = True  # no start-up catch-up: this run's digests are explicit
        db = daemon.pipeline.db
        rss: list[float] = []
        cpu: list[float] = []
        for n in range(args.cycles):
            cycle.value = n
            started_cpu, started = cpu_s(), time.monotonic()
            with db.session() as session:
                session.execute(text("UPDATE feeds SET next_check_at = NULL"))
            await daemon.poll_job()
            await daemon.digest_job("desk", period=epoch + timedelta(hours=n))
            cpu.append(cpu_s() - started_cpu)
            rss.append(rss_mib())
            print(
                f"cycle {n + 1}: {time.monotonic() - started:.1f}s, cpu {cpu[-1]:.1f}s, "
                f"rss {rss[-1]:.1f} MiB, slack messages {len(slack.received)}",
                file=sys.stderr,
            )
        with db.session() as session:
            stored = {
                (str(url), str(identity))
                for url, identity in session.execute(
                    text("SELECT f.url, e.guid FROM entries e JOIN feeds f ON f.id = e.feed_id")
                )
            }
            sent_parts = 0
            periods: dict[str, int] = {}
            for key, payload, status in session.execute(
                text("SELECT idempotency_key, payload, status FROM digests")
            ):
                payload = json.loads(payload) if isinstance(payload, str) else payload
                if status == "sent":
                    sent_parts += len(payload.get("messages", []))
                    periods[key] = periods.get(key, 0) + 1
            stories = int(session.execute(text("SELECT count(*) FROM stories")).scalar() or 0)
        expected = {
            (feed_url(port_list, i), f"outlet{i}-{n}")
            for i in range(args.feeds)
            for c in range(args.cycles)
            for n in item_ids(i, c)
        }
        lost = len(expected - stored)
        duplicates = max(0, len(slack.received) - sent_parts) + sum(
            count - 1 for count in periods.values()
        )
        db.dispose()
    server.terminate()
    return {
        "feeds": args.feeds,
        "cycles": args.cycles,
        "entries_expected": len(expected),
        "entries_stored": len(stored),
        "stories": stories,
        "digests_sent": len(periods),
        "slack_messages": len(slack.received),
        "cpu_s_cycle1": round(cpu[0], 2),
        "cpu_s_per_cycle": round(sum(cpu[1:]) / max(1, len(cpu) - 1), 3),
        "rss_mib_cycle1": round(rss[0], 1),
        "rss_mib_cycle2": round(rss[1], 1),
        "rss_mib_last": round(rss[-1], 1),
        "rss_growth_ratio": round(rss[-1] / rss[1], 3),
        "entries_lost": lost,
        "duplicate_posts": duplicates,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--cycles", type=int, default=12)
    parser.add_argument("--db-url", default=None, help="default: SQLite in a temporary folder")
    args = parser.parse_args()
    if args.cycles < 3:
        parser.error("--cycles must be at least 3")
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    result = asyncio.run(soak(args))
    print(json.dumps(result))


if __name__ == "__main__":
    main()
