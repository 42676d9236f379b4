"""Story quality floors on the labelled data, through the path of `newsbot cluster` (entries in a
temporary database, the daemon's story builder): B-cubed precision and recall on the UCI headlines,
the ECB+ events with their hard negatives, and the poll benchmark's stream of 300 compute deals
(several outlets each, page clutter inside, deals of the same companies with close figures).
The floors sit just under what the shipped configuration scores, so a change that makes worse
stories on any of them fails here rather than in a benchmark nobody ran."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bot.config import Settings
from bot.evaluation.endtoend import evaluate_end_to_end
from bot.evaluation.items import read_labelled

ROOT = Path(__file__).resolve().parents[1]
STORIES = ROOT.parent / "shared" / "data" / "stories"


def _bench(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"bench_{name}", ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _evaluate(path: Path) -> dict[str, Any]:
    if not path.is_file():
        pytest.skip(f"the shared evaluation data is missing: {path}")
    result: dict[str, Any] = _bench("cluster_eval").evaluate(path)
    return result


# B-cubed floors through `newsbot cluster`'s path, (precision, recall): a little under what the
# shipped join model scores (deals_dev P 0.992 R 0.967, uci_dev P 0.883 R 0.840, ecbplus_dev
# P 0.974 R 0.939), so that a change making worse stories on any of them fails here. ECB+'s
# precision floor is issue 15's bar.
CLUSTER_FLOORS = {
    "deals_dev.jsonl": (0.985, 0.96),
    "uci_dev.jsonl": (0.87, 0.835),
    "ecbplus_dev.jsonl": (0.97, 0.93),
}


@pytest.mark.parametrize("name", sorted(CLUSTER_FLOORS))
def test_labelled_story_sets_keep_their_quality(name: str) -> None:
    precision, recall = CLUSTER_FLOORS[name]
    result = _evaluate(STORIES / name)
    assert result["missing"] == 0
    assert result["bcubed_precision"] >= precision, result
    assert result["bcubed_recall"] >= recall, result


def test_every_generated_deal_is_one_story(tmp_path: Path) -> None:
    """Each deal is one story with all its outlets' reports (a split shows it twice), and no
    story holds two deals (a merge hides one)."""
    if not (STORIES / "uci_dev.jsonl").is_file():
        pytest.skip("the shared evaluation data is missing: the deal reports' page clutter")
    stream = tmp_path / "deals.jsonl"
    assert _bench("deal_stream").write_deal_stream(stream) > 2000
    result = _evaluate(stream)
    assert result["bcubed_precision"] >= 0.995, result
    assert result["bcubed_recall"] >= 0.99, result


# deals_dev end to end (`newsbot eval`: its reports served as one feed per outlet, one real poll,
# the stories read back), with the default rules and with every item relevant (the clustering
# alone). Floors as (B3 precision, B3 recall), a little under what the shipped model and rules
# score (P 1.000 R 0.938 with the rules, P 0.992 R 0.967 with every item relevant).
DEALS_END_TO_END_FLOORS = {
    "default rules": (0.99, 0.93),
    "all relevant": (0.985, 0.96),
}


@pytest.mark.parametrize("variant", sorted(DEALS_END_TO_END_FLOORS))
def test_deals_end_to_end_keep_their_quality(variant: str) -> None:
    path = STORIES / "deals_dev.jsonl"
    if not path.is_file():
        pytest.skip(f"the shared evaluation data is missing: {path}")
    result = evaluate_end_to_end(
        read_labelled(path), Settings(), all_relevant=variant == "all relevant"
    )
    figures = result.summary()
    assert figures["not_placed"] == 0 and figures["failed_feeds"] == 0, figures
    precision, recall = DEALS_END_TO_END_FLOORS[variant]
    assert result.bcubed.precision >= precision, figures
    assert result.bcubed.recall >= recall, figures


@pytest.mark.xfail(
    strict=True,
    reason="dense same-company news joins: with the seed reports and relevance/dev.jsonl polled "
    "as one stream, the shipped join model scores B-cubed precision 0.725 (the Fluidstack $50 "
    "billion report and other Anthropic and xAI items join the Colossus 1 story; an Nvidia "
    "results item joins a CoreWeave deal). The story sets hold almost no one-report events, so "
    "the model joins a story of one report on a shared company name; training with such "
    "events (bench/train_join.py --other-news or --dense) lifts this but costs the story sets "
    "recall (issue 15)",
)
def test_other_news_of_the_deals_companies_stays_out_of_their_stories(tmp_path: Path) -> None:
    """The live case: a daemon polling the shared relevance items and the five seed reports as
    one feed. Every relevance item is an event of its own; the seeds are one story."""
    stream = [
        item
        for item in _bench("relevance_stream").relevance_stream()
        if str(item["id"]).startswith(("rel-dev", "seed"))
    ]
    if not stream:
        pytest.skip("the shared evaluation data is missing: seeds and relevance items")
    path = tmp_path / "stream.jsonl"
    path.write_text("".join(json.dumps(item) + "\n" for item in stream), encoding="utf-8")
    result = _evaluate(path)
    assert result["bcubed_recall"] == 1.0, result
    assert result["bcubed_precision"] >= 0.95, result
