"""The lead of a report: the opening prose sentences where its deal facts are stated.

Owns picking them (`lead_sentences`, `fact_lead`) and the page-furniture tests that keep
headings, all-caps labels, questions, quotations and a repeated title out.
"""

from __future__ import annotations

import string

from bot.clustering import features
from bot.text.clutter import strip_clutter

LEAD_SENTENCES = 5
LEAD_CHARS = 1500
# Page furniture the reader may have left: lines that end the report, lines that are labels.
_ALL_CAPS_SHARE = 0.6
_TERMINAL = (".", "!", "?", '"', "\u201d", "\u2019", "'", ")")
QUOTES = ('"', "\u201c", "\u2018", "'")
_ASCII_UPPER = string.ascii_uppercase.encode("ascii")
_ASCII_LETTERS = string.ascii_letters.encode("ascii")


def _is_heading(line: str) -> bool:
    if line.isascii():
        # The same shares counted in C: the letters and capitals deleted from the bytes.
        raw = line.encode("ascii")
        letters = len(raw) - len(raw.translate(None, _ASCII_LETTERS))
        upper = len(raw) - len(raw.translate(None, _ASCII_UPPER))
        if letters and upper / letters > _ALL_CAPS_SHARE:
            return True
    else:
        alpha = [ch for ch in line if ch.isalpha()]
        if alpha and sum(ch.isupper() for ch in alpha) / len(alpha) > _ALL_CAPS_SHARE:
            return True
    return not line.rstrip().endswith(_TERMINAL) and len(line.split()) <= 14


def _joined_lines(text: str) -> list[str]:
    """Lines of `text`, with paragraphs that a feed broke mid-sentence joined again."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line:
            continue
        if lines and not lines[-1].endswith(_TERMINAL) and line[:1].islower():
            lines[-1] = f"{lines[-1]} {line}"
        else:
            lines.append(line)
    return lines


def lead_sentences(
    summary: str, text: str = "", title: str = "", limit: int = LEAD_SENTENCES
) -> list[str]:
    """The opening prose sentences of a report: where its deal facts are stated.

    The summary comes first when the text does not repeat it (a standfirst often carries the
    figures). Headings, all-caps lines, questions, quotations, page clutter and a repeated title
    are left out.
    """
    title_key = features.fold(title).strip(" .")
    sources: list[str] = []
    summary_key = features.fold(" ".join(summary.split()))[:60]
    if summary.strip() and summary_key not in features.fold(" ".join(text.split())):
        sources.append(summary)
    if text.strip():
        sources.append(text)
    out: list[str] = []
    seen: set[str] = set()
    size = 0
    for source in sources:
        for line in _joined_lines(strip_clutter(source)):
            if _is_heading(line):
                continue
            for sentence in features.sentences(line.lstrip("-\u2022* ")):
                key = features.fold(sentence).strip(" .")
                if (
                    key in seen
                    or key == title_key
                    or len(sentence.split()) < 5
                    or features.is_question(sentence)
                    or sentence.startswith(QUOTES)
                    or (_is_heading(sentence) and not sentence.endswith(_TERMINAL))
                ):
                    continue
                seen.add(key)
                out.append(sentence)
                size += len(sentence)
                if len(out) >= limit or size >= LEAD_CHARS:
                    return out
    return out


def fact_lead(summary: str, text: str = "", title: str = "") -> str:
    """`lead_sentences` as one string (one sentence a line): what the clusterer keeps."""
    return "\n".join(lead_sentences(summary, text, title))
