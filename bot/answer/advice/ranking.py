"""Which products fit a customer's needs, best first, and which question splits them.

Hard needs (budget, persons, weight, season, volume, size) filter; soft needs (uses and
features named, the season, "light") rank; the facet whose answer splits the remaining
candidates best is the one worth a clarifying question.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from bot.answer.advice.needs import TRIP_VOLUME, Needs, word_stem
from bot.answer.advice.texts import num
from kb.catalog import FACETS, Fact, Product, Size, facet_key
from kb.text import fold, words

MIN_SPLIT = 0.45  # entropy (nats) a facet must split the candidates by to be worth a question

def winter_ready(p: Product) -> bool | None:
    seasons, comfort = p.value("seasons"), p.value("comfort_temperature")
    if seasons is not None:
        return seasons >= 4
    if comfort is not None:
        return comfort <= -5
    if any(w.startswith("winter") or w == "schnee" for w in p.words()):
        return True
    return None


def misses(p: Product, needs: Needs, language: str = "de") -> list[tuple[str, Fact | None, str]]:
    """The hard needs ``p`` fails, each as (facet, the fact that shows it, why)."""
    de = language == "de"
    out: list[tuple[str, Fact | None, str]] = []
    price = p.value("price")
    if needs.budget is not None and price is not None and price > needs.budget:
        out.append(("price", fact_of(p, "price"), f"über deinem Budget von {num(needs.budget)} €"
                    if de else f"over your budget of {needs.budget:g} €"))
    persons = p.value("persons", "high")
    if needs.persons is not None and persons is not None and persons < needs.persons:
        out.append(("persons", fact_of(p, "persons"), f"nur für {persons:g} Person(en)" if de
                    else f"only for {persons:g} person(s)"))
    weight = p.value("weight")
    if needs.max_weight is not None and weight is not None and weight > needs.max_weight:
        out.append(("weight", fact_of(p, "weight"), f"schwerer als {num(needs.max_weight)} kg"
                    if de else f"heavier than {needs.max_weight:g} kg"))
    if needs.season == "winter" and winter_ready(p) is False:
        out.append(("season", fact_of(p, "seasons") or fact_of(p, "comfort_temperature"),
                    "nicht für den Winter ausgelegt" if de else "not made for winter"))
    comfort = p.value("comfort_temperature")
    if needs.temperature is not None and comfort is not None and comfort > needs.temperature:
        out.append(("season", fact_of(p, "comfort_temperature"),
                    f"Komforttemperatur über {num(needs.temperature)} °C" if de
                    else f"comfort temperature above {needs.temperature:g} °C"))
    volume = p.value("volume", "high")
    wanted = needs.volume or (TRIP_VOLUME[needs.trip] if needs.trip else None)
    if wanted and volume is not None and not wanted[0] <= volume <= wanted[1]:
        out.append(("volume", fact_of(p, "volume"), "Volumen passt nicht zur Tour" if de
                    else "volume does not suit the trip"))
    if needs.measure and sizes_with(p, needs.measure[0]):
        if not fitting_sizes(p, needs.measure):
            out.append(("size", None, "keine passende Größe" if de else "no size that fits"))
    if needs.size and p.sizes and not any(fold(s.name) == fold(needs.size) for s in p.sizes):
        out.append(("size", None, f"nicht in Größe {needs.size}" if de
                    else f"not in size {needs.size}"))
    return out


def fact_of(p: Product, facet: str) -> Fact | None:
    if facet in p.facts:
        return p.facts[facet]
    for size in p.sizes:
        for label, fact in size.measures.items():
            if fact.facet == facet or facet_key(label) == facet_key(FACETS.get(facet, (facet,))[0]):
                return fact
    return None


def sizes_with(p: Product, key: str) -> list[tuple[Size, Fact]]:
    return [(s, f) for s in p.sizes for label, f in s.measures.items()
            if facet_key(label).replace(" ", "").startswith(key) and f.low is not None]


def up_to(fact: Fact) -> bool:
    """A column of upper limits ("Körpergröße bis (cm)": 185)."""
    return bool(re.search(r"\b(bis|max|up to)\b", fact.label, re.IGNORECASE)) and fact.low == fact.high


def fitting_sizes(p: Product, measure: tuple[str, float]) -> list[tuple[Size, Fact]]:
    key, value = measure
    rows = sizes_with(p, key)
    limits = sorted(((f.high, s, f) for s, f in rows if up_to(f) and f.high is not None
                     and value <= f.high), key=lambda row: row[0])
    if limits:  # the smallest size whose limit is not exceeded
        return [(limits[0][1], limits[0][2])]
    return [(s, f) for s, f in rows if not up_to(f)
            and f.low is not None and f.high is not None and f.low <= value <= f.high]


def soft_score(p: Product, needs: Needs) -> float:
    """How well ``p`` matches the soft needs: named uses and features, the season, light."""
    product_words = {word_stem(w) for w in p.words()} | p.words()
    score = 0.0
    for word in needs.words:
        if word in product_words or (len(word) >= 5 and any(
                w.startswith(word) or (len(w) >= 5 and word.startswith(w)) for w in product_words)):
            score += 1.0
    winter = winter_ready(p)
    seasons, comfort = p.value("seasons"), p.value("comfort_temperature")
    if needs.season == "winter" and winter:
        score += 1.0
    elif needs.season == "3" and (seasons == 3 or (seasons is None and comfort is not None
                                                   and -7 <= comfort <= 5)):
        score += 1.0
    elif needs.season == "summer" and (any(w.startswith("sommer") for w in p.words())
                                       or (comfort is not None and comfort >= 5)):
        score += 1.0
    if needs.light and p.value("weight") is not None:
        score += 0.1  # ranks by weight below
    return score


def use_match(p: Product, needs: Needs) -> bool:
    """Does a need word name one of the product's uses or features ("fürs Radfahren")?"""
    items = {word_stem(w) for fact in (p.facts.get("use"), p.facts.get("features")) if fact
             for item in fact.items for w in re.findall(r"[a-z0-9]+", fold(item)) if len(w) >= 4}
    return any(w in items or (len(w) >= 5 and any(i.startswith(w) for i in items))
               for w in needs.words)


def rank(products: Sequence[Product], needs: Needs) -> list[Product]:
    """Best first: soft score, then (for "light") weight, then price."""
    def key(p: Product) -> tuple:
        weight = p.value("weight") if needs.light else 0.0
        return (-soft_score(p, needs), weight if weight is not None else 99.0,
                p.value("price") or 0.0, p.name)
    return sorted(products, key=key)



def entropy(values: Sequence[object]) -> float:
    counts: dict[object, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    total = len(values)
    return -sum(c / total * math.log(c / total) for c in counts.values()) if total else 0.0


def facet_values(products: Sequence[Product], facet: str) -> list[object]:
    if facet == "persons":
        return [p.value("persons", "high") for p in products]
    if facet == "season":
        return [winter_ready(p) for p in products]
    if facet == "price":
        prices = sorted(p.value("price") or 0.0 for p in products)
        cut = prices[len(prices) // 2] if prices else 0.0
        return [(p.value("price") or 0.0) <= cut for p in products]
    if facet == "trip":
        return [None if p.value("volume") is None else
                next((t for t, (lo, hi) in TRIP_VOLUME.items()
                      if lo <= (p.value("volume", "high") or 0) <= hi), None) for p in products]
    if facet == "weight":
        weights = sorted(p.value("weight") or 0.0 for p in products)
        return [(p.value("weight") or 0.0) <= weights[len(weights) // 3] for p in products]
    if facet == "use":
        return [tuple(p.facts["use"].items[:1]) if "use" in p.facts else None for p in products]
    return []


def choose_question(candidates: Sequence[Product], needs: Needs, asked: Sequence[str]
                    ) -> str | None:
    """The facet whose answer splits the candidates best, among those not yet settled."""
    settled = needs.given() | set(asked)
    # The facets a salesperson asks first, each only when it really splits the candidates.
    for facet in ("persons", "season", "trip", "price", "use", "weight"):
        if facet in settled:
            continue
        values = facet_values(candidates, facet)
        if not values or sum(v is not None for v in values) < len(values) / 2:
            continue
        if entropy(values) >= MIN_SPLIT:
            return facet
    return None



def reason_facts(p: Product, needs: Needs) -> list[Fact]:
    """The facts that show why ``p`` fits (the ones the needs asked about first), up to four."""
    wanted: list[str] = []
    if needs.persons is not None:
        wanted.append("persons")
    if needs.season or needs.temperature is not None:
        wanted += ["seasons", "comfort_temperature", "waterproof"]
    if needs.trip or needs.volume:
        wanted.append("volume")
    if needs.max_weight is not None or needs.light:
        wanted.append("weight")
    facts = [f for f in (fact_of(p, facet) for facet in wanted) if f is not None]
    for facet in ("use", "features"):
        fact = p.facts.get(facet)
        if fact and needs.words and any(
                word_stem(fold(w)) in needs.words or any(fold(w).startswith(n) for n in needs.words)
                for item in fact.items for w in words(item)):
            facts.append(fact)
    for facet in ("seasons", "persons", "volume", "comfort_temperature", "waterproof",
                  "brightness", "weight", "use"):
        if len(facts) >= 3:
            break
        fact = fact_of(p, facet)
        if fact is not None and fact not in facts:
            facts.append(fact)
    price = fact_of(p, "price")
    if price is not None and price not in facts:
        facts.append(price)
    return list(dict.fromkeys(facts))[:4]
