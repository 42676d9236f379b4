"""Parsing and matching in parser processes stores exactly what parsing in a thread stores, on
SQLite and PostgreSQL; a parser process that dies is replaced, and parser processes end with a
poller that is killed; workers that cannot rebuild the same rules leave matching to the
story builder. Real feeds from the demo FeedServer on 127.0.0.1."""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from support.daemon_proc import wait_for

from bot.config.settings import Settings
from bot.daemon.app import Pipeline, build_pipeline
from bot.demo.data import demo_feeds, render_demo_feeds
from bot.demo.server import FeedServer
from bot.matcher import load_rules, parse_rules
from bot.storage.models import EntryRow, StoryMemberRow
from bot.worker.parsing import PROCESS_MIN_FEEDS, ParseJob, ParserPool
from bot.worker.poll import PollStats

NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def server() -> Iterator[FeedServer]:
    with FeedServer(render_demo_feeds(NOW)) as feeds:
        yield feeds


def pipeline_for(db_url: str, tmp_path: Path, server: FeedServer, processes: int) -> Pipeline:
    settings = Settings.model_validate(
        {
            "database_url": db_url,
            "data_dir": tmp_path,
            "feeds": [{"url": server.url(feed.path)} for feed in demo_feeds()],
            "fetch": {"allow_private_networks": True},  # the feeds are on loopback
        }
    )
    pipeline = build_pipeline(settings, clock=lambda: NOW)
    pipeline.poller.parse_processes = processes
    return pipeline


def stored(pipeline: Pipeline) -> dict[tuple[str, str], tuple[Any, ...]]:
    """Every entry's columns that parsing, storing and matching decide, by (feed URL, identity),
    and whether it is done (processed) and in a story."""
    with pipeline.db.session() as session:
        members = set(session.scalars(select(StoryMemberRow.entry_id)))
        rows = {}
        for entry in session.scalars(select(EntryRow)):
            rows[(entry.feed.url, entry.identity)] = (
                entry.title,
                entry.summary,
                entry.text,
                entry.url,
                entry.source_name,
                entry.published_at,
                entry.categories,
                entry.content_hash,
                round(entry.score or 0.0, 9),
                entry.relevant,
                entry.match_hits,
                entry.processed_at is not None,
                entry.id in members,
            )
    return rows


def story_groups(pipeline: Pipeline) -> set[frozenset[tuple[str, str]]]:
    """The stories as sets of their members' (feed URL path, identity)."""
    with pipeline.db.session() as session:
        groups: dict[int, set[tuple[str, str]]] = {}
        for member in session.scalars(select(StoryMemberRow)):
            entry = member.entry
            path = entry.feed.url.split("/", 3)[-1]
            groups.setdefault(member.story_id, set()).add((path, entry.identity))
    return {frozenset(group) for group in groups.values()}


def comparable(rows: dict[tuple[str, str], tuple[Any, ...]], server: FeedServer) -> Any:
    # The two pipelines fetch from the same server; only the feed URL prefix is shared.
    return {(url.removeprefix(server.url("")), identity): v for (url, identity), v in rows.items()}


def run(pipeline: Pipeline) -> PollStats:
    return asyncio.run(pipeline.poller.poll(force=True))


def test_parser_processes_store_what_a_thread_stores(
    db_url: str, tmp_path: Path, server: FeedServer
) -> None:
    threaded = pipeline_for(f"sqlite:///{tmp_path / 'threaded.db'}", tmp_path, server, 0)
    parallel = pipeline_for(db_url, tmp_path, server, 2)
    by_thread, by_processes = run(threaded), run(parallel)

    assert by_processes.new_entries == by_thread.new_entries > 0
    assert by_processes.processing.relevant == by_thread.processing.relevant > 0
    # Matched in the parser processes, so the story builder only clustered.
    assert sum(r.matched_entries for r in by_processes.feeds) == by_processes.new_entries
    rows = stored(parallel)
    assert comparable(rows, server) == comparable(stored(threaded), server)
    assert all(done for *_, done, _ in rows.values())  # every entry matched and clustered
    assert {in_story for *_, relevant, _, _, in_story in rows.values() if relevant} == {True}
    # The parser processes read the reports ahead of their clustering: the same stories.
    assert story_groups(parallel) == story_groups(threaded)
    assert any(len(group) > 1 for group in story_groups(parallel))

    # A second cycle: nothing changed, nothing parsed, nothing stored twice.
    again = run(parallel)
    assert again.new_entries == 0
    assert stored(parallel) == rows
    threaded.db.dispose()
    parallel.db.dispose()


def test_workers_with_other_rules_leave_matching_to_the_processor(
    tmp_path: Path, server: FeedServer
) -> None:
    expected = pipeline_for(f"sqlite:///{tmp_path / 'expected.db'}", tmp_path, server, 0)
    run(expected)
    pipeline = pipeline_for(f"sqlite:///{tmp_path / 'other.db'}", tmp_path, server, 1)
    other_rules = 'threshold = 1.0\n[[rule]]\nname = "any"\nquery = "the"\nweight = 5\n'
    pipeline.poller.rules_loader = functools.partial(parse_rules, other_rules, "other")
    if not _pickles(pipeline.story_builder.rules):
        report = run(pipeline)
        assert sum(r.matched_entries for r in report.feeds) == 0
        assert report.processing.processed == report.new_entries > 0
    else:  # the rule set itself travels to the workers: the loader is not used
        run(pipeline)
    assert comparable(stored(pipeline), server) == comparable(stored(expected), server)
    expected.db.dispose()
    pipeline.db.dispose()


def _pickles(value: object) -> bool:
    import pickle

    try:
        pickle.dumps(value)
    except Exception:
        return False
    return True


def test_a_parser_process_that_dies_is_replaced(tmp_path: Path, server: FeedServer) -> None:
    settings = Settings.model_validate({"data_dir": tmp_path, "feeds": []})
    rules = load_rules(settings.rules)
    feed = demo_feeds()[0]
    body = server.get(feed.path)
    assert body is not None
    job = ParseJob(
        feed_id=1,
        feed_url=server.url(feed.path),
        fetched_url=server.url(feed.path),
        feed_name=None,
        feed_title=None,
        body=body,
        content_type=None,
        known={},
        now=NOW,
        not_before=datetime(2000, 1, 1, tzinfo=UTC),
    )

    async def scenario() -> tuple[int, int]:
        parsers = ParserPool(
            rules,
            rules.threshold,
            rules_loader=functools.partial(load_rules, settings.rules),
            processes=1,
        )
        try:
            first = await parsers.parse(job)
            assert first.plan is not None
            pool = parsers._executor
            assert isinstance(pool, ProcessPoolExecutor)
            killed = [c for c in multiprocessing.active_children() if "SpawnProcess" in c.name]
            for child in killed:
                assert child.pid is not None
                os.kill(child.pid, signal.SIGKILL)
                child.join()
            # The pool finds the death out on a thread of its own (and sets its `_broken`): the
            # next body comes once it has, so it meets a pool that refuses new work.
            wait_for(lambda: pool._broken, 30, "the pool to notice the dead process")
            second = await parsers.parse(job)
            assert second.plan is not None, second.error
            # Parsed by a new process, not by falling back to a thread.
            assert parsers.processes == 1 and parsers._executor not in (None, pool)
            alive = {c.pid for c in multiprocessing.active_children() if "SpawnProcess" in c.name}
            assert alive and not alive & {c.pid for c in killed}
            return len(first.plan.inserts), len(second.plan.inserts)
        finally:
            parsers.close()

    first, second = asyncio.run(scenario())
    assert first == second > 0


def test_parser_processes_end_when_the_poller_is_killed(tmp_path: Path) -> None:
    script = tmp_path / "poller.py"
    script.write_text(
        "import asyncio, multiprocessing, sys, time\n"
        "from datetime import UTC, datetime\n"
        "from pathlib import Path\n"
        "from bot.matcher import load_rules\n"
        "from bot.worker.parsing import ParseJob, ParserPool\n"
        "async def main() -> None:\n"
        "    rules = load_rules(Path(sys.argv[1]))\n"
        "    parsers = ParserPool(rules, rules.threshold, processes=2)\n"
        "    body = b'<rss version=\"2.0\"><channel><title>T</title><item><title>A</title>'\n"
        "    body += b'<link>https://ex.com/a</link></item></channel></rss>'\n"
        "    now = datetime.now(UTC)\n"
        "    job = ParseJob(1, 'https://ex.com/f', 'https://ex.com/f', None, None, body,\n"
        "                     None, {}, now, now.replace(year=2000))\n"
        "    await asyncio.gather(parsers.parse(job), parsers.parse(job))\n"
        "    pids = [c.pid for c in multiprocessing.active_children()]\n"
        "    print(' '.join(map(str, pids)), flush=True)\n"
        "    time.sleep(60)\n"
        "if __name__ == '__main__':\n"
        "    asyncio.run(main())\n"
    )
    settings = Settings.model_validate({"data_dir": tmp_path, "feeds": []})
    poller = subprocess.Popen(
        [sys.executable, str(script), str(settings.rules)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    try:
        assert poller.stdout is not None
        children = [int(pid) for pid in poller.stdout.readline().split()]
        assert children
    finally:
        poller.kill()
        poller.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(_alive(pid) for pid in children):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in children)


def _alive(pid: int) -> bool:
    """Whether `pid` is a running process (an exited one not reaped yet counts as gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


def _parser_processes() -> set[int]:
    return {
        child.pid
        for child in multiprocessing.active_children()
        if child.pid is not None and "SpawnProcess" in child.name
    }


def _one_item_job() -> ParseJob:
    """A parse job of a one-item feed."""
    body = (
        b'<rss version="2.0"><channel><title>T</title><item><title>A</title>'
        b"<link>https://ex.com/a</link></item></channel></rss>"
    )
    return ParseJob(1, "https://ex.com/f", "https://ex.com/f", None, None, body, None, {}, NOW,
                    datetime(2000, 1, 1, tzinfo=UTC))  # fmt: skip


def test_processes_started_early_serve_the_cycle_and_end_with_it(tmp_path: Path) -> None:
    """`start_early` starts the pool in the background (the event loop goes on meanwhile);
    bodies parsed afterwards use those same processes, and closing the pool ends them,
    also when it is closed while they are still starting and no body ever came."""
    settings = Settings.model_validate({"data_dir": tmp_path, "feeds": []})
    rules = load_rules(settings.rules)
    job = _one_item_job()

    async def used_early() -> tuple[set[int], set[int], int, int]:
        parsers = ParserPool(rules, rules.threshold, processes=2)
        parsers.start_early()
        ticks = 0
        async with asyncio.timeout(60):
            while len(_parser_processes()) < 2:
                await asyncio.sleep(0.01)  # the loop is free while the processes start
                ticks += 1
        started = _parser_processes()
        results = await asyncio.gather(*(parsers.parse(job) for _ in range(4)))
        during = _parser_processes()
        await parsers.aclose()
        inserts = sum(len(r.plan.inserts) for r in results if r.plan is not None)
        return started, during, ticks, inserts

    started, during, ticks, inserts = asyncio.run(used_early())
    assert len(started) == 2 and during == started
    assert ticks > 0
    assert inserts == 4
    assert not _parser_processes()

    async def closed_while_starting() -> None:
        parsers = ParserPool(rules, rules.threshold, processes=2)
        parsers.start_early()
        await asyncio.sleep(0)
        await parsers.aclose()

    asyncio.run(closed_while_starting())
    assert not _parser_processes()


def test_parser_processes_load_the_parsers_once_and_exempt_them_from_collections(
    tmp_path: Path,
) -> None:
    """A parser process loads the parsers and the rules as it starts, then moves what it
    loaded to the permanent generation (gc.freeze): parsing triggers full collections, and a
    process's last ones, as it exits, held up the end of every cycle's parsing."""
    settings = Settings.model_validate({"data_dir": tmp_path, "feeds": []})
    rules = load_rules(settings.rules)
    parsers = ParserPool(rules, rules.threshold, processes=1)
    try:
        executor = parsers._start()
        frozen = executor.submit(eval, "__import__('gc').get_freeze_count()").result(60)
        loaded = executor.submit(eval, "'bot.reader.parser' in __import__('sys').modules")
        assert loaded.result(60) is True
        assert frozen > 10_000
    finally:
        parsers.close()
    assert not _parser_processes()


def test_processes_chosen_per_cycle_start_only_once_there_is_enough_to_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A parser pool that chooses its processes (a cycle of many feeds on two cores) parses the
    first bodies in a thread and starts no process while fewer than PROCESS_MIN_FEEDS bodies
    came; the body that reaches that many starts them, and later bodies go to them. The rows
    are the same either way."""
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    settings = Settings.model_validate({"data_dir": tmp_path, "feeds": []})
    rules = load_rules(settings.rules)
    job = _one_item_job()

    async def scenario() -> tuple[int, bool, set[int], set[int], list[int]]:
        parsers = ParserPool(rules, rules.threshold, feeds=1000)
        chosen = parsers.processes
        try:
            few = [await parsers.parse(job) for _ in range(PROCESS_MIN_FEEDS - 1)]
            started_early = parsers.started
            before = _parser_processes()
            rest = [await parsers.parse(job)]
            async with asyncio.timeout(60):
                while parsers._executor is None:
                    rest.append(await parsers.parse(job))  # in a thread while they start
                    await asyncio.sleep(0.01)
            rest += await asyncio.gather(*(parsers.parse(job) for _ in range(4)))
            after = _parser_processes()
        finally:
            await parsers.aclose()
        inserts = [len(r.plan.inserts) for r in few + rest if r.plan is not None]
        return chosen, started_early, before, after, inserts

    chosen, started_early, before, after, inserts = asyncio.run(scenario())
    assert chosen == 2
    assert not started_early and before == set()
    assert len(after) == 2
    assert inserts == [1] * len(inserts) and len(inserts) >= PROCESS_MIN_FEEDS + 4
    assert not _parser_processes()


def test_parser_processes_start_without_the_database_layer() -> None:
    """What a parser process imports (bot.worker.parsing: parsing, matching, row planning)
    does not pull in SQLAlchemy, a quarter of a second of every process start."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, bot.worker.parsing; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'sqlalchemy')[:3])",
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    ).stdout.strip()
    assert loaded == "[]"
