"""`newsbot run` as a real subprocess for daemon tests: config writing, start, wait, stop, kill.

Output goes to a file (not a pipe, which a chatty daemon could fill and block on), so tests can
read and grep the whole of it.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.exc import OperationalError


def run_newsbot(
    config: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """One `newsbot -c CONFIG ARGS...` command run to its end, as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "bot", "-c", str(config), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )


def healthz(base: str) -> tuple[int, dict[str, object]]:
    """The status and JSON body of the daemon's /healthz at `base` (http://host:port)."""
    try:
        with urllib.request.urlopen(base + "/healthz", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def wait_for(predicate: Callable[[], object], timeout: float = 60.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"condition not met within {timeout:.0f}s: {what}")


def write_config(
    path: Path,
    *,
    db_url: str,
    feed_urls: Iterable[str],
    poll_interval: int = 30,
    min_interval: int = 30,
    channels: str = "",
    extra: str = "",
    shutdown_grace: float = 20.0,
    allow_private_networks: bool = True,
    db_retry_delay: float | None = None,
) -> Path:
    """A daemon configuration; its feeds are on loopback, so fetching from private networks is
    allowed unless a test says otherwise. `db_retry_delay` shortens the daemon's first wait
    before retrying a database that does not answer (1 s by default, doubling)."""
    lines = [
        f"database_url = {json.dumps(db_url)}",
        f"data_dir = {json.dumps(str(path.parent))}",
        f"poll_interval = {poll_interval}",
        extra,
        "[fetch]",
        f"min_interval = {min_interval}",
        "total_timeout = 20.0",
        f"allow_private_networks = {json.dumps(allow_private_networks)}",
        "[daemon]",
        "health_port = 0",
        f"shutdown_grace = {shutdown_grace}",
    ]
    if db_retry_delay is not None:
        lines.append(f"db_retry_delay = {db_retry_delay}")
    for url in feed_urls:
        lines += ["[[feeds]]", f"url = {json.dumps(url)}"]
    path.write_text("\n".join(lines) + "\n" + channels, encoding="utf-8")
    return path


def slack_channel(name: str, webhook_url: str, cron: str = "* * * * *") -> str:
    return (
        f'[[channels]]\nname = "{name}"\ntype = "slack"\n'
        f'[channels.schedule]\ncron = "{cron}"\ntimezone = "UTC"\n'
        f"[channels.slack]\nwebhook_url = {json.dumps(webhook_url)}\n"
    )


def email_channel(name: str, port: int, cron: str = "* * * * *", extra: str = "") -> str:
    return (
        f'[[channels]]\nname = "{name}"\ntype = "email"\n'
        f'[channels.schedule]\ncron = "{cron}"\ntimezone = "UTC"\n'
        f'[channels.email]\nhost = "127.0.0.1"\nport = {port}\ntls = "none"\n'
        f'from = "newsbot <bot@example.test>"\nto = ["desk@example.test"]\n{extra}'
    )


class DaemonProcess:
    """One `newsbot run` subprocess writing to `log_path`."""

    def __init__(self, config: Path, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.config = config
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "--config", str(config), "run"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )

    @property
    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def health_url(self, timeout: float = 60.0) -> str:
        found: list[str] = []

        def bound() -> bool:
            match = re.search(r"health and metrics on (http://\S+)/healthz", self.output)
            if match:
                found.append(match.group(1))
            return bool(match) or self.process.poll() is not None

        wait_for(bound, timeout, "the daemon to log its health address")
        assert found, f"daemon exited early:\n{self.output}"
        return found[0]

    def stop(self, timeout: float = 60.0) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self._log.close()


def query(db_url: str, sql: str, **params: object) -> list[tuple[object, ...]]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()


def scalar(db_url: str, sql: str, **params: object) -> int:
    """A count; 0 while the daemon has not created the schema yet."""
    try:
        rows = query(db_url, sql, **params)
    except OperationalError:
        return 0
    return int(rows[0][0] or 0) if rows else 0  # type: ignore[call-overload]
