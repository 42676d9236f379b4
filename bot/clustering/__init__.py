"""Cluster entries into stories: one story per event, however many outlets and wordings."""

from bot.clustering.engine import ClusterConfig, ClusterItem, StoryClusterer

__all__ = ["ClusterConfig", "ClusterItem", "StoryClusterer"]
