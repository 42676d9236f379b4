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
from dataclasses import replace
from functools import cached_property
from typing import Any

from bot.model.match import MatchItem
from bot.text.quantities import Quantity, extract_quantities
from bot.text.tokens import fold, normal_forms

_POSSESSIVE = re.compile(r"'s\b")
_WORD = re.compile(r"[^\W_]+")
_SENTENCE_END = re.compile(r"[.!?][\"'”’)]?\s")

LEAD_MIN_WORDS = 12
LEAD_MAX_CHARS = 600

TEXT_FIELDS = ("title", "summary", "lead", "text")
META_FIELDS = ("source", "url", "author", "category")


class AnalysedField:
    """One field's folded text, words and stems; positional indexes are built on first use."""

    __slots__ = (
        "__dict__",
        "folded",
        "memo",
        "raw",
        "stem_set",
        "stems",
        "tokens",
        "with_line_breaks",
    )

    def __init__(self, raw: str, with_line_breaks: AnalysedField | None = None) -> None:
        """`with_line_breaks`: the analysis of the same text with line breaks where this one
        has spaces (a summary made of the article text), whose words and quantities this
        field shares: line breaks and spaces separate words and figures alike."""
        self.raw = raw
        self.folded = fold(raw)
        self.with_line_breaks = with_line_breaks
        if with_line_breaks is not None:
            self.tokens: list[str] = with_line_breaks.tokens
            self.stems: list[str] = with_line_breaks.stems
            self.stem_set: frozenset[str] = with_line_breaks.stem_set
        else:
            self.tokens = _WORD.findall(_POSSESSIVE.sub("", self.folded))
            self.stems = normal_forms(self.tokens)
            self.stem_set = frozenset(self.stems)
        # Query leaves' results on this field, by id of the leaf (see Leaf.found_in).
        self.memo: dict[int, bool] = {}

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
    def token_positions(self) -> dict[str, list[int]]:
        positions: dict[str, list[int]] = {}
        for index, word in enumerate(self.tokens):
            positions.setdefault(word, []).append(index)
        return positions

    @cached_property
    def _prefix_positions(self) -> dict[str, list[int]]:
        return {}

    def prefix_positions(self, prefix: str, prefix_stem: str) -> list[int]:
        """Positions of the words that begin with `prefix` or have its stem, in order."""
        cached = self._prefix_positions.get(prefix)
        if cached is not None:
            return cached
        found = set(self.stem_positions.get(prefix_stem, ()))
        tokens = self.sorted_tokens
        index = bisect_left(tokens, prefix)
        while index < len(tokens) and tokens[index].startswith(prefix):
            found.update(self.token_positions[tokens[index]])
            index += 1
        result = self._prefix_positions[prefix] = sorted(found)
        return result

    def first_with_prefix(self, prefix: str, prefix_stem: str) -> int | None:
        """`prefix_positions(prefix, prefix_stem)[0]` (None: none), found by searching the
        words rather than indexing all their positions, unless those are indexed already."""
        cached = self.__dict__.get("_prefix_positions", {}).get(prefix)
        if cached is not None:
            return cached[0] if cached else None
        tokens = self.tokens
        first: int | None = None
        if prefix_stem in self.stem_set:
            first = self.stems.index(prefix_stem)
        words = self.sorted_tokens
        index = bisect_left(words, prefix)
        while index < len(words) and words[index].startswith(prefix):
            position = tokens.index(words[index])
            if first is None or position < first:
                first = position
            index += 1
        return first

    @cached_property
    def quantities(self) -> list[Quantity]:
        if self.with_line_breaks is not None:
            return [
                replace(q, text=q.text.replace("\n", " ")) if "\n" in q.text else q
                for q in self.with_line_breaks.quantities
            ]
        return extract_quantities(self.raw)

    @cached_property
    def quantity_spans(self) -> list[tuple[int, int]]:
        """The word positions (start, end) of each of `quantities`, in the same order, so that
        a quantity can be an operand of NEAR: "18,000 GB300 chips" spans four words."""
        if self.with_line_breaks is not None:
            return self.with_line_breaks.quantity_spans
        spans: list[tuple[int, int]] = []
        raw = self.raw
        # Words are counted segment by segment between the quantities' ends: quantities begin
        # and end at word boundaries, so the counts add up to the positions in `tokens`.
        position = 0
        words = 0
        last = len(self.tokens)
        for quantity in self.quantities:
            if quantity.start >= position:
                words += _count_words(raw[position : quantity.start])
                start = words
                words += _count_words(raw[quantity.start : quantity.end])
                position = quantity.end
            else:  # overlapping quantities are removed by extraction; kept safe regardless
                start = words
            spans.append((min(start, last), min(max(words, start + 1), last)))
        return spans

    def has_prefix(self, prefix: str) -> bool:
        tokens = self.sorted_tokens
        index = bisect_left(tokens, prefix)
        return index < len(tokens) and tokens[index].startswith(prefix)

    def first_token_with_stem(self, word: str) -> str:
        # One search of the stems, unless their positions are indexed already: explaining a
        # match looks up a few words, which would not pay for the index.
        positions = self.__dict__.get("stem_positions")
        if positions is not None:
            found = positions.get(word)
            return self.tokens[found[0]] if found else word
        try:
            return self.tokens[self.stems.index(word)]
        except ValueError:
            return word


def _count_words(text: str) -> int:
    return len(_WORD.findall(_POSSESSIVE.sub("", fold(text))))


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


def item_fields(item: MatchItem) -> dict[str, str]:
    """The raw text of each field of `item` that rules can search (empty ones left out)."""
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
        # A feed that gives only a description has it as both summary and text, so the summary
        # is the whole body: teasers, "related" headlines and newsletter lines included. Rules
        # would then read clutter as the item's summary, and an exclusion would drop a real
        # deal for a teaser about an arrest or a share price. The lead paragraph is what a
        # summary would have said; the rest stays searchable as text.
        if raw["lead"] and raw["summary"] == item.text.replace("\n", " "):
            raw["summary"] = raw["lead"]
    return {name: value for name, value in raw.items() if value}


def raw_fields(item: MatchItem, *, for_prefilter: bool = False, meta: bool = True) -> list[str]:
    """The raw text of every field of `item`.

    `for_prefilter`: without the fields whose words and quantities another field already has:
    a summary that is the text with its line breaks as spaces (feeds that give only a
    description), and a lead paragraph that is a whole line of the text (it is unless a line
    is longer than LEAD_MAX_CHARS and had to be cut). `meta`: with the metadata fields (source,
    url, author, category), which only terms naming them search.
    """
    if not for_prefilter:
        return list(item_fields(item).values())
    text = item.text or ""
    fields = [item.title or ""]
    if item.summary and item.summary != text.replace("\n", " "):
        fields.append(item.summary)
    fields.append(text)
    if meta:
        fields += [item.source or "", item.url or "", item.author or ""]
        fields.append(" ; ".join(item.categories))
    if len(text) > LEAD_MAX_CHARS:
        fields.append(lead_paragraph(text))
    return fields


class Document:
    """All fields of one item, analysed once and shared by all rules."""

    __slots__ = ("fields", "memo", "present", "results", "tiers")

    def __init__(
        self,
        item: MatchItem,
        present: frozenset[tuple[str, str]] | None = None,
        *,
        meta: bool = True,
    ) -> None:
        """`meta`: analyse the metadata fields too (rules that never name them need not)."""
        raw = item_fields(item)
        if not meta:
            for name in META_FIELDS:
                raw.pop(name, None)
        text = raw.get("text")
        shared = None
        if text is not None and raw.get("summary") == text.replace("\n", " "):
            shared = AnalysedField(text)
        self.fields: dict[str, AnalysedField] = {
            name: (
                shared
                if name == "text" and shared is not None
                else AnalysedField(value, shared if name == "summary" else None)
            )
            for name, value in raw.items()
            if not (name == "lead" and value == raw.get("summary"))
        }
        if "lead" in raw and "lead" not in self.fields:
            self.fields["lead"] = self.fields["summary"]  # the summary is the lead: analyse once
        # The prefilter's atoms found in the item (see Node.possible); None: not known.
        self.present = present
        # Per-node results that do not depend on the scope (see Or), by id of the node.
        self.memo: dict[int, Any] = {}
        # Compound nodes' results, by id of the node and name of the scope: rules share
        # sub-queries, and a rule is evaluated in several scopes.
        self.results: dict[tuple[int, str], bool] = {}
        # Nodes' tiers (see Node.tier), by id of the node.
        self.tiers: dict[int, int] = {}
