"""A story's reports read into one deal record (`derive_deal`).

Owns the ledger's input (`LedgerReport`, one member report of a deal story), which titles and
lead sentences are read and their weights, each report's claims of value, power and chips
(`_claims`), the roles read per story (a first lead sentence that describes its subject, "The
nuclear startup agreed to supply Switch", is about the title's first party; in a chips deal
the maker an agreed chip count names sells them), the deal's status, and the assembly of
figures, parties, roles and kind from the sibling modules into a `DealRecord`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.clustering.facts import Report, fact_lead, story_facts
from bot.clustering.facts.figures import FIGURE_TOLERANCE
from bot.clustering.facts.readings import read_mentions, read_report
from bot.clustering.facts.story import MAX_REPORTS, ReportFigures, StatedFigure, report_figures
from bot.ledger.derive.figures import (
    Said,
    agreed_claims,
    deal_figure,
    is_yearly,
    own_figures,
    with_more,
)
from bot.ledger.derive.kind import deal_kind, what_is_sold
from bot.ledger.derive.parties import deal_parties
from bot.ledger.derive.roles import RoleVote, deal_roles, party_mentions, party_pattern
from bot.ledger.derive.status import reads_as_ended, reads_as_talks
from bot.model.deal import (
    STATUS_CONFIRMED,
    STATUS_ENDED,
    STATUS_TALKS,
    Claim,
    DealFigure,
    DealRecord,
    DealSource,
)
from bot.text.quantities import same_figure

# Lead sentences read per report for roles, kind and status (the facts read five).
LEAD_SENTENCES = 3
TITLE_WEIGHT = 3.0
LEAD_WEIGHT = 1.0


@dataclass(frozen=True, slots=True)
class LedgerReport:
    """One member report of a deal story, as storage hands it to the ledger."""

    outlet: str
    link: str | None
    title: str
    summary: str = ""
    text: str = ""
    published: datetime | None = None


# ----------------------------------------------------------------------------- claims
def _claims(
    reports: Sequence[LedgerReport], figures: Sequence[ReportFigures]
) -> tuple[list[Said], list[Said], list[Said], list[Claim]]:
    """The reports' claims of value (dollars), power and chips, and the money they give only
    as a yearly amount or in another currency."""
    money: list[list[Said]] = []
    power: list[list[Said]] = []
    chips: list[list[Said]] = []
    as_given: list[Claim] = []

    def claim(figure: StatedFigure, outlet: str) -> Claim:
        return Claim(outlet, *with_more(figure))

    for report, stated in zip(reports, figures, strict=True):
        outlet = report.outlet
        dollars = own_figures(stated.money, report.published)
        other = own_figures(stated.money_other_currency, report.published)
        if dollars:
            first = dollars[0]
            if is_yearly(first):
                as_given.append(claim(first, outlet))
            else:
                money.append([(claim(f, outlet), f.sentence) for f in dollars if not is_yearly(f)])
        elif other:
            as_given.append(claim(other[0], outlet))
        for kind, found in ((power, stated.power), (chips, stated.chips)):
            own = own_figures(found, report.published)
            if own:
                kind.append([(claim(f, outlet), f.sentence) for f in own])
    return agreed_claims(money), agreed_claims(power), agreed_claims(chips), as_given


# ----------------------------------------------------------------------------- roles, per story
# A lead sentence that opens with a description of its subject rather than its name ("The Sam
# Altman-backed nuclear startup agreed to supply Switch with power"): newswire style, in which
# the subject is the title's ("Oklo signs 12-gigawatt power deal with ... Switch").
_DESCRIBED_SUBJECT = re.compile(r"^(?:The|A|An)\s")


def _role_sentences(
    reports: Sequence[LedgerReport], leads: Sequence[str], parties: Sequence[str]
) -> list[tuple[str, float]]:
    """The titles and lead sentences roles are read from, weighted; a first lead sentence
    that describes its subject is read with the title's first party, not written as an owner
    ("Nvidia's Huang ..."), as that subject."""
    out: list[tuple[str, float]] = []
    for report, joined in zip(reports, leads, strict=True):
        lead = joined.splitlines()[:LEAD_SENTENCES] if joined else []
        out.append((report.title, TITLE_WEIGHT))
        named = party_mentions(report.title, parties)
        for index, sentence in enumerate(lead):
            if (
                index == 0
                and named
                and _DESCRIBED_SUBJECT.match(sentence)
                and report.title[named[0][1] - 2 : named[0][1]] not in ("'s", "’s")
            ):
                sentence = f"{named[0][2]}: {sentence}"
            out.append((sentence, LEAD_WEIGHT))
    return out


def _maker_votes(
    chips: Sequence[Said], count: DealFigure, parties: Sequence[str], titles: set[str]
) -> list[RoleVote]:
    """In a chips deal, the party an agreed chip count names as maker sells them, and the
    party the sentence names before the count gets them ("Mistral AI will deploy 18,000 Nvidia
    Grace Blackwell chips", "Meta will have 350,000 Nvidia H100s")."""
    if count.counted is None:
        return []
    votes: list[RoleVote] = []
    for claim, sentence in chips:
        if not same_figure(claim.value, count.counted, FIGURE_TOLERANCE):
            continue
        weight = TITLE_WEIGHT if sentence in titles else LEAD_WEIGHT
        makers = [p for p in parties if party_pattern(p).search(claim.text)]
        at = sentence.find(claim.text)
        if not makers or at < 0:
            continue
        votes += [(maker, "seller", weight) for maker in makers]
        before = [
            party for _, _, party in party_mentions(sentence[:at], parties) if party not in makers
        ]
        if before:
            votes.append((before[0], "buyer", weight))
    return votes


# ----------------------------------------------------------------------------- the record
_UNDATED = datetime.max.replace(tzinfo=UTC)  # undated reports are listed last


def derive_deal(story_id: int, headline: str, reports: Sequence[LedgerReport]) -> DealRecord:
    """The deal record of one story from its member reports, in the order they joined it.

    Parties, places and facilities are the story facts of those reports, read again here
    (`story_facts`, as the clusterer reads them) rather than taken from the stored story: a
    record must not depend on whether the story was still in the clusterer's window when its
    batch ended."""
    read = list(reports[:MAX_REPORTS])
    leads = [fact_lead(r.summary, r.text, r.title) for r in reports]
    # As the clusterer keeps its members (the lead as summary, no text): the same facts, and
    # the readings it cached while clustering are found again.
    members = [
        Report(title=r.title, summary=lead, published=r.published, outlet=r.outlet)
        for r, lead in zip(read, leads, strict=False)
    ]
    facts = story_facts(members)
    money, power, chips, as_given = _claims(read, report_figures(members))
    value_usd = deal_figure([claim for claim, _ in money])
    power_mw = deal_figure([claim for claim, _ in power])
    chips_count = deal_figure([claim for claim, _ in chips])

    sentences: list[tuple[str, float]] = []
    openings: list[str] = []
    talks: list[bool] = []
    ended: list[bool] = []
    for report, joined in zip(reports, leads, strict=True):
        lead = joined.splitlines()[:LEAD_SENTENCES] if joined else []
        sentences.append((report.title, TITLE_WEIGHT))
        sentences += [(sentence, LEAD_WEIGHT) for sentence in lead]
        openings += [report.title, *lead[:1]]
        talks.append(reads_as_talks(report.title, lead))
        ended.append(reads_as_ended(report.title, lead))
    found, _ = read_mentions([read_report(m.title, m.summary, m.text) for m in members])
    parties = deal_parties(facts.parties, found, facts.places, sentences, openings)
    role_sentences = _role_sentences(reports, leads, parties)
    vocabulary_kind = deal_kind(sentences)
    roles = deal_roles(role_sentences, parties, vocabulary_kind)
    sellers = tuple(p for p in parties if roles.get(p) == "seller")
    kind = what_is_sold(
        vocabulary_kind,
        chips_count,
        parties,
        sellers,
        [*(r.title for r in reports), *leads],
    )
    if kind == "chips":
        titles = {r.title for r in reports}
        roles = deal_roles(
            role_sentences, parties, kind, _maker_votes(chips, chips_count, parties, titles)
        )
        sellers = tuple(p for p in parties if roles.get(p) == "seller")
    dated = sorted(
        (r.published, is_talks) for r, is_talks in zip(reports, talks, strict=True) if r.published
    )
    confirmed = next((when for when, is_talks in dated if not is_talks), None)
    if confirmed is None and not dated and not all(talks):
        status = STATUS_CONFIRMED
    else:
        status = STATUS_CONFIRMED if confirmed is not None else STATUS_TALKS
    latest = max(
        zip(reports, ended, strict=True),
        key=lambda pair: pair[0].published or _UNDATED,
        default=None,
    )
    if latest is not None and latest[1]:  # the newest report says the deal is off
        status = STATUS_ENDED
    return DealRecord(
        story_id=story_id,
        headline=headline,
        kind=kind,
        parties=parties,
        buyers=tuple(p for p in parties if roles.get(p) == "buyer"),
        sellers=sellers,
        value_usd=value_usd,
        power_mw=power_mw,
        chips=chips_count,
        value_as_given=tuple(as_given),
        places=tuple(facts.places),
        facilities=tuple(facts.assets),
        status=status,
        first_reported=dated[0][0] if dated else None,
        confirmed=confirmed,
        sources=tuple(
            DealSource(r.outlet, r.link, r.title, r.published)
            for r in sorted(reports, key=lambda r: r.published or _UNDATED)
        ),
    )
