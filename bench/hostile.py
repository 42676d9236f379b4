"""Benchmark of one real poll over hostile feeds on loopback (issue 18): memory, time, SSRF.

A local HTTP server on 127.0.0.2 (the hostile site) serves five feeds:

* ``amplifier.xml``: an entity amplifier, about 9.5 MiB of items that reference many small
  internal entities (64 bytes each, declared in the DOCTYPE), which would expand some tenfold;
* ``similar.xml``: 100,000 similar items (one deal, numbered), about 9.5 MiB, all relevant to the
  default rules, so they would all join one story;
* ``slowloris.xml``: answers 200 and then drips one byte a second (the fetcher's timeouts must
  end it);
* ``limited.xml``: 429 Too Many Requests with ``Retry-After``;
* ``redirect.xml``: a 302 to another port on 127.0.0.1, where a feed with one relevant item
  ("internal") waits: a server-side request forgery that the fetch policy must block.

A child process runs one real poll cycle over them (``Poller.poll``, as ``newsbot poll --all``
runs it: fetch, parse, store, match, cluster) on a fresh SQLite database with the default
configuration; the parent reports the child's peak resident memory (``RUSAGE_CHILDREN``).

The fetch policy (``fetch.allow_private_networks``, off by default) refuses loopback addresses,
which is every address this benchmark may use. The child lets the policy
(``bot.reader.fetcher.policy``) treat the hostile server's address (127.0.0.2) as a public host,
as the policy's tests do, and leaves the real check for every other address: the redirect to
127.0.0.1 is then judged as it would be from a public site, and counts in ``ssrf_blocked`` when
the feed fails as ``blocked``; ``internal_item_stored`` tells whether the redirect was followed.

Prints progress on stderr, then one JSON object as the last line of stdout with
``peak_rss_mib``, ``poll_s``, ``items_clustered`` (entries placed in stories) and
``ssrf_blocked``, each feed's outcome, and ``bars_met`` (peak_rss_mib < 400 and poll_s < 120).

    .venv/bin/python bench/hostile.py [--similar 100000] [--mib 9.5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

HOSTILE_HOST = "127.0.0.2"  # the hostile site, standing in for a public host
INTERNAL_HOST = "127.0.0.1"  # where the redirect points: another port on this machine
FEEDS = ("amplifier.xml", "similar.xml", "slowloris.xml", "limited.xml", "redirect.xml")
ENTITIES = 200  # internal entities the amplifier declares, 64 bytes each
DRIP_S = 1.0  # the slowloris sends one byte this often ...
DRIP_FOR_S = 150.0  # ... for at most this long (longer than the fetcher's total timeout)
RETRY_AFTER_S = 3600
MAX_RSS_MIB = 400
MAX_POLL_S = 120


def entity_amplifier(mib: float) -> bytes:
    """An RSS feed of about `mib` MiB whose descriptions are references to many 64-byte
    internal entities."""
    declarations = "".join(
        f'<!ENTITY e{number} "{chr(65 + number % 26) * 64}">\n' for number in range(ENTITIES)
    )
    head = (
        f'<?xml version="1.0"?>\n<!DOCTYPE rss [\n{declarations}]>\n'
        '<rss version="2.0"><channel><title>Amplifier</title>'
    )
    filler = "".join(f"&e{number % ENTITIES};" for number in range(1000))
    parts = [head]
    length = len(head)
    number = 0
    while length < mib * 2**20 - 8192:
        part = (
            f"<item><title>Entity amplifier {number}</title><guid>amp-{number}</guid>"
            f"<description>{filler}</description></item>"
        )
        parts.append(part)
        length += len(part)
        number += 1
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def similar_items(count: int) -> bytes:
    """An RSS feed of `count` short, similar, undated items of one deal (~95 bytes each)."""
    items = "".join(
        f"<item><title>Nimbus signs $5bn GPU cloud deal with Orbital #{number}</title>"
        f"<guid>s{number}</guid></item>"
        for number in range(count)
    )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Similar</title>'
        f"{items}</channel></rss>"
    ).encode()


INTERNAL_FEED = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Internal</title>'
    b"<item><title>Internal item: Nimbus signs 300 MW data center lease</title>"
    b"<guid>internal-1</guid></item></channel></rss>"
)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    bodies: dict[str, bytes]
    redirect_to: str
    stopping: threading.Event


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        name = self.path.lstrip("/").split("?")[0]
        if name == "slowloris.xml":
            self._drip()
        elif name == "limited.xml":
            self._answer(429, b"slow down", {"Retry-After": str(RETRY_AFTER_S)})
        elif name == "redirect.xml":
            self._answer(302, b"", {"Location": self.server.redirect_to})
        elif name in self.server.bodies:
            self._answer(200, self.server.bodies[name], {"Content-Type": "application/rss+xml"})
        else:
            self._answer(404, b"not found", {})

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _drip(self) -> None:
        """Headers, a feed's first bytes, then one byte every DRIP_S until the client gives up
        (or DRIP_FOR_S passes: the benchmark stops by itself)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(10**6))
        self.end_headers()
        started = time.monotonic()
        try:
            self.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
            self.wfile.flush()
            while time.monotonic() - started < DRIP_FOR_S and not self.server.stopping.is_set():
                time.sleep(DRIP_S)
                self.wfile.write(b" ")
                self.wfile.flush()
        except OSError:
            return  # the fetcher hung up: what it should do

    def log_message(self, format: str, *args: Any) -> None:
        return


def serve(host: str, bodies: dict[str, bytes], redirect_to: str = "") -> _Server:
    server = _Server((host, 0), _Handler)
    server.bodies = bodies
    server.redirect_to = redirect_to
    server.stopping = threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


# --- the child: one real poll ------------------------------------------------------------------


def _stand_in_public_host() -> str:
    """Let the fetch policy take the hostile server's address for a public one (every other
    address keeps the real check); returns what was done."""
    import ipaddress

    import bot.worker.poll as poll_module
    from bot.reader.fetcher import policy

    check: Callable[[Any], str | None] = policy.blocked_kind
    public = ipaddress.ip_address(HOSTILE_HOST)

    def classify(address: Any) -> str | None:
        return None if address == public else check(address)

    poll_module.Fetcher = partial(poll_module.Fetcher, classify=classify)  # type: ignore[misc]
    return f"on; {HOSTILE_HOST} stands in for a public host"


def child(settings_json: str) -> None:
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import func, select

    from bot.config import Settings
    from bot.daemon.app import build_pipeline
    from bot.storage.models import EntryRow, StoryMemberRow

    policy = _stand_in_public_host()
    settings = Settings.model_validate(json.loads(settings_json))
    pipeline = build_pipeline(settings)
    started = time.monotonic()
    report = asyncio.run(pipeline.poller.poll(force=True))
    poll_s = time.monotonic() - started
    with pipeline.db.session() as session:
        clustered = session.scalar(select(func.count()).select_from(StoryMemberRow)) or 0
        internal = session.scalar(
            select(func.count()).select_from(EntryRow).where(EntryRow.title.like("Internal item%"))
        )
    feeds = {
        result.url.rsplit("/", 1)[-1]: {
            "outcome": result.outcome,
            "error_class": result.error_class,
            "error": (result.error or "")[:200] or None,
            "new_entries": result.new_entries,
            "skipped": result.skipped,
        }
        for result in report.feeds
    }
    print(
        json.dumps(
            {
                "poll_s": round(poll_s, 2),
                "items_clustered": clustered,
                "ssrf_blocked": sum(
                    1
                    for result in report.feeds
                    if result.outcome == "error" and result.error_class == "blocked"
                ),
                "internal_item_stored": bool(internal),
                "fetch_policy": policy,
                "summary": report.summary(),
                "feeds": feeds,
            }
        )
    )


# --- the parent --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--similar", type=int, default=100_000, help="items of similar.xml")
    parser.add_argument("--mib", type=float, default=9.5, help="size of amplifier.xml")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return

    print("building the hostile feeds ...", file=sys.stderr)
    bodies = {
        "amplifier.xml": entity_amplifier(args.mib),
        "similar.xml": similar_items(args.similar),
    }
    internal = serve(INTERNAL_HOST, {"internal.xml": INTERNAL_FEED})
    hostile = serve(
        HOSTILE_HOST,
        bodies,
        redirect_to=f"http://{INTERNAL_HOST}:{internal.server_address[1]}/internal.xml",
    )
    base = f"http://{HOSTILE_HOST}:{hostile.server_address[1]}"
    try:
        with tempfile.TemporaryDirectory(prefix="newsbot-hostile-") as folder:
            settings = {
                "database_url": f"sqlite:///{Path(folder) / 'hostile.db'}",
                "data_dir": folder,
                "feeds": [{"url": f"{base}/{name}"} for name in FEEDS],
            }
            print(f"one poll of {len(FEEDS)} hostile feeds at {base} ...", file=sys.stderr)
            started = time.monotonic()
            run = subprocess.run(
                [sys.executable, __file__, "--child", json.dumps(settings)],
                capture_output=True,
                text=True,
                timeout=900,
            )
            wall_s = time.monotonic() - started
    finally:
        hostile.stopping.set()
        hostile.shutdown()
        internal.shutdown()
    if run.returncode != 0:
        sys.stderr.write(run.stderr[-4000:])
        raise SystemExit(f"the poll child failed (exit {run.returncode})")
    result = json.loads(run.stdout.strip().splitlines()[-1])
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    out = {
        "peak_rss_mib": round(peak, 1),
        "poll_s": result["poll_s"],
        "items_clustered": result["items_clustered"],
        "ssrf_blocked": result["ssrf_blocked"],
        "internal_item_stored": result["internal_item_stored"],
        "fetch_policy": result["fetch_policy"],
        "child_wall_s": round(wall_s, 2),
        "feed_mib": {name: round(len(body) / 2**20, 2) for name, body in bodies.items()},
        "feeds": result["feeds"],
        "summary": result["summary"],
        "bars_met": peak < MAX_RSS_MIB and result["poll_s"] < MAX_POLL_S,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
