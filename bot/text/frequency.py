"""How common an English word is, for the stemmer: wordfreq's figures in a memory-mapped table.

The stemmer (bot.text.tokens) picks, where a cut suffix leaves several candidates ("updat" or
"update", "plann" or "plan"), the word English uses most, so it needs the frequency of any word.
wordfreq has them, but loading its English list costs 47 MB resident and about 75 ms in every
process that stems, and every parser process stems the entries it matches (issue 19 measured it;
issue 21 bounds a cycle's memory at 300 MiB). This module keeps the same figures, wordfreq's
"large" English list as Zipf values to two decimals (what `wordfreq.zipf_frequency` returns), in
a marisa-trie file of 1.3 MB that is memory-mapped on first use: the pages are shared by every
process and read only where looked up.

The table is built from the installed wordfreq by `python -m bot.text.frequency`;
tests/test_text_frequency.py fails when it no longer matches wordfreq, so an upgrade of wordfreq
that moves a figure is noticed. The clusterer's other uses of wordfreq (a word's rarity as a
weight, whether a capitalised word is a name) stay on wordfreq: they run in one process only.
"""

from __future__ import annotations

import functools
import math
import sys
from pathlib import Path

import marisa_trie

TABLE_PATH = Path(__file__).with_name("english_zipf.marisa")
LANGUAGE = "en"
WORDLIST = "large"
# One record per word: its Zipf value (log10 of its frequency per billion words) times 100.
_RECORD_FORMAT = "<H"
_SCALE = 100


@functools.cache
def _table() -> marisa_trie.RecordTrie:
    table = marisa_trie.RecordTrie(_RECORD_FORMAT)
    table.mmap(str(TABLE_PATH))
    return table


@functools.lru_cache(maxsize=65_536)
def zipf(word: str) -> float:
    """The Zipf frequency of a folded word in English at large (7 for "the", about 3 for a word
    met once in a million, 0 for a word wordfreq does not list). A word of letters gets what
    `wordfreq.zipf_frequency` gives; one with digits is looked up as written (wordfreq would
    read "2024" as any four digits), which the stemmer, weighing words of letters, never needs."""
    records = _table().get(word)
    if not records:
        return 0.0
    return float(records[0][0]) / _SCALE


def zipf_of_frequency(frequency: float) -> float:
    """wordfreq's Zipf value of a frequency (a share of all words), to two decimals."""
    return round(math.log10(frequency) + 9, 2)


def build_table(path: Path = TABLE_PATH) -> int:
    """Write the table from the installed wordfreq; the number of words written."""
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
