"""Slack delivery: incoming webhooks and bot tokens (``chat.postMessage``, replies, edits)."""

from bot.integration.slack.client import SlackBot, SlackPost, SlackWebhook, post_messages

__all__ = ["SlackBot", "SlackPost", "SlackWebhook", "post_messages"]
