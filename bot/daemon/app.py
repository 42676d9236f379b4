"""Wiring the stages into a pipeline, and the long-running daemon driven by APScheduler 3.

Jobs: polling (interval with jitter, coalesced, one at a time), one digest job per channel
(cron + time zone), and an outbox job that retries due deliveries. SIGTERM/SIGINT stop new
work and let in-flight jobs finish within `daemon.shutdown_grace` seconds.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any, cast
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import make_url

from bot.clustering import ClusterConfig
from bot.config import Settings
from bot.daemon.logs import register_secrets
from bot.matcher import load_rules
from bot.storage import Database, upgrade_schema
from bot.worker import DigestService, Poller, StoryProcessor
from bot.worker.process import new_instance_id, utcnow

log = logging.getLogger(__name__)


@dataclass
class Pipeline:
    settings: Settings
    db: Database
    processor: StoryProcessor
    poller: Poller
    digests: DigestService
    instance: str


def build_pipeline(
    settings: Settings,
    *,
    db: Database | None = None,
    instance: str | None = None,
    upgrade: bool = True,
    clock: Callable[[], datetime] = utcnow,
) -> Pipeline:
    """The stages of one newsbot instance, sharing a database, rules and a clusterer."""
    register_secrets(_secrets(settings))
    database = db or Database(settings.resolved_database_url)
    if upgrade:
        upgrade_schema(database)
    instance = instance or new_instance_id()
    rules = load_rules(settings.rules)
    cluster_config = ClusterConfig(active_window_hours=settings.clustering.active_window_hours)
    processor = StoryProcessor(
        database, rules, cluster_config, threshold=settings.threshold, clock=clock
    )
    poller = Poller(settings, database, processor, instance=instance, clock=clock)
    digests = DigestService(settings, database, instance=instance, clock=clock)
    return Pipeline(settings, database, processor, poller, digests, instance)


def _secrets(settings: Settings) -> list[str | None]:
    values: list[str | None] = []
    for channel in settings.channels:
        if channel.slack is not None:
            for secret in (channel.slack.webhook_url, channel.slack.bot_token):
                values.append(secret.get_secret_value() if secret else None)
        if channel.email is not None and channel.email.password is not None:
            values.append(channel.email.password.get_secret_value())
    url = make_url(settings.resolved_database_url)
    values.append(url.password if isinstance(url.password, str) else None)
    return values


def latest_fire_time(trigger: CronTrigger, now: datetime) -> datetime:
    """The most recent scheduled time at or before `now`: the digest period's identity."""
    for lookback in (timedelta(days=1), timedelta(days=8), timedelta(days=370)):
        fire = trigger.get_next_fire_time(None, now - lookback)
        latest = None
        while fire is not None and fire <= now:
            latest = fire
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        if latest is not None:
            return cast(datetime, latest).astimezone(UTC)
    return now


class SingleInstanceLock:
    """SQLite allows one writer process: a second daemon on the same file is refused."""

    def __init__(self, database_file: Path) -> None:
        self.path = database_file.with_name(database_file.name + ".lock")
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise RuntimeError(
                f"another newsbot daemon is already running on {self.path.with_suffix('')}; "
                "SQLite supports one instance. Use PostgreSQL to run several instances."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


class Daemon:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.pipeline = build_pipeline(settings)
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._inflight: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self.last_poll_ok: datetime | None = None

    def _track(self, coro: Any) -> Any:
        """Run a job as a tracked task so shutdown can wait for it."""

        async def runner() -> None:
            if self._stopping:
                return
            task = asyncio.ensure_future(coro())
            self._inflight.add(task)
            try:
                await task
            except Exception:
                log.exception("job failed")
            finally:
                self._inflight.discard(task)

        return runner

    async def poll_job(self) -> None:
        report = await self.pipeline.poller.poll()
        if report.feeds and not all(r.outcome == "error" for r in report.feeds):
            self.last_poll_ok = datetime.now(UTC)
        log.info("poll: %s", report.summary())
        await self.pipeline.digests.deliver_due()

    async def digest_job(self, channel: str) -> None:
        trigger = self._cron(channel)
        period = latest_fire_time(trigger, datetime.now(UTC))
        run = await self.pipeline.digests.run(
            channel, period_key=f"scheduled:{period.isoformat()}", kind="scheduled"
        )
        log.info("digest %s: %s", channel, run.status)

    async def outbox_job(self) -> None:
        await self.pipeline.digests.deliver_due()

    def _cron(self, channel_name: str) -> CronTrigger:
        schedule = self.settings.channel(channel_name).schedule
        return CronTrigger.from_crontab(schedule.cron, timezone=ZoneInfo(schedule.timezone))

    def schedule(self) -> None:
        interval = self.settings.poll_interval
        self.scheduler.add_job(
            self._track(self.poll_job),
            IntervalTrigger(seconds=interval, jitter=max(1, min(60, interval // 10))),
            id="poll",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=interval,
            next_run_time=datetime.now(UTC),
        )
        for channel in self.settings.channels:
            name = channel.name
            self.scheduler.add_job(
                self._track(lambda name=name: self.digest_job(name)),
                self._cron(name),
                id=f"digest:{name}",
                coalesce=True,
                max_instances=1,
                misfire_grace_time=3600,
            )
        self.scheduler.add_job(
            self._track(self.outbox_job),
            IntervalTrigger(seconds=60),
            id="outbox",
            coalesce=True,
            max_instances=1,
        )

    async def serve(self) -> int:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        self.schedule()
        self.scheduler.start()
        log.info(
            "newsbot running: %d feeds, %d channels, instance %s",
            len(self.settings.feeds),
            len(self.settings.channels),
            self.pipeline.instance,
        )
        await stop.wait()
        log.info("stopping: no new jobs; waiting for %d in-flight jobs", len(self._inflight))
        self._stopping = True
        self.scheduler.shutdown(wait=False)
        if self._inflight:
            _done, pending = await asyncio.wait(
                set(self._inflight), timeout=self.settings.daemon.shutdown_grace
            )
            for task in pending:
                task.cancel()
            if pending:
                log.warning("%d jobs did not finish within the grace period", len(pending))
        self.pipeline.db.dispose()
        log.info("stopped")
        return 0


def run_daemon(settings: Settings) -> int:
    lock: SingleInstanceLock | None = None
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        lock = SingleInstanceLock(Path(str(url.database)))
        try:
            lock.acquire()
        except RuntimeError as exc:
            log.error("%s", exc)
            return 2
    try:
        daemon = Daemon(settings)
        return asyncio.run(daemon.serve())
    finally:
        if lock is not None:
            lock.release()
