"""Shared fixtures: databases on SQLite and PostgreSQL, paths to the shared data, a feed server,
a Slack stand-in, and the modules a fresh interpreter loads (`loaded_modules`).

PostgreSQL tests use NEWSBOT_TEST_PG_URL (default: the local server's `test` database). Each test
gets a fresh database cloned from a migrated template. Where no PostgreSQL answers, those tests
skip with the reason, except under CI=true, where that is a failure.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from support.slack_stand_in import SlackStandIn

from bot.demo.server import FeedServer
from bot.storage.database import Database, upgrade_schema

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
SEEDS = SHARED / "seeds"
DATA = SHARED / "data"
PG_URL = os.environ.get("NEWSBOT_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
IN_CI = os.environ.get("CI", "").lower() == "true"


def _pg_unavailable(reason: str) -> None:
    if IN_CI:
        pytest.fail(f"PostgreSQL is required under CI=true but {reason}")
    pytest.skip(f"PostgreSQL not available ({reason}); set NEWSBOT_TEST_PG_URL to run these")


def _pg_admin() -> Engine:
    """An AUTOCOMMIT engine on the test server (skips, or fails under CI, if none answers)."""
    try:
        admin = create_engine(
            PG_URL, isolation_level="AUTOCOMMIT", connect_args={"connect_timeout": 3}
        )
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any driver or connection error means "not available"
        _pg_unavailable(f"cannot connect to {make_url(PG_URL).render_as_string()}: {exc}")
    return admin


@pytest.fixture(scope="session")
def pg_template() -> Iterator[str]:
    """A migrated template database on the test server; yields its name."""
    admin = _pg_admin()
    name = f"newsbot_tmpl_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    upgrade_schema(db)
    db.dispose()
    yield name
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_url(pg_template: str) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test."""
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"newsbot_t_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'newsbot.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database without any table yet, on each backend: for migrating it step by step."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'newsbot.db'}"
        return
    admin = _pg_admin()
    name = f"newsbot_e_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    yield make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Every storage-dependent test runs on both backends."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'newsbot.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A migrated database on each backend of `db_url`."""
    database = Database(db_url)
    upgrade_schema(database)
    yield database
    database.dispose()


def loaded_modules(script: str) -> set[str]:
    """The modules a fresh interpreter has loaded after running `script`."""
    code = f"{script}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    run = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return set(json.loads(run.stdout.splitlines()[-1]))


def read_seed(path: Path) -> tuple[str, str]:
    """A seed document: its first line is the headline, the rest the page text."""
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[0].strip(), "\n".join(lines[1:]).strip()


def require_shared(path: Path) -> Path:
    """`path` under ../shared, or skip the test saying it is missing (a failure under CI=true,
    where the shared data must be there)."""
    if not path.exists():
        message = f"the shared data is missing: {path}"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def seeds() -> list[tuple[str, str]]:
    return [read_seed(p) for p in sorted(require_shared(SEEDS).glob("*.txt"))]


@pytest.fixture
def server() -> Iterator[FeedServer]:
    """An empty feed server on loopback (the demo's FeedServer: a test sets its feeds); a module
    that needs another kind defines its own."""
    with FeedServer() as feeds:
        yield feeds


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    """A Slack stand-in (webhook and Web API, limits and errors) on loopback."""
    with SlackStandIn() as stand_in:
        yield stand_in
