"""Readings: what one report gives any story it joins, read once and kept.

Owns `Reading` (per report) and `SegmentReading` (per title or lead sentence), their caches
(syndicated reports repeat titles and sentences word for word, and a story's facts are read
again each time it gains members), and `read_mentions`, which combines the readings of a story's
reports into its mentions. A kept reading never carries one story's context into another's: what
depends on the story (its proper words) is a key of what is kept.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.clustering import features
from bot.clustering.facts.mentions import Mentions, classify_span
from bot.clustering.facts.segments import (
    Segment,
    Word,
    is_deal_text,
    name_like_alone,
    proper_words,
    report_segments,
    word_tokens,
)
from bot.clustering.facts.spans import name_spans
from bot.clustering.facts.vocabulary import FUNDING_TERMS
from bot.text.tokens import tokenize

_APPOSITION = re.compile(
    r",\s+(?:a|an|the|which|who|whose)\s+[^,;]{1,90}?(?:,|(?=\s(?:has|have|had|is|was|will)\s))"
)


def _without_appositions(text: str) -> str:
    """ "xAI, a subsidiary of SpaceX, has" -> "xAI has": names in asides are not parties."""
    return _APPOSITION.sub(lambda m: " " * (len(m.group(0)) - 1) + ",", text)


@dataclass(slots=True)
class SegmentReading:
    """A title or lead sentence and what it gives, whatever report or story it is read in
    (syndicated reports repeat titles and sentences word for word)."""

    segment: Segment  # as report 0
    view: Segment  # the text names are read from: a lead sentence without its appositions
    proper: frozenset[str]  # its words written capitalised mid-sentence
    folded: frozenset[str]  # the view's words whose reading depends on the story's proper...
    assets: list[str]  # features.assets of the segment
    funding: bool  # a title about raising money
    # ...words (`_proper_sensitive`); the mentions read with each such part (as report 0).
    mentions: dict[frozenset[str], Mentions] = field(default_factory=dict)
    # Its first acceptable figure of a kind, by (kind, funding_deal, foreign assets).
    figures: dict[tuple[str, bool, frozenset[str]], float | None] = field(default_factory=dict)
    words: list[Word] | None = None  # the view's tokens, until its first reading


@dataclass(slots=True)
class Reading:
    """What one report contributes to the facts of any story it is a member of."""

    segments: list[SegmentReading]
    proper: frozenset[str]  # its words written capitalised mid-sentence
    funding_title: bool  # a title about raising money


# Readings are kept for the reports and sentences read last: a story's facts are read again
# each time it gains members, from the same first members (story.MAX_REPORTS). A sentence's reading
# is about 4 KB, so the caches hold at most about 35 MB (26 MB after the poll benchmark's cold
# cycle of 2,554 deal reports).
READING_CACHE = 4096
SEGMENT_CACHE = 8192
VARIANTS = 8  # mentions and figures kept per segment, one per story context met


@functools.lru_cache(maxsize=READING_CACHE)
def read_report(title: str, summary: str, text: str) -> Reading:
    parts = [read_segment(*key) for key in report_segments(title, summary, text)]
    proper = frozenset().union(*(part.proper for part in parts))
    return Reading(parts, proper, any(part.funding for part in parts))


@functools.lru_cache(maxsize=SEGMENT_CACHE)
def read_segment(text: str, is_title: bool, position: int) -> SegmentReading:
    if is_title:
        segment = Segment(
            text,
            0,
            is_title=True,
            position=0,
            headline_case=features.is_title_case(text),
            deal=is_deal_text(text),
        )
    else:
        segment = Segment(text, 0, False, position, deal=is_deal_text(text))
    words = word_tokens(text)
    proper = frozenset(proper_words(segment, words))
    view = segment
    funding = False
    if not is_title:
        view_text = _without_appositions(text)
        view = Segment(view_text, 0, False, position, segment.headline_case, segment.deal)
        if view_text != text:
            words = word_tokens(view_text)
    else:
        funding = bool(set(tokenize(text)) & FUNDING_TERMS)
    return SegmentReading(
        segment=segment,
        view=view,
        proper=proper,
        folded=_proper_sensitive(view, words),
        assets=features.assets(text),
        funding=funding,
        words=words,
    )


def _proper_sensitive(segment: Segment, words: list[Word]) -> frozenset[str]:
    """The folded words of a segment whose reading as a name depends on the story's proper
    words: `name_spans` asks `name_like` only about a sentence's first word or, in Headline Case,
    any word, and `name_like` looks a word up in the proper words only when the word alone does
    not decide (`name_like_alone`)."""
    out: set[str] = set()
    for index, word in enumerate(words):
        if index and not segment.headline_case:
            break
        if name_like_alone(word) is None:
            out.add(word.folded)
    return frozenset(out)


def _segment_mentions(part: SegmentReading, proper: frozenset[str]) -> Mentions:
    """The names, places and facilities of one segment, given the story's proper words."""
    key = part.folded & proper
    found = part.mentions.get(key)
    if found is None:
        found = Mentions()
        spans = name_spans(part.view, key, part.words)
        part.words = None
        for index, span in enumerate(spans):
            classify_span(span, spans[index + 1 :], found)
        if len(part.mentions) >= VARIANTS:
            part.mentions.clear()
        part.mentions[key] = found
    return found


def _as_report(segment: Segment, report: int) -> Segment:
    return Segment(
        segment.text,
        report,
        segment.is_title,
        segment.position,
        segment.headline_case,
        segment.deal,
    )


def read_mentions(
    readings: Sequence[Reading],
) -> tuple[Mentions, list[tuple[Segment, list[str]]]]:
    """The mentions of a story's reports (the report numbers in their order), and each
    segment with its assets."""
    proper = frozenset().union(*(reading.proper for reading in readings))
    found = Mentions()
    segments: list[tuple[Segment, list[str]]] = []
    for report, reading in enumerate(readings):
        for part in reading.segments:
            segments.append((_as_report(part.segment, report), part.assets))
            local = _segment_mentions(part, proper)
            view = _as_report(part.view, report)
            found.names.extend((key, surface, view, w) for key, surface, _, w in local.names)
            for key, count in local.place_cued.items():
                found.place_cued[key] = found.place_cued.get(key, 0) + count
            found.other_role.update(local.other_role)
            found.people.update(local.people)
            found.places.extend((region, city, view) for region, city, _ in local.places)
            found.facilities.extend((name, view) for name, _ in local.facilities)
            found.asset_cued.update(local.asset_cued)
    return found, segments
