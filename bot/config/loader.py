"""Reading a TOML file into Settings; errors name the file, the key and what was expected."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import SecretStr, ValidationError

from bot.config.settings import SecretUnavailable, Settings
from bot.text.redaction import mask_url, mask_urls_in, masked_database_url

ENV_CONFIG = "NEWSBOT_CONFIG"
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


def _describe(error: dict[str, Any]) -> str:
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
        lines = [
            f"{name}: {_key_path(_location(dict(err)), data)}: {mask_urls_in(_describe(dict(err)))}"
            for err in exc.errors()
        ]
        raise ConfigError("\n".join(lines)) from None
    except ValueError as exc:  # raised by secret resolution outside a field
        raise ConfigError(f"{name}: {mask_urls_in(str(exc))}") from None
    if not settings.rules.is_file():
        raise ConfigError(f"{name}: rules: expected an existing rules file, got {settings.rules}")
    return settings


def load_config(path: Path | str | None) -> Settings:
    """Load the configuration from `path`, $NEWSBOT_CONFIG, or built-in defaults."""
    if path is None:
        env = os.environ.get(ENV_CONFIG)
        if not env:
            return load_config_text("", "<defaults>")
        path = env
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
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
