"""`newsbot run` serves /healthz and /metrics: with the example configuration, and unhealthy."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from support.daemon_proc import DaemonProcess, wait_for, write_config

from bot.demo.data import demo_feeds, render_demo_feeds
from bot.demo.server import FeedServer

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with FeedServer(render_demo_feeds(datetime.now(UTC))) as server:
        yield server


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def example_config(tmp_path: Path, feed_urls: list[str]) -> Path:
    """config/newsbot.example.toml as shipped, with local feeds (and the fetch policy's switch
    for them turned on), an ephemeral health port and paths made absolute for the copy's new
    folder."""
    text = (ROOT / "config" / "newsbot.example.toml").read_text(encoding="utf-8")
    replacements = {
        'data_dir = "../data"': f"data_dir = {json.dumps(str(tmp_path))}",
        'rules = "rules/compute-deals.toml"': (
            f"rules = {json.dumps(str(ROOT / 'config' / 'rules' / 'compute-deals.toml'))}"
        ),
        'url = "https://www.datacenterdynamics.com/en/rss/"': f"url = {json.dumps(feed_urls[0])}",
        'url = "https://www.theregister.com/data_centre/headlines.atom"': (
            f"url = {json.dumps(feed_urls[1])}"
        ),
        "health_port = 8787": "health_port = 0",
        "allow_private_networks = false": "allow_private_networks = true",
    }
    for old, new in replacements.items():
        assert old in text, f"the example config changed: {old!r} not found"
        text = text.replace(old, new)
    path = tmp_path / "newsbot.toml"
    path.write_text(text, encoding="utf-8")
    return path


def metric(body: str, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", body, re.MULTILINE)
    assert match, f"{name} not in /metrics"
    return float(match.group(1))


def test_example_config_serves_healthz_and_metrics(feeds: FeedServer, tmp_path: Path) -> None:
    paths = [feed.path for feed in demo_feeds()[:2]]
    config = example_config(tmp_path, [feeds.url(p) for p in paths])
    daemon = DaemonProcess(
        config,
        tmp_path / "daemon.log",
        env={
            "NEWSBOT_SLACK_WEBHOOK": "https://hooks.slack.com/services/T1/B1/example",
            "NEWSBOT_SMTP_PASSWORD": "example-password",
        },
    )
    try:
        base = daemon.health_url()
        wait_for(lambda: get(base + "/healthz")[0] == 200, 60, "healthz to turn 200")
        status, content_type, body = get(base + "/healthz")
        health = json.loads(body)
        assert content_type == "application/json"
        assert health["status"] == "ok" and health["database"] == "ok" and not health["reasons"]
        assert health["last_poll_age_s"] <= health["max_poll_age_s"]

        status, content_type, body = get(base + "/metrics")
        assert status == 200
        assert content_type.startswith("text/plain; version=")
        assert metric(body, 'newsbot_polls_total{outcome="ok"}') >= 1
        assert metric(body, 'newsbot_feed_fetches_total{outcome="ok"}') == 2
        assert metric(body, "newsbot_entries_new_total") > 0
        assert metric(body, "newsbot_entries_processed_total") > 0
        assert metric(body, "newsbot_unhealthy_feeds") == 0
        assert metric(body, "newsbot_last_poll_success_timestamp_seconds") > 0
        for name in (
            "newsbot_stories_created_total",
            "newsbot_stories_updated_total",
            "newsbot_digests_sent_total",
            "newsbot_digests_failed_total",
            "newsbot_delivery_latency_seconds",
            "newsbot_fetch_errors_total",
            "process_resident_memory_bytes",
        ):
            assert f"# TYPE {name} " in body, name

        assert get(base + "/nothing")[0] == 404
    finally:
        code = daemon.stop()
    assert code == 0, daemon.output
    assert "stopped" in daemon.output


def test_healthz_is_503_with_reasons_when_every_feed_fails(
    sqlite_url: str, feeds: FeedServer, tmp_path: Path
) -> None:
    paths = [feed.path for feed in demo_feeds()[:3]]
    for path in paths:
        feeds.set_status(path, 500)
    config = write_config(
        tmp_path / "newsbot.toml", db_url=sqlite_url, feed_urls=[feeds.url(p) for p in paths]
    )
    daemon = DaemonProcess(config, tmp_path / "daemon.log")
    try:
        base = daemon.health_url()
        wait_for(lambda: sum(feeds.hits(p) for p in paths) >= 3, 60, "the feeds to be tried")
        wait_for(lambda: "last poll failed" in get(base + "/healthz")[2], 60, "the poll to fail")
        status, _, body = get(base + "/healthz")
        health = json.loads(body)
        assert status == 503
        assert health["status"] == "unhealthy"
        assert health["database"] == "ok"
        assert "no poll has succeeded since start" in health["reasons"]
        assert "last poll failed: all 3 feeds failed" in health["reasons"]
        _, _, text = get(base + "/metrics")
        assert metric(text, 'newsbot_polls_total{outcome="failed"}') >= 1
        assert metric(text, 'newsbot_fetch_errors_total{error_class="http_status"}') == 3
    finally:
        assert daemon.stop() == 0, daemon.output
