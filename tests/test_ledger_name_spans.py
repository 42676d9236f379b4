"""The ledger finds names in report text by hand (a regex compiled per name cost a cold cycle a
second): the same spans and the same words before them as the regexes they replace."""

from __future__ import annotations

import json
import re

import pytest
from conftest import DATA

from bot.ledger.derive.parties import _possessed_at, _word_before, name_spans

NAME = re.compile(r"[A-Z][\w-]*(?: [A-Z][\w-]*)?")


def _texts_and_names() -> tuple[list[str], list[str]]:
    path = DATA / "stories" / "deals_dev.jsonl"
    if not path.exists():
        pytest.skip(f"{path} is not here")
    texts = []
    for line in path.read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        texts.extend(item.get(field) or "" for field in ("title", "summary", "text"))
    names = sorted({name for text in texts for name in NAME.findall(text)})
    return texts, names


def test_name_spans_are_the_whole_name_regex_spans_on_real_reports() -> None:
    texts, names = _texts_and_names()
    assert len(names) > 500
    compared = 0
    for name in names:
        whole = re.compile(r"(?<![\w-])" + re.escape(name) + r"(?![\w-])")
        for text in texts:
            if name in text:
                assert list(name_spans(name, text)) == [m.span() for m in whole.finditer(text)]
                compared += 1
    assert compared > 1_000


def test_word_before_and_possession_are_the_regexes_on_real_reports() -> None:
    texts, names = _texts_and_names()
    owners = ["Microsoft", "Oklo", "Nvidia", "xAI", "OpenAI"]
    owner = "|".join(map(re.escape, owners))
    titled_seen = possessed_seen = 0
    for name in names:
        titled = re.compile(r"(?<![\w-])([A-Za-z]+)\.?\s+" + re.escape(name) + r"(?![\w-])")
        owned = re.compile(
            r"(?:\b(?:its|their)|(?:" + owner + r")(?:'s|’s))\s+" + re.escape(name) + r"(?![\w-])"
        )
        others = [o for o in owners if o != name]
        for text in texts:
            if name not in text:
                continue
            by_hand = [_word_before(text, start) for start, _ in name_spans(name, text)]
            assert [w for w in by_hand if w] == [m.group(1) for m in titled.finditer(text)]
            ends = [e for s, e in name_spans(name, text) if _possessed_at(text, s, others)]
            if name not in owners:  # the regex would let a name own itself
                assert ends == [m.end() for m in owned.finditer(text)]
            titled_seen += len([w for w in by_hand if w])
            possessed_seen += len(ends)
    assert titled_seen > 100 and possessed_seen > 3


def test_edges_of_a_text_and_of_a_word() -> None:
    assert list(name_spans("AI", "AI and xAI, AI-backed, AI.")) == [(0, 2), (23, 25)]
    assert _word_before("Dr. Su said", 4) == "Dr"
    assert _word_before("Su said", 0) is None
    assert _word_before("re-President Trump", 13) is None
    assert _possessed_at("its Aurora", 4, [])
    assert not _possessed_at("bits Aurora", 5, [])
    assert _possessed_at("Oklo’s Aurora", 7, ["Oklo"])
    assert not _possessed_at("s Aurora", 2, ["Oklo"])
