"""Shared CLI plumbing: the context object, config loading with clear errors, logging."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import click
from sqlalchemy.exc import DatabaseError

from bot.config import ConfigError, Settings, load_config
from bot.storage.database import (
    Database,
    SchemaError,
    connection_problem,
    unusable_database,
    upgrade_schema,
)
from bot.text.redaction import masked_database_url

EXIT_CONFIG = 2
# A command stopped by Ctrl-C (128 + SIGINT), as shells report it.
EXIT_INTERRUPTED = 130


@dataclass
class AppContext:
    config_path: Path | None
    log_level: str | None
    log_json: bool
    _settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_config(self.config_path)
            except ConfigError as exc:
                fail(str(exc), code=EXIT_CONFIG, prefix="configuration error")
        return self._settings

    def require_secrets(self) -> Settings:
        """The settings, after checking that every channel secret resolves (for the commands
        that deliver: `check`, `run`, `digest`); exits 2 naming each one that does not."""
        settings = self.settings()
        problems = settings.secret_problems()
        if problems:
            fail("\n".join(problems), code=EXIT_CONFIG, prefix="configuration error")
        return settings

    def database(self, *, upgrade: bool = True, revision: str = "head") -> Database:
        """The configured database, connected (and migrated to `revision` unless `upgrade` is
        False); exits 2 with one line naming it when it cannot be reached."""
        url = self.settings().resolved_database_url
        with database_errors(url):
            db = Database(url)
            if upgrade:
                upgrade_schema(db, revision)
            else:
                db.ping()
        return db


@contextmanager
def database_errors(url: str) -> Iterator[None]:
    """A database that refuses or drops the connection ends the command with one line naming
    it (password masked) and the driver's reason, exit 2, instead of a traceback."""
    try:
        yield
    except DatabaseError as exc:
        if not unusable_database(exc):
            raise
        fail(
            f"cannot use the database {masked_database_url(url)}: {connection_problem(exc)}",
            code=EXIT_CONFIG,
            prefix="database error",
        )
    except (SchemaError, OSError) as exc:  # a schema it cannot follow; a folder it cannot make
        fail(
            f"cannot use the database {masked_database_url(url)}: {exc}",
            code=EXIT_CONFIG,
            prefix="database error",
        )


def fail(message: str, *, code: int = 1, prefix: str = "error") -> NoReturn:
    click.echo(f"newsbot: {prefix}: {message}", err=True)
    sys.exit(code)


def app(ctx: click.Context) -> AppContext:
    obj = ctx.find_object(AppContext)
    if obj is None:  # a command invoked on its own (tests)
        obj = AppContext(config_path=None, log_level=None, log_json=False)
        ctx.obj = obj
    return obj


def setup_logging(level: str = "INFO", json_format: bool = False) -> None:
    """Human-readable lines by default, one JSON object per line on request."""
    from bot.daemon.logs import configure_logging

    configure_logging(level=level, json_format=json_format)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
