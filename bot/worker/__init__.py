"""Orchestration of one poll cycle and one digest run: the stages wired to storage."""

from bot.worker.digests import DigestRun, DigestService
from bot.worker.poll import FeedResult, Poller, PollReport
from bot.worker.process import ProcessReport, StoryProcessor

__all__ = [
    "DigestRun",
    "DigestService",
    "FeedResult",
    "PollReport",
    "Poller",
    "ProcessReport",
    "StoryProcessor",
]
