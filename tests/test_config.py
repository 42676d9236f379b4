"""Configuration loading: defaults, secrets from the environment, and errors naming file and key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from bot.config import ConfigError, load_config, load_config_text
from bot.config.loader import masked_dump

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "config" / "newsbot.example.toml"


def test_defaults_without_a_file() -> None:
    settings = load_config_text("", "<defaults>")
    assert settings.poll_interval == 900
    assert settings.resolved_database_url.startswith("sqlite:///")
    assert settings.resolved_database_url.endswith("newsbot.db")
    assert settings.rules.name == "compute-deals.toml"
    assert settings.rules.is_file()


def test_example_config_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_SLACK_WEBHOOK", "https://hooks.slack.com/services/T0/B0/secretpart")
    monkeypatch.setenv("NEWSBOT_SMTP_PASSWORD", "hunter2-smtp")
    settings = load_config(EXAMPLE)
    names = [channel.name for channel in settings.channels]
    assert names == ["deals-slack", "deals-email"]
    slack = settings.channel("deals-slack").slack
    assert slack is not None
    webhook = slack.resolved_webhook_url()  # resolved where it is used
    assert webhook is not None and webhook.get_secret_value().endswith("secretpart")
    assert settings.channel("deals-email").schedule.timezone == "America/New_York"
    # paths are resolved against the file's folder
    assert settings.rules == (ROOT / "config" / "rules" / "compute-deals.toml").resolve()


def test_secrets_are_masked_in_the_dump(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSBOT_SLACK_WEBHOOK", "https://hooks.slack.com/services/T0/B0/secretpart")
    monkeypatch.setenv("NEWSBOT_SMTP_PASSWORD", "hunter2-smtp")
    dumped = json.dumps(masked_dump(load_config(EXAMPLE)), default=str)
    assert "secretpart" not in dumped
    assert "hunter2-smtp" not in dumped
    assert "********" in dumped


def test_check_command_prints_resolved_config_with_masked_secrets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEWSBOT_SLACK_WEBHOOK", "https://hooks.slack.com/services/T0/B0/secretpart")
    monkeypatch.setenv("NEWSBOT_SMTP_PASSWORD", "hunter2-smtp")
    result = CliRunner().invoke(cli, ["check", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert "secretpart" not in result.output
    assert '"poll_interval": 900' in result.output


def _error(text: str, tmp_path: Path) -> str:
    file = tmp_path / "newsbot.toml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(file)
    message = str(info.value)
    assert str(file) in message  # every error names the file
    return message


def test_error_names_nested_key_and_expectation(tmp_path: Path) -> None:
    message = _error(
        """
[[channels]]
name = "mail"
type = "email"
[channels.email]
host = "smtp.example.com"
port = 70000
from = "a@example.com"
to = ["b@example.com"]
""",
        tmp_path,
    )
    assert "channels[0].email.port" in message
    assert "65535" in message


def test_unknown_key_is_reported(tmp_path: Path) -> None:
    message = _error("pol_interval = 60\n", tmp_path)
    assert "pol_interval" in message and "unknown key" in message


def test_bad_timezone_and_cron(tmp_path: Path) -> None:
    message = _error(
        """
[[channels]]
name = "s"
type = "slack"
[channels.slack]
webhook_url = "https://hooks.slack.com/services/x"
[channels.schedule]
cron = "61 8 * * *"
timezone = "Mars/Olympus"
""",
        tmp_path,
    )
    assert "channels[0].schedule.cron" in message
    assert "channels[0].schedule.timezone" in message
    assert "IANA" in message


def test_slack_timeout_and_database_retry_delay_default_and_bounds(tmp_path: Path) -> None:
    slack = (
        '[[channels]]\nname = "s"\ntype = "slack"\n[channels.slack]\nwebhook_url = "https://x"\n'
    )
    settings = load_config_text(slack, "<test>")
    assert settings.channels[0].slack is not None and settings.channels[0].slack.timeout == 10
    assert settings.daemon.db_retry_delay == 1.0
    message = _error(slack + "timeout = 0\n[daemon]\ndb_retry_delay = 0\n", tmp_path)
    assert "channels[0].slack.timeout" in message and "daemon.db_retry_delay" in message


def test_missing_secret_variable_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NO_SUCH_WEBHOOK_VAR", raising=False)
    file = tmp_path / "newsbot.toml"
    file.write_text(
        '[[channels]]\nname = "s"\ntype = "slack"\n'
        '[channels.slack]\nwebhook_url_env = "NO_SUCH_WEBHOOK_VAR"\n',
        encoding="utf-8",
    )
    # Read without the secret (commands that deliver nothing need none); `check` names it.
    assert load_config(file).secret_problems() == [
        f"{file}: channels[0].slack.webhook_url_env: "
        "environment variable NO_SUCH_WEBHOOK_VAR is not set"
    ]
    result = CliRunner().invoke(cli, ["check", str(file)])
    assert result.exit_code == 2
    assert "NO_SUCH_WEBHOOK_VAR" in result.output


def test_bad_feed_url_and_toml_syntax(tmp_path: Path) -> None:
    message = _error('[[feeds]]\nurl = "ftp://example.com/feed"\n', tmp_path)
    assert "feeds[0].url" in message and "http" in message
    message = _error("poll_interval = = 3\n", tmp_path)
    assert "not valid TOML" in message


def test_the_fetch_policy_switch_is_off_by_default_and_a_real_boolean(tmp_path: Path) -> None:
    file = tmp_path / "plain.toml"
    file.write_text("poll_interval = 900\n", encoding="utf-8")
    assert load_config(file).fetch.allow_private_networks is False
    message = _error('[fetch]\nallow_private_networks = "yes"\n', tmp_path)
    assert "fetch.allow_private_networks" in message and "boolean" in message
    file.write_text("[fetch]\nallow_private_networks = true\n", encoding="utf-8")
    assert load_config(file).fetch.allow_private_networks is True


def test_missing_file_and_check_exit_code(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("poll_interval = 5\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(bad)])
    assert result.exit_code == 2
    assert "poll_interval" in result.output


def test_plain_smtp_only_on_localhost(tmp_path: Path) -> None:
    message = _error(
        """
[[channels]]
name = "mail"
type = "email"
[channels.email]
host = "smtp.example.com"
tls = "none"
from = "a@example.com"
to = ["b@example.com"]
""",
        tmp_path,
    )
    assert "localhost" in message


@pytest.mark.parametrize("where", ["before", "after"])
def test_config_option_works_before_or_after_the_command(where: str, tmp_path: Path) -> None:
    config = tmp_path / "newsbot.toml"
    config.write_text("poll_interval = 1234\n", encoding="utf-8")
    args = ["-c", str(config), "check"] if where == "before" else ["check", "-c", str(config)]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 0, result.output
    assert '"poll_interval": 1234' in result.output
    # a wrong file is an error naming it, wherever the option is given
    missing = str(tmp_path / "missing.toml")
    args = ["-c", missing, "check"] if where == "before" else ["check", "-c", missing]
    result = CliRunner().invoke(cli, args)
    assert result.exit_code == 2 and "missing.toml" in result.output


def test_check_warns_of_a_poll_interval_below_min_interval_and_no_feeds_or_channels(
    tmp_path: Path,
) -> None:
    file = tmp_path / "newsbot.toml"
    file.write_text("poll_interval = 60\n[fetch]\nmin_interval = 300\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(file)])
    assert result.exit_code == 0, result.output  # valid, but probably not what was meant
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 3, result.stderr
    interval, feeds, channels = warnings
    assert str(file) in interval and "poll_interval = 60" in interval
    assert "fetch.min_interval = 300" in interval
    assert str(file) in feeds and "no [[feeds]]" in feeds
    assert str(file) in channels and "no [[channels]]" in channels

    file.write_text(
        'poll_interval = 600\n[[feeds]]\nurl = "https://a.example/rss"\n'
        '[[channels]]\nname = "desk"\ntype = "slack"\n'
        '[channels.slack]\nwebhook_url = "https://hooks.slack.example/T/B/x"\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["check", str(file)])
    assert result.exit_code == 0 and "warning" not in result.stderr


def test_poll_logs_the_same_warnings(tmp_path: Path) -> None:
    file = tmp_path / "newsbot.toml"
    file.write_text(
        f'data_dir = "{tmp_path}"\npoll_interval = 60\n[fetch]\nmin_interval = 300\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["poll", "-c", str(file)])
    assert result.exit_code == 2  # nothing to poll
    assert "poll_interval = 60 is below fetch.min_interval = 300" in result.stderr
    assert "no [[channels]] configured" in result.stderr


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://exa mple.com/feed", "got one with a space in it"),
        ("http://[::1/feed", "cannot be read (Invalid IPv6 URL)"),
        ("https://user:pw@/feed", "got one without a host"),
        ("http://example.com:99999/feed", "cannot be read (Port out of range 0-65535)"),
        ("http://example.com:0/feed", "got one with port 0"),
        ("ftp://example.com/feed", "expected an http:// or https:// URL"),
        ("https://example.com/feed?key=${FEED_KEY}", "${...} is not expanded in feed URLs"),
    ],
)
def test_a_feed_url_that_cannot_be_fetched_is_refused(
    tmp_path: Path, url: str, expected: str
) -> None:
    """Before, these passed `newsbot check` and failed every poll, as dns or bad_scheme (port
    99999 as "DNS lookup failed"), or were fetched with a literal "${FEED_KEY}" in them."""
    message = _error(f'[[feeds]]\nurl = "{url}"\n', tmp_path)
    assert "feeds[0].url: " in message and expected in message
    assert ":pw@" not in message


def test_an_opml_outline_whose_url_cannot_be_fetched_is_skipped_with_the_reason() -> None:
    from bot.reader.opml import parse_opml

    result = parse_opml(
        b'<opml version="2.0"><body>'
        b'<outline text="Spaced" xmlUrl="https://exa mple.com/feed"/>'
        b'<outline text="Port" xmlUrl="http://example.com:99999/feed"/>'
        b'<outline text="Fine" xmlUrl="https://example.com/feed"/>'
        b"</body></opml>"
    )
    assert [feed.url for feed in result.feeds] == ["https://example.com/feed"]
    assert result.skipped[0].startswith("Spaced: not a feed URL: ") and "space" in result.skipped[0]
    assert (
        result.skipped[1].startswith("Port: not a feed URL: ")
        and "Port out of range" in (result.skipped[1])
    )


CHANNEL = """
[[channels]]
name = "desk"
type = "email"
{channel}
[channels.schedule]
cron = "{cron}"
timezone = "UTC"
[channels.email]
host = "127.0.0.1"
port = 25
tls = "none"
from = "a@example.com"
to = ["b@example.com"]
{email}
"""


@pytest.mark.parametrize(
    ("text", "key", "expected"),
    [
        ("threshold = -1\n", "threshold", "greater than or equal to 0"),
        ("threshold = nan\n", "threshold", "finite number"),
        (
            CHANNEL.format(channel="threshold = -0.5", cron="0 8 * * 1-5", email=""),
            "channels[0].threshold",
            "greater than or equal to 0",
        ),
        (
            CHANNEL.format(channel="breaking_min_score = -1", cron="0 8 * * 1-5", email=""),
            "channels[0].breaking_min_score",
            "greater than or equal to 0",
        ),
        (
            CHANNEL.format(channel="", cron="0 8 31 2 *", email=""),
            "channels[0].schedule.cron",
            "expected a cron expression that fires, got '0 8 31 2 *' (it never does)",
        ),
        (
            CHANNEL.format(
                channel="", cron="0 8 * * 1-5", email='password = "pw"\npassword_env = "SMTP_PW"'
            ),
            "channels[0].email",
            "expected password or password_env, not both",
        ),
    ],
    ids=["threshold below 0", "threshold nan", "channel threshold", "breaking score", "cron", "pw"],
)
def test_values_that_would_be_silently_wrong_are_refused(
    tmp_path: Path, text: str, key: str, expected: str
) -> None:
    """Before, each was accepted: a negative threshold let every entry through, a schedule on
    the 31st of February never sent, and of two passwords one won without a word."""
    message = _error(text, tmp_path)
    assert f": {key}: " in message and expected in message, message


def test_a_huge_file_given_as_the_configuration_is_refused_unread(tmp_path: Path) -> None:
    """Before, `-c /dev/zero` (or a disk image named by mistake) read until memory ran out."""
    huge = tmp_path / "image.toml"
    with huge.open("wb") as file:
        file.truncate(17 * 1024 * 1024)  # sparse: 17 MiB of zero bytes
    with pytest.raises(ConfigError) as info:
        load_config(huge)
    assert str(info.value) == f"{huge}: expected a configuration file, got more than 16 MiB"
