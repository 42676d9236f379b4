"""Storage: the database that remembers feeds, entries, stories, digests and deliveries."""

from bot.storage.database import Database, upgrade_schema

__all__ = ["Database", "upgrade_schema"]
