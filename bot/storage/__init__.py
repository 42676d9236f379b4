"""Storage: the database that remembers feeds, entries, stories, digests and deliveries, and
the only place SQL is written.

The package imports nothing, so that a parser process, which needs only the pure row planning
(:mod:`bot.storage.plan`), does not load SQLAlchemy (a quarter of a second to start). Import
from the module that defines a name:

- :mod:`bot.storage.database`: `Database` (engine and sessions), `upgrade_schema` (Alembic);
- :mod:`bot.storage.models`: the ORM rows (`FeedRow`, `EntryRow`, `StoryRow`, ...);
- :mod:`bot.storage.feeds`, :mod:`~bot.storage.entries`, :mod:`~bot.storage.stories`,
  :mod:`~bot.storage.digests`, :mod:`~bot.storage.deals`: the verbs on each entity's rows;
- :mod:`bot.storage.plan`: which parsed entries to insert or update (pure, no SQLAlchemy);
- :mod:`bot.storage.locks`: advisory locks across daemon instances;
- :mod:`bot.storage.retention`: deleting what fell out of the retention window.
"""
