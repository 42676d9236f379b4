"""Reports read ahead in another process (bot.worker.offload.read_ahead: a large poll takes the
reading half of clustering off the main process) make the same stories as reports read in
place; when the process fails, the rest is read in place and the stories are still the same; a
batch too small to pay for it is read in place; a reading of another item is refused; story
facts made there are the ones made in place; a poll that parsed in processes reads ahead and
makes the stories a poll parsing in a thread makes. Real processes (spawn), the labelled deal
coverage of ../shared/data."""

from __future__ import annotations

import logging
import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import DATA, require_shared

from bot.clustering.engine import StoryClusterer
from bot.clustering.facts import story_facts
from bot.clustering.item import ClusterItem, ItemReader, ItemReading
from bot.config.loader import load_config
from bot.daemon.pipeline import build_pipeline
from bot.evaluation.endtoend import (
    LoopbackFeeds,
    as_of,
    poll,
    poll_settings,
    read_placement,
    retention_days,
)
from bot.evaluation.items import read_items
from bot.worker.offload import (
    IN_PROCESSES_CHUNK,
    IN_PROCESSES_MIN,
    in_processes,
    read_ahead,
    reading_process,
)

DEALS_DEV = DATA / "stories" / "deals_dev.jsonl"


@pytest.fixture(scope="module")
def items() -> list[ClusterItem]:
    # In arrival order, as the story builder gives them.
    return sorted(
        read_items(require_shared(DEALS_DEV)), key=lambda item: (item.published, item.key)
    )


@pytest.fixture(scope="module")
def processes() -> Iterator[ProcessPoolExecutor]:
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield pool


def stories(items: list[ClusterItem], readings: list[ItemReading | None]) -> list[set[str]]:
    """The stories the items make, each as the keys of its items, in the order they started."""
    clusterer = StoryClusterer()
    placed: dict[str, set[str]] = {}
    for item, reading in zip(items, readings, strict=True):
        placed.setdefault(clusterer.add(item, read=reading).story_key, set()).add(item.key)
        for gone, kept in clusterer.drain_merges():
            placed[kept] |= placed.pop(gone)
    return list(placed.values())


# What the reading process must not load: it imports the module of each function it is sent,
# and the database layer and the settings cost it half a second before its first reading.
HEAVY = ("sqlalchemy", "pydantic", "httpx", "feedparser")
LOADED_HEAVY = f"sorted(m for m in __import__('sys').modules if m.split('.')[0] in {HEAVY!r})"


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="one core: reports are read in place")
def test_the_reading_process_loads_the_clustering_modules_only(items: list[ClusterItem]) -> None:
    with reading_process(True) as readers:
        assert readers is not None
        ahead = list(read_ahead(StoryClusterer().reader, items[:100], readers))
        made = list(in_processes(story_facts, [[]] * IN_PROCESSES_MIN, readers, what=("s", "s")))
        loaded = readers.submit(eval, LOADED_HEAVY).result()
    assert all(reading is not None for _, reading in ahead)
    assert all(facts is not None for facts in made)
    assert loaded == []


def test_reports_read_in_other_processes_make_the_same_stories(
    items: list[ClusterItem], processes: ProcessPoolExecutor
) -> None:
    ahead = list(read_ahead(StoryClusterer().reader, items, processes))

    assert [item for item, _ in ahead] == items  # in order, each item once
    readings = [reading for _, reading in ahead]
    assert all(reading is not None for reading in readings)
    # Made in the other processes: each reading holds its own copy of the item.
    assert all(r is not None and r.item is not item and r.item == item for item, r in ahead)
    in_place = stories(items, [None] * len(items))
    assert stories(items, readings) == in_place
    assert len(in_place) < len(items) / 2  # stories of several reports: the test can tell


@dataclass(frozen=True)
class DiesOn:
    """A reader whose process dies on the chunk holding item `key` (an out-of-memory kill)."""

    key: str
    reader: ItemReader

    def __call__(self, item: ClusterItem) -> ItemReading:
        if item.key == self.key:
            os._exit(9)
        return self.reader(item)


def test_when_a_process_dies_the_rest_is_read_in_place_and_the_stories_are_the_same(
    items: list[ClusterItem], caplog: pytest.LogCaptureFixture
) -> None:
    doomed = 4 * IN_PROCESSES_CHUNK  # in the fifth chunk
    reader = DiesOn(items[doomed].key, StoryClusterer().reader)
    spawn = multiprocessing.get_context("spawn")
    with (
        ProcessPoolExecutor(1, mp_context=spawn) as pool,
        caplog.at_level(logging.WARNING, logger="bot.worker.offload"),
    ):
        ahead = list(read_ahead(reader, items, pool))

    assert [item for item, _ in ahead] == items
    readings = [reading for _, reading in ahead]
    read_there = sum(reading is not None for reading in readings)
    # The readings made before the process died are used; from there on, none.
    assert 0 < read_there <= doomed
    assert all(reading is None for reading in readings[read_there:])
    assert f"computing the other {len(items) - read_there} reports here" in caplog.text
    assert stories(items, readings) == stories(items, [None] * len(items))


def test_facts_made_in_other_processes_are_the_facts_made_in_place(
    items: list[ClusterItem], processes: ProcessPoolExecutor
) -> None:
    """A batch's stories have their facts made in the parser processes too (in_processes of
    facts.story_facts, StoryBuilder._refresh_touched)."""
    clusterer = StoryClusterer()
    reports = []  # of every story, as it leaves the join window or at the end
    clusterer.before_expiry = lambda key: reports.append(clusterer.fact_reports(key))
    for item in items:
        clusterer.add(item)
    reports += [clusterer.fact_reports(key) for key in clusterer.story_keys()]
    made = list(in_processes(story_facts, reports, processes, what=("story", "stories")))

    assert made == [story_facts(story) for story in reports]
    assert sum(bool(facts.parties) for facts in made) > len(reports) / 2  # facts to compare


def test_a_batch_too_small_to_pay_for_it_is_read_in_place(
    items: list[ClusterItem], processes: ProcessPoolExecutor
) -> None:
    few = items[: IN_PROCESSES_MIN - 1]
    ahead = list(read_ahead(StoryClusterer().reader, few, processes))
    assert ahead == [(item, None) for item in few]


def test_no_processes_reads_in_place(items: list[ClusterItem]) -> None:
    ahead = list(read_ahead(StoryClusterer().reader, items, None))
    assert ahead == [(item, None) for item in items]


def test_a_reading_of_another_item_is_refused(items: list[ClusterItem]) -> None:
    clusterer = StoryClusterer()
    wrong = clusterer.reader(items[1])
    with pytest.raises(ValueError, match=f"a reading of item {items[1].key!r} given for"):
        clusterer.add(items[0], read=wrong)


def test_a_poll_that_parsed_in_processes_reads_ahead_and_makes_the_stories_a_thread_makes(
    items: list[ClusterItem], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The whole cycle: the deal coverage served as one feed per outlet on 127.0.0.1 and
    polled: parsing in a thread; in two parser processes, after which a process of its own
    reads the reports ahead of their clustering; and so again with more reports than a cycle
    reads ahead (its memory goes to the main process's clustering state), read in place."""
    now = as_of(items)
    placements = {}
    # (parser processes, the fewest and the most reports read ahead, read ahead?)
    runs = [(0, (0, 10_000), False), (2, (50, 10_000), True), (2, (50, 100), False)]
    with LoopbackFeeds(items) as served:
        served.publish(items)
        for index, (processes, reports, ahead) in enumerate(runs):
            settings = poll_settings(
                load_config(None),
                served.feed_settings(),
                database_url=f"sqlite:///{tmp_path / f'{index}.db'}",
                data_dir=tmp_path,
                retention_days=retention_days(items, now),
            )
            pipeline = build_pipeline(settings, clock=lambda: now)
            pipeline.poller.parse_processes = processes
            pipeline.poller.read_ahead_reports = reports
            caplog.clear()
            with caplog.at_level(logging.DEBUG, logger="bot.worker.offload"):
                report = poll(pipeline)
            assert report.processing.relevant == 192  # within the first range, over the second
            # The reports, and the facts of the stories they made, were made there.
            assert ("reports in other processes" in caplog.text) == ahead
            placements[index] = read_placement(pipeline.db, items)
            pipeline.db.dispose()
    assert placements[1] == placements[2] == placements[0]
    assert placements[0].story_count < len(placements[0].stories) / 2
