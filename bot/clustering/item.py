"""An item to place, and what the clusterer reads of it once: `ClusterItem` and `ItemReading`.

Every stage after this one (candidate look-up, the join model's signals, the story state) works
from the `ItemReading`, so an item's text is tokenised, its figures extracted and its dateline read
exactly once, however many stories it is compared with.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.clustering import features
from bot.clustering.facts import (
    Report,
    a_demonym_term,
    announces_deal,
    cited_in_passing,
    event_kinds,
    fact_lead,
    never_a_party,
    story_facts,
    template_word,
)
from bot.text.clutter import strip_clutter
from bot.text.quantities import Quantity, extract_quantities

# A figure: its kind ("power", "chips", "money:USD") and its value in the kind's unit.
Figure = tuple[str, float]


@dataclass(slots=True)
class ClusterItem:
    """One entry to place. `published` is UTC; None means unknown (taken as now)."""

    key: str
    title: str
    summary: str = ""
    text: str = ""
    published: datetime | None = None
    source: str | None = None
    url: str | None = None


@dataclass(slots=True)
class ItemReading:
    """What the clusterer reads of one item, once (see the module docstring).

    `vector` is left empty here: its term weights depend on the stream's statistics at the time
    the item is placed, which the index owns (`StoryIndex.vector`).
    """

    item: ClusterItem
    published: datetime
    feats: features.ItemFeatures
    # Exact figures of the title and lead, and those the headline gives as the deal's own.
    figures: list[Figure]
    headline_figures: list[Figure]
    # The near-duplicate key of an informative title (None for placeholders and short titles).
    title_key: str | None
    # The year of a dateline that dates the report away from its feed time (see dateline_year).
    dated: int | None
    # Names the title gives that can be a party of a deal (title_parties).
    parties: frozenset[str]
    # Name-like terms rare in English at large: the report's actors (not "President").
    rare_names: frozenset[str]
    # The report's fact sentences (facts.fact_lead) and the deal parties read from them and
    # the title (facts.story_facts of this one report), each as its folded terms.
    lead: str
    fact_parties: frozenset[str]
    # The title's terms that say which event (distinctive_title_terms), compared with every
    # candidate's members.
    distinctive_terms: frozenset[str]
    # The terms of the parties a deal announcement's headline names ("microsoft", "iren" of
    # "Microsoft signs $9.7 billion AI cloud deal with IREN"); empty for any other headline.
    announced_parties: frozenset[str] = frozenset()
    # The kinds of event the title and first lead sentence report (facts.event_kinds).
    kinds: frozenset[str] = frozenset()
    vector: dict[str, float] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.item.key

    @property
    def has_lead(self) -> bool:
        return bool(self.feats.lead_sentences)

    @property
    def is_deal(self) -> bool:
        """Whether the report cites money, power or chip figures in its title or lead."""
        return bool(self.figures)


def read_item(item: ClusterItem, window_hours: float, actor_rarity: float) -> ItemReading:
    """Read `item` once: features, figures, near-duplicate key, dateline year, parties."""
    published = utc(item.published)
    feats = features.extract(item.title, item.summary, item.text)
    figures = exact_figures(extract_quantities(feats.primary_text))
    lead = fact_lead(item.summary, item.text, item.title)
    fact_parties = report_parties(item.title, lead)
    title_terms = set(feats.title_terms)
    announced = (
        frozenset(t for party in fact_parties for t in party.split() if t in title_terms)
        if announces_deal(feats.title_terms)
        else frozenset()
    )
    return ItemReading(
        item=item,
        published=published,
        feats=feats,
        figures=figures,
        headline_figures=headline_figures(feats) if figures else [],
        title_key=title_key(feats),
        dated=dateline_year(item, published, window_hours),
        parties=title_parties(feats),
        rare_names=frozenset(t for t in feats.names if feats.rarity.get(t, 0.0) >= actor_rarity),
        lead=lead,
        fact_parties=fact_parties,
        announced_parties=announced,
        kinds=event_kinds(
            [*feats.title_terms, *features.tokens(" ".join(feats.lead_sentences[:1]))]
        ),
        distinctive_terms=distinctive_title_terms(feats.title),
    )


@dataclass(frozen=True, slots=True)
class ItemReader:
    """`read_item` with a clusterer's settings, picklable: what a process other than the
    clusterer's runs to read items ahead of their placing (`StoryClusterer.add` takes the
    readings). Reading depends on nothing but the item and these settings, so a reading made
    elsewhere is the one the clusterer would make."""

    window_hours: float
    actor_rarity: float

    def __call__(self, item: ClusterItem) -> ItemReading:
        return read_item(item, self.window_hours, self.actor_rarity)


def report_parties(title: str, lead: str) -> frozenset[str]:
    """The deal parties one report names, as folded terms ("coreweave", "google cloud")."""
    facts = story_facts([Report(title=title, summary=lead)])
    keys = (
        " ".join(t for t in features.tokens(name) if not _not_a_party(t)) for name in facts.parties
    )
    return frozenset(key for key in keys if key)


def _not_a_party(term: str) -> bool:
    """A word that names no party on its own: a deal word or a figure (facts.never_a_party), or
    a demonym. "Greek" in "Greek riots" and "Greek austerity" says where, not who: as a party it
    made two events of one country look like one."""
    return never_a_party(term) or a_demonym_term(term)


def utc(value: datetime | None) -> datetime:
    if value is None:
        return datetime.now(UTC)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def story_key(item_key: str) -> str:
    """The key of the story an item starts: derived from the item, so a replay of the same
    entries in the same order names its stories alike."""
    return "s" + hashlib.blake2b(item_key.encode("utf-8"), digest_size=12).hexdigest()


def distinctive_title_terms(title: str) -> frozenset[str]:
    """The title's terms without the words of every deal headline (template_word): what the
    title says about which event, for comparing titles ("Anthropic signs TPU deal with
    Google" and "Anthropic signs deal for xAI's Colossus 1" share "anthropic" alone)."""
    return frozenset(
        t for t in features.tokens(features.untruncated(title)) if not template_word(t)
    )


def title_key(feats: features.ItemFeatures) -> str | None:
    """The near-duplicate key of an informative title (placeholders have none)."""
    words = feats.title_terms
    if len(words) < 4 or features.is_placeholder_title(feats.title, words):
        return None
    return " ".join(words)


def exact_figures(quantities: list[Quantity]) -> list[Figure]:
    """Exact figures of a deal; vague lower bounds ("billions of dollars") cannot conflict."""
    return [
        (q.kind if q.kind != "money" else f"money:{q.currency}", q.value)
        for q in quantities
        if not q.approximate and q.value > 0
    ]


def headline_figures(feats: features.ItemFeatures) -> list[Figure]:
    """The exact figures a headline that announces a deal ("signs", "lease", "taps") gives as
    the deal's own: a price in "Buy X and save $15" or a sum in "tops rich list with $40
    million" is no deal's; a figure the headline cites in passing ("backlog swells to $9
    billion after Microsoft signs on") is the seller's backlog; and a ceiling, a running total,
    an increment or a yearly amount ("up to $4 billion", "lifting its total to $8 billion",
    "another $4 billion", "$290m a year") is the deal's value said another way, which other
    reports of the deal give otherwise."""
    if not announces_deal(feats.title_terms):
        return []
    headline = features.untruncated(feats.title)
    return exact_figures(
        [
            q
            for q in extract_quantities(headline)
            if not cited_in_passing(headline, q) and not restated(headline, q)
        ]
    )


# Words next to a figure that make it the deal's value said another way (headline_figures).
_RESTATED_BEFORE = re.compile(
    # a ceiling, a total, an increment, a first phase ...
    r"\b(?:up to|as much as|as many as|total(?:ing|ling)?|totals|a total of|another|"
    r"an? additional|additional|an extra|extra|further|first|initial|starting with|"
    r"cumulative|overall|by)\s*$"
    # ... or a figure a change brings the deal to ("boosts its deal to", "lifting total to")
    r"|\b(?:boost|lift|rais|bring|brought|tak|took|increas|expand|grow|grew|extend|doubl|"
    r"tripl|swell|push|up)\w*(?:\s+[\w'\u2019-]+){0,4}\s+to\s*$",
    re.IGNORECASE,
)
_RESTATED_AFTER = re.compile(
    r"^\s*(?:more|in total|total|a year|per year|annually|a month|per month|each year|"
    r"top-up|increase|first phase|phase)\b",
    re.IGNORECASE,
)
_RESTATED_REACH = 40


def restated(headline: str, quantity: Quantity) -> bool:
    """Whether the words around a headline figure make it a ceiling, total, increment, first
    phase or yearly amount (see headline_figures)."""
    before = headline[max(0, quantity.start - _RESTATED_REACH) : quantity.start]
    after = headline[quantity.end : quantity.end + _RESTATED_REACH]
    return bool(_RESTATED_BEFORE.search(before) or _RESTATED_AFTER.search(after))


def title_parties(feats: features.ItemFeatures) -> frozenset[str]:
    """The names a report's title gives that can be a party of a deal: not a deal word ("AI",
    "GPUs": facts.never_a_party), not a demonym and not the place it is set in ("in Iceland")."""
    title_terms = set(feats.title_terms)
    place_terms = {term for place in feats.places for term in features.tokens(place)}
    return frozenset(
        term
        for term in feats.names
        if term in title_terms and term not in place_terms and not _not_a_party(term)
    )


def informative(title: str, has_lead: bool, title_terms: list[str] | None = None) -> bool:
    """Whether a report says anything to compare: prose, or a title that is not a placeholder
    ("Share this on:", "Business Highlights", a dateline)."""
    return has_lead or not features.is_placeholder_title(title, title_terms)


# ----------------------------------------------------------------------------- datelines
_MONTH = r"(" + features.MONTH_NAME + r")\.?"
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"),
        start=1,
    )
}
# A full written date: "March 4, 2009", "26 September 2013", "27 / 09 / 2013".
_FULL_DATE = re.compile(
    r"\b(?:" + _MONTH + r"\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+((?:19|20)\d\d)"
    r"|(\d{1,2})(?:st|nd|rd|th)?\s+" + _MONTH + r",?\s+((?:19|20)\d\d)"
    r"|(\d{1,2})\s*/\s*(\d{1,2})\s*/\s*((?:19|20)\d\d))(?![\w/])",
    re.IGNORECASE,
)
# Where a dateline stands: at the start of the title or of one of the first body lines
# ("WEDNESDAY, MARCH 4, 2009, 10:53 AM", "Published on Friday, 27 September 2013",
# "27/09/2013 - Turkmenistan to hold ..."), not inside the report ("born April 22, 1923") or
# in a teaser run into the first paragraph.
DATELINE_LINES = 3
DATELINE_REACH = 40


def dateline(title: str, body: str) -> datetime | None:
    """The date a report gives itself in its dateline, if it writes one (see above)."""
    lines = [title]
    if body:
        lines += strip_clutter(body[:2000]).splitlines()[:DATELINE_LINES]
    for line in lines:
        match = _FULL_DATE.search(line)
        if match is None or match.start() > DATELINE_REACH:
            continue
        g = match.groups()
        try:
            if g[0]:
                return datetime(int(g[2]), _MONTHS[g[0][:3].lower()], int(g[1]), tzinfo=UTC)
            if g[4]:
                return datetime(int(g[5]), _MONTHS[g[4][:3].lower()], int(g[3]), tzinfo=UTC)
            first, second, year = int(g[6]), int(g[7]), int(g[8])
            # Month first or day first: either reading that is a date gives the year.
            for month, day in ((first, second), (second, first)):
                if 1 <= month <= 12 and 1 <= day <= 31:
                    return datetime(year, month, day, tzinfo=UTC)
        except ValueError:
            continue
    return None


def dateline_year(item: ClusterItem, published: datetime, window_hours: float) -> int | None:
    """The year of the report's dateline when the dateline dates it away from its feed time
    (another year, and outside the join window of it), else None.

    Reports of one event are written within days, so a report's own date is time evidence
    as good as its feed time. When the two disagree by a year or more the dateline is the
    one to believe: the feed gave no time (an offline run stamps items with the run's
    time) or republished an old article. Reports whose dateline agrees with their feed time,
    the daemon's everyday case, are untouched.
    """
    body = item.text if len(item.text) > len(item.summary) else item.summary
    date = dateline(item.title, body)
    if date is None or date.year == published.year:
        return None
    if abs(date - published) <= timedelta(hours=window_hours):
        return None
    return date.year
