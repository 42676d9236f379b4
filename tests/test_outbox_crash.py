"""A crash while a post is in flight (SQLite and PostgreSQL, issue 18): `newsbot digest` runs as a
subprocess, its digest is stored, the Slack stand-in receives the post (it counts it once the body
has arrived) and holds the answer, and the process is SIGKILLed meanwhile. Whether the post landed
is then unknown to newsbot:

- with a bot token the next `newsbot digest` finds the post by its metadata in
  conversations.history and records it as delivered: it is not posted again;
- with a webhook the next `newsbot digest` marks the delivery "unknown" and does not post it
  again; `newsbot digests` says so, and `newsbot digests --resend ID` posts it when the operator
  says it did not arrive."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from support.daemon_proc import query, scalar, wait_for
from support.digests import StoryStore, slack_channel_toml
from support.slack_stand_in import SlackStandIn

from bot.storage.database import Database, upgrade_schema


def newsbot(config: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "bot", "--config", str(config), *args]


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        newsbot(config, *args), capture_output=True, text=True, env=env, timeout=180
    )


def kill_mid_send(db_url: str, slack: SlackStandIn, tmp_path: Path, channel: str) -> Any:
    """Store two stories, start `newsbot digest`, SIGKILL it while Slack holds the answer to its
    post; returns the stored payload."""
    db = Database(db_url)
    upgrade_schema(db)
    store = StoryStore(db, datetime.now(UTC))
    store.add("Oracle leases 1 GW of Stargate capacity to OpenAI", ["Reuters", "Bloomberg"])
    store.add("Lambda rents an H200 cluster to a lab", ["DCD"])
    db.dispose()
    config = tmp_path / "newsbot.toml"
    config.write_text(
        f'database_url = "{db_url}"\ndata_dir = "{tmp_path}"\n' + channel, encoding="utf-8"
    )
    slack.hold_next(1)
    log = (tmp_path / "first.log").open("wb")
    first = subprocess.Popen(
        newsbot(config, "digest", "--channel", "desk"),
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        wait_for(slack.held.is_set, 60, "the digest's post to reach Slack")
        stored = query(db_url, "SELECT status, payload FROM digests")
        assert [row[0] for row in stored] == ["sending"]  # stored before the attempt
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(30)
        log.close()
    slack.release()
    assert len(slack.received) == 1  # the post landed; newsbot never heard so
    payload = stored[0][1]
    return json.loads(payload) if isinstance(payload, str) else payload


def without_transport(message: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v
        for k, v in message.items()
        if not k.startswith("unfurl_") and k not in ("channel", "metadata")
    }


def test_a_bot_post_in_flight_at_a_crash_is_found_and_not_posted_again(
    db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    # A short client timeout, so that the post in doubt settles (twice that) soon after the crash;
    # still long enough that the post is in flight, not timed out, when the process is killed.
    channel = slack_channel_toml("desk", api_url=slack.api_url, timeout=3)
    payload = kill_mid_send(db_url, slack, tmp_path, channel)
    config = tmp_path / "newsbot.toml"

    second = run(config, "digest", "--channel", "desk")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "delivered 1 earlier queued digest" in second.stdout
    assert slack.history_requests >= 1  # looked up before anything was posted again
    assert [without_transport(m) for m in slack.messages] == payload["messages"]  # once
    [(status, progress, key)] = query(
        db_url, "SELECT status, progress, idempotency_key FROM digests"
    )
    assert status == "sent"
    progress = json.loads(progress) if isinstance(progress, str) else progress
    assert progress["refs"] == [slack.received[0].ts]  # the post found is the one recorded
    assert slack.received[0].payload["metadata"] == {
        "event_type": "newsbot_digest",
        "event_payload": {"outbox": key, "part": 0},
    }

    third = run(config, "digest", "--channel", "desk")
    assert third.returncode == 0, third.stdout + third.stderr
    assert "desk: empty" in third.stdout
    assert len(slack.messages) == 1
    assert scalar(db_url, "SELECT count(*) FROM digests") == 1


def test_a_webhook_post_in_flight_at_a_crash_is_unknown_until_the_operator_resends_it(
    db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    channel = slack_channel_toml("desk", webhook_url=slack.webhook_url)
    payload = kill_mid_send(db_url, slack, tmp_path, channel)
    config = tmp_path / "newsbot.toml"

    second = run(config, "digest", "--channel", "desk")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "desk: empty" in second.stdout  # its stories count as sent: they most likely were
    assert len(slack.messages) == 1  # not posted again blindly
    [(digest_id, status, error)] = query(db_url, "SELECT id, status, last_error FROM digests")
    assert status == "unknown"
    assert f"newsbot digests --resend {digest_id}" in str(error)

    listing = run(config, "digests")
    assert listing.returncode == 0, listing.stderr
    assert f"#{digest_id} desk" in listing.stdout and "unknown" in listing.stdout
    assert "delivery unknown" in listing.stdout and "--resend" in listing.stdout
    assert len(slack.messages) == 1

    resent = run(config, "digests", "--resend", str(digest_id))
    assert resent.returncode == 0, resent.stdout + resent.stderr
    assert f"#{digest_id} desk: sent" in resent.stdout
    assert len(slack.messages) == 2  # the operator said it had not arrived
    assert [without_transport(m) for m in slack.messages[1:]] == payload["messages"]
    assert query(db_url, "SELECT status FROM digests") == [("sent",)]
    again = run(config, "digests", "--resend", str(digest_id))
    assert again.returncode != 0 and "not one whose delivery is unknown" in again.stderr
    assert len(slack.messages) == 2
