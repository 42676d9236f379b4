"""How a story presents itself: its headline, its summary and its deal facts.

Pure functions of a story's state. The headline is the member title that reads best and covers
most of what the story is about; the summary the lead closest to the story's centroid; the facts
what the members agree on (facts/).
"""

from __future__ import annotations

import math

from bot.clustering import features
from bot.clustering.facts import Report, story_facts
from bot.clustering.facts.story import MAX_REPORTS
from bot.clustering.story import Member, StoryState
from bot.model.story import StoryFacts

# Headline quality: what a title loses for being a placeholder ("What's Happening?"), a
# question, shouted, or too short or long to read as a headline.
PLACEHOLDER_PENALTY = 2.0
QUESTION_PENALTY = 1.0
ALL_CAPS_PENALTY = 0.5
ODD_LENGTH_PENALTY = 0.3
HEADLINE_WORDS = (4, 20)
SUMMARY_CHARS = 400


def headline(story: StoryState) -> tuple[str, str]:
    """The most informative member title and the key of the item it came from.

    Placeholders and questions lose to statements; among statements the title that covers
    most of the story's central terms wins, so a retitled update does not replace a better one.
    """
    order = {id(member): index for index, member in enumerate(story.members)}

    def score(member: Member) -> tuple[float, float, int]:
        terms = set(features.tokens(member.title))
        coverage = sum(story.centroid.get(t, 0.0) for t in terms) / (story.norm or 1.0)
        quality = 0.0
        if features.is_placeholder_title(member.title):
            quality -= PLACEHOLDER_PENALTY
        if features.is_question(member.title):
            quality -= QUESTION_PENALTY
        if member.title.isupper():
            quality -= ALL_CAPS_PENALTY
        words = len(member.title.split())
        if words < HEADLINE_WORDS[0] or words > HEADLINE_WORDS[1]:
            quality -= ODD_LENGTH_PENALTY
        return (quality, coverage, -order[id(member)])

    best = max(story.members, key=score)
    return best.title, best.key


def summary(story: StoryState) -> str:
    """One or two clean lead sentences: the member lead closest to the story centroid."""
    if not story.leads:
        return ""

    def closeness(lead: tuple[str, str]) -> float:
        terms = set(features.tokens(lead[1]))
        if not terms:
            return 0.0
        return sum(story.centroid.get(t, 0.0) for t in terms) / math.sqrt(len(terms))

    text = max(story.leads, key=closeness)[1]
    if len(text) > SUMMARY_CHARS:
        cut = text[:SUMMARY_CHARS].rsplit(" ", 1)[0]
        text = cut.rstrip(",;:") + "\u2026"
    return text


def facts(story: StoryState) -> StoryFacts:
    """Deal anchors the members agree on: parties, figures, places, assets (see facts/)."""
    return story_facts(fact_reports(story))


def fact_reports(story: StoryState) -> list[Report]:
    """What the story's facts are made of (`facts` is story_facts of them): its first reports'
    titles and leads, with their times and outlets."""
    # Members restored from states that predate member leads fall back to the story leads.
    leads = dict(story.leads)
    # story_facts reads the first MAX_REPORTS reports: only those are made into Reports, so
    # the facts of a story cost the same however many members it has.
    return [
        Report(
            title=m.title,
            summary=m.lead or leads.get(m.key, ""),
            published=m.published,
            outlet=m.source,
        )
        for m in story.members[:MAX_REPORTS]
    ]
