"""Segments (a report's title or one lead sentence) and their words.

Owns the `Segment` and `Word` types, a segment's weight by where it stands, splitting text into
words, deal vocabulary in a segment (`announces_deal` for the clusterer's headline terms), and
whether a word reads as a name: its capitals, and for a word whose capital says nothing (a
Headline Case title, a sentence start) the evidence of the word and the story's proper words.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from bot.clustering import features
from bot.clustering.facts.leads import QUOTES, lead_sentences
from bot.clustering.facts.vocabulary import (
    CLAUSE_BREAK,
    DEAL_TERMS,
    GENERIC,
    MODEL_CODE,
    PRIOR_NAMES,
    is_rare,
    word_stem,
)
from bot.text.stopwords import STOPWORDS
from bot.text.tokens import tokenize

# Weights of a name by where it stands: the title, then lead sentences by position.
TITLE_WEIGHT = 3.0
UNDEAL_TITLE_WEIGHT = 2.0
LEAD_POSITION_WEIGHTS = (1.0, 0.8, 0.6, 0.5, 0.4)
NO_DEAL_FACTOR = 0.35  # a sentence without deal vocabulary


@dataclass(slots=True)
class Segment:
    """A title or one lead sentence of one report."""

    text: str
    report: int
    is_title: bool
    position: int  # 0 for the title and the first lead sentence
    headline_case: bool = False
    deal: bool = False

    @property
    def weight(self) -> float:
        if self.is_title:
            return TITLE_WEIGHT if self.deal else UNDEAL_TITLE_WEIGHT
        weights = LEAD_POSITION_WEIGHTS
        base = weights[min(self.position, len(weights) - 1)]
        return base if self.deal else base * NO_DEAL_FACTOR


@dataclass(slots=True)
class Word:
    surface: str  # as written, without possessive or trailing punctuation
    folded: str
    start: int
    end: int
    possessive: bool
    break_before: bool  # punctuation between this word and the previous one


_WORD = re.compile(r"[^\W_][\w&'\u2019.\-]*")


_INITIALISM = re.compile(r"(?:[A-Za-z]\.){2,}")


def word_tokens(text: str) -> list[Word]:
    words: list[Word] = []
    previous_end = 0
    fold = features.fold
    for match in _WORD.finditer(text):
        raw = match.group(0)
        start, end = match.span()
        surface = raw.rstrip(".-'\u2019")
        if raw.endswith(".") and _INITIALISM.fullmatch(raw):
            surface = raw  # "U.S."
        possessive = False
        if surface.endswith("s"):
            for tail in ("'s", "\u2019s"):
                if surface.endswith(tail):
                    surface, possessive = surface[: -len(tail)], True
        if raw.endswith(("s'", "s\u2019")):
            possessive = True
        gap = text[previous_end:start]
        words.append(
            Word(
                surface,
                fold(surface),
                start,
                start + len(surface),
                possessive,
                # A single space (most gaps) holds neither a clause break nor a quote.
                gap != " " and (bool(CLAUSE_BREAK.search(gap)) or '"' in gap),
            )
        )
        # A word that ends a sentence or clause with its own punctuation ("Inc.," / "Texas,")
        previous_end = end
    return words


@functools.lru_cache(maxsize=65_536)
def _is_deal_word(word: str) -> bool:
    return word_stem(word) in DEAL_TERMS or features.fold(word) in DEAL_TERMS


def is_deal_text(text: str) -> bool:
    return any(map(_is_deal_word, tokenize(text)))


def announces_deal(terms: Iterable[str]) -> bool:
    """Whether a headline of these terms (the clusterer's stems of its words) speaks of a deal
    ("signs", "lease", "supply", "contract", "taps")."""
    return any(term in DEAL_TERMS for term in terms)


def report_segments(title: str, summary: str, text: str) -> list[tuple[str, bool, int]]:
    """The title and lead sentences of one report: (text, is title, position)."""
    segments: list[tuple[str, bool, int]] = []
    title = " ".join(title.split())
    if title and not features.is_placeholder_title(title):
        segments.append((title, True, 0))
    for position, sentence in enumerate(lead_sentences(summary, text, title)):
        segments.append((sentence, False, position))
    return segments


@functools.lru_cache(maxsize=65_536)
def unusual_caps(word: str) -> bool:
    """Capitals a plain word does not have: "xAI", "CoreWeave" (not "Multi-Year")."""
    return any(
        (any(ch.isupper() for ch in part[1:]) and not part.isupper())
        or (part[:1].islower() and any(ch.isupper() for ch in part))
        for part in word.split("-")
    )


def is_acronym(word: str) -> bool:
    letters = word.replace(".", "").replace("&", "")
    return letters.isupper() and 2 <= len(letters) <= 5 and letters.isalpha()


def is_capitalised(word: str) -> bool:
    return word[:1].isupper() or unusual_caps(word) or bool(MODEL_CODE.match(word))


def proper_words(segment: Segment, words: list[Word]) -> Iterator[str]:
    """Words written capitalised mid-sentence in a segment of sentence-case text (`words` are
    its tokens); the story's proper words are those of all its segments."""
    if segment.headline_case:
        return
    for index, word in enumerate(words):
        if index == 0 or (word.break_before and word.surface[:1] in QUOTES):
            continue
        if (
            word.surface[:1].isupper()
            and not word.surface.isupper()
            and word.folded not in STOPWORDS
            and word.folded not in GENERIC
        ):
            yield word.folded


def name_like(word: Word, proper: frozenset[str]) -> bool:
    """Whether a word whose capital says nothing (headline, sentence start) is a name: where
    the word alone does not say, whether the story writes it capitalised mid-sentence."""
    alone = name_like_alone(word)
    return word.folded in proper if alone is None else alone


def name_like_alone(word: Word) -> bool | None:
    """What the word alone says of `name_like`: never a name (a stopword, generic or deal word),
    a name (odd capitals, an acronym, a prior name, rare in English), or None (it depends on
    the story's proper words)."""
    folded = word.folded
    if folded in STOPWORDS or folded in GENERIC or word_stem(folded) in DEAL_TERMS:
        return False
    if unusual_caps(word.surface) or is_acronym(word.surface) or folded in PRIOR_NAMES:
        return True
    if all(is_rare(part) for part in folded.split("-") if part):
        return True
    return None
