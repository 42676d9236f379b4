"""Channels are plug-ins (issue 19): each channel type is chosen from one registry, and a type no
entry registers is an error naming it - never another type's channel in its place."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from bot.config import ChannelSettings, ConfigError, SlackChannelSettings, load_config
from bot.integration.registry import CHANNEL_TYPES, UnknownChannelType, open_channel


def test_every_configurable_type_is_registered_with_its_settings_class() -> None:
    union = typing.get_args(ChannelSettings)[0]
    classes = {cls.model_fields["type"].annotation.__args__[0]: cls for cls in union.__args__}
    assert classes == {name: entry.settings for name, entry in CHANNEL_TYPES.items()}


def test_an_unregistered_channel_type_is_an_error_naming_it() -> None:
    channel = SlackChannelSettings.model_construct(name="desk", type="teams")
    with pytest.raises(UnknownChannelType, match="'desk' has type 'teams'"):
        open_channel(channel)  # type: ignore[arg-type]


def test_config_errors_name_the_key_of_the_channel_type(tmp_path: Path) -> None:
    file = tmp_path / "newsbot.toml"

    def error(text: str) -> str:
        file.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError) as info:
            load_config(file)
        return str(info.value)

    head = '[[channels]]\nname = "desk"\n'
    message = error(head + 'type = "teams"\n')
    assert f"{file}: channels[0].type: expected one of 'slack', 'email'" in message
    assert "got 'teams'" in message
    assert f"{file}: channels[0].type: required key is missing" in error(head)
    message = error(head + 'type = "slack"\n[channels.email]\nhost = "smtp.example.com"\n')
    assert f"{file}: channels[0].slack: required key is missing" in message
    assert f"{file}: channels[0].email: unknown key" in message
    message = error(head + 'type = "slack"\n[channels.slack]\nwebhook_url = "ftp://x"\n')
    assert f"{file}: channels[0].slack.webhook_url: expected an https:// URL" in message


def test_webhook_header_secrets_come_from_the_environment_and_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEWSBOT_TEST_NO_TOKEN", raising=False)
    file = tmp_path / "newsbot.toml"
    file.write_text(
        '[[channels]]\nname = "chat"\ntype = "webhook"\n[channels.webhook]\n'
        'url = "https://chat.example/hook"\n'
        '[channels.webhook.headers]\nAuthorization = "${NEWSBOT_TEST_NO_TOKEN}"\n',
        encoding="utf-8",
    )
    settings = load_config(file)  # read without the secret: only delivery needs it
    assert settings.secret_problems() == [
        f"{file}: channels[0].webhook.headers.Authorization: "
        "environment variable NEWSBOT_TEST_NO_TOKEN is not set"
    ]
    monkeypatch.setenv("NEWSBOT_TEST_NO_TOKEN", "Bearer abc-secret")
    assert "Bearer abc-secret" in settings.known_secrets()  # redacted from logs
