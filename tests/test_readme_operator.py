"""The README's operator sections (Install; systemd with its configuration, Secrets, Time zones
and Start), followed word for word on a fresh machine, give a running daemon that delivers a
digest (issue 17).

The test runs the README's own blocks: every fenced ``sh`` or ``toml`` block preceded by an
``<!-- operator-step: NAME -->`` comment (a ``toml`` block names its file: ``file=PATH``), in
README order. ``sh`` lines run one by one in bash, in the checkout; ``toml`` blocks are written
to their file. What a test cannot do on the real machine is stood in for, and only that:

- the machine's ``/etc/newsbot``, ``/opt/newsbot``, ``/var/lib/newsbot`` and
  ``/etc/systemd/system`` are folders under a temporary root;
- the outside world is on 127.0.0.1: the feed URL, the Slack webhook URL and the SMTP server
  (plain SMTP, as the configuration allows for localhost: ``tls = "none"``), ``/healthz`` on an
  ephemeral port (``health_port = 0``, the bound port replacing 8787 in ``curl``), and a cron
  whose latest time was two minutes ago, so that the daemon catches that period up after its
  first poll (within the misfire grace) and a digest is due at once; the README's
  ``allow_private_networks = false`` becomes ``true``, as an operator polling a feed on their own
  network sets it;
- root-only steps that change the machine's users (``useradd``, ``chgrp``, ``install -g``) are
  skipped: files stay owned by the test's user;
- ``systemctl`` and ``journalctl`` are emulated from the unit file the README copies:
  ``enable --now`` starts its ``ExecStart`` with its ``EnvironmentFile``, ``WorkingDirectory``
  and ``StateDirectory``; ``reload`` sends SIGHUP when the unit has an ``ExecReload`` that does;
  ``stop`` sends its ``KillSignal``; ``journalctl`` shows the daemon's output;
- the install step (``python3 -m venv`` and ``pip install '.[postgres]'``) runs for real into
  the temporary ``/opt/newsbot`` (about 20 s with pip's cache warm from ``make venv``; the
  index must answer). ``NEWSBOT_TEST_README_INSTALL=0`` skips it, and ``/opt/newsbot/bin/newsbot``
  is then the ``newsbot`` of the environment running the tests.

More operator steps (the feed lifecycle, for one) join this test by being marked in the README
the same way; steps after ``systemctl enable --now newsbot`` run while the daemon is up, and
the test then still waits for a digest and stops the daemon.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.daemon_proc import wait_for
from support.slack_stand_in import SlackStandIn
from support.smtp import SMTPServer, smtp_server

from bot.demo.data import demo_feeds, render_demo_feeds
from bot.demo.server import FeedServer

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
UNIT = ROOT / "config" / "newsbot.service"
MACHINE_PATHS = ("/etc/systemd/system", "/etc/newsbot", "/opt/newsbot", "/var/lib/newsbot")
STEP = re.compile(
    r"^<!-- operator-step: (?P<name>\S+)(?: file=(?P<file>\S+))? -->\n"
    r"```(?P<lang>\w+)\n(?P<body>.*?)^```",
    re.MULTILINE | re.DOTALL,
)
INSTALL_FOR_REAL = os.environ.get("NEWSBOT_TEST_README_INSTALL", "1") != "0"


@dataclass(frozen=True)
class Step:
    name: str
    lang: str
    body: str
    file: str | None


def readme_steps() -> list[Step]:
    text = README.read_text(encoding="utf-8")
    return [Step(m["name"], m["lang"], m["body"], m["file"]) for m in STEP.finditer(text)]


def test_the_readme_marks_its_operator_steps() -> None:
    names = [step.name for step in readme_steps()]
    for name in ("install", "systemd-files", "config", "secrets", "start", "feeds"):
        assert name in names, f"README lost its {name!r} operator step"
    assert all(step.lang in ("sh", "toml") for step in readme_steps())
    assert all(step.file for step in readme_steps() if step.lang == "toml")


def test_the_unit_header_gives_the_readmes_install_commands() -> None:
    """One set of install commands: the unit's header lists the README's, word for word."""
    header = []
    for line in UNIT.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        if line.startswith("#   ") and not line.startswith("#   #"):
            header.append(line[4:])
    steps = readme_steps()
    install = steps[: [step.name for step in steps].index("start") + 1]  # not what runs after
    readme = [
        line for step in install if step.lang == "sh" for line in step.body.strip().splitlines()
    ]
    assert header == readme


class Machine:
    """The fresh machine the README's steps run on (see the module docstring)."""

    def __init__(
        self,
        root: Path,
        feed_url: str,
        slack: SlackStandIn,
        smtp: SMTPServer,
        smtp_users: dict[str, str],
    ) -> None:
        self.root = root
        self.feed_url = feed_url
        self.slack = slack
        self.smtp = smtp
        self.smtp_users = smtp_users
        self.unit: dict[str, list[str]] = {}
        self.daemon: subprocess.Popen[bytes] | None = None
        self.journal = root / "journal.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSBOT_")}
        (root / "etc" / "systemd" / "system").mkdir(parents=True)
        if not INSTALL_FOR_REAL:
            bin_dir = root / "opt" / "newsbot" / "bin"
            bin_dir.mkdir(parents=True)
            installed = Path(sys.executable).parent / "newsbot"
            assert installed.exists(), f"no newsbot next to {sys.executable}: run make venv"
            (bin_dir / "newsbot").symlink_to(installed)

    # paths and loopback --------------------------------------------------------------------
    def local(self, text: str) -> str:
        for path in MACHINE_PATHS:
            text = text.replace(path, str(self.root) + path)
        return text

    def loopback_toml(self, text: str) -> str:
        text = re.sub(r'(?m)^url = "https?://[^"]+"', f"url = {json.dumps(self.feed_url)}", text)
        replacements = {
            r'(?m)^host = "[^"]+"': 'host = "127.0.0.1"',
            r"(?m)^port = \d+": f"port = {self.smtp.port}",
            r'(?m)^tls = "[^"]+"': 'tls = "none"',
            r"(?m)^health_port = \d+": "health_port = 0",
            # The README's switch for feeds on the operator's own network: the stand-in feed
            # is on loopback.
            r"(?m)^allow_private_networks = false": "allow_private_networks = true",
            r'(?m)^cron = "[^"]+"': f'cron = "{(datetime.now(UTC).minute - 2) % 60} * * * *"',
        }
        for pattern, value in replacements.items():
            text, count = re.subn(pattern, value, text)
            required = "health_port" in pattern or "allow_private_networks" in pattern
            assert count or not required, f"README config lacks {pattern}"
        return text

    # running steps -------------------------------------------------------------------------
    def run(self, step: Step) -> None:
        if step.lang == "toml":
            assert step.file is not None
            target = Path(self.local(step.file))
            target.write_text(self.local(self.loopback_toml(step.body)), encoding="utf-8")
            return
        for line in step.body.strip().splitlines():
            for command in line.split(" && "):  # each part on its own, emulated where needed
                self.shell(command)

    def shell(self, line: str) -> None:
        words = shlex.split(line, comments=True)
        emulated = {"useradd", "chgrp", "chown", "systemctl", "journalctl", "sudo"}
        hidden = emulated & set(words[1:])
        assert not hidden, f"{line!r}: {hidden} inside a command cannot be emulated safely"
        if not words:
            return
        if words[0] in ("useradd", "chgrp", "chown"):
            return  # needs root and changes the machine's users
        if step_installs(words) and not INSTALL_FOR_REAL:
            return
        if words[0] == "systemctl":
            self.systemctl(words[1:])
            return
        if words[0] == "journalctl":
            self.wait_for_log("newsbot running")
            return
        if words[0] == "curl":
            port = self.wait_until_healthy()
            line = line.replace("127.0.0.1:8787", f"127.0.0.1:{port}")
        line = line.replace(" -g newsbot", "")
        line = re.sub(r"https://hooks\.slack\.com/services/[^' ]+", self.slack.webhook_url, line)
        result = subprocess.run(
            ["bash", "-e", "-o", "pipefail", "-c", self.local(line)],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert result.returncode == 0, f"README step failed: {line}\n{result.stdout}{result.stderr}"
        if words[0] == "curl":
            assert json.loads(result.stdout)["status"] == "ok", result.stdout

    def systemctl(self, args: list[str]) -> None:
        if args == ["daemon-reload"]:
            self.unit = parse_unit(self.root / "etc/systemd/system/newsbot.service")
        elif args[:2] == ["enable", "--now"] and args[2:] == ["newsbot"]:
            assert self.unit, "systemctl enable before daemon-reload"
            self.start()
        elif args == ["reload", "newsbot"]:
            reload_line = " ".join(self.unit.get("ExecReload", []))
            assert "-HUP" in reload_line, "the unit has no ExecReload sending SIGHUP"
            assert self.daemon is not None
            self.daemon.send_signal(signal.SIGHUP)
        elif args == ["stop", "newsbot"]:
            self.stop()
        else:
            raise AssertionError(f"systemctl {' '.join(args)}: not emulated")

    def start(self) -> None:
        service = self.unit
        env = dict(self.env)
        for file in service.get("EnvironmentFile", []):
            path = Path(self.local(file.lstrip("-")))
            if path.exists():
                for line in path.read_text(encoding="utf-8").splitlines():
                    if line.strip() and not line.startswith("#"):
                        key, _, value = line.partition("=")
                        env[key.strip()] = value.strip()
        for name in service.get("StateDirectory", []):
            (self.root / "var" / "lib" / name).mkdir(parents=True, exist_ok=True)
        # the SMTP sink takes the login the configuration and the environment file give
        config = self.root / "etc/newsbot/newsbot.toml"
        username = re.search(r'(?m)^username = "([^"]+)"', config.read_text(encoding="utf-8"))
        if username and "NEWSBOT_SMTP_PASSWORD" in env:
            self.smtp_users[username.group(1)] = env["NEWSBOT_SMTP_PASSWORD"]
        command = shlex.split(self.local(service["ExecStart"][-1]))
        workdir = self.local(service.get("WorkingDirectory", ["/"])[-1])
        self.daemon = subprocess.Popen(
            command,
            cwd=workdir,
            env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=self.journal.open("ab"),
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return (
            self.journal.read_text(encoding="utf-8", errors="replace")
            if self.journal.exists()
            else ""
        )

    def wait_for_log(self, text: str) -> None:
        def seen() -> bool:
            assert self.daemon is not None and self.daemon.poll() is None, self.output()
            return text in self.output()

        wait_for(seen, 120, f"{text!r} in the daemon's output")

    def wait_until_healthy(self) -> int:
        self.wait_for_log("health and metrics on")
        match = re.search(r"health and metrics on http://127\.0\.0\.1:(\d+)/healthz", self.output())
        assert match, self.output()
        port = int(match.group(1))

        def healthy() -> bool:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
                    return r.status == 200
            except urllib.error.HTTPError:
                return False

        wait_for(healthy, 120, "/healthz to answer 200")
        return port

    def stop(self) -> int:
        if self.daemon is None:
            return 0
        kill = self.unit.get("KillSignal", ["SIGTERM"])[-1]
        if self.daemon.poll() is None:
            self.daemon.send_signal(getattr(signal, kill))
        code = self.daemon.wait(timeout=120)
        return code


def step_installs(words: list[str]) -> bool:
    """`python3 -m venv /opt/newsbot` and `/opt/newsbot/bin/pip install ...`."""
    return words[:3] == ["python3", "-m", "venv"] or (
        words[0].endswith("/bin/pip") and "install" in words
    )


def parse_unit(path: Path) -> dict[str, list[str]]:
    """The [Service] keys of a unit file, each with its values in order."""
    keys: dict[str, list[str]] = {}
    section = None
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            keys.setdefault(key, []).append(value)
    return keys


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer(render_demo_feeds(datetime.now(UTC))) as server:
        yield server


@pytest.mark.slow
def test_readme_operator_steps_give_a_running_daemon_that_delivers(
    feeds: FeedServer, tmp_path: Path
) -> None:
    users: dict[str, str] = {}  # filled from the README's configuration and secrets at start
    with SlackStandIn() as slack, smtp_server(users=users) as smtp:
        machine = Machine(tmp_path, feeds.url(demo_feeds()[0].path), slack, smtp, users)
        try:
            steps = readme_steps()
            for step in steps:
                machine.run(step)
            assert machine.daemon is not None, "the README never started the daemon"
            wait_for(lambda: slack.messages, 120, "a digest on Slack")
            wait_for(lambda: smtp.received, 120, "a digest by email")
        finally:
            code = machine.stop()
    output = machine.output()
    assert code == 0, output
    assert "stopped" in output
    assert users, "the SMTP login did not come from the README's configuration and secrets"
    assert smtp.received[0].message["To"] == "analysts@example.com"
    assert (tmp_path / "var/lib/newsbot/newsbot.db").exists()  # data_dir, as the README set it
    assert "Traceback" not in output
    # The feed lifecycle steps ran against the running daemon: the reload took.
    assert "SIGHUP: reloading the configuration" in output
