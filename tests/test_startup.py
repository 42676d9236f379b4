"""A one-shot `newsbot poll` loads what a poll cycle uses, no more: not the digest, delivery and
scheduler stacks, nor the clustering engine and the parsers before something changed, nor
Alembic on a database already at the newest revision. And the migration files' newest revision,
read without Alembic, is Alembic's head."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from conftest import loaded_modules

from bot.cli.main import LAZY_COMMANDS, cli
from bot.storage.database import (
    Database,
    alembic_config,
    current_revision,
    head_revision,
    upgrade_schema,
)

# What a poll cycle with nothing new never needs.
NOT_FOR_A_POLL = [
    "alembic",
    "apscheduler",
    "bot.clustering.engine",
    "bot.digest.render",
    "bot.integration.slack",
    "bot.reader.parser.feed",
    "bot.worker.digests",
    "bot.worker.outbox",
    "jinja2",
    "rich",
    "slack_sdk",
    # the partial index names only its SQLite form in the models (issue 21: 17 ms)
    "sqlalchemy.dialects.postgresql",
]


def test_a_poll_with_nothing_new_loads_only_the_poll_cycle(tmp_path: Path) -> None:
    """Build the pipeline as `newsbot poll` does, on a database at the newest revision, and run
    a cycle in which the only feed cannot be reached: nothing is parsed, stored or clustered."""
    database = tmp_path / "newsbot.db"
    upgrade_schema(Database(f"sqlite:///{database}"))
    config = tmp_path / "newsbot.toml"
    config.write_text(
        f'database_url = "sqlite:///{database}"\n'
        '[fetch]\nallow_private_networks = true\n[[feeds]]\nurl = "http://127.0.0.1:9/feed.xml"\n',
        encoding="utf-8",
    )
    modules = loaded_modules(
        "import asyncio\n"
        "import bot.cli.main\n"
        "from bot.cli.common import AppContext\n"
        "from bot.daemon.pipeline import build_pipeline\n"
        f"context = AppContext(config_path={str(config)!r}, log_level=None, log_json=False)\n"
        "pipeline = build_pipeline(context.settings(), db=context.database(), upgrade=False)\n"
        "report = asyncio.run(pipeline.poller.poll(force=True))\n"
        "assert report.outcome_counts['error'] == 1, report.summary()\n"
    )
    assert "bot.worker.poll" in modules  # the script did poll
    assert sorted(name for name in NOT_FOR_A_POLL if name in modules) == []


def test_commands_loaded_on_demand_still_run_and_take_the_config_after_them(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    listing = runner.invoke(cli, ["--help"])
    assert listing.exit_code == 0
    for name in LAZY_COMMANDS:
        assert f"  {name} " in listing.output
    config = tmp_path / "newsbot.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n', encoding="utf-8")
    # `feeds` is loaded on demand, and `-c` after it works as after any other command.
    result = runner.invoke(cli, ["feeds", "--json", "-c", str(config)])
    assert result.exit_code == 0, result.output


def test_head_revision_is_alembics_head() -> None:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revision() == script.get_current_head()


def test_a_database_at_head_is_not_migrated_again_and_a_new_one_is(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'newsbot.db'}"
    upgrade_schema(Database(url))  # a new database: created by Alembic
    assert current_revision(Database(url)) == head_revision()
    modules = loaded_modules(
        "from bot.storage.database import Database, upgrade_schema\n"
        f"upgrade_schema(Database({url!r}))\n"
    )
    assert "bot.storage.database" in modules
    assert "alembic" not in modules
