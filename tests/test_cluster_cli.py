"""`newsbot cluster` end to end on files, and how bench/cluster_eval.py halves the data sets."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

from click.testing import CliRunner

from bot.cli.main import cli

SEEDS = Path(__file__).resolve().parents[2] / "shared" / "seeds"
BENCH = Path(__file__).resolve().parents[1] / "bench" / "cluster_eval.py"


def write_items(path: Path, items: list[dict[str, object]]) -> None:
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")


def test_cluster_command_orders_by_published_time_and_writes_every_item(tmp_path: Path) -> None:
    items: list[dict[str, object]] = [
        {
            "id": "late-copy",
            "title": "Microsoft signs $9 billion GPU deal with Nebius for New Jersey site",
            "published": "2025-09-09T12:00:00Z",
        },
        {
            "id": "first",
            "title": "Microsoft signs $17.4 billion GPU deal with Nebius for New Jersey site",
            "published": "2025-09-08T12:00:00Z",
        },
        {
            "id": "rewrite",
            "title": "Nebius lands $17.4bn Microsoft GPU capacity contract in New Jersey",
            "summary": "",
            "published": "2025-09-08T13:00:00+00:00",
            "source": "Outlet",
            "url": "https://example.com/a",
        },
        {"id": "undated", "title": "Fika Jobs raises $4M for video hiring", "published": None},
    ]
    source = tmp_path / "items.jsonl"
    target = tmp_path / "assign.jsonl"
    write_items(source, items)
    result = CliRunner().invoke(
        cli, ["cluster", "--input", str(source), "--output", str(target)], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in target.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["late-copy", "first", "rewrite", "undated"]
    story = {r["id"]: r["story_id"] for r in rows}
    assert story["first"] == story["rewrite"]
    # $9bn vs $17.4bn is another deal; the $4M funding round is other news.
    assert story["late-copy"] != story["first"]
    assert story["undated"] not in {story["first"], story["late-copy"]}


def test_cluster_command_names_the_bad_line(tmp_path: Path) -> None:
    source = tmp_path / "items.jsonl"
    source.write_text('{"id": "a", "title": "ok"}\n{"id": "b", "published": "yesterday"}\n')
    result = CliRunner().invoke(
        cli, ["cluster", "--input", str(source), "--output", str(tmp_path / "out.jsonl")]
    )
    assert result.exit_code != 0
    assert f"{source}:2" in result.output
    source.write_text('{"id": "a", "title": "ok"}\nnot json\n')
    result = CliRunner().invoke(
        cli, ["cluster", "--input", str(source), "--output", str(tmp_path / "out.jsonl")]
    )
    assert result.exit_code != 0 and "not JSON" in result.output


def test_cluster_command_on_the_seeds(tmp_path: Path) -> None:
    if not SEEDS.is_dir():
        import pytest

        pytest.skip(f"seed documents not found at {SEEDS}")
    items: list[dict[str, object]] = []
    for index, path in enumerate(sorted(SEEDS.glob("*.txt"))):
        title, _, text = path.read_text(encoding="utf-8").partition("\n")
        items.append(
            {
                "id": path.stem,
                "title": title,
                "text": text,
                "published": f"2026-05-06T1{index}:00:00Z",
            }
        )
    items.append({"id": "c2", "title": "xAI moves Grok training to Colossus 2", "published": None})
    source, target = tmp_path / "seeds.jsonl", tmp_path / "out.jsonl"
    write_items(source, items)
    result = CliRunner().invoke(cli, ["cluster", "--input", str(source), "--output", str(target)])
    assert result.exit_code == 0, result.output
    story = {r["id"]: r["story_id"] for r in map(json.loads, target.read_text().splitlines())}
    seed_stories = {story[item["id"]] for item in items[:5]}  # type: ignore[index]
    assert len(seed_stories) == 1
    assert story["c2"] not in seed_stories


def _eval_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("cluster_eval", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["cluster_eval"] = module
    spec.loader.exec_module(module)
    return module


def test_cluster_command_writes_final_story_ids_after_merges(tmp_path: Path) -> None:
    titles = [
        "Chiquita agrees to buy Irish rival Fyffes",
        "Banana giants create world's top fruit supplier",
        "Banana giants create world's biggest fruit supplier",
        "Chiquita and Fyffes merge to create world's top banana supplier",
        "Chiquita, Fyffes merge: banana giants create world's top fruit supplier",
    ]
    items: list[dict[str, object]] = [
        {"id": f"i{n}", "title": title, "published": f"2014-03-10T12:0{n}:00Z"}
        for n, title in enumerate(titles)
    ]
    source, target = tmp_path / "items.jsonl", tmp_path / "out.jsonl"
    write_items(source, items)
    result = CliRunner().invoke(cli, ["cluster", "--input", str(source), "--output", str(target)])
    assert result.exit_code == 0, result.output
    story = [json.loads(line)["story_id"] for line in target.read_text().splitlines()]
    assert len(set(story)) == 1  # the second fragment's items carry the survivor's id
    assert "5 items in 1 story ->" in result.output


def test_halves_split_by_topic_or_story_order() -> None:
    evaluation = _eval_module()
    rows = [
        {"id": "a", "cluster_id": "1_ecb", "topic": 1},
        {"id": "b", "cluster_id": "1_ecbplus", "topic": 1},
        {"id": "c", "cluster_id": "2_ecb", "topic": 2},
        {"id": "d", "cluster_id": "zz"},
        {"id": "e", "cluster_id": "yy"},
    ]
    halves = evaluation.half_of(rows)
    assert halves["a"] == halves["b"] == "odd" and halves["c"] == "even"
    assert {halves["d"], halves["e"]} == {"even", "odd"}


def test_cluster_command_keeps_one_story_per_canonical_url(tmp_path: Path) -> None:
    """Layer (a) of the daemon's path: a later item with an already placed URL is the same
    report (a retitled update), whatever its title says; other items stay apart."""
    items: list[dict[str, object]] = [
        {
            "id": "a",
            "title": "Oracle books 4.5 GW of OpenAI capacity in Texas",
            "url": "https://example.com/oracle-openai",
            "published": "2025-07-02T09:00:00Z",
        },
        {
            "id": "b",
            "title": "Correction appended",
            "url": "https://example.com/oracle-openai",
            "published": "2025-07-02T15:00:00Z",
        },
        {
            "id": "c",
            "title": "Fika Jobs raises $4M for video hiring",
            "url": "https://example.com/fika",
            "published": "2025-07-02T16:00:00Z",
        },
    ]
    source, target = tmp_path / "items.jsonl", tmp_path / "out.jsonl"
    write_items(source, items)
    result = CliRunner().invoke(cli, ["cluster", "--input", str(source), "--output", str(target)])
    assert result.exit_code == 0, result.output
    story = {r["id"]: r["story_id"] for r in map(json.loads, target.read_text().splitlines())}
    assert story["a"] == story["b"] != story["c"]
    assert "3 items in 2 stories" in result.output


def test_cluster_takes_dash_c_and_uses_the_configured_window(tmp_path: Path) -> None:
    """`newsbot cluster -c FILE`, like every other command (issue 17): the file's [clustering]
    settings apply, here a one-day active window that a report three days later falls outside."""
    items: list[dict[str, object]] = [
        {
            "id": "first",
            "title": "Microsoft signs $17.4 billion GPU deal with Nebius for New Jersey site",
            "published": "2025-09-08T12:00:00Z",
        },
        {
            "id": "days-later",
            "title": "Nebius lands $17.4bn Microsoft GPU capacity contract in New Jersey",
            "published": "2025-09-11T12:00:00Z",
        },
    ]
    source = tmp_path / "items.jsonl"
    write_items(source, items)
    config = tmp_path / "newsbot.toml"
    config.write_text("[clustering]\nactive_window_hours = 24\n", encoding="utf-8")

    def stories(*options: str) -> dict[str, str]:
        target = tmp_path / "assign.jsonl"
        args = ["cluster", *options, "--input", str(source), "--output", str(target)]
        result = CliRunner().invoke(cli, args, catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return {r["id"]: r["story_id"] for r in map(json.loads, target.read_text().splitlines())}

    default = stories()
    assert default["first"] == default["days-later"]  # within the default two weeks
    for option in ("-c", "--config"):
        narrow = stories(option, str(config))
        assert narrow["first"] != narrow["days-later"], option
    bad = tmp_path / "bad.toml"
    bad.write_text("[clustering]\nactive_window_hours = -1\n", encoding="utf-8")
    target = str(tmp_path / "unused.jsonl")
    result = CliRunner().invoke(
        cli, ["cluster", "-c", str(bad), "--input", str(source), "--output", target]
    )
    assert result.exit_code == 2
    assert f"{bad}: clustering.active_window_hours" in result.output
