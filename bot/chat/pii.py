"""Redaction of personal data in stored transcripts: e-mail, phone, IBAN, payment card,
birth date, street address.

Stored rows hold the redacted text; the original lives only as long as an open
ticket needs it in the agent's live view (see ``bot.chat.state``). Each kind is found by
the shape of its values and checked where a check exists (IBAN mod 97, Luhn, the phone
numbering plans); where the shape alone cannot tell personal data from a reference or a
quantity, the words around it decide (``bot.chat.pii_cues``). Phone numbers, street
addresses and birth dates have modules of their own (``pii_phones``, ``pii_addresses`` with
``pii_romance`` and ``pii_places``, ``pii_birthdates``). Samples in
``tests/bot/chat/test_pii.py``; measured on the labelled set of
``tests/security/test_pii_redaction.py``.

    >>> redact("Schreib an anna.muster@example.de oder ruf 0171 2345678 an")
    'Schreib an [E-MAIL] oder ruf [TELEFON] an'
"""

from __future__ import annotations

import re

from bot.chat.pii_addresses import address_spans
from bot.chat.pii_birthdates import birth_spans
from bot.chat.pii_phones import phone_spans

# Every pattern below runs on every stored message, up to 4,000 characters of anything a
# client sends: each starts only where a match can start (a lookbehind, a word boundary)
# and bounds every repetition, so its time grows with the text's length, not its square
# or worse ("a-a-a-…" once took seconds per 40 characters in the street pattern).
_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# IBAN: country code, check digits, 11-30 alphanumerics, optionally in blocks of four. The
# blocks may run into the next word ("… 3201 bitte"): the longest start that passes the
# check is the IBAN.
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b", re.I)
# Payment cards: 13 to 19 digits, in blocks or not, that pass the Luhn check.
# Card numbers begin with 2 to 6 (Mastercard, Amex, Visa, Mastercard, Discover); a phone
# number's leading 0 never makes one.
_CARD = re.compile(r"(?<![\w-])[2-6](?:[ -]?\d){12,18}(?![\w-])")

PLACEHOLDERS = ("[E-MAIL]", "[IBAN]", "[KARTE]", "[GEBURTSDATUM]", "[TELEFON]", "[ADRESSE]")


def redact(text: str) -> str:
    """The text with e-mail addresses, IBANs, payment cards, birth dates, phone numbers and
    street addresses replaced."""
    text = _EMAIL.sub("[E-MAIL]", text)
    text = _replace(text, _iban_spans(text), "[IBAN]")
    text = _CARD.sub(lambda m: "[KARTE]" if _luhn(m.group()) else m.group(), text)
    for spans_of, placeholder in ((birth_spans, "[GEBURTSDATUM]"), (address_spans, "[ADRESSE]"),
                                  (phone_spans, "[TELEFON]")):
        text = _replace(text, spans_of(text), placeholder)
    return text


def _replace(text: str, spans: list[tuple[int, int]], placeholder: str) -> str:
    """``text`` with each of the (ordered, disjoint) ``spans`` replaced by ``placeholder``."""
    if not spans:
        return text
    parts, last = [], 0
    for start, end in spans:
        parts += [text[last:start], placeholder]
        last = end
    parts.append(text[last:])
    return "".join(parts)


def _iban_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each IBAN: of each candidate, the longest start cut at a space that
    passes the check."""
    spans = []
    for match in _IBAN.finditer(text):
        candidate = match.group()
        for end in [len(candidate)] + [i for i in range(len(candidate) - 1, 0, -1)
                                       if candidate[i] == " "]:
            if _looks_like_iban(candidate[:end]):
                spans.append((match.start(), match.start() + end))
                break
    return spans


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
