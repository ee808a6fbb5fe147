"""Redaction of personal data in stored transcripts: e-mail, phone, IBAN, payment card,
birth date, street address.

Stored rows hold the redacted text; the original lives only as long as an open
ticket needs it in the agent's live view (see ``bot.chat.state``). The patterns are
written for German customer messages and checked against German and English
samples in ``tests/bot/chat/test_pii.py`` and measured on the labelled set of
``tests/security/test_pii_redaction.py``.

    >>> redact("Schreib an anna.muster@example.de oder ruf 0171 2345678 an")
    'Schreib an [E-MAIL] oder ruf [TELEFON] an'
"""

from __future__ import annotations

import re

# Every pattern below runs on every stored message, up to 4,000 characters of anything a
# client sends: each starts only where a match can start (a lookbehind, a word boundary)
# and bounds every repetition, so its time grows with the text's length, not its square
# or worse ("a-a-a-…" once took seconds per 40 characters in the street pattern).
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# IBAN: country code, check digits, 11-30 alphanumerics, optionally in blocks of four.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b", re.I)
# Phone: +49 / 0049 / 0 prefixes, with spaces, slashes, dashes or brackets; at least 7 digits.
# Not after "XY-": that is a reference such as the ticket number LT-000001.
_PHONE = re.compile(
    r"(?<![\w+])(?<![A-Za-z]-)(?:\+|00)\d{1,3}[\s/-]?(?:\(0\)[\s/-]?)?\d{2,5}(?:[\s/-]?\d{2,8}){1,4}(?!\w)"
    r"|(?<![\w+])(?<![A-Za-z]-)0\d{2,5}[\s/-]?(?:\d{2,8}[\s-]?){1,4}\d(?!\w)"
)
# Payment cards: 13 to 19 digits, in blocks or not, that pass the Luhn check.
# Card numbers begin with 2 to 6 (Mastercard, Amex, Visa, Mastercard, Discover); a phone
# number's leading 0 never makes one.
_CARD = re.compile(r"(?<![\w-])[2-6](?:[ -]?\d){12,18}(?![\w-])")
# A date with a word that makes it a birth date before it ("geboren am", "Geburtsdatum:",
# "born on", "DOB"); delivery and order dates stay.
_DATE = (r"(?:\d{1,2}\.\s?\d{1,2}\.\s?\d{2,4}|\d{1,2}\.\s?(?:Januar|Februar|März|April|Mai|"
         r"Juni|Juli|August|September|Oktober|November|Dezember)\s\d{4}|\d{4}-\d{2}-\d{2}|"
         r"\d{1,2}/\d{1,2}/\d{2,4})")
_BIRTH = re.compile(r"((?:\b(?:geboren|geburtsdatum|geburtstag|born|date of birth|birthday|dob)"
                    rf"\b|\bgeb\.)[^\d\n]{{0,20}}?){_DATE}", re.I)
_STREET_WORDS = (
    r"(?:stra(?:ß|ss)e|str\.|weg|gasse|platz|allee|ring|damm|ufer|chaussee|steig|pfad|markt|"
    r"street|st\.|road|rd\.|avenue|ave\.|lane)"
)
# "Kaiser-Joseph-Straße 12", "Am Hang 3a", "Hauptstr. 5, 79098 Freiburg", "12 Baker Street".
# Up to four words before the one that ends in the street word, each of up to 40 characters;
# a hyphen only between them, so there is one way to split "Kaiser-Joseph-Straße".
_STREET = re.compile(
    rf"\b(?:[A-ZÄÖÜ][\wäöüß.]{{0,40}}[ -]){{0,4}}[\wäöüß.]{{0,40}}?{_STREET_WORDS}\s+\d{{1,4}}"
    rf"\s?[a-zA-Z]?\b"
    rf"(?:,?\s+\d{{5}}\s+[A-ZÄÖÜ][\wäöüß-]+)?"
    rf"|\b\d{{1,4}}\s+(?:[A-Z][a-z]+\s+){{1,3}}{_STREET_WORDS}"
    rf"|\b(?:Am|An der|Im|In der|Zum|Zur|Auf dem)(?:\s+[A-ZÄÖÜ][\wäöüß-]+){{1,2}}\s+\d{{1,4}}\s?[a-z]?\b",
    re.I,
)
_POSTCODE_CITY = re.compile(r"\b\d{5}\s+[A-ZÄÖÜ][a-zäöüß]+(?:[ -][A-ZÄÖÜ][a-zäöüß]+)?\b")

PLACEHOLDERS = ("[E-MAIL]", "[IBAN]", "[KARTE]", "[GEBURTSDATUM]", "[TELEFON]", "[ADRESSE]")


def redact(text: str) -> str:
    """The text with e-mail addresses, IBANs, payment cards, birth dates, phone numbers and
    street addresses replaced."""
    text = _EMAIL.sub("[E-MAIL]", text)
    text = _IBAN.sub(lambda m: "[IBAN]" if _looks_like_iban(m.group()) else m.group(), text)
    text = _CARD.sub(lambda m: "[KARTE]" if _luhn(m.group()) else m.group(), text)
    text = _BIRTH.sub(lambda m: f"{m.group(1)}[GEBURTSDATUM]", text)
    text = _STREET.sub("[ADRESSE]", text)
    text = _POSTCODE_CITY.sub("[ADRESSE]", text)
    # E.164 allows at most 15 digits: a longer run is a parcel or order number.
    text = _PHONE.sub(lambda m: "[TELEFON]" if sum(c.isdigit() for c in m.group()) <= 15
                      else m.group(), text)
    return text


def _luhn(candidate: str) -> bool:
    """The Luhn checksum of payment card numbers."""
    digits = [int(c) for c in candidate if c.isdigit()]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d > 4 else d * 2)
                for i, d in enumerate(reversed(digits)))
    return 13 <= len(digits) <= 19 and total % 10 == 0


def _looks_like_iban(candidate: str) -> bool:
    """ISO 13616 check: move the first four characters to the end, mod 97 must be 1."""
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    digits = "".join(str(int(c, 36)) for c in compact[4:] + compact[:4])
    return int(digits) % 97 == 1


def find_email(text: str) -> str | None:
    """The first e-mail address in ``text``, or None."""
    match = _EMAIL.search(text or "")
    return match.group().rstrip(".") if match else None
