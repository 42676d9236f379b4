"""The parties of a story: its names scored by where they stand, variants merged.

Owns `parties_of`: a name's title and lead weight per report, merging variants into the fullest
form ("Northlake" -> "Northlake Compute", "AWS" -> "Amazon Web Services"), the share of the best
score a party must reach, and the spelling shown.
"""

from __future__ import annotations

from bot.clustering import features
from bot.clustering.facts.mentions import Mentions
from bot.clustering.facts.vocabulary import ALIASES, ORG_SUFFIX

MAX_PARTIES = 4
LEAD_CAP = 2.0  # the most one report's lead can add to a name
# A party must reach this share of the best party's score, and this absolute score.
PARTY_SHARE = 0.3
PARTY_MIN_SCORE = 0.8


def _variant_of(short: tuple[str, ...], long: tuple[str, ...]) -> bool:
    """`short` names the same organisation as `long` ("Northlake" / "Northlake Compute")."""
    if short == long:
        return True
    if ALIASES.get(" ".join(short)) == long:
        return True
    if len(short) == 1 and len(long) > 1 and short[0] == "".join(w[0] for w in long):
        return True
    if len(short) < len(long) and long[: len(short)] == short:
        extra = long[len(short) :]
        return all(w in ORG_SUFFIX or w in ("web",) for w in extra)
    return False


def parties_of(found: Mentions, assets: list[str], places: list[str]) -> list[str]:
    asset_keys = {tuple(features.fold(a).split()) for a in assets}
    asset_names = {tuple(features.fold(a).split()[:-1]) for a in assets}
    place_words = {features.fold(p.split(",")[0]) for p in places} | {
        features.fold(part.strip()) for p in places for part in p.split(",")
    }
    people = {features.fold(p) for p in found.people}
    facility_names = {tuple(features.fold(f).split()) for f, _ in found.facilities}
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
