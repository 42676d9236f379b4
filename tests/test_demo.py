"""`newsbot demo`: the embedded demo runs the whole pipeline and writes what it would send."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
import re
import subprocess
import sys
from pathlib import Path

from bot.demo.data import demo_events


def test_demo_command_prints_digest_and_writes_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    printed = result.stdout
    # The seed event is listed once, with its five outlets, and nothing unrelated inside it.
    colossus_lines = [line for line in printed.splitlines() if "Colossus 1" in line]
    assert colossus_lines, printed
    assert str(out.resolve()) in printed

    messages = json.loads((out / "slack-payload.json").read_text("utf-8"))
    assert messages
    for message in messages:
        assert message["text"]
        assert len(message["blocks"]) <= 50
        for block in message["blocks"]:
            if block["type"] == "section" and "text" in block:
                assert len(block["text"]["text"]) <= 3000
            if block["type"] == "header":
                assert len(block["text"]["text"]) <= 150

    mail = email.message_from_bytes((out / "digest.eml").read_bytes(), policy=email.policy.default)
    assert mail.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type() for part in mail.iter_parts()}  # type: ignore[attr-defined]
    assert parts == {"text/plain", "text/html"}
    html = (out / "digest.html").read_text("utf-8")
    assert "Colossus 1" in html and "<html" in html.lower()
    # The demo's email channel has the weekly ledger; the ledger CSV is written beside the rest.
    assert "Deal ledger" in html and "<svg" in html
    ledger = list(csv.DictReader(io.StringIO((out / "ledger.csv").read_text("utf-8"))))
    colossus = [row for row in ledger if "Colossus 1" in row["facilities"]]
    assert len(colossus) == 1 and colossus[0]["power_mw"] == "300"

    # Exactly one story names Colossus 1; its sources are the five seed outlets, none other.
    seed_event = next(e for e in demo_events() if e.key == "xai-anthropic-colossus-1")
    blocks = [block for message in messages for block in message["blocks"]]
    story_sections = [
        block
        for block in blocks
        if block["type"] == "section" and "Colossus 1" in block.get("text", {}).get("text", "")
    ]
    assert len(story_sections) == 1
    meta = next(b for b in blocks if b.get("block_id") == story_sections[0]["block_id"] + "-meta")
    reported = meta["elements"][0]["text"]
    linked = re.findall(r"<(https?://[^|>]+)\|", reported)
    assert linked and set(linked) <= set(seed_event.links)
    shown_plus_more = len(linked) + int(re.search(r"\+(\d+)", reported).group(1))  # type: ignore[union-attr]
    assert shown_plus_more == 5
