"""Parsing a fetched feed for storage: parse, normalise, match new entries, plan the rows.

This is the CPU-heavy part of a poll cycle (some 0.1-0.3 ms per entry), and it needs nothing
but the body and a little about the feed, so :class:`ParserPool` runs it in worker processes
while the poller's event loop goes on fetching and the main process stores and clusters: on a
machine with several cores a cold cycle is no longer bound by one. A cycle too small to pay
for starting processes, or a machine with one core, parses in a thread instead, through the
same function (:func:`parse_body`), so both give identical rows.

Each worker receives the poller's compiled :class:`~bot.matcher.RuleSet` once, pickled (its
RE2 patterns and prefilter are rebuilt on load). Should a rule set not pickle, workers load it
with the loader the pipeline provides and check it against the poller's own rules; if they
differ (the rule file changed on disk meanwhile), workers store entries unmatched and the
story builder matches them as before.

Work items are plain picklable dataclasses; results are column values for bulk statements
(:func:`bot.storage.plan.plan_entries`).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import pickle
import threading
import traceback
from collections.abc import Callable
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.matcher import RuleSet
from bot.model import Entry, MatchItem
from bot.storage.plan import EntryPlan, KnownEntries, Scorer, plan_entries, prepare_for_sqlite
from bot.text.redaction import mask_url

log = logging.getLogger(__name__)

# A worker process costs some 0.4 s of CPU to start (a fresh interpreter and its imports), what
# parsing 80 bodies of 50 items costs: a cycle parses in a thread until it has this many
# bodies, and only then starts processes for the rest; a cycle with this many feeds never
# fetched before, which will surely parse them all, starts them at once (Poller.poll). On 100
# new feeds of bench/poll.py, two processes took a third more CPU than a thread, and no less
# time.
PROCESS_MIN_FEEDS = 200
MAX_PROCESSES = 4


@dataclass(slots=True)
class ParseJob:
    """One fetched body and what parsing it needs to know about its feed."""

    feed_id: int
    feed_url: str  # the stored URL (outlet fallback)
    fetched_url: str  # where the body came from (base for relative links)
    feed_name: str | None
    feed_title: str | None
    body: bytes
    content_type: str | None
    known: KnownEntries
    now: datetime
    not_before: datetime  # entries published earlier are outside the retention window
    rhythm_sample: int = 20  # publication times kept for the feed's rhythm (RHYTHM_SAMPLE)
    # On a feed's first poll: how many of its newest items to keep even when they are older
    # than the retention window (FIRST_POLL_KEEP); 0 afterwards.
    keep_newest: int = 0
    # At most this many new entries per poll, the newest (fetch.max_new_items); None: no cap.
    max_new: int | None = None
    # The rows go to SQLite: plan them in its stored form (prepare_for_sqlite).
    for_sqlite: bool = False


@dataclass(slots=True)
class ParsedBody:
    """A parsed feed reduced to what the poller stores: its metadata and planned rows."""

    title: str | None = None
    ttl_minutes: int | None = None
    update_period_s: int | None = None
    entry_times: list[datetime] = field(default_factory=list)  # newest first, for the rhythm
    plan: EntryPlan | None = None
    matched: bool = False  # new entries were matched (else the story builder matches them)
    error_kind: str | None = None  # parse_error | not_a_feed, when nothing could be stored
    error: str | None = None


def match_columns(rules: RuleSet, threshold: float, item: MatchItem) -> dict[str, Any]:
    """An entry's relevance columns: score, relevant, and the hits that explain the score."""
    result = rules.match(item)
    return {
        "score": result.score,
        "relevant": result.score >= threshold,
        "match_hits": [
            {"rule": h.rule, "weight": h.weight, "terms": list(h.terms), "fields": list(h.fields)}
            for h in result.hits
        ],
    }


def rule_fingerprint(rules: RuleSet) -> tuple[Any, ...]:
    """What makes two rule sets score alike (threshold aside, which is passed separately)."""
    return tuple((rule.name, rule.query, rule.weight) for rule in rules.rules)


def scorer_for(rules: RuleSet, threshold: float) -> Scorer:
    def score(entry: Entry, source: str) -> dict[str, Any]:
        return match_columns(
            rules,
            threshold,
            MatchItem(
                title=entry.title,
                summary=entry.summary,
                text=entry.text,
                source=source,
                url=entry.link,
                author=entry.author,
                categories=list(entry.categories),
            ),
        )

    return score


def parse_body(job: ParseJob, scorer: Scorer | None) -> ParsedBody:
    """Parse and normalise `job.body`, and plan its entries' rows (matched with `scorer`)."""
    # Here rather than at the top: a cycle in which no feed changed never loads the parsers.
    from bot.reader.parser import FeedParseError, parse_feed

    try:
        parsed = parse_feed(
            job.body,
            url=job.fetched_url,
            now=job.now,
            source_name=job.feed_name,
            content_type=job.content_type,
        )
    except FeedParseError as exc:
        return ParsedBody(error_kind=exc.kind, error=str(exc))
    title = parsed.title[:500] if parsed.title else None
    recent: list[Entry] = []
    old: list[Entry] = []
    for entry in parsed.entries:
        if entry.published is None or entry.published >= job.not_before:
            recent.append(entry)
        else:
            old.append(entry)
    # The newest items are kept on a first poll however old, so a quiet feed is not empty.
    room = max(0, job.keep_newest - len({entry.identity for entry in recent}))
    kept_old = sorted(old, key=lambda e: e.published or job.now, reverse=True)[:room]
    plan = plan_entries(
        feed_id=job.feed_id,
        feed_url=job.feed_url,
        feed_name=job.feed_name,
        feed_title=job.feed_title or title,
        entries=recent + kept_old,
        known=job.known,
        now=job.now,
        scorer=scorer,
        max_new=job.max_new,
    )
    plan.too_old = len(old) - len(kept_old)
    plan.backfilled = sum(1 for row in plan.inserts if row["published_at"] < job.not_before)
    if job.for_sqlite:
        prepare_for_sqlite(plan)
    times = sorted((e.published for e in parsed.entries if e.published is not None), reverse=True)
    return ParsedBody(
        title=title,
        ttl_minutes=parsed.ttl_minutes,
        update_period_s=parsed.update_period_s,
        entry_times=times[: job.rhythm_sample],
        plan=plan,
        matched=scorer is not None,
    )


# --- worker processes --------------------------------------------------------------------------

_worker_scorer: Scorer | None = None


def _exit_with(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(1)


def _init_worker(
    rules: RuleSet | Callable[[], RuleSet] | None, expected: Any, threshold: float
) -> None:
    global _worker_scorer
    # A poller killed outright (SIGKILL, out of memory) cannot shut its pool down, and an idle
    # worker would wait for work forever: each worker ends when its parent does.
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_exit_with, args=(parent.sentinel,), daemon=True).start()
    if rules is not None:
        rule_set = rules if isinstance(rules, RuleSet) else rules()
        if rule_fingerprint(rule_set) == expected:
            _worker_scorer = scorer_for(rule_set, threshold)
    # What lives as long as the worker (its modules, the rules) leaves the collector's walks:
    # parsing allocates enough to trigger full collections, and the worker's last ones, as it
    # exits, held up the end of every parsing cycle (see bot.worker.memory).
    from bot.reader.parser import parse_feed  # noqa: F401  (the parsers, loaded once here)

    gc.freeze()


def _parse_in_worker(job: ParseJob) -> ParsedBody:
    try:
        return parse_body(job, _worker_scorer)
    except Exception as exc:  # a parser bug: report it as this feed's failure, keep the worker
        detail = "".join(traceback.format_exception_only(exc)).strip()
        return ParsedBody(error_kind="parse_error", error=f"internal parser error: {detail}")


class ParserPool:
    """Parses fetched feeds in worker processes (or a thread); use within one poll cycle.

    `processes`: how many worker processes; None chooses from the machine's cores and the
    cycle's size (`feeds`), 0 parses in threads. Unless started early (:meth:`start_early`),
    processes start once PROCESS_MIN_FEEDS bodies have come to be parsed, the first ones in a
    thread meanwhile, so a cycle in which little changed starts none; they stop with
    :meth:`close`.
    """

    def __init__(
        self,
        rules: RuleSet,
        threshold: float,
        *,
        rules_loader: Callable[[], RuleSet] | None = None,
        processes: int | None = None,
        feeds: int = 0,
    ) -> None:
        self.rules = rules
        self.threshold = threshold
        self._scorer = scorer_for(rules, threshold)
        self._loader = rules_loader
        # Chosen here (not by the caller): processes start once the cycle has shown enough work.
        self._deferred = processes is None
        if processes is None:
            cores = os.cpu_count() or 1
            processes = min(cores, MAX_PROCESSES) if cores > 1 and feeds >= PROCESS_MIN_FEEDS else 0
        self.processes = processes
        self._executor: Executor | None = None
        self._thread: ThreadPoolExecutor | None = None
        self._starting: asyncio.Lock | None = None
        self._early_start: asyncio.Future[Executor] | None = None
        self._broken = 0
        self._bodies = 0  # bodies this pool was given
        self.warned = False  # about workers without rules

    def _worker_rules(self) -> RuleSet | Callable[[], RuleSet] | None:
        try:
            pickle.dumps(self.rules)
            return self.rules
        except (pickle.PicklingError, TypeError, AttributeError):
            return self._loader  # None: workers store entries unmatched

    def _start(self) -> Executor:
        """The pool, its processes started and ready (their imports done).

        Called from a thread: starting a spawn process blocks its caller until the child has
        imported enough to read its arguments (about half a second each), which on the event
        loop would stall every fetch in flight."""
        if self._executor is None:
            executor = ProcessPoolExecutor(
                max_workers=self.processes,
                # Not fork: the poller runs threads (storage, the event loop's executor).
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker,
                initargs=(self._worker_rules(), rule_fingerprint(self.rules), self.threshold),
            )
            # The pool starts a process per submission while none is idle, up to its size.
            try:
                for ready in [executor.submit(os.getpid) for _ in range(self.processes)]:
                    ready.result()
            except BaseException:
                executor.shutdown(wait=False, cancel_futures=True)
                raise
            self._executor = executor
        return self._executor

    def start_early(self) -> None:
        """Start the worker processes now, in the background, rather than on the first body:
        for a cycle that will surely parse (feeds never fetched before), so that their
        imports overlap the first requests."""
        if not self.processes or self._executor is not None or self._early_start is not None:
            return
        self._early_start = asyncio.ensure_future(self._started())
        # A failure shows again, and is logged, when the first body needs the processes.
        self._early_start.add_done_callback(lambda task: task.cancelled() or task.exception())

    async def _started(self) -> Executor:
        if self._executor is not None:
            return self._executor
        if self._starting is None:
            self._starting = asyncio.Lock()
        async with self._starting:
            return await asyncio.to_thread(self._start)

    @property
    def processes_started(self) -> bool:
        """Whether this cycle parsed in processes: it had that much work, and the machine
        the cores for it."""
        return self._executor is not None

    @property
    def started(self) -> bool:
        """Whether worker processes are running or starting."""
        return self._executor is not None or self._early_start is not None

    def _waiting_for_processes(self) -> bool:
        """Whether processes chosen here are not started, or still starting (a start that
        failed counts as over: the process path retries it once and reports it)."""
        if not self._deferred or self._executor is not None:
            return False
        return self._early_start is None or not self._early_start.done()

    async def parse(self, job: ParseJob) -> ParsedBody:
        self._bodies += 1
        if self._deferred and not self.started and self._bodies >= PROCESS_MIN_FEEDS:
            self.start_early()  # enough bodies to pay for the processes (if any are chosen)
        if not self.processes or self._waiting_for_processes():
            if self._thread is None:
                # One thread: parsing holds the GIL, so more threads only contend for it (the
                # event loop's default executor ran six; a cold poll of 100 feeds took 3 to 7%
                # more time).
                self._thread = ThreadPoolExecutor(1, thread_name_prefix="newsbot-parse")
            try:
                return await asyncio.get_running_loop().run_in_executor(
                    self._thread, parse_body, job, self._scorer
                )
            except Exception as exc:
                log.exception("parsing feed %s failed", mask_url(job.feed_url))
                return ParsedBody(error_kind="parse_error", error=f"internal parser error: {exc}")
        loop = asyncio.get_running_loop()
        for attempt in range(2):
            executor: Executor | None = None
            try:
                executor = await self._started()
                future = loop.run_in_executor(executor, _parse_in_worker, job)
            except (OSError, RuntimeError) as exc:
                if isinstance(exc, BrokenProcessPool) and executor is not None:
                    # The running pool already knew a worker had died: not a failure to start
                    # processes. Start a new pool, as when a job in flight finds it out below.
                    self._replace_broken(executor)
                    if attempt:
                        break
                    continue
                # No process could be started (out of processes or memory; or an embedding
                # program whose main module starts a poll when imported, which spawn does).
                log.warning("cannot start parser processes (%s); parsing in threads", exc)
                broken, self._executor = self._executor, None
                if broken is not None:
                    broken.shutdown(wait=False, cancel_futures=True)
                self.processes = 0
                return await self.parse(job)
            try:
                result: ParsedBody = await future
            except BrokenProcessPool:
                # A worker died (killed, out of memory, a crash in a C extension). Every job
                # in flight fails with it: start a new pool and try this feed once more.
                self._replace_broken(executor)
                if attempt:
                    break
                continue
            plan = result.plan
            if plan is not None and plan.inserts and not result.matched and not self.warned:
                self.warned = True
                log.warning(
                    "parser processes could not load the same rules; new entries are "
                    "matched after storing instead"
                )
            return result
        return ParsedBody(
            error_kind="parse_error", error="the parser process died while reading this feed"
        )

    def _replace_broken(self, executor: Executor) -> None:
        """Drop a pool one of whose workers died; the next body starts a new one."""
        if self._executor is executor:
            self._executor = None
            executor.shutdown(wait=False, cancel_futures=True)
            self._broken += 1
            log.warning("a feed parser process died; restarting the parser processes")

    async def aclose(self) -> None:
        """:meth:`close` from the event loop, after a start begun by :meth:`start_early`."""
        if self._early_start is not None:
            await asyncio.wait([self._early_start])
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.shutdown(wait=True, cancel_futures=True)
        executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
