"""The citation check: every generated sentence must be carried by the sources it cites.

A sentence is dropped when

- it cites nothing (a clarifying question, ending in "?", may go without a citation);
- it cites a number that is not one of the sources;
- a number, amount, date, duration, percentage, month, product name or code in it
  is missing from the cited sources ("dreißig Tage" = "30 Tagen", "zweihundert Euro" =
  "200 €", "9.90 Euro" = "9,90 €"; a duration must keep its unit: "30 Wochen" is not "30 Tage");
- it names a product of a known family that does not exist ("AlpinPro 60");
- its words are not in the cited text and its meaning is not close to any cited
  sentence (lexical and semantic support both under their thresholds);
- it carries no content at all ("Ja. [1]").

    >>> checker = CitationChecker(embedder, products=["AlpinPro 35"], settings=GroundingSettings())
    >>> [v.reason for v in checker.check("Du hast 14 Tage Zeit. [1]", ["… 30 Tage …"])]
    ['number_not_in_source']
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from text_to_num import alpha2digit

from bot.answer.claims import (
    changed_polarity,
    changed_reference,
    clauses,
    foreign_place,
    source_clauses,
    unsupported_clause,
)
from kb.embedders import Embedder
from kb.glossary import german_terms
from kb.settings import GroundingSettings
from kb.text import (
    detect_language,
    fold,
    ngram_tokens,
    split_sentences,
    word_tokens,
    words,
)
from kb.types import Chunk
from kb.vocabulary import EMPTY, Vocabulary

_MARKERS = re.compile(r"\[(\d+)\]")
_TRAILING = re.compile(r"([.!?])((?:\s*\[\d+\])+)")

_UNITS = {
    "day": r"tag|tage|tagen|tages|werktag|werktage|werktagen|day|days|business days?",
    "week": r"woche|wochen|week|weeks",
    "month": r"monat|monate|monaten|month|months",
    "year": r"jahr|jahre|jahren|year|years",
    "hour": r"stunde|stunden|std|hour|hours|h",
    "minute": r"minute|minuten|min|minutes",
    "percent": r"%|prozent|percent|per cent",
    "euro": r"€|euro|eur",
    "kg": r"kg|kilo|kilogramm|kilogram",
    "g": r"g|gramm|gram|grams",
    "cm": r"cm|zentimeter|centimeters?",
    "mm": r"mm|millimeter|millimetres?|millimeters?",
    "degree": r"°\s*c|°|grad|degrees?",
    "watt": r"w|watt|watts",
    "l": r"l|liter|litre|liters|litres",
}
_UNIT_RE = re.compile(
    r"(?P<num>\d+(?:[.,]\d+)*)\s*(?:-\s*)?(?P<unit>" + "|".join(
        f"(?:{alt})" for alt in _UNITS.values()) + r")(?![a-zäöüß])", re.IGNORECASE)
# A table cell whose unit stands in its label: "Gewicht (kg): 2,45".
_LABEL_UNIT_RE = re.compile(
    r"\((?P<unit>" + "|".join(f"(?:{alt})" for alt in _UNITS.values())
    + r")\)\s*:\s*(?P<num>\d+(?:[.,]\d+)*)", re.IGNORECASE)
_UNIT_OF = [(name, re.compile(f"^(?:{alt})$", re.IGNORECASE)) for name, alt in _UNITS.items()]

_MONTHS = {
    "januar": 1, "jänner": 1, "january": 1, "februar": 2, "february": 2, "märz": 3, "march": 3,
    "april": 4, "mai": 5, "may": 5, "juni": 6, "june": 6, "juli": 7, "july": 7, "august": 8,
    "september": 9, "oktober": 10, "october": 10, "november": 11, "dezember": 12, "december": 12,
}
_MONTH_RE = re.compile(r"\b(" + "|".join(_MONTHS) + r")\b", re.IGNORECASE)
_DATE_RE = re.compile(r"\b(\d{1,2})\.(\d{1,2})\.(?:\d{2,4})?")
_NUMBER_RE = re.compile(r"(?<![\w-])\d+(?:[.,]\d+)*")
# Codes and brand-like names: internal capitals (PayPal, AlpinPro) or capitals with digits
# (WINTER26, SORRY-BP15). German nouns are capitalised, so plain capitals prove nothing.
_NAME_RE = re.compile(r"\b(?:[A-Za-z]+[a-z][A-Z][A-Za-z]*|[A-Z][A-Z0-9-]*\d[A-Z0-9-]*|[A-Z]{2,}[a-z]*[A-Z]\w*)\b")
# Words that turn a statement into a stronger or opposite one. When a sentence uses one,
# the cited text must use one of the same family ("nicht" ~ "keine", "free" ~ "kostenlos").
_CLAIM_FAMILIES = [frozenset(fold(w) for w in group.split()) for group in (
    "nicht kein keine keinen keiner keines nichts nie niemals ohne not no never none without "
    "cannot can't isn't don't doesn't",
    "unbegrenzt unbefristet unlimited forever lebenslang lifetime",
    "immer stets always jederzeit",
    "dauerhaft permanent permanently",
    "sofort sofortig umgehend immediately instantly instant",
    "selben gleichen same",
    "kostenlos kostenfrei gratis umsonst free",
    "garantiert guaranteed garantieren",
    "einige manche mancher manches manchen mehrere some several few",
    "manchmal gelegentlich sometimes occasionally",
    "gesamte gesamten ganze ganzen entire whole",
    "mindestens wenigstens least minimum",
    "höchstens maximal maximale maximum most",
    "jede jeder jedes jeden jedem alle allen alles every all any",
    "nur ausschließlich only exclusively",
)]
_ENGLISH_STOP = {"the", "and", "for", "with", "you", "your", "are", "has", "have", "its", "can",
                 "our", "from", "into", "that", "this", "will", "was", "were", "been", "which",
                 "there", "they", "them", "per", "all", "any"}
_COURTESY = {"gern", "gerne", "hallo", "hi", "hello", "danke", "thanks", "moin", "servus"}
_HEDGE = ("ja", "nein", "yes", "no", "genau", "richtig", "leider", "gern", "gerne", "natürlich",
          "klar", "sure", "of", "course")


@dataclass(frozen=True)
class Verdict:
    """The check's outcome for one generated sentence."""

    sentence: str  # as generated, markers included
    cited: tuple[int, ...]
    ok: bool
    reason: str | None = None
    detail: str = ""
    lexical: float = 0.0
    semantic: float = 0.0

    def to_dict(self) -> dict:
        return {"sentence": self.sentence, "cited": list(self.cited), "ok": self.ok,
                "reason": self.reason, "detail": self.detail,
                "lexical": round(self.lexical, 3), "semantic": round(self.semantic, 3)}


def source_text(chunk: Chunk) -> str:
    """A chunk as a numbered source shows it: title and section carry the product name."""
    heading = chunk.title if not chunk.section or chunk.section == chunk.title \
        else f"{chunk.title} – {chunk.section}"
    return f"{heading}\n{chunk.text}"


def _values(token: str) -> set[float]:
    """Every reading of a written number: "9,90" and "9.90" -> 9.9; "1.000" -> 1000 or 1.0."""
    out: set[float] = set()
    for decimal, thousands in ((",", "."), (".", ",")):
        parts = token.split(decimal)
        if len(parts) > 2:
            continue
        whole = parts[0].replace(thousands, "")
        if not whole.isdigit():
            continue
        text = whole + ("." + parts[1] if len(parts) == 2 and parts[1].isdigit() else "")
        try:
            out.add(round(float(text), 4))
        except ValueError:
            continue
    return out


def _spell_out_numbers(text: str) -> str:
    """Number words as digits, German and English ("zweihundert" -> 200, "thirty" -> 30).

    text2num keeps "ein"/"one" as words (threshold 2): they are mostly articles, and a
    sentence that says "ein Jahr" claims no number its source must repeat."""
    return alpha2digit(alpha2digit(text, "de", threshold=2), "en", threshold=2)


def _unit(raw: str) -> str:
    return next(name for name, pattern in _UNIT_OF if pattern.match(raw.strip()))


@dataclass(frozen=True)
class _Facts:
    numbers: frozenset[float]
    with_units: frozenset[tuple[float, str]]
    months: frozenset[int]

    @classmethod
    def of(cls, text: str) -> _Facts:
        text = _spell_out_numbers(text)
        months = {_MONTHS[m.group(1).lower()] for m in _MONTH_RE.finditer(text)}
        for m in _DATE_RE.finditer(text):
            if 1 <= int(m.group(2)) <= 12:
                months.add(int(m.group(2)))
        numbers: set[float] = set()
        for m in _NUMBER_RE.finditer(text):
            numbers |= _values(m.group().rstrip(".,"))
        units = {(v, _unit(m.group("unit"))) for pattern in (_UNIT_RE, _LABEL_UNIT_RE)
                 for m in pattern.finditer(text) for v in _values(m.group("num"))}
        return cls(frozenset(numbers), frozenset(units), frozenset(months))


class CitationChecker:
    """Checks generated sentences against the numbered source texts they cite."""

    def __init__(self, embedder: Embedder, products: Sequence[str], settings: GroundingSettings,
                 vocabulary: Vocabulary = EMPTY) -> None:
        self.embedder = embedder
        self.vocabulary = vocabulary  # the shop's words, for English sentences over German text
        self.products = sorted({p for p in products if p}, key=len, reverse=True)
        self.families = {fold(p.split()[0]) for p in self.products if len(p.split()) > 1}
        self.settings = settings

    def check(self, text: str, sources: Sequence[str]) -> list[Verdict]:
        """One verdict per sentence of ``text``; ``sources[i]`` is the text behind ``[i+1]``."""
        # "Satz. [1] Nächster Satz. [2]": markers after the full stop belong to its sentence.
        text = _TRAILING.sub(lambda m: f"{m.group(2)}{m.group(1)}", text.strip())
        sentences = [s for s in split_sentences(text) if s.strip()]
        verdicts = [self._rules(s, sources) for s in sentences]
        pending = [i for i, v in enumerate(verdicts) if v.ok and v.cited]
        if pending:
            self._support(verdicts, pending, sources)
        return verdicts

    # -- hard rules ---------------------------------------------------------------------
    def _rules(self, sentence: str, sources: Sequence[str]) -> Verdict:
        cited = tuple(dict.fromkeys(int(n) for n in _MARKERS.findall(sentence)))
        plain = _MARKERS.sub("", sentence).strip()
        if not cited and {fold(w) for w in words(plain)} <= _COURTESY and words(plain):
            return Verdict(sentence, cited, True, detail="courtesy")
        question = plain.endswith("?")
        if not cited and not question:
            return Verdict(sentence, cited, False, "no_citation", "the sentence cites no source")
        missing = [n for n in cited if not 1 <= n <= len(sources)]
        if missing:
            return Verdict(sentence, cited, False, "unknown_source",
                           f"cites [{missing[0]}] but there are {len(sources)} sources")
        cited_text = " ".join(sources[n - 1] for n in cited) if cited else " ".join(sources)

        products = self._products_in(plain)
        unknown = self._unknown_product(plain)
        if unknown:
            return Verdict(sentence, cited, False, "unknown_product", f"no product {unknown!r}")
        folded_cited = fold(cited_text)
        for product in products:
            if fold(product) not in folded_cited:
                return Verdict(sentence, cited, False, "product_not_in_source",
                               f"{product} is not in the cited text")
        without_products = plain
        for product in products:
            without_products = re.sub(re.escape(product), " ", without_products, flags=re.IGNORECASE)
        for name in _NAME_RE.findall(without_products):
            if fold(name) not in folded_cited:
                return Verdict(sentence, cited, False, "name_not_in_source",
                               f"{name} is not in the cited text")

        said, source = _Facts.of(without_products), _Facts.of(cited_text)
        for value in sorted(said.numbers):
            if value not in source.numbers:
                return Verdict(sentence, cited, False, "number_not_in_source",
                               f"{value:g} is not in the cited text")
        source_units = {}
        for value, unit in source.with_units:
            source_units.setdefault(value, set()).add(unit)
        for value, unit in sorted(said.with_units):
            if value in source_units and unit not in source_units[value]:
                return Verdict(sentence, cited, False, "number_not_in_source",
                               f"{value:g} {unit} is not in the cited text "
                               f"({value:g} {'/'.join(sorted(source_units[value]))} is)")
        for month in sorted(said.months - source.months):
            return Verdict(sentence, cited, False, "number_not_in_source",
                           f"month {month} is not in the cited text")
        folded_words = set(fold(w) for w in words(without_products))
        source_words = set(fold(w) for w in words(cited_text))
        for family in _CLAIM_FAMILIES:
            used = folded_words & family
            if used and not source_words & family:
                return Verdict(sentence, cited, False, "claim_not_in_source",
                               f"{sorted(used)[0]!r}: the cited text says nothing like it")
        swapped = _swapped_number(without_products, cited_text, said) \
            or _value_elsewhere(plain, cited_text)
        if swapped:
            return Verdict(sentence, cited, False, "number_not_in_source", swapped)
        place = foreign_place(plain, cited_text)
        if place:
            return Verdict(sentence, cited, False, "place_not_in_source", place)
        for reason, rule in (("reference_changed", changed_reference),
                             ("polarity_changed", changed_polarity)):
            detail = rule(plain, cited_text)
            if detail:
                return Verdict(sentence, cited, False, reason, detail)
        if detect_language(plain) == detect_language(cited_text):
            detail = unsupported_clause(_spell_units(plain), _finder(_spell_units(cited_text)))
            if detail:
                return Verdict(sentence, cited, False, "clause_not_in_source", detail)
        if not cited:  # a clarifying question with no claims
            return Verdict(sentence, cited, True)
        content = [w for w in words(without_products) if fold(w) not in _HEDGE]
        if not word_tokens(" ".join(content)):
            return Verdict(sentence, cited, False, "no_content", "the sentence says nothing checkable")
        return Verdict(sentence, cited, True)

    def _products_in(self, text: str) -> list[str]:
        folded = f" {fold(text)} "
        found, taken = [], folded
        for product in self.products:  # longest first, so "AlpinPro 35" is not also "AlpinPro"
            key = f" {fold(product)} "
            if key in taken or re.search(rf"\b{re.escape(fold(product))}\b", taken):
                found.append(product)
                taken = re.sub(rf"\b{re.escape(fold(product))}\b", " ", taken)
        return found

    def _unknown_product(self, text: str) -> str | None:
        """A known family name followed by a model that does not exist: "AlpinPro 60"."""
        for m in re.finditer(r"(?=\b([A-Za-zÄÖÜäöüß]+)[ -]([0-9][\w-]*|[A-Z][a-z]+)\b)", text):
            if fold(m.group(1)) not in self.families:
                continue
            mention = fold(f"{m.group(1)} {m.group(2)}")
            if not any(fold(p).startswith(mention) or mention.startswith(fold(p)) for p in self.products) \
                    and m.group(2)[0].isdigit():
                return f"{m.group(1)} {m.group(2)}"
        return None

    # -- support ------------------------------------------------------------------------
    def _support(self, verdicts: list[Verdict], pending: list[int], sources: Sequence[str]) -> None:
        plains = [_MARKERS.sub("", verdicts[i].sentence).strip() for i in pending]
        units = {n: [u for u in split_sentences(sources[n - 1]) if u.strip()] or [sources[n - 1]]
                 for i in pending for n in verdicts[i].cited}
        order = sorted(units)
        flat = [u for n in order for u in units[n]]
        vectors = self.embedder.embed_batch(plains + flat)
        said_vecs, unit_vecs = vectors[: len(plains)], vectors[len(plains):]
        said_vecs = said_vecs / (np.linalg.norm(said_vecs, axis=1, keepdims=True) + 1e-9)
        unit_vecs = unit_vecs / (np.linalg.norm(unit_vecs, axis=1, keepdims=True) + 1e-9)
        offsets, start = {}, 0
        for n in order:
            offsets[n] = (start, start + len(units[n]))
            start += len(units[n])
        for row, i in enumerate(pending):
            v = verdicts[i]
            cited_text = " ".join(sources[n - 1] for n in v.cited)
            lexical = _lexical_support(plains[row], cited_text, self.vocabulary)
            rows = [j for n in v.cited for j in range(*offsets[n])]
            semantic = float(np.max(unit_vecs[rows] @ said_vecs[row])) if rows else 0.0
            s = self.settings
            ok = lexical >= s.min_lexical or semantic >= s.min_semantic or (
                lexical >= s.min_lexical_with_semantic and semantic >= s.min_semantic_with_lexical)
            verdicts[i] = Verdict(v.sentence, v.cited, ok, None if ok else "weak_support",
                                  "" if ok else f"lexical {lexical:.2f}, semantic {semantic:.2f}",
                                  lexical, semantic)


def _lexical_support(sentence: str, cited: str, vocabulary: Vocabulary = EMPTY) -> float:
    """Share of the sentence's content words found in the cited text (compounds by prefix).

    An English sentence over German sources is compared through the glossary and the
    shop's vocabulary: an English word counts when one of its German words is in the
    cited text."""
    sentence, cited = _spell_units(sentence), _spell_units(cited)
    found = _finder(cited)

    content = [w for w in words(sentence) if fold(w) not in _HEDGE and not w.isdigit()]
    if detect_language(sentence) == "en" and detect_language(cited) == "de":
        folded_cited = fold(cited)
        english = [w for w in content if w not in _ENGLISH_STOP and len(w) > 2]
        def german(w: str) -> list[str]:
            return german_terms(w) + vocabulary.german_terms(w)

        known = [w for w in english if german(w) or fold(w) in folded_cited]
        if len(known) < 2:
            return 0.0
        hits = sum(1 for w in known if fold(w) in folded_cited or any(
            found(t) for g in german(w) for t in word_tokens(g)))
        return hits / len(english)
    said = word_tokens(" ".join(content))
    if not said:
        return 1.0  # only numbers and names, which the hard rules already checked
    return sum(1 for t in said if found(t)) / len(said)


def _finder(cited: str):
    """Whether a word stem is in ``cited``: as a word, or (from five letters) inside a
    compound ("garantie" in "Herstellergarantie")."""
    source = set(word_tokens(cited))
    joined = " ".join(source)
    return lambda token: token in source or (len(token) >= 5 and token in joined)


def _spell_units(text: str) -> str:
    return text.replace("€", " euro ").replace("%", " prozent ")


def _grams(text: str) -> set[str]:
    return set(ngram_tokens(re.sub(r"\d+(?:[.,]\d+)*", " ", text)))


def _entity_tokens(text: str) -> set[str]:
    """Content stems and the short capital codes that name sizes and variants (S, XL)."""
    plain = _NUMBER_RE.sub(" ", text)
    return set(word_tokens(plain)) | {w.lower() for w in re.findall(r"\b[A-Z]{1,3}\b", plain)}


_DIMENSIONS = re.compile(r"\d\s*[x×]\s*\d")


def _value_parts(clause: str) -> list[str]:
    """A clause cut at "und"/"and"/"plus" where both sides carry a number, so that "130 cm
    lang und 220 cm breit" binds each value to its own word."""
    parts = re.split(r"\s+(?:und|and|plus|sowie)\s+", clause)
    if len(parts) > 1 and all(re.search(r"\d", p) for p in parts):
        return parts
    return [clause]


def _value_elsewhere(sentence: str, cited: str) -> str | None:
    """A value bound to the wrong entity within the source: in the sentence's clause the
    value goes with words that, in the source, belong to one rival statement of another
    value of the same unit ("14,90 € nach Österreich" where the source gives Austria
    9,90 € and Switzerland 14,90 €; size S given the weight of size M). Only words that
    single out one source clause count: "kostet" and "Versand" may be said once for all."""
    units = [(_Facts.of(p), _entity_tokens(p)) for u in source_clauses(cited)
             for p in _value_parts(u)]
    if len(units) < 2:
        return None
    seen = Counter(t for _, tokens in units for t in tokens)
    for clause in (p for c in clauses(sentence) for p in _value_parts(c)):
        if _DIMENSIONS.search(clause):  # "220 x 130 cm": one measure, not two values
            continue
        said = _Facts.of(clause).with_units
        tokens = {t for t in _entity_tokens(clause) if seen[t] == 1}
        for value, unit in sorted(said):
            own = [len(tokens & t) for f, t in units if (value, unit) in f.with_units]
            rival = [len(tokens & t) for f, t in units if (value, unit) not in f.with_units
                     and any(u == unit for _, u in f.with_units)]
            if own and rival and max(rival) > max(own):
                return f"{value:g} {unit} belongs to another entity of the cited text"
    return None


def _swapped_number(sentence: str, cited: str, said: _Facts) -> str | None:
    """A number taken from the wrong statement of the source: "5 Jahre Garantie auf
    Zeltgestänge" when the source gives 5 years for backpacks and 3 for tent poles."""
    units = [u for line in cited.splitlines() for u in split_sentences(line) if u.strip()]
    grams = _grams(sentence)
    if len(units) < 2 or not said.with_units or not grams:
        return None
    facts = [(_Facts.of(u), len(grams & _grams(u)) / len(grams)) for u in units]
    for value, unit in said.with_units:
        own = [overlap for f, overlap in facts if (value, unit) in f.with_units]
        rival = [overlap for f, overlap in facts if (value, unit) not in f.with_units
                 and any(u == unit for _, u in f.with_units)]
        if own and rival and max(rival) > max(own) + 0.15:
            return f"{value:g} {unit} belongs to another statement of the cited text"
    return None
