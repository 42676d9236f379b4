"""The cyclic garbage collector's view of a poll cycle and of the daemon's long-lived state.

A poll cycle allocates a great deal that lives on (stored entries' stories, the clusterer's
centroids and postings, the feature caches) and almost nothing that only the cyclic collector
can free. Python still walks every surviving object on each full collection, and the growing
heap triggers such walks again and again: in bench/poll.py's cold cycle (50,000 new entries)
nine full collections took 1.4 of 10.9 s and freed a few hundred objects; in its warm cycle
(1,000 unchanged feeds) they were 0.25 of 0.87 s, walking the state the cold cycle left.

So within a cycle only the young generations are collected (they free the short-lived cycles),
and after a cycle that stored new entries everything is collected once and what survives moves to
the permanent generation (`gc.freeze`), out of later walks. Unfreezing first means that cycles
among objects frozen earlier and dropped since are freed then: nothing leaks, it is collected
one cycle later. Measured on that cold cycle: the end-of-cycle collection takes 0.2 s and frees
under 2,000 objects.
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager

# glibc's mallopt parameter for the most malloc arenas (malloc.h: M_ARENA_MAX).
_M_ARENA_MAX = -8
# A number of young collections no cycle reaches: no full collection within the block.
_NEVER = 1_000_000
# Blocks open now, and the thresholds from before the first of them (blocks may overlap: two
# cycles in one event loop; the last to end restores them).
_open_blocks = 0
_thresholds_before: tuple[int, int, int] | None = None


@contextmanager
def full_collections_deferred() -> Iterator[None]:
    """Within the block, only the young generations are collected."""
    global _open_blocks, _thresholds_before
    if _open_blocks == 0:
        _thresholds_before = gc.get_threshold()
        young, middle, _ = _thresholds_before
        gc.set_threshold(young, middle, _NEVER)
    _open_blocks += 1
    try:
        yield
    finally:
        _open_blocks -= 1
        if _open_blocks == 0 and _thresholds_before is not None:
            gc.set_threshold(*_thresholds_before)
            _thresholds_before = None


def settle_long_lived() -> float:
    """Collect everything, then exempt the survivors from later collections; returns seconds."""
    started = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return time.perf_counter() - started


def one_malloc_arena() -> bool:
    """Have every thread of this process allocate from glibc's main arena; returns whether that
    took (False off Linux, or with a C library without the setting). Call it before the first
    thread starts: a thread keeps the arena it first allocated from.

    The poller's threads (storage, clustering, the event loop's executor) each had an arena of
    their own, and memory one of them freed was not reused by another: a cold cycle of 10,000
    feeds peaked at 287-298 MiB over all processes, 267 with one arena (bench/peers.py's
    measure). Python code allocates under the GIL anyway, so one arena adds little waiting."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_ARENA_MAX, 1))
