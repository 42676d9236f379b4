"""A generic JSON webhook: the digest POSTed as one document (schema in README, "Webhook
channel"), for chat tools and automations newsbot has no channel of its own for."""

from bot.integration.webhook.channel import SCHEMA, WebhookChannel, digest_document, post_json

__all__ = ["SCHEMA", "WebhookChannel", "digest_document", "post_json"]
