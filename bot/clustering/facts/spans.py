"""Name spans: maximal runs of capitalised words in a segment, the name candidates.

Owns finding them (`name_spans`) and the tests of what a span names: cleaned of generic words,
units and legal forms (`strip_name`), a product, a person, a region of the gazetteer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.clustering.facts.segments import (
    Segment,
    Word,
    is_acronym,
    is_capitalised,
    name_like,
    unusual_caps,
    word_tokens,
)
from bot.clustering.facts.vocabulary import (
    DETERMINERS,
    DIRECTIONS,
    GENERIC,
    LEGAL_SUFFIX,
    MODEL_CODE,
    ORG_SUFFIX,
    PRODUCT_LINES,
    PRODUCT_NOUNS,
    ROLE_WORDS,
    SAY_WORDS,
    gazetteer,
)
from bot.text.stopwords import STOPWORDS


@dataclass(slots=True)
class Span:
    words: list[Word]
    segment: Segment
    before: list[Word]  # up to three words before the span
    after: list[Word]  # up to three words after the span
    break_after: bool

    @property
    def surface(self) -> str:
        return " ".join(w.surface for w in self.words)

    @property
    def folded(self) -> tuple[str, ...]:
        return tuple(w.folded for w in self.words)

    @property
    def next_word(self) -> str:
        return "" if self.break_after or not self.after else self.after[0].folded


def name_spans(
    segment: Segment, proper: frozenset[str], words: list[Word] | None = None
) -> list[Span]:
    """Maximal runs of capitalised words (name candidates) in one segment (`words`: its
    tokens, when the caller has them)."""
    if words is None:
        words = word_tokens(segment.text)
    runs: list[list[int]] = []
    current: list[int] = []

    def close() -> None:
        nonlocal current
        if current:
            runs.append(current)
        current = []

    for index, word in enumerate(words):
        if word.break_before:
            close()
        if not word.surface or not is_capitalised(word.surface):
            if word.surface == "&" and current:
                continue
            if word.surface.isdigit() and current and len(word.surface) <= 3:
                current.append(index)  # an instance or a name's number: "Colossus 1", "Hut 8"
                close()
                continue
            close()
            continue
        doubtful = segment.headline_case or index == 0
        if doubtful and not current:
            following = words[index + 1] if index + 1 < len(words) else None
            multi = (
                not segment.headline_case
                and following is not None
                and not following.break_before
                and following.surface[:1].isupper()
                and not word.possessive
                and word.folded not in STOPWORDS
            )
            if not multi and not name_like(word, proper):
                continue
        elif (
            current
            and segment.headline_case
            and word.folded not in ORG_SUFFIX
            and word.folded not in LEGAL_SUFFIX
            and not name_like(word, proper)
        ):
            close()  # "Northlake Compute Lands ...": a suffix continues a name, a verb ends it
            continue
        if not current and (word.folded in DETERMINERS or (doubtful and word.folded in STOPWORDS)):
            continue  # "The", "In" opening a span; "New" of "New Jersey" stays
        current.append(index)
        if word.possessive:
            close()
    close()
    spans: list[Span] = []
    for run in runs:
        first, last = run[0], run[-1]
        following_break = last + 1 < len(words) and words[last + 1].break_before
        spans.append(
            Span(
                words=[words[i] for i in run],
                segment=segment,
                before=words[max(0, first - 3) : first],
                after=words[last + 1 : last + 4],
                break_after=following_break or words[last].possessive,
            )
        )
    return spans


def strip_name(words: list[Word]) -> list[Word]:
    """Drop leading generic words and trailing unit/product nouns and legal forms.

    "AI Infrastructure" -> nothing, "Google Cloud TPUs" -> "Google Cloud", "Nvidia Corp" ->
    "Nvidia".
    """
    start, end = 0, len(words)
    while start < end and (words[start].folded in GENERIC or words[start].folded in DETERMINERS):
        start += 1
    while end > start and (
        words[end - 1].folded in PRODUCT_NOUNS
        or words[end - 1].folded in ("capacity", "mw", "gw")
        or words[end - 1].folded in LEGAL_SUFFIX
    ):
        end -= 1
    return words[start:end]


def is_product(span: Span) -> bool:
    codes = [w for w in span.words if MODEL_CODE.match(w.surface) or w.folded in PRODUCT_LINES]
    if not codes:
        return False
    return len(span.words) > 1 or span.next_word in PRODUCT_NOUNS


def is_person(span: Span) -> bool:
    names = [w for w in span.words if not w.surface.isdigit()]
    if not 2 <= len(names) <= 3 or any(w.folded in ORG_SUFFIX for w in names):
        return False
    if any(unusual_caps(w.surface) or is_acronym(w.surface) for w in names):
        return False
    if any(w.folded in ROLE_WORDS for w in span.before[-2:]):
        return True
    after = [w.folded for w in span.after[:2]]
    return bool(after) and (after[0] in SAY_WORDS or after[0] in ROLE_WORDS)


def region_of(words: Sequence[Word]) -> str | None:
    """The region these words name ("Texas", "New Jersey", "West Texas" -> "Texas")."""
    text = " ".join(w.folded for w in words)
    regions = gazetteer()
    if text in regions:
        return regions[text]
    if len(words) > 1 and words[0].folded in DIRECTIONS:
        rest = " ".join(w.folded for w in words[1:])
        if rest in regions:
            return regions[rest]
    return None
