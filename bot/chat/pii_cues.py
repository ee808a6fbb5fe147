"""The words around a number that tell what it is, for the redactor (``bot.chat.pii``).

Digits alone cannot tell a phone number from a customer number that starts with 0, or a
house number from a product's size: the words just before them can. "Kundennummer 0123 456"
is a reference, "Tel. 0123 456" a phone; "Adresse: Lange Reihe 12" is a street, "der
Höhenweg 2" (with an article, as nobody names their street) a product. Each cue is a
word stem, matched case-insensitively at a word's start, so inflected and compound forms
count ("Bestellnummer", "Rechnungs-Nr.", "Handynummer").
"""

from __future__ import annotations

import re

# A number after these is a reference of the shop's, not a person's data.
REFERENCE = re.compile(
    r"\b(?:bestell|auftrag|kunden|rechnung|artikel|art\.|sendung|tracking|paket|lieferschein|"
    r"retoure|r[üu]cksende|vorgang|referenz|aktenzeichen|vertrag|ticket|gutschein|code|charge|"
    r"serien|seriennummer|los\b|modell|produkt|order|invoice|customer|parcel|reference|ref\b|"
    r"item|serial|voucher|case\b)", re.I)
# A number after these is a phone number (where it could be one at all).
PHONE = re.compile(
    r"\b(?:tel\b|tel\.|telefon|fon\b|phone|handy|mobil|ruf|r[üu]ckruf|anruf|erreich|call|fax|"
    r"whatsapp|festnetz|hotline|durchwahl)", re.I)
# Words that announce a postal address.
ADDRESS = re.compile(
    r"\b(?:adresse|anschrift|wohne|wohnen|wohnt|wohnhaft|wohnort|hausnummer|lieferadresse|"
    r"rechnungsadresse|postanschrift|zustelladresse|address|live at|lives at|living at|"
    r"ship (?:it |them )?to|deliver (?:it |them )?to|send (?:it |them )?to)", re.I)
# A place name after these is where someone lives ("wohne in 79098 Freiburg").
POSTCODE = re.compile(r"\b(?:plz|postleitzahl|postcode|zip)\b|" + ADDRESS.pattern, re.I)
# Nobody puts an article before their own street ("der Lindenweg 17" is a product, a
# trail, a page); after a preposition ("in der Lindenstraße 4") it is a street again.
DETERMINERS = frozenset(
    "der die das den dem des ein eine einen einem einer mein meine meinen meinem meiner dein "
    "deine deinen deinem unser unsere unseren unserem euer eure ihr ihre ihren ihrem kein "
    "keine keinen dieser diese diesen dieses diesem jeder jede jeden welcher welche welchen "
    "the a my your our their this that".split())
PREPOSITIONS = frozenset(
    "in an auf aus bei nach von zu zum zur am im vom beim unter hinter vor neben über "
    "zwischen gegenüber entlang richtung to at on into from near".split())
# Words after a number that make it a quantity, not a house number.
UNIT = re.compile(
    r"[ ]?(?:kg|g|gramm|l|liter|litre|ml|cm|mm|m|meter|km|€|eur|euro|chf|%|prozent|stück|stk|"
    r"x|mal|personen|person|pers|jahre|jahren|jahr|tage|tagen|tag|wochen|woche|monate|monaten|"
    r"min|minuten|std|stunden|uhr|grad|°|watt|w|v|mah|gb|tb|zoll|paar|teile|kilo|pieces?|pcs|"
    r"people|years?|days?|weeks?|months?|hours?|times)(?![\wäöüß])", re.I)


def last_cue(window: str, *cues: re.Pattern[str]) -> int | None:
    """Which of ``cues`` occurs last in ``window`` (its index), or None."""
    best, which = -1, None
    for i, cue in enumerate(cues):
        for match in cue.finditer(window):
            if match.start() > best:
                best, which = match.start(), i
    return which
