"""Street addresses in a message: a house number with a street-like name before it.

A house number (1 to 4 digits, a letter or a range after it: 5a, 12 B, 12-14) is part of
an address when the words before it are a street's name of one of these kinds:

- a word with a street's ending: "Lindenweg", "Kaiser-Joseph-Straße", "Hauptstr.",
  "Hohe Straße" (unless an article stands before it with no preposition, as in "der
  Höhenweg 2", which is how products and trails are named, not one's own street);
- capitalised words led by a capitalised preposition in the middle of a sentence, where
  only a name is capitalised: "wohne Am Mühlbach 3", "an Auf der Heide 4", "Unter den
  Linden 5";
- any capitalised words where the context says address: an address word before them in
  the sentence ("Adresse", "wohne", "Lieferadresse", "ship to") with no number in
  between, or a postcode and place after them ("Lange Reihe 12, 20099 Hamburg");
- in English, a number before capitalised words and a street word ("221 Baker Street").

A number followed by a unit ("3 kg", "2 Stück") is a quantity, and one glued to more
digits ("4711-2233", "3,5") a reference or a measure. A postcode with its place is
redacted with the street before it, or alone where the place is a known town of the
German-speaking countries or an address word comes first ("PLZ 79098 Freiburg").

Each house number looks at a bounded window of text before and after it, so the cost
grows with the text's length.

    >>> address_spans("Bitte an Lange Reihe 12, 20099 Hamburg liefern")
    [(9, 38)]
"""

from __future__ import annotations

import re

from bot.chat.pii_cues import ADDRESS, DETERMINERS, POSTCODE, PREPOSITIONS, REFERENCE, UNIT

_SUFFIX = (r"(?:stra(?:ß|ss)e|str\.|weg|gasse|gässle|platz|allee|ring|damm|ufer|chaussee|steig|"
           r"stieg|pfad|markt|graben|wall|kai|zeile|promenade|twiete)")
_SUFFIX_WORD = re.compile(rf"(?-i:[A-ZÄÖÜ])[\wäöüß-]*{_SUFFIX}", re.I)  # "Lindenweg"
_BARE_WORD = re.compile(_SUFFIX, re.I)  # "Straße", "Weg", "Str." alone (capitalised)
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
_HOUSE = re.compile(
    r"(?:(?<=[ ])|(?<=[Ss]tr\.))(?P<num>[1-9]\d{0,3})"
    r"(?P<tail>(?:[ ]?[a-zA-Z](?![\wäöüß]))?(?:[ ]?[-/][ ]?[1-9]\d{0,2}[a-zA-Z]?)?)"
    r"(?![\wäöüß]|[.,]\d|[-/]\d)")
_POSTCODE_AFTER = re.compile(
    r",?[ ]+(?:[A-Z]{1,2}-)?\d{4,5}[ ]+[A-ZÄÖÜ][a-zäöüß]+(?:[ -][A-ZÄÖÜ][a-zäöüß]+)?")
# A postcode and the words that may name its place: "Freiburg", "Titisee-Neustadt",
# "Frankfurt am Main", "Freiburg im Breisgau"; which of them do is decided by the town list.
_POSTCODE_CITY = re.compile(
    r"(?<![\w-])(?P<prefix>(?:D|A|CH|FL|L)-)?(?P<code>\d{4,5})[ ]+"
    r"(?P<city>[A-ZÄÖÜ][a-zäöüß]+(?:-[A-ZÄÖÜ][a-zäöüß]+)*)"
    r"(?P<more>(?:[ ](?:am|an|im|in|ob|bei|der|[A-ZÄÖÜ][a-zäöüß]+)){0,3})")
_ENGLISH = re.compile(
    r"(?<![\w.,])[1-9]\d{0,4}[A-Za-z]?[ ]+(?:[A-Z][a-z]+[ ]+){1,3}?(?:Street|St\.|Road|Rd\.|"
    r"Avenue|Ave\.|Lane|Ln\.|Drive|Way|Close|Court|Place|Terrace|Crescent|Boulevard|Blvd\.|"
    r"Square|Gardens|Grove|Row|Mews)(?![\w])")
# After a house number: a product's model word, not a street's continuation.
_MODEL = re.compile(r"[ ]?(?:Pro|Plus|Ultra|Lite|Light|Max|Mini|Air|Evo|Expedition|Trail|Tour|"
                    r"Junior|Kids|GTX|XL|XS)(?![\wäöüß])")
# Capitalised at a sentence's start, but never part of a street's name.
_NOT_NAMES = DETERMINERS | frozenset("ich wir sie er es du bitte danke hallo hi hello please "
                                     "dear liebe lieber guten".split())
_WINDOW = 80  # characters before a house number that can hold its street's name
_CUE_REACH = 60  # how far before the name an address word still counts


def address_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every street address (with its postcode and place, when given) and
    of every postcode with its place in ``text``."""
    spans = [(m.start(), m.end()) for m in _ENGLISH.finditer(text)]
    for house in _HOUSE.finditer(text):
        before = text[house.start() - 2] if house.start() > 1 else ""
        if not (before.isalpha() or before == ".") or \
                UNIT.match(text, house.start("num") + len(house.group("num"))) or \
                _MODEL.match(text, house.end()):
            continue  # a name's last letter (or "Str.") comes right before a house number
        start = _street_start(text, house)
        if start is None:
            continue
        place = _POSTCODE_AFTER.match(text, house.end())
        spans.append((start, place.end() if place else house.end()))
    covered = _merge(spans)
    for match in _POSTCODE_CITY.finditer(text):
        end = None if any(a <= match.start() < b for a, b in covered) else \
            _place_end(text, match)
        if end:
            spans.append((match.start(), end))
    return _merge(spans)


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
    the words before it are not a street's name."""
    words = _tokens(text, house.start())
    if not words:
        return None
    last = words[-1].group()
    run = _name_run(words)
    if not run:
        return None
    first = run[0]
    bare = last[:1].isupper() and bool(_BARE_WORD.fullmatch(last))
    if (_SUFFIX_WORD.fullmatch(last) and not bare) or (bare and len(run) > 1):
        start = _suffix_start(words, run, bare)
        return None if _names_a_product(words, start) else words[start].start()
    if last.endswith(".") or not _NAME.fullmatch(last):
        return None
    if any(REFERENCE.match(words[i].group()) for i in run):
        return None  # "Zur Bestellung 412": the shop's reference, whatever leads it
    lead = _lead(words, run)
    if lead is not None and not _sentence_start(text, words, lead):
        return words[lead].start()
    if _names_a_product(words, first):
        return None
    if _POSTCODE_AFTER.match(text, house.end()) or _cue_before(text, words, first):
        return words[lead if lead is not None else first].start()
    return None


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
        elif i == len(words) - 1 and _SUFFIX_WORD.fullmatch(word):
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
    ("Straße" alone) takes the names before it too ("Hohe Straße")."""
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
    or a product word ("Modell Fjellweg 2"): a product or a trail, not someone's street."""
    if start == 0:
        return False
    before = words[start - 1].group()
    if REFERENCE.match(before):
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


def _place_end(text: str, match: re.Match[str]) -> int | None:
    """Where a postcode's place ends, if ``match`` is a postcode with its place: five digits
    before a known town, four after a country prefix ("A-1010 Wien"), or either after a
    postcode word; never after a reference word ("Bestellung 10023 Versand")."""
    before = text[max(0, match.start() - 40):match.start()]
    cues = [(m.start(), "postcode") for m in POSTCODE.finditer(before)] + \
        [(m.start(), "reference") for m in REFERENCE.finditer(before)]
    at, last = max(cues) if cues else (0, None)
    if last == "reference":
        return None
    announced = last == "postcode" and not re.search(r"\d", before[at:])
    if len(match.group("code")) == 4 and not (match.group("prefix") or announced):
        return None  # four digits before a town are as often a year ("2026 Berlin")
    known = _known_place(match.group("city"), match.group("more"))
    if known >= 0:
        return match.end("city") + known
    return match.end("city") if announced else None


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


def _merge(spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Overlapping spans joined, in order."""
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
