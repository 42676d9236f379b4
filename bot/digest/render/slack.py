"""Slack rendering: a digest as Block Kit messages packed within Slack's limits.

Each story is a mrkdwn ``section`` (linked headline, "Updated" or "Held over" mark, summary, key
facts) and a ``context`` ("Reported by A, B, C +2 · First seen ..."), followed by a divider. The
first message opens with a ``header``; the last one carries "and K more below the cut" and the
footer, always together with at least one story. Stories are never split across messages: when a
digest does not fit one message it continues in further messages, each opening with a
"(continued, n/N)" line; room for that line is reserved only in the messages that carry it. Every
message has a plain ``text`` fallback (notifications, clients that cannot show blocks) that states
the digest's one count, the same in every part, then that part's headlines.

Limits kept (https://api.slack.com/reference/block-kit/blocks): 50 blocks a message, 3,000
characters of section text, 150 of header text, 10 context elements, 40,000 characters of
``text``. Slack also rejects a message whose blocks hold more than about 13,000 characters in all
(``msg_blocks_too_long``, undocumented: slackapi/bolt-js#2509 measured ~13,200, and Slack's
answer there was "12,000 text characters with a buffer for block containers"), so messages are
kept under ``MAX_MESSAGE_CHARS`` of block text, and under ``MAX_PAYLOAD_BYTES`` of JSON for
incoming webhooks' request size.

The blocks are plain dicts, measured against slack_sdk's block models (slack_sdk 3.48): the models
*reject* a block over a limit (SlackObjectFormationError), where the packer must *fit* (cut a
summary, carry stories to the next message); they check three of the limits above (section text,
header text, context elements; not a context element's 2,000 characters), and none of those that
decide the packing (blocks, block text and JSON size a message, the fallback's length); and they
cost about 0.6 ms a message against 0.01 ms for dicts. So the limits stay written here, and the
tests' Slack stand-in (tests/support/slack_stand_in.py) has every block it receives checked by
the models too, so that these numbers cannot drift from the SDK's unnoticed.

Block ids carry the story id (``story-<id>`` and ``story-<id>-meta``), so an already posted message
can be edited in place when a story gains sources (:func:`replace_story_blocks`).

All feed text goes through :mod:`bot.digest.render.mrkdwn`.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.digest.render import mrkdwn
from bot.digest.render.common import (
    count_phrase,
    fact_items,
    footer_lines,
    format_when,
    more_line,
    reported_by,
)
from bot.digest.render.ledger import ledger_view
from bot.model import Digest, DigestStory
from bot.text.plural import plural

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_CONTEXT_TEXT = 2000
MAX_TEXT = 40_000  # Slack truncates a message's `text` beyond this
MAX_FALLBACK_TEXT = 600  # a notification line, not a copy of the digest (well under MAX_TEXT)
MAX_MESSAGE_CHARS = 12_000
MAX_PAYLOAD_BYTES = 15_000
MAX_LINKED_URL = 1000  # longer URLs are not linked: they would crowd out the message budget

Block = dict[str, Any]
Message = dict[str, Any]


@dataclass(slots=True, frozen=True)
class SlackMessage:
    """One message of a digest and the stories in it (for threading replies and edits later)."""

    payload: Message
    story_ids: tuple[int, ...]


def render_slack(digest: Digest) -> list[Message]:
    """The digest as Slack messages: ``{"text": fallback, "blocks": [...]}`` each."""
    return [message.payload for message in pack_slack_messages(digest)]


def pack_slack_messages(digest: Digest) -> list[SlackMessage]:
    """Pack a digest into as few messages as Slack's limits allow, stories kept whole.

    The first message opens with the header; each later one with a "(continued, n/N)" line,
    which is only reserved room in the messages that carry it. The last message carries the cut
    notice and the footer, and always at least one story with them: when they do not fit after
    the last story, that story moves to the next message with them.
    """
    title = _plain(digest.title, MAX_HEADER_TEXT)
    intro_text = f"{_period(digest)} · {mrkdwn.escape(count_phrase(digest))}"
    opening: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": title, "emoji": False}},
        _context(intro_text, block_id="digest-intro"),
        {"type": "divider"},
    ]
    if digest.ledger is not None:
        opening += [*ledger_blocks(digest), {"type": "divider"}]
    closing: list[Block] = []
    if digest.is_empty:
        closing.append(
            _section("No new compute-deal stories in this period.", block_id="digest-empty")
        )
    if digest.more_count:
        closing.append(_section(f"_{mrkdwn.escape(more_line(digest))}_", block_id="digest-more"))
    footer = footer_lines(digest)
    closing.append(_context(mrkdwn.escape(footer[0]), block_id="digest-footer"))
    if len(footer) > 1:
        closing.append(
            _context(":warning: " + mrkdwn.escape(" ".join(footer[1:])), block_id="digest-health")
        )
    # the widest continuation line any part can have: room reserved in parts 2..N only
    widest_label = _context(mrkdwn.escape(f"{title} (continued, 99/99)"), block_id="digest-part-99")

    def page(first: bool, stories: list[DigestStory], end: bool) -> list[Block]:
        blocks = [*opening] if first else [widest_label]
        for story in stories:
            blocks += [*story_blocks(story, timezone=digest.timezone), {"type": "divider"}]
        return blocks + (closing if end else [])

    def fits(first: bool, stories: list[DigestStory], end: bool) -> bool:
        return _fits(digest, page(first, stories, end), stories)

    pages: list[list[DigestStory]] = [[]]
    for story in digest.stories:
        if pages[-1] and not fits(len(pages) == 1, [*pages[-1], story], False):
            pages.append([])
        pages[-1].append(story)
    if not fits(len(pages) == 1, pages[-1], True):
        # never a part with only the cut notice and the footer: the last story goes with them
        moved = [pages[-1].pop()] if pages[-1] else []
        pages.append(moved)

    messages: list[SlackMessage] = []
    for number, stories in enumerate(pages, start=1):
        blocks = page(number == 1, stories, number == len(pages))
        if number > 1:
            label = f"{title} (continued, {number}/{len(pages)})"
            blocks[0] = _context(mrkdwn.escape(label), block_id=f"digest-part-{number}")
        fallback = _fallback(digest, stories, number, len(pages))
        ids = tuple(story.story_id for story in stories)
        messages.append(SlackMessage(payload={"text": fallback, "blocks": blocks}, story_ids=ids))
    return messages


def ledger_blocks(digest: Digest) -> list[Block]:
    """The weekly ledger, compact: the totals and one line per kind in one section, the top
    buyers and sellers and what was not counted in one context block (feed text escaped)."""
    assert digest.ledger is not None
    view = ledger_view(digest.ledger, digest.timezone)
    kinds = "\n".join(
        f"• {mrkdwn.escape(row.kind)}: {row.deals}"
        + "".join(f" · {mrkdwn.escape(part)}" for part in (row.value, row.power) if part)
        + (f" · {row.chips} chips" if row.chips else "")
        for row in view.kinds
    )
    text = f"*{mrkdwn.escape_label(view.heading)}*\n{mrkdwn.escape(view.totals)}\n{kinds}"
    details = []
    if view.buyers:
        details.append(f"*Top buyers:* {mrkdwn.escape(view.buyers)}")
    if view.sellers:
        details.append(f"*Top sellers:* {mrkdwn.escape(view.sellers)}")
    details += [f"Not counted: {mrkdwn.escape(note)}" for note in view.notes]
    if view.more_notes:
        details.append(f"and {view.more_notes} more not counted")
    blocks = [_section(text, block_id="digest-ledger")]
    if details:
        blocks.append(_context("\n".join(details), block_id="digest-ledger-details"))
    return blocks


def story_blocks(story: DigestStory, *, timezone: str = "UTC") -> list[Block]:
    """The section and context of one story, each within Slack's text limits; ``timezone`` is
    the channel's, for the fallback text of date tokens."""
    return [_story_section(story), _story_context(story, timezone)]


def render_slack_story_update(story: DigestStory, *, timezone: str = "UTC") -> Message:
    """A thread reply for a story that gained sources after it was posted."""
    count = len(story.sources)
    note = f":arrows_counterclockwise: *Update:* now reported by {plural(count, 'outlet')}"
    blocks = [
        _section(note, block_id=f"story-{story.story_id}-update"),
        *story_blocks(story, timezone=timezone),
    ]
    fallback = f"Update: {mrkdwn.escape(story.headline)}, now reported by {plural(count, 'outlet')}"
    return {"text": _bounded(fallback, MAX_FALLBACK_TEXT), "blocks": blocks}


def replace_story_blocks(message: Message, story: DigestStory, *, timezone: str = "UTC") -> Message:
    """A copy of a posted message with one story's blocks replaced by its current version.

    Used to edit a message in place (``chat.update``) when a story gains sources.
    """
    updated = copy.deepcopy(message)
    section, context = story_blocks(story, timezone=timezone)
    replacements = {section["block_id"]: section, context["block_id"]: context}
    updated["blocks"] = [replacements.get(b.get("block_id", ""), b) for b in updated["blocks"]]
    return updated


def _story_section(story: DigestStory) -> Block:
    link_url = story.link if story.link and len(story.link) <= MAX_LINKED_URL else None
    headline = f"*{mrkdwn.link(link_url, story.headline)}*"
    if story.updated:
        headline += "  :arrows_counterclockwise: _Updated_"
    elif story.held_over:
        headline += "  _Held over from an earlier digest_"
    facts = " · ".join(
        f"*{label}:* {mrkdwn.escape(value)}" for label, value in fact_items(story.facts)
    )
    fixed = len(headline) + len(facts) + 2
    summary_raw = story.summary
    summary = mrkdwn.escape(summary_raw)
    while summary_raw and fixed + len(summary) > MAX_SECTION_TEXT:
        # escaping lengthens text, so shorten the raw text until its escaped form fits
        summary_raw = summary_raw[
            : max(len(summary_raw) - (fixed + len(summary) - MAX_SECTION_TEXT) - 1, 0)
        ]
        summary = mrkdwn.escape(summary_raw.rstrip() + "…") if summary_raw else ""
    parts = [headline, summary, facts]
    text = "\n".join(part for part in parts if part)
    if len(text) > MAX_SECTION_TEXT:  # only facts can still be too long: drop them
        text = "\n".join(part for part in (headline, summary) if part)
    return _section(text, block_id=f"story-{story.story_id}")


def _period(digest: Digest) -> str:
    """The digest's period as Slack date tokens, the channel's zone in their fallback."""
    zone = digest.timezone
    end = mrkdwn.date(digest.period_end, format_when(digest.period_end, zone))
    if digest.period_start is None:
        return f"up to {end}"
    return f"{mrkdwn.date(digest.period_start, format_when(digest.period_start, zone))} – {end}"


def _story_context(story: DigestStory, timezone: str) -> Block:
    who = reported_by(story.sources)
    names = []
    for source in who.shown:
        url = source.link if source.link and len(source.link) <= MAX_LINKED_URL else None
        names.append(mrkdwn.link(url, _bounded(source.outlet, 80)))
    parts = []
    if names:
        reported = "Reported by " + ", ".join(names)
        if who.more:
            reported += f" +{who.more}"
        parts.append(reported)
    parts.append(
        f"First seen {mrkdwn.date(story.first_seen, format_when(story.first_seen, timezone))}"
    )
    return _context(" · ".join(parts), block_id=f"story-{story.story_id}-meta")


def _section(text: str, *, block_id: str) -> Block:
    return {
        "type": "section",
        "block_id": block_id,
        "text": {"type": "mrkdwn", "text": text[:MAX_SECTION_TEXT]},
    }


def _context(text: str, *, block_id: str) -> Block:
    return {
        "type": "context",
        "block_id": block_id,
        "elements": [{"type": "mrkdwn", "text": text[:MAX_CONTEXT_TEXT]}],
    }


def _fits(digest: Digest, blocks: Sequence[Block], stories: list[DigestStory]) -> bool:
    """Whether these blocks and their fallback text fit one message."""
    if len(blocks) > MAX_BLOCKS:
        return False
    if sum(len(text) for block in blocks for text in _block_texts(block)) > MAX_MESSAGE_CHARS:
        return False
    fallback = _fallback(digest, stories, 99, 99)
    if len(fallback) > MAX_TEXT:
        return False
    payload = {"text": fallback, "blocks": blocks}
    return len(json.dumps(payload).encode()) <= MAX_PAYLOAD_BYTES


def _block_texts(block: Block) -> list[str]:
    texts = []
    if isinstance(block.get("text"), dict):
        texts.append(str(block["text"].get("text", "")))
    for element in block.get("elements", []):
        if isinstance(element, dict) and "text" in element:
            texts.append(str(element["text"]))
    return texts


def _fallback(digest: Digest, stories: list[DigestStory], number: int, pages: int) -> str:
    """The notification text of a part: the digest's one count, then this part's headlines."""
    head = mrkdwn.escape(digest.title)
    if pages > 1:
        head += f" ({number}/{pages})"
    text = f"{head}: {mrkdwn.escape(count_phrase(digest))}"
    if stories:
        text += " — " + "; ".join(mrkdwn.escape(story.headline) for story in stories[:3])
        if len(stories) > 3:
            text += "; …"
    return _bounded(text, MAX_FALLBACK_TEXT)


def _plain(text: str, limit: int) -> str:
    """Text for a plain_text object: Slack shows it literally; only length and controls matter."""
    return _bounded(" ".join(mrkdwn.clean_text(text).split()), limit) or "Digest"


def _bounded(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    # never end inside an entity such as "&amp;" (it would show as raw text)
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"
