"""`newsbot stories` after a real poll of the demo feeds: each story with its sources, its link
(the report whose headline it shows), and with --why the relevance rules that matched its
reports and on which terms."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from bot.demo.data import demo_events, demo_feeds, render_demo_feeds
from bot.demo.server import FeedServer


@pytest.fixture
def polled(db_url: str, tmp_path: Path) -> Iterator[Path]:
    with FeedServer(render_demo_feeds(datetime.now(UTC))) as feeds:
        lines = [f"database_url = {json.dumps(db_url)}", f"data_dir = {json.dumps(str(tmp_path))}"]
        lines += ["[fetch]", "allow_private_networks = true"]  # the feeds are on loopback
        for feed in demo_feeds():
            lines += ["[[feeds]]", f"url = {json.dumps(feeds.url(feed.path))}"]
        config = tmp_path / "newsbot.toml"
        config.write_text("\n".join(lines) + "\n", encoding="utf-8")
        result = CliRunner().invoke(cli, ["-c", str(config), "poll"])
        assert result.exit_code == 0, result.output
        yield config


def test_json_gives_each_storys_link_score_and_rules(polled: Path) -> None:
    result = CliRunner().invoke(cli, ["-c", str(polled), "stories", "--json"])
    assert result.exit_code == 0, result.output
    stories = [json.loads(line) for line in result.stdout.splitlines()]
    deals = [event for event in demo_events() if event.relevant]
    assert len(stories) == len(deals)
    for story in stories:
        assert story["link"] in {source["link"] for source in story["sources"]}
        assert story["score"] > 0
        assert story["rules"], story["headline"]
        for reason in story["rules"]:
            assert 1 <= reason["reports"] <= len(story["sources"])
            assert reason["terms"]
    seed = next(s for s in stories if "Colossus 1" in s["headline"])
    assert max(r["reports"] for r in seed["rules"]) == 5


def test_why_prints_the_rules_under_each_story(polled: Path) -> None:
    plain = CliRunner().invoke(cli, ["-c", str(polled), "stories"])
    why = CliRunner().invoke(cli, ["-c", str(polled), "stories", "--why"])
    assert plain.exit_code == 0 and why.exit_code == 0
    assert "why:" not in plain.stdout
    blocks = why.stdout.split("\n[")
    assert len(blocks) == len([e for e in demo_events() if e.relevant])
    for block in blocks:
        assert "    why: " in block and (" reports: " in block or " report: " in block), block
