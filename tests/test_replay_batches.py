"""The daemon and `newsbot cluster` make the same stories of the same entries, however the
entries are batched across polls (issue 15, "Daemon = CLI").

deals_dev's reports are served as one RSS feed per outlet on 127.0.0.1; the feeds grow batch by
batch and a real poll (the daemon's path: fetch, parse, store, match, cluster) runs after each
batch, with the poll's clock just after the newest report served so far (as if the daemon had
polled then). Every item is relevant (the rule set of `newsbot eval --all-relevant`), so the
comparison is about clustering alone. The final partition of the items into stories is compared
with one poll of every item, and with `newsbot cluster` (assign_items) on the items that reached
a story.

Each replay runs once per module, in a fresh interpreter, two at a time: a poll cycle that
stores entries ends with a full collection of its process's heap (bot.worker.memory), and a
test session's heap, several times a daemon's, made the 100-odd polls of these replays most of
their time.
"""

from __future__ import annotations

import functools
import multiprocessing
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli.cluster import assign_items, publication_order
from bot.clustering.item import ClusterItem
from bot.config import Settings
from bot.daemon.app import Pipeline, build_pipeline
from bot.evaluation.endtoend import (
    ALL_RELEVANT,
    LoopbackFeeds,
    Placement,
    as_of,
    poll,
    poll_settings,
    read_placement,
    retention_days,
)
from bot.evaluation.items import read_items
from bot.evaluation.scores import differing_items

# How late an outlet's reports may come for the stories to be those of one poll (see
# test_outlets_polled_up_to_a_day_late_make_the_stories_of_one_poll).
ONE_DAY = timedelta(days=1)

DEALS = Path(__file__).resolve().parents[2] / "shared" / "data" / "stories" / "deals_dev.jsonl"

# Why the late-outlets variant still fails: there every third outlet comes one batch late, which
# in deals_dev's sparse timeline is 15 days at the median and up to 141 days. A report published
# before reports already clustered is placed after them (its story may have left the active
# window since, or been joined by later reports), so the stories depend on when each outlet's
# feed showed it. Reports up to a day late (and up to a week, measured once) make the stories of
# one poll.
LATE_REPORTS = (
    "reports weeks late (every third outlet a batch late: 15 days at the median) are placed "
    "after the reports clustered meanwhile, not in publication order: the story builder places "
    "what it has and does not replay what came before"
)


def _items() -> list[ClusterItem]:
    if not DEALS.is_file():
        pytest.skip(f"the shared evaluation data is missing: {DEALS}")
    return publication_order(read_items(DEALS))


def _chunks(items: Sequence[ClusterItem], size: int) -> list[list[ClusterItem]]:
    return [list(items[start : start + size]) for start in range(0, len(items), size)]


def _late_outlets(
    items: Sequence[ClusterItem], size: int, at_most: timedelta | None = None
) -> list[list[ClusterItem]]:
    """Batches of `size` in publication order, except that every third outlet (in order of
    first appearance) is polled one batch late: later polls bring reports published earlier
    than reports already clustered, as when feeds are polled at different times. With
    `at_most`, a report comes late only when the next batch begins within `at_most` of it (a
    feed polled late by a poll interval or an outage, not weeks: deals_dev's batches of 7 span
    two weeks at the median)."""
    outlets = list(dict.fromkeys(item.source for item in items))
    late = {outlet for index, outlet in enumerate(outlets) if index % 3 == 0}
    batches = _chunks(items, size)
    arriving: list[list[ClusterItem]] = [[] for _ in range(len(batches) + 1)]

    def comes_late(item: ClusterItem, following: datetime | None) -> bool:
        if item.source not in late:
            return False
        if at_most is None:
            return True
        return (
            following is not None
            and item.published is not None
            and (following - item.published <= at_most)
        )

    for index, batch in enumerate(batches):
        following = batches[index + 1][0].published if index + 1 < len(batches) else None
        for item in batch:
            arriving[index + comes_late(item, following)].append(item)
    replayed = [batch for batch in arriving if batch]
    newest = datetime.min.replace(tzinfo=UTC)
    overtaken = 0  # reports arriving after a report published later than them was clustered
    for batch in replayed:
        dates = [item.published or newest for item in batch]
        overtaken += sum(1 for date in dates if date < newest)
        newest = max(newest, *dates)
    assert overtaken > 0
    return replayed


def replay(
    batches: Sequence[Sequence[ClusterItem]],
    *,
    restart: bool = False,
    database_url: str | None = None,
) -> Placement:
    """Serve the batches' items cumulatively and poll after each batch; with `restart`, every
    poll after the first runs in a new pipeline (a fresh clusterer restored from the database),
    as after a restart of the daemon. Returns where the items ended up."""
    items = [item for batch in batches for item in batch]
    end = as_of(items)
    clock = [end]
    with (
        tempfile.TemporaryDirectory(prefix="newsbot-replay-") as folder,
        LoopbackFeeds(items) as served,
    ):
        settings = poll_settings(
            Settings(),
            served.feed_settings(),
            database_url=database_url or f"sqlite:///{Path(folder) / 'replay.db'}",
            data_dir=Path(folder),
            retention_days=retention_days(items, end),
        )
        start: Callable[[], Pipeline] = functools.partial(
            build_pipeline, settings, clock=lambda: clock[0], rules=ALL_RELEVANT
        )
        pipeline = start()
        shown: list[ClusterItem] = []
        try:
            for number, batch in enumerate(batches):
                shown.extend(batch)
                served.publish(shown)
                clock[0] = as_of(shown) if number == 0 else max(clock[0], as_of(shown))
                if restart and number:
                    pipeline.db.dispose()
                    pipeline = start()
                report = poll(pipeline)
                assert report.outcome_counts["error"] == 0, report.summary()
            return read_placement(pipeline.db, items)
        finally:
            pipeline.db.dispose()


VARIANTS: dict[str, Callable[[list[ClusterItem]], list[list[ClusterItem]]]] = {
    "one poll": lambda items: [items],
    "batches of 7": lambda items: _chunks(items, 7),
    "batches of 25": lambda items: _chunks(items, 25),
    "batches of 7, late outlets": lambda items: _late_outlets(items, 7),
    "batches of 7, outlets a day late": lambda items: _late_outlets(items, 7, ONE_DAY),
}


# (variant, with restarts): every replay the tests below read; the one every test compares with
# first, then the longest.
REPLAYS = [
    ("one poll", False),
    ("batches of 7, late outlets", False),
    ("batches of 7, outlets a day late", False),
    ("batches of 7", True),
    ("batches of 7", False),
    ("batches of 25", False),
]


def replay_variant(variant: str, restart: bool, database_url: str | None = None) -> Placement:
    """One variant's replay (run in a worker process: see the module docstring)."""
    return replay(VARIANTS[variant](_items()), restart=restart, database_url=database_url)


Replays = Callable[[str, bool], Placement]


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    """Two fresh interpreters for the replays."""
    _items()  # skips here, in the test process, when the shared data is missing
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as executor:
        yield executor


@pytest.fixture(scope="module")
def placement(pool: ProcessPoolExecutor) -> Replays:
    """(variant, restart) -> where its replay put the items; every replay is started at once,
    each is waited for by the first test that reads it."""
    started: dict[tuple[str, bool], Future[Placement]] = {
        key: pool.submit(replay_variant, *key) for key in REPLAYS
    }
    return lambda variant, restart: started[(variant, restart)].result()


def _partition(placement: Placement) -> dict[str, str]:
    assert not placement.not_relevant and not placement.not_placed, placement
    return placement.partition(item.key for item in _items())


@functools.cache
def _cluster_command() -> dict[str, str]:
    """`newsbot cluster`'s stories of the items (all of which reach a story in every variant:
    _partition checks it)."""
    return dict(assign_items(_items()))


def test_one_poll_makes_the_stories_of_newsbot_cluster(placement: Replays) -> None:
    one = _partition(placement("one poll", False))
    assert len(set(one.values())) > 60  # deals_dev has 69 gold stories: a real partition
    assert differing_items(one, _cluster_command()) == []


def _expect(placement: Replays, variant: str, restart: bool = False) -> None:
    batched = _partition(placement(variant, restart))
    one = _partition(placement("one poll", False))
    against_one = differing_items(one, batched)
    against_cluster = differing_items(_cluster_command(), batched)
    assert not against_one and not against_cluster, (
        f"{variant}{' with restarts' if restart else ''}: {len(against_one)} items are in "
        f"other stories than after one poll, {len(against_cluster)} than with newsbot cluster: "
        f"{against_one[:12]}"
    )


def test_batches_of_7_make_the_stories_of_one_poll(placement: Replays) -> None:
    _expect(placement, "batches of 7")


def test_batches_of_25_make_the_stories_of_one_poll(placement: Replays) -> None:
    _expect(placement, "batches of 25")


def test_outlets_polled_up_to_a_day_late_make_the_stories_of_one_poll(placement: Replays) -> None:
    """Reports that arrive a poll (or an outage of up to a day) after reports published later
    than them were clustered land in the stories one poll makes of everything."""
    _expect(placement, "batches of 7, outlets a day late")


@pytest.mark.xfail(strict=True, reason=LATE_REPORTS)
def test_outlets_polled_late_make_the_stories_of_one_poll(placement: Replays) -> None:
    _expect(placement, "batches of 7, late outlets")


def test_batches_of_7_across_restarts_make_the_stories_of_one_poll(placement: Replays) -> None:
    _expect(placement, "batches of 7", restart=True)


def test_a_restart_between_polls_changes_no_story(placement: Replays) -> None:
    """A daemon restarted between polls (its clusterer rebuilt from the database) makes the
    stories the same daemon makes without restarting."""
    kept = _partition(placement("batches of 7", False))
    restarted = _partition(placement("batches of 7", True))
    assert differing_items(kept, restarted) == []


@pytest.mark.postgres
def test_postgresql_makes_the_stories_of_sqlite_across_restarts(
    pg_url: str, pool: ProcessPoolExecutor, placement: Replays
) -> None:
    """On PostgreSQL each poll also syncs the clusterer with stories changed in the database
    (for several instances); polls of 25 with restarts make SQLite's stories of the same polls."""
    on_postgres = _partition(pool.submit(replay_variant, "batches of 25", True, pg_url).result())
    assert differing_items(_partition(placement("batches of 25", False)), on_postgres) == []
