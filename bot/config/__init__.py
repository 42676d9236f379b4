"""Configuration: one TOML file validated by pydantic, secrets from environment variables."""

from bot.config.loader import ConfigError, load_config, load_config_text
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
    "load_config",
    "load_config_text",
]
