"""Clustering quality: B-cubed and pairwise precision/recall/F1 of the story clusterer.

Usage:
    python bench/cluster_eval.py [DATASET.jsonl ...] [--assignments ASSIGN.jsonl] [--halves]
        [--semantic]

Each data set (one JSON object per line with `id`, `cluster_id`, `title`, optional `summary`,
`text`, `published`, `source`, `url`) is run through the shipped default configuration in
published-time order, the same code path as `newsbot cluster`: the items are stored as entries
in a temporary SQLite database and processed by the daemon's StoryBuilder. With
`--assignments` the file written by `newsbot cluster` is scored instead of running the engine.
With `--halves` each data set is also split into two halves by gold story (by `topic` parity
where the set has topics, so that a topic's hard negatives stay together; else by the parity of
the story's order of first appearance) and each half is clustered and scored on its own: develop
on one half, confirm on the other. Prints a line per data set (and half), then the JSON of all
results last.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.cli.cluster import assign_items  # noqa: E402
from bot.clustering.config import ClusterConfig  # noqa: E402
from bot.evaluation.items import read_items  # noqa: E402
from bot.evaluation.scores import bcubed, pairwise  # noqa: E402

DEFAULT_SETS = [
    ROOT.parent / "shared" / "data" / "stories" / "uci_dev.jsonl",
    ROOT.parent / "shared" / "data" / "stories" / "ecbplus_dev.jsonl",
]


def half_of(rows: list[dict[str, object]]) -> dict[str, str]:
    """Item id -> "even" or "odd": the half its gold story (or topic) falls in."""
    order: dict[str, int] = {}
    for row in rows:
        order.setdefault(str(row["cluster_id"]), len(order))
    out = {}
    for row in rows:
        topic = row.get("topic")
        number = int(topic) if isinstance(topic, int | str) and str(topic).isdigit() else None
        if number is None:
            number = order[str(row["cluster_id"])]
        out[str(row["id"])] = "even" if number % 2 == 0 else "odd"
    return out


def evaluate(
    path: Path,
    assignments: Path | None = None,
    half: str | None = None,
    config: ClusterConfig | None = None,
) -> dict[str, object]:
    rows = [json.loads(line) for line in path.open(encoding="utf-8") if line.strip()]
    if half is not None:
        halves = half_of(rows)
        rows = [r for r in rows if halves[str(r["id"])] == half]
    gold = {str(r["id"]): str(r["cluster_id"]) for r in rows}
    started = time.perf_counter()
    if half is not None and assignments is None:
        pred = dict(assign_items([i for i in read_items(path) if i.key in gold], config))
    elif assignments is not None:
        pred = {}
        for line in assignments.open(encoding="utf-8"):
            if line.strip():
                record = json.loads(line)
                pred[str(record["id"])] = str(record["story_id"])
    else:
        pred = dict(assign_items(read_items(path), config))
    pred = {key: story for key, story in pred.items() if key in gold}
    elapsed = time.perf_counter() - started
    missing = [i for i in gold if i not in pred]
    for index, item in enumerate(missing):
        pred[item] = f"missing-{index}"
    bp, br, bf = bcubed(gold, pred).as_tuple()
    pp, pr, pf = pairwise(gold, pred).as_tuple()
    members: defaultdict[str, int] = defaultdict(int)
    for item in gold:
        members[pred[item]] += 1
    return {
        "dataset": path.name + (f"[{half}]" if half else ""),
        "items": len(gold),
        "gold_stories": len(set(gold.values())),
        "predicted_stories": len(members),
        "bcubed_precision": round(bp, 4),
        "bcubed_recall": round(br, 4),
        "bcubed_f1": round(bf, 4),
        "pairwise_precision": round(pp, 4),
        "pairwise_recall": round(pr, 4),
        "pairwise_f1": round(pf, 4),
        "missing": len(missing),
        "seconds": round(elapsed, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("datasets", nargs="*", type=Path)
    parser.add_argument("--assignments", type=Path, default=None)
    parser.add_argument("--halves", action="store_true", help="also score each half on its own")
    parser.add_argument(
        "--semantic", action="store_true", help="blend sentence embeddings (the [semantic] extra)"
    )
    args = parser.parse_args()
    paths = args.datasets or DEFAULT_SETS
    runs: list[tuple[Path, str | None]] = []
    for path in paths:
        runs.append((path, None))
        if args.halves:
            runs.extend([(path, "even"), (path, "odd")])
    results = []
    for path, half in runs:
        result = evaluate(path, args.assignments, half, ClusterConfig(semantic=args.semantic))
        results.append(result)
        print(
            f"{result['dataset']}: B3 P={result['bcubed_precision']:.3f} "
            f"R={result['bcubed_recall']:.3f} F1={result['bcubed_f1']:.3f} | pairwise "
            f"P={result['pairwise_precision']:.3f} R={result['pairwise_recall']:.3f} "
            f"F1={result['pairwise_f1']:.3f} | {result['predicted_stories']} stories "
            f"(gold {result['gold_stories']}) in {result['seconds']}s"
        )
    print(json.dumps({"results": results}, indent=2))


if __name__ == "__main__":
    main()
