"""`newsbot poll` progress: a bar with per-feed outcome counts on a terminal, else log lines."""

from __future__ import annotations

import io
import logging

import pytest
from rich.console import Console

from bot.daemon.progress import PollProgress
from bot.worker.record import FeedResult

RESULTS = [
    FeedResult(url="http://127.0.0.1/a.rss", outcome="ok", new_entries=3),
    FeedResult(url="http://127.0.0.1/b.rss", outcome="not_modified"),
    FeedResult(url="http://127.0.0.1/c.rss", outcome="ok", new_entries=1),
    FeedResult(
        url="http://127.0.0.1/d.rss", outcome="error", error_class="timeout", error="no answer"
    ),
]


def test_terminal_shows_a_bar_with_outcome_counts(caplog: pytest.LogCaptureFixture) -> None:
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    with (
        caplog.at_level(logging.INFO, logger="bot.daemon.progress"),
        PollProgress(len(RESULTS), interactive=True, console=console) as progress,
    ):
        for result in RESULTS:
            progress.advance(result)
    final = screen.getvalue().rsplit("\r", 1)[-1]
    assert "polling" in final and "4/4" in final
    assert "error=1 not_modified=1 ok=2" in final
    assert not caplog.records  # the bar replaces per-feed log lines
    assert progress.counts == {"ok": 2, "not_modified": 1, "error": 1}


def test_without_a_terminal_each_feed_is_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.INFO, logger="bot.daemon.progress"),
        PollProgress(len(RESULTS), interactive=False) as progress,
    ):
        for result in RESULTS:
            progress.advance(result)
    lines = [(r.levelname, r.getMessage()) for r in caplog.records]
    assert lines == [
        ("INFO", "http://127.0.0.1/a.rss: ok, 3 new entries"),
        ("INFO", "http://127.0.0.1/b.rss: not_modified, 0 new entries"),
        ("INFO", "http://127.0.0.1/c.rss: ok, 1 new entry"),
        ("WARNING", "http://127.0.0.1/d.rss: timeout (no answer)"),
    ]
