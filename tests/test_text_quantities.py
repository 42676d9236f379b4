"""Quantities (money, power, chip counts) found in news text."""

from __future__ import annotations

import pytest

from bot.text.quantities import Quantity, extract_quantities


def _one(text: str) -> Quantity:
    found = extract_quantities(text)
    assert len(found) == 1, found
    return found[0]


@pytest.mark.parametrize(
    ("text", "value", "currency"),
    [
        ("a deal worth $17.4 billion over five years", 17.4e9, "USD"),
        ("receives a $350 million stake", 350e6, "USD"),
        ("a US$2bn loan", 2e9, "USD"),
        ("€1.2 billion investment", 1.2e9, "EUR"),
        ("£500m facility", 500e6, "GBP"),
        ("raises $4M in pre-seed funding", 4e6, "USD"),
        ("worth 17.4 billion dollars", 17.4e9, "USD"),
        ("a 5 million euros grant", 5e6, "EUR"),
        ("$10-15 billion of capex", 10e9, "USD"),
        ("USD 750 million", 750e6, "USD"),
    ],
)
def test_money(text: str, value: float, currency: str) -> None:
    quantity = _one(text)
    assert quantity.kind == "money"
    assert quantity.value == pytest.approx(value)
    assert quantity.currency == currency
    assert text[quantity.start : quantity.end] == quantity.text


@pytest.mark.parametrize(
    ("text", "megawatts"),
    [
        ("300MW of capacity", 300),
        ("300 megawatts of capacity", 300),
        ("about 1.3 gigawatts of power", 1300),
        ("a 1 GW tranche", 1000),
        ("6 gigawatts of Instinct GPUs", 6000),
        ("a 300-megawatt campus", 300),
        ("a 500 kW pilot", 0.5),
    ],
)
def test_power_in_megawatts(text: str, megawatts: float) -> None:
    quantity = _one(text)
    assert (quantity.kind, quantity.value) == ("power", pytest.approx(megawatts))


@pytest.mark.parametrize(
    ("text", "count", "approximate"),
    [
        ("200,000 GPUs", 200_000, False),
        ("100k H100s", 100_000, False),
        ("100,000 Nvidia H100 chips", 100_000, False),
        ("up to 1 million Google TPUs", 1_000_000, False),
        ("hundreds of thousands of Nvidia GPUs", 100_000, True),
        ("tens of thousands of accelerators", 10_000, True),
        ("an AWS cluster of more than 4,000-GPU scale", 4_000, False),
        ("a 100k-GPU cluster", 100_000, False),
        ("18,000 Grace Blackwell chips", 18_000, False),
        ("10,000 Vera Rubin Ultra GPUs", 10_000, False),
        ("50,000 Huawei Ascend 910C chips", 50_000, False),
        ("19,000 LPUs", 19_000, False),
    ],
)
def test_chip_counts(text: str, count: float, approximate: bool) -> None:
    quantity = _one(text)
    assert quantity.kind == "chips"
    assert quantity.value == pytest.approx(count)
    assert quantity.approximate is approximate


def test_vague_money_is_a_marked_lower_bound_and_adjectives_are_skipped() -> None:
    found = extract_quantities("a multibillion-dollar deal likely worth billions of dollars")
    assert [(q.kind, q.value, q.approximate) for q in found] == [("money", 1e9, True)]


def test_not_quantities() -> None:
    assert extract_quantities("In 2025 chips were scarce") == []
    assert extract_quantities("the 2026-GPU roadmap") == []
    assert extract_quantities("a 500 MWh battery and Colossus 1") == []
    assert extract_quantities("up 5.2% after 3 nm chips") == []


def test_power_wins_over_chip_reading_and_order_is_by_position() -> None:
    found = extract_quantities("AMD to supply 6 gigawatts of GPUs; first 1 GW for $10 billion")
    assert [(q.kind, q.value) for q in found] == [
        ("power", 6000),
        ("power", 1000),
        ("money", 10e9),
    ]


def _texts() -> list[str]:
    """Real headlines and reports (when the shared data is here) and generated quantity phrasings
    in odd surroundings (line breaks, hyphens, Unicode spaces and case, currencies)."""
    import json
    import random
    from pathlib import Path

    shared = Path(__file__).resolve().parents[2] / "shared"
    texts: list[str] = []
    for name in ("data/stories/uci_dev.jsonl", "data/relevance/dev.jsonl"):
        path = shared / name
        if path.is_file():
            for line in path.read_text(encoding="utf-8").splitlines():
                row = json.loads(line)
                texts.append(f"{row['title']}\n{row.get('summary') or ''}")
    texts += [seed.read_text(encoding="utf-8") for seed in (shared / "seeds").glob("*.txt")]
    rng = random.Random(2)
    numbers = ["1", "17.4", "200,000", "1,000,000.5", "10", "2024", "3"]
    units = ["MW", "mw", "Mw", "megawatts", "GW", "gigawatt", "kW", "TW", "MWh", "watts"]
    money = ["$", "US$", "C$", "€", "£", "¥", "₹", "USD ", "usd", "EUR ", "RMB", "SEK "]
    mults = ["", " billion", "bn", "m", " million", "k", "K", " thousand", "T", " trillion"]
    words = ["dollars", "US dollars", "euros", "pounds sterling", "yen", "rupees", "GPUs"]
    nouns = ["GPUs", "Nvidia H100 chips", "H100s", "TPUs", "accelerators", "gb200s", "MI300X"]
    gaps = [" ", "\n", "-", "–", " to ", "\u00a0", "\u2009", "", "  "]
    vague = ["billions of dollars", "hundreds of millions of U.S. dollars", "tens of thousands of"]
    for _ in range(3000):
        parts = [rng.choice(["up to ", "about ", "", "x", "a ", "(", "."])]
        kind = rng.randrange(4)
        if kind == 0:
            parts += [rng.choice(money), rng.choice(numbers), rng.choice(mults)]
        elif kind == 1:
            parts += [rng.choice(numbers), rng.choice(mults), rng.choice(gaps), rng.choice(words)]
        elif kind == 2:
            parts += [rng.choice(numbers), rng.choice(gaps), rng.choice(numbers)]
            parts += [rng.choice(gaps), rng.choice(units)]
        else:
            parts += [rng.choice(numbers + vague), rng.choice(gaps), rng.choice(nouns)]
        parts.append(rng.choice([".", "", " of power", "s", "\n", " deal"]))
        texts.append("".join(parts))
    return texts


def test_cues_are_implied_by_every_quantity_pattern() -> None:
    """extract_quantities skips a kind's patterns where its cue is absent, and the matcher rules
    out quantity comparisons the same way: no quantity may ever be found without its cue."""
    from bot.text import quantities

    sign, code, word = quantities.QUANTITY_CUES["money"]
    (power,) = quantities.QUANTITY_CUES["power"]
    (chips,) = quantities.QUANTITY_CUES["chips"]
    cues = [
        (quantities._MONEY_PREFIXED, "money", (sign, code)),
        (quantities._MONEY_SUFFIXED, "money", (word,)),
        (quantities._MONEY_VAGUE, "money", (word,)),
        (quantities._POWER, "power", (power,)),
        (quantities._CHIPS, "chips", (chips,)),
        (quantities._CHIPS_VAGUE, "chips", (chips,)),
    ]
    found = 0
    for text in _texts():
        for pattern, kind, pattern_cues in cues:
            for match in pattern.finditer(text):
                found += 1
                assert any(cue.search(match.group(0)) for cue in pattern_cues), (kind, text)
                assert quantities.may_contain(kind, text)  # type: ignore[arg-type]
    assert found > 1000
