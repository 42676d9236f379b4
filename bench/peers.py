"""newsbot side by side with the tools users would otherwise run: newsboat and rss2email.

All three poll the same loopback feeds, served by bench/poll.py's feed server (RSS 2.0 with
HTML descriptions, ETags and 304 answers, 25 ports standing in for 25 hosts), as separate
processes started the way a user starts them:

* newsbot: ``newsbot -c CONFIG poll --all`` on a fresh SQLite data directory (cold: the schema is
  created, every feed new), then again (warm: every feed answers 304);
* newsboat: ``newsboat -x reload`` with ``reload-threads 50`` on a fresh cache, then again;
* rss2email: ``r2e run --no-send`` on a fresh data file (feeds imported from OPML beforehand,
  untimed), then again. rss2email fetches one feed at a time.

Rounds are interleaved (each round runs every tool at every size, cold then warm) and the
figures are medians over the rounds. Ratios are peer / newsbot: above 1 means newsbot is faster.
CPU seconds are the tool's and its descendants' user + system time.

Peak memory is the largest sum, over the tool's process and all its descendants, of their
proportional set sizes (PSS, /proc/PID/smaps_rollup), sampled every 50 ms, in runs of their own:
each round times every tool unobserved, then runs it again (reset, cold, warm) with the sampler
for its memory. The sampler costs CPU of its own: about 2 ms per smaps_rollup of a process of
160 MiB (the kernel walks its page tables) and, every tenth sample, a scan of /proc for new
descendants (1.8 ms), some 10-15% of a core while newsbot's four processes run, which a tool
keeping both cores busy pays and a tool using one does not. How much it moved the times was
within the noise of the runs compared (a cold cycle of 1,000 feeds: newsbot 11.95 s unobserved
against 12.84 sampled, three pairs; 13.16 against 12.85 in the first run of this scheme), but an
instrument running beside what it times has no place in the timed runs. Feed counts larger than
``--peer-max-feeds`` run newsbot alone, once, sampled (its memory is the point there; their
times are then the sampled runs').

Peers missing from PATH are installed from Debian (``apt-get install -y newsboat rss2email``)
when this runs as root; a peer that still cannot run is skipped and the JSON says why.

``import_ms``: the import time of the modules a ``newsbot poll`` of one feed loads in its main
process, as ``python -X importtime`` reports them (the sum of the top-level cumulative times;
median of five polls of an existing database, the feed unchanged); ``import_ms_first`` is the
same for the first poll (schema created, entries parsed and clustered). newsbot's bytecode is
written first, as installing it does (`compile_newsbot`).

Prints progress on stderr and one JSON object as the last line of stdout, with the keys
cold_vs_newsboat_100, cold_vs_newsboat_1000, warm_vs_rss2email_1000, cold_peak_mib_1000,
cold_peak_mib_3000, cold_peak_mib_10000, import_ms, then every measurement under "runs".

    .venv/bin/python bench/peers.py [--feeds 100,1000,3000,10000] [--rounds 3]
        [--peer-max-feeds 3000] [--tools newsbot,newsboat,rss2email]
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import itertools
import json
import multiprocessing
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any
from xml.sax.saxutils import quoteattr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from outlets import feed_urls, serve  # noqa: E402

NEWSBOT = [sys.executable, "-m", "bot"]
TOOLS = ("newsbot", "newsboat", "rss2email")
SAMPLE_S = 0.05
TREE_EVERY = 10  # samples between looks for new descendants (0.5 s)
TIMEOUT_S = 3600


# --- measuring a process tree ------------------------------------------------------------------


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc/*/stat."""
    tree: dict[int, list[int]] = defaultdict(list)
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as stat:
                fields = stat.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        tree[int(fields[1])].append(int(entry.name))
    return tree


def _tree(root: int) -> list[int]:
    children = _children()
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children.get(pid, ()))
    return pids


def _memory_kib(pid: int) -> int:
    """PSS of one process (its RSS where smaps_rollup is unavailable)."""
    return _proc_kib(f"/proc/{pid}/smaps_rollup", "Pss:") or _proc_kib(
        f"/proc/{pid}/status", "VmRSS:"
    )


def _proc_kib(path: str, field: str) -> int:
    """The kiB of `field` in a /proc file, 0 when the file or the field is missing."""
    try:
        with open(path, encoding="ascii") as lines:
            for line in lines:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class TreeMemory:
    """Samples the summed PSS of a process and its descendants until stopped; keeps the peak
    and the largest number of processes seen at once."""

    def __init__(self, root: int) -> None:
        self.root = root
        self.peak_kib = 0
        self.processes = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pids: list[int] = []
        for sample in itertools.count():
            if self._stop.is_set():
                return
            # Finding descendants reads every process's stat file: not at every sample.
            if sample % TREE_EVERY == 0:
                pids = _tree(self.root)
            self.peak_kib = max(self.peak_kib, sum(_memory_kib(pid) for pid in pids))
            self.processes = max(self.processes, len(pids))
            self._stop.wait(SAMPLE_S)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def measure(
    command: list[str], *, cwd: Path, env: dict[str, str] | None = None, sample: bool = True
) -> dict[str, Any]:
    """Run `command` to its end: wall seconds, CPU seconds (with its descendants), peak memory
    of the process tree (None unless `sample`), exit status and the tail of its output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    with tempfile.TemporaryFile() as output:
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        memory = TreeMemory(process.pid) if sample else None
        try:
            code = process.wait(TIMEOUT_S)
        finally:
            if memory is not None:
                memory.stop()
            if process.poll() is None:
                process.kill()
                process.wait()
        wall = time.perf_counter() - started
        output.seek(0)
        tail = output.read()[-600:].decode(errors="replace").strip()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 2),
        "peak_mib": round(memory.peak_kib / 1024, 1) if memory is not None else None,
        "processes": memory.processes if memory is not None else None,
        "exit": code,
        "tail": tail.splitlines()[-1] if tail else "",
    }


# --- the tools ---------------------------------------------------------------------------------


def compile_newsbot() -> None:
    """Write the bytecode of newsbot's modules, as installing a package does (pip compiles it):
    a checkout installed in editable mode, where PYTHONDONTWRITEBYTECODE is set (as on this
    machine), would otherwise compile every module from source on each run (about 0.1 s of a
    one-shot poll's start, which no installed newsbot pays)."""
    compileall.compile_dir(ROOT / "bot", quiet=1)


def ensure_peers(wanted: list[str]) -> dict[str, str]:
    """Install the missing peers from Debian; returns the reason each peer is skipped for."""
    binaries = {"newsboat": "newsboat", "rss2email": "r2e"}
    missing = [tool for tool in wanted if tool in binaries and not shutil.which(binaries[tool])]
    if missing and shutil.which("apt-get") and os.geteuid() == 0:
        print(f"installing {' '.join(missing)} from Debian", file=sys.stderr)
        command = ["apt-get", "install", "-y", "--no-install-recommends", *missing]
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(command, env=env, capture_output=True).returncode:
            subprocess.run(["apt-get", "update"], env=env, capture_output=True)
            subprocess.run(command, env=env, capture_output=True)
    skipped = {}
    for tool in wanted:
        if tool in binaries and not shutil.which(binaries[tool]):
            skipped[tool] = (
                f"{binaries[tool]} is not on PATH and could not be installed "
                f"(apt-get install {tool}: needs root and a Debian-based system)"
            )
    return skipped


class Newsbot:
    name = "newsbot"

    def __init__(self, workdir: Path, urls: list[str]) -> None:
        self.dir = workdir
        self.config = workdir / "newsbot.toml"
        feeds = "".join(f'[[feeds]]\nurl = "{url}"\n' for url in urls)
        self.config.write_text(
            f'data_dir = "data"\npoll_interval = 900\n[fetch]\nallow_private_networks = true\n'
            f'[daemon]\nlog_level = "WARNING"\n{feeds}',
            encoding="utf-8",
        )

    def reset(self) -> None:
        shutil.rmtree(self.dir / "data", ignore_errors=True)

    def run(self, sample: bool) -> dict[str, Any]:
        command = [*NEWSBOT, "-c", str(self.config), "poll", "--all"]
        result = measure(command, cwd=self.dir, sample=sample)
        result["summary"] = result.pop("tail")
        return result


class Newsboat:
    name = "newsboat"

    def __init__(self, workdir: Path, urls: list[str]) -> None:
        self.dir = workdir
        (workdir / "urls").write_text("".join(f"{url}\n" for url in urls), encoding="utf-8")
        (workdir / "config").write_text("reload-threads 50\n", encoding="utf-8")

    def reset(self) -> None:
        for name in ("cache.db", "cache.db.lock"):
            (self.dir / name).unlink(missing_ok=True)

    def run(self, sample: bool) -> dict[str, Any]:
        command = ["newsboat", "-x", "reload", "-u", "urls", "-c", "cache.db", "-C", "config"]
        env = {**os.environ, "HOME": str(self.dir), "XDG_CONFIG_HOME": str(self.dir)}
        result = measure(command, cwd=self.dir, env=env, sample=sample)
        with contextlib.closing(sqlite3.connect(self.dir / "cache.db")) as cache:
            result["items"] = cache.execute("SELECT count(*) FROM rss_item").fetchone()[0]
        return result


class Rss2email:
    name = "rss2email"

    def __init__(self, workdir: Path, urls: list[str]) -> None:
        self.dir = workdir
        outlines = "".join(
            f'<outline type="rss" text="feed{i}" xmlUrl={quoteattr(url)}/>'
            for i, url in enumerate(urls)
        )
        (workdir / "feeds.opml").write_text(
            f'<?xml version="1.0"?><opml version="1.0"><body>{outlines}</body></opml>',
            encoding="utf-8",
        )

    def _r2e(self, *args: str) -> list[str]:
        return ["r2e", "-c", "r2e.cfg", "-d", "r2e.json", *args]

    def reset(self) -> None:
        for name in ("r2e.cfg", "r2e.json"):
            (self.dir / name).unlink(missing_ok=True)
        env = {**os.environ, "HOME": str(self.dir)}
        for args in (("new", "bench@example.com"), ("opmlimport", "feeds.opml")):
            subprocess.run(self._r2e(*args), cwd=self.dir, env=env, check=True, capture_output=True)

    def run(self, sample: bool) -> dict[str, Any]:
        env = {**os.environ, "HOME": str(self.dir)}
        result = measure(self._r2e("run", "--no-send"), cwd=self.dir, env=env, sample=sample)
        data = json.loads((self.dir / "r2e.json").read_text(encoding="utf-8"))
        result["items"] = sum(len(feed.get("seen", {})) for feed in data.get("feeds", []))
        return result


# --- import time -------------------------------------------------------------------------------


def _imported_ms(stderr: str) -> tuple[float, list[tuple[float, str]]]:
    """The sum of the top-level cumulative times of a -X importtime report, and its entries."""
    total = 0.0
    top: list[tuple[float, str]] = []
    for line in stderr.splitlines():
        if not line.startswith("import time:") or line.count("|") < 2:
            continue
        _, cumulative, name = line.split("|", 2)
        if not cumulative.strip().isdigit():
            continue  # the header
        if len(name) - len(name.lstrip(" ")) <= 1:  # top level: no indentation beyond the bar
            total += int(cumulative) / 1000
            top.append((int(cumulative) / 1000, name.strip()))
    return total, sorted(top, reverse=True)


def import_ms(url: str, workdir: Path, runs: int = 5) -> dict[str, Any]:
    """What `newsbot poll` of one feed imports in its main process (-X importtime: the sum of
    the top-level cumulative times): `import_ms`, the median of `runs` polls of a database
    that exists (the feed answers 304: the start-up a small deployment pays every cycle), and
    `import_ms_first`, the first poll (the schema created with Alembic, the feed parsed, its
    entries clustered)."""
    tool = Newsbot(workdir, [url])
    tool.reset()
    command = [sys.executable, "-X", "importtime", "-m", "bot", "-c", str(tool.config), "poll"]

    def run(*extra: str) -> tuple[float, list[tuple[float, str]]]:
        done = subprocess.run([*command, *extra], cwd=workdir, capture_output=True, text=True)
        return _imported_ms(done.stderr)

    first, _ = run()
    totals, top = [], []
    for _ in range(runs):
        total, top = run("--all")
        totals.append(total)
    return {
        "import_ms": round(statistics.median(totals), 1),
        "import_ms_runs": [round(t, 1) for t in totals],
        "import_ms_first": round(first, 1),
        "import_top_ms": {name: round(ms, 1) for ms, name in top[:8]},
    }


# --- the benchmark -----------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", default="100,1000,3000,10000", help="feed counts, commas")
    parser.add_argument("--items", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--peer-max-feeds", type=int, default=3000)
    parser.add_argument("--tools", default=",".join(TOOLS))
    args = parser.parse_args()
    sizes = sorted(int(size) for size in args.feeds.split(","))
    wanted = [tool for tool in args.tools.split(",") if tool]
    skipped = ensure_peers([tool for tool in wanted if tool != "newsbot"])
    tools = [tool for tool in wanted if tool not in skipped]
    for tool, reason in skipped.items():
        print(f"skipping {tool}: {reason}", file=sys.stderr)

    context = multiprocessing.get_context("spawn")
    ports_queue = context.Queue()
    server = context.Process(target=serve, args=(max(sizes), args.items, ports_queue), daemon=True)
    server.start()
    runs: dict[str, dict[str, list[dict[str, Any]]]] = defaultdict(lambda: defaultdict(list))
    try:
        ports = ports_queue.get(timeout=1800)
        print(f"serving {max(sizes)} feeds of {args.items} items", file=sys.stderr)
        compile_newsbot()
        with tempfile.TemporaryDirectory(prefix="newsbot-peers-") as tmp:
            imports = import_ms(feed_urls(ports, 1)[0], Path(tmp))
            print(f"import: {imports}", file=sys.stderr)
            for round_ in range(args.rounds):
                for size in sizes:
                    urls = feed_urls(ports, size)
                    for name in tools:
                        if name != "newsbot" and size > args.peer_max_feeds:
                            continue
                        if name == "newsbot" and size > args.peer_max_feeds and round_:
                            continue  # one run of the largest sizes: memory, not speed
                        workdir = Path(tmp) / f"{name}-{size}"
                        workdir.mkdir(exist_ok=True)
                        kind = {"newsbot": Newsbot, "newsboat": Newsboat, "rss2email": Rss2email}
                        tool = kind[name](workdir, urls)
                        # Timed unobserved, then again with the memory sampler; beyond the
                        # peers' sizes, one sampled run.
                        passes = ["memory"] if size > args.peer_max_feeds else ["time", "memory"]
                        for what in passes:
                            tool.reset()
                            for cycle in ("cold", "warm"):
                                result = tool.run(sample=what == "memory")
                                runs[f"{name}_{size}"][f"{cycle}_{what}"].append(result)
                                print(
                                    f"round {round_ + 1} {name} {size} {cycle} ({what}): {result}",
                                    file=sys.stderr,
                                )
                        shutil.rmtree(workdir, ignore_errors=True)
    finally:
        server.terminate()
        server.join(10)

    def median(name: str, size: int, cycle: str, key: str) -> float | None:
        """The median of `key` over the rounds: times from the unobserved runs, memory from
        the sampled ones."""
        measured = runs.get(f"{name}_{size}", {})
        # Sizes run only sampled have no unobserved runs: their times are the sampled runs'.
        unobserved = None if key == "peak_mib" else measured.get(f"{cycle}_time")
        values = [run[key] for run in unobserved or measured.get(f"{cycle}_memory", [])]
        return round(statistics.median(values), 3) if values else None

    def ratio(peer: str, size: int, cycle: str) -> float | None:
        mine, theirs = median("newsbot", size, cycle, "wall_s"), median(peer, size, cycle, "wall_s")
        return round(theirs / mine, 2) if mine and theirs else None

    table = []
    for size in sizes:
        for cycle in ("cold", "warm"):
            row: dict[str, Any] = {"feeds": size, "cycle": cycle}
            for name in tools:
                for key in ("wall_s", "cpu_s", "peak_mib"):
                    row[f"{name}_{key}"] = median(name, size, cycle, key)
                if name != "newsbot":
                    row[f"{name}_ratio"] = ratio(name, size, cycle)
            table.append(row)
    header = " | ".join(f"{name} wall s (ratio) / CPU s / MiB" for name in tools)
    print(f"\n| feeds | cycle | {header} |", file=sys.stderr)
    for row in table:
        cells = []
        for name in tools:
            wall = row[f"{name}_wall_s"]
            if wall is None:
                cells.append("-")
                continue
            ratio_ = f" ({row[f'{name}_ratio']}x)" if name != "newsbot" else ""
            cells.append(f"{wall}{ratio_} / {row[f'{name}_cpu_s']} / {row[f'{name}_peak_mib']}")
        print(f"| {row['feeds']} | {row['cycle']} | " + " | ".join(cells) + " |", file=sys.stderr)

    report: dict[str, Any] = {
        "cold_vs_newsboat_100": ratio("newsboat", 100, "cold"),
        "cold_vs_newsboat_1000": ratio("newsboat", 1000, "cold"),
        "warm_vs_rss2email_1000": ratio("rss2email", 1000, "warm"),
        "cold_peak_mib_1000": median("newsbot", 1000, "cold", "peak_mib"),
        "cold_peak_mib_3000": median("newsbot", 3000, "cold", "peak_mib"),
        "cold_peak_mib_10000": median("newsbot", 10000, "cold", "peak_mib"),
        "import_ms": imports["import_ms"],
        "import_ms_first": imports["import_ms_first"],
        "cold_cpu_vs_newsboat_1000": (
            round(
                (median("newsbot", 1000, "cold", "cpu_s") or 0)
                / (median("newsboat", 1000, "cold", "cpu_s") or float("nan")),
                2,
            )
            if median("newsboat", 1000, "cold", "cpu_s")
            else None
        ),
        "rounds": args.rounds,
        "cores": os.cpu_count() or 1,
        "skipped": skipped,
        "table": table,
        "imports": imports,
        "runs": {name: dict(cycles) for name, cycles in runs.items()},
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main()
