"""Slack posts in doubt (issue 18, SQLite and PostgreSQL): Slack received the body, then answered
after the client's timeout or dropped the connection, so newsbot cannot know whether the message
was posted. The stand-in counts such a request as received.

- With a bot token, the next attempt looks the post up in conversations.history by the metadata
  it was tagged with, and records a found one as delivered; it posts again only when Slack never
  committed the message, and leaves the delivery "unknown" when the token cannot read history.
- With a webhook, the delivery becomes "unknown": not posted again, shown by `newsbot digests`
  and /metrics, until the operator resends it."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from prometheus_client import generate_latest
from sqlalchemy import select
from support.digests import PERIOD_END, Clock, StoryStore, service_settings, slack_channel_toml
from support.slack_stand_in import SlackStandIn

from bot import metrics
from bot.storage.database import Database
from bot.storage.models import DeliveryRow, DigestRow
from bot.worker.digests import DigestService

# The Slack client's timeout (`[channels.slack] timeout`, 10 s by default), which a held answer
# outlasts.
CLIENT_TIMEOUT_S = 1


def service(db: Database, db_url: str, tmp_path: Path, clock: Clock, channel: str) -> DigestService:
    return DigestService(
        service_settings(db_url, tmp_path, channel), db, clock=clock, sleep=clock.sleep
    )


def only_row(db: Database) -> DigestRow:
    with db.session() as session:
        (row,) = session.scalars(select(DigestRow))
        return row


def outcomes(db: Database) -> list[str]:
    with db.session() as session:
        return list(session.scalars(select(DeliveryRow.outcome).order_by(DeliveryRow.attempt)))


def lose_the_answer(slack: SlackStandIn, how: str) -> None:
    """The next request reaches Slack and is posted; its answer never reaches newsbot."""
    if how == "timeout":
        slack.hold_next(1)  # answered after the client's timeout (released at the end)
    else:
        slack.drop_next(1)


def metric(name: str, **labels: str) -> float:
    value = metrics.REGISTRY.get_sample_value(name, labels)
    return value or 0.0


@pytest.mark.parametrize("how", ["timeout", "dropped"])
def test_a_webhook_post_in_doubt_is_not_posted_again_and_is_shown_as_unknown(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path, how: str
) -> None:
    clock = Clock(PERIOD_END)
    StoryStore(db, clock.now).add("Oracle leases 1 GW to OpenAI", ["Reuters"])
    channel = slack_channel_toml("desk", webhook_url=slack.webhook_url, timeout=CLIENT_TIMEOUT_S)
    svc = service(db, db_url, tmp_path, clock, channel)
    unknown_before = metric(
        "newsbot_digests_failed_total", channel="desk", kind="manual", reason="unknown"
    )
    lose_the_answer(slack, how)
    try:
        run = asyncio.run(svc.run("desk", kind="manual"))
    finally:
        slack.release()
    assert len(slack.received) == 1
    assert run.status == "unknown", run
    row = only_row(db)
    assert row.status == "unknown" and row.next_attempt_at is None
    assert f"newsbot digests --resend {row.id}" in (row.last_error or "")
    assert outcomes(db) == ["unknown"]

    clock.advance(24 * 3600)  # however long: never posted again by itself
    assert asyncio.run(svc.deliver_due()) == []
    assert asyncio.run(svc.run("desk", kind="manual")).status == "empty"  # counted as sent
    assert len(slack.received) == 1

    assert (
        metric("newsbot_digests_failed_total", channel="desk", kind="manual", reason="unknown")
        == unknown_before + 1
    )
    assert metric("newsbot_digests_unknown") == 1
    assert "newsbot_digests_unknown 1.0" in generate_latest(metrics.REGISTRY).decode()

    assert svc.resend(row.id) == ("desk", row.id)  # the operator: it did not arrive
    assert [status for _, status, _ in asyncio.run(svc.deliver_due())] == ["sent"]
    assert len(slack.received) == 2 and only_row(db).status == "sent"
    assert metric("newsbot_digests_unknown") == 0


@pytest.mark.parametrize("how", ["timeout", "dropped"])
def test_a_bot_post_in_doubt_is_found_by_its_metadata_and_not_posted_again(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path, how: str
) -> None:
    clock = Clock(PERIOD_END)
    StoryStore(db, clock.now).add("Oracle leases 1 GW to OpenAI", ["Reuters"])
    channel = slack_channel_toml("desk", api_url=slack.api_url, timeout=CLIENT_TIMEOUT_S)
    svc = service(db, db_url, tmp_path, clock, channel)
    lose_the_answer(slack, how)
    try:
        run = asyncio.run(svc.run("desk", kind="manual"))
    finally:
        slack.release()
    assert run.status == "sent", run
    assert len(slack.received) == 1  # found, not posted again
    assert slack.history_requests >= 1
    row = only_row(db)
    assert row.status == "sent"
    assert row.progress["refs"] == [slack.received[0].ts]
    assert slack.received[0].payload["metadata"] == {
        "event_type": "newsbot_digest",
        "event_payload": {"outbox": row.idempotency_key, "part": 0},
    }
    assert outcomes(db)[0] == "ambiguous" and outcomes(db)[-1] == "sent"


def test_a_bot_post_that_slack_never_committed_is_posted_again(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    clock = Clock(PERIOD_END)
    StoryStore(db, clock.now).add("Oracle leases 1 GW to OpenAI", ["Reuters"])
    svc = service(db, db_url, tmp_path, clock, slack_channel_toml("desk", api_url=slack.api_url))
    slack.drop_next(1, committed=False)
    run = asyncio.run(svc.run("desk", kind="manual"))
    assert run.status == "sent", run
    assert slack.requests >= 3 and slack.history_requests >= 1  # post, look-up, post
    assert len(slack.received) == 1


def test_a_bot_post_in_doubt_that_cannot_be_looked_up_is_unknown(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    slack.scopes = frozenset({"chat:write"})  # no channels:history
    clock = Clock(PERIOD_END)
    StoryStore(db, clock.now).add("Oracle leases 1 GW to OpenAI", ["Reuters"])
    svc = service(db, db_url, tmp_path, clock, slack_channel_toml("desk", api_url=slack.api_url))
    slack.drop_next(1)
    run = asyncio.run(svc.run("desk", kind="manual"))
    assert run.status == "unknown", run
    assert "missing_scope" in (run.error or "") and "channels:history" in (run.error or "")
    assert len(slack.received) == 1
    assert only_row(db).status == "unknown"


def test_a_thread_reply_in_doubt_is_found_in_the_thread_and_not_posted_again(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    clock = Clock(PERIOD_END)
    store = StoryStore(db, clock.now)
    svc = service(db, db_url, tmp_path, clock, slack_channel_toml("desk", api_url=slack.api_url))
    deal = store.add("Oracle leases 1 GW to OpenAI", ["Reuters"])
    assert asyncio.run(svc.run("desk", kind="manual")).status == "sent"
    (parent,) = [r.ts for r in slack.received]

    clock.advance(600)
    store.add_outlet(deal, "Bloomberg", at=clock.now)
    store.add_outlet(deal, "The Information", at=clock.now)
    slack.drop_next(1)  # the reply is posted; its answer is lost
    report = asyncio.run(svc.after_poll())
    assert report.updates == {"desk": [deal]}
    assert [status for _, status, _ in report.delivered] == ["sent"]
    replies = [r for r in slack.received if r.thread_ts]
    assert len(replies) == 1 and replies[0].thread_ts == parent  # found, not posted again
    assert slack.history_requests >= 1
    assert len(slack.received) == 2
