"""`newsbot digest --dry-run --format text|slack|email [--html FILE]` previews without storing or
sending, and a feed item titled ``<!channel> Free GPUs <https://evil.example|click>`` arrives
inert in Slack and escaped in the HTML email."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from support.daemon_proc import scalar
from support.digests import EVIL_TITLE, StoryStore, slack_channel_toml
from support.slack_stand_in import SlackStandIn

from bot.cli.main import cli
from bot.storage.database import Database, upgrade_schema


@pytest.fixture
def config(sqlite_url: str, slack: SlackStandIn, tmp_path: Path) -> Path:
    db = Database(sqlite_url)
    upgrade_schema(db)
    store = StoryStore(db, datetime.now(UTC))
    store.add(EVIL_TITLE, ["Evil Wire", "Reuters"], score=5.0)
    store.add("Oracle leases 1 GW of Stargate capacity to OpenAI", ["Bloomberg"], score=6.0)
    db.dispose()
    path = tmp_path / "newsbot.toml"
    path.write_text(
        f'database_url = "{sqlite_url}"\ndata_dir = "{tmp_path}"\n'
        + slack_channel_toml("desk", webhook_url=slack.webhook_url)
        + '[[channels]]\nname = "mail"\ntype = "email"\nthreshold = 1.0\n'
        '[channels.email]\nhost = "127.0.0.1"\nport = 2525\ntls = "none"\n'
        'from = "newsbot <bot@example.test>"\nto = ["desk@example.test"]\n',
        encoding="utf-8",
    )
    return path


def invoke(config: Path, *args: str) -> Result:
    result = CliRunner().invoke(cli, ["-c", str(config), "digest", *args])
    assert result.exit_code == 0, result.output
    return result


def preview_body(result: Result) -> str:
    lines = result.stdout.splitlines()
    assert lines[0].startswith("--- ") and "dry run: nothing stored or sent" in lines[0]
    return "\n".join(lines[1:])


def test_text_preview_stores_and_sends_nothing(
    config: Path, sqlite_url: str, slack: SlackStandIn
) -> None:
    body = preview_body(invoke(config, "--channel", "desk", "--dry-run", "--format", "text"))
    assert "Oracle leases 1 GW" in body and "Free GPUs" in body
    assert "Reported by" in body
    assert scalar(sqlite_url, "SELECT count(*) FROM digests") == 0
    assert slack.requests == 0


def test_slack_preview_is_block_kit_with_the_feed_text_inert(config: Path) -> None:
    body = preview_body(invoke(config, "--channel", "desk", "--dry-run", "--format", "slack"))
    messages = json.loads(body)
    assert messages and all(len(m["blocks"]) <= 50 for m in messages)
    text = json.dumps(messages, ensure_ascii=False)
    assert "<!channel>" not in text and "<https://evil.example" not in text
    assert "&lt;!channel&gt; Free GPUs &lt;https://evil.example|click&gt;" in text


def test_email_preview_and_html_file_escape_the_feed_text(config: Path, tmp_path: Path) -> None:
    html_file = tmp_path / "digest.html"
    result = invoke(
        config, "--channel", "mail", "--dry-run", "--format", "email", "--html", str(html_file)
    )
    message = email.message_from_string(preview_body(result), policy=email.policy.default)
    assert message.get_content_type() == "multipart/alternative"
    assert [part.get_content_type() for part in message.iter_parts()] == [
        "text/plain",
        "text/html",
    ]
    html = html_file.read_text(encoding="utf-8")
    assert "&lt;!channel&gt; Free GPUs &lt;https://evil.example|click&gt;" in html
    assert "<!channel>" not in html and 'href="https://evil.example' not in html
    plain = message.get_body(("plain",))
    assert plain is not None and EVIL_TITLE in plain.get_content()  # plain text shows it as is


def test_delivered_evil_title_is_inert_in_slack(
    config: Path, sqlite_url: str, slack: SlackStandIn
) -> None:
    result = invoke(config, "--channel", "desk")
    assert "desk: sent (2 stories)" in result.stdout
    assert slack.messages and slack.violations == []
    text = json.dumps(slack.messages, ensure_ascii=False)
    assert "&lt;!channel&gt; Free GPUs &lt;https://evil.example|click&gt;" in text
    assert "<!channel>" not in text
    assert scalar(sqlite_url, "SELECT count(*) FROM digests WHERE status = 'sent'") == 1
    again = invoke(config, "--channel", "desk")
    assert "desk: empty" in again.stdout and len(slack.messages) == 1


@pytest.mark.parametrize(
    "preview_option",
    [
        ["--channel", "desk", "--html", "{html}"],
        ["--format", "slack"],
        ["--format", "email", "--html", "{html}"],
    ],
)
def test_preview_options_without_dry_run_deliver_nothing_and_write_the_file(
    config: Path, sqlite_url: str, slack: SlackStandIn, tmp_path: Path, preview_option: list[str]
) -> None:
    html_file = tmp_path / "digest.html"
    args = [arg.replace("{html}", str(html_file)) for arg in preview_option]
    result = invoke(config, *args)  # no --dry-run
    assert slack.requests == 0 and slack.messages == []
    assert scalar(sqlite_url, "SELECT count(*) FROM digests") == 0
    assert "dry run: nothing stored or sent" in result.stdout
    if "--html" not in args:
        return
    # one channel: FILE itself; several: one file per channel beside it, each named on stderr
    expected = (
        [html_file]
        if "--channel" in args
        else [tmp_path / "digest.desk.html", tmp_path / "digest.mail.html"]
    )
    for path in expected:
        html = path.read_text(encoding="utf-8")
        assert "Oracle leases 1 GW" in html and html.lstrip().startswith("<!DOCTYPE html>")
        assert f"HTML written to {path}" in result.stderr


def test_help_says_preview_options_imply_a_dry_run(config: Path) -> None:
    result = CliRunner().invoke(cli, ["digest", "--help"])
    assert result.exit_code == 0
    help_text = " ".join(result.output.split())
    assert "--format and --html imply --dry-run" in help_text
