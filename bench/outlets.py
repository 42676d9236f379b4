"""The generated outlets of the benchmarks: their feeds, the compute deals they report, and the
loopback server that serves them.

Each of `feeds` outlets has one RSS feed (`render_feed`, deterministic per outlet): real general
news headlines from ../shared/data with HTML descriptions as CMSs emit them, and one item in twenty
a report of one of EVENTS generated compute deals, each reported by several outlets in their own
words (`deal`). `deal_events` replays a feed's random draws to say which deal each report is of.
`serve` serves the feeds on PORTS ports of 127.0.0.1 (ETags, 304 on If-None-Match).

Used by bench/poll.py (one poll cycle), bench/peers.py (newsbot beside newsboat and rss2email) and
bench/deal_stream.py (the labelled deal stream).
"""

from __future__ import annotations

import functools
import html
import json
import random
import threading
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"

PORTS = 25  # 25 "hosts" x the default per-host limit of 4 > the default concurrency of 50


@functools.cache  # read once per process: the feed server renders thousands of feeds
def headlines() -> tuple[list[str], list[dict[str, str]]]:
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


def description(rng: random.Random, general: list[str], lead: str) -> str:
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


def deal(event: int, rng: random.Random) -> tuple[str, str]:
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
    general, _ = headlines()
    rng = random.Random(index)
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    host = f"outlet{index}.example"
    parts = []
    for number in range(items):
        if rng.random() < 0.05:
            title, lead = deal(rng.randrange(EVENTS), rng)
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
            f"<description><![CDATA[{description(rng, general, lead)}]]></description></item>"
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


def deal_events(index: int, items: int, general: list[str]) -> dict[str, int]:
    """GUID -> deal number of feed `index`'s deal reports: replays render_feed's random draws."""
    rng = random.Random(index)
    events: dict[str, int] = {}
    for number in range(items):
        if rng.random() < 0.05:
            event = rng.randrange(EVENTS)
            deal(event, rng)
            events[f"outlet{index}.example-{number}"] = event
        else:
            rng.choice(general)
            rng.choice(general)
        rng.randrange(48 * 60)
        rng.randrange(40)
        rng.choice(["Business", "Technology", "Markets", "AI"])
        description(rng, general, "")
    return events
