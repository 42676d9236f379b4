"""`newsbot demo`: the whole pipeline on the bundled feeds, served on 127.0.0.1.

Polls the demo feeds into a temporary database, matches and clusters them, composes the
digest, prints it, and writes what Slack and email would receive into the output folder.
Nothing is sent: the only network traffic is to the local feed server.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.config import EmailChannelSettings, load_config_text
from bot.daemon.pipeline import build_pipeline
from bot.demo.data import demo_feeds, render_demo_feeds
from bot.demo.server import FeedServer
from bot.digest.render import render_email, render_email_html, render_slack, render_text
from bot.ledger import DealRecord
from bot.ledger.export import to_csv
from bot.storage.database import Database
from bot.storage.deals import deal_records
from bot.worker.ledger import refresh_deals


@dataclass
class DemoResult:
    ok: bool
    out_dir: Path
    stories: int
    feeds: int
    entries: int


def _toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string literal is a valid TOML basic string


def demo_config(server: FeedServer, data_dir: Path) -> str:
    lines = [
        f"data_dir = {_toml_string(str(data_dir))}",
        "poll_interval = 900",
        "",
        # The demo feeds are served on 127.0.0.1, which the fetch policy refuses by default.
        "[fetch]",
        "allow_private_networks = true",
        "",
    ]
    for feed in demo_feeds():
        lines += [
            "[[feeds]]",
            f"url = {_toml_string(server.url(feed.path))}",
            f"name = {_toml_string(feed.name)}",
            "",
        ]
    lines += [
        "[[channels]]",
        'name = "slack-demo"',
        'type = "slack"',
        "[channels.slack]",
        'webhook_url = "https://hooks.slack.invalid/services/DEMO"',
        "",
        "[[channels]]",
        'name = "email-demo"',
        'type = "email"',
        'ledger = "weekly"',
        "[channels.email]",
        'host = "127.0.0.1"',
        'tls = "none"',
        'from = "newsbot demo <newsbot@localhost>"',
        'to = ["analyst@localhost"]',
    ]
    return "\n".join(lines) + "\n"


def ledger_csv(db: Database, now: datetime) -> str:
    """Every deal of the demo's stories as the ledger CSV (`newsbot deals --format csv`)."""
    refresh_deals(db, now)
    with db.session() as session:
        rows = deal_records(session)
    return to_csv(DealRecord.from_json(row) for row in rows)


def run_demo(out_dir: Path, *, now: datetime, echo: Callable[[str], None] = print) -> DemoResult:
    out_dir.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="newsbot-demo-") as tmp,
        FeedServer(render_demo_feeds(now)) as server,
    ):
        settings = load_config_text(demo_config(server, Path(tmp)), "<demo>")
        pipeline = build_pipeline(settings)
        report = asyncio.run(pipeline.poller.poll(force=True))
        echo(f"demo feeds served on {server.url('')}")
        echo(f"poll: {report.summary()}")
        slack_channel = settings.channel("slack-demo")
        email_channel = settings.channel("email-demo")
        digest = pipeline.digests.compose(slack_channel, now=now)
        echo("")
        echo(render_text(digest))
        messages = render_slack(digest)
        slack_file = out_dir / "slack-payload.json"
        slack_file.write_text(json.dumps(messages, indent=2, ensure_ascii=False), "utf-8")
        assert isinstance(email_channel, EmailChannelSettings)
        email_digest = pipeline.digests.compose(email_channel, now=now)
        message = render_email(
            email_digest, from_addr=email_channel.email.from_addr, to=email_channel.email.to
        )
        eml_file = out_dir / "digest.eml"
        eml_file.write_bytes(bytes(message))
        html_file = out_dir / "digest.html"
        html_file.write_text(render_email_html(email_digest), "utf-8")
        ledger_file = out_dir / "ledger.csv"
        ledger_file.write_text(ledger_csv(pipeline.db, now), "utf-8")
        pipeline.db.dispose()
    echo("")
    echo(
        f"wrote {slack_file}, {eml_file}, {html_file} and {ledger_file} "
        f"(folder: {out_dir.resolve()})"
    )
    return DemoResult(
        ok=report.new_entries > 0 and not digest.is_empty,
        out_dir=out_dir,
        stories=len(digest.stories),
        feeds=len(report.feeds),
        entries=report.new_entries,
    )
