"""The configuration schema. Every field here is documented in config/newsbot.example.toml."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from bot.clustering.config import JOIN_WINDOW_HOURS

_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
DEFAULT_RULES = Path(__file__).resolve().parents[2] / "config" / "rules" / "compute-deals.toml"


def packaged_rules_path() -> Path:
    """The default compute-deal rules: the repository copy, else the one bundled in the package."""
    if DEFAULT_RULES.is_file():
        return DEFAULT_RULES
    return Path(__file__).resolve().parent / "compute-deals.toml"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def resolve_secret(value: str | None, env_key: str | None, what: str) -> SecretStr | None:
    """A secret is given inline, as "${ENV_VAR}", or through a *_env key naming a variable."""
    if env_key:
        if env_key not in os.environ:
            raise ValueError(f"environment variable {env_key} (named for {what}) is not set")
        return SecretStr(os.environ[env_key])
    if value is None:
        return None
    match = _ENV_REF.match(value)
    if match:
        name = match.group(1)
        if name not in os.environ:
            raise ValueError(f"environment variable {name} (named for {what}) is not set")
        return SecretStr(os.environ[name])
    return SecretStr(value)


class FeedSettings(Strict):
    url: str
    name: str | None = None
    interval: Annotated[int, Field(ge=60, le=7 * 86400)] | None = None  # seconds

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("expected an http:// or https:// URL")
        return value


class FetchSettings(Strict):
    concurrency: Annotated[int, Field(ge=1, le=1000)] = 50
    per_host: Annotated[int, Field(ge=1, le=100)] = 4
    connect_timeout: Annotated[float, Field(gt=0, le=120)] = 10.0
    read_timeout: Annotated[float, Field(gt=0, le=300)] = 30.0
    total_timeout: Annotated[float, Field(gt=0, le=600)] = 60.0
    max_body_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024
    min_interval: Annotated[int, Field(ge=30)] = 300  # seconds
    max_interval: Annotated[int, Field(ge=60)] = 86400
    unhealthy_after: Annotated[int, Field(ge=1)] = 5  # consecutive failures

    @model_validator(mode="after")
    def _ordered(self) -> FetchSettings:
        if self.min_interval > self.max_interval:
            raise ValueError("min_interval must not exceed max_interval")
        return self


class ClusteringSettings(Strict):
    active_window_hours: Annotated[float, Field(gt=0, le=24 * 60)] = JOIN_WINDOW_HOURS
    semantic: bool = False

    @field_validator("semantic")
    @classmethod
    def _extra_installed(cls, value: bool) -> bool:
        # Checked here so that `newsbot check` and every command reading the file say what to
        # install, instead of the daemon failing when it first clusters.
        if value:
            from bot.clustering.semantic import missing_extra

            problem = missing_extra()
            if problem:
                raise ValueError(problem)
        return value


class DigestSchedule(Strict):
    cron: str = "0 8 * * 1-5"
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"expected an IANA time zone such as 'Europe/London', got {value!r}"
            ) from None
        return value

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise ValueError(
                f"expected a 5-field cron expression such as '0 8 * * 1-5' ({exc})"
            ) from None
        return value


class SlackSettings(Strict):
    webhook_url: SecretStr | None = None
    webhook_url_env: str | None = None
    bot_token: SecretStr | None = None
    bot_token_env: str | None = None
    channel: str | None = None  # for bot-token delivery: channel id or #name
    api_base_url: str = "https://slack.com/api/"
    on_update: Literal["thread", "edit", "none"] = "thread"

    @model_validator(mode="before")
    @classmethod
    def _secrets(cls, data: object) -> object:
        if isinstance(data, dict):
            data = dict(data)
            for key in ("webhook_url", "bot_token"):
                secret = resolve_secret(data.get(key), data.get(f"{key}_env"), key)
                data[key] = secret
        return data

    @model_validator(mode="after")
    def _one_way(self) -> SlackSettings:
        if self.webhook_url is None and self.bot_token is None:
            raise ValueError("expected webhook_url (incoming webhook) or bot_token + channel")
        if self.bot_token is not None and not self.channel:
            raise ValueError("bot_token needs channel (a channel id such as C0123456789)")
        if self.webhook_url is not None:
            url = self.webhook_url.get_secret_value()
            if not url.startswith(("https://", "http://")):
                raise ValueError("webhook_url: expected an https:// URL")
        return self


class EmailSettings(Strict):
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    tls: Literal["starttls", "implicit", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    password_env: str | None = None
    from_addr: str = Field(alias="from")
    to: Annotated[list[str], Field(min_length=1)]
    timeout: Annotated[float, Field(gt=0)] = 30.0

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="before")
    @classmethod
    def _secrets(cls, data: object) -> object:
        if isinstance(data, dict):
            data = dict(data)
            data["password"] = resolve_secret(
                data.get("password"), data.get("password_env"), "password"
            )
        return data

    @field_validator("to")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        for addr in value:
            if "@" not in addr:
                raise ValueError(f"expected e-mail addresses, got {addr!r}")
        return value

    @model_validator(mode="after")
    def _plain_only_locally(self) -> EmailSettings:
        if self.tls == "none" and self.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("tls = 'none' is only allowed for a server on localhost")
        return self


class ChannelSettings(Strict):
    name: str
    type: Literal["slack", "email"]
    slack: SlackSettings | None = None
    email: EmailSettings | None = None
    schedule: DigestSchedule = DigestSchedule()
    rules: str | None = None  # a rule-set file; default: the top-level rules
    threshold: float | None = None  # minimum story score; default: the rule set's threshold
    max_stories: Annotated[int, Field(ge=1, le=200)] = 15
    # Outlets whose report a story links to when they reported it, first listed first.
    preferred_outlets: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    send_empty: bool = False
    breaking_min_sources: Annotated[int, Field(ge=2)] | None = None
    breaking_min_score: float | None = None

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", value):
            raise ValueError("expected a short name of letters, digits, '-', '_' or '.'")
        return value

    @model_validator(mode="after")
    def _section_for_type(self) -> ChannelSettings:
        if self.type == "slack" and self.slack is None:
            raise ValueError("a slack channel needs a [channels.slack] table")
        if self.type == "email" and self.email is None:
            raise ValueError("an email channel needs a [channels.email] table")
        return self


class DaemonSettings(Strict):
    health_bind: str = "127.0.0.1"
    health_port: Annotated[int, Field(ge=0, le=65535)] = 8787
    health_max_poll_age: Annotated[int, Field(ge=60)] = 3600
    retention_days: Annotated[int, Field(ge=1)] = 90
    shutdown_grace: Annotated[float, Field(gt=0, le=600)] = 30.0
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(Strict):
    """The whole configuration; `source` is the file it was read from."""

    source: Path | None = None
    data_dir: Path = Path("data")
    database_url: str | None = None
    rules: Path = Field(default_factory=packaged_rules_path)
    threshold: float | None = None  # relevance threshold; default: the rule set's own
    poll_interval: Annotated[int, Field(ge=30, le=86400)] = 900  # seconds
    feeds: list[FeedSettings] = Field(default_factory=list)
    channels: list[ChannelSettings] = Field(default_factory=list)
    fetch: FetchSettings = FetchSettings()
    clustering: ClusteringSettings = ClusteringSettings()
    daemon: DaemonSettings = DaemonSettings()

    @model_validator(mode="after")
    def _unique_names(self) -> Settings:
        seen: set[str] = set()
        for channel in self.channels:
            if channel.name in seen:
                raise ValueError(f"channel name {channel.name!r} is used twice")
            seen.add(channel.name)
        urls: set[str] = set()
        for feed in self.feeds:
            if feed.url in urls:
                raise ValueError(f"feed {feed.url!r} is listed twice")
            urls.add(feed.url)
        return self

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'newsbot.db').resolve()}"

    def channel(self, name: str) -> ChannelSettings:
        for channel in self.channels:
            if channel.name == name:
                return channel
        known = ", ".join(c.name for c in self.channels) or "none configured"
        raise KeyError(f"no channel named {name!r} (known: {known})")
