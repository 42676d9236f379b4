"""The webhook channel end to end (issue 19, SQLite and PostgreSQL): a digest POSTed as one JSON
document to a real HTTP server on 127.0.0.1, through the outbox - delivered once, a 5xx
retried, a 4xx a permanent failure saying why, and a request whose answer never came left
``unknown`` and never posted again by itself, as with a Slack webhook."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select
from support.digests import PERIOD_END, Clock, StoryStore, service_settings
from support.webhook_sink import HOLD, WebhookSink

from bot.storage.database import Database
from bot.storage.models import DigestRow
from bot.worker.digests import DigestService

TOKEN = "Bearer sink-secret-token-1234"


@pytest.fixture
def sink() -> Iterator[WebhookSink]:
    with WebhookSink() as server:
        yield server


def service(
    db: Database,
    db_url: str,
    tmp_path: Path,
    clock: Clock,
    url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> DigestService:
    monkeypatch.setenv("NEWSBOT_TEST_SINK_TOKEN", TOKEN)
    channel = (
        '[[channels]]\nname = "chat"\ntype = "webhook"\nthreshold = 1.0\n'
        f'[channels.webhook]\nurl = "{url}"\ntimeout = 1.0\n'
        '[channels.webhook.headers]\nAuthorization = "${NEWSBOT_TEST_SINK_TOKEN}"\n'
    )
    settings = service_settings(db_url, tmp_path, channel)
    return DigestService(settings, db, clock=clock, sleep=clock.sleep)


def only_row(db: Database) -> DigestRow:
    with db.session() as session:
        (row,) = session.scalars(select(DigestRow))
        return row


def test_a_digest_is_posted_once_as_json_and_a_5xx_is_retried(
    db: Database, db_url: str, sink: WebhookSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(PERIOD_END)
    StoryStore(db, clock.now).add("Oracle leases 1 GW to OpenAI", ["Reuters", "Bloomberg"])
    svc = service(db, db_url, tmp_path, clock, sink.url, monkeypatch)
    sink.script = [(503, "upstream busy")]

    run = asyncio.run(svc.run("chat", kind="manual"))

    assert run.status == "sent", run
    assert len(sink.received) == 2  # the 503, then the retry
    assert sink.received[0].body == sink.received[1].body
    request = sink.received[1]
    assert request.path == "/hooks/newsbot"
    assert request.headers["authorization"] == TOKEN  # from the environment
    assert request.headers["content-type"] == "application/json"
    row = only_row(db)
    assert request.headers["idempotency-key"] == row.idempotency_key
    assert row.status == "sent" and row.attempts == 2
    document = request.body
    assert document["schema"] == "newsbot.digest/1"
    assert document["channel"] == "chat"
    assert document["period_end"] == PERIOD_END.isoformat()
    (story,) = document["stories"]
    assert story["headline"] == "Oracle leases 1 GW to OpenAI"
    assert sorted(source["outlet"] for source in story["sources"]) == ["Bloomberg", "Reuters"]
    assert story["updated"] is False and isinstance(story["id"], int)

    clock.advance(3600)
    assert asyncio.run(svc.run("chat", kind="manual")).status == "empty"  # sent, not again
    assert len(sink.received) == 2


def test_a_4xx_fails_permanently_saying_why_without_the_secret(
    db: Database, db_url: str, sink: WebhookSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(PERIOD_END)
    StoryStore(db, clock.now).add("Oracle leases 1 GW to OpenAI", ["Reuters"])
    svc = service(db, db_url, tmp_path, clock, sink.url, monkeypatch)
    sink.script = [(401, "bad token")]

    run = asyncio.run(svc.run("chat", kind="manual"))

    assert run.status == "failed", run
    assert len(sink.received) == 1  # not retried
    row = only_row(db)
    assert row.status == "failed"
    error = row.last_error or ""
    assert "webhook refused the digest: HTTP 401 (bad token)" in error
    assert "sink-secret-token" not in error and sink.url not in error
    clock.advance(24 * 3600)
    assert asyncio.run(svc.deliver_due()) == []
    assert len(sink.received) == 1


def test_a_request_whose_answer_never_came_is_unknown_and_not_posted_again(
    db: Database, db_url: str, sink: WebhookSink, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = Clock(PERIOD_END)
    StoryStore(db, clock.now).add("Oracle leases 1 GW to OpenAI", ["Reuters"])
    svc = service(db, db_url, tmp_path, clock, sink.url, monkeypatch)
    sink.script = [(HOLD, "")]  # the body arrives; the answer comes after the client's timeout

    run = asyncio.run(svc.run("chat", kind="manual"))
    sink.release()

    assert run.status == "unknown", run
    assert len(sink.received) == 1
    row = only_row(db)
    assert row.status == "unknown" and row.next_attempt_at is None
    assert f"newsbot digests --resend {row.id}" in (row.last_error or "")
    clock.advance(24 * 3600)  # however long: never posted again by itself
    assert asyncio.run(svc.deliver_due()) == []
    assert len(sink.received) == 1

    assert svc.resend(row.id) == ("chat", row.id)  # the operator: it did not arrive
    assert [status for _, status, _ in asyncio.run(svc.deliver_due())] == ["sent"]
    assert len(sink.received) == 2
