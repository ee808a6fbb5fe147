"""What a customer needs, read from their words: category, budget, persons, season, size …

Product advice starts from needs, not from a search: "Welches Zelt unter 300 Euro für 2
Personen?" is ``Needs(categories=("Zelt",), budget=300, persons=2)``. The reader works
offline, by rule, in German and English, and knows the categories only from the catalog
(so a shop that sells lamps or coffee machines gets its own categories, not ours).

    >>> read_needs("Welches Zelt unter 300 Euro für 2 Personen?", ["Zelt", "Rucksack"])
    Needs(categories=('Zelt',), budget=300.0, persons=2, ...)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache

from text_to_num import alpha2digit

from kb.catalog import number
from kb.glossary import german_terms
from kb.lexical import is_dictionary_word
from kb.text import fold
from kb.vocabulary import EMPTY, Vocabulary

_NUMBER_WORDS = {"ein": 1, "eine": 1, "einen": 1, "one": 1, "zwei": 2, "two": 2, "drei": 3,
                 "three": 3, "vier": 4, "four": 4, "fünf": 5, "fuenf": 5, "five": 5, "sechs": 6,
                 "six": 6, "sieben": 7, "acht": 8}
_NUM = r"(\d+(?:[.,]\d+)?|" + "|".join(_NUMBER_WORDS) + r")"
_AMOUNT = r"(\d+(?:[.,]\d{3})*(?:[.,]\d{1,2})?)"


def _n(text: str) -> float | None:
    return float(_NUMBER_WORDS[text.lower()]) if text.lower() in _NUMBER_WORDS else number(text)


# Budget: a ceiling word and an amount, or an amount in euros.
_BUDGET = [
    re.compile(r"(?:unter|bis(?: zu)?|max(?:imal)?\.?|höchstens|hoechstens|nicht mehr als|"
               r"weniger als|günstiger als|guenstiger als|under|below|up to|less than|max\.?|"
               r"at most|cheaper than|budget(?: von| of| is| ist|:)?|kosten darf|spend)\s*"
               rf"(?:€|eur|euro|\$)?\s*{_AMOUNT}\s*(?:€|eur\b|euro|euros|\$|dollar)?(?!\s*(?:kg|g\b|"
               r"gramm|kilo|l\b|liter|cm|mm|m\b|grad|°|personen|people|lm|lumen|%))",
               re.IGNORECASE),
    re.compile(rf"{_AMOUNT}\s*(?:€|eur\b|euro)", re.IGNORECASE),
]
_WEIGHT = re.compile(r"(?:unter|bis|max(?:imal)?\.?|höchstens|leichter als|weniger als|under|"
                     r"below|less than|lighter than|at most|max\.?)\s*(\d+(?:[.,]\d+)?)\s*"
                     r"(kg|kilo(?:gramm)?|g|gramm|grams?)\b", re.IGNORECASE)
_LIGHT = re.compile(r"\b(ultra-?leicht\w*|leicht\w*|geringe[sn]? gewicht|light(?:weight|est)?|"
                    r"ultralight|so leicht wie möglich|as light as possible)\b", re.IGNORECASE)
_PERSONS = [
    re.compile(rf"\b{_NUM}\s*(?:-\s*)?(?:personen|person|pers\.|leute|people|persons|mann)\b",
               re.IGNORECASE),
    re.compile(rf"\bfor\s+{_NUM}\b(?!\s*(?:€|euro|kg|g|l|cm|days?|weeks?|nights?|hours?))",
               re.IGNORECASE),
]
_PERSONS_WORDS = {"zu zweit": 2, "zu dritt": 3, "zu viert": 4, "zu fünft": 5, "zu fuenft": 5,
                  "allein": 1, "alleine": 1, "solo": 1, "für mich allein": 1, "alone": 1,
                  "just me": 1, "myself": 1, "mit meiner freundin": 2, "mit meinem freund": 2,
                  "mit meiner frau": 2, "mit meinem mann": 2, "mit partner": 2,
                  "mit meiner partnerin": 2, "mit meinem partner": 2, "with my partner": 2,
                  "with my girlfriend": 2, "with my boyfriend": 2, "with my wife": 2,
                  "with my husband": 2, "familie": 4, "family": 4, "couple": 2, "paar": 2}
_WINTER = re.compile(r"\b(winter\w*|schnee\w*|snow\w*|eis|frost\w*|minusgrade\w*|"
                     r"4[- ]?jahreszeiten\w*|vier jahreszeiten|ganzjährig|ganzjaehrig|"
                     r"4[- ]?seasons?|four[- ]seasons?|all[- ]year|kälte|kaelte|cold)\b",
                     re.IGNORECASE)
_SUMMER = re.compile(r"\b(sommer\w*|summer|festival\w*|hitze|heat|warme nächte|warm nights)\b",
                     re.IGNORECASE)
_THREE = re.compile(r"\b(3[- ]?jahreszeiten|drei jahreszeiten|frühjahr\w*|fruehjahr\w*|frühling|"
                    r"fruehling|herbst\w*|spring|autumn|fall|3[- ]?seasons?|three[- ]seasons?|"
                    r"übergangszeit|uebergangszeit)\b", re.IGNORECASE)
_MONTH = re.compile(r"\b(januar|jänner|january|februar|february|märz|march|april|mai|may|juni|"
                    r"june|juli|july|august|september|oktober|october|november|dezember|"
                    r"december)\b", re.IGNORECASE)
_MONTH_SEASON = {"jan": "winter", "jän": "winter", "feb": "winter", "mär": "3", "mar": "3",
                 "apr": "3", "mai": "summer", "may": "summer", "jun": "summer", "jul": "summer",
                 "aug": "summer", "sep": "3", "okt": "3", "oct": "3", "nov": "winter",
                 "dez": "winter", "dec": "winter"}
_TEMPERATURE = re.compile(r"(minus\s*|-\s?|−\s?|plus\s*|\+\s?)?(\d+)\s*(?:°\s?c?|grad|degrees?)",
                          re.IGNORECASE)
_VOLUME = re.compile(r"(mindestens|min\.?|at least|über|ueber|more than)?\s*(\d+)\s*"
                     r"(?:l|liter|litre|liters|litres)\b", re.IGNORECASE)
_TRIP = [
    ("day", re.compile(r"\b(tagestour\w*|tageswanderung\w*|tagesausflug\w*|für einen tag|"
                       r"day hikes?|day trips?|day tours?|for a day|tagesrucksack|daypack)\b",
                       re.IGNORECASE)),
    ("long", re.compile(r"\b(wochen?|eine woche|mehrere wochen|woche lang|week|weeks|"
                        r"expedition\w*|fernwanderweg\w*|thru[- ]hike|mit zelt|with a tent|"
                        r"\d{2,}\s*tage|10 days|two weeks|weitwanderung\w*)\b", re.IGNORECASE)),
    ("multi", re.compile(r"\b(wochenende\w*|mehrtag\w*|mehrere tage|[2-5]\s*(?:-|–|bis)?\s*[2-5]?"
                         r"\s*tage|zwei tage|drei tage|hüttentour\w*|huettentour\w*|"
                         r"weekend|overnight|multi-?day|2-3 days|few days|several days)\b",
                         re.IGNORECASE)),
]
TRIP_VOLUME = {"day": (0.0, 35.0), "multi": (30.0, 55.0), "long": (45.0, 200.0)}
# Body measures and the size-table columns they are read against.
_MEASURES = {
    "rueckenlaenge": r"rückenlänge|rueckenlaenge|rueckenlange|rückenlange|ruckenlange|"
                     r"torso(?: length)?|back length",
    "fusslaenge": r"fußlänge|fusslaenge|fusslange|fußlange|foot length",
    "brustumfang": r"brustumfang|brust|chest(?: size)?",
    "koerpergroesse": r"körpergröße|koerpergroesse|körpergrösse|körperlänge|height|"
                      r"ich bin|i am|i'm|bin",
    "kopfumfang": r"kopfumfang|head circumference",
}
_MEASURE_RE = [(key, re.compile(rf"(?:{alt})\s*(?:von|of|is|ist|:|=|beträgt|betraegt)?\s*"
                               r"(?:ca\.?|etwa|about|around)?\s*(\d+(?:[.,]\d+)?)\s*(cm|m)?\b",
                               re.IGNORECASE))
               for key, alt in _MEASURES.items()]
_MEASURE_AFTER = re.compile(r"(\d+(?:[.,]\d+)?)\s*(cm|m)\s+(rückenlänge|rueckenlaenge|"
                            r"fußlänge|fusslaenge|brustumfang|körpergröße|koerpergroesse|groß|"
                            r"gross|tall|back length|torso|foot length|chest)", re.IGNORECASE)
SIZE_NAME = re.compile(r"\b(?:schuhgröße|schuhgroesse|größe|groesse|grösse|shoe size|size|"
                        r"gr\.)\s*(\d{2}(?:[.,]5)?|xxs|xs|s|m|l|xl|xxl)\b", re.IGNORECASE)
NO_PREFERENCE = re.compile(r"^\s*(egal|ist mir egal|keine ahnung|weiß nicht|weiss nicht|"
                           r"beliebig|mir egal|egal was|no preference|doesn'?t matter|"
                           r"don'?t care|any|whatever|not sure|no idea|nicht wichtig|"
                           r"not important|keine präferenz|egal\W*)\s*[.!]*\s*$", re.IGNORECASE)

# Words that carry the request, not the need: left out when matching products by words.
_FILLER = set("""ich suche suchen sucht brauche brauchen benötige benoetige empfehlt empfehlen
    empfiehlst empfehlung welche welcher welches welchen welchem passt passen passende
    gut gute guten guter gutes beste besten bester bestes eine einen einer eines ein der
    die das den dem des für fuer mit und oder für zum zur von vom bei beim im in auf was
    wie soll sollte kann könnt koennt gibt habt hast haben ist sind mir mich meine meinen
    mein wir uns unser euch ihr dein deine etwas noch auch sehr mal bitte hallo hi moin
    danke kaufen holen nehmen nehme kauf möchte moechte will würde wuerde hätte haette gern
    gerne am an als aus so nicht kein keine neue neuen neues neu jetzt dann denn doch ja
    nein schon aber weil damit dafür dafuer dazu eher lieber einem sie es er man wäre waere
    looking for recommend recommendation which what should buy get need want good best the
    for with and or my me our a an to of in on is are do you have any some would like i
    im i'm can could please hello hi thanks new one that this there suggest advise pick
    choose unter bis über ueber unter euro eur personen person leute people unterwegs
    preis kosten budget max maximal höchstens gewicht liter woche wochen tage tag days day
    week weeks zwischen fürs fuers furs aufs ans zum beim""".split())


@dataclass(frozen=True)
class Needs:
    """What the customer asked for; ``None`` or empty when they did not say."""

    categories: tuple[str, ...] = ()
    budget: float | None = None
    persons: int | None = None
    max_weight: float | None = None  # kg
    light: bool = False
    season: str | None = None  # "winter", "summer" or "3" (spring to autumn)
    temperature: float | None = None  # °C the product must keep warm at
    volume: tuple[float, float] | None = None  # litres, low and high
    trip: str | None = None  # "day", "multi" or "long"
    measure: tuple[str, float] | None = None  # (measure key, value in cm)
    size: str | None = None  # a size name the customer asked for ("44", "L")
    words: tuple[str, ...] = ()  # folded words to find in uses, features and intros
    no_preference: tuple[str, ...] = ()  # facets the customer does not care about

    def merged(self, newer: Needs) -> Needs:
        """These needs updated by a later message: what it says wins, the rest stays."""
        values = asdict(self)
        for key, value in asdict(newer).items():
            if key == "words":
                values[key] = tuple(dict.fromkeys(self.words + newer.words))
            elif key == "no_preference":
                values[key] = tuple(dict.fromkeys(self.no_preference + newer.no_preference))
            elif value not in (None, (), False):
                values[key] = value
        return Needs(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})

    def given(self) -> set[str]:
        """The facets the customer has settled (said something about, or "egal")."""
        said = {k for k, v in asdict(self).items() if v not in (None, (), False)}
        if self.light or self.max_weight is not None:
            said.add("weight")
        if self.temperature is not None:
            said.add("season")
        if self.trip or self.volume:
            said |= {"trip", "volume"}
        if self.budget is not None:
            said.add("price")
        return said | set(self.no_preference)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()
                if v not in (None, (), False)}

    @classmethod
    def from_dict(cls, data: dict) -> Needs:
        fields = {}
        for key, value in (data or {}).items():
            if key in cls.__dataclass_fields__:
                fields[key] = tuple(value) if isinstance(value, list) else value
        return cls(**fields)

    def is_empty(self) -> bool:
        return not self.given()


def word_stem(word: str) -> str:
    """A crude German/English stem for matching product words: plural and case endings off."""
    for ending in ("ungen", "innen", "ern", "en", "er", "es", "e", "n", "s"):
        if word.endswith(ending) and len(word) - len(ending) >= 4:
            return word[: -len(ending)]
    return word


@lru_cache(maxsize=1024)
def category_keys(category: str) -> tuple[str, str | None]:
    """A category's folded name and its head noun when it is a compound the dictionary
    knows the end of ("Wanderschuh" -> ("wanderschuh", "schuh")), else None."""
    key = fold(category).replace(" ", "")
    for start in range(1, len(key) - 3):
        head = key[start:]
        if is_dictionary_word(head) and len(head) >= 4:
            return key, head
    return key, None


# Words before a category that ask for it ("welcher Rucksack", "need a tent") or make it
# the setting of the question ("mit Zelt", "zum Zelten", "with a light pack").
_ASKING = {"welche", "welcher", "welches", "welchen", "welchem", "which", "what", "need", "needs",
           "brauche", "brauch", "suche", "such", "looking", "want", "empfehlt", "recommend",
           "gesucht", "eine", "einen"}
_SETTING = {"mit", "with", "zum", "zur", "beim", "ohne", "without", "fur", "for", "furs",
            "fuers", "mein", "meinen", "meinem", "meine", "my", "our", "unser", "unseren"}
_BEFORE = 3  # tokens looked at before a category's mention


def find_categories(text: str, categories: Sequence[str], vocabulary: Vocabulary = EMPTY,
                    language: str = "de") -> tuple[str, ...]:
    """The categories a message asks for: by name or plural ("Zelte"), by English word
    through the glossary and the shop's vocabulary ("tent"), or by the head of the
    compounds ("Schuhe" -> every category ending in "schuh"). When it names several, the
    one it asks for wins ("welcher Rucksack … mit Zelt" asks for a pack), else the first
    named that is not only the setting ("zum Zelten", "with a light pack")."""
    tokens = [fold(w) for w in re.findall(r"[\wäöüÄÖÜß-]+", text)]
    translated = [(i, fold(t)) for i, w in enumerate(tokens)
                  for t in vocabulary.words_for(w, language).split()]
    translated += [(-1, fold(t)) for t in vocabulary.words_for(text, language).split()]
    if language == "en":
        translated += [(i, fold(t)) for i, w in enumerate(tokens)
                       for g in german_terms(w) for t in g.split()]
    # What the customer wrote outranks what a vocabulary made of it ("Trekking" brings
    # "Trekkingstöcke" but "Rucksack für Trekking" asks for a pack).
    for group in (list(enumerate(tokens)), translated):
        exact: dict[str, int] = {}
        by_head: dict[str, int] = {}
        for category in categories:
            key, head = category_keys(category)
            for i, token in group:
                token = token.replace("-", "")
                stem = word_stem(token)
                if token == key or stem == key or (len(key) >= 4 and token.startswith(key)
                                                   and len(token) - len(key) <= 3):
                    exact.setdefault(category, i)
                    break
                # "Schuhe" names every kind of shoe; "Kinderrucksäcke" or "Tourenschuhe"
                # name a kind the shop may not sell, so they name no category.
                if head and head in (token, stem):
                    by_head.setdefault(category, i)
        found = exact or by_head
        if found:
            return _asked_for(found, tokens) if exact else tuple(found)
    return ()


def _asked_for(found: dict[str, int], tokens: list[str]) -> tuple[str, ...]:
    """Of several named categories, the one asked for (see ``find_categories``)."""
    ordered = sorted(found, key=lambda c: (found[c] < 0, found[c]))
    if len(ordered) == 1:
        return tuple(ordered)

    def before(category: str) -> set[str]:
        i = found[category]
        return set(tokens[max(0, i - _BEFORE):i]) if i >= 0 else set()

    asked = [c for c in ordered if before(c) & _ASKING]
    if asked:
        return (asked[0],)
    chosen = [c for c in ordered if not before(c) & _SETTING]
    return ((chosen or ordered)[0],)


def _budget(text: str) -> float | None:
    for pattern in _BUDGET:
        m = pattern.search(text)
        if m:
            value = number(m.group(1))
            if value and value >= 5:
                return value
    return None


def _persons(text: str) -> int | None:
    folded = text.lower()
    for pattern in _PERSONS:
        m = pattern.search(folded)
        if m:
            value = _n(m.group(1))
            if value and 1 <= value <= 12:
                return int(value)
    for phrase, value in _PERSONS_WORDS.items():
        if re.search(rf"\b{phrase}\b", folded):
            return value
    return None


def _temperature(text: str) -> float | None:
    m = _TEMPERATURE.search(text)
    if not m:
        return None
    value = float(m.group(2))
    return -value if m.group(1) and m.group(1).strip().lower() in ("minus", "-", "−") else value


def _measure(text: str) -> tuple[str, float] | None:
    for key, pattern in _MEASURE_RE:
        m = pattern.search(text)
        if m:
            value = number(m.group(1))
            if value is None:
                continue
            if (m.group(2) or "").lower() == "m" or (key == "koerpergroesse" and value < 3):
                value *= 100
            if key == "koerpergroesse" and not 100 <= value <= 230:
                continue
            return key, value
    m = _MEASURE_AFTER.search(text)
    if m:
        value = number(m.group(1)) or 0.0
        value = value * 100 if m.group(2).lower() == "m" else value
        label = fold(m.group(3))
        key = next((k for k, alt in _MEASURES.items() if re.fullmatch(alt, label, re.I)),
                   "koerpergroesse")
        return key, value
    return None


def with_digits(text: str) -> str:
    """Number words from nine up as digits, by text2num ("für zehn Personen unter dreihundert
    Euro" -> "für 10 Personen unter 300 Euro"). One to eight stay words: "ein Zelt" and
    "eine Woche" are no amounts, and ``_NUMBER_WORDS`` reads them where they count."""
    return alpha2digit(alpha2digit(text, "de", threshold=9), "en", threshold=9)


def read_needs(text: str, categories: Sequence[str], vocabulary: Vocabulary = EMPTY,
               pending: str | None = None, language: str = "de") -> Needs:
    """The needs one message states. ``pending`` is the facet Lotse just asked about: a
    bare "egal" or number is read as the answer to it."""
    text = with_digits(text)
    if NO_PREFERENCE.match(text):
        return Needs(no_preference=(pending,) if pending else ())
    needs = Needs(categories=find_categories(text, categories, vocabulary, language))
    m = _WEIGHT.search(text)
    if m:
        value = number(m.group(1)) or 0.0
        needs = replace(needs, max_weight=value / 1000 if m.group(2).lower().startswith("g")
                        else value)
    rest = _WEIGHT.sub(" ", text)
    budget = _budget(rest)
    if budget is None and pending == "price":
        bare = re.fullmatch(r"\s*(?:ca\.?|etwa|so|about)?\s*" + _AMOUNT + r"\s*", rest)
        budget = number(bare.group(1)) if bare else None
    persons = _persons(rest)
    if persons is None and pending == "persons":
        bare = re.fullmatch(rf"\s*{_NUM}\s*\.?\s*", rest, re.IGNORECASE)
        persons = int(_n(bare.group(1)) or 0) or None if bare else None
    month = _MONTH.search(text)
    season = "winter" if _WINTER.search(text) else "summer" if _SUMMER.search(text) \
        else "3" if _THREE.search(text) else _MONTH_SEASON[month.group(1).lower()[:3]] \
        if month else None
    volume = None
    for m in _VOLUME.finditer(text):
        value = float(m.group(2))
        volume = (value, 200.0) if m.group(1) else (value * 0.85, value * 1.15)
    trip = next((name for name, pattern in _TRIP if pattern.search(text)), None)
    size, body = SIZE_NAME.search(text), _measure(text)
    needs = replace(needs, budget=budget, persons=persons, season=season,
                    temperature=_temperature(text), volume=volume, trip=trip,
                    light=bool(_LIGHT.search(text)) and needs.max_weight is None,
                    measure=body, size=size.group(1).upper() if size and not body else None)
    return replace(needs, words=content_words(text, categories, vocabulary, language))


def content_words(text: str, categories: Iterable[str] = (), vocabulary: Vocabulary = EMPTY,
                  language: str = "de") -> tuple[str, ...]:
    """The words that say what the product is for ("Wandern", "breite Füße", "Radfahren"),
    folded and stemmed, English ones with their German words."""
    category_words = {category_keys(c)[0] for c in categories}
    out = []
    for raw in re.findall(r"[a-zäöüß]+", text.lower()):
        word = fold(raw)
        if word in _FILLER or len(word) < 4 or word.isdigit():
            continue
        if any(word.startswith(k) for k in category_words):
            continue
        german = german_terms(raw) + vocabulary.german_terms(raw) if language == "en" else []
        if german:
            out += [word_stem(fold(g)) for term in german for g in term.split() if len(g) >= 4]
        out.append(word_stem(word))
    return tuple(dict.fromkeys(w for w in out if w not in category_words))


@dataclass
class Thread:
    """An advice conversation so far: the needs, the facets asked, the question pending."""

    needs: Needs = field(default_factory=Needs)
    asked: list[str] = field(default_factory=list)
    pending: str | None = None

    def to_dict(self) -> dict:
        return {"needs": self.needs.to_dict(), "asked": list(self.asked), "pending": self.pending}

    @classmethod
    def from_dict(cls, data: dict | None) -> Thread | None:
        if not data:
            return None
        return cls(Needs.from_dict(data.get("needs") or {}), list(data.get("asked") or []),
                   data.get("pending"))
