"""Storage: the database that remembers feeds, entries, stories, digests and deliveries.

The database layer (SQLAlchemy) is imported on first use of `Database` or `upgrade_schema`,
not with the package: parser processes import only the pure row planning
(:mod:`bot.storage.plan`) and would otherwise pay a quarter of a second to start.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.storage.database import Database, upgrade_schema

__all__ = ["Database", "upgrade_schema"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from bot.storage import database

        return getattr(database, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
