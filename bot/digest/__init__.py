"""Compose and render digests: which stories a channel gets, and how they read in Slack, email and
plain text. Pure logic only; delivery lives in ``bot.integration``."""

from bot.digest.compose import StoryView, compose_digest

__all__ = ["StoryView", "compose_digest"]
