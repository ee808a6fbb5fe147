"""Birth dates in a message: a date is one when a word says so, before it or after it.

Dates are found in their written forms (12.03.1985, 12.3.85, 1985-03-12, 1985/03/12,
12/03/1985, the American 03/12/1985, "12. März 1985", "14.Februar 1990", "14-Feb-1990",
"14 February 1988", "March 3rd, 1990", "3 Mar 1990", "3 mars 1984", "3 marzo 1984"). A
date is a birth date when a birth word ("geboren", "Geburtsdatum", "geb.", "zur Welt",
"born", "DOB", "né le", …) stands before it in the same sentence, up to a few words away
("Geburtsdatum für mein Kundenkonto, wie gewünscht: 12.03.1985"), or a few words after it
("12.03.1985 ist, falls das hilft, mein Geburtsdatum"), with no other date in between: the
word names the first date after it, or else the last one before it.

The word decides, not the year: a child's birth date of last year is personal data too.
Only a date still to come is never a birth date, and "Geburtstag" or "birthday" names the
day of a celebration as often as a birth: with a date of this year or the last ("die
Lieferung zum Geburtstag am 24.12.2025") it is the party's, not a birth date.

    >>> birth_spans("Mein Geburtsdatum, falls nötig: 3. Mai 1979")
    [(32, 43)]
"""

from __future__ import annotations

import bisect
import datetime
import re

_MONTH = (r"(?:jan(?:uar|uary)?|j[äa]nner|feb(?:ruar|ruary)?|feber|m[äa]rz|mrz|m[äa]r|march|"
          r"apr(?:il)?|mai|may|jun[ie]?|jul[iy]?|aug(?:ust)?|sept?(?:ember)?|o[ck]t(?:ober)?|"
          r"nov(?:ember)?|de[zc](?:ember)?|"
          # French and Italian, as written in western and southern Switzerland
          r"janvier|f[ée]vrier|mars|avril|juin|juillet|ao[ûu]t|septembre|octobre|novembre|"
          r"d[ée]cembre|gennaio|febbraio|marzo|aprile|maggio|giugno|luglio|agosto|settembre|"
          r"ottobre|dicembre)\.?")
_DAY = r"(?:0?[1-9]|[12]\d|3[01])"  # a day, or (in 02/14/2000) a month
_ORDINAL = r"(?:st|nd|rd|th)?"
_DATE = re.compile(
    rf"(?<![\w.,/-])(?:{_DAY}\.[ ]?{_DAY}\.[ ]?(?P<y1>\d{{4}}|\d{{2}})"
    rf"|(?P<y2>\d{{4}})(?P<s2>[-/.])\d{{1,2}}(?P=s2)\d{{1,2}}"
    rf"|{_DAY}(?P<s3>[/-]){_DAY}(?P=s3)(?P<y3>\d{{4}}|\d{{2}})"
    rf"|{_DAY}{_ORDINAL}(?:\.[ ]?|[ ]|-)(?:of[ ])?{_MONTH}(?:,?[ ]|-)(?P<y4>\d{{4}})"
    rf"|{_MONTH}[ ]{_DAY}{_ORDINAL},?[ ](?P<y5>\d{{4}}))(?![\w]|[./-]\d)", re.I)
_BIRTH = re.compile(
    r"\b(?:geboren|geburtsdatums?|geb(?:urts)?\.?[ -]?datum|geburt|geburtsjahr|zur welt|"
    r"auf die welt|born|date of birth|birth ?date|dob|n[ée]e? le|nat[oa] il|"
    r"date de naissance|data di nascita)\b|\bgeb\.|\bd\.o\.b\.|"
    r"(?P<party>\b(?:geburtstag|birthday)\b)", re.I)
# How far a birth word may stand from its date, and what ends its sentence first.
_BEFORE, _AFTER = 80, 60
_SENTENCE_END = re.compile(r"[!?\n]|\.[ ]+(?=[A-ZÄÖÜ])")
# Between a birth word and its date, a line break or a question mark alone ends nothing
# ("Geburtsdatum:\n12.03.1985", "Geburtsdatum? 12.03.1985").
_ONLY_PUNCTUATION = re.compile(r"[\s:;,?–-]*")


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
                _same_sentence(text, word.end(), dates[k].start()):
            found = k
        elif k and word.start() - dates[k - 1].end() <= _AFTER and \
                _same_sentence(text, dates[k - 1].end(), word.start()):
            found = k - 1
        else:
            continue
        year = _year(dates[found], this_year)
        if year <= this_year and not (word.group("party") and year >= this_year - 1):
            named.add(found)
    return [(dates[k].start(), dates[k].end()) for k in sorted(named)]


def _same_sentence(text: str, start: int, end: int) -> bool:
    """Whether no sentence ends between ``start`` and ``end``."""
    return bool(_ONLY_PUNCTUATION.fullmatch(text, start, end)) or \
        not _SENTENCE_END.search(text, start, end)


def _year(date: re.Match[str], this_year: int) -> int:
    """The date's year, a two-digit one read as the most recent such year."""
    written = next(y for y in date.group("y1", "y2", "y3", "y4", "y5") if y)
    year = int(written)
    if len(written) == 2:
        year += 2000 if 2000 + year <= this_year else 1900
    return year
