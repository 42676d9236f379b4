"""Engine and session set-up for SQLite (WAL) and PostgreSQL, and schema upgrades via Alembic."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session, sessionmaker

from bot.text.redaction import mask_url

log = logging.getLogger(__name__)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"


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


class Database:
    """One engine and its session factory."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = url
        parsed = make_url(url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo, "future": True}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
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


def masked_url(url: str) -> str:
    """The database URL to show or log: the password and secret-looking query values (libpq's
    ``?password=``) masked. SQLAlchemy renders it first, which encodes a password written with
    raw delimiters ('/', '?', '#') that would otherwise end the URL's user information early."""
    try:
        rendered = make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: masked as written
        rendered = url
    return mask_url(rendered, user_is_secret=False)  # the user name is a role, not a token


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


def head_revision() -> str | None:
    """The newest migration's revision, read from the migration files' `revision` and
    `down_revision` lines (None unless they form one line of descent, which Alembic then
    handles). Alembic's own reading costs about 0.1 s of imports at every start."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in (MIGRATIONS / "versions").glob("[0-9]*.py"):
        values = dict(
            (key, value or None)
            for key, value in _REVISION_LINE.findall(script.read_text(encoding="utf-8"))
        )
        if "revision" not in values or "down_revision" not in values or not values["revision"]:
            return None
        revisions.add(values["revision"])
        if values["down_revision"]:
            parents.add(values["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _at_revision(db: Database, revision: str | None) -> bool:
    """Whether the database's schema is exactly at `revision` (a plain read of Alembic's
    version table; False when it has none yet)."""
    if revision is None:
        return False
    try:
        with db.engine.connect() as connection:
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except OperationalError as exc:
        if not _missing_table(exc):
            raise  # an unreachable database is reported as before
        return False
    except ProgrammingError:  # PostgreSQL: no such table (a new database)
        return False
    return [row[0] for row in rows] == [revision]


def _missing_table(exc: OperationalError) -> bool:
    return "no such table" in str(exc.orig)


def upgrade_schema(db: Database, revision: str = "head") -> None:
    """Bring the schema to `revision` (idempotent); the daemon calls this on start. A
    database already at the newest revision is left as it is without loading Alembic."""
    if revision == "head" and _at_revision(db, head_revision()):
        return
    from alembic import command

    config = alembic_config(db.url)
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(db: Database) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
