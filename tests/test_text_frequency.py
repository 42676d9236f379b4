"""English word frequencies: the shipped table says what wordfreq says, and neither matching nor
clustering loads wordfreq itself (47 MB in each parser process, 50 MB and 0.15 s in the poller)."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from conftest import DATA, loaded_modules
from wordfreq import get_frequency_dict, zipf_frequency

from bot.text import frequency
from bot.text.tokens import stem, tokenize

_PLAIN_CHUNK = re.compile(r"[A-Za-z0-9][A-Za-z0-9.,-]*")


def test_the_shipped_table_holds_every_word_of_wordfreq_with_its_zipf_value() -> None:
    listed = get_frequency_dict(frequency.LANGUAGE, frequency.WORDLIST)
    table = frequency._table()
    assert len(table) == len(listed)
    wrong = [
        word
        for word, share in listed.items()
        if table[word][0][0] / 100 != frequency.zipf_of_frequency(share)
    ]
    assert wrong == [], f"rebuild with `python -m bot.text.frequency`: {wrong[:10]}"


def test_the_table_answers_as_wordfreq_for_every_word_of_real_news_and_any_number() -> None:
    words: set[str] = set()
    for name in ("deals_dev.jsonl", "uci_dev.jsonl", "ecbplus_dev.jsonl"):
        path = DATA / "stories" / name
        if not path.exists():
            pytest.skip(f"{path} is not here")
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            for field in ("title", "summary", "text"):
                written = item.get(field) or ""
                words.update(tokenize(written))
                # as the clusterer also asks: capitalised, hyphenated, dotted ("Stock-Index")
                chunks = (chunk.strip('.,;:!?"()[]') for chunk in written.split())
                words.update(chunk for chunk in chunks if _PLAIN_CHUNK.fullmatch(chunk))
    assert len(words) > 10_000
    draw = random.Random(19)
    for _ in range(5_000):  # years, figures, units and ordinals (wordfreq's number model)
        number = str(draw.randrange(10 ** draw.randrange(1, 9)))
        words.add(number + draw.choice(["", "mw", "gw", "th", "s", "x100"]))
    differ = {word for word in words if frequency.zipf(word) != zipf_frequency(word, "en")}
    assert differ == set()


def test_a_word_wordfreq_does_not_list_has_zipf_zero_and_common_words_rank_above_rare() -> None:
    assert frequency.zipf("qqxzzv") == 0.0
    assert frequency.zipf("the") > frequency.zipf("update") > frequency.zipf("updat")
    assert stem("updated") == "update"
    assert stem("planned") == "plan"


def test_a_table_built_again_is_the_shipped_one(tmp_path: Path) -> None:
    rebuilt = tmp_path / "english_zipf.marisa"
    count = frequency.build_table(rebuilt)
    assert count == len(frequency._table())
    assert rebuilt.read_bytes() == frequency.TABLE_PATH.read_bytes()


def test_matching_stemming_and_weighing_words_never_load_wordfreq() -> None:
    modules = loaded_modules(
        "from bot.clustering.facts.vocabulary import is_rare\n"
        "from bot.clustering.features import background_idf\n"
        "from bot.config.settings import DEFAULT_RULES\n"
        "from bot.matcher.rules import load_rules\n"
        "from bot.model.match import MatchItem\n"
        "from bot.text.tokens import stems\n"
        "title = 'xAI leases Colossus 1 capacity to Anthropic in a 300 MW deal'\n"
        "assert load_rules(DEFAULT_RULES).match(MatchItem(title=title)).hits\n"
        "words = stems('Leasing updated planned companies')\n"
        "assert words == ['lease', 'update', 'plan', 'company'], words\n"
        "assert background_idf('colossus') > background_idf('capacity')\n"
        "assert is_rare('kestrel') and not is_rare('capacity')\n"
    )
    assert "bot.text.frequency" in modules
    assert not any(name.split(".")[0] == "wordfreq" for name in modules)
