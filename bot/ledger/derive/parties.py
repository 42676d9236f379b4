"""The parties of a deal: the organisations it is between, and what is not one.

Owns `deal_parties` and the tests of a name it applies: `not_an_organisation` (by the name
alone) and `not_an_organisation_here` (by the reports' own words: `a_person`, `a_description`,
`a_product`, `a_project`, `a_fragment`, `only_an_owner`).

The parties are the story facts' parties, less what is not an organisation (a figure, a
product or funding round, a month, a person's surname, a name written mostly as a party's:
"Oklo's Aurora", "xAI's Grok chatbot"), less what the reports' own words show is not one: a
person (after a title, "President Macron", "Sheikh Mohamed", "CEO Jensen Huang"; a first and
last name whose last name is written alone; a first and last name written only as a party's
owner, "Jed McCaleb's Navigation Fund"), a place's people or a description ("Emirati", "French
AI", "Hyperscale Data Centers"), a product by its version or as a model ("Claude 3", "Grok
models", "Trainium2"), a project or a quoted brand ("Project Ceiba", "'Stargate Norway'"), a
piece of a longer name ("Owl" of "Blue Owl"); and with any other name that a report's title or
first lead sentence makes a party's counterparty ("raises $1.3 billion from Microsoft", "signs
power deal with data center operator Switch").
"""

from __future__ import annotations

import calendar
import functools
import itertools
import re
import string
from collections.abc import Iterator, Sequence

from bot.clustering import features
from bot.clustering.facts.mentions import Mentions
from bot.clustering.facts.segments import is_acronym, unusual_caps
from bot.clustering.facts.vocabulary import (
    FACILITY_NOUNS,
    GENERIC,
    MODEL_CODE,
    ORG_SUFFIX,
    PRIOR_NAMES,
    PRODUCT_LINES,
    ROLE_WORDS,
    is_demonym,
    place_words,
)
from bot.ledger.derive.kind import KIND_VOCABULARY
from bot.ledger.derive.roles import (
    BEFORE_PARTY,
    COMPILED_ROLES,
    PASSIVE,
    party_forms,
    party_mentions,
    party_pattern,
    sentence_roles,
)

# "A signs a deal with B", "A partners with B": B is a party to the deal, whoever pays.
_COUNTERPARTY = re.compile(
    r"\s+(?:(?:deal|deals|agreement|agreements|contract|contracts|pact|partnership|alliance|"
    r"memorandum|mou|venture)|(?:partners?|partnered|partnering|teams?\s+up|teamed\s+up|"
    r"signs?|signed|inks?|inked))\s+with" + BEFORE_PARTY + r"$",
    re.IGNORECASE,
)
# A name made of a figure ("$19B", "Dh5.5bn", "500MW" in a Headline Case title).
_FIGURE_WORD = re.compile(
    r"^(?:[$€£¥]?\d.*|[A-Za-z]{1,3}[$€£¥]?\d[\d.,]*(?:bn|b|mn|m|k)|[A-Za-z]{1,3}[$€£¥]\d.*)$",
    re.IGNORECASE,
)
_MONTHS = frozenset(m.casefold() for m in calendar.month_name if m)
MAX_DEAL_PARTIES = 6
_PAST_AFTER = re.compile(
    r"^[\s,]+(?:[\w'’-]+\s+){0,3}?(?:ago|earlier|previously|last\s+year)\b", re.IGNORECASE
)
_DEAL_NOUN = re.compile(
    r"^\s*(?:deal|deals|agreement|agreements|pact|contract|contracts|partnership)\b",
    re.IGNORECASE,
)
# Words that describe a name's owner or backer ("PIF-backed AI", "Philanthropy-funded"), or
# make it a description ("AI-related", "Biden-era AI").
_ATTRIBUTE = re.compile(
    r"-(?:backed|funded|owned|led|based|powered|linked|controlled|related|era|style|class|"
    r"grade|scale|sized|level)$"
)
# Up to three words, no punctuation, between a name and the party it describes.
_MODIFIER_GAP = re.compile(r"^\s+(?:[\w'’.-]+\s+){0,3}$")


def _what_is_sold(words: Sequence[str]) -> bool:
    """A name made of the words of what a deal sells ("Azure", "OCI", "Blackwell", "Series
    C"): a product, a service or a funding round, not an organisation."""
    return all(
        w in KIND_VOCABULARY or w in PRODUCT_LINES or w in GENERIC or len(w) == 1 for w in words
    )


def not_an_organisation(name: str, surnames: frozenset[str]) -> bool:
    """A name found where parties are that is a figure, a product or a funding round, a month
    or a person's surname (`surnames`: names the story also writes after a first name)."""
    words = [features.fold(w) for w in name.split()]
    if not words:
        return True
    if any(_FIGURE_WORD.match(w) or _ATTRIBUTE.search(w) for w in words):
        return True
    if len(words) == 1 and MODEL_CODE.match(name) and words[0] not in PRIOR_NAMES:
        return True  # "MI300X", "H100s"; not "G42"
    if _what_is_sold(words) or (len(words) == 1 and words[0] in _MONTHS):
        return True
    return " ".join(words) in surnames


# ----------------------------------------------------------------------------- not organisations
# Titles written before a person's name ("President Macron", "Sheikh Mohamed bin Zayed", "Nvidia
# CEO Jensen Huang"): the facts' role words and the honorifics.
HONORIFICS = frozenset(
    [
        "sheikh",
        "sheik",
        "prince",
        "princess",
        "king",
        "queen",
        "emir",
        "sultan",
        "crown",
        "mr",
        "mrs",
        "ms",
        "dr",
        "sir",
        "lord",
        "dame",
        "president",
        "premier",
        "chancellor",
    ]
)
# Words inside a person's name that its next part follows ("Sheikh Mohamed bin Zayed").
_NAME_PARTICLES = frozenset(["bin", "ibn", "bint"])
_TITLES = ROLE_WORDS | HONORIFICS | _NAME_PARTICLES
_ASCII_LETTERS = frozenset(string.ascii_letters)
_POSSESSIVES = ("'s", "’s")
_POSSESSIVE_PRONOUNS = ("its", "their")


def _word_char(ch: str) -> bool:
    """A word character, as the regex \\w reads one."""
    return ch.isalnum() or ch == "_"


def _name_char(ch: str) -> bool:
    """A character that continues a name: a word character or a hyphen."""
    return _word_char(ch) or ch == "-"


def name_spans(name: str, text: str) -> Iterator[tuple[int, int]]:
    """Where `text` writes `name` whole, not inside a longer word or a hyphenated one: the
    spans of the regex `(?<![\\w-])name(?![\\w-])`, found with `str.find` because a pattern
    compiled per name costs more than the search (hundreds of names per cycle, a cold cycle
    compiled thousands)."""
    start = text.find(name)
    while start >= 0:
        end = start + len(name)
        if (start == 0 or not _name_char(text[start - 1])) and (
            end == len(text) or not _name_char(text[end])
        ):
            yield start, end
            start = text.find(name, end)
        else:
            start = text.find(name, start + 1)


def _spaced_before(text: str, start: int) -> int | None:
    """Where the run of white space that ends at `start` begins; None if there is none."""
    at = start
    while at > 0 and text[at - 1].isspace():
        at -= 1
    return at if at < start else None


def _word_before(text: str, start: int) -> str | None:
    """The word of ASCII letters written before `start`, with an optional full stop and white
    space between ("President Trump", "Dr. Su"): what the regex
    `(?<![\\w-])([A-Za-z]+)\\.?\\s+` before a name captures."""
    end = _spaced_before(text, start)
    if end is None:
        return None
    if end > 0 and text[end - 1] == ".":
        end -= 1
    begin = end
    while begin > 0 and text[begin - 1] in _ASCII_LETTERS:
        begin -= 1
    if begin == end or (begin > 0 and _name_char(text[begin - 1])):
        return None
    return text[begin:end]


def _one_of_starts_at(text: str, start: int, names: Sequence[str]) -> bool:
    """Whether one of `names` is written whole at `start` (it ends where a name may end)."""
    for name in names:
        end = start + len(name)
        if text.startswith(name, start) and (end == len(text) or not _name_char(text[end])):
            return True
    return False


@functools.lru_cache(maxsize=16_384)
def _generic_word(word: str) -> bool:
    """A folded word of a description, not of a name ("hyperscale", "data", "centers", "AI")."""
    if word in GENERIC or word in KIND_VOCABULARY or word in FACILITY_NOUNS:
        return True
    if len(word) >= 6:
        return any(len(g) >= 6 and (g.startswith(word) or word.startswith(g)) for g in GENERIC)
    return False


def a_description(name: str) -> bool:
    """A name made only of places, demonyms and generic words ("Hyperscale Data Centers",
    "Texas AI Data Center", "French AI", "Emirati"): what the reports call something, not an
    organisation's name."""
    _, place_names = place_words()
    parts = name.replace("-", " ").split()
    return bool(parts) and all(
        is_demonym(part) or features.fold(part) in place_names or _generic_word(features.fold(part))
        for part in parts
    )


# A product's version after its name ("Claude 3", "Grok 2", "Gemini 2.5"), not a figure.
_VERSION_AFTER = re.compile(
    r"^\s+\d{1,2}(?:\.\d)?(?![\d,%]|\.\d|\s*(?:%|[kKmMgG][wW]|billion|million|bn|mn|m\b|k\b|"
    r"per\b|percent|a\s+year|years?))"
)
# What a model or an app is called after its name ("Grok models", "the Claude chatbot"); not
# hardware, which is called after its maker too ("Nvidia chips").
_MODEL_AFTER = re.compile(r"^\s+(?:models?|chatbots?|assistants?|apps?)\b", re.IGNORECASE)
# A product code that runs a word and a number together ("Trainium2", "Trainium3").
_PRODUCT_CODE = re.compile(r"^[A-Za-z]{4,}\d{1,2}[A-Za-z]{0,2}$")


def a_product(name: str, texts: Sequence[str]) -> bool:
    """A product or model rather than its maker: a word run together with its generation
    ("Trainium2"), or a name written with a version or as a model or app in at least half its
    mentions ("Claude 3", "Llama 3", "Grok 2", "next Grok models")."""
    if " " not in name and _PRODUCT_CODE.match(name) and features.fold(name) not in PRIOR_NAMES:
        return True
    versioned = total = 0
    for text in texts:
        for _, end in name_spans(name, text):
            total += 1
            after = text[end:]
            versioned += bool(_VERSION_AFTER.match(after) or _MODEL_AFTER.match(after))
    return versioned > 0 and 2 * versioned >= total


def a_person(name: str, texts: Sequence[str], surnames: frozenset[str]) -> bool:
    """A person: a name that starts with a title ("Sheikh Mohamed") or that a report writes
    after one or after "bin" ("President Trump", "Nvidia CEO Jensen Huang", "founder Mira
    Murati", "Mohamed bin Zayed"), or a first and last name whose last name the story also
    writes alone ("Elon Musk" and "Musk")."""
    words = name.split()
    if len(words) > 1 and features.fold(words[0]) in HONORIFICS:
        return True
    if features.fold(words[-1]) in surnames and _first_and_last(name):
        return True
    for text in texts:
        for start, _ in name_spans(name, text):
            title = _word_before(text, start)
            if title is not None and features.fold(title) in _TITLES:
                return True
    return False


def _first_and_last(name: str) -> bool:
    """Shaped as a person's name: two or three capitalised words, none of them an
    organisation's word ("Jed McCaleb", not "Navigation Fund", "Blue Owl Capital")."""
    words = name.split()
    return 2 <= len(words) <= 3 and all(
        w[:1].isupper()
        and w.isalpha()
        and not is_acronym(w)
        and features.fold(w) not in ORG_SUFFIX
        and features.fold(w) not in PRIOR_NAMES
        and not _generic_word(features.fold(w))
        for w in words
    )


def only_an_owner(name: str, texts: Sequence[str], names: Sequence[str]) -> bool:
    """A first and last name written only as the owner of another name of the story ("Ilya
    Sutskever's SSI", "Jed McCaleb's Navigation Fund"): a person who owns a party, not a party
    (as "to Elon Musk's startup" names the startup's owner). A company written so is kept: the
    owner of a factory sold is its seller ("to buy Sharp's Sakai factory")."""
    others = [n for n in names if n != name]
    if not others or not _first_and_last(name):
        return False
    mentions = [(text, end) for text in texts for _, end in name_spans(name, text)]
    return bool(mentions) and all(_owns_one_of(text, end, others) for text, end in mentions)


def _owns_one_of(text: str, end: int, others: Sequence[str]) -> bool:
    """Whether the name that ends at `end` is written as the owner of one of `others`
    ("Jed McCaleb's Navigation Fund")."""
    if not text.startswith(_POSSESSIVES, end):
        return False
    after = end + 2
    while after < len(text) and text[after].isspace():
        after += 1
    return after > end + 2 and _one_of_starts_at(text, after, others)


# A name a report puts in quotes ("announces 'Stargate Norway' with Nscale", "a Saudi 'AI
# Zone'"): a brand it introduces, a project or a product; not possessives ("Musk's xAI").
_QUOTED = re.compile(r"(?:(?<=\s)|^)['‘\"“]([A-Z][^'’\"”]{1,40}?)['’\"”](?!\w)")


def a_project(name: str, texts: Sequence[str]) -> bool:
    """ "Project Ceiba", "Project Rainier", or a name the reports quote ("'Stargate UAE'"): a
    project or a brand, not who builds it or pays for it."""
    if features.fold(name.split()[0]) == "project" and " " in name:
        return True
    return any(
        quoted == name or (quoted.endswith(" " + name) and a_description(quoted[: -len(name)]))
        for text in texts
        for quoted in _quoted_in(text)
    )


@functools.lru_cache(maxsize=4096)
def _quoted_in(text: str) -> tuple[str, ...]:
    """The names `text` quotes; asked for every name of a story, found once per text."""
    return tuple(_QUOTED.findall(text))


def a_fragment(name: str, texts: Sequence[str], names: Sequence[str]) -> bool:
    """A one-word name the reports write only after the words that precede it in another name
    of the story ("Owl", always "Blue Owl", of "Blue Owl Real Assets"; "Hynix" of "SK
    Hynix"): a piece of that name (an organisation is shortened to its first word, which the
    party's forms already match)."""
    if " " in name:
        return False
    folded = features.fold(name)
    mentions = [(text, start) for text in texts for start, _ in name_spans(name, text)]
    for other in names:
        words = other.split()
        for index in range(1, len(words)):
            if features.fold(words[index]) != folded:
                continue
            prefix = " ".join(words[:index]) + " "
            if mentions and all(text[:at].endswith(prefix) for text, at in mentions):
                return True
    return False


def not_an_organisation_here(
    name: str, texts: Sequence[str], surnames: frozenset[str], names: Sequence[str]
) -> bool:
    """What the reports' own words show is not an organisation: a person (by title or last
    name), a place's people or a description, a product by its version, a project or a quoted
    brand, a piece of a longer name, or a person written only as another party's owner."""
    return (
        a_project(name, texts)
        or a_fragment(name, texts, names)
        or a_description(name)
        or a_product(name, texts)
        or a_person(name, texts, surnames)
        or only_an_owner(name, texts, names)
    )


def _surnames(found: Mentions, candidates: Sequence[str]) -> frozenset[str]:
    """Names the story writes alone and after a first name ("Huang" and "Jensen Huang"): a
    person's surname, as an organisation's short form is its first word ("Galaxy Digital" ->
    "Galaxy"). A name with capitals inside ("CoreWeave") or a prior name is an organisation's,
    and a word with a hyphen is not a first name ("Nvidia-backed CoreWeave"). People the facts
    recognised by their role or speech are included."""
    alone = {
        features.fold(c)
        for c in candidates
        if " " not in c and not unusual_caps(c) and not is_acronym(c)
    }
    longer: set[str] = set()
    for key, _, _, _ in found.names:
        if (
            2 <= len(key) <= 3
            and key[-1] in alone
            and key[-1] not in PRIOR_NAMES
            and all(w.isalpha() for w in key)
            and not any(w in ORG_SUFFIX or w in GENERIC or w in PRIOR_NAMES for w in key)
        ):
            longer.add(key[-1])
    return frozenset(longer | {features.fold(p) for p in found.people})


# What a product is called after its name ("xAI's Grok chatbot", "its Mistral Compute
# platform", "Anthropic's Claude models").
_PRODUCT_AFTER = re.compile(
    r"^\s+(?:\d{1,2}(?:\.\d)?\s+)?(?:models?|chatbots?|assistants?|apps?|platforms?|software|"
    r"services?|instances?|clusters?|supercomputers?|systems?|chips?|cpus?|gpus?|tpus?|"
    r"processors?|accelerators?|superchips?)\b",
    re.IGNORECASE,
)


def _mostly_possessed(name: str, sentences: Sequence[str], owners: Sequence[str]) -> bool:
    """Whether the sentences write `name` as a party's or as "its" ("Oklo's Aurora", "its
    Aurora reactors") at least as often as alone, more than once or once as a product ("xAI's
    Grok chatbot"): what a party has (a product, a person, a unit), not a party ("Microsoft's
    G42 stake" is one of many G42s; one "Ilya Sutskever's SSI" may be a person's company)."""
    others = [owner for owner in owners if owner != name]
    named = party_pattern(name)
    matches = [
        (sentence, end)
        for sentence in sentences
        for start, end in name_spans(name, sentence)
        if _possessed_at(sentence, start, others)
    ]
    possessed = len(matches)
    as_product = any(_PRODUCT_AFTER.match(sentence[end:]) for sentence, end in matches)
    return (possessed > 1 or as_product) and 2 * possessed >= sum(
        len(named.findall(sentence)) for sentence in sentences
    )


def _possessed_at(text: str, start: int, owners: Sequence[str]) -> bool:
    """Whether the name at `start` follows "its", "their" or an owner's possessive, and white
    space ("its Aurora", "Oklo's Aurora")."""
    end = _spaced_before(text, start)
    if end is None:
        return False
    for pronoun in _POSSESSIVE_PRONOUNS:
        begin = end - len(pronoun)
        if (
            begin >= 0
            and text.startswith(pronoun, begin)
            and (begin == 0 or not _word_char(text[begin - 1]))
        ):
            return True
    owned_end = end - 2
    if owned_end < 0 or not text.startswith(_POSSESSIVES, owned_end):
        return False
    return any(
        len(owner) <= owned_end and text.startswith(owner, owned_end - len(owner))
        for owner in owners
        if owner
    )


def _related(sentence: str, kept: Sequence[str], candidates: Sequence[str]) -> set[str]:
    """The candidates a sentence names as a kept party's counterparty: a buyer or seller of
    it ("Inflection AI raises $1.3 billion from Microsoft") or who it signs a deal with ("Oklo
    signs power deal with data center operator Switch")."""
    related: set[str] = set()
    mentions = party_mentions(sentence, [*kept, *candidates])
    for index, ((_, a_end, a), (b_start, b_end, b)) in enumerate(itertools.pairwise(mentions)):
        if (a in kept) == (b in kept):
            continue
        between = " " + sentence[a_end:b_start] + " "
        if len(between) > 120:
            continue
        following = mentions[index + 2] if index + 2 < len(mentions) else None
        if (
            b not in kept
            and following is not None
            and following[2] in kept
            and _MODIFIER_GAP.match(sentence[b_end : following[0]])
        ):
            continue  # "to buy Australian data center operator AirTrunk": B describes a party
        if _PAST_AFTER.match(sentence[b_end:]):
            continue  # "echoing Blackstone's purchase of QTS three years ago": another deal
        if a not in kept and (len(between.split()) > 6 or _DEAL_NOUN.match(between)):
            # "BEP and BEPC units rose after the company disclosed an agreement to supply
            # Microsoft": too far from the verb; "Hydropower Deal With": names the deal
            continue
        candidate_end = b_end if a in kept else a_end
        if sentence[candidate_end - 2 : candidate_end] in ("'s", "’s"):
            continue  # "to Elon Musk's startup": the owner of the party
        if (
            PASSIVE.search(between)
            or _COUNTERPARTY.search(between)
            or any(pattern.search(between) for pattern, _, _, _ in COMPILED_ROLES)
        ):
            related.add(b if a in kept else a)
    return related


def deal_parties(
    named: Sequence[str],
    found: Mentions,
    places: Sequence[str],
    sentences: Sequence[tuple[str, float]],
    openings: Sequence[str],
) -> tuple[str, ...]:
    """The organisations a deal is between: the story facts' parties (`named`) that are
    organisations, and the other names of the story that a title or lead sentence makes a
    counterparty of one of them in a report's `openings` (its title and first lead sentence: a
    name in one report scores too little for the facts, "Inflection AI raises $1.3 billion from
    Microsoft, Nvidia and others"; later sentences cite other deals, "Related: Nvidia leasing
    its own GPUs back from Lambda").

    Not parties: a figure, a product or round, a month, a person (`_surnames`), and a name the
    reports write only as a party's ("Oklo's Aurora", "its Aurora reactors") that no sentence
    puts in a deal role."""
    texts = [sentence for sentence, _ in sentences]
    place_words = {features.fold(part.strip()) for p in places for part in p.split(",")}
    place_words |= {
        features.fold(name) for region, city, _ in found.places for name in (region, city or "")
    }
    names: dict[str, list[str]] = {}
    for key, surface, _, weight in found.names:
        folded = " ".join(key)
        if weight > 0 and folded not in place_words:
            names.setdefault(folded, []).append(surface)
    others = [max(forms, key=forms.count) for forms in names.values()]
    surnames = _surnames(found, [*named, *others])
    every = [*named, *others]

    def organisation(name: str) -> bool:
        return not not_an_organisation(name, surnames) and not not_an_organisation_here(
            name, texts, surnames, every
        )

    kept = [p for p in named if organisation(p)]
    with_role = {party for sentence in texts for party, _ in sentence_roles(sentence, kept)}
    kept = [p for p in kept if p in with_role or not _mostly_possessed(p, texts, kept)]
    # Only a name an opening writes can be related there: the others are not looked at.
    candidates = [
        name
        for name in others
        if any(form in opening for form in party_forms(name) for opening in openings)
        and organisation(name)
        and not any(party_pattern(p).fullmatch(name) for p in kept)
        and not any(party_pattern(name).fullmatch(p) for p in kept)
    ]
    added: list[str] = []
    for sentence in openings:
        related = _related(sentence, kept, candidates)
        added += [c for c in candidates if c in related]
    return tuple(dict.fromkeys([*kept, *added]))[:MAX_DEAL_PARTIES]
