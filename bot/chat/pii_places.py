"""Postcodes with their place, for the address redactor (``bot.chat.pii_addresses``).

A postcode and place belong to a person when they follow that person's street ("Lange
Reihe 12, 20099 Hamburg", on the same line or the next) or when a word announces a home
address before them ("wohne in 79098 Freiburg", "PLZ 1070 Wien", "Lieferadresse: …"). Alone,
they name a branch, a warehouse, a delivery region or a parcel locker ("Filiale in 8004
Zürich", "Liefergebiet 50667 Köln") and stay; so do they after a reference word
("Bestellung 10023 Versand").
"""

from __future__ import annotations

import bisect
import re

from bot.chat.pii_cues import POSTCODE, PREMISES, REFERENCE, UNIT

_UPPER, _LOWER = "A-ZÄÖÜÀ-ÖØ-Ý", "a-zäöüßà-öø-ÿ"
_TOWN_WORD = rf"[{_UPPER}][{_LOWER}]+"
# A number followed by a unit is a quantity ("1200 Gramm", "2500 Meter"), and after "seit"
# or "ab" four digits are a year ("seit 2019 Mieter").
_NO_UNIT = rf"(?!(?i:{UNIT.pattern}))"
_NO_YEAR = r"(?<!seit )(?<!Seit )(?<!since )(?<!ab )(?<!bis )(?<!Jahr )"
# Right after a house number: a comma, a line break or "in", then the postcode and a place
# in any case ("…, 04109 leipzig" in a message typed all in small letters).
POSTCODE_AFTER = re.compile(
    rf"(?:[ ]*,[ ]*(?:\n[ ]*)?|[ ]*\n[ ]*|[ ]+(?:in[ ]+)?)(?:[A-Z]{{1,2}}-)?\d{{4,5}}"
    rf"{_NO_UNIT}[ ]+(?:St\.[ ]?)?[{_UPPER}{_LOWER}][{_LOWER}]+(?:[ -]{_TOWN_WORD})?")
# A postcode and the words that may name its place: "Freiburg", "Titisee-Neustadt",
# "Frankfurt am Main", "Freiburg im Breisgau"; which of them do is decided by the town list.
POSTCODE_CITY = re.compile(
    rf"(?<![\w-]){_NO_YEAR}(?P<prefix>(?:D|A|CH|FL|L)-)?(?P<code>\d{{4,5}}){_NO_UNIT}[ ]+"
    rf"(?P<city>(?:St\.[ ]?)?{_TOWN_WORD}(?:-{_TOWN_WORD})*)"
    rf"(?P<more>(?:[ ](?:am|an|im|in|ob|bei|der|{_TOWN_WORD})){{0,3}})")
# What may stand between a street and its postcode when the postcode was not taken with it.
_JOIN = re.compile(r"[ ]*(?:,[ ]*)?(?:\n[ ]*)?(?:in[ ]+)?")
_MAX_JOIN = 12
_CONTEXT = 60  # characters before a postcode whose words say whose it is


def place_spans(text: str, streets: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(start, end) of each postcode with its place that belongs to a person's address:
    right after one of the (ordered, disjoint) ``streets`` or announced by an address word."""
    spans = []
    ends = [b for _, b in streets]
    for match in POSTCODE_CITY.finditer(text):
        k = bisect.bisect_right(ends, match.start())  # streets[k] ends after the start
        if k < len(streets) and streets[k][0] <= match.start():
            continue  # taken with its street
        after_street = k > 0 and match.start() - ends[k - 1] <= _MAX_JOIN and \
            bool(_JOIN.fullmatch(text, ends[k - 1], match.start()))
        end = _place_end(match, after_street or _announced(text, match.start()))
        if end:
            spans.append((match.start(), end))
    return spans


def _announced(text: str, start: int) -> bool:
    """Whether an address word is the last cue before ``start``, with no number after it
    and no branch, warehouse or region named in between ("wohne in 79098 Freiburg", not
    "Adresse der Filiale: 8004 Zürich")."""
    before = text[max(0, start - _CONTEXT):start]
    cues = [(m.end(), "postcode") for m in POSTCODE.finditer(before)] + \
        [(m.end(), "other") for m in REFERENCE.finditer(before)] + \
        [(m.end(), "other") for m in PREMISES.finditer(before)]
    if not cues:
        return False
    at, last = max(cues)
    return last == "postcode" and not re.search(r"\d", before[at:])


def _place_end(match: re.Match[str], owned: bool) -> int | None:
    """Where the place after the postcode ends, if the postcode is a person's (``owned``):
    a known town with the words of its name ("Frankfurt am Main"), or the first word."""
    if not owned:
        return None
    known = _known_place(match.group("city"), match.group("more"))
    return match.end("city") + max(known, 0)


def _known_place(city: str, more: str) -> int:
    """How many characters of ``more`` belong to the name of a town of the German-speaking
    countries that begins with ``city`` (0 for the word alone), or -1 when none does."""
    from kb.gazetteer import gazetteer
    from kb.text import fold

    table = gazetteer()
    words = more.split(" ")[1:]
    for n in range(len(words), -1, -1):
        tail = "".join(" " + w for w in words[:n])
        if table.get(fold(city + tail), "").startswith("city:"):
            return len(tail)
    return -1
