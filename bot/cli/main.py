"""The `newsbot` command line (click): the group, its global options and command registration."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from bot import __version__
from bot.cli.common import AppContext, app, database_errors


class NewsbotGroup(click.Group):
    """The command group; a database connection lost in the middle of a command ends it with
    one line naming the database, as one that cannot be reached at its start does."""

    def invoke(self, ctx: click.Context) -> Any:
        from sqlalchemy.exc import OperationalError

        try:
            return super().invoke(ctx)
        except OperationalError as exc:
            settings = ctx.obj._settings if isinstance(ctx.obj, AppContext) else None
            if settings is None:
                raise
            with database_errors(settings.resolved_database_url):
                raise exc from None


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
    cli(prog_name="newsbot")


# Commands live in their own modules and register themselves on `cli` here.
from bot.cli import commands as _commands  # noqa: E402

_commands.register(cli)
from bot.cli.cluster import cluster_command as _cluster_command  # noqa: E402

cli.add_command(_cluster_command)
from bot.cli.parse import parse_command as _parse_command  # noqa: E402

cli.add_command(_parse_command)
from bot.cli.match import match_command as _match_command  # noqa: E402

cli.add_command(_match_command)
from bot.cli.feeds import feeds_command as _feeds_command  # noqa: E402

cli.add_command(_feeds_command)
from bot.cli.eval import eval_command as _eval_command  # noqa: E402

cli.add_command(_eval_command)
from bot.cli.deals import deals_command as _deals_command  # noqa: E402

cli.add_command(_deals_command)


def _config_after_command(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    if value is not None:
        app(ctx).config_path = value


def _accept_config_after_commands(group: click.Group) -> None:
    """`newsbot run -c FILE` works as well as `newsbot -c FILE run`: people type the option
    where they think of it, and a "No such option" there is a needless stumble."""
    for command in group.commands.values():
        if isinstance(command, click.Group):
            _accept_config_after_commands(command)
        if any(param.name == "config_path" for param in command.params):
            continue
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
