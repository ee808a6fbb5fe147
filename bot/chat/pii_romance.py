"""Street addresses in French and Italian, as written in western and southern Switzerland:
the street word comes first ("Rue du Lac 12", "Avenue de la Gare 8", "Chemin des Vignes
3", "Via Nassa 5", "Piazza Grande 1"), or, as in France, the number does ("12, rue du
Lac"). Used by ``bot.chat.pii_addresses``, which also gives the product check.

The street word is capitalised, or in small letters where it is no English word too
("rue", "chemin", "quai"). Words that English or German use too need more: "Route",
"Place", "Avenue", "Passage" and "Promenade" a French particle after them ("Route de
Berne", not "die Route Nord 2"), "Via" a place mid-sentence ("Via DHL 3 Pakete" is no
street); or else a postcode after the number or an address word before the street.
"""

from __future__ import annotations

import re
from typing import Callable

from bot.chat.pii_cues import ADDRESS, UNIT
from bot.chat.pii_places import POSTCODE_AFTER

_FRENCH = r"rue|ruelle|chemin|ch\.|rte|boulevard|bd|quai|impasse|all[ée]e|sentier|venelle"
_CAPITALISED_ONLY = r"Via|Viale|Vicolo|Piazza|Piazzale|Corso|Strada|Salita|Largo|Avenue|Av\.|" \
    r"Route|Place|Passage|Promenade"
_ENGLISH_TOO = frozenset("Avenue Av. Route Place Passage Promenade".split())
_PARTICLE = (r"(?:de|du|des|la|le|les|aux|au|sur|sous|en|del|della|dello|dei|degli|delle|di|"
             r"da|al|alla)")
_UPPER, _LOWER = "A-ZÄÖÜÀ-ÖØ-Ý", "a-zäöüßà-öø-ÿ"
_PARTICLE_FIRST = re.compile(rf"[ ]+(?:{_PARTICLE}[ ]|[dl]['’])")
_PART = rf"(?:{_PARTICLE}|(?:[dlDL]['’])?[{_UPPER}][{_LOWER}{_UPPER}'’.-]*)"
_LEAD = rf"(?P<lead>(?i:{_FRENCH})|{_CAPITALISED_ONLY})"
_NUMBER_AFTER = re.compile(
    rf"(?<![\w.-]){_LEAD}(?:[ ]+{_PART}){{1,5}}?[ ]+(?P<num>[1-9]\d{{0,3}})(?:[ ]?[a-zA-Z]"
    rf"(?![\w]))?(?:[ ]?[-/][ ]?[1-9]\d{{0,2}})?(?![\w]|[.,]\d|[-/]\d)")
_NUMBER_FIRST = re.compile(
    rf"(?<![\w.,])[1-9]\d{{0,3}}(?:[ ]?(?:bis|ter))?,?[ ]+(?P<lead>(?i:{_FRENCH}|avenue|place))"
    rf"(?:[ ]+{_PART}){{1,5}}")


def romance_spans(text: str, is_product: Callable[[str, int, re.Match[str]], bool]
                  ) -> list[tuple[int, int]]:
    """(start, end) of each French or Italian street address in ``text``, with its
    postcode and place when they follow; ``is_product`` tells a model name by what follows
    its number."""
    spans = [(m.start(), m.end()) for m in _NUMBER_FIRST.finditer(text)]
    for match in _NUMBER_AFTER.finditer(text):
        if UNIT.match(text, match.end("num")):
            continue
        place = POSTCODE_AFTER.match(text, match.end())
        if not place and (is_product(text, match.start(), match) or
                          (_needs_context(text, match) and
                           not ADDRESS.search(text, max(0, match.start() - 60),
                                              match.start()))):
            continue
        spans.append((match.start(), place.end() if place else match.end()))
    return spans


def _needs_context(text: str, match: re.Match[str]) -> bool:
    """Whether the street word is one English or German use too and its shape here does not
    settle it: "Route" with no particle after it, "Via" opening a sentence."""
    lead = match.group("lead")
    if lead in _ENGLISH_TOO:
        return not _PARTICLE_FIRST.match(text, match.end("lead"))
    return lead == "Via" and _opens_sentence(text, match.start())


def _opens_sentence(text: str, start: int) -> bool:
    """Whether ``start`` begins the text, a line or a sentence."""
    before = text[max(0, start - 20):start].rstrip(" ")
    return not before or before[-1] in ".!?\n"
