"""The outbox's reliability on SQLite and PostgreSQL against the Slack stand-in and aiosmtpd:
every attempt recorded, exponential back-off, Slack's Retry-After honoured, transient versus
permanent failures (ERROR log, `failed` in `newsbot digests`, a Prometheus counter), and no period
posted twice when two services race."""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from support.digests import PERIOD_END, Clock, StoryStore, service_settings, slack_channel_toml
from support.slack_stand_in import SlackStandIn
from support.smtp import smtp_server

from bot import metrics
from bot.cli.main import cli
from bot.storage.database import Database, upgrade_schema
from bot.storage.models import DeliveryRow, DigestRow
from bot.worker.digests import DigestService
from bot.worker.outbox import BACKOFF_BASE_S, MAX_INLINE_RETRY_DELAY


def attempts(db: Database) -> list[tuple[str, str | None]]:
    with db.session() as session:
        rows = session.scalars(
            select(DeliveryRow).order_by(DeliveryRow.digest_id, DeliveryRow.attempt)
        )
        return [(row.outcome, (row.detail or {}).get("code")) for row in rows]


def outbox(db: Database) -> list[DigestRow]:
    with db.session() as session:
        return list(session.scalars(select(DigestRow).order_by(DigestRow.id)))


def webhook_service(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path, clock: Clock
) -> DigestService:
    settings = service_settings(
        db_url, tmp_path, slack_channel_toml("desk", webhook_url=slack.webhook_url)
    )
    return DigestService(settings, db, clock=clock, sleep=clock.sleep)


def test_server_errors_back_off_exponentially_and_every_attempt_is_recorded(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    clock = Clock(PERIOD_END)
    StoryStore(db, clock.now).add("Oracle leases 1 GW to OpenAI", ["Reuters"])
    svc = webhook_service(db, db_url, slack, tmp_path, clock)
    slack.fail_next(3, status=503)

    result = asyncio.run(svc.run("desk", kind="manual"))
    # first back-off (15-30 s) is waited for within the run; the second (30-60 s) may be too
    assert BACKOFF_BASE_S / 2 <= clock.sleeps[0] <= BACKOFF_BASE_S
    while result.status != "sent":
        assert result.status == "queued" and slack.messages == []
        (row,) = outbox(db)
        assert row.status == "pending" and row.next_attempt_at is not None
        wait = (row.next_attempt_at - clock.now).total_seconds()
        assert wait > MAX_INLINE_RETRY_DELAY or len(clock.sleeps) >= 3
        assert asyncio.run(svc.deliver_due()) == []  # not due yet
        clock.now = row.next_attempt_at
        ((_, status, _),) = asyncio.run(svc.deliver_due())
        result.status = status
    waits = [*clock.sleeps]
    (row,) = outbox(db)
    assert row.status == "sent" and row.attempts == 4
    assert attempts(db) == [
        ("transient", "http_503"),
        ("transient", "http_503"),
        ("transient", "http_503"),
        ("sent", None),
    ]
    assert len(slack.messages) == 1 and waits  # delivered once, after backing off


def test_backoff_doubles_per_attempt_up_to_the_cap() -> None:
    from bot.worker.outbox import MAX_BACKOFF, backoff_delay

    for attempt in range(1, 12):
        base = min(BACKOFF_BASE_S * 2 ** (attempt - 1), MAX_BACKOFF.total_seconds())
        delay = backoff_delay(attempt).total_seconds()
        assert base / 2 <= delay <= base


def test_rate_limit_retry_after_is_honoured(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    clock = Clock(PERIOD_END)
    StoryStore(db, clock.now).add("Oracle leases 1 GW to OpenAI", ["Reuters"])
    svc = webhook_service(db, db_url, slack, tmp_path, clock)
    slack.fail_next(1, status=429, retry_after=120)  # too long to wait inside the run

    assert asyncio.run(svc.run("desk", kind="manual")).status == "queued"
    (row,) = outbox(db)
    assert row.next_attempt_at == PERIOD_END + timedelta(seconds=120)
    clock.advance(119)
    assert asyncio.run(svc.deliver_due()) == []
    clock.advance(1)
    assert [status for _, status, _ in asyncio.run(svc.deliver_due())] == ["sent"]
    assert attempts(db) == [("transient", "ratelimited"), ("sent", None)]
    assert len(slack.messages) == 1


def test_a_retry_after_of_days_is_capped_at_the_longest_backoff(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    """Before, "Retry-After: 999999" held the digest and its stories for eleven days, every
    later digest going out without them."""
    from bot.worker.outbox import MAX_RETRY_AFTER

    clock = Clock(PERIOD_END)
    StoryStore(db, clock.now).add("Oracle leases 1 GW to OpenAI", ["Reuters"])
    svc = webhook_service(db, db_url, slack, tmp_path, clock)
    slack.fail_next(1, status=429, retry_after=999999)

    assert asyncio.run(svc.run("desk", kind="manual")).status == "queued"
    (row,) = outbox(db)
    assert timedelta(hours=1) == MAX_RETRY_AFTER
    assert row.next_attempt_at == PERIOD_END + MAX_RETRY_AFTER
    clock.advance(MAX_RETRY_AFTER.total_seconds())
    assert [status for _, status, _ in asyncio.run(svc.deliver_due())] == ["sent"]
    assert len(slack.messages) == 1


def test_invalid_auth_is_permanent_loud_and_listed_as_failed(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(PERIOD_END)
    StoryStore(db, clock.now).add("Oracle leases 1 GW to OpenAI", ["Reuters"])
    channel = slack_channel_toml("desk", api_url=slack.api_url, token="xoxb-wrong")
    settings = service_settings(db_url, tmp_path, channel)
    (tmp_path / "newsbot.toml").write_text(
        f'database_url = "{db_url}"\ndata_dir = "{tmp_path}"\n{channel}', encoding="utf-8"
    )
    svc = DigestService(settings, db, clock=clock, sleep=clock.sleep)
    labels = {"channel": "desk", "kind": "manual", "reason": "permanent"}
    before = metrics.REGISTRY.get_sample_value("newsbot_digests_failed_total", labels) or 0.0

    with caplog.at_level(logging.ERROR, logger="bot.worker.outbox"):
        result = asyncio.run(svc.run("desk", kind="manual"))
    assert result.status == "failed" and "invalid_auth" in (result.error or "")
    assert any(
        r.levelno == logging.ERROR and "FAILED permanently" in r.getMessage()
        for r in caplog.records
    )
    assert metrics.REGISTRY.get_sample_value("newsbot_digests_failed_total", labels) == before + 1
    assert attempts(db) == [("permanent", "invalid_auth")]
    assert asyncio.run(svc.deliver_due()) == []  # never retried
    assert "xoxb-wrong" not in (result.error or "")

    listing = CliRunner().invoke(cli, ["-c", str(tmp_path / "newsbot.toml"), "digests"])
    assert listing.exit_code == 0, listing.output
    line = next(line for line in listing.output.splitlines() if line.startswith("#"))
    assert "desk" in line and " failed " in line and "1 attempt " in line
    assert "invalid_auth" in line and "the bot token is invalid" in line
    assert "xoxb-wrong" not in listing.output


def email_settings_toml(port: int) -> str:
    return (
        '[[channels]]\nname = "mail"\ntype = "email"\nthreshold = 1.0\n'
        f'[channels.email]\nhost = "127.0.0.1"\nport = {port}\ntls = "none"\n'
        'from = "newsbot <bot@example.test>"\nto = ["desk@example.test"]\n'
    )


def test_smtp_4xx_is_retried_and_5xx_fails_permanently(
    db: Database, db_url: str, tmp_path: Path
) -> None:
    clock = Clock(PERIOD_END)
    store = StoryStore(db, clock.now)
    store.add("Oracle leases 1 GW to OpenAI", ["Reuters"])
    with smtp_server() as smtp:
        settings = service_settings(db_url, tmp_path, email_settings_toml(smtp.port))
        svc = DigestService(settings, db, clock=clock, sleep=clock.sleep)
        smtp.handler.data_replies.append("451 4.3.0 try again later")
        assert asyncio.run(svc.run("mail", kind="manual")).status == "sent"
        assert len(smtp.received) == 1
        assert attempts(db) == [("transient", "smtp_451"), ("sent", None)]

        clock.advance(3600)
        store.add("Lambda rents H200 cluster", ["DCD"])
        smtp.handler.data_replies.append("554 5.7.1 message refused")
        result = asyncio.run(svc.run("mail", kind="manual"))
        assert result.status == "failed" and "554" in (result.error or "")
        assert len(smtp.received) == 1
        assert [row.status for row in outbox(db)] == ["sent", "failed"]


def test_two_services_racing_on_one_period_post_it_once(
    db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    clock = Clock(PERIOD_END)
    seed = Database(db_url)
    upgrade_schema(seed)
    store = StoryStore(seed, clock.now)
    for n in range(3):
        store.add(f"Deal {n}: GPU capacity lease", ["Reuters", "DCD"])
    settings = service_settings(
        db_url, tmp_path, slack_channel_toml("desk", webhook_url=slack.webhook_url)
    )
    databases = [Database(db_url) for _ in range(4)]  # separate engines, like separate processes
    services = [
        DigestService(settings, database, instance=f"i{n}", clock=clock, sleep=clock.sleep)
        for n, database in enumerate(databases)
    ]
    barrier = threading.Barrier(len(services))
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def race(svc: DigestService) -> None:
        try:
            barrier.wait()
            run = asyncio.run(svc.run("desk", period_key="scheduled:2026-05-14T08:00:00+00:00"))
            outcomes.append(run.status)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=race, args=(svc,)) for svc in services]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    # one service stored the period (its own run, or another's delivery pass, sent it)
    # the others found it stored, or composed after it was and found nothing left to send
    assert len(outcomes) == 4 and set(outcomes) <= {"sent", "queued", "already_done", "empty"}
    assert outcomes.count("sent") + outcomes.count("queued") == 1, outcomes
    assert [row.status for row in outbox(seed)] == ["sent"]
    assert len(slack.messages) == 1
    with seed.session() as session:
        assert session.scalar(select(func.count()).select_from(DigestRow)) == 1
        assert session.scalar(select(func.count()).select_from(DeliveryRow)) == 1
    for database in [*databases, seed]:
        database.dispose()


def test_a_digest_being_sent_is_not_claimed_by_another_service(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path
) -> None:
    clock = Clock(PERIOD_END)
    StoryStore(db, clock.now).add("Oracle leases 1 GW to OpenAI", ["Reuters"])
    first = webhook_service(db, db_url, slack, tmp_path, clock)
    other_db = Database(db_url)
    second = DigestService(first.settings, other_db, instance="second", clock=clock)
    first.enqueue("desk", period_key="scheduled:2026-05-14T08:00:00+00:00")
    slack.hold_next(1)
    results: list[list[tuple[int, str, str | None]]] = []
    sender = threading.Thread(target=lambda: results.append(asyncio.run(first.deliver_due())))
    sender.start()
    assert slack.held.wait(30)
    try:
        assert asyncio.run(second.deliver_due()) == []  # leased by the first
    finally:
        slack.release()
        sender.join(30)
    assert [status for _, status, _ in results[0]] == ["sent"]
    assert asyncio.run(second.deliver_due()) == []
    assert len(slack.messages) == 1
    other_db.dispose()


def test_a_pending_digest_of_a_removed_channel_is_abandoned_and_others_still_deliver(
    db: Database, db_url: str, slack: SlackStandIn, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = Clock(PERIOD_END)
    StoryStore(db, clock.now).add("Oracle leases 1 GW to OpenAI", ["Reuters"])
    channels = slack_channel_toml("desk", webhook_url=slack.webhook_url)
    before = service_settings(
        db_url, tmp_path, channels + slack_channel_toml("gone", webhook_url=slack.webhook_url)
    )
    queued = DigestService(before, db, clock=clock, sleep=clock.sleep).enqueue("gone")
    assert queued.status == "queued"

    # restart with "gone" removed from the configuration
    after = DigestService(
        service_settings(db_url, tmp_path, channels), db, clock=clock, sleep=clock.sleep
    )
    desk = after.enqueue("desk")
    with caplog.at_level(logging.WARNING, logger="bot.worker.outbox"):
        report = asyncio.run(after.after_poll())  # must not raise KeyError

    assert (queued.outbox_id, "abandoned") in [(i, s) for i, s, _ in report.delivered]
    assert (desk.outbox_id, "sent") in [(i, s) for i, s, _ in report.delivered]
    assert len(slack.messages) == 1  # desk's digest only
    rows = {row.channel: row for row in outbox(db)}
    assert rows["gone"].status == "abandoned" and rows["desk"].status == "sent"
    assert "no longer configured" in (rows["gone"].last_error or "")
    assert rows["gone"].lease_owner is None and rows["gone"].next_attempt_at is None
    assert any(
        r.levelno == logging.WARNING
        and "abandoned" in r.getMessage()
        and "'gone'" in r.getMessage()
        and "no longer configured" in r.getMessage()
        for r in caplog.records
    )
    clock.advance(3600)  # past any lease: it is never claimed again
    assert asyncio.run(after.after_poll()).delivered == []
    assert asyncio.run(after.run("desk", kind="manual")).status == "empty"
