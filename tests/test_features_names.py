"""Name features of the story clusterer: camel-case names split into words only where the parts
are words of the name, so that unrelated names share no particle."""

from __future__ import annotations

from bot.clustering import features


def test_name_particles_stay_part_of_the_name() -> None:
    assert features.tokens("McDonald's profit falls") == ["mcdonald", "profit", "fall"]
    assert features.tokens("McConaughey wins an Oscar") == ["mcconaughey", "win", "oscar"]
    assert features.tokens("MacArthur grant") == ["macarthur", "grant"]
    assert features.tokens("DiCaprio and DeGrasse Tyson") == ["dicaprio", "degrasse", "tyson"]


def test_unrelated_particle_names_share_no_name() -> None:
    burger = features.extract("McDonald's Sues Burger Rival Over Recipe Leak")
    actor = features.extract("McConaughey's Oscar speech goes viral")
    assert "mcdonald" in burger.names
    assert "mcconaughey" in actor.names
    assert not set(burger.names) & set(actor.names)
    assert not set(burger.weights) & set(actor.weights)


def test_compounds_led_by_a_function_word_stay_whole() -> None:
    assert features.tokens("YouTube star") == ["youtube", "star"]
    assert features.tokens("TheStreet says") == ["thestreet"]


def test_lower_case_led_brands_stay_whole() -> None:
    assert features.tokens("iPhone sales on eBay") == ["iphone", "sale", "ebay"]


def test_compounds_of_two_words_still_match_their_spaced_spelling() -> None:
    # Outlets write "MtGox" and "Mt. Gox", "PonoPlayer" and "Pono Player".
    assert set(features.tokens("MtGox files for bankruptcy")) >= {"mt", "gox"}
    assert set(features.tokens("Mt. Gox files for bankruptcy")) >= {"mt", "gox"}
    assert features.tokens("PonoPlayer") == features.tokens("Pono Player") == ["pono", "player"]


def test_entities_keep_particle_names_whole() -> None:
    assert features.entities("Shares of McDonald's rose on Monday.") == ["McDonald"]
    names = features.extract("Analysts expect MacBook sales to rise", "").names
    assert "macbook" in names
    assert "mac" not in names and "book" not in names


def test_mixed_capitals_opening_a_title_case_headline_are_a_name() -> None:
    # An inner capital is not the position's doing, a capital after a hyphen in a Title Case
    # compound is.
    assert "mcdonald" in features.extract("McDonald's Sues Burger Rival Over Recipe Leak").names
    assert "iphone" in features.extract("iPhone Sales Slow In Europe Again").names
    crude = features.extract("Crude-Oil Futures Fall As Demand Concerns Grow")
    assert "crude" not in crude.names and "oil" not in crude.names
