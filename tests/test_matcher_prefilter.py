"""The rule prefilter never changes a result.

`RuleSet.match` evaluates only the rules the prefilter leaves, and prunes inside them with the atoms
it found (`Node.possible`); `RuleSet.match_document` evaluates every rule on the analysed item with
no pruning. The two must give the same score, relevance and explanation for every item: checked
with the default rules on the shared data (dev set, all UCI headlines, the seeds, long feed-like
items) and with random rule sets on random items built to hit the corners (inflections, irregular
verbs, possessives, underscores, accents and non-Latin letters, quantities, long paragraphs that
are cut into a lead).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from bot.matcher import RuleSet, load_rules, parse_rules
from bot.matcher.document import Document
from bot.matcher.syntax import QuerySyntaxError, parse_query
from bot.model.match import MatchItem

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEFAULT_RULES = ROOT / "config" / "rules" / "compute-deals.toml"

needs_shared = pytest.mark.skipif(
    not (SHARED / "data").is_dir(), reason="../shared/data (evaluation data) is not present"
)


def _differences(rules: RuleSet, items: list[MatchItem]) -> list[str]:
    wrong = []
    for item in items:
        filtered = rules.match(item)
        full = rules.match_document(Document(item))
        if filtered != full:
            wrong.append(f"{item!r}\n  prefiltered: {filtered}\n  every rule:  {full}")
    return wrong


def _rows(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@needs_shared
def test_default_rules_give_the_same_results_on_the_shared_data() -> None:
    rules = load_rules(DEFAULT_RULES)
    rows = _rows(SHARED / "data" / "relevance" / "dev.jsonl")
    rows += _rows(SHARED / "data" / "stories" / "uci_dev.jsonl")
    items = [
        MatchItem(
            title=row["title"],
            summary=row.get("summary") or "",
            source=row.get("source"),
            url=row.get("url"),
        )
        for row in rows
    ]
    # Long feed-like items: a headline, and a description of several headlines as summary and
    # text (as the reader stores an HTML description), some with a deal sentence in front.
    titles = [row["title"] for row in rows]
    deals = [row["title"] + ". " + (row.get("summary") or "") for row in rows[:15]]
    rng = random.Random(3)
    for _ in range(400):
        lead = rng.choice(deals) if rng.random() < 0.3 else rng.choice(titles)
        text = f"{lead}\n{'. '.join(rng.sample(titles, 3))}, according to people familiar."
        items.append(
            MatchItem(
                title=rng.choice(titles),
                summary=text.replace("\n", " "),
                text=text,
                source="Outlet",
                url="https://outlet.example/news/1",
                author="Staff 1",
                categories=["Business", "AI"],
            )
        )
    for seed in sorted((SHARED / "seeds").glob("*.txt")):
        lines = [line for line in seed.read_text(encoding="utf-8").splitlines() if line.strip()]
        items.append(MatchItem(title=lines[0], text="\n".join(lines[1:])))
        items += [MatchItem(title=line) for line in lines]
    relevant = sum(rules.match(item).relevant for item in items)
    assert relevant > 20  # the data exercises matching rules, not only rejections
    assert _differences(rules, items) == []


# Words of items and queries: inflections, irregular forms, possessives, plurals of model
# numbers, words that share prefixes, accents and non-Latin letters.
WORDS = (  # noqa: SIM905
    "lease leases leased leasing leaser leasehold agree agreed agreeing agreement agreements "
    "company companies accompanied study studied studies buy buys bought buying sell sold sells "
    "strike struck win won gpu gpus GPU's gpu_cluster h100 h100s H100S gb200 tpu tpus chip chips "
    "chipset chipsets data center centers centre datacenter datacentres data-center data's "
    "xAI xAI’s Société société Straße strasse naïve coöperate ſtart Kelvin K 東京 データ "
    "østergaard ai aid aim air ais ai's campus campuses cluster clusters stop stopped stopping "
    "hop hopped hopping free freed freeing age ageing aged use uses used news series power "
    "powers powered capacity capacities deal deals dealt sign signs signed inks inked invest "
    "investing investment colossus anthropic nvidia of the a to in and - ; , . ( )"
).split()
FIGURES = [
    "$17.4 billion",
    "US$2bn",
    "€1.2 billion",
    "£500m",
    "USD 750 million",
    "17.4 billion dollars",
    "billions of dollars",
    "300MW",
    "300 MW",
    "1.3 gigawatts",
    "300-megawatt",
    "1-2 GW",
    "500 kW",
    "200,000 GPUs",
    "100k H100s",
    "10 chipsets",
    "hundreds of thousands of GPUs",
    "2024",
    "3.5",
]
QUERY_WORDS = [
    "lease",
    "leasing",
    "agree",
    "agreement",
    "company",
    "study",
    "buy",
    "sell",
    "strike",
    "win",
    "gpu",
    "h100",
    "chip",
    "center",
    "centre",
    "datacenter",
    "xai",
    "societe",
    "strasse",
    "ai",
    "campus",
    "cluster",
    "stop",
    "hop",
    "free",
    "age",
    "use",
    "news",
    "power",
    "capacity",
    "deal",
    "sign",
    "ink",
    "invest",
    "colossus",
    "東京",
    "østergaard",
    "start",
]
PREFIXES = ["leas*", "agree*", "gpu*", "h1*", "data*", "cent*", "chip*", "camp*", "inv*", "ø*"]
FIELDS = ["title:", "summary:", "text:", "source:", "url:", "author:", "category:"]
QUANTITIES = ["power>=100MW", "power<1GW", "amount>=1B", "amount>=500M", "chips>=10k", "chips<5"]
REGEXES = ["/gb[23]00/", "/data.?cent/", r"/\d+ ?mw/", r"/\bdeal\b/", r"/\bcapacit/"]


def _term(rng: random.Random, depth: int) -> str:
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(QUERY_WORDS)
    if roll < 0.4:
        return rng.choice(PREFIXES)
    if roll < 0.55:
        words = rng.sample([*QUERY_WORDS, "of", "the", "data"], rng.randint(2, 3))
        if rng.random() < 0.3:
            words[-1] = rng.choice(PREFIXES)
        if rng.random() < 0.2:
            words[0] = rng.choice(PREFIXES)
        return '"' + " ".join(words) + '"'
    if roll < 0.62:
        return rng.choice(FIELDS) + _term(rng, depth + 1) if depth < 2 else "deal"
    if roll < 0.7:
        operands = [rng.choice(QUERY_WORDS + PREFIXES) for _ in range(2)]
        if rng.random() < 0.4:
            operands[1] = "(" + " OR ".join(rng.sample(QUERY_WORDS, 3)) + ")"
        if rng.random() < 0.3:
            operands[0] = rng.choice(QUANTITIES)  # a figure is a stretch of words too
        operator = rng.choice(["NEAR", "NEAR", "PRE"])
        return f"{operator}/{rng.randint(0, 4)}({' '.join(operands)})"
    if roll < 0.78:
        return rng.choice(QUANTITIES)
    if roll < 0.81:
        return rng.choice(REGEXES)
    if depth < 2:
        return "(" + _query(rng, depth + 1) + ")"
    return rng.choice(QUERY_WORDS)


def _query(rng: random.Random, depth: int = 0) -> str:
    parts = [_term(rng, depth)]
    for _ in range(rng.randint(0, 3)):
        joiner = rng.choice([" ", " AND ", " OR ", " OR ", " -", " NOT "])
        parts.append(joiner + _term(rng, depth))
    return "".join(parts)


def _random_rules(rng: random.Random, count: int, *, metadata: bool = True) -> RuleSet:
    """`metadata`: may name the metadata fields (without, the prefilter skips them)."""
    queries: list[str] = []
    while len(queries) < count:
        query = _query(rng)
        if not metadata and any(name in query for name in FIELDS[3:]):
            continue
        try:
            parse_query(query)
        except QuerySyntaxError:
            continue
        queries.append(query)
    text = "threshold = 1.0\n" + "\n".join(
        f"[[rule]]\nname = 'q{i}'\nquery = '''{q}'''\nweight = {rng.choice([0.5, 1.0, -0.5])}"
        for i, q in enumerate(queries)
    )
    return parse_rules(text, "random.toml")


def _text(rng: random.Random, words: int) -> str:
    parts = []
    for _ in range(words):
        parts.append(rng.choice(FIGURES) if rng.random() < 0.08 else rng.choice(WORDS))
        parts.append(rng.choice([" ", " ", " ", "\n", "-", "_", ", ", "’s ", "'s ", ""]))
    return "".join(parts)


def _random_item(rng: random.Random) -> MatchItem:
    text = ""
    if rng.random() < 0.5:
        # Some paragraphs longer than a lead may be, without a sentence end: the lead is cut.
        text = "\n".join(_text(rng, rng.randint(3, 150)) for _ in range(rng.randint(1, 3)))
    summary = _text(rng, rng.randint(0, 25))
    if text and rng.random() < 0.3:
        summary = text.replace("\n", " ")
    return MatchItem(
        title=_text(rng, rng.randint(1, 10)),
        summary=summary,
        text=text,
        source=rng.choice([None, "Reuters", "Data Center Dynamics"]),
        url=rng.choice([None, "https://example.com/gpu-lease_deal?id=1"]),
        author=rng.choice([None, "Ann Østergaard"]),
        categories=rng.sample(["AI", "Data centers", "Markets"], rng.randint(0, 2)),
    )


@pytest.mark.parametrize("seed", range(8))
def test_random_rules_give_the_same_results_on_random_items(seed: int) -> None:
    rng = random.Random(seed)
    rules = _random_rules(rng, 40, metadata=seed % 2 == 0)
    assert rules._prefilter.meta is (seed % 2 == 0)
    items = [_random_item(rng) for _ in range(150)]
    matched = sum(bool(rules.match(item).hits) for item in items)
    assert matched > 30  # the random items do match random rules
    assert _differences(rules, items) == []


def test_the_prefilter_skips_items_no_rule_can_match() -> None:
    rules = parse_rules(
        "[[rule]]\nname = 'a'\nquery = 'gpu* lease*'\n"
        "[[rule]]\nname = 'b'\nquery = '\"data center\" power>=100MW'\n",
        "two.toml",
    )
    scan = rules._prefilter.scan(MatchItem(title="Markets rally", summary="Stocks rose."))
    assert scan is not None and scan.rules == []
    scan = rules._prefilter.scan(MatchItem(title="GPU leasing", summary="a data center"))
    assert scan is not None and scan.rules == [0]  # no power figure: rule b cannot match
    scan = rules._prefilter.scan(MatchItem(title="A 300 MW data-center", summary=""))
    assert scan is not None and scan.rules == [1]
    assert rules.match(MatchItem(title="A 300 MW data-center")).rules == ["b"]


def test_a_rule_of_cases_is_looked_at_only_where_one_case_holds() -> None:
    """Three cases of three words: an item with two words of each case has none of them. The
    conditions of the whole OR (one word of each case, for as many combinations as are kept)
    would have let it through."""
    rules = parse_rules(
        "[[rule]]\nname = 'a'\nquery = '(gpu lease campus) OR (nuclear reactor offtake)"
        " OR (chip order supply) -earnings'\n",
        "cases.toml",
    )
    item = MatchItem(title="GPU lease", summary="nuclear reactor chip order")
    scan = rules._prefilter.scan(item)
    assert scan is not None and scan.rules == []
    assert not rules.match_document(Document(item)).hits
    item = MatchItem(title="GPU lease", summary="nuclear reactor offtake")
    scan = rules._prefilter.scan(item)
    assert scan is not None and scan.rules == [0]
    assert rules.match(item).rules == ["a"]


def test_metadata_fields_are_scanned_only_for_rules_that_name_them() -> None:
    item = MatchItem(
        title="Markets rally", source="GPU Lease Weekly", url="https://x.example/gpu-lease-deal"
    )
    plain = parse_rules("[[rule]]\nname = 'a'\nquery = 'gpu* lease*'\n", "plain.toml")
    scan = plain._prefilter.scan(item)
    assert scan is not None and scan.rules == [] and not plain._prefilter.meta
    scoped = parse_rules("[[rule]]\nname = 'a'\nquery = 'url:gpu* lease*'\n", "scoped.toml")
    scan = scoped._prefilter.scan(item)
    assert scan is not None and scan.rules == [0] and scoped._prefilter.meta
    assert scoped.match(MatchItem(title="Lease", url="https://x.example/gpu")).rules == ["a"]


def test_a_regular_expression_that_begins_with_a_word_needs_that_word() -> None:
    rules = parse_rules("[[rule]]\nname = 'a'\nquery = '/\\bearnings\\b/ gpu'\n", "re.toml")
    scan = rules._prefilter.scan(MatchItem(title="GPU learnings", summary="no results"))
    assert scan is not None and scan.rules == []
    assert rules.match(MatchItem(title="GPU earnings beat")).rules == ["a"]


def test_a_pickled_rule_set_matches_the_same() -> None:
    """Rule sets go to parser processes by pickle; the RE2 parts are rebuilt there."""
    import pickle

    rules = parse_rules(
        DEFAULT_RULES.read_text(encoding="utf-8")
        + "\n[[rule]]\nname = 'regex'\nquery = '/gb[23]00/ (deal OR power>=1GW)'\n",
        "default+regex.toml",
    )
    copy = pickle.loads(pickle.dumps(rules))
    rng = random.Random(9)
    items = [_random_item(rng) for _ in range(100)]
    items += [
        MatchItem(title="CoreWeave signs $5 billion GPU deal with OpenAI", summary="a 300 MW site"),
        MatchItem(title="GB200 deal", summary="2 GW"),
    ]
    assert [copy.match(item) for item in items] == [rules.match(item) for item in items]
    assert "regex" in copy.match(items[-1]).rules


def test_threads_matching_at_once_share_one_prefilter() -> None:
    """Threads may match at once (a poll's parse thread and its story builder): the rule set's
    prefilter (an RE2 set, some 50 ms to build) is built once, not once per thread."""
    import threading

    rules = load_rules(DEFAULT_RULES)
    threads = 6
    start = threading.Barrier(threads)
    seen: list[object] = []

    def first_match() -> None:
        start.wait()
        rules.match(MatchItem(title="CoreWeave signs GPU deal", summary="a 300 MW site"))
        seen.append(rules._prefilter)

    workers = [threading.Thread(target=first_match) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert len(seen) == threads
    assert len({id(prefilter) for prefilter in seen}) == 1


def test_a_summary_made_of_the_text_shares_its_words_and_quantities_exactly() -> None:
    from bot.matcher.document import AnalysedField, lead_paragraph

    rng = random.Random(11)
    checked = 0
    for _ in range(300):
        text = "\n".join(_text(rng, rng.randint(3, 60)) for _ in range(rng.randint(1, 4)))
        text += "\n$5\nbillion for 300\nMW and 20,000\nGPUs"  # figures across line breaks
        doc = Document(MatchItem(title="t", summary=text.replace("\n", " "), text=text))
        shared = doc.fields["summary"]
        if "lead" in doc.fields:
            # a description-only feed: its lead paragraph stands for the summary
            assert shared is doc.fields["lead"]
            assert shared.raw == lead_paragraph(text)
            continue
        alone = AnalysedField(text.replace("\n", " "))
        assert shared.with_line_breaks is doc.fields["text"]
        assert (shared.tokens, shared.stems, shared.folded) == (
            alone.tokens,
            alone.stems,
            alone.folded,
        )
        assert shared.quantities == alone.quantities
        checked += len(alone.quantities)
    assert checked > 200
