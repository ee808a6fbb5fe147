"""Birth dates in a message: a date is one when a word says so, before it or after it.

Dates are found in their written forms (12.03.1985, 12.3.85, 1985-03-12, 12/03/1985,
"12. März 1985", "14 February 1988", "March 3rd, 1990", "3 Mar 1990"). A date is a birth
date when a birth word ("geboren", "Geburtsdatum", "geb.", "born", "DOB", …) stands before
it in the same sentence, up to a few words away ("Geburtsdatum für mein Kundenkonto, wie
gewünscht: 12.03.1985"), or just after it ("12.03.1985 ist mein Geburtsdatum"), with no
other date in between: the word names the first date after it, or else the last one
before it. A date of the last five years (or later) is never one: customers are not
toddlers, and in "zum Geburtstag, Lieferung bis 20.12.2025" it names a delivery.

    >>> birth_spans("Mein Geburtsdatum, falls nötig: 3. Mai 1979")
    [(32, 43)]
"""

from __future__ import annotations

import bisect
import datetime
import re

_MONTH = (r"(?:jan(?:uar|uary)?|j[äa]nner|feb(?:ruar|ruary)?|feber|m[äa]rz|mrz|m[äa]r|march|"
          r"apr(?:il)?|mai|may|jun[ie]?|jul[iy]?|aug(?:ust)?|sept?(?:ember)?|o[ck]t(?:ober)?|"
          r"nov(?:ember)?|de[zc](?:ember)?)\.?")
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"
_ORDINAL = r"(?:\.|st|nd|rd|th)?"
_DATE = re.compile(
    rf"(?<![\w.])(?:{_DAY}\.[ ]?(?:0?[1-9]|1[0-2])\.[ ]?(?P<y1>\d{{4}}|\d{{2}})"
    rf"|(?P<y2>\d{{4}})-\d{{2}}-\d{{2}}"
    rf"|{_DAY}[/-](?:0?[1-9]|1[0-2])[/-](?P<y3>\d{{4}}|\d{{2}})"
    rf"|{_DAY}{_ORDINAL}[ ](?:of[ ])?{_MONTH},?[ ](?P<y4>\d{{4}})"
    rf"|{_MONTH}[ ]{_DAY}{_ORDINAL},?[ ](?P<y5>\d{{4}}))(?![\w])", re.I)
_BIRTH = re.compile(r"\b(?:geboren|geburtsdatums?|geburtstag|geburtsjahr|born|date of birth|"
                    r"birth ?date|birthday|dob)\b|\bgeb\.|\bd\.o\.b\.", re.I)
# A date of the last few years is an order's or a gift's, not a customer's birth date.
_YOUNGEST = 5
# How far a birth word may stand from its date, and what ends its sentence first.
_BEFORE, _AFTER = 80, 40
_SENTENCE_END = re.compile(r"[!?\n]|\.[ ]+(?=[A-ZÄÖÜ])")


def birth_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every birth date in ``text``: each birth word names the first date
    after it in its sentence, or else the last one before it."""
    dates = [d for d in _DATE.finditer(text)]
    starts = [d.start() for d in dates]
    this_year = datetime.date.today().year
    named: set[int] = set()
    for word in _BIRTH.finditer(text):
        k = bisect.bisect_left(starts, word.end())
        if k < len(dates) and dates[k].start() - word.end() <= _BEFORE and \
                not _SENTENCE_END.search(text, word.end(), dates[k].start()):
            named.add(k)
        elif k and word.start() - dates[k - 1].end() <= _AFTER and \
                not _SENTENCE_END.search(text, dates[k - 1].end(), word.start()):
            named.add(k - 1)
    return [(dates[k].start(), dates[k].end()) for k in sorted(named)
            if _year(dates[k], this_year) <= this_year - _YOUNGEST]


def _year(date: re.Match[str], this_year: int) -> int:
    """The date's year, a two-digit one read as the most recent such year."""
    written = next(y for y in date.group("y1", "y2", "y3", "y4", "y5") if y)
    year = int(written)
    if len(written) == 2:
        year += 2000 if 2000 + year <= this_year else 1900
    return year
