"""Where the database is, as an operator gets it wrong: `newsbot check` (and every command)
refuses a database_url or data_dir that cannot work, in one line naming the key, the password
masked; a database file that is not one, or a schema written by a newer newsbot, ends each
command in one line instead of a traceback."""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from support.daemon_proc import run_newsbot

PASSWORD = "db-s3cret-pw"


def one_error_line(result: subprocess.CompletedProcess[str], prefix: str) -> str:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output and PASSWORD not in output, output
    errors = [line for line in output.splitlines() if line.startswith("newsbot: ")]
    assert len(errors) == 1 and errors[0].startswith(f"newsbot: {prefix}: "), output
    return errors[0]


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ('database_url = "not a url"', "database_url: expected sqlite:///PATH or postgresql"),
        (
            f'database_url = "postgresql+psycopg://newsbot:{PASSWORD}@127.0.0.1:notaport/db"',
            "database_url: expected sqlite:///PATH or postgresql",
        ),
        (
            f'database_url = "mysql://newsbot:{PASSWORD}@db.example/newsbot"',
            "newsbot runs on SQLite or PostgreSQL, not mysql",
        ),
        (
            f'database_url = "postgresql+nosuchdriver://newsbot:{PASSWORD}@db.example/newsbot"',
            "no such driver 'postgresql+nosuchdriver'",
        ),
        ('database_url = "sqlite://"', "in-memory SQLite database (sqlite://) is not supported"),
        ('database_url = "sqlite:///:memory:"', "in-memory SQLite database"),
        ('data_dir = "a-file"', "data_dir: {tmp}/a-file is a file, expected a folder"),
        ('data_dir = "a-file/below"', "data_dir: {tmp}/a-file is a file, expected a folder"),
        ('database_url = "sqlite:///{tmp}/a-folder"', "a-folder is a folder, expected an SQLite"),
    ],
    ids=[
        "not a url",
        "port not a number",
        "mysql",
        "unknown driver",
        "sqlite memory",
        "sqlite :memory:",
        "data_dir is a file",
        "data_dir under a file",
        "sqlite file is a folder",
    ],
)
def test_check_refuses_a_database_that_cannot_work(
    tmp_path: Path, setting: str, expected: str
) -> None:
    (tmp_path / "a-file").write_text("not a folder", encoding="utf-8")
    (tmp_path / "a-folder").mkdir()
    config = tmp_path / "newsbot.toml"
    config.write_text(setting.replace("{tmp}", str(tmp_path)) + "\n", encoding="utf-8")
    for command in ("check", "stories"):
        line = one_error_line(run_newsbot(config, command), "configuration error")
        assert f"{config}: " in line and expected.replace("{tmp}", str(tmp_path)) in line


def test_a_data_dir_to_be_made_passes_and_is_made(tmp_path: Path) -> None:
    config = tmp_path / "newsbot.toml"
    config.write_text('data_dir = "not/yet/there"\n', encoding="utf-8")
    assert run_newsbot(config, "check").returncode == 0
    assert run_newsbot(config, "stories").returncode == 0
    assert (tmp_path / "not" / "yet" / "there" / "newsbot.db").is_file()


def test_a_file_that_is_not_a_database_ends_each_command_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "newsbot.db").write_text("these are notes, not a database\n" * 100)
    config = tmp_path / "newsbot.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n', encoding="utf-8")
    for command in (["stories"], ["poll"], ["db", "upgrade"]):
        line = one_error_line(run_newsbot(config, *command), "database error")
        assert f"{tmp_path}/newsbot.db: file is not a database" in line


def test_a_schema_written_by_a_newer_newsbot_is_refused_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "newsbot.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n', encoding="utf-8")
    assert run_newsbot(config, "db", "upgrade").returncode == 0
    with sqlite3.connect(tmp_path / "newsbot.db") as database:
        database.execute("UPDATE alembic_version SET version_num = '9999'")
    for command in (["stories"], ["poll"], ["db", "upgrade"], ["feeds"]):
        line = one_error_line(run_newsbot(config, *command), "database error")
        assert "schema is at revision 9999, which this newsbot does not know" in line
        assert "a newer newsbot wrote it" in line


def test_an_unknown_revision_to_migrate_to_is_named(tmp_path: Path) -> None:
    config = tmp_path / "newsbot.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n', encoding="utf-8")
    line = one_error_line(
        run_newsbot(config, "db", "upgrade", "--revision", "bogus"), "database error"
    )
    assert "cannot migrate to revision 'bogus'" in line


def test_a_channel_password_of_the_wrong_type_is_not_quoted_back(tmp_path: Path) -> None:
    config = tmp_path / "newsbot.toml"
    config.write_text(
        '[[channels]]\nname = "desk"\ntype = "email"\n'
        '[channels.schedule]\ncron = "0 8 * * 1-5"\ntimezone = "UTC"\n'
        '[channels.email]\nhost = "127.0.0.1"\nport = 25\ntls = "none"\n'
        'from = "a@example.com"\nto = ["b@example.com"]\npassword = 987654321\n',
        encoding="utf-8",
    )
    result = run_newsbot(config, "check")
    line = one_error_line(result, "configuration error")
    assert "channels[0].email.password: Input should be a valid string" in line
    assert "987654321" not in result.stdout + result.stderr
