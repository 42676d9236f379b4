"""An item analysed once for matching: per field, its folded words, their stems and positions.

Rules never look at raw strings; they look at a `Document`, built once per item and shared by all
rules, so that the cost of folding and tokenising does not grow with the number of rules.

Fields: `title`, `summary`, `text` (full article text, when the feed has it), `lead` (the first
real paragraph of `text`, which plays the part of a summary: feeds often give only a headline or a
one-line dek as summary), and the metadata fields `source`, `url`, `author`, `category`.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from functools import cached_property

from bot.model.match import MatchItem
from bot.text.quantities import Quantity, extract_quantities
from bot.text.tokens import fold, stem

_POSSESSIVE = re.compile(r"'s\b")
_WORD = re.compile(r"[^\W_]+")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]?\s")

LEAD_MIN_WORDS = 12
LEAD_MAX_CHARS = 600

TEXT_FIELDS = ("title", "summary", "lead", "text")
META_FIELDS = ("source", "url", "author", "category")


class AnalysedField:
    """One field's folded text, words and stems; positional indexes are built on first use."""

    __slots__ = ("__dict__", "folded", "raw", "stem_set", "stems", "tokens")

    def __init__(self, raw: str) -> None:
        self.raw = raw
        self.folded = fold(raw)
        self.tokens: list[str] = _WORD.findall(_POSSESSIVE.sub("", self.folded))
        self.stems: list[str] = [stem(token) for token in self.tokens]
        self.stem_set: frozenset[str] = frozenset(self.stems)

    @cached_property
    def sorted_tokens(self) -> list[str]:
        return sorted(set(self.tokens))

    @cached_property
    def stem_positions(self) -> dict[str, list[int]]:
        positions: dict[str, list[int]] = {}
        for index, word in enumerate(self.stems):
            positions.setdefault(word, []).append(index)
        return positions

    @cached_property
    def quantities(self) -> list[Quantity]:
        return extract_quantities(self.raw)

    def has_prefix(self, prefix: str) -> bool:
        tokens = self.sorted_tokens
        index = bisect_left(tokens, prefix)
        return index < len(tokens) and tokens[index].startswith(prefix)

    def first_token_with_stem(self, word: str) -> str:
        positions = self.stem_positions.get(word)
        return self.tokens[positions[0]] if positions else word


def lead_paragraph(text: str) -> str:
    """The first paragraph of `text` that reads like prose (a dek or a byline is skipped)."""
    for paragraph in text.split("\n"):
        paragraph = paragraph.strip()
        if len(paragraph.split()) >= LEAD_MIN_WORDS:
            if len(paragraph) <= LEAD_MAX_CHARS:
                return paragraph
            cut = 0
            for match in _SENTENCE_END.finditer(paragraph, 0, LEAD_MAX_CHARS):
                cut = match.end()
            return paragraph[: cut or LEAD_MAX_CHARS]
    return ""


class Document:
    """All fields of one item, analysed; `tokens` (all its words) feed the rule prefilter."""

    __slots__ = ("fields", "tokens")

    def __init__(self, item: MatchItem) -> None:
        raw: dict[str, str] = {
            "title": item.title or "",
            "summary": item.summary or "",
            "source": item.source or "",
            "url": item.url or "",
            "author": item.author or "",
            "category": " ; ".join(item.categories),
        }
        if item.text:
            raw["text"] = item.text
            raw["lead"] = lead_paragraph(item.text)
        self.fields: dict[str, AnalysedField] = {
            name: AnalysedField(value) for name, value in raw.items() if value
        }
        tokens: set[str] = set()
        for analysed in self.fields.values():
            tokens.update(analysed.tokens)
        self.tokens = tokens
