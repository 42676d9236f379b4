"""What an operator sees when a command is given a value it cannot use: a number too large, an
output path in a missing folder, a file that is not UTF-8, a URL of another scheme, a digest id
that does not exist, an item field of the wrong type, a configuration that is not there. Each
ends in one line naming the option, file or line and what was expected, with a non-zero exit,
never a traceback."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from support.digests import StoryStore, slack_channel_toml
from support.slack_stand_in import SlackStandIn

from bot.cli.main import cli
from bot.storage.database import Database

HUGE = "99999999999999999999999"


@pytest.fixture
def config(sqlite_url: str, tmp_path: Path) -> Path:
    path = tmp_path / "newsbot.toml"
    path.write_text(f'database_url = "{sqlite_url}"\ndata_dir = "{tmp_path}"\n', encoding="utf-8")
    assert newsbot(path, "db", "upgrade").exit_code == 0
    return path


def newsbot(config: Path | None, *args: str) -> Result:
    return CliRunner().invoke(cli, [*(["-c", str(config)] if config else []), *args])


@pytest.mark.parametrize(
    ("command", "option"),
    [
        (["stories", "--limit", HUGE], "'--limit'"),
        (["digests", "--limit", HUGE], "'--limit'"),
        (["digests", "--resend", HUGE], "'--resend'"),
        (["deals", "--since", "99999999d"], "--since"),
        (["deals", "--since", HUGE + "h"], "--since"),
    ],
)
def test_a_number_too_large_is_a_usage_error_naming_the_option(
    config: Path, command: list[str], option: str
) -> None:
    result = newsbot(config, *command)
    assert result.exit_code == 2, (result.output, result.exception)
    assert option in result.output
    assert "range" in result.output or "before the year 1" in result.output


def test_listings_take_the_largest_limit_allowed(config: Path) -> None:
    assert "no stories yet" in newsbot(config, "stories", "--limit", "1000000").output
    assert "no digests yet" in newsbot(config, "digests", "--limit", "1000000").output


def write_lines(path: Path, *lines: str | bytes) -> Path:
    path.write_bytes(b"".join((x.encode() if isinstance(x, str) else x) + b"\n" for x in lines))
    return path


@pytest.fixture
def channel_config(config: Path) -> Path:
    with config.open("a", encoding="utf-8") as out:
        out.write(slack_channel_toml("desk", webhook_url="http://127.0.0.1:1/hook"))
    return config


@pytest.mark.parametrize("command", ["digest", "feeds export", "cluster", "demo"])
def test_an_output_path_in_a_missing_folder_fails_in_one_line(
    channel_config: Path, tmp_path: Path, command: str
) -> None:
    missing = tmp_path / "missing"
    items = write_lines(tmp_path / "items.jsonl", '{"id": "a", "title": "Oracle leases a GW"}')
    args, option = {
        "digest": (["digest", "--html", str(missing / "x.html")], "--html"),
        "feeds export": (["feeds", "export", "-o", str(missing / "x.opml")], "--output"),
        "cluster": (["cluster", "--input", str(items), "--output", str(missing / "o")], "--output"),
        # a folder inside a regular file cannot be made
        "demo": (["demo", "--out", str(items / "demo")], "--out"),
    }[command]
    result = newsbot(channel_config, *args)
    assert result.exit_code == 1, (result.output, result.exception)
    [line] = result.stderr.splitlines()
    assert line.startswith(f"newsbot: error: {option}: cannot ") and f"'{args[-1]}'" in line
    assert not missing.exists()


def test_match_input_that_is_not_utf8_is_an_input_error(tmp_path: Path) -> None:
    source = write_lines(tmp_path / "items.jsonl", '{"id": 1, "title": "ok"}', b"\xff\xfe{}")
    output = tmp_path / "out.jsonl"
    result = newsbot(None, "match", "--input", str(source), "--output", str(output))
    assert result.exit_code == 2, (result.output, result.exception)
    assert result.stderr == f"newsbot: input error: {source}: not UTF-8 text (invalid start byte)\n"
    assert not output.exists()
    # said as `newsbot cluster` says it
    clustered = newsbot(None, "cluster", "--input", str(source), "--output", str(output))
    assert f"{source}: not UTF-8 text (invalid start byte)" in clustered.stderr


def test_parse_names_a_url_of_another_scheme_as_such(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text(
        '<rss version="2.0"><channel><title>T</title><item><title>Oracle leases a GW</title>'
        "<link>https://example.com/a</link></item></channel></rss>",
        encoding="utf-8",
    )
    result = newsbot(None, "parse", "ftp://reader:secret@example.com/feed.xml", str(feed))
    assert result.exit_code == 1
    assert result.stderr == (
        "newsbot parse: ftp://reader:***@example.com/feed.xml: unsupported URL scheme 'ftp' "
        "(expected http or https, or a file path)\n"
    )
    assert "Oracle leases a GW" in result.stdout  # the next target is still read
    missing = newsbot(None, "parse", str(tmp_path / "none.xml"))
    assert missing.stderr.endswith("cannot read: No such file or directory\n")


def add_story(db_url: str, headline: str) -> None:
    db = Database(db_url)
    try:
        StoryStore(db, datetime.now(UTC)).add(headline, ["Reuters", "Bloomberg"])
    finally:
        db.dispose()


def test_resending_a_digest_that_does_not_exist_says_so(
    config: Path, sqlite_url: str, slack: SlackStandIn
) -> None:
    with config.open("a", encoding="utf-8") as out:
        out.write(slack_channel_toml("desk", webhook_url=slack.webhook_url))
    result = newsbot(config, "digests", "--resend", "1")
    assert result.exit_code == 1
    assert result.stderr == "newsbot: error: no digest #1 (see `newsbot digests`)\n"
    assert newsbot(config, "digests", "--resend", "0").exit_code == 2  # ids start at 1

    add_story(sqlite_url, "Oracle leases 1 GW of Stargate capacity to OpenAI")
    assert "desk: sent (1 story)" in newsbot(config, "digest").stdout
    sent = newsbot(config, "digests", "--resend", "1")
    assert sent.exit_code == 1
    assert "digest #1 is sent, not one whose delivery is unknown" in sent.stderr
    assert len(slack.messages) == 1


@pytest.mark.parametrize(
    ("command", "record", "message"),
    [
        ("cluster", {"id": "a", "title": 5}, "'title' must be a string, got 5"),
        ("cluster", {"id": "a", "title": "T", "url": ["u"]}, "'url' must be a string, got ['u']"),
        ("eval", {"id": "a", "title": 5, "cluster_id": "s"}, "'title' must be a string, got 5"),
        (
            "eval",
            {"id": "a", "title": "T", "cluster_id": ["a"]},
            "'cluster_id' must be a string or number, got ['a']",
        ),
    ],
)
def test_an_item_field_of_the_wrong_type_is_named_with_its_value(
    tmp_path: Path, command: str, record: dict[str, object], message: str
) -> None:
    good = {"id": "first", "title": "Oracle leases 1 GW", "cluster_id": "s"}
    source = write_lines(tmp_path / "items.jsonl", json.dumps(good), json.dumps(record))
    output = ["--output", str(tmp_path / "o")]
    args = ["--input", str(source), *output] if command == "cluster" else [str(source)]
    result = newsbot(None, command, *args)
    assert result.exit_code != 0
    assert result.stderr == f"newsbot: input error: {source}:2: {message}\n"


def test_digest_exits_1_when_a_channel_s_digest_was_not_delivered(
    config: Path, sqlite_url: str, slack: SlackStandIn
) -> None:
    with config.open("a", encoding="utf-8") as out:
        out.write(slack_channel_toml("late", webhook_url=slack.webhook_url))
        out.write(slack_channel_toml("desk", webhook_url=slack.webhook_url))
    add_story(sqlite_url, "Oracle leases 1 GW of Stargate capacity to OpenAI")
    slack.fail_next(1, status=429, retry_after=600)  # "late", the first channel: a retry later

    result = newsbot(config, "digest")
    assert result.exit_code == 1, result.output
    assert "late: queued (1 story): " in result.stdout  # both channels reported
    assert "desk: sent (1 story)" in result.stdout
    assert len(slack.messages) == 1

    again = newsbot(config, "digest", "--channel", "desk")  # nothing new, nothing undelivered
    assert again.exit_code == 0, again.output
    assert "desk: empty" in again.stdout
    # Nothing new for "late" either, but its digest still waits for its retry: cron hears it.
    late = newsbot(config, "digest", "--channel", "late")
    assert late.exit_code == 1, late.output
    assert "late: empty (0 stories); 1 earlier digest still undelivered" in late.stdout
    assert (
        "exits 1 when a channel's digest was not delivered"
        in " ".join(newsbot(None, "digest", "--help").stdout.split()).lower()
    )


@pytest.mark.parametrize("command", ["poll", "digest", "run"])
def test_a_configuration_error_is_said_once(tmp_path: Path, command: str) -> None:
    missing = tmp_path / "nonexist.toml"
    result = newsbot(missing, command)
    assert result.exit_code == 2
    assert result.stderr == (
        f"newsbot: configuration error: {missing}: configuration file not found\n"
    )


def sparse(path: Path, size: int) -> Path:
    """A file of `size` zero bytes, taking no room on disk (no line break in it)."""
    with path.open("wb") as file:
        file.truncate(size)
    return path


MIB = 1024 * 1024


@pytest.mark.parametrize(
    ("command", "size", "expected"),
    [
        (["match", "--input", "{file}", "--output", "-"], 17 * MIB, "line 1: longer than 16 MiB"),
        (["cluster", "--input", "{file}", "--output", "{tmp}/o.jsonl"], 17 * MIB, "longer than"),
        (["eval", "{file}"], 17 * MIB, "line 1: longer than 16 MiB"),
        (["parse", "{file}"], 11 * MIB, "cannot read: larger than 10 MiB"),
        (["feeds", "import", "{file}"], 65 * MIB, "larger than 64 MiB"),
    ],
    ids=["match", "cluster", "eval", "parse", "feeds import"],
)
def test_a_huge_local_input_is_refused_after_reading_a_bounded_part(
    config: Path, tmp_path: Path, command: list[str], size: int, expected: str
) -> None:
    """Before, `--input /dev/zero` or a disk image named by mistake was read until memory ran
    out (8 to 20 GB in 20 s)."""
    file = sparse(tmp_path / "huge", size)
    args = [part.replace("{file}", str(file)).replace("{tmp}", str(tmp_path)) for part in command]
    result = newsbot(config, *args)
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert expected in result.output and str(file) in result.output, result.output
