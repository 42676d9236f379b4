"""Undated reports polled from feeds make the stories `newsbot cluster` makes of them.

ECB+ items carry no dates. `newsbot cluster` places undated items in their input order; a feed
lists its newest item first, and the daemon dates undated entries when first seen, keeping that
order. Before, every undated entry of a poll had the same time and the story builder took them in
the order of their GUIDs, so one poll of the same items made other stories than the CLI (B-cubed
precision 0.922 against 0.963 on ecbplus_dev). Topics 1-8 of ../shared/data/stories/ecbplus_dev
are served as one feed and polled; the stories must be the CLI's, item for item.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli.cluster import assign_items
from bot.config import Settings
from bot.evaluation.endtoend import evaluate_end_to_end
from bot.evaluation.items import read_items, read_labelled

ECB = (
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "stories" / "ecbplus_dev.jsonl"
)
TOPICS = range(1, 9)


def _partition(assigned: dict[str, str]) -> set[frozenset[str]]:
    stories: dict[str, set[str]] = {}
    for item, story in assigned.items():
        stories.setdefault(story, set()).add(item)
    return {frozenset(members) for members in stories.values()}


@pytest.mark.slow
def test_one_poll_of_undated_reports_makes_the_stories_of_newsbot_cluster(tmp_path: Path) -> None:
    if not ECB.is_file():
        pytest.skip(f"the shared evaluation data is missing: {ECB}")
    rows = [json.loads(line) for line in ECB.open(encoding="utf-8") if line.strip()]
    chosen = [row for row in rows if int(row["topic"]) in TOPICS]
    assert chosen and all(row.get("published") is None for row in chosen)
    path = tmp_path / "ecb.jsonl"
    path.write_text("".join(json.dumps(row) + "\n" for row in chosen), encoding="utf-8")

    cli = dict(assign_items(read_items(path)))
    polled = evaluate_end_to_end(read_labelled(path), Settings(), all_relevant=True)

    assert polled.placement.not_placed == []
    assert _partition(polled.predicted) == _partition(cli)
