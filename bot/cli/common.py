"""Shared CLI plumbing: the context object, config loading with clear errors, logging."""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import click

from bot.config import ConfigError, Settings, load_config
from bot.storage import Database, upgrade_schema

EXIT_CONFIG = 2


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

    def database(self, *, upgrade: bool = True) -> Database:
        db = Database(self.settings().resolved_database_url)
        if upgrade:
            upgrade_schema(db)
        return db


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
