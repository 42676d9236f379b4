"""Digest composition on in-memory stories: selection, updates, ranking, cap, sources, summaries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from support.digests import PERIOD_END, digest, source, story

from bot.digest.compose import best_link, dedupe_sources, short_summary
from bot.model import SourceRef, StoryFacts


def ids(result: object) -> list[int]:
    return [s.story_id for s in result.stories]  # type: ignore[attr-defined]


def test_new_stories_are_included_and_unchanged_sent_ones_are_not() -> None:
    candidates = [story(1, outlets=2), story(2, outlets=3), story(3, outlets=1)]
    result = digest(candidates, previously_sent={2: 3})
    assert sorted(ids(result)) == [1, 3]
    assert not any(s.updated for s in result.stories)


def test_a_sent_story_that_gained_outlets_returns_marked_updated() -> None:
    candidates = [story(1, outlets=4), story(2, outlets=2)]
    result = digest(candidates, previously_sent={1: 2, 2: 2})
    assert ids(result) == [1]
    assert result.stories[0].updated is True


def test_a_second_report_from_the_same_outlet_is_not_an_update() -> None:
    sources = [source("Reuters", 3), source("Reuters", 1, link="https://reuters.example/b")]
    result = digest([story(1, sources=sources)], previously_sent={1: 1})
    assert result.is_empty


def test_min_score_filters_and_cap_counts_the_rest() -> None:
    candidates = [story(i, score=float(i)) for i in range(1, 11)]
    result = digest(candidates, min_score=3.0, max_stories=4)
    assert ids(result) == [10, 9, 8, 7]
    assert result.more_count == 4  # stories 3..6 passed the threshold but were cut


def test_outlets_break_near_ties_in_score() -> None:
    result = digest([story(1, score=5.0, outlets=1), story(2, score=4.9, outlets=5)])
    assert ids(result) == [2, 1]


def test_score_dominates_when_outlets_are_equal_and_deal_size_counts() -> None:
    small = story(1, score=5.0, outlets=2, facts=StoryFacts(power_mw=20))
    big = story(2, score=5.0, outlets=2, facts=StoryFacts(amount_usd=17.4e9))
    higher = story(3, score=9.0, outlets=2, facts=StoryFacts(power_mw=20))
    assert ids(digest([small, big, higher])) == [3, 2, 1]


def test_recency_orders_otherwise_equal_stories() -> None:
    old = story(1, hours_old=40)
    fresh = story(2, hours_old=1)
    assert ids(digest([old, fresh])) == [2, 1]


def test_order_is_stable_for_identical_stories() -> None:
    candidates = [story(i) for i in (5, 3, 9)]
    assert ids(digest(candidates)) == [3, 5, 9]


def test_outlets_are_deduplicated_and_the_earliest_linked_report_is_the_link() -> None:
    sources = [
        source("The Verge", 1),
        source("Reuters", 5, link=None),  # earliest, but has no link
        source("reuters", 4, link="https://reuters.example/a"),
        source("DCD", 3),
        source("Evil", 9, link="javascript:alert(1)"),
    ]
    deduped = dedupe_sources(sources)
    assert sorted(s.outlet.casefold() for s in deduped) == ["dcd", "evil", "reuters", "the verge"]
    result = digest([story(1, sources=sources)])
    assert result.stories[0].link == "https://reuters.example/a"
    assert [s.outlet for s in result.stories[0].sources][:2] == ["reuters", "DCD"]


def test_preferred_outlets_win_the_link() -> None:
    sources = [source("Blog", 9), source("Reuters", 1)]
    assert best_link(sources, ["reuters"]) == sources[1].link
    assert best_link(sources) == sources[0].link
    assert best_link([SourceRef("X", "ftp://x.example/a", "t", None)]) is None


def test_the_link_leads_to_the_report_whose_headline_the_story_shows() -> None:
    """The headline is the link's text: without a preferred outlet the link is that report's,
    not the earliest report's (another outlet's angle: "Northlake's backlog swells")."""
    sources = [source("Capex Journal", 9), source("Compute Ledger", 5)]
    headline_link = sources[1].link
    assert best_link(sources, headline_link=headline_link) == headline_link
    assert best_link(sources, ["capex journal"], headline_link=headline_link) == sources[0].link
    assert best_link(sources, headline_link="javascript:alert(1)") == sources[0].link
    view = story(1, sources=sources)
    view.headline_link = headline_link
    assert digest([view]).stories[0].link == headline_link


def test_summary_is_one_or_two_sentences_and_bounded() -> None:
    text = (
        "The U.S. firm Acme Inc. signed a 1.3 GW deal with Beta Corp. on Monday. "
        "It covers 100,000 GPUs. A third sentence never shows."
    )
    assert short_summary(text) == (
        "The U.S. firm Acme Inc. signed a 1.3 GW deal with Beta Corp. on Monday. "
        "It covers 100,000 GPUs."
    )
    long_text = "word " * 200
    bounded = short_summary(long_text, max_chars=120)
    assert len(bounded) <= 120 and bounded.endswith("…")


def test_headline_whitespace_is_collapsed_and_footer_data_carried() -> None:
    result = digest(
        [story(1, headline="  xAI\n sells   Colossus 1  ")],
        unhealthy_feeds=["b-feed", "a-feed", "b-feed"],
    )
    assert result.stories[0].headline == "xAI sells Colossus 1"
    assert result.unhealthy_feeds == ["a-feed", "b-feed"]
    assert result.total_entries == 240
    assert result.period_end == PERIOD_END


def test_naive_datetimes_are_treated_as_utc() -> None:
    naive = story(1)
    naive.last_updated = (PERIOD_END - timedelta(hours=1)).replace(tzinfo=None)
    assert ids(digest([naive, story(2, hours_old=30)])) == [1, 2]


def test_max_stories_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_stories"):
        digest([story(1)], max_stories=0)


def test_material_fact_changes_are_new_or_changed_figures_and_facilities() -> None:
    from bot.digest import material_fact_changes

    before = StoryFacts(parties=["xAI"], power_mw=300, places=["Memphis"], assets=["Colossus 1"])
    same = StoryFacts(parties=["xAI", "Anthropic"], power_mw=301, places=["Tennessee"])
    assert material_fact_changes(before, same) == []  # rounding, parties, places
    assert material_fact_changes(before, StoryFacts(power_mw=300, amount_usd=1e9)) == ["value"]
    assert material_fact_changes(before, StoryFacts(power_mw=400, chips=10_000)) == [
        "power",
        "chips",
    ]
    assert material_fact_changes(before, StoryFacts(assets=["colossus 1", "Colossus 2"])) == [
        "facility"
    ]
    assert material_fact_changes(None, StoryFacts(power_mw=999)) == []  # unknown: outlets decide


def test_a_sent_story_whose_deal_value_became_known_returns_marked_updated() -> None:
    from bot.digest import PreviousInclusion

    old = StoryFacts(parties=["xAI", "Anthropic"], power_mw=300)
    new = StoryFacts(parties=["xAI", "Anthropic"], power_mw=300, amount_usd=17.4e9)
    sent = {1: PreviousInclusion(source_count=2, facts=old)}
    assert digest([story(1, outlets=2, facts=old)], previously_sent=sent).is_empty
    result = digest([story(1, outlets=2, facts=new)], previously_sent=sent)
    assert ids(result) == [1] and result.stories[0].updated
