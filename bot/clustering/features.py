"""Turns one news item into the features the story clusterer compares.

Owns: sentence splitting, tokenising (with bot.text.tokens' fold and stem), capitalised-span
entities, named-asset instances ("Colossus 1"), deal quantities (through bot.text.quantities), and
headline quality (questions and placeholders such as "What's Happening?" are poor headlines).
Page clutter is stripped first with bot.text.clutter, the reader's own rules: the engine must be
robust on its own, as `newsbot cluster`'s input never went through the reader.

Hand-written rather than taken from an NLP library because it must be tiny, deterministic across
restarts (the daemon rebuilds stories from exported state) and fast enough for thousands of items a
minute on one core; nothing here needs a language model.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.text.clutter import strip_clutter
from bot.text.frequency import zipf
from bot.text.stopwords import STOPWORDS

# One folding for the matcher and the clusterer (issue 19: two had given different results).
from bot.text.tokens import fold as fold

# One stemmer for the matcher and the clusterer (bot.text.tokens.stem).
from bot.text.tokens import stem as stem

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)]*\s+(?=[\"'\u201c\u2018(]*[A-Z0-9])")
_TOKEN = re.compile(r"[a-z0-9]+(?:[.,][0-9]+)*(?:'[a-z]+)?")
# "MtGox", "PonoPlayer", "JetBlue": outlets write such names with and without the space.
_CAMEL = re.compile(r"\b([A-Z][a-z]+)(?=[A-Z][a-z])")
_WORD = re.compile(r"[A-Za-z0-9][\w'\u2019.-]*")
# Name particles fused into one name ("McDonald", "MacArthur", "DeGrasse", "DiCaprio",
# "LaGuardia", "LeBron", "VanDyke"): outlets do not write them apart, and apart the particle
# would join unrelated names ("McDonald's" and "McConaughey" through "mc").
_NAME_PARTICLES = frozenset(
    {"mc", "mac", "fitz", "de", "di", "da", "du", "del", "della", "la", "le", "van", "von"}
)


def _camel_split(match: re.Match[str]) -> str:
    """A camel-case word's first part and a space, unless that part cannot stand alone: a
    name particle or a function word ("YouTube", "TheStreet") is no word of a name on its
    own, so such a compound stays one name."""
    part = match.group(1)
    low = part.lower()
    if low in _NAME_PARTICLES or low in STOPWORDS:
        return part
    return part + " "


# A headline's call to action, leading ("WATCH:", "[Watch]") or trailing ("- Watch Now!",
# ": watch"). "Watch" and "read" are words of events too (smart watches, a speed-reading app),
# so they are not stopwords; only this label use of them is dropped.
_CALL_TO_ACTION = re.compile(
    r"^\W*(?:watch|read|listen)\s*(?:[\]):|]|\s[-\u2013\u2014]\s)\s*"
    r"|\s*[-\u2013\u2014:|(\[]\s*(?:watch|read|listen)(?: (?:it|them|video))?"
    r"(?: (?:now|here|more))?\W*$",
    re.IGNORECASE,
)


def _wordset(words: str) -> frozenset[str]:
    return frozenset(words.split())


_MONTHS_DAYS = _wordset(
    """monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december"""
)
# Headlines that say nothing about the event: section labels and teaser placeholders.
_PLACEHOLDER = re.compile(
    r"^(what'?s (happening|next|new)|why it'?s important|breaking( news)?|update[sd]?|"
    r"(business|tech|news|market|morning|evening|daily|weekly) (highlights|briefing|roundup|digest|"
    r"news)|what'?s news|top (news|stories)|untitled|home|news|latest|live( updates)?|"
    r"key (details|points|takeaways)|summary|overview|analysis|explainer)\W*$",
    re.IGNORECASE,
)
# Capitalised unit and currency symbols ("300 MW", "USD 2bn") are not actors of an event.
_UNITS = _wordset(
    """mw gw kw tw mwh gwh twh kwh usd eur gbp jpy cny inr aud cad chf bn mn tn pct bps"""
)
_DATELINE_WORDS = _wordset(
    """updated posted published last article edt est cst pst bst cet ist gmt utc am pm hrs
    mon tue wed thu fri sat sun th st nd rd"""
)
_ASSET = re.compile(
    r"\b([A-Z][A-Za-z-]{2,}|[A-Z]{2,}[A-Za-z]*)[ -](\d{1,3}|I{1,3}|IV|VI{0,3}|IX|X)\b"
    r"(?![.,]\d|%|\s*"
    r"(?:MW|GW|kW|megawatts?|gigawatts?|million|billion|trillion|bn|m|k|percent|per|years?|days?|"
    r"months?|weeks?|hours?|people|of|to|and|or|[-\u2013]))"
)
_ASSET_NAME_SKIP = (
    _wordset(
        """the a an and or but on in at by for of to from with about over under after before since
    top best worst only all chapter section article page part page step round game season episode
    phase level number no vol volume issue item series grade class category type tier year day week
    month covid"""
    )
    | _MONTHS_DAYS
)
# A month as dates write it, full or abbreviated (a regular-expression alternation).
MONTH_NAME = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_MONTH = r"(?:" + MONTH_NAME + r")\.?"
# A year written as part of a date ("Dec. 14, 2008", "28 November 2005", "March 2014",
# "27/09/2013"), not a bare year ("since 1998", "in 2020"): a date names when something happened
# or was reported, a bare year is as often background or a plan.
_YEAR = re.compile(r"\b(?:19|20)\d\d\b")
# What comes right before a year that is part of a date; matched only against the few
# characters before each year found (a scan of the whole text with this pattern costs more).
_DATE_BEFORE_YEAR = re.compile(
    r"\b(?:"
    + _MONTH
    + r"\s+\d{1,2}(?:st|nd|rd|th)?,?\s+|\d{1,2}(?:st|nd|rd|th)?\s+"
    + _MONTH
    + r",?\s+|"
    + _MONTH
    + r",?\s+|\d{1,2}\s*[/.-]\s*\d{1,2}\s*[/.-]\s*)$",
    re.IGNORECASE,
)
_DATE_REACH = 32
# Written dates and clock times ("March 10, 2014", "10 March", "3/10/14", "2:02 am"): when a
# report was filed, not what happened. Their numbers as terms join unrelated reports of the same
# day ("Stock Market News for March 10, 2014" and "The Energy Report 3/10/14"); the years they
# carry are read separately (dated_years).
_DATE_EXPR = re.compile(
    r"\b(?:"
    + _MONTH
    + r"\s+\d{1,2}(?:st|nd|rd|th)?(?:,?\s+(?:19|20)\d\d)?|\d{1,2}(?:st|nd|rd|th)?\s+"
    + _MONTH
    + r"(?:,?\s+(?:19|20)\d\d)?|"
    + _MONTH
    + r",?\s+(?:19|20)\d\d|\d{1,2}\s*/\s*\d{1,2}\s*/\s*(?:19|20)?\d\d"
    + r"|\d{1,2}:\d\d(?:\s*[ap]\.?m\.?)?)(?![\w/])",
    re.IGNORECASE,
)


_DIGIT = re.compile(r"\d")


def undated(text: str) -> str:
    """`text` without its written dates and clock times (see _DATE_EXPR)."""
    # Every date expression has a digit: text without one is returned as it is.
    return _DATE_EXPR.sub(" ", text) if _DIGIT.search(text) else text


_PLACE_CUE = re.compile(
    r"\b(?:in|at|near|outside|based in|headquartered in)\s+((?:[A-Z][a-z]+(?:\s|,\s)?){1,3})"
)


# A feed title cut to length ("Oprah's Reality Star To Get $1  ..."): the last word before the
# ellipsis may be cut too ("$1" of "$1 million"), so it is not evidence.
_TRUNCATED_TAIL = re.compile(r"\s+\S+\s*(?:\.{3}|\u2026)\s*$")


def untruncated(title: str) -> str:
    """`title` without a truncation ellipsis and the possibly cut word before it."""
    return _TRUNCATED_TAIL.sub("", title)


def tokens(text: str) -> list[str]:
    """Content tokens of `text`: folded, stemmed, stopwords dropped."""
    return list(_tokens_of(text))


@functools.lru_cache(maxsize=16_384)
def _tokens_of(text: str) -> tuple[str, ...]:
    # Names and titles are tokenised again and again ("Oracle" in every report of a story).
    return tuple(token for token, _ in surface_tokens(text))


def _surface_token(raw: str) -> tuple[str, str] | None:
    """The (stem, surface word) pair of one folded word, None for a stopword."""
    if raw in STOPWORDS:
        return None
    token = stem(raw)
    if token and token not in STOPWORDS and (len(token) > 1 or token.isdigit()):
        return (token, raw.split("'", 1)[0])
    return None


# Folded word -> its (stem, surface) pair or None: the vocabulary of a news stream is small, and
# every item is tokenised this way (bounded: a full cache stops taking words).
_SURFACE_CACHE: dict[str, tuple[str, str] | None] = {}
_WORD_CACHE_LIMIT = 200_000


def surface_tokens(text: str) -> list[tuple[str, str]]:
    """(stem, surface word) pairs of the content tokens of `text`."""
    out: list[tuple[str, str]] = []
    cache = _SURFACE_CACHE
    for raw in _TOKEN.findall(fold(_CAMEL.sub(_camel_split, text))):
        if raw in cache:
            pair = cache[raw]
        else:
            pair = _surface_token(raw)
            if len(cache) < _WORD_CACHE_LIMIT:
                cache[raw] = pair
        if pair is not None:
            out.append(pair)
    return out


# Background rarity: how surprising a word is in English at large (wordfreq's Zipf scale: 7 for
# "the", 3 for "colossus", 0 for unseen names). Unlike an IDF learned from the stream, it does not
# punish the words of a burst ("Titanfall" in 160 reports within minutes), which are exactly the
# words that identify the event.
_ZIPF_CEILING = 7.0
_ZIPF_FLOOR = 1.0


@functools.lru_cache(maxsize=200_000)
def background_idf(word: str) -> float:
    """An IDF-like weight of `word` from general English word frequencies (0.3 .. 6)."""
    if any(ch.isdigit() for ch in word):
        return 2.5  # figures and instance numbers: informative, but not names
    return max(0.3, _ZIPF_CEILING - max(zipf(word), _ZIPF_FLOOR))


def sentences(text: str) -> list[str]:
    """Sentences of `text` (line breaks are boundaries too)."""
    out: list[str] = []
    for line in text.splitlines():
        line = " ".join(line.split())
        if line:
            out.extend(part.strip() for part in _SENTENCE_SPLIT.split(line) if part.strip())
    return out


def is_title_case(title: str) -> bool:
    """True for Headline Case Titles, where capitals say nothing about names."""
    words = [w for w in _WORD.findall(title) if w[0].isalpha() and fold(w) not in STOPWORDS]
    if len(words) < 3:
        return False
    capitalised = sum(1 for w in words if w[0].isupper())
    return capitalised / len(words) >= 0.75


# Background rarity from which a lone capitalised word opening a sentence counts as a name
# (Zipf < 3.5: "Chiquita", "Fyffes"; not "Comic", "Currency").
OPENING_NAME_RARITY = 3.5


@functools.lru_cache(maxsize=65_536)
def _entity_word(word: str, title_case: bool) -> tuple[str, bool]:
    """A word as `entities` reads it: without possessive and punctuation, and whether it can
    be part of a name."""
    bare = word.strip(".'\u2019-").removesuffix("'s").removesuffix("\u2019s")
    folded = fold(bare)
    unusual = any(ch.isupper() for ch in bare[1:]) or (
        bare[:1].islower() and any(ch.isupper() for ch in bare)
    )
    capital = (
        (bare[:1].isupper() and not bare.isupper())
        or unusual
        or (bare.isupper() and 2 <= len(bare) <= 5)
    )
    if title_case:  # capitals say nothing in Headline Case: only unusual ones count
        capital = unusual
    good = capital and folded not in STOPWORDS and folded not in _MONTHS_DAYS and len(bare) > 1
    return bare, good


def _mixed_case(word: str) -> bool:
    """A capital right after a small letter: "McDonald", "iPhone", "xAI"; not "AMD", nor the
    capitals of a Title Case compound ("Crude-Oil", "Metro-North")."""
    return any(a.islower() and b.isupper() for a, b in itertools.pairwise(word))


def entities(text: str, title_case: bool = False) -> list[str]:
    """Capitalised spans ("Elon Musk", "xAI", "Colossus") in `text`, in order of appearance.

    In Title Case text only words with unusual capitals (xAI, iPhone, AMD) count, since every word
    is capitalised there. A capitalised word opening a sentence counts only if it is not a
    stopword and, standing alone, only if it is rare in English.
    """
    found: list[str] = []

    def close(span: list[str], opening: bool) -> None:
        # A lone capitalised word opening a sentence is a name only if it is rare in English
        # ("Chiquita merges ..."), not a common word capitalised by its position ("Comic film
        # ...", "Currency taking off ..."). Mixed capitals ("McDonald's", "iPhone", "xAI") are
        # not the position's doing: such a word is a name wherever it stands.
        if span and not (
            opening
            and len(span) == 1
            and not _mixed_case(span[0])
            and background_idf(span[0]) < OPENING_NAME_RARITY
        ):
            found.append(" ".join(span))

    for sentence in sentences(text):
        words = _WORD.findall(sentence)
        span: list[str] = []
        start = 0
        for index, word in enumerate(words):
            bare, good = _entity_word(word, title_case)
            if good:
                if not span:
                    start = index
                span.append(bare)
            else:
                close(span, start == 0)
                span = []
            if word.endswith((",", ":", ";")) and span:
                close(span, start == 0)
                span = []
        close(span, start == 0)
    return found


def assets(text: str) -> list[str]:
    """Named assets with an instance number ("Colossus 1", "Stargate II"), normalised."""
    out: list[str] = []
    for match in _ASSET.finditer(text):
        name, instance = match.group(1), match.group(2)
        if fold(name) in _ASSET_NAME_SKIP or fold(name) in STOPWORDS:
            continue
        out.append(f"{name} {instance}")
    return out


def places(text: str) -> list[str]:
    """Places cued by a locative preposition ("in Memphis, Tennessee")."""
    out: list[str] = []
    for match in _PLACE_CUE.finditer(text):
        place = match.group(1).strip(" ,")
        words = place.replace(",", " ").split()
        if not words or any(fold(w) in _MONTHS_DAYS or fold(w) in STOPWORDS for w in words):
            continue
        out.append(place)
    return out


def dated_years(text: str) -> list[int]:
    """Years written as part of a date in `text`, sorted, without repeats."""
    years: set[int] = set()
    for match in _YEAR.finditer(text):
        start = match.start()
        if _DATE_BEFORE_YEAR.search(text, max(0, start - _DATE_REACH), start):
            years.add(int(match.group()))
    return sorted(years)


def is_dateline(title: str, words: list[str] | None = None) -> bool:
    """A "title" that is only a date, a time or a posted/updated stamp ("Updated Saturday,
    December 05, 2009 8: 28 PM", "APR 28"): feeds and scrapers put these where a title belongs.
    `words` are the title's tokens when the caller has them."""
    words = tokens(title) if words is None else words
    return bool(words) and all(w.isdigit() or w in _DATELINE_WORDS for w in words)


def is_placeholder_title(title: str, words: list[str] | None = None) -> bool:
    """Titles that cannot serve as a headline: labels, placeholders, datelines, almost no
    content words. `words` are the title's tokens when the caller has them."""
    stripped = title.strip()
    if not stripped or _PLACEHOLDER.match(stripped):
        return True
    words = tokens(stripped) if words is None else words
    return len(words) < 2 or is_dateline(stripped, words)


def is_question(title: str) -> bool:
    return title.rstrip().endswith("?")


@dataclass(slots=True)
class ItemFeatures:
    """What the clusterer keeps of one item."""

    title: str
    title_terms: list[str]
    lead_sentences: list[str]
    weights: dict[str, float]  # term -> field-weighted frequency (before IDF)
    rarity: dict[str, float]  # term -> background IDF of its rarest surface form
    entity_names: list[str] = field(default_factory=list)
    primary_assets: list[str] = field(default_factory=list)  # from title and lead only
    all_assets: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    primary_text: str = ""  # title and lead: where deal anchors are read
    has_body: bool = False  # enough prose beyond the title to expect the story's key names
    names: list[str] = field(default_factory=list)  # name-like terms of the title and lead
    years: list[int] = field(default_factory=list)  # years of the dates the item writes


TITLE_WEIGHT = 3.0
LEAD_WEIGHT = 1.5
BODY_WEIGHT = 0.5
LEAD_SENTENCES = 3
BODY_MIN_TERMS = 30
# Background rarity from which a capitalised word counts as a name (not "President"): Zipf < 5.
NAME_RARITY = 2.1
BODY_TOKEN_CAP = 250  # body tokens beyond this add nothing: long pages drift into other topics
# Characters of the body read for dates: the dateline and the report, not the archive below.
YEARS_SPAN = 1500


def extract(title: str, summary: str = "", text: str = "") -> ItemFeatures:
    """Features of one item; the title and lead sentences dominate, the body is capped."""
    title = " ".join(title.split())
    body_source = text if len(text) > len(summary) else summary
    body = strip_clutter(body_source)
    body_sentences = sentences(body)
    title_key = fold(title).strip(" .")
    # Feeds often repeat the title as the first line or sentence of the body.
    body_sentences = [s for s in body_sentences if fold(s).strip(" .") != title_key]
    # Lead = the first sentences that read like prose (subtitles and labels are short).
    lead: list[str] = []
    rest: list[str] = []
    for sentence in body_sentences:
        if len(lead) < LEAD_SENTENCES and len(sentence.split()) >= 6 and not is_question(sentence):
            lead.append(sentence)
        elif lead or len(sentence.split()) >= 6:
            rest.append(sentence)
    weights: dict[str, float] = {}
    rarity: dict[str, float] = {}

    def count(pairs: list[tuple[str, str]], weight: float) -> None:
        for term, word in pairs:
            weights[term] = weights.get(term, 0.0) + weight
            rarity[term] = max(rarity.get(term, 0.0), background_idf(word))

    # The title as evidence: without a truncated tail; `title` itself is kept for display.
    evidence_title = untruncated(title)
    # Without a call to action ("WATCH:", "- Watch Now!"): the same label on two headlines of
    # different events is no shared word of theirs.
    evidence_title = _CALL_TO_ACTION.sub("", evidence_title) or evidence_title
    title_pairs = surface_tokens(evidence_title)
    title_terms = [term for term, _ in title_pairs]
    # Terms without the numbers of written dates (the near-duplicate key keeps them: two daily
    # columns that differ only in their date are two reports).
    count(surface_tokens(undated(evidence_title)), TITLE_WEIGHT)
    for sentence in lead:
        count(surface_tokens(undated(sentence)), LEAD_WEIGHT)
    budget = BODY_TOKEN_CAP
    for sentence in rest:
        if budget <= 0:
            break
        pairs = surface_tokens(undated(sentence))[:budget]
        count(pairs, BODY_WEIGHT)
        budget -= len(pairs)
    title_case = is_title_case(title)
    primary_text = "\n".join([evidence_title, *lead[:2]])
    names = entities(evidence_title, title_case=title_case) + entities("\n".join(lead))
    return ItemFeatures(
        title=title,
        title_terms=title_terms,
        lead_sentences=lead,
        weights=weights,
        rarity=rarity,
        entity_names=names,
        primary_assets=assets(primary_text),
        all_assets=assets("\n".join([evidence_title, *lead, *rest])),
        places=places("\n".join(lead[:2])) or places(evidence_title),
        primary_text=primary_text,
        has_body=len(weights) >= BODY_MIN_TERMS,
        names=sorted(
            {
                t
                for name in names
                for t in tokens(name)
                if t in weights and rarity.get(t, 0.0) >= NAME_RARITY and t not in _UNITS
            }
        ),
        years=dated_years(evidence_title + "\n" + body[:YEARS_SPAN]),
    )


def unique(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        key = fold(value)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out
