"""Rendering of a composed digest: plain text, Slack Block Kit messages and a MIME email.

All renderers are pure functions of a :class:`bot.model.Digest`; they share their wording
(:mod:`.common`) and treat every string that came from a feed as untrusted.
"""

from bot.digest.render.email import digest_message_id, render_email, render_email_html
from bot.digest.render.slack import (
    SlackMessage,
    pack_slack_messages,
    render_slack,
    render_slack_story_update,
    replace_story_blocks,
)
from bot.digest.render.text import render_text

__all__ = [
    "SlackMessage",
    "digest_message_id",
    "pack_slack_messages",
    "render_email",
    "render_email_html",
    "render_slack",
    "render_slack_story_update",
    "render_text",
    "replace_story_blocks",
]
