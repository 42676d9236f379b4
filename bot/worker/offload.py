"""Computing pure functions of a poll cycle in a process of its own: the story builder's reading
process (`reading_process`), which reads reports ahead of their placing (`read_ahead`) and makes
the facts of the stories a batch changed (`in_processes`).

Apart from :mod:`bot.worker.process`, and importing nothing of the database layer, because a
spawned process imports the module of every function it is sent: the reading process loads
this module and the clustering modules, not SQLAlchemy and the models (which cost it half a
second of CPU, in which the main process waited for its first readings).
"""

from __future__ import annotations

import collections
import contextlib
import gc
import itertools
import logging
import multiprocessing
import os
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING, TypeVar

from bot.text.plural import plural

if TYPE_CHECKING:
    from bot.clustering.item import ClusterItem, ItemReading

log = logging.getLogger(__name__)

Argument = TypeVar("Argument")
Result = TypeVar("Result")

# Relevant reports a cycle needs to start a process to read them ahead (reading_process): one
# costs some 0.5 s of CPU to start, and reading saves some 1.5 ms per report in the main process.
READ_AHEAD_REPORTS = 500
# ... and the most: that process costs some 75 MiB (an interpreter, the clustering modules and
# their caches), while the main process's clustering state grows with the cycle's reports. A
# cycle of all processes stays under 300 MiB at any size (bench/peers.py): a cold start of
# 3,000 feeds (7,400 relevant reports) peaked at 267 MiB with it (48 s) and 241 without (66 s);
# 10,000 feeds (25,000 reports) read in place and peak at 287-297. Larger cycles read in place.
READ_AHEAD_MAX_REPORTS = 8000
# Arguments sent per message to another process (in_processes), and the fewest worth
# pickling there and back.
IN_PROCESSES_CHUNK = 25
IN_PROCESSES_MIN = 2 * IN_PROCESSES_CHUNK
# Chunks out at once: enough to keep a few processes busy while the caller takes results.
IN_PROCESSES_WINDOW = 4


def read_ahead(
    reader: Callable[[ClusterItem], ItemReading],
    items: list[ClusterItem],
    readers: Executor | None,
) -> Generator[tuple[ClusterItem, ItemReading | None], None, None]:
    """Each item with its reading by `reader` made in the `readers` processes, in order, while
    the caller places the items before it (see `in_processes`); None where the item is to be
    read in place.

    Reading (tokens, names, figures, deal parties) is about half of clustering's CPU and
    depends on the item alone; placing depends on every item before it, so it stays in one
    thread. At 1,000 new feeds this took 5 of the 13.6 seconds of processing off the main
    process."""
    results = in_processes(reader, items, readers, what=("report", "reports"))
    with contextlib.closing(results):
        yield from zip(items, results, strict=True)


@contextlib.contextmanager
def reading_process(wanted: bool) -> Iterator[Executor | None]:
    """A process to read reports ahead in, and make story facts in (`in_processes`), when
    `wanted` (None otherwise); stopped on the way out.

    One process: it reads faster than the main thread places, so a second would only hold a
    second copy of the readings' caches (the two parser processes, kept for this, took a cold
    start of 3,000 feeds from 239 to 397 MiB of all processes)."""
    if not wanted or (os.cpu_count() or 1) < 2:
        yield None
        return
    process = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    try:
        yield process
    finally:
        # Its last task, waited for (shutting down cancels what has not started): its caches
        # leave the collector's walks, so that it exits without a full collection over them,
        # which the caller waited for (0.35 s at 1,000 new feeds).
        with contextlib.suppress(BrokenProcessPool, RuntimeError):  # a dead process: no work
            process.submit(gc.freeze).result()
        process.shutdown(wait=True, cancel_futures=True)


def in_processes(
    function: Callable[[Argument], Result],
    arguments: Sequence[Argument],
    processes: Executor | None,
    *,
    what: tuple[str, str],
) -> Generator[Result | None, None, None]:
    """`function` of each argument, computed in `processes`, in order, as they come; None for
    the arguments to be computed in place: all of them without processes or with fewer than
    IN_PROCESSES_MIN (not worth pickling there and back), and the rest of them when the
    processes fail (logged, naming `what` they were: the noun, singular and plural). Only for
    pure functions: a result made there must be the one made here.

    Arguments go IN_PROCESSES_CHUNK at a time, and at most IN_PROCESSES_WINDOW chunks are out
    at once: results the caller has not taken yet wait in memory, so they stay a few chunks'
    worth however many arguments a batch has."""
    if processes is None or len(arguments) < IN_PROCESSES_MIN:
        yield from (None for _ in arguments)
        return
    log.debug("computing %s in other processes", plural(len(arguments), *what))
    chunks = (
        arguments[start : start + IN_PROCESSES_CHUNK]
        for start in range(0, len(arguments), IN_PROCESSES_CHUNK)
    )
    out: collections.deque[Future[list[Result]]] = collections.deque()
    given = 0
    try:
        for chunk in itertools.islice(chunks, IN_PROCESSES_WINDOW):
            out.append(processes.submit(_each, function, chunk))
        while out:
            results = out.popleft().result()
            for chunk in itertools.islice(chunks, 1):
                out.append(processes.submit(_each, function, chunk))
            for result in results:
                yield result
                given += 1
    except Exception as exc:  # a dead process, or a bug met by one of the arguments
        log.warning(
            "computing %s in other processes failed (%s); computing the other %s here",
            plural(len(arguments), *what),
            exc,
            plural(len(arguments) - given, *what),
        )
        yield from (None for _ in arguments[given:])
    finally:  # also when the caller stops early
        for future in out:
            future.cancel()


def _each(function: Callable[[Argument], Result], chunk: Sequence[Argument]) -> list[Result]:
    return [function(argument) for argument in chunk]
