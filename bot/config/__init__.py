"""Configuration: one TOML file validated by pydantic, secrets from environment variables."""

from bot.config.loader import (
    ConfigError,
    config_file_name,
    config_warnings,
    load_config,
    load_config_text,
)
from bot.config.settings import (
    ChannelSettings,
    ClusteringSettings,
    DigestSchedule,
    EmailSettings,
    FeedSettings,
    FetchSettings,
    Settings,
    SlackSettings,
)
from bot.text.redaction import mask_url  # where it lived before; bot.text owns it now

__all__ = [
    "ChannelSettings",
    "ClusteringSettings",
    "ConfigError",
    "DigestSchedule",
    "EmailSettings",
    "FeedSettings",
    "FetchSettings",
    "Settings",
    "SlackSettings",
    "config_file_name",
    "config_warnings",
    "load_config",
    "load_config_text",
    "mask_url",
]
