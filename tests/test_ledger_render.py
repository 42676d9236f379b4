"""The weekly ledger in digests: honest totals, the email's inline SVG chart rendered by headless
Chromium, the compact Slack section within Slack's limits, feed text escaped everywhere."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import struct
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from support.slack_stand_in import SlackStandIn

from bot.config.loader import ConfigError, load_config_text
from bot.digest.render import render_email_html, render_slack, render_text
from bot.digest.render.slack import MAX_BLOCKS, MAX_CONTEXT_TEXT, MAX_SECTION_TEXT
from bot.integration.slack import SlackWebhook, post_messages
from bot.ledger import Claim, DealRecord
from bot.ledger.derive import deal_figure
from bot.ledger.summary import summarise
from bot.model import Digest

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def _record(story_id: int, kind: str, **figures: list[tuple[str, float]]) -> DealRecord:
    def claims(name: str) -> list[Claim]:
        return [Claim(outlet, value, f"{value:g}") for outlet, value in figures.get(name, [])]

    return DealRecord(
        story_id=story_id,
        headline=f"deal {story_id}",
        kind=kind,
        parties=("Buyer <b>@channel</b>", "Seller & Co"),
        buyers=("Buyer <b>@channel</b>",),
        sellers=("Seller & Co",),
        value_usd=deal_figure(claims("value")),
        power_mw=deal_figure(claims("power")),
        chips=deal_figure(claims("chips")),
        first_reported=NOW - timedelta(days=2),
    )


RECORDS = [
    # agreed within tolerance: counted
    _record(1, "cloud capacity", value=[("Reuters", 10e9), ("Bloomberg", 10.2e9)]),
    # disputed: a range, not counted
    _record(2, "lease", power=[("DCD", 260.0), ("Seeking Alpha", 393.0)]),
    _record(3, "power", power=[("Reuters", 1000.0)]),
    _record(4, "chips", chips=[("Reuters", 18_000.0), ("CNBC", 18_000.0)]),
]


def test_totals_count_only_figures_the_reports_agree_on() -> None:
    summary = summarise(RECORDS, NOW - timedelta(days=7), NOW)
    assert summary.deals == 4
    assert summary.value_usd == pytest.approx(10e9)  # the majority figure of agreeing reports
    assert summary.power_mw == 1000.0  # the disputed 260..393 MW is not added
    assert summary.chips == 18_000
    assert [r.story_id for r in summary.disputed] == [2]
    lease = next(total for total in summary.by_kind if total.kind == "lease")
    assert (lease.deals, lease.power_mw) == (1, 0.0)
    assert summary.top_buyers[0].name == "Buyer <b>@channel</b>"
    assert summary.top_buyers[0].deals == 4


def _digest() -> Digest:
    digest = Digest(
        channel="weekly",
        title="Compute deals digest · weekly",
        period_start=NOW - timedelta(days=7),
        period_end=NOW,
        stories=[],
    )
    digest.ledger = summarise(RECORDS, NOW - timedelta(days=7), NOW)
    return digest


def test_text_and_html_show_the_range_and_its_outlets_escaped() -> None:
    digest = _digest()
    text = " ".join(render_text(digest).split())
    assert "Deal ledger" in text
    assert "4 deals · 1 GW · $10B · 18,000 chips" in text
    assert "260 MW (DCD) to 393 MW (Seeking Alpha)" in text
    html = render_email_html(digest)
    assert "<svg" in html and "<rect" in html
    assert "<b>@channel" not in html  # feed text escaped in HTML
    assert "Buyer &lt;b&gt;@channel&lt;/b&gt;" in html
    assert "260 MW (DCD) to 393 MW (Seeking Alpha)" in html


def test_slack_section_is_compact_escaped_and_within_limits() -> None:
    digest = _digest()
    digest.ledger = summarise(RECORDS * 40, NOW - timedelta(days=7), NOW)  # many notes
    messages = render_slack(digest)
    blocks = messages[0]["blocks"]
    ledger = [b for b in blocks if str(b.get("block_id", "")).startswith("digest-ledger")]
    assert [b["block_id"] for b in ledger] == ["digest-ledger", "digest-ledger-details"]
    section = ledger[0]["text"]["text"]
    details = ledger[1]["elements"][0]["text"]
    assert len(section) <= MAX_SECTION_TEXT and len(details) <= MAX_CONTEXT_TEXT
    assert len(blocks) <= MAX_BLOCKS
    payload = json.dumps(messages)
    assert "@channel" not in payload  # no ping from a party's name
    assert "<b>" not in payload and "&lt;b&gt;" in payload
    assert "and " in details and "more not counted" in details


def test_channel_ledger_setting_is_validated() -> None:
    config = """
[[channels]]
name = "weekly"
type = "email"
ledger = "monthly"
[channels.email]
host = "127.0.0.1"
from = "bot@example.com"
to = ["a@example.com"]
"""
    with pytest.raises(ConfigError) as error:
        load_config_text(config, "newsbot.toml")
    assert "newsbot.toml" in str(error.value) and "ledger" in str(error.value)
    assert load_config_text(config.replace("monthly", "weekly")).channels[0].ledger == "weekly"


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def _png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_weekly_ledger_email_renders_in_headless_chromium(tmp_path: Path) -> None:
    browser = _chromium()
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed: apt-get install -y chromium")
    page = tmp_path / "ledger.html"
    page.write_text(render_email_html(_digest()), "utf-8")
    shot = tmp_path / "ledger.png"
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", "--window-size=800,1200", page.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert _png_size(shot) == (800, 1200)
    # A rendered page, not a blank one: a white 800x1200 PNG compresses to a few KB.
    assert shot.stat().st_size > 15_000
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page.as_uri()],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    # The browser parsed the chart as SVG: its bars are there, one per kind with deals.
    assert "<svg" in dom and dom.count("<rect") == 4


def test_slack_stand_in_accepts_the_ledger_digest_as_inert_text(slack: SlackStandIn) -> None:
    digest = _digest()
    digest.ledger = summarise(RECORDS * 40, NOW - timedelta(days=7), NOW)
    messages = render_slack(digest)
    asyncio.run(post_messages(SlackWebhook(slack.webhook_url).post, messages))
    assert slack.rejected == [] and slack.violations == []
    assert [m["blocks"] for m in slack.messages] == [m["blocks"] for m in messages]
