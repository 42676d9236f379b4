"""Story facts read from kept per-report and per-sentence readings give the same facts as a
fresh reading: what a report gives depends on the story around it (its proper words, its
sister assets, whether it is a funding deal), and a kept reading must never carry one story's
context into another's facts. Also the memoised text helpers the clusterer relies on."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from bot.clustering import features
from bot.clustering.facts import Report, readings, story_facts
from bot.text.quantities import extract_quantities

SHARED = Path(__file__).resolve().parents[2] / "shared"


def _fresh(reports: list[Report]) -> dict[str, object]:
    """The facts of `reports` read with nothing kept from earlier stories."""
    readings.read_report.cache_clear()
    readings.read_segment.cache_clear()
    return story_facts(reports).to_json()


def test_a_sentence_start_reads_as_a_name_only_in_stories_that_write_it_mid_sentence() -> None:
    # "Summit" opening a sentence is a common word, unless the story writes it capitalised
    # mid-sentence somewhere (the proper words of the whole story).
    alone = Report(
        "Summit leases 50 MW of GPU capacity to Oracle",
        "Summit will lease 50 MW of GPU capacity to Oracle in Texas under a five-year "
        "contract, the companies said.",
    )
    other = Report(
        "Oracle signs GPU lease",
        "Oracle said on Monday that it signed a lease with Summit for 50 MW of capacity in Texas.",
    )
    readings.read_report.cache_clear()
    readings.read_segment.cache_clear()
    assert story_facts([alone]).parties == ["Oracle"]
    assert story_facts([alone, other]).parties == ["Oracle", "Summit"]
    # The same report read again in a story without the mid-sentence mention.
    assert story_facts([alone]).parties == ["Oracle"]
    assert story_facts([other, alone]).parties == ["Oracle", "Summit"]


def test_identical_reports_count_once_each() -> None:
    # Parties named in the titles of more reports come first: three copies of one report are
    # three reports (syndicated copies read from one kept reading).
    deal = Report(
        "Oracle leases 50 MW of GPU capacity",
        "Oracle will lease 50 MW of GPU capacity under a five-year contract, the companies said.",
    )
    copy = Report("Kestrel Grid opens an office in Ohio", "")
    assert story_facts([deal, copy]).parties == ["Oracle", "Kestrel Grid"]
    assert story_facts([deal, copy, copy, copy]).parties == ["Kestrel Grid", "Oracle"]


def test_a_sister_site_figure_is_left_out_only_where_the_story_names_that_site() -> None:
    # Whether a figure belongs to another asset depends on the story's assets.
    colossus = Report(
        "xAI sells Colossus 1 capacity to Anthropic",
        "xAI will sell all 300 MW of its Colossus 1 data center in Memphis to Anthropic. "
        "The first phase of Colossus 2, about 200 MW, is due next year.",
    )
    phase = Report(
        "xAI details Colossus 2 plans",
        "The first phase of Colossus 2, about 200 MW, is due next year, xAI said on Monday.",
    )
    stories = [[colossus], [phase], [colossus, phase], [phase, colossus], [colossus]]
    kept = [story_facts(s).to_json() for s in stories]
    assert kept == [_fresh(s) for s in stories]


def _seed_reports() -> list[Report]:
    """The canonical event's seed reports, then the relevant reports of the relevance dev set."""
    reports: list[Report] = []
    for path in sorted((SHARED / "seeds").glob("*.txt")):
        title, _, text = path.read_text(encoding="utf-8").partition("\n")
        reports.append(Report(title.strip(), "", text))
    dev = SHARED / "data" / "relevance" / "dev.jsonl"
    if dev.exists():
        for line in dev.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            if row["relevant"]:
                reports.append(Report(row["title"], row.get("summary") or ""))
    return reports


def test_kept_readings_give_the_facts_of_a_fresh_reading() -> None:
    reports = _seed_reports()
    if len(reports) < 4:
        pytest.skip(f"no seed reports in {SHARED}")
    # Stories that grow one report at a time, overlap and repeat reports, read in an order
    # that keeps readings from one story for the next.
    stories = [reports[: n + 1] for n in range(min(len(reports), 14))]
    stories += [reports[n : n + 3] for n in range(0, len(reports) - 3, 2)]
    stories += [reports[n::7][:12] for n in range(7)]
    stories += [list(reversed(s)) for s in stories[:6]] + [[reports[0]] * 3]
    readings.read_report.cache_clear()
    readings.read_segment.cache_clear()
    kept = [story_facts(s).to_json() for s in stories]
    assert kept == [_fresh(s) for s in stories]


@pytest.mark.parametrize(
    "text",
    ["Plain ASCII Text, with 300 MW.", "Société Générale’s ‘deal’", "ＡＩ ﬁrm Ω", "naïve café", ""],
)
def test_fold_is_the_nfkd_fold(text: str) -> None:
    quoted = text.replace("\u2019", "'").replace("\u2018", "'")
    decomposed = unicodedata.normalize("NFKD", quoted)
    expected = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).lower()
    assert features.fold(text) == expected
    assert features.fold(text) == expected  # the kept answer for non-ASCII text


def test_remembered_quantities_are_fresh_lists() -> None:
    text = "Nebius will provide Oracle with 15,000 GPUs (950 MW) for $5 billion."
    first = extract_quantities(text)
    assert [q.kind for q in first] == ["chips", "power", "money"]
    first.clear()
    assert [q.kind for q in extract_quantities(text)] == ["chips", "power", "money"]
    assert features.tokens("Oracle leases capacity") == features.tokens("Oracle leases capacity")
    words = features.tokens("Oracle leases capacity")
    words.append("x")
    assert "x" not in features.tokens("Oracle leases capacity")
