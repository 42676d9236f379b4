"""How common an English word is: wordfreq's figures, read from a memory-mapped table.

The stemmer (bot.text.tokens) picks, where a cut suffix leaves several candidates ("updat" or
"update", "plann" or "plan"), the word English uses most; the clusterer weighs a word by its
rarity and takes a rare capitalised word for a name. All three need the frequency of any word.
wordfreq has them, but importing it and loading its English list costs about 50 MB resident and
0.15 s in every process that asks, and every parser process stems the entries it matches (issue
19 measured it; issue 21 bounds a cycle's memory at 300 MiB). This module keeps the same figures,
wordfreq's "large" English list as Zipf values to two decimals, in a marisa-trie file of 1.3 MB
that is memory-mapped on first use: its pages are shared by every process and read only where
looked up. No process of newsbot loads wordfreq.

Words with digits follow wordfreq's number model (a run of digits is looked up as zeroes, "2013"
as "0000", times the share of that particular number: Benford's law, and a curve over years), and
text of several words combines as wordfreq combines it. Those few lines are written here rather
than imported because importing any part of wordfreq loads its tokeniser stack (76 ms, 14 MB).

`python -m bot.text.frequency` builds the table from the installed wordfreq, which stays a
dependency for that. tests/test_text_frequency.py fails when the table or these answers no longer
match wordfreq's, so an upgrade of wordfreq that moves a figure is noticed.
"""

from __future__ import annotations

import functools
import math
import re
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import marisa_trie

TABLE_PATH = Path(__file__).with_name("english_zipf.marisa")
LANGUAGE = "en"
WORDLIST = "large"
# One record per word: its Zipf value (log10 of its frequency per billion words) times 100.
_RECORD_FORMAT = "<H"
_SCALE = 100
_ZIPF_ZERO_SHARE = 1e-9  # once in a billion words: Zipf 0, the least wordfreq answers

# wordfreq.numbers: runs of two or more digits (with their separators) are smashed to zeroes.
# Unicode word boundaries as wordfreq draws them: a full stop or an apostrophe between letters, or
# a full stop, comma or apostrophe between digits, does not end a word ("u.s", "don't", "3.5",
# "1,000"); one between a letter and a digit does ("dec.14").
_WORDS = re.compile(r"[^\W_]+(?:(?:(?<=[^\W\d_])[.'](?=[^\W\d_])|(?<=\d)[.,'](?=\d))[^\W_]+)*")
_MULTI_DIGIT = re.compile(r"\d[\d.,]+")
_DIGITS = re.compile(r"\d+")
_DIGIT = re.compile(r"\d")
# Leading-digit shares (Benford's law, plus leading zeroes), and the year curve: a plateau over
# the 20 years from 2019, falling off on either side.
_DIGIT_SHARES = (0.009, 0.300, 0.175, 0.124, 0.096, 0.078, 0.066, 0.057, 0.050, 0.045)
_YEAR_LOG_PEAK = -1.9185
_NOT_YEAR_SHARE = 0.1
_REFERENCE_YEAR = 2019
_PLATEAU_YEARS = 20


@functools.cache
def _table() -> marisa_trie.RecordTrie:
    import marisa_trie  # on first look-up: a poll that stems nothing does not load it

    table = marisa_trie.RecordTrie(_RECORD_FORMAT)
    table.mmap(str(TABLE_PATH))
    return table


@functools.lru_cache(maxsize=65_536)
def zipf(text: str) -> float:
    """The Zipf frequency of a word in English at large, as `wordfreq.zipf_frequency` gives it:
    7 for "the", about 3 for a word met once in a million, 0 for one wordfreq does not list.

    Text of several words ("Stock-Index") is read as wordfreq reads it: case-folded, split at
    word boundaries, and rarer than its rarest word (the reciprocal frequencies add up). The
    corners of Unicode word segmentation (symbols such as "®", colons inside words, elisions
    such as "O'Higgins") are not followed: the clusterer asks none of them on the story sets."""
    if text.isascii() and text.isalpha() and text.islower():
        words = [text]
    else:
        words = [word.strip("'") for word in _WORDS.findall(text.casefold())]
        words = [word for word in words if word]
    if not words:
        return 0.0
    if len(words) == 1 and words[0].isalpha():
        records = _table().get(words[0])
        return float(records[0][0]) / _SCALE if records else 0.0
    reciprocal = 0.0
    for word in words:
        smashed = word if word.isalpha() else _MULTI_DIGIT.sub(_zeroes, word)
        records = _table().get(smashed)
        if not records:
            return 0.0
        share = math.pow(10.0, (float(records[0][0]) - 9 * _SCALE) / _SCALE)
        if smashed != word:
            share *= _number_share(word)
        reciprocal += 1.0 / share
    share = 1.0 / reciprocal
    if share <= _ZIPF_ZERO_SHARE:
        return 0.0
    # wordfreq keeps three significant digits of a frequency before taking its Zipf value.
    share = round(share, math.floor(-math.log(share, 10)) + 3)
    return round(math.log(share, 10) + 9, 2)


def _zeroes(run: re.Match[str]) -> str:
    return _DIGIT.sub("0", run.group(0))


def _number_share(word: str) -> float:
    """The share of its digit pattern that each run of digits in `word` takes."""
    share = 1.0
    for run in _MULTI_DIGIT.findall(word):
        for digits in _DIGITS.findall(run):
            share *= _year_share(digits) if len(digits) == 4 else _benford_share(digits)
    return share


def _benford_share(digits: str) -> float:
    return _DIGIT_SHARES[int(digits[0])] / float(10 ** (len(digits) - 1))


def _year_share(digits: str) -> float:
    year = int(digits)
    if year <= _REFERENCE_YEAR:
        log_share = _YEAR_LOG_PEAK - 0.0083 * (_REFERENCE_YEAR - year)
    elif year <= _REFERENCE_YEAR + _PLATEAU_YEARS:
        log_share = _YEAR_LOG_PEAK
    else:
        log_share = _YEAR_LOG_PEAK - 0.2 * (year - (_REFERENCE_YEAR + _PLATEAU_YEARS))
    return math.pow(10.0, log_share) + _NOT_YEAR_SHARE * _benford_share(digits)


def zipf_of_frequency(frequency: float) -> float:
    """wordfreq's Zipf value of a frequency (a share of all words), to two decimals."""
    return round(math.log10(frequency) + 9, 2)


def build_table(path: Path = TABLE_PATH) -> int:
    """Write the table from the installed wordfreq; the number of words written."""
    import marisa_trie
    from wordfreq import get_frequency_dict  # only the builder needs wordfreq

    frequencies = get_frequency_dict(LANGUAGE, WORDLIST)
    records = [
        (word, (round(zipf_of_frequency(frequency) * _SCALE),))
        for word, frequency in frequencies.items()
    ]
    marisa_trie.RecordTrie(_RECORD_FORMAT, records).save(str(path))
    return len(records)


if __name__ == "__main__":
    count = build_table(Path(sys.argv[1]) if len(sys.argv) > 1 else TABLE_PATH)
    print(f"wrote {count} words")
