"""Benchmark of the relevance engine: 100,000 items against the default rules and 200 rules.

Items are built from real headlines (../shared: UCI news headlines, the relevance dev set, the
seed reports), each headline paired with a summary made of two other headlines, so the vocabulary
and length are those of real feed items. The 200-rule set is generated (fixed seed) from a
realistic vocabulary of companies, compute terms and deal terms, with phrases, wildcards, NEAR,
field scopes, exclusions and quantity comparisons.

The baseline, in the same run, is the naive engine: one case-insensitive, word-bounded
`re.search` per term per item (it does not even evaluate the boolean logic, so it is a lower
bound on a naive engine's cost). It runs on a slice of the items and its rate is compared with
the engine's rate on all of them.

Two baselines are timed: the naive engine as described (rule by rule, one search per term of each
rule), and a stricter one that searches each distinct term of the whole set only once.

A third case has long items, as the reader stores feed items whose description is HTML: a
headline, and a description of several paragraphs (a lead sentence and other headlines, the way
CMSs pad descriptions) as the article text and, on one line, as the summary; one item in twenty
reports a compute deal. They are matched against the default rules, and the naive engine searches
all of their text.

Prints progress, then one JSON object as the last line: items_per_s_default, items_per_s_200,
items_per_s_long (default rules on long items), naive rates, and speedup_vs_naive (200 rules
against the rule-by-rule naive engine), with speedup_vs_naive_default / _200 / _long /
_distinct_* for the other comparisons.

    .venv/bin/python bench/match.py [--items 100000] [--naive-items 5000] [--long-items 50000]
"""

from __future__ import annotations

import argparse
import html
import json
import random
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.matcher import RuleSet, load_rules, parse_rules  # noqa: E402
from bot.matcher.leaves import AnyOf, Near  # noqa: E402
from bot.matcher.nodes import Node, Phrase, Prefix, Word  # noqa: E402
from bot.model.match import MatchItem  # noqa: E402
from bot.reader.processor.text import to_plain_text  # noqa: E402

SHARED = ROOT.parent / "shared"

COMPANIES = [
    "Microsoft",
    "Amazon",
    "Google",
    "Meta",
    "Oracle",
    "OpenAI",
    "Anthropic",
    "xAI",
    "Nvidia",
    "AMD",
    "Intel",
    "Broadcom",
    "CoreWeave",
    "Nebius",
    "Crusoe",
    "Lambda",
    "Equinix",
    "Digital Realty",
    "IREN",
    "Cipher Mining",
    "Applied Digital",
    "TeraWulf",
    "Fluidstack",
    "SoftBank",
    "BlackRock",
    "Brookfield",
    "Blackstone",
    "KKR",
    "Apple",
    "Tesla",
    "Samsung",
    "TSMC",
    "Dell",
    "Supermicro",
    "Cisco",
    "IBM",
    "Alibaba",
    "Tencent",
    "Baidu",
    "G42",
]
COMPUTE = [
    "gpu*",
    '"data center*"',
    "datacenter*",
    '"ai infrastructure"',
    "accelerator*",
    "tpu*",
    "supercomputer*",
    '"compute capacity"',
    "colocation",
    "hyperscaler*",
    "neocloud*",
    '"ai chip*"',
    "h100*",
    "gb200*",
    "blackwell",
    "megawatt*",
    "gigawatt*",
    '"server rack*"',
    '"ai cloud"',
    '"cloud capacity"',
    "hpc",
    '"ai factory"',
    "trainium*",
    '"computing power"',
]
DEAL = [
    "deal",
    "agreement*",
    "contract*",
    "lease*",
    "buy*",
    "acquire*",
    "acquisition",
    "sell*",
    "sign*",
    "inks",
    "partnership",
    "supply",
    "invest*",
    "stake",
    "financing",
    "loan*",
    '"joint venture"',
    "purchase*",
    "rent*",
    "offtake",
    '"power purchase"',
    "merger",
]
TOPICS = [
    "earnings",
    "layoff*",
    "outage",
    "lawsuit",
    "antitrust",
    "launch*",
    "unveil*",
    "dividend",
    "shares",
    "stock",
    "quarterly",
    "recall",
    "strike",
    "hack*",
    "breach",
    "fine*",
]
# Places, products and programmes that users' own rules name (one user per region or product).
PLACES = [
    "Texas",
    "Virginia",
    "Ohio",
    "Arizona",
    "Georgia",
    "Oregon",
    "Iowa",
    "Nevada",
    "Louisiana",
    "Wisconsin",
    "Indiana",
    "Pennsylvania",
    "Tennessee",
    "Memphis",
    "Abilene",
    "Dallas",
    "Phoenix",
    "Ireland",
    "Dublin",
    "London",
    "Frankfurt",
    "Amsterdam",
    "Paris",
    "Madrid",
    "Milan",
    "Oslo",
    "Norway",
    "Sweden",
    "Finland",
    "Denmark",
    "Iceland",
    "Portugal",
    "Spain",
    "Italy",
    "Poland",
    "India",
    "Mumbai",
    "Chennai",
    "Singapore",
    "Malaysia",
    "Johor",
    "Indonesia",
    "Jakarta",
    "Japan",
    "Tokyo",
    "Osaka",
    "Korea",
    "Seoul",
    "Taiwan",
    "Australia",
    "Sydney",
    "Melbourne",
    "Brazil",
    "Chile",
    "Mexico",
    "Canada",
    "Quebec",
    "Alberta",
    "Saudi",
    "UAE",
    "Abu Dhabi",
    "Qatar",
    "Kenya",
    "Nigeria",
    "South Africa",
    "Egypt",
    "Morocco",
    "Israel",
    "Turkey",
]
PRODUCTS = [
    "Stargate",
    "Colossus",
    "Hyperion",
    "Prometheus",
    "Fairwater",
    "Rainier",
    "Helios",
    "Blackwell",
    "Rubin",
    "Hopper",
    "Grace",
    "Instinct",
    "Trainium",
    "Inferentia",
    "Gaudi",
    "Maia",
    "Cobalt",
    "Axion",
    "Ironwood",
    "Graviton",
    "DGX",
    "HGX",
    "NVL72",
    "Spectrum",
    "InfiniBand",
    "Ethernet",
    "liquid cooling",
    "immersion cooling",
    "small modular reactor",
    "fuel cell",
    "gas turbine",
    "substation",
    "transmission line",
    "battery storage",
    "geothermal",
    "solar farm",
    "wind farm",
    "hydropower",
    "nuclear plant",
]
FIELDS = ["title:", "summary:", ""]


def generate_rules(count: int, seed: int = 7) -> str:
    """A rule file of `count` rules over a realistic vocabulary (deterministic)."""
    rng = random.Random(seed)
    lines = ["threshold = 1.0", ""]
    for index in range(count):
        company = rng.choice(COMPANIES)
        company_term = f'"{company}"' if " " in company else company.lower()
        own = rng.sample(PLACES + PRODUCTS, rng.randint(2, 4))
        own_terms = " OR ".join(f'"{t}"' if " " in t else t.lower() for t in own)
        compute = " OR ".join(rng.sample(COMPUTE, rng.randint(2, 5)))
        deal = " OR ".join(rng.sample(DEAL, rng.randint(2, 5)))
        exclusions = " ".join(f"-{t}" for t in rng.sample(TOPICS, rng.randint(0, 3)))
        shape = index % 6
        if shape == 0:
            query = f"{company_term} AND ({compute} OR {own_terms}) AND ({deal}) {exclusions}"
        elif shape == 1:
            query = f"{rng.choice(FIELDS)}({compute}) AND ({own_terms}) AND ({deal}) {exclusions}"
        elif shape == 2:
            near = rng.choice(COMPUTE).replace("*", "")
            query = (
                f"NEAR/{rng.randint(2, 8)}({near} ({deal.split(' OR ')[0]} OR deal)) {exclusions}"
            )
        elif shape == 3:
            power = rng.choice([10, 50, 100, 300])
            query = f"({compute} OR {own_terms}) AND power>={power}MW {exclusions}"
        elif shape == 4:
            amount = rng.choice([100, 500])
            query = f"{company_term} AND ({own_terms}) AND ({deal}) AND amount>={amount}M"
        else:
            query = f"{rng.choice(FIELDS)}{company_term} AND ({compute} OR {deal}) {exclusions}"
        weight = rng.choice([0.5, 1.0, 1.0, 1.5])
        lines += ["[[rule]]", f'name = "generated-{index}"', f"query = '''{query}'''"]
        lines += [f"weight = {weight}", ""]
    return "\n".join(lines)


def headlines() -> list[str]:
    titles: list[str] = []
    for name in ("stories/uci_dev.jsonl", "relevance/dev.jsonl"):
        path = SHARED / "data" / name
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                titles.append(json.loads(line)["title"])
                summary = json.loads(line).get("summary")
                if summary:
                    titles.append(summary)
    for seed in sorted((SHARED / "seeds").glob("*.txt")):
        lines = [line for line in seed.read_text(encoding="utf-8").splitlines() if line.strip()]
        titles.extend(lines[:3])
    return titles


def build_items(count: int, seed: int = 11) -> list[MatchItem]:
    rng = random.Random(seed)
    pool = headlines()
    return [
        MatchItem(
            title=rng.choice(pool),
            summary=f"{rng.choice(pool)} {rng.choice(pool)}",
            source=rng.choice(["Reuters", "Bloomberg", "The Register", "DatacenterDynamics"]),
        )
        for _ in range(count)
    ]


def deal_reports() -> list[tuple[str, str]]:
    """Compute-deal headlines and summaries (the positives of the relevance dev set)."""
    path = SHARED / "data" / "relevance" / "dev.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [(row["title"], row["summary"]) for row in rows if row.get("relevant")]


def build_long_items(count: int, seed: int = 13) -> list[MatchItem]:
    """Feed items with long HTML descriptions, reduced to plain text as the reader does."""
    rng = random.Random(seed)
    pool = [line for line in headlines() if len(line) > 20]
    deals = deal_reports()
    items: list[MatchItem] = []
    for _ in range(count):
        if rng.random() < 0.05:
            title, lead = rng.choice(deals)
        else:
            title, lead = rng.choice(pool), rng.choice(pool)
        paragraphs = [f"<p>{html.escape(lead)}</p>"]
        for _ in range(rng.randint(2, 6)):
            others = rng.sample(pool, rng.randint(1, 3))
            paragraphs.append(
                f"<p>{html.escape(others[0])}. <strong>{html.escape(' '.join(others[1:]))}"
                f'</strong>, according to <a href="https://source.example/{rng.randrange(10**6)}">'
                "people familiar with the matter</a>.</p>"
            )
        paragraphs.append('<p><a href="https://news.example/more">Read more &raquo;</a></p>')
        text = to_plain_text("".join(paragraphs), keep_lines=True)
        items.append(
            MatchItem(
                title=title,
                summary=text.replace("\n", " ")[:1000],
                text=text,
                source=rng.choice(["Reuters", "Bloomberg", "The Register", "DatacenterDynamics"]),
                url=f"https://news.example/{rng.randrange(10**6)}",
                author=f"Staff {rng.randrange(40)}",
                categories=[rng.choice(["Business", "Technology", "Markets", "AI"])],
            )
        )
    return items


def _leaves(node: Node) -> list[Node]:
    found: list[Node] = []
    stack: list[object] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, Word | Prefix | Phrase):
            found.append(current)
        elif isinstance(current, Near | AnyOf):
            stack.extend(current.operands if isinstance(current, Near) else current.options)
        elif hasattr(current, "children"):
            stack.extend(current.children)
        elif hasattr(current, "child"):
            stack.append(current.child)
    return found


def naive_patterns(rules: RuleSet, *, distinct: bool) -> list[re.Pattern[str]]:
    """One word-bounded, case-insensitive regex per term of each rule (or per distinct term)."""
    sources: list[str] = []
    for rule in rules.rules:
        for leaf in _leaves(rule.node):
            words = leaf.words if isinstance(leaf, Phrase) else (leaf,)
            parts = []
            for word in words:
                if isinstance(word, Prefix):
                    parts.append(re.escape(word.prefix) + r"\w*")
                else:
                    parts.append(re.escape(word.label.strip('"')) + r"\w*")
            sources.append(r"\b" + r"\W+".join(parts) + r"\b")
    if distinct:
        sources = sorted(set(sources))
    return [re.compile(source, re.IGNORECASE) for source in sources]


def time_engine(rules: RuleSet, items: list[MatchItem]) -> tuple[float, int]:
    start = time.perf_counter()
    results = rules.match_many(items)
    elapsed = time.perf_counter() - start
    return len(items) / elapsed, sum(result.relevant for result in results)


def time_naive(patterns: list[re.Pattern[str]], items: list[MatchItem]) -> float:
    start = time.perf_counter()
    hits = 0
    for item in items:
        text = (
            f"{item.title}\n{item.summary}\n{item.text}"
            if item.text
            else f"{item.title}\n{item.summary}"
        )
        for pattern in patterns:
            if pattern.search(text) is not None:
                hits += 1
    elapsed = time.perf_counter() - start
    return len(items) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--naive-items", type=int, default=5_000)
    parser.add_argument("--rules", type=int, default=200)
    parser.add_argument("--long-items", type=int, default=50_000)
    args = parser.parse_args()

    items = build_items(args.items)
    long_items = build_long_items(args.long_items)
    default_rules = load_rules(ROOT / "config" / "rules" / "compute-deals.toml")
    many_rules = parse_rules(generate_rules(args.rules), f"<{args.rules} generated rules>")
    report: dict[str, float | int] = {
        "items": len(items),
        "rules_200": len(many_rules.rules),
        "long_items": len(long_items),
        "long_item_chars": round(
            sum(len(i.title) + len(i.text) for i in long_items) / len(long_items)
        ),
    }
    cases = (("default", default_rules, items), ("200", many_rules, items))
    cases += (("long", default_rules, long_items),)
    for label, rules, case_items in cases:
        rate, relevant = time_engine(rules, case_items)
        # Long items take the naive engine several times longer each: fewer of them.
        naive_items = case_items[: args.naive_items // (5 if label == "long" else 1)]
        patterns = naive_patterns(rules, distinct=False)
        naive_rate = time_naive(patterns, naive_items)
        distinct = naive_patterns(rules, distinct=True)
        distinct_rate = time_naive(distinct, naive_items)
        print(
            f"{label}: {len(rules.rules)} rules, {len(patterns)} terms ({len(distinct)} distinct);"
            f" engine {rate:,.0f} items/s ({relevant} relevant); naive {naive_rate:,.0f} items/s,"
            f" naive over distinct terms {distinct_rate:,.0f} items/s",
            file=sys.stderr,
        )
        report[f"items_per_s_{label}"] = round(rate, 1)
        report[f"relevant_{label}"] = relevant
        report[f"terms_{label}"] = len(patterns)
        report[f"distinct_terms_{label}"] = len(distinct)
        report[f"naive_items_per_s_{label}"] = round(naive_rate, 1)
        report[f"naive_distinct_items_per_s_{label}"] = round(distinct_rate, 1)
        report[f"speedup_vs_naive_{label}"] = round(rate / naive_rate, 2)
        report[f"speedup_vs_naive_distinct_{label}"] = round(rate / distinct_rate, 2)
    # The headline figure: the 200-rule set against the naive engine the issue describes
    # (one re.search per term per item, rule by rule).
    report["speedup_vs_naive"] = report["speedup_vs_naive_200"]
    print(json.dumps(report))


if __name__ == "__main__":
    main()
