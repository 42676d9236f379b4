"""Reading a TOML file into Settings; errors name the file, the key and what was expected."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from bot.config.settings import SecretUnavailable, Settings
from bot.text.bounded import FileTooLarge, read_at_most
from bot.text.redaction import mask_url, mask_urls_in, masked_database_url

ENV_CONFIG = "NEWSBOT_CONFIG"
# Far above any real configuration (10,000 feeds take about 600 KB).
MAX_CONFIG_BYTES = 16 * 1024 * 1024
MASK = "***"


class ConfigError(Exception):
    """A configuration file that cannot be used; the message is meant for the operator."""


def _key_path(loc: tuple[int | str, ...], data: dict[str, Any]) -> str:
    """Turn a pydantic location into the TOML key a user writes, e.g. channels[1].email.port."""
    parts: list[str] = []
    node: Any = data
    previous: int | str | None = None
    for item in loc:
        # a tagged union (a channel's `type`) puts its tag after the item's index: not a key
        tag = isinstance(previous, int) and isinstance(node, dict) and node.get("type") == item
        previous = item
        if tag:
            continue
        node = _child(node, item)
        if isinstance(item, int):
            parts[-1:] = [f"{parts[-1]}[{item}]"] if parts else [f"[{item}]"]
        elif item.startswith(("function-", "model-")) or item in ("function-after",):
            continue
        else:
            parts.append(item)
    return ".".join(parts) or "(top level)"


def _location(error: dict[str, Any]) -> tuple[int | str, ...]:
    """Where an error is; a tag that chooses no class (a channel's `type`) is its own key."""
    loc = tuple(error["loc"])
    return (*loc, "type") if str(error.get("type", "")).startswith("union_tag_") else loc


def _child(node: Any, item: int | str) -> Any:
    if isinstance(node, list) and isinstance(item, int) and 0 <= item < len(node):
        return node[item]
    return node.get(item) if isinstance(node, dict) and isinstance(item, str) else None


# Channel settings that hold a credential: a wrong value is not quoted back (a password given
# as a number is still the password).
SECRET_KEYS = ("webhook_url", "bot_token", "password", "url")


def _is_secret(key_path: str) -> bool:
    return key_path.startswith("channels[") and key_path.rsplit(".", 1)[-1] in SECRET_KEYS


def _describe(error: dict[str, Any], *, secret: bool = False) -> str:
    msg = str(error.get("msg", "invalid value"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    kind = error.get("type", "")
    if kind == "union_tag_invalid":
        context = error.get("ctx") or {}
        return f"expected one of {context.get('expected_tags')}, got {context.get('tag')!r}"
    if kind == "union_tag_not_found":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key (check the spelling against config/newsbot.example.toml)"
    if kind == "missing":
        return "required key is missing"
    got = error.get("input")
    if secret:
        return msg
    if kind not in ("value_error",) and got is not None and not isinstance(got, dict | list):
        return f"{msg} (got {got!r})"
    return msg


def load_config_text(text: str, source: Path | str = "<string>") -> Settings:
    """Parse and validate configuration text; `source` names the file in errors."""
    name = str(source)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{name}: not valid TOML: {exc}") from None
    base = Path(source).resolve().parent if name != "<string>" else Path.cwd()
    for key in ("data_dir", "rules"):
        if isinstance(data.get(key), str) and not os.path.isabs(data[key]):
            data[key] = str(base / data[key])
    for channel in data.get("channels", []) or []:
        rules = channel.get("rules") if isinstance(channel, dict) else None
        if isinstance(rules, str) and not os.path.isabs(rules):
            channel["rules"] = str(base / rules)
    try:
        settings = Settings.model_validate({**data, "source": Path(name)})
    except ValidationError as exc:
        # a value quoted back (a feed URL, the database_url) has its credentials masked
        lines = []
        for error in exc.errors():
            key = _key_path(_location(dict(error)), data)
            described = _describe(dict(error), secret=_is_secret(key))
            lines.append(f"{name}: {key}: {mask_urls_in(described)}")
        raise ConfigError("\n".join(lines)) from None
    except ValueError as exc:  # raised by secret resolution outside a field
        raise ConfigError(f"{name}: {mask_urls_in(str(exc))}") from None
    if not settings.rules.is_file():
        raise ConfigError(f"{name}: rules: expected an existing rules file, got {settings.rules}")
    problem = database_problem(settings)
    if problem is not None:
        raise ConfigError(f"{name}: {problem}")
    return settings


# The databases newsbot runs on (README, "Storage"), by SQLAlchemy backend name.
SUPPORTED_BACKENDS = ("sqlite", "postgresql")


def database_problem(settings: Settings) -> str | None:
    """Why the configured database cannot be used, as 'KEY: problem', found without connecting
    to it: a URL SQLAlchemy cannot read, a database other than SQLite or PostgreSQL, a driver
    that is not installed, an in-memory SQLite database (each command would start from an empty
    one), or an SQLite file whose folder is a file or cannot be created."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    key = "database_url" if settings.database_url else "data_dir"
    written = settings.resolved_database_url
    shown = masked_database_url(written)
    expected = "expected sqlite:///PATH or postgresql+psycopg://USER@HOST/DATABASE"
    try:
        url = make_url(written)
        url.port  # noqa: B018 - read to check it: a port that is not a number fails here
        backend = url.get_backend_name()
    except (ArgumentError, ValueError):
        return f"{key}: {expected}, got {shown}"
    if backend not in SUPPORTED_BACKENDS:
        supported = "newsbot runs on SQLite or PostgreSQL"
        return f"{key}: {expected}, got {shown} ({supported}, not {backend})"
    try:
        url.get_dialect().import_dbapi()
    except NoSuchModuleError:
        return f"{key}: {expected}, got {shown} (no such driver {url.drivername!r})"
    except ImportError as exc:
        return (
            f"{key}: the driver of {shown} is not installed ({exc.name or exc}); "
            "for PostgreSQL: pip install 'newsbot[postgres]'"
        )
    if backend != "sqlite":
        return None
    if url.database in (None, "", ":memory:") or "mode=memory" in str(url.query):
        return (
            f"{key}: an in-memory SQLite database ({written}) is not supported: every command "
            "would start from an empty one; expected sqlite:///PATH"
        )
    return _sqlite_folder_problem(key, Path(url.database))


def _sqlite_folder_problem(key: str, database: Path) -> str | None:
    """Whether the folder of an SQLite file is one, or can be made."""
    database = database.expanduser().absolute()
    if database.is_dir():
        return f"{key}: {database} is a folder, expected an SQLite database file in a folder"
    folder = database.parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return f"{key}: {existing} is a file, expected a folder to hold {database.name}"
    if existing != folder and not os.access(existing, os.W_OK | os.X_OK):
        return f"{key}: cannot create the folder {folder}: no permission to write in {existing}"
    return None


def load_config(path: Path | str | None) -> Settings:
    """Load the configuration from `path`, $NEWSBOT_CONFIG, or built-in defaults."""
    if path is None:
        env = os.environ.get(ENV_CONFIG)
        if not env:
            return load_config_text("", "<defaults>")
        path = env
    file = Path(path)
    try:
        text = read_at_most(file, MAX_CONFIG_BYTES).decode("utf-8")
    except FileTooLarge:
        raise ConfigError(
            f"{file}: expected a configuration file, got more than "
            f"{MAX_CONFIG_BYTES // (1024 * 1024)} MiB"
        ) from None
    except FileNotFoundError:
        raise ConfigError(f"{file}: configuration file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read configuration: {exc}") from None
    return load_config_text(text, file)


def config_file_name(settings: Settings) -> str:
    """The configuration file that configured feeds are recorded as coming from."""
    source = settings.source
    if source is None:
        return "<configuration>"
    if str(source).startswith("<"):  # "<string>", "<defaults>": not a file
        return str(source)
    return str(source.resolve())


def config_warnings(settings: Settings) -> list[str]:
    """What in a valid configuration is probably a mistake, each naming the file and the key."""
    name = str(settings.source) if settings.source is not None else "<defaults>"
    warnings: list[str] = []
    if settings.poll_interval < settings.fetch.min_interval:
        warnings.append(
            f"{name}: poll_interval = {settings.poll_interval} is below fetch.min_interval = "
            f"{settings.fetch.min_interval}: no feed is checked more often than every "
            f"{settings.fetch.min_interval} s (raise poll_interval or lower fetch.min_interval)"
        )
    if not settings.feeds:
        warnings.append(
            f"{name}: feeds: no [[feeds]] configured: only feeds imported with "
            "`newsbot feeds import FILE.opml` are polled"
        )
    if not settings.channels:
        warnings.append(
            f"{name}: channels: no [[channels]] configured: stories are stored but no digest "
            "is sent"
        )
    return warnings


def masked_dump(settings: Settings) -> dict[str, Any]:
    """The resolved configuration as plain data with every secret masked."""

    def mask(value: Any) -> Any:
        if isinstance(value, SecretStr):
            return "********" if value.get_secret_value() else ""
        if isinstance(value, dict):
            return {k: mask(v) for k, v in value.items()}
        if isinstance(value, list):
            return [mask(v) for v in value]
        if isinstance(value, Path):
            return str(value)
        return value

    data = mask(settings.model_dump(mode="python", by_alias=True))
    # Secrets given through the environment show as set (masked) when they resolve.
    for channel, shown in zip(settings.channels, data.get("channels", []), strict=True):
        section = shown.get(channel.type) or {}
        for key, resolve in channel.secrets().items():
            try:
                section[key] = mask(resolve())
            except SecretUnavailable as exc:
                section[key] = f"<unavailable: {exc.problem}>"
    data["database_url"] = masked_database_url(settings.resolved_database_url)
    for feed in data.get("feeds", []):
        feed["url"] = mask_url(feed["url"])
    for channel in data.get("channels", []):
        slack = channel.get("slack") or {}
        if slack.get("api_base_url"):
            slack["api_base_url"] = mask_url(slack["api_base_url"])
    return dict(data)
