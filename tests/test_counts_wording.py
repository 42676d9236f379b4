"""Counts of one read in the singular everywhere an operator or reader sees them: "1 story",
"1 source", "1 attempt", "1 feed added", never "1 stories" (issue 17). Real CLI commands on a real
SQLite database, a digest delivered to the Slack stand-in, and the daemon's log lines."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.digests import StoryStore, slack_channel_toml
from support.slack_stand_in import SlackStandIn

from bot.cli.main import cli
from bot.storage.database import Database, upgrade_schema
from bot.text.plural import plural

# a count of one followed by a plural noun: what this file must never find
ONE_PLURAL = re.compile(
    r"(?<![\d.,])1 (stories|sources|attempts|feeds|entries|items|reports|outlets|rules|channels"
    r"|digests|recipients|leases|failures|seconds|days|new entries|new stories)\b|\(s\)"
)


@pytest.fixture
def config(sqlite_url: str, slack: SlackStandIn, tmp_path: Path) -> Path:
    db = Database(sqlite_url)
    upgrade_schema(db)
    StoryStore(db, datetime.now(UTC)).add("Oracle leases 1 GW to OpenAI", ["Reuters"])
    db.dispose()
    path = tmp_path / "newsbot.toml"
    path.write_text(
        f'database_url = "{sqlite_url}"\ndata_dir = "{tmp_path}"\n'
        '[[feeds]]\nurl = "https://configured.example/rss"\nname = "Configured"\n'
        + slack_channel_toml("desk", webhook_url=slack.webhook_url),
        encoding="utf-8",
    )
    return path


def run(config: Path, *args: str) -> str:
    result = CliRunner().invoke(cli, ["-c", str(config), *args])
    assert result.exit_code == 0, result.output
    return result.output


def test_plural_helper() -> None:
    assert plural(1, "story", "stories") == "1 story"
    assert plural(0, "story", "stories") == "0 stories"
    assert plural(1_204, "new entry", "new entries") == "1,204 new entries"
    assert plural(1, "attempt") == "1 attempt" and plural(2, "attempt") == "2 attempts"


def test_one_of_anything_reads_in_the_singular(
    config: Path, slack: SlackStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    seen: list[str] = []
    with caplog.at_level(logging.INFO):
        sent = run(config, "digest", "--channel", "desk")
        assert "desk: sent (1 story)" in sent
        listing = run(config, "digests")
        assert " 1 story " in listing and " 1 attempt " in listing
        stories = run(config, "stories")
        assert "1 source," in stories
        opml = tmp_path / "one.opml"
        opml.write_bytes(
            b'<?xml version="1.0"?><opml version="2.0"><body>'
            b'<outline text="DCN" xmlUrl="https://dcn.example/feed"/></body></opml>'
        )
        imported = run(config, "feeds", "import", str(opml))
        assert "1 feed added, 0 already present, 0 skipped" in imported
        exported = CliRunner().invoke(
            cli, ["-c", str(config), "feeds", "export", "-o", str(tmp_path / "out.opml")]
        )
        checked = CliRunner().invoke(cli, ["check", str(config)])
        assert "1 feed, 1 channel," in checked.stderr
        seen += [sent, listing, stories, imported, exported.stderr, checked.stderr]
    seen += [record.getMessage() for record in caplog.records]
    seen += [str(message["text"]) for message in slack.messages]
    for text in seen:
        assert not ONE_PLURAL.search(text), text
