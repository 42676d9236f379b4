"""The `newsbot` command line (click): the group, its global options and command registration."""

from __future__ import annotations

import gc
import importlib
import sys
from pathlib import Path
from typing import Any

import click

from bot import __version__
from bot.cli.common import EXIT_CONFIG, AppContext, app, database_errors, fail
from bot.worker.memory import one_malloc_arena

# Commands other than the operator ones (bot.cli.commands), imported when they are run or listed
# in help: each pulls in what it alone needs (clustering replays, evaluation, OPML, the deal
# ledger), which `newsbot poll` from cron should not pay for at every start.
LAZY_COMMANDS = {
    "cluster": "bot.cli.cluster:cluster_command",
    "parse": "bot.cli.parse:parse_command",
    "match": "bot.cli.match:match_command",
    "feeds": "bot.cli.feeds:feeds_command",
    "eval": "bot.cli.eval:eval_command",
    "deals": "bot.cli.deals:deals_command",
}


class NewsbotGroup(click.Group):
    """The command group; a database connection lost in the middle of a command ends it with
    one line naming the database, as one that cannot be reached at its start does. Commands in
    LAZY_COMMANDS are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *LAZY_COMMANDS})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in LAZY_COMMANDS:
            module, attribute = LAZY_COMMANDS[cmd_name].split(":")
            command = getattr(importlib.import_module(module), attribute)
            assert isinstance(command, click.Command)
            _accept_config_after_commands(command)
            self.add_command(command, cmd_name)
        return command

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import DatabaseError

        from bot.storage.database import SchemaError, unusable_database

        try:
            return super().invoke(ctx)
        except (DatabaseError, SchemaError) as exc:
            settings = ctx.obj._settings if isinstance(ctx.obj, AppContext) else None
            if settings is None or (isinstance(exc, DatabaseError) and not unusable_database(exc)):
                raise
            with database_errors(settings.resolved_database_url):
                raise exc from None
        except ValueError as exc:
            # A rule file that cannot be used (the configured one, or a channel's) ends any
            # command in one line, as `newsbot check` says it. Only a command that read a rule
            # file can raise a RuleError, and it has imported the matcher then: looking it up
            # here spares every other command the import.
            rules = sys.modules.get("bot.matcher.rules")
            if rules is None or not isinstance(exc, rules.RuleError):
                raise
            fail(str(exc), code=EXIT_CONFIG, prefix="rules error")


@click.group(
    cls=NewsbotGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.option(
    "-c",
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="NEWSBOT_CONFIG",
    help="Configuration file (TOML). Default: $NEWSBOT_CONFIG, else built-in defaults.",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    help="Log level (default: the config's daemon.log_level, INFO).",
)
@click.option("--log-json", is_flag=True, help="Log one JSON object per line.")
@click.version_option(__version__, prog_name="newsbot")
@click.pass_context
def cli(
    ctx: click.Context, config_path: Path | None, log_level: str | None, log_json: bool
) -> None:
    """newsbot watches RSS/Atom feeds for compute deals, groups every outlet's report of an event
    into one story, and posts digests to Slack and email.

    \b
    Typical use:
      newsbot check -c newsbot.toml     validate a configuration
      newsbot poll -c newsbot.toml      fetch feeds once, store, match and cluster
      newsbot digest --dry-run          preview the next digest
      newsbot run -c newsbot.toml       run the daemon
      newsbot demo                      the whole pipeline on bundled feeds
    """
    ctx.obj = AppContext(config_path=config_path, log_level=log_level, log_json=log_json)


def main() -> None:
    one_malloc_arena()  # before any thread starts
    try:
        cli(prog_name="newsbot")
    finally:
        # The process ends here (click exits), and every object it made dies with it: the
        # interpreter's last garbage collections over the imported modules' objects took
        # 0.15 s, a fifteenth of a poll of 1,000 unchanged feeds. Frozen objects are still
        # freed; only the search for cycles among them is skipped.
        gc.freeze()


# Commands live in their own modules and register themselves on `cli` here.
from bot.cli import commands as _commands  # noqa: E402

_commands.register(cli)


def _config_after_command(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        app(ctx).config_path = value


def _accept_config_after_commands(command: click.Command) -> None:
    """`newsbot run -c FILE` works as well as `newsbot -c FILE run`: people type the option
    where they think of it, and a "No such option" there is a needless stumble."""
    if isinstance(command, click.Group):
        for subcommand in command.commands.values():
            _accept_config_after_commands(subcommand)
        if command is cli:
            return
    if not any(param.name == "config_path" for param in command.params):
        command.params.append(
            click.Option(
                ["-c", "--config", "config_path"],
                type=click.Path(dir_okay=False, path_type=Path),
                expose_value=False,
                callback=_config_after_command,
                help="Configuration file (TOML); same as the global -c.",
            )
        )


_accept_config_after_commands(cli)
