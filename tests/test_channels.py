"""Channels are plug-ins (issue 19): each channel type is chosen from one registry, and a type no
entry registers is an error naming it - never another type's channel in its place."""

from __future__ import annotations

import pytest

from bot.config import ChannelSettings
from bot.integration.registry import CHANNEL_TYPES, UnknownChannelType, open_channel


def test_every_configurable_type_is_registered() -> None:
    configurable = set(ChannelSettings.model_fields["type"].annotation.__args__)  # type: ignore[union-attr]
    assert configurable == set(CHANNEL_TYPES)


def test_an_unregistered_channel_type_is_an_error_naming_it() -> None:
    channel = ChannelSettings.model_construct(name="desk", type="teams")
    with pytest.raises(UnknownChannelType, match="'desk' has type 'teams'"):
        open_channel(channel)
