"""Phone numbers in a message: a shape finds candidates, the numbering plans decide.

A candidate begins with "+", "00", a trunk "0" or a bracketed area code and runs over
digits with one separator at a time: a space, a dot, "/", "-" or "–" (with or without
spaces around them) or brackets, so "(0761) 12 34 56", "(0 62 21) 47 11 08", "0761 /
123456", "0171.234.56.78", "+43 1 512 34 56" and "0049 (0)89 98765432" are all one
candidate. Whether a candidate is a phone number is decided by ``phonenumbers`` (Google's
libphonenumber metadata): an international one ("+" or "00") must have its country's
length, a national one (leading 0) must be valid in Germany, Austria or Switzerland, or
have a German mobile prefix and a mobile's length. Freephone, shared-cost and premium
numbers (0800, 0180…, 0900) are a business's, never a person's. The words just before a
candidate decide what the digits cannot: right after "Kundennummer" or "Sendung" (with no
other number in between) it is the shop's reference, after "Tel." or "Handy" any number
that could be dialled is a phone. A candidate that is too long is cut back a group at a
time ("0171 2345678 4711" keeps the order number 4711).

    >>> phone_spans("Ruf an: (0761) 12 34 56, Bestellung 0815 4711")
    [(8, 23)]
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers

from bot.chat.pii_cues import PHONE, REFERENCE, last_cue

_REGIONS = ("DE", "AT", "CH")
# One separator between two digits; each alternative starts differently or consumes
# more, so a run of separators has exactly one reading (the scan stays linear).
_SEP = r"(?:[ ]?[/–-][ ]?|\.|[ ]?\((?=\d[\d ]{0,7}\))|\)[ ]?|[ ])"
# Not inside a word or another number, not the tail of a reference like "LT-000042".
_CANDIDATE = re.compile(
    rf"(?<![\w+/#-])(?<!\d[.,])(?<![A-Za-z]-)(?:\+|\((?=\+?\d[\d ]{{0,7}}\))\+?)?\d"
    rf"(?:{_SEP}?\d){{5,19}}"
    rf"(?!\w)")
_CUTS = re.compile(_SEP)
# Dates share a phone number's digits and separators ("02/12/2026" dials Solingen): they
# are masked before the search, so a number right after one is still found.
# A date stands alone: "12.34.56" inside "0664.12.34.56" is the end of a phone number.
_DATE = re.compile(r"(?<![\d.])(?:\d{1,2}([/.-])\d{1,2}\1(?:\d{4}|\d{2})|\d{4}-\d{1,2}-\d{1,2})"
                   r"(?!\d|\.\d)")
# German mobile numbers: 015x, 016x, 017x and seven or eight digits.
_GERMAN_MOBILE = re.compile(r"01[5-7]\d{8,9}")
_SERVICE = {phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.PREMIUM_RATE,
            phonenumbers.PhoneNumberType.SHARED_COST}
_MIXED = re.compile(r"[/–-]")  # a dot with these between digits writes times or ranges
_CONTEXT = 40  # characters before a candidate whose words say what it is
_MIN_DIGITS = 7
# E.164 allows 15 digits after the "+"; "00" and a trunk "0" add up to two more.
_MAX_DIGITS = 17
# Groups a too long candidate may lose from its end ("0171 2345678 4711 2233" two).
_MAX_CUTS = 4


def phone_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every phone number in ``text``."""
    spans = []
    masked = _DATE.sub(lambda m: "D" * len(m.group()), text)
    for match in _CANDIDATE.finditer(masked):
        if "." in match.group() and not _dotted_phone(match.group()):
            continue
        before = text[max(0, match.start() - _CONTEXT):match.start()]
        end = _longest_phone(match.group(), _cue(before))
        if end:
            spans.append((match.start(), match.start() + end))
    return spans


def _dotted_phone(candidate: str) -> bool:
    """Whether a candidate with dots is written as a phone number ("0171.2345678",
    "030.123.456.78", "+49.171.2345678"), not as times ("08.30-17.00"), a version
    ("0.9.12.1234") or a quantity ("0.750.000"): dots only, after an area code of three
    digits or more or a "+", and not in thousands."""
    if _MIXED.search(candidate):
        return False
    groups = candidate.split(".")
    if not (candidate.startswith("+") or len(groups[0].replace(" ", "")) >= 3):
        return False
    return not (len(groups[0]) <= 3 and all(len(g) == 3 for g in groups[1:]))


def _cue(before: str) -> int | None:
    """0 when a phone word, 1 when a reference word is the last cue in ``before``; a
    reference word with a number after it has named that number, not this one."""
    cue = last_cue(before, PHONE, REFERENCE)
    if cue == 1:
        last = max(m.end() for m in REFERENCE.finditer(before))
        if re.search(r"\d", before[last:]):
            return None
    return cue


def _longest_phone(candidate: str, cue: int | None) -> int:
    """The length of the longest start of ``candidate`` (cut between digit groups) that is
    a phone number, or 0. ``cue``: 0 after a phone word, 1 after a reference word."""
    if cue == 1 or candidate.lstrip("(")[0] not in "+0":
        return 0  # no trunk or country prefix: a reference, a quantity, a year
    parts = []
    for end in [len(candidate)] + [m.start() for m in _CUTS.finditer(candidate)][::-1]:
        part = candidate[:end].rstrip(" (")
        digits = sum(c.isdigit() for c in part)
        if digits < _MIN_DIGITS or len(parts) > _MAX_CUTS:
            break
        # "01521-1234567) (3": a bracket the number did not open ends it before.
        if digits <= _MAX_DIGITS and part.count("(") == part.count(")"):
            parts.append(part)
    # A valid number first; after a phone word, one of a possible length will do.
    for lenient in (False, True) if cue == 0 else (False,):
        for part in parts:
            if _is_phone(part, lenient):
                return len(part)
    return 0


def _is_phone(part: str, lenient: bool) -> bool:
    """Whether ``part`` is a number one could dial: valid in its numbering plan, or, after
    a word that announces a phone number (``lenient``), at least of a possible length."""
    bare = part.lstrip("( ")
    # "+49 (0)30 …": the trunk 0 in brackets is not dialled from abroad.
    digits = re.sub(r"\D", "", bare.replace("(0)", "", 1) if bare.startswith(("+", "00")) else bare)
    if bare.startswith("+"):
        return _dialable("+" + digits, lenient)
    if digits.startswith("00"):
        return _dialable("+" + digits[2:], lenient)
    return _dialable(digits, lenient)


@lru_cache(maxsize=4096)
def _dialable(number: str, lenient: bool) -> bool:
    """``number`` ("+" and digits, or a national one with its trunk 0) checked against the
    numbering plans; cached, since a message often repeats a number. A "+" or "00" is
    written only before a phone number, so one of a possible length (ten digits at least)
    is one even where the plan does not know its range."""
    if number.startswith("+0"):
        return False  # no country code begins with 0
    international = number.startswith("+")
    if _GERMAN_MOBILE.fullmatch(number):
        return True
    regions = (None,) if international else _REGIONS
    for region in regions:
        try:
            parsed = phonenumbers.parse(number, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(parsed):
            return phonenumbers.number_type(parsed) not in _SERVICE
        if (lenient or (international and len(number) > 10)) and \
                phonenumbers.is_possible_number(parsed):
            return True
    return False
