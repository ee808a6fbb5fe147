"""English → German shop vocabulary (and a few German synonyms) for the lexical signals.

The multilingual embedder already matches "How long do I have to return an
item?" to "Rücksendung" by meaning, but BM25 and the coverage signals cannot:
German stems never equal English words. Expanding an English question with the
German words of common customer-service and outdoor terms gives the lexical
signals something to match, and lets the answerer and the confidence see which
German sentence covers the question.

The list holds general customer-service vocabulary (returns, shipping, payment, sizes,
countries, months), not answers. What belongs to one shop's range ("tent" → "Zelt",
"Taschenlampe" → "Stirnlampe") is in that corpus's ``lotse-vocabulary.yaml``
(``kb.vocabulary``), which staff edit without touching code.
"""

from __future__ import annotations

import re

from kb.places import countries_of
from kb.vocabulary import EMPTY, Vocabulary

_GLOSSARY = """
return returns returned returning: Rücksendung Rückgabe zurücksenden Retoure
refund refunds: Erstattung erstatten Geld zurück
exchange: Umtausch umtauschen
ship shipping shipped shipment: Versand versenden Lieferung
deliver delivery delivered: Lieferung liefern Zustellung
cost costs price prices expensive: kostet Preis Kosten
free: kostenlos kostenfrei
express: Expressversand Express
track tracking: Sendungsverfolgung Sendungsnummer
package parcel: Paket
pay payment payments paying: Zahlung bezahlen Zahlungsarten
invoice bill: Rechnung
credit card: Kreditkarte
voucher coupon gift: Gutschein Geschenkgutschein
discount: Rabatt
warranty guarantee: Garantie Gewährleistung
repair: Reparatur reparieren
broken defect defective damaged: defekt kaputt beschädigt Mangel Schaden
account: Kundenkonto Konto
password: Passwort
login log sign: Anmeldung anmelden
address: Adresse Lieferadresse
order orders ordered: Bestellung bestellen
cancel cancellation: stornieren Stornierung
newsletter: Newsletter
data privacy delete personal gdpr chat history keep: Datenschutz Daten löschen speichern Chatverläufe
store shop branch: Filiale Geschäft
open opening hours phone call reach: Öffnungszeiten erreichbar telefonisch
size sizes: Größe Größen
fit fits: passt Passform
weigh weight heavy: wiegt Gewicht schwer
long length: lange Länge lang
wide width broad: breit breite Weite weit
feet foot: Füße Fuß
knee knees: Knie Knien
back: Rücken Rückenlänge
wash washing clean care: waschen Pflege reinigen
recommend recommendation best good: empfehlen Empfehlung geeignet
norway: Norwegen
sweden: Schweden
switzerland swiss: Schweiz
austria: Österreich
germany: Deutschland
october: Oktober
winter: Winter
days day: Tage Tagen
weeks week: Wochen
years year: Jahre
how many: wie viele
january: Januar
february: Februar
march: März
april: April
may: Mai
june: Juni
july: Juli
august: August
september: September
october: Oktober
november: November
december: Dezember
germany german: Deutschland deutsch
austria austrian: Österreich
switzerland swiss: Schweiz
norway norwegian: Norwegen
sweden swedish: Schweden
denmark danish: Dänemark
finland: Finnland
netherlands dutch: Niederlande
belgium: Belgien
france french: Frankreich
italy italian: Italien
spain spanish: Spanien
poland: Polen
europe european: Europa EU
monday mondays: Montag montags
tuesday tuesdays: Dienstag dienstags
wednesday wednesdays: Mittwoch mittwochs
thursday thursdays: Donnerstag donnerstags
friday fridays: Freitag freitags
saturday saturdays weekend: Samstag samstags Wochenende
sunday sundays: Sonntag sonntags
""".strip()


def _parse() -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for line in _GLOSSARY.splitlines():
        english, german = line.split(":", 1)
        for word in english.split():
            table.setdefault(word, []).extend(german.split())
    return table


_TABLE = _parse()


# German question words whose answer sentences use another word: "Wie schwer ist …?" is
# answered by "… wiegt 1,25 kg", "Wie teuer …?" by "… kostet 139,90 €".
_GERMAN_SYNONYMS = {
    "schwer": "wiegt Gewicht", "wiegen": "wiegt Gewicht", "wiegt": "Gewicht",
    "teuer": "kostet Preis", "kosten": "kostet Preis", "kostet": "Preis", "preis": "kostet",
    "groß": "Größe", "gross": "Größe", "lang": "Länge", "breit": "Breite Weite",
    "geld": "Erstattung erstatten", "zurückgeben": "Rücksendung zurücksenden",
    "umtauschen": "Umtausch", "bezahlen": "Zahlungsarten Zahlung", "zahlen": "Zahlungsarten",
}


def lexical_forms(text: str, language: str, vocabulary: Vocabulary = EMPTY) -> tuple[str, str]:
    """What the lexical signals should match, as (for chunks in the question's language,
    for German chunks under an English question). German questions gain the words their
    answers use; English questions gain German words, but only against German text. A
    city brings its country ("Graz" -> "Österreich Austria"), which documents name; the
    shop's vocabulary file (``kb.vocabulary``) brings the documents' own terms."""
    places = " ".join(countries_of(text))
    text = f"{text} {places}" if places else text
    shop = vocabulary.words_for(text, language)
    if language == "en":
        cross = expand_english(text)
        return text, f"{cross} {shop}" if shop else cross
    extra = [_GERMAN_SYNONYMS[w] for w in re.findall(r"\w+", text.lower()) if w in _GERMAN_SYNONYMS]
    extra += [shop] if shop else []
    same = f"{text} {' '.join(extra)}" if extra else text
    return same, same


def lexical_form(text: str, language: str, chunk_language: str,
                 vocabulary: Vocabulary = EMPTY) -> str:
    """The form of ``text`` to match against a chunk written in ``chunk_language``."""
    same, cross = lexical_forms(text, language, vocabulary)
    return same if chunk_language in (language, "") else cross


def german_terms(word: str) -> list[str]:
    """The German words the glossary gives for one English word (lower case), or []."""
    return _TABLE.get(word.lower(), [])


def expand_english(question: str) -> str:
    """The question followed by the German words for its English terms."""
    words = re.findall(r"[a-z]+", question.lower())
    german = [g for w in words for g in _TABLE.get(w, [])]
    return f"{question} {' '.join(dict.fromkeys(german))}" if german else question
