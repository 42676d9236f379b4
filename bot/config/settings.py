"""The configuration schema. Every field here is documented in config/newsbot.example.toml."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    StrictBool,
    TypeAdapter,
    field_validator,
    model_validator,
)

from bot.clustering.config import JOIN_WINDOW_HOURS
from bot.clustering.extra import missing_extra
from bot.model.feed import FEED_NAME_MAX, feed_url_problem

_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")
_ENV_ANY = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
DEFAULT_RULES = Path(__file__).resolve().parents[2] / "config" / "rules" / "compute-deals.toml"
# How long a Slack request may take before it is given up (and, if its body was sent, in doubt).
SLACK_TIMEOUT_S = 10
# The first wait before retrying a database that does not answer (doubling; bot.daemon.app).
DB_RETRY_DELAY_S = 1.0


def packaged_rules_path() -> Path:
    """The default compute-deal rules: the repository copy, else the one bundled in the package."""
    if DEFAULT_RULES.is_file():
        return DEFAULT_RULES
    return Path(__file__).resolve().parent / "compute-deals.toml"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretUnavailable(ValueError):
    """A secret that cannot be resolved now: its environment variable is not set, or its value
    is unusable. `key` is the key the operator wrote (``webhook_url_env``, ``password``...)."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key = key
        self.problem = problem


def resolve_secret(
    value: SecretStr | str | None, env_key: str | None, what: str
) -> SecretStr | None:
    """A secret is given inline, as "${ENV_VAR}", or through a *_env key naming a variable.

    Resolved when it is used (delivery, `newsbot check`, the start of `newsbot run`), not when
    the file is read: commands that deliver nothing need no secrets. Raises SecretUnavailable
    naming the key and the variable."""
    if env_key:
        if env_key not in os.environ:
            raise SecretUnavailable(f"{what}_env", f"environment variable {env_key} is not set")
        return SecretStr(os.environ[env_key])
    if value is None:
        return None
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    match = _ENV_REF.match(text)
    if match:
        name = match.group(1)
        if name not in os.environ:
            raise SecretUnavailable(what, f"environment variable {name} is not set")
        return SecretStr(os.environ[name])
    return SecretStr(text)


# A rule score (thresholds): matched rules add positive weights, so 0 already lets every entry
# through; below 0, or not a number, is a mistake.
Score = Annotated[float, Field(ge=0, allow_inf_nan=False)]


def one_source(settings: BaseModel, *keys: str) -> None:
    """Refuse a secret given both in the file and through its *_env key: one would win
    silently, and the operator would not know which."""
    for key in keys:
        if getattr(settings, key) is not None and getattr(settings, f"{key}_env") is not None:
            raise ValueError(f"expected {key} or {key}_env, not both")


def is_env_reference(value: SecretStr | str | None) -> bool:
    text = value.get_secret_value() if isinstance(value, SecretStr) else value
    return bool(text and _ENV_REF.match(text))


def expand_env_in_url(value: str) -> str:
    """`${VAR}` anywhere in a database URL, replaced by the variable's value. Each part of the
    URL is expanded on its own and the URL re-rendered, so a password with '@', ':' or '/' in
    it stays the password."""
    names = list(dict.fromkeys(_ENV_ANY.findall(value)))
    if not names:
        return value
    missing = [name for name in names if name not in os.environ]
    if missing:
        listed = ", ".join(missing)
        verb = "is" if len(missing) == 1 else "are"
        raise ValueError(f"environment variable {listed} {verb} not set")

    def expand(text: str) -> str:
        return _ENV_ANY.sub(lambda m: os.environ[m.group(1)], text)

    from sqlalchemy.engine import make_url

    try:
        url = make_url(value)
    except Exception:  # a variable where the URL grammar wants, say, a port number
        return expand(value)
    query = {
        key: tuple(expand(v) for v in item) if isinstance(item, tuple) else expand(item)
        for key, item in url.query.items()
    }
    url = url.set(
        username=expand(url.username) if url.username else url.username,
        password=expand(str(url.password)) if url.password is not None else None,
        host=expand(url.host) if url.host else url.host,
        database=expand(url.database) if url.database else url.database,
        query=query,
    )
    return url.render_as_string(hide_password=False)


_DOMAIN = re.compile(r"(?:[^\s@<>()\[\],;:\"\\.]+\.)*[^\s@<>()\[\],;:\"\\.]+|\[[0-9A-Fa-f:.]+\]")
_LOCAL = re.compile(r"[^\s@<>()\[\],;:\"\\]+")


def email_address(value: str) -> str:
    """One e-mail address, with or without a display name: 'newsbot <bot@example.com>'."""
    from email.headerregistry import Address
    from email.utils import getaddresses

    expected = f"expected one e-mail address such as 'newsbot <newsbot@example.com>', got {value!r}"
    parsed = getaddresses([value])
    if len(parsed) != 1:
        raise ValueError(expected)
    name, address = parsed[0]
    local, at, domain = address.rpartition("@")
    if not at or not _LOCAL.fullmatch(local) or not _DOMAIN.fullmatch(domain):
        raise ValueError(expected)
    try:
        Address(display_name=name, username=local, domain=domain)
    except (ValueError, TypeError):
        raise ValueError(expected) from None
    return value


EmailAddress = Annotated[str, AfterValidator(email_address)]


class FeedSettings(Strict):
    url: str
    name: Annotated[str, Field(max_length=FEED_NAME_MAX)] | None = None
    interval: Annotated[int, Field(ge=60, le=7 * 86400)] | None = None  # seconds

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        problem = feed_url_problem(value)
        if problem:
            raise ValueError(problem)
        if _ENV_ANY.search(value):
            # A feed URL is the feed's identity in the database: it is used as written.
            raise ValueError(
                "${...} is not expanded in feed URLs: write the URL with its token "
                "(newsbot masks credentials wherever it shows or logs a URL)"
            )
        return value


class FetchSettings(Strict):
    concurrency: Annotated[int, Field(ge=1, le=1000)] = 50
    per_host: Annotated[int, Field(ge=1, le=100)] = 4
    connect_timeout: Annotated[float, Field(gt=0, le=120)] = 10.0
    read_timeout: Annotated[float, Field(gt=0, le=300)] = 30.0
    total_timeout: Annotated[float, Field(gt=0, le=600)] = 60.0
    max_body_bytes: Annotated[int, Field(ge=1024)] = 10 * 1024 * 1024
    # New items stored from one feed per poll, the newest; the older ones wait for a later
    # poll (a feed dumping its archive cannot hold the cycle with a hundred thousand joins).
    max_new_items: Annotated[int, Field(ge=1)] = 500
    min_interval: Annotated[int, Field(ge=30)] = 300  # seconds
    max_interval: Annotated[int, Field(ge=60)] = 86400
    unhealthy_after: Annotated[int, Field(ge=1)] = 5  # consecutive failures
    # Fetch from loopback, private, link-local and other internal addresses (off: only public
    # ones; see bot/reader/fetcher/policy.py). For feeds on the operator's own network.
    allow_private_networks: StrictBool = False

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
            trigger = CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise ValueError(
                f"expected a 5-field cron expression such as '0 8 * * 1-5' ({exc})"
            ) from None
        # A date that never comes ("0 8 31 2 *": the 31st of February) would never send.
        if trigger.get_next_fire_time(None, datetime.now(UTC)) is None:
            raise ValueError(
                f"expected a cron expression that fires, got {value!r} (it never does)"
            )
        return value


class SlackSettings(Strict):
    webhook_url: SecretStr | None = None
    webhook_url_env: str | None = None
    bot_token: SecretStr | None = None
    bot_token_env: str | None = None
    channel: str | None = None  # for bot-token delivery: channel id or #name
    api_base_url: str = "https://slack.com/api/"
    on_update: Literal["thread", "edit", "none"] = "thread"
    # seconds; a post in doubt is looked up twice this long after it was sent (bot.worker.outbox)
    timeout: Annotated[int, Field(ge=1, le=120)] = SLACK_TIMEOUT_S

    @field_validator("webhook_url")
    @classmethod
    def _webhook_is_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not is_env_reference(value):
            _check_webhook(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _one_way(self) -> SlackSettings:
        one_source(self, "webhook_url", "bot_token")
        if not self.has_webhook and not self.uses_bot_token:
            raise ValueError("expected webhook_url (incoming webhook) or bot_token + channel")
        if self.uses_bot_token and not self.channel:
            raise ValueError("bot_token needs channel (a channel id such as C0123456789)")
        return self

    @property
    def has_webhook(self) -> bool:
        return self.webhook_url is not None or self.webhook_url_env is not None

    @property
    def uses_bot_token(self) -> bool:
        return self.bot_token is not None or self.bot_token_env is not None

    def resolved_webhook_url(self) -> SecretStr | None:
        """The webhook URL, from the file or the environment (raises SecretUnavailable)."""
        secret = resolve_secret(self.webhook_url, self.webhook_url_env, "webhook_url")
        if secret is not None:
            try:
                _check_webhook(secret.get_secret_value())
            except ValueError as exc:
                key = "webhook_url_env" if self.webhook_url_env else "webhook_url"
                where = self.webhook_url_env or str(self.webhook_url)
                raise SecretUnavailable(key, f"{exc} in {where}") from None
        return secret

    def resolved_bot_token(self) -> SecretStr | None:
        """The bot token, from the file or the environment (raises SecretUnavailable)."""
        return resolve_secret(self.bot_token, self.bot_token_env, "bot_token")

    def secret_problems(self) -> list[SecretUnavailable]:
        problems = []
        for resolve in (self.resolved_webhook_url, self.resolved_bot_token):
            try:
                resolve()
            except SecretUnavailable as exc:
                problems.append(exc)
        return problems


def _check_webhook(url: str) -> None:
    if not url.startswith(("https://", "http://")):
        raise ValueError("expected an https:// URL")


class EmailSettings(Strict):
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    tls: Literal["starttls", "implicit", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    password_env: str | None = None
    from_addr: EmailAddress = Field(alias="from")
    to: Annotated[list[EmailAddress], Field(min_length=1)]
    timeout: Annotated[float, Field(gt=0)] = 30.0

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    def resolved_password(self) -> SecretStr | None:
        """The SMTP password, from the file or the environment (raises SecretUnavailable)."""
        return resolve_secret(self.password, self.password_env, "password")

    def secret_problems(self) -> list[SecretUnavailable]:
        try:
            self.resolved_password()
        except SecretUnavailable as exc:
            return [exc]
        return []

    @model_validator(mode="after")
    def _plain_only_locally(self) -> EmailSettings:
        one_source(self, "password")
        if self.tls == "none" and self.host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("tls = 'none' is only allowed for a server on localhost")
        return self


class WebhookSettings(Strict):
    """A generic JSON webhook: the digest POSTed as one document (README, "Webhook channel")."""

    url: SecretStr | None = None  # may be "${ENV_VAR}": webhook URLs often carry a token
    url_env: str | None = None
    # Sent with every request; a value may be "${ENV_VAR}" (Authorization = "${CHAT_TOKEN}").
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    timeout: Annotated[float, Field(gt=0, le=300)] = 10.0

    @field_validator("url")
    @classmethod
    def _url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not is_env_reference(value):
            _check_webhook(value.get_secret_value())
        return value

    @model_validator(mode="after")
    def _has_url(self) -> WebhookSettings:
        one_source(self, "url")
        if self.url is None and self.url_env is None:
            raise ValueError("expected url (or url_env naming an environment variable)")
        return self

    def resolved_url(self) -> SecretStr:
        """The URL, from the file or the environment (raises SecretUnavailable)."""
        secret = resolve_secret(self.url, self.url_env, "url")
        assert secret is not None
        try:
            _check_webhook(secret.get_secret_value())
        except ValueError as exc:
            raise SecretUnavailable("url_env" if self.url_env else "url", str(exc)) from None
        return secret

    def resolved_header(self, name: str) -> SecretStr | None:
        """One header's value (raises SecretUnavailable naming ``headers.<name>``)."""
        return resolve_secret(self.headers[name], None, f"headers.{name}")


class ChannelBase(Strict):
    """What every channel has; each type adds its ``type`` tag and its ``[channels.<type>]``
    table (the classes below, one per entry of bot.integration.registry)."""

    name: str
    schedule: DigestSchedule = DigestSchedule()
    rules: str | None = None  # a rule-set file; default: the top-level rules
    threshold: Score | None = None  # minimum story score; default: the rule set's threshold
    max_stories: Annotated[int, Field(ge=1, le=200)] = 15
    # Outlets whose report a story links to when they reported it, first listed first.
    preferred_outlets: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    send_empty: bool = False
    breaking_min_sources: Annotated[int, Field(ge=2)] | None = None
    breaking_min_score: Score | None = None
    # "weekly": the channel's first digest of each week opens with the deal ledger of the
    # seven days before it (totals by kind, top buyers and sellers; bot.ledger).
    ledger: Literal["off", "weekly"] = "off"

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", value):
            raise ValueError("expected a short name of letters, digits, '-', '_' or '.'")
        return value

    def secrets(self) -> dict[str, Callable[[], SecretStr | None]]:
        """The resolvers of the channel's secrets, by key in its table (raise
        SecretUnavailable)."""
        return {}


class SlackChannelSettings(ChannelBase):
    type: Literal["slack"]
    slack: SlackSettings

    def secrets(self) -> dict[str, Callable[[], SecretStr | None]]:
        return {
            "webhook_url": self.slack.resolved_webhook_url,
            "bot_token": self.slack.resolved_bot_token,
        }


class EmailChannelSettings(ChannelBase):
    type: Literal["email"]
    email: EmailSettings

    def secrets(self) -> dict[str, Callable[[], SecretStr | None]]:
        return {"password": self.email.resolved_password}


class WebhookChannelSettings(ChannelBase):
    type: Literal["webhook"]
    webhook: WebhookSettings

    def secrets(self) -> dict[str, Callable[[], SecretStr | None]]:
        headers = {
            f"headers.{name}": partial(self.webhook.resolved_header, name)
            for name in self.webhook.headers
        }
        return {"url": self.webhook.resolved_url, **headers}


# A channel's `type` chooses its class, so an error names the keys of that type only.
ChannelSettings = Annotated[
    SlackChannelSettings | EmailChannelSettings | WebhookChannelSettings,
    Field(discriminator="type"),
]
_CHANNEL_ADAPTER: TypeAdapter[ChannelSettings] = TypeAdapter(ChannelSettings)


def channel_settings(data: object) -> ChannelSettings:
    """One ``[[channels]]`` entry validated on its own (the class its ``type`` names)."""
    return _CHANNEL_ADAPTER.validate_python(data)


class DaemonSettings(Strict):
    health_bind: str = "127.0.0.1"
    health_port: Annotated[int, Field(ge=0, le=65535)] = 8787
    health_max_poll_age: Annotated[int, Field(ge=60)] = 3600
    retention_days: Annotated[int, Field(ge=1)] = 90
    shutdown_grace: Annotated[float, Field(gt=0, le=600)] = 30.0
    # seconds: the first wait before retrying the database (connecting, a job's retries, probes
    # for its return), doubling from there
    db_retry_delay: Annotated[float, Field(gt=0, le=30)] = DB_RETRY_DELAY_S
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


class Settings(Strict):
    """The whole configuration; `source` is the file it was read from."""

    source: Path | None = None
    data_dir: Path = Path("data")
    database_url: str | None = None
    rules: Path = Field(default_factory=packaged_rules_path)
    threshold: Score | None = None  # relevance threshold; default: the rule set's own
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

    @field_validator("database_url")
    @classmethod
    def _expand_variables(cls, value: str | None) -> str | None:
        return expand_env_in_url(value) if value else value

    def secret_problems(self) -> list[str]:
        """Every channel secret that cannot be resolved now, as 'FILE: KEY: problem' lines."""
        source = self.source or "<defaults>"
        lines = []
        for index, channel in enumerate(self.channels):
            for resolve in channel.secrets().values():
                try:
                    resolve()
                except SecretUnavailable as problem:
                    key = f"channels[{index}].{channel.type}.{problem.key}"
                    lines.append(f"{source}: {key}: {problem.problem}")
        return lines

    def known_secrets(self) -> list[str]:
        """The channel secrets, the database password and the credentials in the database and
        feed URLs that resolve now (for redaction)."""
        values: list[str] = []
        for channel in self.channels:
            for resolve in channel.secrets().values():
                try:
                    secret = resolve()
                except SecretUnavailable:
                    continue
                if secret is not None:
                    values.append(secret.get_secret_value())
        from sqlalchemy.engine import make_url

        from bot.text.redaction import url_secrets

        password = make_url(self.resolved_database_url).password
        if isinstance(password, str):
            values.append(password)
        # ?password= of the database and the credentials of private feeds, should one appear
        # on its own (a driver's message, a library's log line) rather than inside its URL
        values += url_secrets(self.resolved_database_url, user_is_secret=False)
        for feed in self.feeds:
            values += url_secrets(feed.url)
        return values

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
