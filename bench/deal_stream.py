"""A labelled compute-deal stream for clustering and matching checks, from bench/poll.py's feeds.

bench/poll.py's generator writes 300 distinct compute deals (parties, MW, GPUs, money, place),
each reported by several outlets in one of three wordings, inside HTML descriptions that carry
unrelated headlines as page clutter. Deals often share a buyer or a seller and differ in their
figures: the hard negatives the issue warns about ("merging two different deals of the same
companies hides a deal"). This script renders those feeds, parses them with the reader, and
writes the deal reports as JSON lines with `cluster_id` = the deal, so that

    .venv/bin/python bench/deal_stream.py /tmp/deals.jsonl
    .venv/bin/python bench/cluster_eval.py /tmp/deals.jsonl       # B-cubed against the deals
    .venv/bin/newsbot match --input /tmp/deals.jsonl --output -   # every one should be relevant

score the same reports the poll benchmark pushes through the daemon.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from outlets import EVENTS, deal_events, headlines, render_feed  # noqa: E402

from bot.reader.parser import parse_feed  # noqa: E402


def write_deal_stream(output: Path, feeds: int = 1000, items: int = 50) -> int:
    """Write the deal reports of feeds 0..`feeds`-1 to `output` as JSON lines; returns how
    many."""
    general, _ = headlines()
    now = datetime.now(UTC)
    written = 0
    with output.open("w", encoding="utf-8") as out:
        for index in range(feeds):
            events = deal_events(index, items, general)
            body = render_feed(index, items)
            parsed = parse_feed(body, url=f"http://outlet{index}.example/feed.xml", now=now)
            found = 0
            for entry in parsed.entries:
                if entry.guid not in events:
                    continue
                found += 1
                record = {
                    "id": entry.guid,
                    "cluster_id": str(events[entry.guid]),
                    "title": entry.title,
                    "summary": entry.summary,
                    "text": entry.text,
                    "published": entry.published.isoformat() if entry.published else None,
                    "source": f"Outlet {index}",
                    "url": entry.link,
                }
                out.write(json.dumps(record) + "\n")
            if found != len(events):  # the replay no longer follows render_feed
                raise SystemExit(f"feed {index}: {found} deal reports parsed, {len(events)} made")
            written += found
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", type=Path)
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--items", type=int, default=50)
    args = parser.parse_args()
    written = write_deal_stream(args.output, args.feeds, args.items)
    print(f"{written} reports of {EVENTS} deals written to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
