"""Secrets and values an operator writes (issue 17): `${VAR}` in `database_url` is expanded, wrong
types and addresses are configuration errors naming file and key (no tracebacks), and channel
secrets are resolved only where they are used, so read-only commands run without them while
`check` and `run` still name every one that is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy.engine import make_url

from bot.cli.main import cli
from bot.config import ConfigError, load_config

SLACK_AND_EMAIL = """
[[channels]]
name = "desk"
type = "slack"
[channels.slack]
webhook_url_env = "NEWSBOT_TEST_UNSET_WEBHOOK"

[[channels]]
name = "mail"
type = "email"
[channels.email]
host = "127.0.0.1"
port = 2525
tls = "none"
username = "newsbot"
password = "${NEWSBOT_TEST_UNSET_PASSWORD}"
from = "newsbot <bot@example.test>"
to = ["desk@example.test"]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "newsbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def newsbot(config: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    """`newsbot -c CONFIG ARGS...` as a process in the config's folder: exit status and
    everything it printed."""
    result = subprocess.run(
        [sys.executable, "-m", "bot", "-c", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=config.parent,
        env={**os.environ, **(env or {})},
    )
    return result.returncode, result.stdout + result.stderr


# --- 3: ${VAR} in database_url ---------------------------------------------------------------


def test_database_url_variables_are_expanded_and_the_password_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEWSBOT_TEST_DB_PASSWORD", "pa:ss/w@rd")
    monkeypatch.setenv("NEWSBOT_TEST_DB_HOST", "db.internal")
    config = write(
        tmp_path,
        'database_url = "postgresql+psycopg://newsbot:${NEWSBOT_TEST_DB_PASSWORD}'
        '@${NEWSBOT_TEST_DB_HOST}:5432/newsbot"\n',
    )
    url = make_url(load_config(config).resolved_database_url)
    assert url.password == "pa:ss/w@rd"  # a password with URL delimiters survives intact
    assert url.host == "db.internal" and url.database == "newsbot" and url.port == 5432
    result = CliRunner().invoke(cli, ["check", str(config)])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)["database_url"]
    assert shown == "postgresql+psycopg://newsbot:***@db.internal:5432/newsbot"
    assert "pa:ss" not in result.output


def test_an_expanded_database_url_is_the_database_used(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = tmp_path / "elsewhere" / "bot.db"
    config = write(tmp_path, 'database_url = "sqlite:///${NEWSBOT_TEST_DB_FILE}"\n')
    code, output = newsbot(config, "db", "upgrade", env={"NEWSBOT_TEST_DB_FILE": str(database)})
    assert code == 0, output
    assert database.is_file()
    assert not (tmp_path / "${NEWSBOT_TEST_DB_FILE}").exists()


def test_an_unset_database_url_variable_names_file_key_and_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEWSBOT_TEST_UNSET_DB_PASSWORD", raising=False)
    config = write(
        tmp_path,
        'database_url = "postgresql+psycopg://newsbot:${NEWSBOT_TEST_UNSET_DB_PASSWORD}@db/x"\n',
    )
    with pytest.raises(ConfigError) as info:
        load_config(config)
    message = str(info.value)
    assert str(config) in message
    assert "database_url" in message and "NEWSBOT_TEST_UNSET_DB_PASSWORD" in message
    code, output = newsbot(config, "stories")
    assert code == 2
    assert "NEWSBOT_TEST_UNSET_DB_PASSWORD" in output and "Traceback" not in output


# --- 4: types and addresses are validated at load -------------------------------------------

EMAIL_CHANNEL = """
[[channels]]
name = "mail"
type = "email"
[channels.email]
host = "smtp.example.com"
{line}
from = {sender}
to = {to}
"""


@pytest.mark.parametrize(
    ("line", "sender", "to", "key"),
    [
        ("password = 98765432", '"bot@example.com"', '["a@example.com"]', "email.password"),
        ("username = 12", '"bot@example.com"', '["a@example.com"]', "email.username"),
        ("", '"not-an-address"', '["a@example.com"]', "email.from"),
        ("", '"newsbot <bot@>"', '["a@example.com"]', "email.from"),
        ("", '"bot@example.com"', '["a@example.com, b@example.com"]', "email.to[0]"),
        ("", '"bot@example.com"', '["desk"]', "email.to[0]"),
        ("", "7", '["a@example.com"]', "email.from"),
    ],
)
def test_wrong_types_and_addresses_exit_2_naming_file_and_key(
    tmp_path: Path, line: str, sender: str, to: str, key: str
) -> None:
    config = write(tmp_path, EMAIL_CHANNEL.format(line=line, sender=sender, to=to))
    code, output = newsbot(config, "check")
    assert code == 2, output
    assert "Traceback" not in output
    assert f"{config}: channels[0].{key}:" in output, output


@pytest.mark.parametrize(
    "line", ["webhook_url = 5", "webhook_url_env = 5", 'bot_token = ["x"]\nchannel = "C1"']
)
def test_wrong_slack_secret_types_exit_2_naming_the_key(tmp_path: Path, line: str) -> None:
    config = write(
        tmp_path, f'[[channels]]\nname = "s"\ntype = "slack"\n[channels.slack]\n{line}\n'
    )
    code, output = newsbot(config, "check")
    assert code == 2, output
    assert "Traceback" not in output
    assert f"{config}: channels[0].slack." in output, output


# --- 8: secrets are resolved where they are used --------------------------------------------


def test_read_only_commands_run_without_channel_secrets(tmp_path: Path) -> None:
    config = write(tmp_path, f'data_dir = "{tmp_path}"\n' + SLACK_AND_EMAIL)
    for command in (
        ["stories"],
        ["digests"],
        ["feeds"],
        ["digest", "--dry-run"],
        ["db", "upgrade"],
    ):
        code, output = newsbot(config, *command)
        assert code == 0, (command, output)
        assert "NEWSBOT_TEST_UNSET" not in output, (command, output)


def test_check_and_run_name_every_missing_secret(tmp_path: Path) -> None:
    config = write(tmp_path, f'data_dir = "{tmp_path}"\n' + SLACK_AND_EMAIL)
    for command in (["check"], ["run"], ["digest"]):
        code, output = newsbot(config, *command)
        assert code == 2, (command, output)
        assert "Traceback" not in output
        assert f"{config}: channels[0].slack.webhook_url_env:" in output, output
        assert "NEWSBOT_TEST_UNSET_WEBHOOK" in output
        assert f"{config}: channels[1].email.password:" in output, output
        assert "NEWSBOT_TEST_UNSET_PASSWORD" in output


def test_secrets_given_in_the_environment_are_used(tmp_path: Path) -> None:
    config = write(tmp_path, f'data_dir = "{tmp_path}"\n' + SLACK_AND_EMAIL)
    code, output = newsbot(
        config,
        "check",
        env={
            "NEWSBOT_TEST_UNSET_WEBHOOK": "https://hooks.slack.com/services/T/B/check-me-1234",
            "NEWSBOT_TEST_UNSET_PASSWORD": "smtp-secret-5678",
        },
    )
    assert code == 0, output
    assert "check-me-1234" not in output and "smtp-secret-5678" not in output


def test_a_secret_variable_that_is_not_a_url_is_reported_by_check(tmp_path: Path) -> None:
    config = write(tmp_path, f'data_dir = "{tmp_path}"\n' + SLACK_AND_EMAIL)
    code, output = newsbot(
        config,
        "check",
        env={"NEWSBOT_TEST_UNSET_WEBHOOK": "not a url", "NEWSBOT_TEST_UNSET_PASSWORD": "pw"},
    )
    assert code == 2, output
    assert "channels[0].slack.webhook_url_env:" in output and "https://" in output


def test_sighup_keeps_the_configuration_when_the_new_one_names_a_missing_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A reload reads the file again but not the environment: a channel secret the daemon's
    environment lacks is refused as at start (`newsbot run`), not a delivery failing later."""
    import asyncio
    import logging

    from bot.daemon.app import Daemon

    monkeypatch.setenv("NEWSBOT_TEST_SET_WEBHOOK", "https://hooks.slack.example/services/T/B/x")
    base = f'data_dir = "{tmp_path}"\n[[feeds]]\nurl = "https://a.example/rss"\n'
    channel = '[[channels]]\nname = "desk"\ntype = "slack"\n[channels.slack]\n'
    config = write(tmp_path, base + channel + 'webhook_url_env = "NEWSBOT_TEST_SET_WEBHOOK"\n')
    settings = load_config(config)
    daemon = Daemon(settings)
    try:
        config.write_text(
            base + channel + 'webhook_url_env = "NEWSBOT_TEST_UNSET_WEBHOOK"\n', encoding="utf-8"
        )
        with caplog.at_level(logging.INFO, logger="bot.daemon.app"):
            assert asyncio.run(daemon.reload()) is False
        assert daemon.settings is settings
        (refusal,) = [r.getMessage() for r in caplog.records if "not reloaded" in r.getMessage()]
        assert "channels[0].slack.webhook_url" in refusal
        assert "NEWSBOT_TEST_UNSET_WEBHOOK" in refusal

        moved = base.replace("a.example", "b.example")  # the secret set: reloaded
        config.write_text(
            moved + channel + 'webhook_url_env = "NEWSBOT_TEST_SET_WEBHOOK"\n', encoding="utf-8"
        )
        assert asyncio.run(daemon.reload()) is True
        assert [feed.url for feed in daemon.settings.feeds] == ["https://b.example/rss"]
    finally:
        daemon.pipeline.db.dispose()
