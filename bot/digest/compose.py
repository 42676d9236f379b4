"""Digest composition: which stories a channel gets for a period, in which order, how each reads.

Pure functions over in-memory data (no I/O): the worker loads candidate stories from storage as
:class:`StoryView` values, together with what this channel was already sent, and gets back a
:class:`bot.model.Digest` that every renderer (text, Slack, email) turns into a message.

Selection
    A story is included when the channel has never been sent it, or when it was sent and has since
    been *materially updated* (it is then marked ``updated``): it gained independent outlets, or a
    key fact became known or changed (:func:`material_fact_changes`: power, deal value, chip count
    or a named facility). A new party spelling, a place or a reworded summary is not material: the
    analyst has already read the story. Stories under ``min_score`` are left out.

Below the cut
    Stories ranked below ``max_stories`` are counted ("…and K more below the cut") but not
    recorded as sent, so they stay candidates: the next digest shows them if they still rank,
    marked *held over* (``DigestStory.held_over``: never sent to the channel and unchanged since
    its last digest), and its counts say so rather than presenting them as news from no new
    entries. A story is shown once; it is not sent again unless materially updated.

Ranking
    Analysts want the most important deals first, and importance has several signals of
    different scales, so each is normalised to 0..1 across the candidates and combined with fixed
    weights: relevance score (0.40), independent outlets (0.30, logarithmic: the fifth outlet
    matters less than the second), deal size (0.15, logarithmic in dollars, with power priced at
    USD_PER_MW, relative to the biggest deal present) and recency (0.15, halving every 24 hours
    before the period end). Ties fall back to score, outlets, recency and finally the story id,
    so the order is stable.

Sources
    One source per outlet (the earliest report with an http(s) link wins), outlets compared
    case-insensitively. The story's link is the best source: an outlet named in
    ``preferred_outlets`` (the channel's reputable outlets, in order) if any reported it, else the
    report whose headline the story shows (the headline is the link's text: it must lead to that
    article, not to another outlet's angle on the deal), else the earliest report with a link.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.model import Digest, DigestStory, SourceRef, StoryFacts, StoryView
from bot.text.quantities import same_figure

WEIGHT_SCORE = 0.40
WEIGHT_OUTLETS = 0.30
WEIGHT_DEAL_SIZE = 0.15
WEIGHT_RECENCY = 0.15
RECENCY_HALF_LIFE_HOURS = 24.0
SUMMARY_MAX_CHARS = 360
HEADLINE_MAX_CHARS = 300

# A figure that moved by less than this fraction is the same figure reported with other rounding
# ("300 MW" and "0.3 GW", "$17.4B" and "$17.35 billion"), tested with the clusterer's one "same
# figure" predicate (bot.text.quantities.same_figure). Tighter than the clusterer's own tolerances
# (FIGURE_TOLERANCE, ClusterConfig.quantity_tolerance), which decide whether two reports are one
# deal: here a reader who was sent "$17.4B" is told when it becomes "$18B".
FACT_TOLERANCE = 0.02

# Dollars per megawatt used to put power-only deals on the same scale as priced ones; roughly the
# build-out cost of AI data-center capacity. Only relative order matters, so precision does not.
USD_PER_MW = 10_000_000.0


@dataclass(slots=True, frozen=True)
class PreviousInclusion:
    """What a channel was last sent of a story: its outlet count and key facts (None if unknown)."""

    source_count: int
    facts: StoryFacts | None = None
    version: int | None = None


def material_fact_changes(before: StoryFacts | None, after: StoryFacts) -> list[str]:
    """The key facts that became known or changed, as short labels ("power", "value", ...).

    Unknown earlier facts (``None``: recorded before facts were kept) compare as unchanged, so
    old inclusions are judged on outlets alone rather than all reported as updated.
    """
    if before is None:
        return []
    changes = []
    for label, old, new in (
        ("power", before.power_mw, after.power_mw),
        ("value", before.amount_usd, after.amount_usd),
        ("chips", before.chips, after.chips),
    ):
        if new is None or new <= 0:
            continue  # a figure that disappeared is a clustering artefact, not news
        if old is None or old <= 0 or not same_figure(old, new, FACT_TOLERANCE):
            changes.append(label)
    known_assets = {_outlet_key(asset) for asset in before.assets}
    if any(_outlet_key(asset) not in known_assets for asset in after.assets):
        changes.append("facility")
    return changes


def is_material_update(
    previous: PreviousInclusion, sources: Sequence[SourceRef], facts: StoryFacts
) -> bool:
    """New independent outlets, or new key facts, since ``previous``."""
    return len(sources) > previous.source_count or bool(
        material_fact_changes(previous.facts, facts)
    )


def compose_digest(
    *,
    channel: str,
    title: str,
    candidates: Sequence[StoryView],
    previously_sent: Mapping[int, int | PreviousInclusion],
    period_start: datetime | None,
    period_end: datetime,
    max_stories: int,
    min_score: float,
    unhealthy_feeds: Sequence[str],
    total_entries: int,
    preferred_outlets: Sequence[str] = (),
    timezone: str = "UTC",
) -> Digest:
    """Select, rank and cap the stories of one channel for one period.

    ``previously_sent`` maps story id to what this channel was last sent of it: a
    :class:`PreviousInclusion`, or just the number of distinct outlets it had then.
    """
    if max_stories < 1:
        raise ValueError(f"max_stories must be at least 1, got {max_stories}")
    selected: list[tuple[StoryView, list[SourceRef], bool]] = []
    for view in candidates:
        if view.score < min_score:
            continue
        sources = dedupe_sources(view.sources)
        previous = previously_sent.get(view.story_id)
        if isinstance(previous, int):
            previous = PreviousInclusion(source_count=previous)
        if previous is not None and not is_material_update(previous, sources, view.facts):
            continue
        selected.append((view, sources, previous is not None))

    ranked = _rank(selected, period_end)
    kept = ranked[:max_stories]
    stories = [
        DigestStory(
            story_id=view.story_id,
            headline=clean_headline(view.headline),
            link=best_link(sources, preferred_outlets, headline_link=view.headline_link),
            summary=short_summary(view.summary),
            facts=view.facts,
            sources=_order_sources(sources, preferred_outlets),
            first_seen=view.first_seen,
            score=view.score,
            updated=updated,
            held_over=not updated and _unchanged_since(view, period_start),
            version=view.version,
        )
        for view, sources, updated in kept
    ]
    return Digest(
        channel=channel,
        title=title,
        period_start=period_start,
        period_end=period_end,
        stories=stories,
        more_count=len(ranked) - len(kept),
        total_entries=total_entries,
        unhealthy_feeds=sorted(set(unhealthy_feeds), key=str.casefold),
        timezone=timezone,
    )


def _unchanged_since(view: StoryView, period_start: datetime | None) -> bool:
    """Whether the story was already this way when the channel's last digest was composed."""
    return period_start is not None and _aware(view.last_updated) <= _aware(period_start)


def _rank(
    selected: list[tuple[StoryView, list[SourceRef], bool]], period_end: datetime
) -> list[tuple[StoryView, list[SourceRef], bool]]:
    if not selected:
        return []
    max_score = max((max(v.score, 0.0) for v, _, _ in selected), default=0.0)
    max_outlets = max(len(s) for _, s, _ in selected)
    sizes = [deal_size_usd(v.facts) for v, _, _ in selected]
    max_size = max((s for s in sizes if s), default=0.0)
    end = _aware(period_end)

    def key(
        item: tuple[tuple[StoryView, list[SourceRef], bool], float],
    ) -> tuple[float, float, int, float, int]:
        (view, sources, _), size = item
        score_part = max(view.score, 0.0) / max_score if max_score > 0 else 0.0
        outlets_part = math.log1p(len(sources)) / math.log1p(max_outlets) if max_outlets else 0.0
        size_part = math.log1p(size) / math.log1p(max_size) if max_size > 0 and size else 0.0
        age_hours = max((end - _aware(view.last_updated)).total_seconds() / 3600.0, 0.0)
        recency_part = 0.5 ** (age_hours / RECENCY_HALF_LIFE_HOURS)
        combined = (
            WEIGHT_SCORE * score_part
            + WEIGHT_OUTLETS * outlets_part
            + WEIGHT_DEAL_SIZE * size_part
            + WEIGHT_RECENCY * recency_part
        )
        return (-combined, -view.score, -len(sources), -recency_part, view.story_id)

    return [item for item, _ in sorted(zip(selected, sizes, strict=True), key=key)]


def deal_size_usd(facts: StoryFacts) -> float:
    """A comparable size of the deal in dollars: its amount, or its power priced at USD_PER_MW."""
    amount = facts.amount_usd or 0.0
    power = (facts.power_mw or 0.0) * USD_PER_MW
    return max(amount, power, 0.0)


def is_http_url(url: str | None) -> bool:
    """Only http(s) links are ever linked: javascript:, data:, mailto: and the like are not."""
    return bool(url) and re.match(r"(?i)^https?://[^\s/?#]+", url or "") is not None


def dedupe_sources(sources: Iterable[SourceRef]) -> list[SourceRef]:
    """One source per outlet: the earliest report with an http(s) link, else the earliest."""
    best: dict[str, SourceRef] = {}
    for source in sources:
        key = _outlet_key(source.outlet)
        current = best.get(key)
        if current is None or _source_order(source) < _source_order(current):
            best[key] = source
    return list(best.values())


def best_link(
    sources: Sequence[SourceRef],
    preferred_outlets: Sequence[str] = (),
    *,
    headline_link: str | None = None,
) -> str | None:
    """The link of the preferred outlet's report if any, else `headline_link` (the report
    whose headline the story shows), else of the earliest linked report."""
    # Preferred outlets sort first: the first linked source is a preferred one if any is.
    linked = [s for s in _order_sources(sources, preferred_outlets) if is_http_url(s.link)]
    preferred = {_outlet_key(name) for name in preferred_outlets}
    if linked and _outlet_key(linked[0].outlet) in preferred:
        return linked[0].link
    if is_http_url(headline_link):
        return headline_link
    return linked[0].link if linked else None


def _order_sources(
    sources: Sequence[SourceRef], preferred_outlets: Sequence[str]
) -> list[SourceRef]:
    preference = {_outlet_key(name): rank for rank, name in enumerate(preferred_outlets)}
    fallback = len(preference)

    def key(source: SourceRef) -> tuple[int, tuple[int, float, str]]:
        return (preference.get(_outlet_key(source.outlet), fallback), _source_order(source))

    return sorted(sources, key=key)


def _source_order(source: SourceRef) -> tuple[int, float, str]:
    linked = 0 if is_http_url(source.link) else 1
    published = _aware(source.published).timestamp() if source.published else math.inf
    return (linked, published, source.outlet.casefold())


def _outlet_key(outlet: str) -> str:
    key = re.sub(r"\s+", " ", outlet).strip().casefold()
    return re.sub(r"^www\.", "", key)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


_WS = re.compile(r"\s+")
# A sentence ends at . ! or ? (optionally followed by a closing quote or bracket) and whitespace,
# when the next word starts like a sentence. Abbreviations such as "U.S." or "Inc." are rejoined.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"'”’)\]]?\s+(?=[\"'“‘(\[]?[A-Z0-9])")
_ABBREVIATIONS = frozenset(
    """mr mrs ms dr st inc corp co ltd plc llc jr sr vs etc approx est no fig jan feb mar apr
    jun jul aug sep sept oct nov dec u.s u.k u.n e.u a.i""".split()  # noqa: SIM905
)


def clean_headline(headline: str) -> str:
    """Whitespace collapsed, length bounded for headers and subjects."""
    text = _WS.sub(" ", headline).strip()
    return _truncate(text, HEADLINE_MAX_CHARS) or "(untitled story)"


_SENTENCE_CLOSERS = (".", "!", "?", "…", '"', "'", "”", "’", ")")


def short_summary(text: str, max_sentences: int = 2, max_chars: int = SUMMARY_MAX_CHARS) -> str:
    """The first one or two sentences of a summary, bounded in length on a word boundary."""
    text = _WS.sub(" ", text).strip()
    if not text:
        return ""
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        candidate = text[start : match.start()].strip()
        last_word = candidate.rsplit(" ", 1)[-1].rstrip(".").casefold()
        if last_word in _ABBREVIATIONS or re.fullmatch(r"[a-z]", last_word):
            continue
        sentences.append(text[start : match.end()].strip())
        start = match.end()
        if len(sentences) == max_sentences:
            break
    if len(sentences) < max_sentences and start < len(text):
        sentences.append(text[start:].strip())
    result = " ".join(sentences[:max_sentences])
    if len(sentences) >= 2 and len(result) > max_chars:
        result = sentences[0]
    result = _truncate(result, max_chars)
    # Feeds cut leads mid-sentence (a paragraph split, an outlet's teaser length): say so rather
    # than end on a dangling word.
    if not result.endswith(_SENTENCE_CLOSERS):
        result = result.rstrip(" ,;:-") + "…"
    return result


def _truncate(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    cut = text[: max_chars - 1]
    space = cut.rfind(" ")
    if space > max_chars * 0.6:
        cut = cut[:space]
    return cut.rstrip(" ,;:-") + "…"
