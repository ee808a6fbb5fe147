"""Product advice from the catalog of facts: recommend, compare, size, in German and English.

A good salesperson asks what the customer needs and recommends what fits, with reasons.
This module does that offline and by rule, so every product and every fact it names comes
from the catalog (``kb.catalog``) and is cited:

- a pre-sales need ("Ich suche ein Zelt für 2 Personen", "I'm looking for a rain jacket")
  is read into ``Needs``; the products of the asked category are filtered by the hard
  needs (budget, persons, weight, season, size) and ranked by the soft ones (uses and
  features named);
- while more than three products fit and something decisive is open, it asks **one**
  question about the facet that splits the candidates best, with quick-reply options,
  at most three times;
- it recommends one to three products, each with the facts that make it fit; when
  nothing fits it says so and names the closest product and why it misses;
- "Unterschied zwischen A und B" gets a table of both products' facts; a body measure
  with a product ("Rückenlänge 48 cm, welche Größe beim AlpinPro 35?") gets the size from
  its size table; an English question about one product's fact gets an English sentence.

The conversation state (needs so far, questions asked, the question pending) travels
with the answer (``Answer.advice``) and comes back with the history, so advice works
across processes and after a reload.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from bot.answer.followup import Turn
from bot.answer.needs import (
    _SIZE_NAME,
    _TRIP_VOLUME,
    NO_PREFERENCE,
    Needs,
    Thread,
    _stem,
    find_categories,
    read_needs,
)
from kb.catalog import FACETS, Fact, Product, Size, _key
from kb.text import fold, mentioned_products, named_products, words
from kb.types import Citation
from kb.vocabulary import EMPTY, Vocabulary

MAX_QUESTIONS = 3
MAX_PICKS = 3
MIN_SPLIT = 0.45  # entropy (nats) a facet must split the candidates by to be worth a question

_ADVICE_CUE = re.compile(
    r"\b(ich suche|suche (?:ein|eine|einen|nach)|such(?:e)? (?:was|etwas)|ich brauche|brauche "
    r"(?:ein|eine|einen|neue|neuen|was|etwas)|benötige|empfehlt|empfiehlst|empfehlen sie|"
    r"empfehlung|könnt ihr .* empfehlen|was passt|was würdest du|was würdet ihr|welche[rsnm]? "
    r"\w+ (?:für|soll|sollte|nehm|kauf|eignet|passt|ist gut|ist am besten|würdet|empfehl)|"
    r"welche[rsnm]? \w+ (?:bei|unter|bis) |hättet ihr|habt ihr (?:ein|eine|einen|was) \w+ für|"
    r"gibt es (?:ein|eine|einen) \w+ für|was für (?:ein|eine|einen) \w+|berat\w*|"
    r"i'?m looking for|i am looking for|looking for|recommend|suggest|which \w+ (?:for|should|"
    r"would|is best|is good|fits|do you)|what \w+ (?:should|would) i|i need (?:a|an|some|new)|"
    r"i want (?:a|an|to buy)|best \w+ for|do you have (?:a|an|any) \w+ for)",
    re.IGNORECASE)
# Weaker signs of a pre-sales message: they count when the message names a category
# ("Habt ihr auch Stirnlampen?", "Suche Wanderschuhe", "Regenjacke gesucht").
_WEAK_CUE = re.compile(r"(?:^\W*(?:hallo|hi|hey|moin|servus)?\W*(?:such\w*|brauch\w*|need|want|"
                       r"looking|habt ihr|hättet ihr|gibt'?s|gibt es|have you got|do you have|"
                       r"do you sell|verkauft ihr|any|cheap|günstig\w*)\b|"
                       r"gesucht|\bsuche?\b|\bbrauch\w*\b|\bfor sale\b)", re.IGNORECASE)
# A wish anywhere in a message, for ``Adviser.rescue``.
_WISH = re.compile(r"\b(need|want|looking|please|recommend|suggest|which|what kind|brauch\w*|"
                   r"such\w*|gesucht|bitte|empfehl\w*|welche[rsnm]?|hätte gern|möchte)\b",
                   re.IGNORECASE)
# "Do I need a hammer drill for concrete?" asks what is true, not what to buy.
_KNOWLEDGE_QUESTION = re.compile(r"\W*(?:do|does|did|is|are|can|could|will|brauche ich|"
                                 r"braucht man|muss ich|ist|sind|kann|können|hat|haben)\b", re.I)
_COMPARE_CUE = re.compile(r"\b(unterschied\w*|vergleich\w*|vs\.?|versus|oder|difference|"
                          r"differ|compare\w*|or|besser|better|gegenüber)\b", re.IGNORECASE)
_SIZE_CUE = re.compile(r"\b(größe|groesse|grösse|size|passt|fit|fits|nehm\w*|brauch\w*|take|"
                       r"need|m oder l|s oder m|l oder xl)\b", re.IGNORECASE)

# English questions about one fact of one product: the facet they ask for.
# Each pattern must be the whole question's point: "How heavy is the AlpinPro 50?", not
# "Does the AlpinPro 35 take a 3 litre bladder?" (which the documents answer in prose).
_ENGLISH_ATTRIBUTES = [
    ("weight", re.compile(r"^(?:how heavy is|how much does|what does|what is the weight of|"
                          r"what'?s the weight of)\b.*?(?:\bweigh\b|$)", re.I)),
    ("price", re.compile(r"^(?:how much (?:is|does|do|are)|what does|what is the price of|"
                         r"what'?s the price of)\b.*?(?:\bcost\b|$)", re.I)),
    ("volume", re.compile(r"^(?:how many (?:litres|liters) does|what is the (?:volume|capacity) "
                          r"of|how big is)\b", re.I)),
    ("persons", re.compile(r"^(?:how many (?:people|persons) (?:does|can|fit))\b", re.I)),
    ("comfort_temperature", re.compile(r"\b(?:comfort temperature|temperature rating)\b", re.I)),
    ("limit_temperature", re.compile(r"\b(?:limit temperature|lower limit)\b", re.I)),
    ("brightness", re.compile(r"^how (?:bright|many lumens)\b", re.I)),
    ("sizes", re.compile(r"^(?:what|which) sizes? (?:does|do|is|are)\b.*\b(?:come|available)",
                         re.I)),
]
# Questions about one fact of a whole category ("Wie schwer sind eure Zelte?").
_ASKED_FACETS = [
    ("weight", r"wie schwer|wiegt|wiegen|gewicht|how heavy|weigh|weight"),
    ("price", r"was kostet|was kosten|wie teuer|preis|how much (?:is|are|does|do)|cost|price"),
    ("brightness", r"wie hell|helligkeit|lumen|how bright|brightness"),
    ("comfort_temperature", r"wie warm|komforttemperatur|how warm|comfort temperature"),
    ("volume", r"volumen|wie viele liter|fassungsvermögen|how many lit(?:re|er)s|capacity"),
    ("waterproof", r"wie wasserdicht|wassersäule|how waterproof|hydrostatic head"),
    ("persons", r"wie viele personen|how many (?:people|persons)"),
]


def _asked_facet(text: str) -> str | None:
    return next((facet for facet, pattern in _ASKED_FACETS
                 if re.search(rf"\b(?:{pattern})\b", text, re.IGNORECASE)), None)


_FACET_ORDER = ("price", "weight", "volume", "persons", "seasons", "comfort_temperature",
                "limit_temperature", "waterproof", "waterproof_flag", "brightness", "range",
                "length", "use", "features")

_TEXTS = {
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
_LABELS_EN = {facet: english for facet, (_, english, _, _) in FACETS.items()}
_MEASURE_LABELS = {"rueckenlaenge": ("Rückenlänge", "back length"),
                   "fusslaenge": ("Fußlänge", "foot length"),
                   "brustumfang": ("Brustumfang", "chest"),
                   "koerpergroesse": ("Körpergröße", "height"),
                   "kopfumfang": ("Kopfumfang", "head circumference")}


@dataclass(frozen=True)
class Pick:
    """A recommended (or compared) product with the facts that are its reasons."""

    product: Product
    facts: tuple[Fact, ...]
    reason: str
    n: int = 1

    def to_dict(self, language: str) -> dict:
        return {"name": self.product.name, "source": self.product.source,
                "category": self.product.category,
                "facts": {_label(f, language): _shown(f, language) for f in self.facts},
                "reason": self.reason, "citation": self.n}


@dataclass(frozen=True)
class Advice:
    """What the adviser says: text with [n] markers, the cited products, quick replies, and
    the thread to continue with. ``kind`` is "ask", "recommend", "nothing_fits",
    "compare", "size" or "fact"."""

    kind: str
    text: str
    picks: tuple[Pick, ...]
    citations: tuple[Citation, ...]
    options: tuple[str, ...] = ()
    thread: Thread | None = None

    @property
    def state(self) -> dict:
        return {**(self.thread.to_dict() if self.thread else {}), "kind": self.kind}


def _number_text(text: str, language: str) -> str:
    """German decimal commas as points for English ("1,85 kg" -> "1.85 kg")."""
    return re.sub(r"(\d),(\d)", r"\1.\2", text) if language == "en" else text


def _label(fact: Fact, language: str) -> str:
    if language == "en" and fact.facet in _LABELS_EN:
        return _LABELS_EN[fact.facet]
    return fact.label


def _shown(fact: Fact, language: str) -> str:
    return _number_text(fact.text, language)


def _range(fact: Fact, language: str) -> str:
    if fact.low is None:
        return _shown(fact, language)
    if fact.high is not None and fact.high != fact.low:
        joiner = " bis " if language == "de" else " to "
        return _number_text(f"{_num(fact.low)}{joiner}{_num(fact.high)} {fact.unit}".strip(), language)
    return _shown(fact, language)


def _num(value: float) -> str:
    return f"{value:g}".replace(".", ",")


def fact_line(product: Product, fact: Fact) -> str:
    """How a fact appears in the cited source text: product, label (German and, for a
    known facet, English: answers to English questions use it), the value as written."""
    english = f" / {_LABELS_EN[fact.facet]}" if fact.facet in _LABELS_EN else ""
    return f"{product.name} – {fact.label}{english}: {fact.text}"


def _names_a_size(product: Product, text: str) -> bool:
    """Whether ``text`` names one of the product's sizes ("XS oder S?", "regular or long?");
    short size codes count only as capitals, so "s" and "m" in prose do not."""
    for size in product.sizes:
        short = len(size.name) <= 3
        if re.search(rf"(?<![\w/]){re.escape(size.name)}(?![\w/])", text,
                     0 if short else re.IGNORECASE):
            return True
    return False


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


def _citation(product: Product, n: int, facts: Sequence[Fact] = ()) -> Citation:
    lines = sorted({f.line for f in facts if f.line})
    where = f" (Zeile {', '.join(map(str, lines))})" if lines else ""
    snippet = "; ".join(f"{f.label}: {f.text}" for f in facts) or product.intro[:200]
    return Citation(n=n, source=product.source, title=product.title or product.name,
                    section=None, snippet=(snippet + where)[:240], score=1.0,
                    audience=product.audience)


# -- fitting ----------------------------------------------------------------------------

def _winter_ready(p: Product) -> bool | None:
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
        out.append(("price", _fact(p, "price"), f"über deinem Budget von {_num(needs.budget)} €"
                    if de else f"over your budget of {needs.budget:g} €"))
    persons = p.value("persons", "high")
    if needs.persons is not None and persons is not None and persons < needs.persons:
        out.append(("persons", _fact(p, "persons"), f"nur für {persons:g} Person(en)" if de
                    else f"only for {persons:g} person(s)"))
    weight = p.value("weight")
    if needs.max_weight is not None and weight is not None and weight > needs.max_weight:
        out.append(("weight", _fact(p, "weight"), f"schwerer als {_num(needs.max_weight)} kg"
                    if de else f"heavier than {needs.max_weight:g} kg"))
    if needs.season == "winter" and _winter_ready(p) is False:
        out.append(("season", _fact(p, "seasons") or _fact(p, "comfort_temperature"),
                    "nicht für den Winter ausgelegt" if de else "not made for winter"))
    comfort = p.value("comfort_temperature")
    if needs.temperature is not None and comfort is not None and comfort > needs.temperature:
        out.append(("season", _fact(p, "comfort_temperature"),
                    f"Komforttemperatur über {_num(needs.temperature)} °C" if de
                    else f"comfort temperature above {needs.temperature:g} °C"))
    volume = p.value("volume", "high")
    wanted = needs.volume or (_TRIP_VOLUME[needs.trip] if needs.trip else None)
    if wanted and volume is not None and not wanted[0] <= volume <= wanted[1]:
        out.append(("volume", _fact(p, "volume"), "Volumen passt nicht zur Tour" if de
                    else "volume does not suit the trip"))
    if needs.measure and _sizes_with(p, needs.measure[0]):
        if not _fitting_sizes(p, needs.measure):
            out.append(("size", None, "keine passende Größe" if de else "no size that fits"))
    if needs.size and p.sizes and not any(fold(s.name) == fold(needs.size) for s in p.sizes):
        out.append(("size", None, f"nicht in Größe {needs.size}" if de
                    else f"not in size {needs.size}"))
    return out


def _fact(p: Product, facet: str) -> Fact | None:
    if facet in p.facts:
        return p.facts[facet]
    for size in p.sizes:
        for label, fact in size.measures.items():
            if fact.facet == facet or _key(label) == _key(FACETS.get(facet, (facet,))[0]):
                return fact
    return None


def _sizes_with(p: Product, key: str) -> list[tuple[Size, Fact]]:
    return [(s, f) for s in p.sizes for label, f in s.measures.items()
            if _key(label).replace(" ", "").startswith(key) and f.low is not None]


def _up_to(fact: Fact) -> bool:
    """A column of upper limits ("Körpergröße bis (cm)": 185)."""
    return bool(re.search(r"\b(bis|max|up to)\b", fact.label, re.IGNORECASE)) and fact.low == fact.high


def _fitting_sizes(p: Product, measure: tuple[str, float]) -> list[tuple[Size, Fact]]:
    key, value = measure
    rows = _sizes_with(p, key)
    limits = sorted(((f.high, s, f) for s, f in rows if _up_to(f) and f.high is not None
                     and value <= f.high), key=lambda row: row[0])
    if limits:  # the smallest size whose limit is not exceeded
        return [(limits[0][1], limits[0][2])]
    return [(s, f) for s, f in rows if not _up_to(f)
            and f.low is not None and f.high is not None and f.low <= value <= f.high]


def soft_score(p: Product, needs: Needs) -> float:
    """How well ``p`` matches the soft needs: named uses and features, the season, light."""
    product_words = {_stem(w) for w in p.words()} | p.words()
    score = 0.0
    for word in needs.words:
        if word in product_words or (len(word) >= 5 and any(
                w.startswith(word) or (len(w) >= 5 and word.startswith(w)) for w in product_words)):
            score += 1.0
    winter = _winter_ready(p)
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


def _use_match(p: Product, needs: Needs) -> bool:
    """Does a need word name one of the product's uses or features ("fürs Radfahren")?"""
    items = {_stem(w) for fact in (p.facts.get("use"), p.facts.get("features")) if fact
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


# -- asking -----------------------------------------------------------------------------

def _entropy(values: Sequence[object]) -> float:
    counts: dict[object, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    total = len(values)
    return -sum(c / total * math.log(c / total) for c in counts.values()) if total else 0.0


def _facet_values(products: Sequence[Product], facet: str) -> list[object]:
    if facet == "persons":
        return [p.value("persons", "high") for p in products]
    if facet == "season":
        return [_winter_ready(p) for p in products]
    if facet == "price":
        prices = sorted(p.value("price") or 0.0 for p in products)
        cut = prices[len(prices) // 2] if prices else 0.0
        return [(p.value("price") or 0.0) <= cut for p in products]
    if facet == "trip":
        return [None if p.value("volume") is None else
                next((t for t, (lo, hi) in _TRIP_VOLUME.items()
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
        values = _facet_values(candidates, facet)
        if not values or sum(v is not None for v in values) < len(values) / 2:
            continue
        if _entropy(values) >= MIN_SPLIT:
            return facet
    return None


def question_for(facet: str, candidates: Sequence[Product], language: str) -> tuple[str, list[str]]:
    """The clarifying question about ``facet`` and its quick-reply options."""
    t = _TEXTS[language]
    if facet == "persons":
        counts = sorted({int(v) for v in _facet_values(candidates, "persons") if v})
        options = [t["persons_option"](n) for n in counts[:5]]
    elif facet == "price":
        prices = sorted(p.value("price") or 0.0 for p in candidates)
        cuts = sorted({_round_price(prices[len(prices) // 3]), _round_price(prices[2 * len(prices) // 3])})
        options = [t["price_option"](c) for c in cuts if c > 0]
    elif facet == "use":
        seen: dict[str, None] = {}
        for p in candidates:
            for item in p.facts.get("use", Fact("use", "", "")).items[:2]:
                seen.setdefault(item, None)
        options = list(seen)[:5]
    else:
        options = list(t["options"][facet])
    return t[f"ask_{facet}"], options + [t["no_preference"]]


def _round_price(value: float) -> int:
    step = 50 if value >= 200 else 25 if value >= 60 else 10
    return int(math.ceil(value / step) * step)


# -- describing -------------------------------------------------------------------------

def needs_text(needs: Needs, language: str) -> str:
    """The needs in words, for "Für … empfehle ich dir" ("2 Personen, bis 300 €")."""
    de = language == "de"
    parts: list[str] = []
    if needs.persons:
        parts.append(_TEXTS[language]["persons_option"](needs.persons))
    if needs.season:
        parts.append({"winter": "den Winter" if de else "winter",
                      "summer": "den Sommer" if de else "summer",
                      "3": "Frühjahr bis Herbst" if de else "spring to autumn"}[needs.season])
    if needs.temperature is not None:
        parts.append(f"{_num(needs.temperature)} °C" if de else f"{needs.temperature:g} °C")
    if needs.trip:
        parts.append({"day": "Tagestouren" if de else "day hikes",
                      "multi": "mehrtägige Touren" if de else "trips of a few days",
                      "long": "lange Touren" if de else "long trips"}[needs.trip])
    if needs.budget is not None:
        parts.append(f"bis {_num(needs.budget)} €" if de else f"up to {needs.budget:g} €")
    if needs.max_weight is not None:
        parts.append(f"unter {_num(needs.max_weight)} kg" if de else f"under {needs.max_weight:g} kg")
    elif needs.light:
        parts.append("wenig Gewicht" if de else "low weight")
    if needs.measure:
        label = _MEASURE_LABELS.get(needs.measure[0], (needs.measure[0],) * 2)[0 if de else 1]
        parts.append(f"{label} {_num(needs.measure[1])} cm")
    if needs.size:
        parts.append(f"Größe {needs.size}" if de else f"size {needs.size}")
    return ", ".join(parts)


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
    facts = [f for f in (_fact(p, facet) for facet in wanted) if f is not None]
    for facet in ("use", "features"):
        fact = p.facts.get(facet)
        if fact and needs.words and any(
                _stem(fold(w)) in needs.words or any(fold(w).startswith(n) for n in needs.words)
                for item in fact.items for w in words(item)):
            facts.append(fact)
    for facet in ("seasons", "persons", "volume", "comfort_temperature", "waterproof",
                  "brightness", "weight", "use"):
        if len(facts) >= 3:
            break
        fact = _fact(p, facet)
        if fact is not None and fact not in facts:
            facts.append(fact)
    price = _fact(p, "price")
    if price is not None and price not in facts:
        facts.append(price)
    return list(dict.fromkeys(facts))[:4]


def facts_text(facts: Sequence[Fact], language: str) -> str:
    return ", ".join(f"{_label(f, language)}: {_shown(f, language)}" for f in facts)


class Adviser:
    """Product advice over the catalog of one view. Stateless; the thread travels with the
    answers (``Advice.state``) and comes back in the history (``Turn.advice``)."""

    def __init__(self, catalog: Callable[[str], list[Product]],
                 vocabulary: Callable[[], Vocabulary] = lambda: EMPTY) -> None:
        self.catalog = catalog
        self.vocabulary = vocabulary

    def respond(self, text: str, language: str, view: str = "customer",
                history: Sequence[Turn] = ()) -> Advice | None:
        """Advice for ``text``, or None when it is not a pre-sales message."""
        products = self.catalog(view)
        if not products:
            return None
        language = language if language in _TEXTS else "de"
        vocabulary = self.vocabulary()
        categories = sorted({p.category for p in products if p.category})
        names = [p.name for p in products]
        named = named_products(text, names)
        thread = Thread.from_dict(history[-1].advice) if history and history[-1].advice else None
        if thread and thread.pending:
            return self._continue(text, language, products, categories, thread, vocabulary)
        compared = named if len(named) >= 2 else mentioned_products(text, names)
        if len(compared) >= 2 and _COMPARE_CUE.search(text):
            return self.compare([_by_name(products, n) for n in compared[:3]], text, language,
                                categories, vocabulary)
        needs = read_needs(text, categories, vocabulary, language=language)
        if len(named) == 1 and needs.measure and (
                _SIZE_CUE.search(text) or _names_a_size(_by_name(products, named[0]), text)):
            return self.size(_by_name(products, named[0]), needs, language)
        if len(named) == 1 and language == "en":
            return self.fact(_by_name(products, named[0]), text, language)
        if named:
            return None
        facet = _asked_facet(text)
        # Only a bare question about the fact: "höchstens 700 g" is a need, not a question.
        stated = needs.given() - {"categories", "words"}
        if facet and len(needs.categories) == 1 and not stated and not _ADVICE_CUE.search(text):
            return self.facet_list(needs.categories[0], facet, products, language)
        if _KNOWLEDGE_QUESTION.match(text):
            return None
        if not (_ADVICE_CUE.search(text) or needs.categories and _WEAK_CUE.search(text)):
            return None
        if not needs.categories and not any(_use_match(p, needs) for p in products):
            return None  # "Ich suche meine Bestellung": not about anything we sell
        return self.recommend(needs, Thread(needs), language, products, categories)

    def rescue(self, text: str, language: str, view: str = "customer") -> Advice | None:
        """Advice for a message the cue words missed, asked only when the documents have
        no answer for it (instead of a handoff): one category we sell, and a need stated
        (a season, a budget, persons, a temperature, a weight …) or a wish ("need a tent",
        "Regenjacke gesucht"). A question about a named product is left alone."""
        products = self.catalog(view)
        if not products or named_products(text, [p.name for p in products]):
            return None
        language = language if language in _TEXTS else "de"
        categories = sorted({p.category for p in products if p.category})
        needs = read_needs(text, categories, self.vocabulary(), language=language)
        if len(needs.categories) != 1:
            return None
        stated = needs.given() - {"categories", "words"}
        if not stated and (_KNOWLEDGE_QUESTION.match(text) or not _WISH.search(text)):
            return None
        return self.recommend(needs, Thread(needs), language, products, categories)

    def facet_list(self, category: str, facet: str, products: list[Product],
                   language: str) -> Advice | None:
        """One fact across a category ("Wie hell sind eure Stirnlampen?"): every product of
        the category with its value, cited; None when the category has only one product
        that states it (its page answers that in prose)."""
        rows = [(p, _fact(p, facet)) for p in products if p.category == category]
        rows = sorted(((p, f) for p, f in rows if f is not None),
                      key=lambda row: (row[1].low if row[1].low is not None else 0.0, row[0].name))
        if len(rows) < 2:
            return None
        t = _TEXTS[language]
        picks = tuple(Pick(p, (f,), "", n) for n, (p, f) in enumerate(rows, start=1))
        lines = [t["facet_list"].format(label=_label(rows[0][1], language), category=category)]
        lines += [f"- **{pk.product.name}** – {facts_text(pk.facts, language)} [{pk.n}]."
                  for pk in picks]
        return Advice("facet_list", "\n".join(lines), picks,
                      tuple(_citation(pk.product, pk.n, pk.facts) for pk in picks))

    # -- the dialogue -------------------------------------------------------------------
    def _continue(self, text: str, language: str, products: list[Product],
                  categories: list[str], thread: Thread, vocabulary: Vocabulary) -> Advice | None:
        pending = thread.pending
        said = read_needs(text, categories, vocabulary, pending, language)
        if pending == "category" and not said.categories:
            chosen = find_categories(text, categories, vocabulary, language) or tuple(
                c for c in categories if fold(c) in fold(text))
            said = replace(said, categories=chosen)
        if pending == "use" and not said.words and not NO_PREFERENCE.match(text):
            said = replace(said, words=tuple(_stem(fold(w)) for w in words(text) if len(w) >= 4))
        if said.is_empty() and not NO_PREFERENCE.match(text):
            if text.strip().endswith("?") or len(words(text)) > 6:
                return None  # a new question: the dialogue is left, the question answered
            said = Needs(no_preference=(pending,) if pending else ())
        needs = thread.needs.merged(said)
        return self.recommend(needs, Thread(needs, thread.asked, None), language, products,
                              categories)

    def recommend(self, needs: Needs, thread: Thread, language: str, products: list[Product],
                  categories: list[str]) -> Advice:
        t = _TEXTS[language]
        in_category = [p for p in products if p.category in needs.categories] \
            if needs.categories else []
        if not in_category:
            by_words = [p for p in products if soft_score(p, needs) >= 1]
            found = sorted({p.category for p in by_words if p.category})
            if len(found) == 1:
                needs = replace(needs, categories=tuple(found))
                in_category = [p for p in products if p.category == found[0]]
            elif len(thread.asked) < MAX_QUESTIONS and "category" not in thread.asked:
                options = (found or needs.categories or categories)[:6]
                return Advice("ask", t["ask_category"], (), (), tuple(options),
                              Thread(needs, thread.asked + ["category"], "category"))
            else:
                in_category = by_words or products
        fits = [p for p in in_category if not misses(p, needs, language)]
        ranked = rank(fits, needs)
        best = soft_score(ranked[0], needs) if ranked else 0.0
        top = [p for p in ranked if soft_score(p, needs) >= best] if best > 0 else ranked
        if len(top) > MAX_PICKS and len(thread.asked) < MAX_QUESTIONS:
            facet = choose_question(top, needs, thread.asked)
            if facet:
                question, options = question_for(facet, top, language)
                lead = t["lead_ask"].format(count=len(top)) if not thread.asked else ""
                return Advice("ask", lead + question, (), (), tuple(options),
                              Thread(needs, thread.asked + [facet], facet))
        thread = Thread(needs, thread.asked, None)
        if not fits:
            return self._nothing_fits(needs, in_category, thread, language)
        picks = []
        for n, p in enumerate(top[:MAX_PICKS] or ranked[:MAX_PICKS], start=1):
            facts = reason_facts(p, needs)
            picks.append(Pick(p, tuple(facts), t["why"].format(needs=needs_text(needs, language)
                                                                 or facts_text(facts[:2], language)), n))
        described = needs_text(needs, language)
        head = (t["one"] if len(picks) == 1 else t["intro"]).format(needs=described) \
            if described else t["intro_plain"]
        lines = [head] + [f"- **{pk.product.name}** – {facts_text(pk.facts, language)} [{pk.n}]."
                          for pk in picks]
        if len(picks) > 1:
            lines.append(t["more"])
        return Advice("recommend", "\n".join(lines), tuple(picks),
                      tuple(_citation(pk.product, pk.n, pk.facts) for pk in picks), (), thread)

    def _nothing_fits(self, needs: Needs, candidates: list[Product], thread: Thread,
                      language: str) -> Advice:
        t = _TEXTS[language]
        described = needs_text(needs, language) or ", ".join(needs.categories)
        if not candidates:
            return Advice("nothing_fits", t["none"].format(needs=described), (), (), (), thread)
        closest = min(candidates, key=lambda p: (len(misses(p, needs, language)),
                                                 -soft_score(p, needs), p.value("price") or 0))
        missed = misses(closest, needs, language)
        shown = [f for _, f, _ in missed if f is not None]
        facts = list(dict.fromkeys(shown + reason_facts(closest, needs)))[:4]
        text = t["none"].format(needs=described) + " " + t["closest"].format(
            name=f"**{closest.name}**", facts=facts_text(facts, language), n=1,
            misses="; ".join(why for _, _, why in missed))
        pick = Pick(closest, tuple(facts), "; ".join(why for _, _, why in missed), 1)
        return Advice("nothing_fits", text, (pick,), (_citation(closest, 1, facts),), (), thread)

    # -- comparisons, sizes, facts ------------------------------------------------------
    def compare(self, products: list[Product], text: str, language: str, categories: list[str],
                vocabulary: Vocabulary) -> Advice:
        t = _TEXTS[language]
        facets = [f for f in _FACET_ORDER if any(_fact(p, f) for p in products)]
        head = "| | " + " | ".join(f"{p.name} [{n}]" for n, p in enumerate(products, 1)) + " |"
        rows = [head, "|---" * (len(products) + 1) + "|"]
        for facet in facets:
            label = _LABELS_EN.get(facet, facet) if language == "en" else FACETS[facet][0]
            cells = []
            for n, p in enumerate(products, 1):
                fact = _fact(p, facet)
                cells.append(f"{_shown(fact, language)} [{n}]" if fact else "–")
            rows.append(f"| {label} | " + " | ".join(cells) + " |")
        sizes = [", ".join(s.name for s in p.sizes) for p in products]
        if any(sizes):
            label = "Größen" if language == "de" else "sizes"
            rows.append(f"| {label} | " + " | ".join(f"{s} [{n}]" if s else "–"
                                                      for n, s in enumerate(sizes, 1)) + " |")
        lines = [t["compare"], "", *rows]
        needs = read_needs(_strip_names(text, products), categories, vocabulary, language=language)
        needs = replace(needs, categories=())
        picks = [Pick(p, tuple(f for f in (_fact(p, facet) for facet in facets) if f), "", n)
                 for n, p in enumerate(products, 1)]
        if not needs.is_empty():
            fitting = rank([p for p in products if not misses(p, needs, language)], needs)
            if fitting and (len(fitting) < len(products) or soft_score(fitting[0], needs) >
                            soft_score(fitting[-1], needs)):
                winner = fitting[0]
                n = products.index(winner) + 1
                facts = reason_facts(winner, needs)[:3]
                lines += ["", t["compare_fit"].format(needs=needs_text(needs, language) or
                                                      ", ".join(needs.words), name=f"**{winner.name}**",
                                                      facts=facts_text(facts, language), n=n)]
                picks = [replace(pk, reason=t["why"].format(needs=needs_text(needs, language)))
                         if pk.product is winner else pk for pk in picks]
        citations = tuple(_citation(p, n, pk.facts) for n, (p, pk) in
                          enumerate(zip(products, picks, strict=True), 1))
        return Advice("compare", "\n".join(lines), tuple(picks), citations)

    def size(self, product: Product, needs: Needs, language: str) -> Advice | None:
        assert needs.measure is not None
        key, value = needs.measure
        rows = _sizes_with(product, key)
        if not rows:
            return None
        t = _TEXTS[language]
        # "Körpergröße bis" heads a column of limits; the sentence names the measure.
        label = re.sub(r"\s+(?:bis|max\.?)$", "", _label(rows[0][1], language)) \
            if language == "de" else _MEASURE_LABELS.get(key, (key, key))[1]
        shown_value = f"{_number_text(_num(value), language)} cm"
        fitting = _fitting_sizes(product, needs.measure)
        if len(fitting) == 1:
            size, fact = fitting[0]
            text = t["size_one"].format(value=shown_value, label=label, name=product.name,
                                        size=size.name, range=_range(fact, language), n=1)
        elif len(fitting) >= 2:
            (a, fa), (b, fb) = fitting[0], fitting[-1]
            text = t["size_two"].format(value=shown_value, label=label, name=product.name, a=a.name,
                                        b=b.name, range_a=_range(fa, language),
                                        range_b=_range(fb, language), n=1)
        else:
            lows = [f.low for _, f in rows if f.low is not None]
            highs = [f.high for _, f in rows if f.high is not None]
            text = t["size_none"].format(name=product.name, value=shown_value, label=label,
                                         low=_number_text(_num(min(lows)), language),
                                         high=_number_text(_num(max(highs)), language),
                                         unit=rows[0][1].unit, n=1)
        facts = [f for _, f in (fitting or rows)]
        pick = Pick(product, tuple(facts), ", ".join(s.name for s, _ in fitting), 1)
        return Advice("size", text, (pick,), (_citation(product, 1, facts),))

    def fact(self, product: Product, text: str, language: str) -> Advice | None:
        """An English sentence for one fact of one product ("How heavy is the AlpinPro 50?")."""
        plain = _strip_names(text, [product]).strip()
        if re.search(r"\d", plain):
            return None  # a question about a particular number is answered from the prose
        facet = next((f for f, pattern in _ENGLISH_ATTRIBUTES if pattern.search(plain)), None)
        if facet is None:
            return None
        if facet == "sizes":
            if not product.sizes:
                return None
            listed = "; ".join(f"{s.name} ({facts_text(list(s.measures.values()), language)})"
                               if s.measures else s.name for s in product.sizes)
            facts = [f for s in product.sizes for f in s.measures.values()]
            sentence = f"The {product.name} comes in these sizes: {listed} [1]."
            return Advice("fact", sentence, (Pick(product, tuple(facts), "", 1),),
                          (_citation(product, 1, facts),))
        fact = product.facts.get(facet)
        per_size = [(s, f) for s in product.sizes for f in s.measures.values() if f.facet == facet]
        asked = _SIZE_NAME.search(plain)
        if asked:  # "How heavy is it in size L?": that size's value, or the prose answers
            per_size = [(s, f) for s, f in per_size if fold(s.name) == fold(asked.group(1))]
            if not per_size:
                return None
            fact = None
        if fact is None and not per_size:
            return None
        verb = {"weight": "weighs", "price": "costs", "volume": "holds"}.get(facet)
        label = _LABELS_EN.get(facet, facet)
        if per_size and fact is None:
            parts = [f"{_shown(f, language)} in size {s.name}" for s, f in per_size]
            value = ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else parts[0]
            facts = [f for _, f in per_size]
        else:
            assert fact is not None
            value, facts = _shown(fact, language), [fact]
        sentence = (f"The {product.name} {verb} {value} [1]." if verb else
                    f"The {product.name} has a {label} of {value} [1].")
        return Advice("fact", sentence, (Pick(product, tuple(facts), "", 1),),
                      (_citation(product, 1, facts),))


def _by_name(products: Sequence[Product], name: str) -> Product:
    return next(p for p in products if p.name == name)


def _strip_names(text: str, products: Sequence[Product]) -> str:
    for p in products:
        text = re.sub(re.escape(p.name), " ", text, flags=re.IGNORECASE)
    return text
