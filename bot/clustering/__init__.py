"""Cluster entries into stories: one story per event, however many outlets and wordings."""

from bot.clustering.config import ClusterConfig
from bot.clustering.engine import StoryClusterer
from bot.clustering.item import ClusterItem

__all__ = ["ClusterConfig", "ClusterItem", "StoryClusterer"]
