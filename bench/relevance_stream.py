"""A dense stream of many companies' news in one feed: the precision case of live polling.

Usage:
    python bench/relevance_stream.py OUT.jsonl

Writes labelled items (`id`, `cluster_id`, `title`, `summary`, `text`, `published`, `source`)
for `bench/cluster_eval.py`, `newsbot cluster` and `newsbot eval`: the five seed reports of the
xAI-Anthropic Colossus 1 deal (one story) interleaved with every item of the shared relevance
sets (`relevance/dev.jsonl` and `relevance/deals_dev.jsonl`), each of which reports an event of
its own. Many of them name the same companies (xAI, Anthropic, OpenAI, Nvidia, CoreWeave,
Microsoft) and speak of deals, capacity and money, and they arrive three minutes apart, well
inside one join window: what a daemon polling a busy feed sees. A report joined to another
event's story is a precision error a reader meets in every digest ("Anthropic to spend $50
billion on US data centers with Fluidstack" shown inside the Colossus 1 story).

The relevance items are real headlines written by nobody on this project; they are not the
clustering's training data (bench/train_join.py reads only the story sets and the generated deal
stream), so this stream is a held-out check of precision on dense, same-company news.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
RELEVANCE = [SHARED / "data" / "relevance" / name for name in ("dev.jsonl", "deals_dev.jsonl")]
START = datetime(2026, 5, 6, 8, 0, tzinfo=UTC)
SPACING = timedelta(minutes=3)
# Outlets the items are spread over (one feed each in `newsbot eval`): enough that no outlet's
# feed holds most of the stream, as on a real subscription list.
OUTLETS = 12
SEED_STORY = "xai-anthropic-colossus1"


def _seed_items() -> list[dict[str, str]]:
    items = []
    for path in sorted(SEEDS.glob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        title, text = lines[0].strip(), "\n".join(lines[1:]).strip()
        items.append({"id": f"seed-{path.stem[:3]}", "title": title, "text": text})
    return items


def relevance_records(half: str | None = None) -> list[dict[str, object]]:
    """The items of the relevance sets in file order; with `half` ("even" or "odd") only those at
    even or odd positions (bench/train_join.py trains on one half and checks on the other)."""
    records: list[dict[str, object]] = []
    for path in RELEVANCE:
        if not path.is_file():
            return []
        records.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines())
    if half is None:
        return records
    parity = 0 if half == "even" else 1
    return [record for index, record in enumerate(records) if index % 2 == parity]


def relevance_stream(half: str | None = None, seeds: bool = True) -> list[dict[str, object]]:
    """The labelled items, in arrival order (with `half`, the seeds and that half of the
    relevance items; without `seeds`, the relevance items alone); empty when the shared data is
    missing."""
    news = []
    for record in relevance_records(half):
        news.append(
            {
                "id": str(record["id"]),
                "cluster_id": str(record["id"]),
                "title": record["title"],
                "summary": record.get("summary", ""),
            }
        )
    if not news:
        return []
    seed_items = _seed_items() if seeds else []
    if seeds and not seed_items:
        return []
    # The seed reports spread through the stream, as five outlets publish over a day.
    step = max(1, len(news) // (len(seed_items) + 1))
    stream: list[dict[str, object]] = []
    for index, item in enumerate(news):
        stream.append(item)
        slot = index // step
        if index % step == step - 1 and slot < len(seed_items):
            stream.append({**seed_items[slot], "cluster_id": SEED_STORY, "summary": ""})
    for index, item in enumerate(stream):
        item["published"] = (START + index * SPACING).isoformat()
        item["source"] = f"outlet-{index % OUTLETS:02d}"
        item["url"] = f"https://outlet-{index % OUTLETS:02d}.example/{item['id']}"
    return stream


def write_relevance_stream(path: Path, half: str | None = None, seeds: bool = True) -> int:
    """Write the stream (relevance_stream) as JSON lines; returns the items written."""
    stream = relevance_stream(half, seeds)
    with path.open("w", encoding="utf-8") as out:
        for item in stream:
            out.write(json.dumps(item) + "\n")
    return len(stream)


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    written = write_relevance_stream(Path(argv[0]))
    if not written:
        print("the shared data (seeds, relevance sets) is missing", file=sys.stderr)
        return 1
    print(f"{written} items -> {argv[0]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
