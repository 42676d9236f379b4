"""The places of a story's deal and its named facilities (assets).

Owns `places_of` (partial mentions merged into the fullest form, "Memphis, Tennessee") and
`assets_of` (one instance per asset name: "Colossus 1", not its sister "Colossus 2").
"""

from __future__ import annotations

import functools

from bot.clustering import features
from bot.clustering.facts.mentions import Mentions
from bot.clustering.facts.segments import Segment
from bot.clustering.facts.vocabulary import FACILITY_NOUNS, us_states
from bot.text.quantities import extract_quantities
from bot.text.tokens import tokenize

MAX_PLACES = 2
MAX_ASSETS = 2


def _mention_weight(segment: Segment) -> float:
    """A place or facility named in a title counts twice one named in a lead sentence."""
    return 2.0 if segment.is_title else 1.0


def places_of(found: Mentions) -> list[str]:
    """At most `MAX_PLACES` places of the asset, fullest form first ("Memphis, Tennessee")."""
    scored: dict[tuple[str, str], float] = {}
    order: dict[tuple[str, str], int] = {}
    other_names = found.other_role
    for region, city, segment in found.places:
        if not segment.is_title and not segment.deal and not _facility_text(segment.text):
            continue
        if city and region == "" and tuple(features.fold(city).split()) in other_names:
            continue  # "invest in OpenAI": an organisation after "in"
        key = (city or "", region)
        weight = _mention_weight(segment)
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
    states = us_states()
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
    return bool(folded & FACILITY_NOUNS) or bool(
        {q.kind for q in extract_quantities(text)} & {"power", "chips"}
    )


def assets_of(
    found: Mentions, segments: list[tuple[Segment, list[str]]], places: list[str]
) -> list[str]:
    """Named facilities: one instance per name ("Colossus 1", not its sister "Colossus 2")."""
    cities = {features.fold(place.split(",")[0]) for place in places}
    scores: dict[str, float] = {}
    order: dict[str, int] = {}
    for segment, named in segments:
        for asset in features.unique(named):
            if asset not in found.asset_cued:
                continue
            scores[asset] = scores.get(asset, 0.0) + _mention_weight(segment)
            order.setdefault(asset, len(order))
    for name, segment in found.facilities:
        if any(features.fold(a).startswith(features.fold(name)) for a in scores):
            continue
        if features.fold(name) in cities:
            continue  # "its Stavanger site": the place, already shown as one
        scores[name] = scores.get(name, 0.0) + _mention_weight(segment)
        order.setdefault(name, len(order))
    if not scores:
        return []
    best = max(scores.values())
    by_base: dict[str, str] = {}
    for asset in sorted(scores, key=lambda a: (-scores[a], order[a])):
        base = features.fold(asset.rpartition(" ")[0] if asset[-1].isdigit() else asset)
        if base in by_base or scores[asset] < 0.5 * best:
            continue
        by_base[base] = asset
    return list(by_base.values())[:MAX_ASSETS]
