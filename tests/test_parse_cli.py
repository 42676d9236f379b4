"""`newsbot parse`: JSON lines per entry, one-line errors per bad target, exit status."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli

REAL_WORLD = Path(__file__).resolve().parents[2] / "shared" / "data" / "feeds" / "real_world"
FEED = (
    b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>'
    b"<link>https://wire.example/</link>"
    b"<item><title>Deal one</title><link>/one?utm_source=x</link><guid>g1</guid>"
    b"<pubDate>Mon, 02 Mar 2026 10:00:00 GMT</pubDate></item>"
    b"<item><title>Deal two</title><link>https://wire.example/two</link></item>"
    b"</channel></rss>"
)


@pytest.fixture(scope="module")
def feed_url() -> Iterator[str]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = (200, FEED) if self.path == "/feed" else (404, b"")
            self.send_response(status)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def run(*args: str) -> tuple[int, list[dict[str, object]], list[str]]:
    result = CliRunner().invoke(cli, ["parse", *args])
    records = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return result.exit_code, records, result.stderr.splitlines()


def test_file_entries_as_json_lines(tmp_path: Path) -> None:
    feed = tmp_path / "wire.xml"
    feed.write_bytes(FEED)
    code, records, errors = run(str(feed))
    assert code == 0 and errors == []
    assert [r["title"] for r in records] == ["Deal one", "Deal two"]
    first = records[0]
    assert first["link"] == "https://wire.example/one"  # resolved against the feed's home page
    assert first["id"] == "guid:g1" and first["source"] == "Wire"
    assert first["published"] == "2026-03-02T10:00:00Z"
    assert {"title", "link", "published", "id", "source"} <= set(first)


def test_bad_targets_get_one_line_each_and_exit_1(tmp_path: Path) -> None:
    good = tmp_path / "good.xml"
    good.write_bytes(FEED)
    html = tmp_path / "page.html"
    html.write_text("<!doctype html><html><body>not a feed</body></html>")
    missing = tmp_path / "missing.xml"
    code, records, errors = run(str(html), str(missing), str(good))
    assert code == 1
    assert len(records) == 2 and all(r["feed"] == str(good) for r in records)
    assert len(errors) == 2
    assert str(html) in errors[0] and "not a feed" in errors[0]
    assert str(missing) in errors[1] and "No such file" in errors[1]


def test_deeply_nested_json_is_a_one_line_error(tmp_path: Path) -> None:
    depth = 100_000
    deep = tmp_path / "deep.json"
    deep.write_bytes(
        b'{"version": "https://jsonfeed.org/version/1.1", "items": '
        + b"[" * depth
        + b"]" * depth
        + b"}"
    )
    result = CliRunner().invoke(cli, ["parse", str(deep)])
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert result.stderr.splitlines() == [
        f"newsbot parse: {deep}: parse_error: not a readable JSON feed: "
        "JSON nested too deeply to read"
    ]


def test_urls_are_fetched_through_the_fetcher(feed_url: str, tmp_path: Path) -> None:
    config = tmp_path / "newsbot.toml"
    config.write_text("[fetch]\nallow_private_networks = true\n", encoding="utf-8")
    code, records, errors = run("-c", str(config), f"{feed_url}/feed", f"{feed_url}/missing")
    assert code == 1
    assert [r["title"] for r in records] == ["Deal one", "Deal two"]
    assert records[0]["link"] == f"{feed_url}/one"  # relative to the document's own URL
    assert len(errors) == 1 and "/missing" in errors[0] and "HTTP 404" in errors[0]


def test_a_loopback_url_is_refused_by_the_default_fetch_policy(feed_url: str) -> None:
    code, records, errors = run(f"{feed_url}/feed")
    assert code == 1 and records == []
    assert errors == [
        f"newsbot parse: {feed_url}/feed: blocked: 127.0.0.1 is a loopback address; "
        "set fetch.allow_private_networks = true to poll internal feeds"
    ]


def test_full_text_on_request(tmp_path: Path) -> None:
    feed = tmp_path / "wire.xml"
    feed.write_bytes(FEED)
    _, plain, _ = run(str(feed))
    _, full, _ = run("--text", str(feed))
    assert "text" not in plain[0] and "text" in full[0]


def test_every_real_world_capture_parses_cleanly() -> None:
    if not REAL_WORLD.is_dir():
        pytest.skip(f"shared feed corpus not found at {REAL_WORLD}")
    files = sorted(str(p) for p in REAL_WORLD.iterdir() if p.name != "INDEX.csv")
    code, records, errors = run(*files)
    assert code == 0, errors
    fed = {r["feed"] for r in records}
    assert len(fed) >= len(files) - 2  # a capture may legitimately hold no entries
