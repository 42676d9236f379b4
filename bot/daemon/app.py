"""Wiring the stages into a pipeline, and the long-running daemon driven by APScheduler 3.

Jobs: polling (interval with jitter, coalesced, one at a time), one digest job per channel
(cron + time zone), an outbox job that retries due deliveries, and housekeeping (retention and
compaction). A job that loses its database connection is retried with backoff instead of failing.

Digest periods survive database outages. The first thing a digest job does, before anything that
can fail, is to record its period as due (in memory: the database may be the thing that is down).
The period stays due until its digest is stored in the outbox (or found stored already), so a
period whose time fell during an outage is delivered once the database answers again, however
long that took. Periods due at once are coalesced per channel: the latest one is run, and it
covers the stories of the ones before it. Catch-up runs after the first poll (a period missed
while no daemon ran, within the misfire grace) and after every recovery of the database: when a
job loses the connection, a watcher probes the database with backoff and, once it answers, runs
every due period (and the latest one within the misfire grace). A due period lives in this
process: one that came due while the database was down and the daemon was then stopped before it
answered is caught up at the next start only within the misfire grace.

`/healthz` and `/metrics` are served on `daemon.health_bind:health_port`.
SIGTERM/SIGINT stop new work and let in-flight jobs finish within `daemon.shutdown_grace` s.
SIGHUP reloads the configuration file (`Daemon.reload`); an invalid one is logged and ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from zoneinfo import ZoneInfo

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.exc import DBAPIError, OperationalError

from bot import metrics
from bot.config import Settings, config_warnings, load_config
from bot.daemon.health import HealthServer
from bot.daemon.housekeeping import run_housekeeping
from bot.daemon.instances import Presence, release_all_leases
from bot.daemon.logs import redact
from bot.daemon.pipeline import Pipeline as Pipeline  # re-exported: callers build it from here
from bot.daemon.pipeline import build_pipeline as build_pipeline
from bot.daemon.sqlite_guard import SingleInstanceLock, watch_database_file
from bot.retry import exponential_backoff
from bot.storage.database import connection_problem, sqlite_file, upgrade_schema
from bot.storage.digests import ChannelFailure, failing_channels
from bot.storage.feeds import count_unhealthy_feeds
from bot.text.plural import plural
from bot.text.redaction import masked_database_url

log = logging.getLogger(__name__)

DIGEST_MISFIRE_GRACE_S = 3600
HOUSEKEEPING_INTERVAL_S = 6 * 3600
HOUSEKEEPING_FIRST_DELAY_S = 300
DB_RETRY_ATTEMPTS = 6
DB_RETRY_MAX_DELAY_S = 30.0
# While the database is unreachable, the recovery watcher probes it this often at most.
RECOVERY_PROBE_MAX_DELAY_S = 15.0
# After the grace period, how long cancelled jobs get to unwind before the database is closed.
CANCELLED_UNWIND_S = 5.0
# /healthz fails for a channel whose last delivery failed permanently, or whose last this many
# attempts failed transiently (one refused connection is a blip; three in a row is an outage).
CHANNEL_FAILURES_UNHEALTHY = 3


def is_database_unavailable(exc: BaseException) -> bool:
    """A lost, refused or reset database connection: worth retrying the job."""
    if isinstance(exc, OperationalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)


# How far back a cron's latest fire time is looked for (daily, weekly, yearly schedules).
FIRE_LOOKBACKS = (timedelta(days=1), timedelta(days=8), timedelta(days=370))


def previous_fire_time(trigger: CronTrigger, now: datetime) -> datetime | None:
    """The most recent scheduled time at or before `now` (the digest period's identity), or
    None within the past year."""
    for lookback in FIRE_LOOKBACKS:
        fire = trigger.get_next_fire_time(None, now - lookback)
        latest = None
        while fire is not None and fire <= now:
            latest = fire
            fire = trigger.get_next_fire_time(fire, fire + timedelta(seconds=1))
        if latest is not None:
            return cast(datetime, latest).astimezone(UTC)
    return None


class Daemon:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        # The schema is brought up to date in serve(), once the database answers.
        self.pipeline = build_pipeline(settings, upgrade=False)
        self.pipeline.digests.load_rules()
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.presence = Presence(self.pipeline.db, self.pipeline.instance)
        self.health = HealthServer(
            settings.daemon.health_bind, settings.daemon.health_port, self.health_check
        )
        self._inflight: set[asyncio.Task[Any]] = set()
        self.exit_code = 0
        self._reloads: set[asyncio.Future[bool]] = set()
        self._stopping = False
        self._caught_up = False
        # channel -> the latest digest period that came due and is not yet in the outbox
        self._due_periods: dict[str, datetime] = {}
        self._recovery: asyncio.Task[None] | None = None
        self.started_at = datetime.now(UTC)
        self.last_poll_ok: datetime | None = None
        self.last_poll_error: str | None = None
        self.database_error: str | None = "not connected yet"

    def _track(self, job: Callable[[], Awaitable[None]], name: str) -> Any:
        """Run a job as a tracked task (so shutdown can wait for it), retrying it with
        backoff while the database is unreachable."""

        def finished(task: asyncio.Task[None]) -> None:
            self._inflight.discard(task)
            if not task.cancelled() and task.exception() is not None:
                log.error("job %s failed", name, exc_info=task.exception())

        async def runner() -> None:
            if self._stopping:
                return
            task = asyncio.get_running_loop().create_task(
                self._with_db_retries(job, name), name=name
            )
            self._inflight.add(task)
            task.add_done_callback(finished)
            # Shielded: stopping the scheduler cancels its own waiters, never a job in flight;
            # shutdown waits for the job itself, within the grace period.
            try:
                await asyncio.shield(task)
            except asyncio.CancelledError:
                if not task.cancelled():
                    raise  # this waiter was cancelled; the job goes on
                # Shutdown cut the job short after the grace period and says so: the
                # cancellation must not reach APScheduler, which logs it as a job failure.
            except Exception:
                pass  # logged by `finished`

        # APScheduler names jobs after their callable: "poll", not "Daemon._track.<locals>.runner".
        runner.__name__ = runner.__qualname__ = name
        return runner

    async def _with_db_retries(self, job: Callable[[], Awaitable[None]], name: str) -> None:
        for attempt in range(1, DB_RETRY_ATTEMPTS + 1):
            try:
                await job()
                return
            except Exception as exc:
                if is_database_unavailable(exc):
                    self._database_lost(exc)
                if not is_database_unavailable(exc) or attempt == DB_RETRY_ATTEMPTS:
                    raise
                if self._stopping:
                    log.warning("job %s: database unavailable while stopping; not retried", name)
                    return
                delay = self._db_retry_delay(attempt, cap_s=DB_RETRY_MAX_DELAY_S, jitter=True)
                metrics.database_retry(name)
                log.warning(
                    "job %s: database unavailable (%s); retry %d in %.1fs",
                    name,
                    redact(connection_problem(exc)),
                    attempt,
                    delay,
                )
                await asyncio.sleep(delay)

    def _db_retry_delay(self, attempt: int, *, cap_s: float, jitter: bool = False) -> float:
        """The wait before database retry `attempt` (from 1): `daemon.db_retry_delay` doubling
        up to `cap_s` (the one retry policy, bot.retry)."""
        return exponential_backoff(
            attempt, base_s=self.settings.daemon.db_retry_delay, cap_s=cap_s, jitter=jitter
        )

    def _database_lost(self, exc: BaseException) -> None:
        """A job lost the database: start the watcher that catches up once it answers again."""
        self.database_error = redact(connection_problem(exc))
        if self._stopping or (self._recovery is not None and not self._recovery.done()):
            return
        self._recovery = asyncio.ensure_future(self._watch_database())

    async def _watch_database(self) -> None:
        """Probe the database with backoff until it answers, then catch up the digests."""
        attempt = 0
        while not self._stopping:
            try:
                await asyncio.to_thread(self.pipeline.db.ping)
                break
            except Exception as exc:
                if not is_database_unavailable(exc):
                    log.warning("probing the database failed: %s", redact(str(exc))[:300])
                attempt += 1
                self.database_error = redact(connection_problem(exc))
                delay = self._db_retry_delay(min(attempt, 5), cap_s=RECOVERY_PROBE_MAX_DELAY_S)
                await asyncio.sleep(delay)
        if self._stopping:
            return
        self.database_error = None
        due = ", ".join(sorted(self._due_periods)) or "none"
        log.info("the database answers again; catching up digests (periods due: %s)", due)
        await self._track(self.catch_up_digests, "catch-up")()

    async def poll_job(self) -> None:
        started = time.monotonic()
        try:
            await asyncio.to_thread(self.presence.reclaim, datetime.now(UTC))
            report = await self.pipeline.poller.poll()
        except Exception as exc:
            self.last_poll_error = redact(f"{type(exc).__name__}: {exc}")[:500]
            metrics.poll_failed(type(exc).__name__)
            raise
        metrics.record_poll(report, duration_s=time.monotonic() - started)
        if not report.feeds or any(r.outcome != "error" for r in report.feeds):
            self.last_poll_ok = datetime.now(UTC)
            self.last_poll_error = None
        else:
            self.last_poll_error = f"all {plural(len(report.feeds), 'feed')} failed"
        log.info("poll: %s", report.summary())
        await asyncio.to_thread(self._update_feed_gauge)
        if not self._caught_up:
            self._caught_up = True
            await self.catch_up_digests()
        await self.pipeline.digests.after_poll()  # breaking posts, story updates, due deliveries

    def _update_feed_gauge(self) -> None:
        with self.pipeline.db.session() as session:
            metrics.set_unhealthy_feeds(
                count_unhealthy_feeds(session, self.settings.fetch.unhealthy_after)
            )

    async def catch_up_digests(self) -> None:
        """Run every digest period that is due: those that came due while the database was
        unreachable (however long ago), and the latest one of each channel when its time passed
        within the misfire grace (say, while no daemon was running). The outbox's idempotency
        key makes this a no-op for a period already stored."""
        now = datetime.now(UTC)
        for channel in self.settings.channels:
            fire = previous_fire_time(self._cron(channel.name), now)
            if fire is not None and (now - fire).total_seconds() <= DIGEST_MISFIRE_GRACE_S:
                self._mark_due(channel.name, fire)
        await self.run_due_digests()

    def _mark_due(self, channel: str, period: datetime) -> None:
        """Record a channel's period as due (the latest of those due covers the earlier ones)."""
        before = self._due_periods.get(channel)
        if before is None or period > before:
            self._due_periods[channel] = period

    async def run_due_digests(self) -> None:
        """Store and deliver the digest of every due period; a period stays due while the
        database is unreachable (the exception goes on to the job's retries)."""
        for channel in list(self._due_periods):
            try:
                await self._run_due_period(channel)
            except Exception as exc:
                if is_database_unavailable(exc):
                    raise
                log.exception("the digest of %s failed", channel, extra={"channel": channel})

    async def _run_due_period(self, channel: str) -> None:
        period = self._due_periods.get(channel)
        if period is None:
            return
        if all(c.name != channel for c in self.settings.channels):
            self._due_periods.pop(channel, None)  # removed from the configuration meanwhile
            return
        try:
            run = await self.pipeline.digests.run(
                channel, period_key=f"scheduled:{period.isoformat()}", kind="scheduled"
            )
        except Exception as exc:
            if not is_database_unavailable(exc) and self._due_periods.get(channel) == period:
                del self._due_periods[channel]  # not an outage: retrying cannot help
            raise
        if self._due_periods.get(channel) == period:
            del self._due_periods[channel]
        log.info("digest %s: %s", channel, run.status, extra={"channel": channel})

    async def housekeeping_job(self) -> None:
        report = await asyncio.to_thread(
            run_housekeeping,
            self.pipeline.db,
            now=datetime.now(UTC),
            retention_days=self.settings.daemon.retention_days,
        )
        metrics.record_housekeeping(entries=report.entries_deleted, stories=report.stories_deleted)

    async def health_check(self) -> tuple[bool, dict[str, Any]]:
        """Healthy while the last poll succeeded within `health_max_poll_age` and the database
        answers; the body says which condition failed."""
        now = datetime.now(UTC)
        max_age = self.settings.daemon.health_max_poll_age
        reasons: list[str] = []
        age = (now - self.last_poll_ok).total_seconds() if self.last_poll_ok else None
        if age is None:
            reasons.append("no poll has succeeded since start")
        elif age > max_age:
            reasons.append(f"last successful poll {age:.0f}s ago (limit {max_age}s)")
        if self.last_poll_error:
            reasons.append(f"last poll failed: {self.last_poll_error}")
        try:
            await asyncio.wait_for(asyncio.to_thread(self.pipeline.db.ping), timeout=5.0)
            database = "ok" if self.database_error is None else "connecting"
        except Exception as exc:
            problem = "timeout" if isinstance(exc, TimeoutError) else connection_problem(exc)
            database = f"unreachable: {redact(problem)[:300]}"
            reasons.append(f"database unreachable: {redact(problem)[:300]}")
        channels: dict[str, str] = {}
        if database == "ok":
            failing = await asyncio.to_thread(self._failing_channels)
            for channel in self.settings.channels:
                failure = failing.get(channel.name)
                if failure is None:
                    channels[channel.name] = "ok"
                    continue
                what = (
                    "the last delivery failed permanently"
                    if failure.permanent
                    else f"the last {plural(failure.failures, 'delivery', 'deliveries')} failed"
                )
                error = redact(failure.last_error or "no error recorded")[:300]
                channels[channel.name] = f"failing: {what}"
                reasons.append(f"channel {channel.name}: {what}: {error}")
        stale = age is None or age > max_age
        healthy = not stale and database == "ok" and all(v == "ok" for v in channels.values())
        return healthy, {
            "status": "ok" if healthy else "unhealthy",
            "reasons": reasons,
            "channels": channels,
            "instance": self.pipeline.instance,
            "last_poll_ok": self.last_poll_ok.isoformat() if self.last_poll_ok else None,
            "last_poll_age_s": round(age, 1) if age is not None else None,
            "max_poll_age_s": max_age,
            "database": database,
            "uptime_s": round((now - self.started_at).total_seconds(), 1),
        }

    def _failing_channels(self) -> dict[str, ChannelFailure]:
        with self.pipeline.db.session() as session:
            return failing_channels(
                session,
                [channel.name for channel in self.settings.channels],
                after=CHANNEL_FAILURES_UNHEALTHY,
            )

    async def digest_job(self, channel: str, period: datetime | None = None) -> None:
        if period is None:
            now = datetime.now(UTC)
            period = previous_fire_time(self._cron(channel), now) or now
        self._mark_due(channel, period)  # first, so that no failure below can lose the period
        await self._run_due_period(channel)

    async def outbox_job(self) -> None:
        await self.run_due_digests()  # a period left due by an outage the watcher missed
        await self.pipeline.digests.deliver_due()

    def _cron(self, channel_name: str) -> CronTrigger:
        schedule = self.settings.channel(channel_name).schedule
        return CronTrigger.from_crontab(schedule.cron, timezone=ZoneInfo(schedule.timezone))

    def _schedule_poll(self) -> None:
        """The poll job, first run now (at start, and after a reload: feeds just added)."""
        interval = self.settings.poll_interval
        self.scheduler.add_job(
            self._track(self.poll_job, "poll"),
            IntervalTrigger(seconds=interval, jitter=max(1, min(60, interval // 10))),
            id="poll",
            coalesce=True,
            max_instances=1,
            misfire_grace_time=interval,
            next_run_time=datetime.now(UTC),
            replace_existing=True,
        )

    def _schedule_digests(self) -> None:
        for job in self.scheduler.get_jobs():
            if job.id.startswith("digest:"):
                job.remove()
        for channel in self.settings.channels:
            name = channel.name
            self.scheduler.add_job(
                self._track(functools.partial(self.digest_job, name), f"digest:{name}"),
                self._cron(name),
                id=f"digest:{name}",
                coalesce=True,
                max_instances=1,
                misfire_grace_time=DIGEST_MISFIRE_GRACE_S,
            )

    def schedule(self) -> None:
        self._schedule_poll()
        self._schedule_digests()
        self.scheduler.add_job(
            self._track(self.outbox_job, "outbox"),
            IntervalTrigger(seconds=60),
            id="outbox",
            coalesce=True,
            max_instances=1,
        )
        self.scheduler.add_job(
            self._track(self.housekeeping_job, "housekeeping"),
            IntervalTrigger(seconds=HOUSEKEEPING_INTERVAL_S, jitter=300),
            id="housekeeping",
            coalesce=True,
            max_instances=1,
            next_run_time=datetime.now(UTC) + timedelta(seconds=HOUSEKEEPING_FIRST_DELAY_S),
        )

    async def reload(self) -> bool:
        """SIGHUP: read and validate the configuration file again and run with it (feeds,
        channels and their schedules, rules, intervals, retention). On any error the daemon
        keeps its current configuration and logs why; returns whether it reloaded.

        The database, the health address and the instance stay as they were at start-up:
        changes to database_url, data_dir and daemon.health_* take effect at a restart."""
        source = self.settings.source
        if source is None or str(source).startswith("<"):
            log.warning("SIGHUP: no configuration file to reload (running on built-in defaults)")
            return False
        log.info("SIGHUP: reloading the configuration from %s", source)
        try:
            settings = await asyncio.to_thread(load_config, source)
            # As at start (`newsbot run`): every channel secret must resolve in this process's
            # environment, which a reload does not change.
            problems = settings.secret_problems()
            if problems:
                raise ValueError("; ".join(problems))
            pipeline = await asyncio.to_thread(
                build_pipeline,
                settings,
                db=self.pipeline.db,
                instance=self.pipeline.instance,
                upgrade=False,
            )
            await asyncio.to_thread(pipeline.digests.load_rules)
        except Exception as exc:  # ConfigError, RuleError, a secret: the operator's to fix
            log.error(
                "configuration not reloaded, still running with the previous one: %s",
                redact(str(exc)),
            )
            return False
        for key in _restart_only_changes(self.settings, settings):
            log.warning("SIGHUP: %s changed in %s; takes effect at the next restart", key, source)
        for warning in config_warnings(settings):
            log.warning("%s", warning)
        self.settings = settings
        self.pipeline = pipeline
        if self.database_error is not None:
            # Still waiting for the database: serve() syncs and schedules once it answers.
            log.info("configuration reloaded from %s (the database is not connected yet)", source)
            return True
        await self._sync_feeds()
        if not self._stopping:
            self._schedule_digests()
            self._schedule_poll()  # polls now: feeds just added are fetched at once
        log.info(
            "configuration reloaded from %s: %s, %s",
            source,
            plural(len(settings.feeds), "feed"),
            plural(len(settings.channels), "channel"),
        )
        return True

    async def _sync_feeds(self) -> None:
        """Make the stored feeds follow the configuration now; should that fail (another
        instance syncing the same new feeds, a lost connection), each poll syncs again."""
        try:
            await asyncio.to_thread(self.pipeline.poller.sync_config)
        except Exception as exc:
            log.warning(
                "syncing the configured feeds failed (%s); the next poll syncs them",
                redact(f"{type(exc).__name__}: {exc}").strip()[:300],
            )

    def _on_sighup(self) -> None:
        task = asyncio.ensure_future(self.reload())
        self._reloads.add(task)
        task.add_done_callback(self._reloads.discard)

    async def serve(self) -> int:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGHUP, self._on_sighup)
        for warning in config_warnings(self.settings):
            log.warning("%s", warning)
        try:
            host, port = await self.health.start()
        except OSError as exc:
            log.error(
                "cannot serve /healthz on %s:%s (daemon.health_bind/health_port): %s",
                self.settings.daemon.health_bind,
                self.settings.daemon.health_port,
                exc,
            )
            self.presence.close()
            self.pipeline.db.dispose()
            return 2
        log.info("health and metrics on http://%s:%d/healthz and /metrics", host, port)
        if not await self.connect(stop):
            return await self._shutdown()
        # Feeds dropped from the configuration stop being polled now (one log line each).
        await self._sync_feeds()
        self.schedule()
        self.scheduler.start()
        log.info(
            "newsbot running: %s, %s, instance %s",
            plural(len(self.settings.feeds), "feed"),
            plural(len(self.settings.channels), "channel"),
            self.pipeline.instance,
        )
        watch = asyncio.ensure_future(
            watch_database_file(self.pipeline.db.url, stop, functools.partial(self._lost, stop))
        )
        await stop.wait()
        watch.cancel()
        log.info(
            "stopping: no new jobs; waiting for %s", plural(len(self._inflight), "in-flight job")
        )
        self._stopping = True
        if self._recovery is not None:
            self._recovery.cancel()
        self.scheduler.pause()  # no new runs; unlike shutdown, running jobs are left alone
        if self._inflight:
            _done, pending = await asyncio.wait(
                set(self._inflight), timeout=self.settings.daemon.shutdown_grace
            )
            if pending:
                grace = self.settings.daemon.shutdown_grace
                names = ", ".join(sorted(task.get_name() for task in pending))
                log.warning(
                    "%s (%s) did not finish within the %gs grace period (daemon.shutdown_grace);"
                    " cut short; unfinished work is picked up after the next start",
                    plural(len(pending), "job"),
                    names,
                    grace,
                )
                for task in pending:
                    task.cancel()
                await asyncio.wait(pending, timeout=CANCELLED_UNWIND_S)
        self.scheduler.shutdown(wait=False)
        return await self._shutdown()

    async def _shutdown(self) -> int:
        await self.health.stop()
        self.presence.close()
        self.pipeline.db.dispose()
        log.info("stopped")
        return self.exit_code

    def _lost(self, stop: asyncio.Event) -> None:
        """The SQLite file went (bot.daemon.sqlite_guard): stop, exit 2, which the systemd unit
        does not restart (RestartPreventExitStatus=2): the operator decides."""
        self.exit_code = 2
        stop.set()

    def _prepare_database(self) -> None:
        """Migrate the schema, then take over a previous run's leases (SQLite) or announce
        this instance (PostgreSQL)."""
        upgrade_schema(self.pipeline.db)
        if self.pipeline.db.is_sqlite:
            feeds, digests = release_all_leases(self.pipeline.db)
            if feeds or digests:
                log.info(
                    "took over %s and %s of a previous run",
                    plural(feeds, "feed lease"),
                    plural(digests, "digest lease"),
                )
        else:
            self.presence.announce()

    async def connect(self, stop: asyncio.Event) -> bool:
        """Wait for the database, retrying with backoff (`daemon.db_retry_delay`, 1 s by default,
        doubling to 30 s) and one log line per retry, while /healthz says it is unreachable;
        False when stopped meanwhile."""
        shown = masked_database_url(self.pipeline.db.url)
        attempt = 0
        while not stop.is_set():
            try:
                await asyncio.to_thread(self._prepare_database)
            except Exception as exc:
                if not is_database_unavailable(exc):
                    raise
                attempt += 1
                self.database_error = redact(connection_problem(exc))
                delay = self._db_retry_delay(min(attempt, 6), cap_s=DB_RETRY_MAX_DELAY_S)
                metrics.database_retry("connect")
                log.warning(
                    "database %s unreachable: %s; retry %d in %.1fs",
                    shown,
                    self.database_error,
                    attempt,
                    delay,
                    extra={"database": shown, "attempt": attempt},
                )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
                continue
            if attempt:
                log.info("database %s answers after %s", shown, plural(attempt, "failed attempt"))
            self.database_error = None
            return True
        return False


def _restart_only_changes(old: Settings, new: Settings) -> list[str]:
    """The keys a reload cannot apply to a running daemon."""
    changed = []
    if old.resolved_database_url != new.resolved_database_url:
        changed.append("database_url (or data_dir)")
    if (old.daemon.health_bind, old.daemon.health_port) != (
        new.daemon.health_bind,
        new.daemon.health_port,
    ):
        changed.append("daemon.health_bind/health_port")
    return changed


def run_daemon(settings: Settings) -> int:
    lock: SingleInstanceLock | None = None
    database_file = sqlite_file(settings.resolved_database_url)
    if database_file is not None:
        lock = SingleInstanceLock(database_file)
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
