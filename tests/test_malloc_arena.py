"""One malloc arena per process (bot.worker.memory.one_malloc_arena, called first thing by the
`newsbot` entry point): threads started afterwards allocate from glibc's main arena instead of
each getting one, whose freed memory the others did not reuse. Counted with glibc's own
malloc_info, in a fresh process each time (the setting is per process)."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="malloc arenas are glibc's (Linux)"
)

# Threads that allocate blocks above pymalloc's limit (glibc serves those), then the number of
# heaps (arenas) malloc_info reports.
PROGRAM = """
import ctypes, os, sys, tempfile, threading
if sys.argv[1] == "one":
    from bot.worker.memory import one_malloc_arena
    assert one_malloc_arena()
kept = []
def allocate():
    kept.extend(bytearray(4096) for _ in range(200))
threads = [threading.Thread(target=allocate) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
libc = ctypes.CDLL(None)
libc.fopen.restype = ctypes.c_void_p
libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
libc.fclose.argtypes = [ctypes.c_void_p]
path = os.path.join(tempfile.mkdtemp(), "malloc.xml")
stream = libc.fopen(path.encode(), b"w")
libc.malloc_info(0, stream)
libc.fclose(stream)
print(open(path).read().count("<heap nr="))
"""


def _arenas(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", PROGRAM, mode], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout.strip())


def test_threads_share_one_arena_once_it_is_set() -> None:
    assert _arenas("default") > 1  # each thread its own, as glibc does unless told
    assert _arenas("one") == 1
