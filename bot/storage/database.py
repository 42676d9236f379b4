"""Engine and session set-up for SQLite (WAL) and PostgreSQL, schema upgrades via Alembic,
compaction of SQLite files, and the temporary PostgreSQL databases of evaluations."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import DatabaseError, OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from bot.text.plural import plural

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# A database created without auto_vacuum is VACUUMed (and converted) when this much is free.
VACUUM_FREE_FRACTION = 0.25


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # Takes effect on a new file only (before its first table); housekeeping then frees pages
    # with incremental_vacuum instead of a full VACUUM.
    cursor.execute("PRAGMA auto_vacuum=INCREMENTAL")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def sqlite_file(url: str) -> Path | None:
    """The file of an SQLite database URL (None for PostgreSQL or an in-memory database)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(str(parsed.database))


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        self.dialect = make_url(url).get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.dialect == "sqlite":
            database_file = sqlite_file(url)
            if database_file is not None:
                database_file.parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True  # a dropped connection is replaced, not fatal
            kwargs["pool_size"] = 5
        self.engine: Engine = create_engine(url, **kwargs)
        if self.dialect == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed on success, rolled back on error."""
        with self.sessions() as session, session.begin():
            yield session

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()


def connection_problem(exc: BaseException) -> str:
    """What the driver said about a failed connection, on one line (psycopg's messages span
    several: "... failed: Connection refused / Is the server running ...?")."""
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc)
    text = text.split("\n(Background on this error")[0]
    return " ".join(text.split()) or type(exc).__name__


def alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


_REVISION_LINE = re.compile(r"""^(down_revision|revision)\s*=\s*(?:"([^"]*)"|None)\s*$""", re.M)


@functools.cache
def _migration_lines() -> tuple[dict[str, str | None], ...]:
    """The `revision` and `down_revision` of each migration file (read once per process)."""
    return tuple(
        {key: value or None for key, value in _REVISION_LINE.findall(script.read_text("utf-8"))}
        for script in (MIGRATIONS / "versions").glob("[0-9]*.py")
    )


def head_revision() -> str | None:
    """The newest migration's revision, read from the migration files' `revision` and
    `down_revision` lines (None unless they form one line of descent, which Alembic then
    handles). Alembic's own reading costs about 0.1 s of imports at every start."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for values in _migration_lines():
        if "revision" not in values or "down_revision" not in values or not values["revision"]:
            return None
        revisions.add(values["revision"])
        if values["down_revision"]:
            parents.add(values["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def known_revisions() -> set[str]:
    """The revisions of this newsbot's migrations."""
    return {revision for values in _migration_lines() if (revision := values.get("revision"))}


def _stored_revisions(db: Database) -> list[str]:
    """The revisions in Alembic's version table (a plain read; none for a new database)."""
    try:
        with db.engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except OperationalError as exc:
        if not _missing_table(exc):
            raise  # an unreachable database is reported as before
        return []
    except ProgrammingError:  # PostgreSQL: no such table (a new database)
        return []
    return [row[0] for row in rows]


class SchemaError(Exception):
    """A schema this newsbot cannot bring to its own, said for the operator: the database was
    written by a newer newsbot, or a revision asked for does not exist."""


def _missing_table(exc: OperationalError) -> bool:
    return "no such table" in str(exc.orig)


def upgrade_schema(db: Database, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent); the daemon calls this on start. A
    database already at the newest revision is left as it is without loading Alembic."""
    stored = _stored_revisions(db)
    head = head_revision()
    if revision == "head" and head is not None and stored == [head]:
        return
    unknown = sorted(set(stored) - known_revisions())
    if unknown:
        raise SchemaError(
            f"its schema is at revision {unknown[0]}, which this newsbot does not know "
            f"(its newest is {head}): a newer newsbot wrote it; run that version, or a "
            "backup of the database made for this one"
        )
    from alembic import command
    from alembic.util import CommandError

    config = alembic_config(db.url)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        try:
            command.upgrade(config, revision)
        except CommandError as exc:
            raise SchemaError(f"cannot migrate to revision {revision!r}: {exc}") from None


def unusable_database(exc: DatabaseError) -> bool:
    """Whether a database error says the database cannot be used at all (unreachable, refused,
    not a database), rather than that a statement failed (a constraint, a bug)."""
    # SQLite's "file is not a database" comes as the DBAPI's base DatabaseError.
    return isinstance(exc, OperationalError) or type(exc) is DatabaseError


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def compact(db: Database) -> str:
    """Return space to the file system (SQLite); describe what was done.

    SQLite gets a WAL checkpoint that truncates the log, then frees pages with
    `incremental_vacuum` (databases are created with auto_vacuum=INCREMENTAL); a database
    created without it is VACUUMed once, when more than VACUUM_FREE_FRACTION of it is free
    pages, which converts it. PostgreSQL's autovacuum does this job, so nothing runs there."""
    if not db.is_sqlite:
        return "postgresql: left to autovacuum"
    with db.engine.connect() as conn:
        # Outside a transaction: VACUUM and checkpoints refuse to run inside one.
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        mode = int(conn.execute(text("PRAGMA auto_vacuum")).scalar() or 0)
        free = int(conn.execute(text("PRAGMA freelist_count")).scalar() or 0)
        pages = int(conn.execute(text("PRAGMA page_count")).scalar() or 1)
        if mode == 2:
            conn.execute(text("PRAGMA incremental_vacuum"))
            action = f"incremental_vacuum freed {plural(free, 'page')}"
        elif free > VACUUM_FREE_FRACTION * pages:
            conn.execute(text("PRAGMA auto_vacuum=INCREMENTAL"))
            conn.execute(text("VACUUM"))
            action = f"VACUUM ({free} of {plural(pages, 'page')} free), now auto_vacuum=INCREMENTAL"
        else:
            action = f"nothing to vacuum ({free} of {plural(pages, 'page')} free)"
        busy, log_pages, _ = conn.execute(text("PRAGMA wal_checkpoint(TRUNCATE)")).one()
        return f"{action}; wal_checkpoint(TRUNCATE) busy={busy} log={log_pages}"


def create_database(server: URL, name: str) -> Engine:
    """Create database `name` on the PostgreSQL server of `server` (whose user needs the
    CREATEDB privilege); returns the server engine to pass to :func:`drop_database`. Raises
    SQLAlchemyError if the database cannot be created."""
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    return admin


def drop_database(admin: Engine, name: str) -> None:
    """Drop a database made by :func:`create_database`, connected clients or not."""
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()
