"""An automatic contrast set for the citation check, regenerated from the corpus on every run.

From every fact-bearing sentence of the indexed documents, rules make sentences that the
sentence's own chunk does *not* support, one kind each:

- ``entity_swap``: two values of one unit in the sentence trade places ("4,90 € nach
  Deutschland, 9,90 € nach Österreich" -> the other way round);
- ``place``: a country or city is replaced by one the chunk never names;
- ``quantifier``: a quantifier or scope word is flipped ("höchstens" -> "mindestens",
  "alle" -> "einige", "only" -> "also");
- ``reference_point``: the point a period counts from is changed ("ab Erhalt" -> "ab
  Bestellung", "nach Versand" -> "nach Zahlungseingang");
- ``negation``: the statement is negated, or its negation dropped;
- ``scope_extension``: a policy is extended to a day, place or group the chunk does not
  cover ("…, auch an Sonn- und Feiertagen");
- ``wrong_value``: one number is changed.

And sentences it does support: the sentence itself, and safe rewrites (a lead-in, a
number written another way, synonyms from the fixed list ``SYNONYMS`` below, fixed before
the check was tuned). Each case is ``(cited text, sentence, label, kind)``.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from dataclasses import dataclass

from kb.text import split_sentences

# Safe rewrites: each pair means the same in the shop's documents. Fixed before tuning.
SYNONYMS = [
    ("kostenlos", "gratis"), ("kostenfrei", "kostenlos"), ("erhältst", "bekommst"),
    ("innerhalb von", "binnen"), ("Rücksendung", "Retoure"), ("Bestellung", "Order"),
    ("beträgt", "liegt bei"), ("kostet", "liegt preislich bei"), ("bitte", ""),
    ("du", "Sie"), ("dein", "Ihr"), ("deine", "Ihre"), ("etwa", "ungefähr"), ("ca.", "etwa"),
    ("Werktagen", "Arbeitstagen"), ("Werktage", "Arbeitstage"), ("sofort", "umgehend"),
    ("außerdem", "zusätzlich"), ("wiegt", "hat ein Gewicht von"), ("schnell", "zügig"),
]
LEAD_INS = ["Laut unseren Unterlagen gilt: ", "Kurz gesagt: ", "Gut zu wissen: "]
_FLIPS = {
    "quantifier": [("höchstens", "mindestens"), ("mindestens", "höchstens"),
                   ("maximal", "mindestens"), ("bis zu", "mindestens"), ("alle", "einige"),
                   ("jede", "manche"), ("jeder", "mancher"), ("jedes", "manches"),
                   ("jeden", "manchen"), ("nur", "auch"), ("ausschließlich", "auch"),
                   ("immer", "manchmal"), ("einmal", "mehrmals"), ("beide", "einer der"),
                   ("pro", "für die gesamte")],
    "reference_point": [("ab Erhalt", "ab Bestellung"), ("nach Erhalt", "nach Bestellung"),
                        ("ab Lieferung", "ab Bestellung"), ("nach Lieferung", "nach Bestellung"),
                        ("nach Zahlungseingang", "nach Bestellung"),
                        ("ab Zahlungseingang", "ab Bestellung"), ("nach Versand", "nach Zahlungseingang"),
                        ("ab Versand", "ab Bestellung"), ("ab Kaufdatum", "ab Lieferdatum"),
                        ("ab Kauf", "ab Lieferung"), ("vor ", "nach "), ("nach dem", "vor dem"),
                        ("Eingang", "Versand"), ("Rechnungsdatum", "Lieferdatum")],
}
_NEGATE = [(r"\b(ist|sind|wird|werden|kann|können|gilt|gelten|gibt es|erhältst|bekommst|"
            r"hat|haben|darf|dürfen|muss|müssen)\b", r"\1 nicht"),
           (r"\b(nicht|kein)\s", ""), (r"\bkeine\s", "")]
_PLACES = ["Deutschland", "Österreich", "der Schweiz", "Frankreich", "Italien", "Polen",
           "Belgien", "den Niederlanden", "Dänemark", "Luxemburg", "Berlin", "München",
           "Hamburg", "Wien", "Zürich", "Graz", "Basel", "Köln"]
_PLACE_RE = re.compile(r"\b(" + "|".join(re.escape(p.replace("der ", "").replace("den ", ""))
                                         for p in _PLACES) + r")\b")
_EXTENSIONS = [", auch an Sonn- und Feiertagen", " – das gilt auch für Lieferungen nach Polen",
               ", und zwar auch für Zelte und Schlafsäcke", ", auch bei Bestellungen aus Italien"]
_VALUE = re.compile(r"\d+(?:[.,]\d+)*\s*(?:€|Euro|%|Tage|Tagen|Werktage|Werktagen|Wochen|"
                    r"Monate|Monaten|Jahre|Jahren|Stunden|kg|g|cm|mm|l|Liter|Minuten)\b")
_UNIT_OF = re.compile(r"[^\d.,\s].*$")


@dataclass(frozen=True)
class Case:
    cited: str
    sentence: str
    label: str  # "supported" or "unsupported"
    kind: str
    source: str

    def as_row(self) -> dict:
        return {"source": self.source, "sentence": self.sentence, "label": self.label,
                "kind": self.kind}


def _unit(value: str) -> str:
    m = _UNIT_OF.search(value.strip())
    return m.group().lower().rstrip("n") if m else ""


def _facty(sentence: str) -> bool:
    return bool(re.search(r"\d", sentence) or _PLACE_RE.search(sentence) or any(
        re.search(rf"\b{re.escape(a)}\b", sentence) for flips in _FLIPS.values() for a, _ in flips))


def variants(sentence: str, cited: str, rng: random.Random) -> Iterator[tuple[str, str, str]]:
    """(sentence, label, kind) for one source sentence; unsupported ones differ from it."""
    yield sentence, "supported", "source"
    yield rng.choice(LEAD_INS) + sentence[0].lower() + sentence[1:] if sentence[:1].isupper() \
        and not re.match(r"[A-ZÄÖÜ][a-zäöüß]*[A-Z]", sentence) else sentence, "supported", "lead_in"
    for old, new in SYNONYMS:
        if re.search(rf"\b{re.escape(old)}\b", sentence):
            yield re.sub(rf"\b{re.escape(old)}\b", new, sentence, count=1).replace("  ", " "), \
                "supported", "synonym"
            break
    numbers = re.findall(r"\b\d{1,3}(?:\.\d{3})+\b", sentence)
    if numbers:
        yield sentence.replace(numbers[0], numbers[0].replace(".", ""), 1), "supported", "number_format"

    values = [m for m in _VALUE.finditer(sentence)]
    for a in range(len(values)):
        for b in range(a + 1, len(values)):
            va, vb = values[a].group(), values[b].group()
            if _unit(va) == _unit(vb) and re.sub(r"\D", "", va) != re.sub(r"\D", "", vb):
                swapped = (sentence[:values[a].start()] + vb + sentence[values[a].end():values[b].start()]
                           + va + sentence[values[b].end():])
                yield swapped, "unsupported", "entity_swap"
                break
        else:
            continue
        break
    if values:
        m = values[0]
        digits = re.match(r"\d+", m.group()).group()
        changed = str(int(digits) + (1 if int(digits) < 10 else 10))
        yield sentence[:m.start()] + changed + m.group()[len(digits):] + sentence[m.end():], \
            "unsupported", "wrong_value"
    place = _PLACE_RE.search(sentence)
    if place:
        others = [p for p in _PLACES if p.split()[-1] not in cited]
        if others:
            new = rng.choice(others).split()[-1]
            yield sentence[:place.start()] + new + sentence[place.end():], "unsupported", "place"
    for kind, flips in _FLIPS.items():
        for old, new in flips:
            pattern = rf"\b{re.escape(old.strip())}\b" if old.strip() == old else re.escape(old)
            if re.search(pattern, sentence) and new.strip() not in cited:
                yield re.sub(pattern, new.strip() if old.strip() == old else new, sentence, count=1), \
                    "unsupported", kind
                break
    for pattern, replacement in _NEGATE:
        if re.search(pattern, sentence):
            negated = re.sub(pattern, replacement, sentence, count=1)
            if negated != sentence:
                yield negated, "unsupported", "negation"
                break
    extension = rng.choice([e for e in _EXTENSIONS if not any(
        w in cited for w in re.findall(r"[A-ZÄÖÜ][a-zäöüß]{3,}", e))] or _EXTENSIONS)
    body = sentence.rstrip(".!")
    if not re.search(r"\b(auch|Sonn|Feiertag|Polen|Italien|Zelte)\b", sentence):
        yield body + extension + ".", "unsupported", "scope_extension"


def contrast_set(chunks: list[tuple[str, str]], seed: int = 7) -> list[Case]:
    """Cases from ``(source, cited text)`` chunks: each fact-bearing sentence and its variants."""
    rng = random.Random(seed)
    cases: list[Case] = []
    for source, cited in chunks:
        for line in cited.splitlines()[1:]:  # the first line is the heading
            for sentence in split_sentences(line):
                sentence = sentence.strip()
                if len(sentence) < 25 or len(sentence) > 300 or sentence.endswith("?") \
                        or not _facty(sentence) or sentence.startswith(("|", "#", "-")):
                    continue
                seen = set()
                for text, label, kind in variants(sentence, cited, rng):
                    if text in seen or (label == "unsupported" and text == sentence):
                        continue
                    seen.add(text)
                    cases.append(Case(cited, f"{text} [1]", label, kind, source))
    return cases
