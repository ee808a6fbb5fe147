"""Street addresses in a message: a house number with a street-like name before it.

A house number (1 to 4 digits, a letter or a range after it: 5a, 12 B, 12-14; Vienna's
stair and door as in 88/3/12 or "5/Top 7") is part of an address when the words before it
are a street's name of one of these kinds:

- a word with a street's ending: "Lindenweg", "Kaiser-Joseph-Straße", "Hauptstr.",
  "Mühlgasse", "Hohe Straße", "Bad Homburger Str.", and in small letters
  "karl-marx-allee" or "hauptstraße";
- capitalised words led by a capitalised preposition in the middle of a sentence, where
  only a name is capitalised: "wohne Am Mühlbach 3", "an Auf der Heide 4", "Unter den
  Linden 5";
- any capitalised words where the context says address ("Rosenanger 12", "Kirchhof 3"): an
  address word before them in the sentence ("Adresse", "wohne", "Lieferadresse", "ship
  to") with no number in between, a postcode and place after them ("Lange Reihe 12,
  20099 Hamburg", also on the next line), a person's name before them ("Jana Keller,
  Eichenhof 8"), or "an … liefern" around them;
- in French and Italian, a street word first: "Rue du Lac 12", "Avenue de la Gare 8",
  "Chemin des Vignes 3", "Via Nassa 5" (and "12, rue du Lac");
- in English, a number before capitalised words and a street word ("221 Baker Street").

A name is a product's rather than a street's where the shop's words surround it: an
article with no preposition ("der Höhenweg 2"), a product word right before it ("Rucksack
Grenzweg 40", "Modell Fjellweg 2"), a size, colour, volume or seats after the number
("Hafenstraße 3-Sitzer", "Bergweg 35 in Blau", "Talweg 35 Liter"), a shop's verb or a
price after it ("… ist ausverkauft", "… kostet 89 €"), or a product word in the same
sentence ("Bergweg 35 oder Talweg 40, welcher Rucksack ist leichter?") where no address
word, postcode, person's name or preposition of place says otherwise. A number followed by a unit ("3 kg", "2
Stück") is a quantity, and one glued to more digits ("4711-2233", "3,5") a reference or a
measure. Postcodes with their place: ``bot.chat.pii_places``.

Each house number looks at a bounded window of text before and after it, so the cost
grows with the text's length.

    >>> address_spans("Bitte an Lange Reihe 12, 20099 Hamburg liefern")
    [(9, 38)]
"""

from __future__ import annotations

import re

from bot.chat.pii_cues import (ADDRESS, DETERMINERS, PREMISES, PREPOSITIONS, PRODUCT,
                               PRODUCT_AFTER, REFERENCE, UNIT)
from bot.chat.pii_places import POSTCODE_AFTER, place_spans
from bot.chat.pii_romance import romance_spans

_SUFFIX = (r"(?:stra(?:ß|ss)e|str\.|weg|gasse|gässle|gässli|gässchen|platz|allee|ring|damm|"
           r"ufer|chaussee|steig|stieg|pfad|markt|graben|wall|kai|quai|zeile|promenade|twiete|"
           r"lände|stiege)")
_SUFFIX_WORD = re.compile(rf"(?-i:[A-ZÄÖÜ])[\wäöüß-]*{_SUFFIX}", re.I)  # "Lindenweg"
_BARE_WORD = re.compile(_SUFFIX, re.I)  # "Straße", "Weg", "Str." alone (capitalised)
# In small letters only the endings no common word has ("hauptstraße", "mühlgasse") or a
# hyphenated name ("karl-marx-allee"); others ("parkplatz 2") need an address word.
_LOWER_STREET = re.compile(
    rf"[a-zäöüß][a-zäöüß]*(?:stra(?:ß|ss)e|str\.|allee|gasse|chaussee|promenade)|"
    rf"[a-zäöüß]+(?:-[a-zäöüß]+)+-?{_SUFFIX}")
_LOWER_ANY = re.compile(rf"[a-zäöüß][a-zäöüß-]+(?:{_SUFFIX}|hof|feld|anger|wiese|garten|grund|"
                        rf"berg|bühl|winkel|acker|kamp|park|hang|höhe|tal|blick|heide|aue?|"
                        rf"mühle|brunnen|bogen|hain|leite|halde|matte|rain)")
_LOWER_LEAD = frozenset("am im zum zur beim vom".split())
# A name word: capital then small letters ("AlpinPro", "BH" and "GTX" are product names),
# hyphenated parts allowed; a trailing dot only for an abbreviated street word.
_NAME = re.compile(r"[A-ZÄÖÜ][a-zäöüß]+(?:-[A-ZÄÖÜa-zäöüß][a-zäöüß]*)*")
_ADJECTIVE = re.compile(r"[A-ZÄÖÜ][a-zäöüß]+(?:e|er|es|en|em)")
_LEAD = frozenset("Am Im Zum Zur Beim Vom Ans Ins Hinterm Unterm Überm".split())
_LEAD_WITH_ARTICLE = frozenset("An Auf In Unter Hinter Vor Bei Über Neben Zwischen Aus".split())
_ARTICLES = frozenset("der den dem die das".split())
_CONNECTORS = _ARTICLES | frozenset("von vom zum zur am im an auf in unter vor bei".split())
_CONJUNCTIONS = re.compile(r"\b(?:aber|und|oder|doch|sondern|weil|dass|but|and|or|because)\b|"
                           r"[.!?](?:\s|$)", re.I)
_CLAUSE_END = re.compile(_CONJUNCTIONS.pattern + r"|[,;:\n]", re.I)
_HOUSE = re.compile(
    r"(?:(?<=[ ])|(?<=[Ss]tr\.))(?P<num>[1-9]\d{0,3})"
    r"(?P<tail>(?:[ ]?[a-zA-Z](?![\wäöüß]))?(?:[ ]?[-/][ ]?[1-9]\d{0,2}[a-zA-Z]?){0,3}"
    r"(?:(?:[ ]?/[ ]?|,[ ]?|[ ])(?:Top|Tür|Stiege|Stg\.|Whg\.|Wohnung)[ ]?\d{1,3}){0,2})"
    r"(?![\wäöüß]|[.,]\d|[-/]\d|-[^\W\d_])")
_ENGLISH = re.compile(
    r"(?<![\w.,])[1-9]\d{0,4}[A-Za-z]?[ ]+(?:[A-Z][a-z]+[ ]+){1,3}?(?:Street|St\.|Road|Rd\.|"
    r"Avenue|Ave\.|Lane|Ln\.|Drive|Way|Close|Court|Place|Terrace|Crescent|Boulevard|Blvd\.|"
    r"Square|Gardens|Grove|Row|Mews)(?![\w])")
# After a house number: a product's model word, not a street's continuation.
_MODEL = re.compile(r"[ ]?(?:Pro|Plus|Ultra|Lite|Light|Max|Mini|Air|Evo|Expedition|Trail|Tour|"
                    r"Junior|Kids|GTX|XL|XS)(?![\wäöüß])")
# What is said of a product in the clause around its name: it is sold, bought, returned,
# it costs, it comes in pieces.
_SHOP_TALK = re.compile(
    r"\b(?:ausverkauft|lieferbar|vorr[äa]tig|auf lager|im angebot|reduziert|kostet|kosten|"
    r"preis|wiegt|bestellbar|nachbestellt|bestellen|bestellt|kaufen|gekauft|zur[üu]ckgeschickt|"
    r"retourniert|umtauschen|umgetauscht|reklamier\w*|in stock|sold out|costs?|price|weighs|"
    r"bought|ordered|returned)\b|\d[\d.,]*[ ]?(?:€|eur\b|euro\b|chf\b)|(?:€|eur|chf)[ ]?\d|"
    r"\b\d+[ ]?(?:stück|stk|paar|x)(?![\wäöüß])", re.I)
# Prepositions of place: a name after them is where something goes ("Versand an …").
_TO_A_PLACE = frozenset("an nach in bei zu zum zur to at into".split())
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|\n")
# "an Rosenanger 12 liefern": a delivery verb after a name that "an" or "to" leads.
_DELIVER = re.compile(r"[^.!?\n]{0,30}?\b(?:liefern|schicken|senden|zustellen|geliefert|"
                      r"geschickt|gesendet|zugestellt|deliver|send|ship)", re.I)
# A person's name as on an envelope: on the line above the street, or after "an", "für",
# "c/o" and a comma, or opening the message ("Jana Keller, Eichenhof 8" and nothing more).
_PERSON = re.compile(
    r"(?:(?P<open>^)|\n|\b(?:an|für|for|to|bei|c/o)[ ])[ ]*(?:(?:Herrn?|Frau|"
    r"Hr\.|Fr\.|Dr\.|Mr\.?|Mrs\.?|Ms\.?)[ ]+)?(?P<names>[A-ZÄÖÜ][a-zäöüß]+"
    r"(?:-[A-ZÄÖÜ][a-zäöüß]+)?[ ]+[A-ZÄÖÜ][a-zäöüß]+(?:-[A-ZÄÖÜ][a-zäöüß]+)?)"
    r"(?:[ ]*,[ ]*|(?P<newline>[ ]*\n[ ]*))$")
_LINE_END = re.compile(r"[ ]*(?:[,.]?[ ]*$|[,.]?[ ]*\n)")
# Capitalised at a sentence's start, but never part of a street's name (nor a person's).
_NOT_NAMES = DETERMINERS | frozenset("ich wir sie er es du bitte danke hallo hi hello please "
                                     "dear liebe lieber guten grüße gruß team tag morgen "
                                     "abend damen herren".split())
_PREMISES_WORD = re.compile(rf"(?:{PREMISES.pattern})(?:e|en|n|s|es)?", re.I)
_SMALL_WORDS = DETERMINERS | PREPOSITIONS
_WINDOW = 80  # characters before a house number that can hold its street's name
_CUE_REACH = 80  # how far before the name an address word still counts
_NEARBY = 50  # how far in its sentence a product word may stand from a model's name


def address_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every street address (with its postcode and place, when given) and
    of every postcode with its place that belongs to a person's address in ``text``."""
    spans = [(m.start(), m.end()) for m in _ENGLISH.finditer(text)]
    spans += romance_spans(text, _is_product)
    for house in _HOUSE.finditer(text):
        before = text[house.start() - 2] if house.start() > 1 else ""
        if not (before.isalpha() or before == ".") or \
                UNIT.match(text, house.start("num") + len(house.group("num"))) or \
                _MODEL.match(text, house.end()):
            continue  # a name's last letter (or "Str.") comes right before a house number
        start = _street_start(text, house)
        if start is None:
            continue
        place = POSTCODE_AFTER.match(text, house.end())
        spans.append((start, place.end() if place else house.end()))
    streets = _merge(spans)
    return _merge(streets + place_spans(text, streets))


_WORD = re.compile(r"\S+")


def _tokens(text: str, end: int) -> list[re.Match[str]]:
    """The whitespace-separated words in the window before ``end``, nearest last (a word
    cut by the window's edge is left out)."""
    start = max(0, end - _WINDOW)
    words = list(_WORD.finditer(text, start, end))
    if words and start > 0 and words[0].start() == start and not text[start - 1].isspace():
        words = words[1:]
    return words


def _street_start(text: str, house: re.Match[str]) -> int | None:
    """Where the street name ending right before the ``house`` number begins, or None when
    the words before it are not a street's name or name a product."""
    words = _tokens(text, house.start())
    if not words:
        return None
    found = _name_start(text, words)
    if found is None:
        return None
    start, strong = found
    verdict = _context(text, words, start, house)
    if verdict == "product" or not (strong or verdict == "address"):
        return None
    return words[start].start()


def _name_start(text: str, words: list[re.Match[str]]) -> tuple[int, bool] | None:
    """The index of the first word of the name before a house number, and whether its
    shape alone makes it a street's (a street word, a preposition leading it); a name of
    any other capitalised words needs the context to say address."""
    last = words[-1].group()
    run = _name_run(words)
    if not run:
        i = len(words) - 1
        if not (_LOWER_STREET.fullmatch(last) or _LOWER_ANY.fullmatch(last)):
            return None
        start = i - 1 if i and words[i - 1].group().lower() in _LOWER_LEAD else i
        return start, bool(_LOWER_STREET.fullmatch(last))
    bare = last[:1].isupper() and bool(_BARE_WORD.fullmatch(last))
    if (_SUFFIX_WORD.fullmatch(last) and not bare) or (bare and len(run) > 1):
        return _suffix_start(words, run, bare), True
    if last.endswith(".") or not _NAME.fullmatch(last):
        return None
    if any(REFERENCE.match(words[i].group()) or PREMISES.fullmatch(words[i].group())
           for i in run):
        return None  # "Zur Bestellung 412", "Packstation 123": the shop's or the carrier's
    lead = _lead(words, run)
    if lead is not None:
        return lead, not _sentence_start(text, words, lead)
    return run[0], False


def _context(text: str, words: list[re.Match[str]], start: int,
             house: re.Match[str]) -> str | None:
    """What the words around a name and its number make of it: "address", "product" (a
    product's name, or a shop's own address), or None when they say nothing. In order of
    weight: a branch named before it, a postcode after it, a product word or a shop's verb
    before it, an address word or a person's name before it, then what follows the
    number."""
    if _at_premises(words, start, len(words) - 1):
        return "product"
    if POSTCODE_AFTER.match(text, house.end()):
        return "address"
    if _names_a_product(words, start) or _sold_before(text, words, start):
        return "product"
    if _cue_before(text, words, start) or _after_person(text, words[start].start(), house) or \
            _delivered_to(text, words, start, house):
        return "address"
    return "product" if _is_product(text, words[start].start(), house) else None


def _is_product(text: str, start: int, house: re.Match[str]) -> bool:
    """Whether what follows the number makes the name from ``start`` a product: a size,
    colour, volume, seats or a product word right after it; or, unless a preposition of
    place leads the name ("an die Hauptstraße 140"), a shop's verb or a price in its clause
    or a product word in its sentence ("Der Schlafsack Uferweg 140 ist mir zu warm")."""
    end = house.end()
    if PRODUCT_AFTER.match(text, end) or (text[end:end + 1] == " " and
                                          PRODUCT.match(text, end + 1)):
        return True
    if _led_to_a_place(text, start):
        return False
    clause = _CLAUSE_END.search(text, end, end + 40)
    if _SHOP_TALK.search(text, end, clause.start() if clause else end + 40):
        return True
    return _product_in_sentence(text, start, end)


def _product_in_sentence(text: str, start: int, end: int) -> bool:
    """Whether a product word stands near the name and number, in their sentence
    ("Bergweg 35 oder Talweg 40, welcher Rucksack ist leichter?")."""
    left, right = max(0, start - _NEARBY), min(len(text), end + _NEARBY)
    ends = list(_SENTENCE_END.finditer(text, left, start))
    following = _SENTENCE_END.search(text, end, right)
    return bool(PRODUCT.search(text, ends[-1].end() if ends else left,
                               following.start() if following else right))


def _at_premises(words: list[re.Match[str]], start: int, last: int) -> bool:
    """Whether a branch or shop is named in or right before the name, with only small words
    between ("Filiale Hauptstraße 12", "unser Geschäft in der Hauptstraße 5"): the shop's
    address, not a customer's."""
    i = start - 1
    while i >= 0 and start - i <= 3 and words[i].group().lower() in _SMALL_WORDS:
        i -= 1
    return any(_PREMISES_WORD.fullmatch(words[j].group().strip(",:")) for j in
               range(max(i, 0), last))


def _sold_before(text: str, words: list[re.Match[str]], start: int) -> bool:
    """A shop's verb before the name in its clause ("Wie viel wiegt Sonnenweg 120?", "2
    Stück vom Gipfelweg 28"), and no preposition of place leading the name ("Was kostet
    der Versand an Lindenweg 17?")."""
    if _led_to_a_place(text, words[start].start()):
        return False
    window_start = max(0, words[start].start() - 40)
    clause = list(_CLAUSE_END.finditer(text, window_start, words[start].start()))
    return bool(_SHOP_TALK.search(text, clause[-1].end() if clause else window_start,
                                  words[start].start()))


def _led_to_a_place(text: str, start: int) -> bool:
    """Whether a preposition of place, perhaps with an article, leads the name beginning
    at ``start`` ("an die Hauptstraße 140", "nach Lindenweg 17")."""
    before = text[max(0, start - 20):start].lower().split()
    if before and before[-1] in DETERMINERS:
        before.pop()
    return bool(before) and before[-1] in _TO_A_PLACE


def _name_run(words: list[re.Match[str]]) -> list[int]:
    """Indexes of the capitalised words (and the small words between them, "Unter den
    Linden") that end right before the house number, at most four names, oldest first.
    An address word ("Lieferadresse") ends the run: it introduces the name."""
    run: list[int] = []
    names = 0
    for i in range(len(words) - 1, -1, -1):
        word = words[i].group()
        if word in _CONNECTORS and run and names < 4:
            run.insert(0, i)
        elif (ADDRESS.match(word) and not _SUFFIX_WORD.fullmatch(word)) or \
                word.lower() in _NOT_NAMES:
            break
        elif i == len(words) - 1 and (_SUFFIX_WORD.fullmatch(word) or
                                      (word[:1].isupper() and _BARE_WORD.fullmatch(word))):
            run.insert(0, i)
            names += 1
        elif _NAME.fullmatch(word) and names < 4:
            run.insert(0, i)
            names += 1
        else:
            break
    while run and words[run[0]].group() in _CONNECTORS:
        run.pop(0)
    return run


def _suffix_start(words: list[re.Match[str]], run: list[int], bare: bool) -> int:
    """The first word of a name ending in a street word: adjectives and a leading
    preposition belong to it ("Alte Landstraße", "Am Alten Markt"); a ``bare`` street word
    ("Straße" or "Str." alone) takes the names before it too ("Hohe Straße", "Karl Marx
    Str.")."""
    last = run[-1]
    start = last
    for i in reversed(run[:-1]):
        word = words[i].group()
        if word in _LEAD or word in _LEAD_WITH_ARTICLE or word in _CONNECTORS or bare or \
                _ADJECTIVE.fullmatch(word):
            start = i
        else:
            break
    while words[start].group() in _CONNECTORS and start < last:
        start += 1
    return start


def _lead(words: list[re.Match[str]], run: list[int]) -> int | None:
    """The index of a capitalised preposition that leads the run ("Am", "Zur", "Auf der"),
    followed by at least one name."""
    for pos, i in enumerate(run[:-1]):
        word, following = words[i].group(), words[run[pos + 1]].group()
        if word in _LEAD and _NAME.fullmatch(following):
            return i
        if word in _LEAD_WITH_ARTICLE and following in _ARTICLES and pos + 2 < len(run):
            return i
    return None


def _sentence_start(text: str, words: list[re.Match[str]], i: int) -> bool:
    """Whether word ``i`` begins the text, a sentence or a line (where every word is
    capitalised, so a capital says nothing)."""
    start = words[i].start()
    before = re.search(r"(\S?)(\s*)$", text[max(0, start - 20):start])
    return not before.group(1) or "\n" in before.group(2) or before.group(1) in ".!?"


def _names_a_product(words: list[re.Match[str]], start: int) -> bool:
    """An article right before the name ("der Höhenweg 2", not "in der Lindenstraße 4")
    or a product or reference word ("Rucksack Grenzweg 40", "Modell Fjellweg 2", "den
    Rucksack Fernweg 30"): a product or a trail, not someone's street."""
    if start == 0:
        return False
    before = words[start - 1].group()
    if REFERENCE.match(before) or PRODUCT.fullmatch(before.strip(",:„“\"'")):
        return True
    if before.lower() not in DETERMINERS:
        return False
    return start < 2 or words[start - 2].group().lower().rstrip(",") not in PREPOSITIONS


def _cue_before(text: str, words: list[re.Match[str]], first: int) -> bool:
    """An address word shortly before the name, in the same clause, with no number between."""
    name_start = words[first].start()
    window = text[max(0, name_start - _CUE_REACH):name_start]
    cues = list(ADDRESS.finditer(window))
    if not cues:
        return False
    between = window[cues[-1].end():]
    return not re.search(r"\d", between) and not _CONJUNCTIONS.search(between)


def _after_person(text: str, start: int, house: re.Match[str]) -> bool:
    """A person's name right before, as on an envelope: on the line above, after "an" or
    "für" and a comma, or opening a message that ends with the number ("Jana Keller,
    Eichenhof 8"; not "Kurze Frage, Seite 3 der Anleitung")."""
    person = _PERSON.search(text, max(0, start - 60), start)
    if not person or (person.group("open") is not None and not person.group("newline") and
                      not _LINE_END.match(text, house.end())):
        return False
    names = person.group("names").split()
    return not any(n.lower() in _NOT_NAMES or PRODUCT.fullmatch(n) or REFERENCE.match(n)
                   for n in names)


def _delivered_to(text: str, words: list[re.Match[str]], start: int,
                  house: re.Match[str]) -> bool:
    """"an Rosenanger 12 liefern", "send it to Kirchhof 3": a name that "an", "nach" or
    "to" leads, with a delivery verb after its number."""
    if start == 0 or words[start - 1].group().lower() not in ("an", "nach", "to"):
        return False
    return bool(_DELIVER.match(text, house.end()))


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans joined, in order."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
