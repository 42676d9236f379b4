"""Orchestration of one poll cycle and one digest run: the stages wired to storage.

The names below are imported on first use, so that a parser process importing
:mod:`bot.worker.parsing` does not load the digest, clustering and delivery stacks it never uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.worker.digests import DigestRun, DigestService
    from bot.worker.poll import Poller, PollStats
    from bot.worker.process import ProcessStats, StoryBuilder
    from bot.worker.record import FeedResult

_EXPORTS = {
    "DigestRun": "bot.worker.digests",
    "DigestService": "bot.worker.digests",
    "FeedResult": "bot.worker.record",
    "PollStats": "bot.worker.poll",
    "Poller": "bot.worker.poll",
    "ProcessStats": "bot.worker.process",
    "StoryBuilder": "bot.worker.process",
}

__all__ = [
    "DigestRun",
    "DigestService",
    "FeedResult",
    "PollStats",
    "Poller",
    "ProcessStats",
    "StoryBuilder",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bot.worker' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
