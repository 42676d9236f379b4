"""Benchmark of XML entity amplification (issue 18): peak memory of parsing hostile feeds.

Each case parses one generated document with ``parse_feed`` in a fresh interpreter and reports
that process's peak RSS (``ru_maxrss``) and CPU time:

- ``plain``: a 10 MiB RSS feed of ordinary text (the baseline);
- ``amplifier``: a 10 MiB RSS feed whose items repeat a reference to a 64-byte internal entity
  (``<!ENTITY a "AAAA...">`` then ``&a;&a;&a;...``), which would expand twenty-fold;
- ``amplifier_utf16``: a 1.2 MiB UTF-16 feed repeating a 2,000-byte entity, which the
  byte-level defuser cannot read (feedparser decodes it, then reads its DTD).

Prints one JSON object as the last line: per case ``peak_rss_mib``, ``cpu_s`` and ``entries``,
and ``amplifier_vs_plain_rss`` (the ratio of the two peaks in this run).

    .venv/bin/python bench/entity_amplifier.py [--mib 10]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CASES = ("plain", "amplifier", "amplifier_utf16")


def document(case: str, mib: float) -> bytes:
    if case == "amplifier_utf16":
        declaration = '<!DOCTYPE rss [\n<!ENTITY a "' + "A" * 2000 + '">\n]>'
        item = "<item><title>t</title><link>http://a.example/{}</link><description>"
        item += "&a;" * 2000 + "</description></item>"
        head = f'<?xml version="1.0" encoding="utf-16"?>\n{declaration}\n'
        body = "".join(item.format(i) for i in range(100))
        text = f'{head}<rss version="2.0"><channel><title>x</title>{body}</channel></rss>'
        return text.encode("utf-16")
    size = int(mib * 1024 * 1024)
    if case == "amplifier":
        declaration = '<!DOCTYPE rss [\n<!ENTITY a "' + "A" * 64 + '">\n]>'
        filler = "&a;" * 1000
    else:
        declaration = ""
        filler = "abc" * 1000
    head = f'<?xml version="1.0"?>\n{declaration}\n<rss version="2.0"><channel><title>x</title>'
    parts = [head]
    length = len(head)
    number = 0
    while length < size - 4096:
        part = (
            f"<item><title>t{number}</title><link>http://a.example/{number}</link>"
            f"<description>{filler}</description></item>"
        )
        parts.append(part)
        length += len(part)
        number += 1
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def measure(case: str, mib: float) -> dict[str, float | int | str]:
    """Run in the child: parse the case's document and report peak RSS and CPU."""
    sys.path.insert(0, str(ROOT))
    from bot.reader.parser import FeedParseError, parse_feed

    body = document(case, mib)
    started = time.process_time()
    try:
        parsed = parse_feed(body, url="http://a.example/feed", now=datetime.now(UTC))
        entries: int | str = len(parsed.entries)
    except FeedParseError as exc:
        entries = f"error: {exc.reason}"
    return {
        "body_mib": round(len(body) / 2**20, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "cpu_s": round(time.process_time() - started, 2),
        "entries": entries,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mib", type=float, default=10.0, help="size of the 10 MiB cases")
    parser.add_argument("--child", choices=CASES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.mib)))
        return
    results: dict[str, object] = {}
    for case in CASES:
        print(f"parsing {case} ...", file=sys.stderr)
        output = subprocess.run(
            [sys.executable, __file__, "--child", case, "--mib", str(args.mib)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        results[case] = json.loads(output.strip().splitlines()[-1])
    plain = results["plain"]["peak_rss_mib"]  # type: ignore[index]
    amplifier = results["amplifier"]["peak_rss_mib"]  # type: ignore[index]
    results["amplifier_vs_plain_rss"] = round(amplifier / plain, 2)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
