"""`newsbot feeds`: health listing, OPML import and export, on a real SQLite database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select

from bot.cli.main import cli
from bot.config.settings import FetchSettings
from bot.reader.opml import parse_opml
from bot.storage.database import Database, upgrade_schema
from bot.storage.models import FeedRow

OPML = b"""<?xml version="1.0"?><opml version="2.0"><body>
<outline text="Infra"><outline text="DCN" xmlUrl="https://dcn.example/feed"/></outline>
<outline text="Configured" xmlUrl="https://configured.example/rss"/>
<outline text="Bad" xmlUrl="ftp://x.example/feed"/>
</body></opml>"""


def make_config(tmp_path: Path) -> Path:
    config = tmp_path / "newsbot.toml"
    config.write_text(
        f'data_dir = "{tmp_path}"\n'
        "[fetch]\nunhealthy_after = 3\n"
        '[[feeds]]\nurl = "https://configured.example/rss"\nname = "Configured"\n'
    )
    return config


def invoke(config: Path, *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["-c", str(config), "feeds", *args])
    return result.exit_code, result.stdout, result.stderr


def test_import_adds_new_feeds_once_and_reports_skips(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    opml = tmp_path / "subs.opml"
    opml.write_bytes(OPML)
    code, out, err = invoke(config, "import", str(opml))
    assert code == 0, err
    assert "2 feeds added, 0 already present, 1 skipped" in out
    assert "ftp://x.example/feed" in err
    code, out, _ = invoke(config, "import", str(opml))
    assert "0 feeds added, 2 already present" in out
    db = Database(f"sqlite:///{tmp_path / 'newsbot.db'}")
    with db.session() as session:
        urls = sorted(session.scalars(select(FeedRow.url)))
    assert urls == ["https://configured.example/rss", "https://dcn.example/feed"]


def test_import_of_a_broken_file_fails_clearly(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    bad = tmp_path / "bad.opml"
    bad.write_text("<opml><body>")
    code, _, err = invoke(config, "import", str(bad))
    assert code == 1 and str(bad) in err and "not well-formed" in err


def test_health_listing(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'newsbot.db'}")
    upgrade_schema(db)
    now = datetime.now(UTC)
    with db.session() as session:
        session.add_all(
            [
                FeedRow(url="https://ok.example/", imported_from="subs.opml",
                     enabled=True, created_at=now,
                     last_success_at=now, next_check_at=now + timedelta(minutes=15),
                     consecutive_failures=0),
                FeedRow(url="https://flaky.example/", imported_from="subs.opml",
                     enabled=True, created_at=now,
                     consecutive_failures=1, last_error="HTTP 503 Service Unavailable",
                     last_error_class="http_status", next_check_at=now),
                FeedRow(url="https://down.example/", imported_from="subs.opml",
                     enabled=True, created_at=now,
                     consecutive_failures=3, last_error="DNS lookup failed",
                     last_error_class="dns", next_check_at=now),
                FeedRow(url="https://gone.example/", imported_from="subs.opml",
                     enabled=False, created_at=now,
                     disabled_reason="410 Gone", consecutive_failures=0),
            ]
        )  # fmt: skip
    code, out, _ = invoke(config, "--json")
    assert code == 1  # an unhealthy and a disabled feed
    rows = {r["url"]: r for r in map(json.loads, out.splitlines())}
    assert rows["https://ok.example/"]["status"] == "ok"
    assert rows["https://ok.example/"]["last_error"] is None
    assert rows["https://flaky.example/"]["status"] == "failing"
    assert rows["https://down.example/"]["status"] == "unhealthy"
    assert rows["https://down.example/"]["last_error_class"] == "dns"
    assert rows["https://gone.example/"]["status"] == "disabled"
    assert rows["https://gone.example/"]["last_error"] == "410 Gone"
    assert rows["https://gone.example/"]["next_check"] is None
    assert rows["https://configured.example/rss"]["status"] == "new"
    code, table, _ = invoke(config)
    assert "unhealthy" in table and "dns: DNS lookup failed" in table


def test_export_lists_configured_and_stored_feeds(tmp_path: Path) -> None:
    config = make_config(tmp_path)
    opml = tmp_path / "subs.opml"
    opml.write_bytes(OPML)
    invoke(config, "import", str(opml))
    code, out, _ = invoke(config, "export")
    assert code == 0
    feeds = parse_opml(out.encode()).feeds
    assert {f.url for f in feeds} == {"https://configured.example/rss", "https://dcn.example/feed"}
    target = tmp_path / "out.opml"
    code, _, err = invoke(config, "export", "-o", str(target))
    assert code == 0 and "2 feeds written" in err
    assert len(parse_opml(target.read_bytes()).feeds) == 2


def test_unhealthy_threshold_comes_from_settings() -> None:
    from bot.cli.feeds import feed_health

    feed = FeedRow(url="https://x.example/", enabled=True, consecutive_failures=2)
    assert feed_health(feed, FetchSettings(unhealthy_after=2)).status == "unhealthy"
    assert feed_health(feed, FetchSettings(unhealthy_after=5)).status == "failing"
