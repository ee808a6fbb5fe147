"""What the adviser says: its sentences in German and English, and how facts are shown.

Every product and number in these texts comes from the catalog (``kb.catalog``); this module
only words them, so a shop can change the wording without touching the ranking.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.answer.advice.needs import Needs
from kb.catalog import FACETS, Fact, Product
from kb.types import Citation

TEXTS = {
    "de": {
        "intro": "Für {needs} empfehle ich dir:",
        "intro_plain": "Das empfehle ich dir:",
        "one": "Für {needs} passt am besten:",
        "none": "Für {needs} habe ich leider nichts Passendes im Sortiment.",
        "closest": "Am nächsten kommt {name}: {facts} [{n}]. Es passt aber nicht ganz: {misses}.",
        "more": "Möchtest du die Unterschiede als Tabelle sehen? Frag einfach nach dem Vergleich.",
        "ask_category": "Gern helfe ich dir bei der Auswahl. Was suchst du genau?",
        "ask_persons": "Für wie viele Personen soll es sein?",
        "ask_season": "Wann und bei welchem Wetter bist du unterwegs?",
        "ask_price": "Was möchtest du ungefähr ausgeben?",
        "ask_use": "Wofür brauchst du es vor allem?",
        "ask_weight": "Wie wichtig ist dir ein geringes Gewicht?",
        "ask_trip": "Wie lange bist du unterwegs?",
        "lead_ask": "Da habe ich {count} Modelle zur Auswahl. ",
        "compare": "Hier der Vergleich:",
        "compare_fit": "Für {needs} passt eher {name}: {facts} [{n}].",
        "size_one": "Bei {value} {label} passt beim {name} Größe {size} ({label} {range}) [{n}].",
        "size_two": "Bei {value} {label} liegst du beim {name} zwischen Größe {a} ({label} "
                    "{range_a}) und Größe {b} ({label} {range_b}) [{n}].",
        "size_none": "Beim {name} passt bei {value} {label} keine Größe: die Größen reichen von "
                     "{low} bis {high} {unit} [{n}].",
        "no_preference": "egal",
        "facet_list": "{label} unserer Modelle ({category}):",
        "and": "und",
        "options": {"season": ["Sommer", "Frühjahr bis Herbst", "Winter"],
                    "weight": ["so leicht wie möglich"],
                    "trip": ["Tagestour", "2–3 Tage", "eine Woche oder länger"]},
        "persons_option": lambda n: f"{n} Person" if n == 1 else f"{n} Personen",
        "price_option": lambda v: f"bis {v} €",
        "why": "passt zu: {needs}",
    },
    "en": {
        "intro": "For {needs} I recommend:",
        "intro_plain": "This is what I recommend:",
        "one": "For {needs} the best fit is:",
        "none": "Sorry, for {needs} I have nothing that fits in our range.",
        "closest": "The closest is {name}: {facts} [{n}]. But it does not quite fit: {misses}.",
        "more": "Would you like to see the differences as a table? Just ask for a comparison.",
        "ask_category": "Happy to help you choose. What are you looking for exactly?",
        "ask_persons": "For how many people should it be?",
        "ask_season": "When and in what weather will you be out?",
        "ask_price": "Roughly how much would you like to spend?",
        "ask_use": "What will you mainly use it for?",
        "ask_weight": "How important is low weight to you?",
        "ask_trip": "How long will you be out?",
        "lead_ask": "I have {count} models to choose from. ",
        "compare": "Here is the comparison:",
        "compare_fit": "For {needs} the better fit is {name}: {facts} [{n}].",
        "size_one": "With a {label} of {value}, size {size} of the {name} fits ({label} {range}) [{n}].",
        "size_two": "With a {label} of {value} you are between size {a} ({label} {range_a}) and "
                    "size {b} ({label} {range_b}) of the {name} [{n}].",
        "size_none": "No size of the {name} fits a {label} of {value}: its sizes range from "
                     "{low} to {high} {unit} [{n}].",
        "no_preference": "no preference",
        "facet_list": "The {label} of our models ({category}):",
        "and": "and",
        "options": {"season": ["summer", "spring to autumn", "winter"],
                    "weight": ["as light as possible"],
                    "trip": ["day hike", "2–3 days", "a week or longer"]},
        "persons_option": lambda n: f"{n} person" if n == 1 else f"{n} people",
        "price_option": lambda v: f"up to {v} €",
        "why": "fits: {needs}",
    },
}
LABELS_EN = {facet: english for facet, (_, english, _, _) in FACETS.items()}
MEASURE_LABELS = {"rueckenlaenge": ("Rückenlänge", "back length"),
                   "fusslaenge": ("Fußlänge", "foot length"),
                   "brustumfang": ("Brustumfang", "chest"),
                   "koerpergroesse": ("Körpergröße", "height"),
                   "kopfumfang": ("Kopfumfang", "head circumference")}


def number_text(text: str, language: str) -> str:
    """German decimal commas as points for English ("1,85 kg" -> "1.85 kg")."""
    return re.sub(r"(\d),(\d)", r"\1.\2", text) if language == "en" else text


def fact_label(fact: Fact, language: str) -> str:
    if language == "en" and fact.facet in LABELS_EN:
        return LABELS_EN[fact.facet]
    return fact.label


def fact_text(fact: Fact, language: str) -> str:
    return number_text(fact.text, language)


def range_text(fact: Fact, language: str) -> str:
    if fact.low is None:
        return fact_text(fact, language)
    if fact.high is not None and fact.high != fact.low:
        joiner = " bis " if language == "de" else " to "
        return number_text(f"{num(fact.low)}{joiner}{num(fact.high)} {fact.unit}".strip(), language)
    return fact_text(fact, language)


def num(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def fact_line(product: Product, fact: Fact) -> str:
    """How a fact appears in the cited source text: product, label (German and, for a
    known facet, English: answers to English questions use it), the value as written."""
    english = f" / {LABELS_EN[fact.facet]}" if fact.facet in LABELS_EN else ""
    return f"{product.name} – {fact.label}{english}: {fact.text}"



def source_lines(product: Product) -> str:
    """The cited text behind a product: its intro, facts and sizes as the source gives
    them, which is what the citation check compares generated sentences with."""
    lines = [f"{product.name}" + (f" ({product.category})" if product.category else "")]
    lines += [product.intro] if product.intro else []
    lines += [fact_line(product, f) for f in product.facts.values()]
    for size in product.sizes:
        for fact in size.measures.values():
            lines.append(f"{product.name} – Größe {size.name} – {fact.label}: {fact.text}")
    return "\n".join(lines)


def citation(product: Product, n: int, facts: Sequence[Fact] = ()) -> Citation:
    lines = sorted({f.line for f in facts if f.line})
    where = f" (Zeile {', '.join(map(str, lines))})" if lines else ""
    snippet = "; ".join(f"{f.label}: {f.text}" for f in facts) or product.intro[:200]
    return Citation(n=n, source=product.source, title=product.title or product.name,
                    section=None, snippet=(snippet + where)[:240], score=1.0,
                    audience=product.audience)


def needs_text(needs: Needs, language: str) -> str:
    """The needs in words, for "Für … empfehle ich dir" ("2 Personen, bis 300 €")."""
    de = language == "de"
    parts: list[str] = []
    if needs.persons:
        parts.append(TEXTS[language]["persons_option"](needs.persons))
    if needs.season:
        parts.append({"winter": "den Winter" if de else "winter",
                      "summer": "den Sommer" if de else "summer",
                      "3": "Frühjahr bis Herbst" if de else "spring to autumn"}[needs.season])
    if needs.temperature is not None:
        parts.append(f"{num(needs.temperature)} °C" if de else f"{needs.temperature:g} °C")
    if needs.trip:
        parts.append({"day": "Tagestouren" if de else "day hikes",
                      "multi": "mehrtägige Touren" if de else "trips of a few days",
                      "long": "lange Touren" if de else "long trips"}[needs.trip])
    if needs.budget is not None:
        parts.append(f"bis {num(needs.budget)} €" if de else f"up to {needs.budget:g} €")
    if needs.max_weight is not None:
        parts.append(f"unter {num(needs.max_weight)} kg" if de else f"under {needs.max_weight:g} kg")
    elif needs.light:
        parts.append("wenig Gewicht" if de else "low weight")
    if needs.measure:
        label = MEASURE_LABELS.get(needs.measure[0], (needs.measure[0],) * 2)[0 if de else 1]
        parts.append(f"{label} {num(needs.measure[1])} cm")
    if needs.size:
        parts.append(f"Größe {needs.size}" if de else f"size {needs.size}")
    return ", ".join(parts)



def facts_text(facts: Sequence[Fact], language: str) -> str:
    return ", ".join(f"{fact_label(f, language)}: {fact_text(f, language)}" for f in facts)
