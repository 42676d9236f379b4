"""A crash between composing and sending (SQLite and PostgreSQL): `newsbot digest` runs as a
subprocess, its digest is stored, the Slack stand-in holds the post, and the process is
SIGKILLed while the request is held (the stand-in drops a request whose client went away, as
Slack does when the connection dies before the message is committed). The next `newsbot digest`
delivers the same stored digest exactly once; a further run posts nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from support.daemon_proc import query, scalar, wait_for
from support.digests import StoryStore, slack_channel_toml
from support.slack_stand_in import SlackStandIn

from bot.storage import Database, upgrade_schema


def newsbot(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "bot", "--config", str(config), *args]


def test_digest_killed_mid_send_is_delivered_once_after_restart(
    db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    db = Database(db_url)
    upgrade_schema(db)
    store = StoryStore(db, datetime.now(UTC))
    store.add("Oracle leases 1 GW of Stargate capacity to OpenAI", ["Reuters", "Bloomberg"])
    store.add("Lambda rents an H200 cluster to a lab", ["DCD"])
    db.dispose()
    config = tmp_path / "newsbot.toml"
    config.write_text(
        f'database_url = "{db_url}"\ndata_dir = "{tmp_path}"\n'
        + slack_channel_toml("desk", webhook_url=slack.webhook_url),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}

    slack.hold_next(1)
    log = (tmp_path / "first.log").open("wb")
    first = subprocess.Popen(
        newsbot(config, "digest", "--channel", "desk"),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        wait_for(slack.held.is_set, 60, "the digest's post to reach Slack")
        stored = query(db_url, "SELECT status, payload, idempotency_key FROM digests")
        assert [row[0] for row in stored] == ["sending"]  # stored before the attempt
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        log.close()
    slack.release()
    wait_for(lambda: slack.requests == 1, 10, "the held request to be dropped")
    assert slack.received == []  # the post never landed
    payload = stored[0][1]
    payload = json.loads(payload) if isinstance(payload, str) else payload
    assert isinstance(payload, dict)

    second = subprocess.run(
        newsbot(config, "digest", "--channel", "desk"),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert second.returncode == 0, second.stdout + second.stderr
    assert "delivered 1 earlier queued digest" in second.stdout
    received = [
        {k: v for k, v in message.items() if not k.startswith("unfurl_")}
        for message in slack.messages
    ]
    assert received == payload["messages"]  # the same stored digest, once
    rows = query(db_url, "SELECT status, idempotency_key, attempts FROM digests")
    assert rows == [("sent", stored[0][2], 2)]  # the killed attempt and the delivery

    third = subprocess.run(
        newsbot(config, "digest", "--channel", "desk"),
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert third.returncode == 0, third.stdout + third.stderr
    assert "desk: empty" in third.stdout
    assert len(slack.messages) == 1
    assert scalar(db_url, "SELECT count(*) FROM digests") == 1
