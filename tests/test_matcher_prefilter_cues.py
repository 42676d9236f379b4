"""The prefilter's loose quantity cues never miss a quantity cue.

The prefilter searches for loose forms of the quantity cues (`LOOSE_CUES`) on the folded text in
its one RE2 pass, and searches for a cue itself (`QUANTITY_CUES`, on the raw text) only when the
loose form occurred. So every text in which a cue occurs must hold its loose form once folded:
checked character by character over every code point (what folding does to the digits, white
space, signs and letters a cue can match), on texts built to hit the corners, and on the shared
data. A loose cue that missed would drop a rule that can match; the prefilter tests compare the
results themselves.
"""

from __future__ import annotations

import json
import random
import re
import sys
from pathlib import Path

import pytest
import re2

from bot.matcher import load_rules, parse_rules
from bot.matcher.document import Document, raw_fields
from bot.matcher.prefilter import LOOSE_CUES
from bot.model.match import MatchItem
from bot.text.quantities import QUANTITY_CUES, may_contain
from bot.text.tokens import fold

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
ALL_CHARS = "".join(chr(code) for code in range(sys.maxunicode + 1) if not 0xD800 <= code < 0xE000)


def _re2(pattern: str) -> re2._Regexp:
    options = re2.Options()
    options.never_capture = True
    return re2.compile(pattern, options)


def _loose(kind: str) -> list[re2._Regexp]:
    return [_re2(pattern) for pattern in LOOSE_CUES[kind]]


def test_folding_keeps_what_the_loose_cues_look_for_character_by_character() -> None:
    digit = _re2(r"\p{Nd}")
    not_word = _re2(r"[^\p{L}\p{N}]")
    for char in re.findall(r"\d", ALL_CHARS):
        assert digit.fullmatch(fold(char)), hex(ord(char))
    for char in [*re.findall(r"\s", ALL_CHARS), "-"]:
        folded = fold(char)
        assert len(folded) == 1 and not_word.fullmatch(folded), hex(ord(char))
    for sign in "$€£¥₹":
        assert fold(sign) == sign
    for letter in "abcdefghijklmnopqrstuvwxyz":
        expected = _re2("[i\u0131]" if letter == "i" else letter)
        for char in re.findall(letter, ALL_CHARS, re.IGNORECASE):
            assert expected.fullmatch(fold(char)), (letter, hex(ord(char)))


_PIECES = [
    "$",
    "€",
    "£",
    "¥",
    "₹",
    "US$",
    "USD",
    "usd",
    "Eur",
    "INR",
    "ınr",
    "SEK",
    " ",
    "\xa0",
    "\u2003",
    "\u3000",
    "\n",
    "\t",
    "-",
    "–",
    "5",
    "12",
    "１２",
    "٣",
    "²",
    ".",
    ",",
    "billion",
    " dollars",
    " Dollar",
    " DOLLARS",
    " euros",
    " pounds",
    " sterlıng",
    " renminbi",
    " RENMİNBİ",
    " rupees",
    " yen",
    " yuan",
    "MW",
    "mw",
    "megawatts",
    "GW",
    "gıgawatt",
    "KW",
    "\u212aW",
    "kılowatt",
    " GPUs",
    " gpu",
    " TPU",
    " chips",
    " chıp",
    " ſuperchips",
    " accelerators",
    " processor",
    " graphics processing units",
    " H100",
    " b200s",
    " GB300",
    " MI300X",
    " mı355",
    " Gaudi 3",
    " Trainium2",
    "\u0301",
    "™",
    "x",
    "é",
    "’",
    "'",
]


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choice(_PIECES) for _ in range(rng.randrange(1, 10)))


def _shared_texts() -> list[str]:
    texts = []
    for path in [
        SHARED / "data" / "relevance" / "dev.jsonl",
        SHARED / "data" / "stories" / "uci_dev.jsonl",
        SHARED / "data" / "stories" / "ecbplus_dev.jsonl",
    ]:
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                texts.append(f"{row.get('title') or ''}\n{row.get('summary') or ''}")
    return texts


@pytest.mark.parametrize("kind", ["money", "power", "chips"])
def test_a_text_with_a_cue_has_its_loose_form_once_folded(kind: str) -> None:
    rng = random.Random(kind)
    loose = _loose(kind)
    texts = [_random_text(rng) for _ in range(40000)] + _shared_texts()
    cued = 0
    for text in texts:
        if may_contain(kind, text):  # type: ignore[arg-type]
            cued += 1
            folded = fold(text)
            assert any(pattern.search(folded) for pattern in loose), repr(text)
    assert cued > 2000
    # And the loose forms are not always there: they spare most texts the cue search.
    plain = [text for text in texts if not may_contain(kind, text)]  # type: ignore[arg-type]
    spared = sum(not any(pattern.search(fold(text)) for pattern in loose) for text in plain)
    assert spared > len(plain) // 4


def test_each_cue_pattern_has_a_loose_form() -> None:
    assert set(LOOSE_CUES) == set(QUANTITY_CUES)


def test_rules_with_quantities_are_chosen_as_the_exact_cues_say() -> None:
    rules = parse_rules(
        "[[rule]]\nname = 'a'\nquery = 'deal power>=100MW'\n"
        "[[rule]]\nname = 'b'\nquery = 'deal (amount>=1B OR chips>=10k)'\n",
        "two.toml",
    )
    prefilter = rules._prefilter
    cases = {
        "A deal for 300 MW": [0],
        "A deal for 300\u00a0megawatts": [0],
        "A deal for ３００ MW": [0],
        "A deal for ３００ＭＷ": [],  # the cue: a full-width "ＭＷ" is no unit
        "A deal: $2 billion": [1],
        "A deal: USD 2bn": [1],
        "A deal worth 2 billion dollars": [1],
        "A deal for 20,000 GPUs": [1],
        "A deal for 20,000\u2003H100s": [1],
        "A deal in Europe for 300": [],
        "A deal": [],
    }
    for title, expected in cases.items():
        scan = prefilter.scan(MatchItem(title=title))
        assert scan is not None and scan.rules == expected, title
        assert rules.match(MatchItem(title=title)) == rules.match_document(
            Document(MatchItem(title=title))
        )


def test_default_rules_choose_the_same_rules_as_with_the_exact_cues_alone() -> None:
    """The loose cues only spare searches: the rules chosen are those the exact cues choose."""
    rules = load_rules(ROOT / "config" / "rules" / "compute-deals.toml")
    prefilter = rules._prefilter
    rng = random.Random(7)
    texts = _shared_texts()
    checked = 0
    for _ in range(3000):
        title = rng.choice(texts) if texts else _random_text(rng)
        summary = " ".join(_random_text(rng) for _ in range(3)) + " data center lease deal"
        item = MatchItem(title=title, summary=summary)
        scan = prefilter.scan(item)
        assert scan is not None
        raw = "\n".join(raw_fields(item, for_prefilter=True))
        ids = set(scan.found)
        exact = []
        for index, conditions in enumerate(prefilter._conditions):
            if any(
                all(
                    not words.isdisjoint(ids) or any(may_contain(kind, raw) for kind in kinds)  # type: ignore[arg-type]
                    for words, kinds in clauses
                )
                for clauses in conditions.alternatives
            ):
                exact.append(index)
        assert scan.rules == exact, item
        checked += bool(exact)
    assert checked > 100


def test_the_framed_search_finds_the_atoms_that_anchors_would() -> None:
    """Word atoms are searched for in the text framed by line breaks, with no "^" or "$" in the
    patterns (which made RE2 build automaton states for every new text); the atoms found are
    those that patterns accepting the start and end of the text would find."""
    from bot.matcher.prefilter import atom_pattern

    rules = load_rules(ROOT / "config" / "rules" / "compute-deals.toml")
    prefilter = rules._prefilter
    atoms = [atom for atom in prefilter._atoms[1:] if atom[0]]
    options = re2.Options()
    options.never_capture = True
    anchored = re2.Set.SearchSet(options)
    for atom in atoms:
        pattern = atom_pattern(*atom)
        assert "^" not in pattern.replace("[^", "") and "$" not in pattern
        start, rest = "[^a-z0-9]", pattern.removeprefix("[^a-z0-9]")
        assert pattern.startswith(start)
        if rest.endswith(start):
            rest = rest.removesuffix(start) + "(?:[^a-z0-9]|$)"
        anchored.Add("(?:^|[^a-z0-9])" + rest)
    anchored.Compile()
    rng = random.Random(3)
    texts = _shared_texts()[:2000] + [_random_text(rng) for _ in range(2000)]
    texts += ["gpu", "gpus lease", "data center", "deal", "x deal", "deal x", "leasing"]
    hits = 0
    for text in texts:
        scan = prefilter.scan(MatchItem(title=text))
        assert scan is not None
        words = {atom_id for atom_id in scan.found if atom_id and prefilter._atoms[atom_id][0]}
        folded = fold("\n".join(raw_fields(MatchItem(title=text), for_prefilter=True)))
        expected = {index + 1 for index in anchored.Match(folded.encode()) or []}
        assert words == expected, text
        hits += bool(words)
    assert hits > 1000
