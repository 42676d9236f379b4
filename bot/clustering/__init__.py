"""Cluster entries into stories: one story per event, however many outlets and wordings.

The names below are imported on first use: the configuration (:mod:`bot.config.settings`) reads
:mod:`bot.clustering.config` at every start, and the engine (word frequencies, place names,
feature extraction) is only needed once there is something to cluster.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.clustering.config import ClusterConfig
    from bot.clustering.engine import StoryClusterer
    from bot.clustering.item import ClusterItem

_EXPORTS = {
    "ClusterConfig": "bot.clustering.config",
    "ClusterItem": "bot.clustering.item",
    "StoryClusterer": "bot.clustering.engine",
}
__all__ = ["ClusterConfig", "ClusterItem", "StoryClusterer"]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bot.clustering' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
