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
    r"serien|seriennummer|los\b|ersatzteil|teilenummer|sku\b|ean\b|gtin|isbn|imei|batch|"
    r"pin\b|puk\b|modell|produkt|order|invoice|customer|parcel|reference|ref\b|"
    r"item|serial|voucher|case\b)", re.I)
# A number after these is a phone number (where it could be one at all).
PHONE = re.compile(
    r"\b(?:tel\b|tel\.|telefon|fon\b|phone|handy|mobil|ruf|r[üu]ckruf|anruf|erreich|call|fax|"
    r"whatsapp|festnetz|hotline|durchwahl|reach|ring\b|cell|sms\b|text me|signal\b|telegram)|"
    r"\b(?:meine[rn]?|my|your|deine[rn]?)[ ]+(?:nummer|number)\b", re.I)
# Words that announce a postal address.
_HOME = (r"adresse|anschrift|wohne|wohnen|wohnt|wohnhaft|wohnort|hausnummer|lieferadresse|"
         r"rechnungsadresse|postanschrift|zustelladresse|wohnsitz|meldeadresse|umgezogen|"
         r"address|live at|lives at|living at|live in|(?:ship|deliver|send) (?:it|them|this) to")
ADDRESS = re.compile(rf"\b(?:{_HOME}|ship to|deliver to|send to)", re.I)
# A postcode and place after these is where someone lives ("wohne in 79098 Freiburg"); not
# after "ship to" alone ("Do you ship to 8001 Zürich?" asks about a region).
POSTCODE = re.compile(rf"\b(?:plz|postleitzahl|postcode|zip|{_HOME})", re.I)
# A postcode and place after these is the shop's or a carrier's, not someone's home: a
# branch, a warehouse, a delivery region, a parcel locker.
PREMISES = re.compile(
    r"\b(?:filiale|laden|gesch[äa]ft|store|shop|lager|standort|niederlassung|zentrale|"
    r"liefergebiet|lieferregion|zustellgebiet|packstation|paketstation|postfiliale|paketshop|"
    r"abholstation|abholstelle|branch|warehouse|outlet|showroom|depot|hub|versandzentrum|"
    r"verteilzentrum|region|gebiet|umgebung|versand ab|ab lager)", re.I)
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

# Products the shop sells, as the last part of a word ("Trekkingrucksack", "Ecksofa"): a
# street-like name right after one is the product's model name ("Rucksack Grenzweg 40").
PRODUCT = re.compile(
    r"(?-i:(?=[A-ZÄÖÜ]))[\wäöüß]*(?:rucksack|zelt|jacke|weste|hose|schuhe?|stiefel|sandalen?|"
    r"schlafsack|isomatte|gaskocher|flasche|becher|lampe|leuchte|handschuhe?|m[üu]tze|tasche|"
    r"koffer|trolley|sofa|couch|sessel|stuhl|tisch|bett|matratze|regal|schrank|kommode|"
    r"teppich|kissen|decke|st[öo]cke?|brille|modell|kollektion|pullover|mantel|parka|shirt|"
    r"fleece|daypack)(?![\wäöüß-])|"
    r"\b(?:helm|kocher|serie|edition|variante|ausf[üu]hrung|set|backpack|pack|tent|jacket|"
    r"shoes?|boots?|bag|sleeping bag|stove|bottle|lamp|helmet|gloves?|sofa|couch|chair|table|"
    r"mattress|shelf|model|edition|series)(?![\wäöüß-])", re.I)
# Words right after a number that make the name before it a product's: a size, a volume, a
# colour, seats ("Hafenstraße 3-Sitzer", "Bergweg 35 in Blau", "Größe M").
PRODUCT_AFTER = re.compile(
    r"(?:-?[ ]?(?:sitzer|er[ -]set|er[ -]pack)|[ ,]+(?:modell|model|gr[öo](?:ß|ss)e|size|liter|"
    r"farbe|colou?r|in (?:gr[öo](?:ß|ss)e|schwarz|wei(?:ß|ss)|rot|blau|gr[üu]n|gelb|grau|braun|"
    r"beige|oliv|orange|pink|lila|petrol|anthrazit|black|white|red|blue|green|grey|gray|brown)|"
    r"(?:xxs|xs|xl|xxl)\b))(?![\wäöüß])", re.I)


def last_cue(window: str, *cues: re.Pattern[str]) -> int | None:
    """Which of ``cues`` occurs last in ``window`` (its index), or None."""
    best, which = -1, None
    for i, cue in enumerate(cues):
        for match in cue.finditer(window):
            if match.start() > best:
                best, which = match.start(), i
    return which
