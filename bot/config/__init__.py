"""Configuration: one TOML file validated by pydantic, secrets from environment variables."""

from bot.config.loader import (
    ConfigError,
    config_file_name,
    config_warnings,
    load_config,
    load_config_text,
)
from bot.config.settings import (
    ChannelBase,
    ChannelSettings,
    ClusteringSettings,
    DigestSchedule,
    EmailChannelSettings,
    EmailSettings,
    FeedSettings,
    FetchSettings,
    Settings,
    SlackChannelSettings,
    SlackSettings,
    WebhookChannelSettings,
    WebhookSettings,
    channel_settings,
)
from bot.text.redaction import mask_url  # where it lived before; bot.text owns it now

__all__ = [
    "ChannelBase",
    "ChannelSettings",
    "ClusteringSettings",
    "ConfigError",
    "DigestSchedule",
    "EmailChannelSettings",
    "EmailSettings",
    "FeedSettings",
    "FetchSettings",
    "Settings",
    "SlackChannelSettings",
    "SlackSettings",
    "WebhookChannelSettings",
    "WebhookSettings",
    "channel_settings",
    "config_file_name",
    "config_warnings",
    "load_config",
    "load_config_text",
    "mask_url",
]
