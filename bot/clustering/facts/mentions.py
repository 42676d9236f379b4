"""What the name spans of a segment mention: parties, people, places and facilities.

Owns `Mentions` (everything read from the segments of a story) and `classify_span`, which puts
one span in it: an asset instance, a headquarters (skipped), a product, a person, a "City,
Region" place, a region, a named facility, a place cued by "in", or a name weighted by where it
stands (little in an aside such as "like Google and Meta").
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from bot.clustering.facts.segments import Segment, Word, unusual_caps
from bot.clustering.facts.spans import Span, is_person, is_product, region_of, strip_name
from bot.clustering.facts.vocabulary import (
    ASIDE_CUES,
    DETERMINERS,
    FACILITY_NOUNS,
    GENERIC,
    HQ_CUES,
    MODEL_CODE,
    ORG_SUFFIX,
    PLACE_CUES,
    PRIOR_NAMES,
    PRODUCT_LINES,
)

ASIDE_FACTOR = 0.15  # "like Google and Meta", a product's vendor


@dataclass(slots=True)
class Mentions:
    """Everything read from the segments of a story."""

    names: list[tuple[tuple[str, ...], str, Segment, float]] = field(default_factory=list)
    place_cued: dict[tuple[str, ...], int] = field(default_factory=dict)
    other_role: set[tuple[str, ...]] = field(default_factory=set)
    people: set[str] = field(default_factory=set)
    places: list[tuple[str, str | None, Segment]] = field(default_factory=list)
    facilities: list[tuple[str, Segment]] = field(default_factory=list)
    asset_cued: set[str] = field(default_factory=set)


def classify_span(span: Span, later: list[Span], found: Mentions) -> None:
    """Add what `span` mentions to `found` (`later`: the spans after it in its segment)."""
    segment = span.segment
    words = span.words
    before = [w.folded for w in span.before]
    if words and words[-1].surface.isdigit():
        name = " ".join(w.surface for w in words)
        if (
            span.next_word in FACILITY_NOUNS
            or span.next_word in ("capacity",)
            or (before and (before[-1] in DETERMINERS or span.before[-1].possessive))
        ):
            found.asset_cued.add(name)
        found.names.append((tuple(w.folded for w in words), name, segment, 0.0))
        return
    if any(w.folded.endswith("-based") for w in words) or set(before[-2:]) & HQ_CUES:
        return  # a headquarters ("Denver-based", "headquartered in Boston"), not the asset
    if is_product(span):
        return
    if is_person(span):
        found.people.add(span.surface)
        found.people.add(words[-1].surface)
        return
    # "Fort Worth, Texas": a place followed by its region.
    region_words = _following_region(span, later)
    if region_words is not None:
        region = region_of(region_words)
        city = None if region_of(words) else span.surface
        found.places.append((region or "", city, segment))
        return
    region = region_of(words)
    if region is not None:
        cue = bool(before) and (before[-1] in PLACE_CUES or before[-1] in ("and", "the"))
        if cue or span.next_word in FACILITY_NOUNS or segment.is_title or segment.deal:
            found.places.append((region, None, segment))
        return
    stripped = strip_name(words)
    if not stripped:
        return
    key = tuple(w.folded for w in stripped)
    surface = " ".join(w.surface for w in stripped)
    if all(w.folded in GENERIC or w.folded in ORG_SUFFIX for w in stripped):
        return
    # "Red Mesa AI campus", "its Stavanger site in Norway", "Stargate capacity": a facility or
    # project, unless the name is an organisation's ("a smaller Nvidia cluster").
    if _names_facility(span, stripped) and not words[-1].possessive:
        core = list(words)
        while core and core[-1].folded in GENERIC:
            core.pop()
        if core and not _org_evidence(core):
            name = " ".join(w.surface for w in core)
            region = region_of(core)
            if region is not None:
                found.places.append((region, None, segment))
                return
            region_after = _region_after_facility(span)
            if region_after is not None:
                found.places.append((region_after, name, segment))
            found.facilities.append((name, segment))
            return
    if before and before[-1] in PLACE_CUES and not _org_evidence(stripped):
        found.place_cued[key] = found.place_cued.get(key, 0) + 1
        found.places.append(("", surface, segment))
    else:
        found.other_role.add(key)
    weight = segment.weight
    aside = any(w in ASIDE_CUES for w in before[-2:]) or (
        words[-1].possessive
        and any(MODEL_CODE.match(w.surface) or w.folded in PRODUCT_LINES for w in span.after)
    )
    if aside:
        weight *= ASIDE_FACTOR
    found.names.append((key, surface, segment, weight))


def _names_facility(span: Span, stripped: list[Word]) -> bool:
    nxt = span.next_word
    if nxt == "data":
        return len(span.after) > 1 and span.after[1].folded.startswith(("center", "centre"))
    if nxt == "capacity":
        return len(stripped) == len(span.words)  # not "Google Cloud TPU capacity"
    return nxt in FACILITY_NOUNS


def _org_evidence(words: Sequence[Word]) -> bool:
    """Signs that a name is an organisation's: a prior name, a company suffix, odd capitals."""
    if any(w.folded in PRIOR_NAMES or unusual_caps(w.surface) for w in words):
        return True
    return len(words) > 1 and words[-1].folded in ORG_SUFFIX and words[-1].folded != "ai"


def _following_region(span: Span, later: list[Span]) -> list[Word] | None:
    """The region words right after "City," in "Fort Worth, Texas" (None if there are none)."""
    if not later or not span.break_after or span.words[-1].possessive:
        return None
    nxt = later[0]
    first = nxt.words[0]
    if first.start - span.words[-1].end > 3:
        return None
    # "AMD, Saudi Arabia's Humain": a list of parties, the second one the region's own company
    # (a possessive region names an owner, not where the city is).
    if region_of(nxt.words) is not None and not nxt.words[-1].possessive:
        return nxt.words
    for size in range(len(nxt.words) - 1, 0, -1):
        if region_of(nxt.words[:size]) is not None and not nxt.words[size - 1].possessive:
            return nxt.words[:size]
    return None


def _region_after_facility(span: Span) -> str | None:
    """ "Stavanger site in Norway" -> "Norway"."""
    after = span.after
    if len(after) >= 3 and after[1].folded == "in":
        return region_of(after[2:3])
    return None
