"""A rule file that cannot be used, as an operator meets it: every command that reads one ends in
one line naming the file and what is wrong (exit 2), as `newsbot check` does, not a traceback;
the daemon reads every channel's rule file at start and on reload, so a broken one stops the
start (or keeps the running configuration) instead of failing that channel's digests when they
come due, hours later."""

from __future__ import annotations

import asyncio
import logging
import subprocess
from pathlib import Path

import pytest
from support.daemon_proc import run_newsbot

from bot.config import load_config

BROKEN = "[[rule]]\nname = 'half a rule\n"  # an unterminated string: not TOML
FEED = "http://127.0.0.1:9/feed.xml"  # never fetched: the rules fail first


def email_channel(rules: Path | None = None) -> str:
    own_rules = f'rules = "{rules}"\n' if rules is not None else ""
    return (
        f'[[channels]]\nname = "desk"\ntype = "email"\n{own_rules}'
        '[channels.schedule]\ncron = "0 8 * * 1-5"\ntimezone = "UTC"\n'
        '[channels.email]\nhost = "127.0.0.1"\nport = 2525\ntls = "none"\n'
        'from = "newsbot@example.com"\nto = ["desk@example.com"]\n'
    )


def write_config(tmp_path: Path, *, rules: Path | None = None, channel: str) -> Path:
    top = f'rules = "{rules}"\n' if rules is not None else ""
    config = tmp_path / "newsbot.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\n{top}[daemon]\nhealth_port = 0\n'
        f'[[feeds]]\nurl = "{FEED}"\n{channel}',
        encoding="utf-8",
    )
    return config


def assert_one_rules_error(result: subprocess.CompletedProcess[str], rules: Path) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output, output
    lines = [line for line in output.splitlines() if line.strip()]
    assert lines == [lines[0]], output
    assert lines[0].startswith(f"newsbot: rules error: {rules}: expected valid TOML"), lines[0]


@pytest.mark.parametrize(
    "command", [["poll"], ["run"], ["digest", "--dry-run"], ["check"]], ids=" ".join
)
def test_a_broken_rule_file_ends_each_command_in_one_line(
    tmp_path: Path, command: list[str]
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(BROKEN, encoding="utf-8")
    config = write_config(tmp_path, rules=rules, channel=email_channel())
    assert_one_rules_error(run_newsbot(config, *command, timeout=60), rules)


@pytest.mark.parametrize("command", [["run"], ["digest", "--dry-run"]], ids=" ".join)
def test_a_broken_channel_rule_file_stops_the_daemon_at_start_and_the_digest(
    tmp_path: Path, command: list[str]
) -> None:
    """Before, the daemon started and ran with it: the channel's first digest would fail."""
    rules = tmp_path / "desk-rules.toml"
    rules.write_text(BROKEN, encoding="utf-8")
    config = write_config(tmp_path, channel=email_channel(rules))
    assert_one_rules_error(run_newsbot(config, *command, timeout=60), rules)


def test_a_reload_naming_a_broken_channel_rule_file_keeps_the_running_configuration(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.daemon.app import Daemon

    config = write_config(tmp_path, channel=email_channel())
    settings = load_config(config)
    daemon = Daemon(settings)
    try:
        rules = tmp_path / "desk-rules.toml"
        rules.write_text(BROKEN, encoding="utf-8")
        write_config(tmp_path, channel=email_channel(rules))
        with caplog.at_level(logging.INFO, logger="bot.daemon.app"):
            assert asyncio.run(daemon.reload()) is False
        assert daemon.settings is settings
        (refusal,) = [r.getMessage() for r in caplog.records if "not reloaded" in r.getMessage()]
        assert f"{rules}: expected valid TOML" in refusal

        rules.write_text('[[rule]]\nname = "lease"\nquery = "lease"\n', encoding="utf-8")
        assert asyncio.run(daemon.reload()) is True
        assert daemon.settings.channels[0].rules == str(rules)
    finally:
        daemon.pipeline.db.dispose()
