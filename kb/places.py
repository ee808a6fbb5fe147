"""Cities of Germany, Austria and Switzerland, and the country each lies in.

Shop documents name countries ("Versand nach Österreich"); customers name their city
("Was kostet der Versand nach Graz?", "shipping to Zurich"). Retrieval adds the country
to a question that names one of these cities. The list holds the larger cities with
their German and English names (from each country's official statistics: cities over
about 100,000 inhabitants, plus the state capitals); it is general geography, not shop
vocabulary. Names that are also everyday words ("Essen", "Halle", "Zug", "Siegen") are
left out.
"""

from __future__ import annotations

import re

from kb.text import fold

_COUNTRIES = {
    "Deutschland Germany": """Berlin Hamburg München Munich Köln Cologne Frankfurt Stuttgart
        Düsseldorf Dusseldorf Leipzig Dortmund Bremen Dresden Hannover Hanover Nürnberg
        Nuremberg Duisburg Bochum Wuppertal Bielefeld Bonn Münster Mannheim Karlsruhe
        Augsburg Wiesbaden Mönchengladbach Gelsenkirchen Aachen Braunschweig Brunswick Kiel
        Chemnitz Magdeburg Freiburg Krefeld Mainz Lübeck Erfurt Oberhausen Rostock
        Kassel Hagen Potsdam Saarbrücken Ludwigshafen Oldenburg Osnabrück Leverkusen
        Heidelberg Darmstadt Solingen Regensburg Paderborn Ingolstadt Würzburg Ulm Wolfsburg
        Heilbronn Göttingen Pforzheim Offenbach Bottrop Trier Recklinghausen Reutlingen
        Koblenz Bremerhaven Jena Erlangen Remscheid Moers Hildesheim Salzgitter
        Cottbus Schwerin""",
    "Österreich Austria": """Wien Vienna Graz Linz Salzburg Innsbruck Klagenfurt Villach Wels
        Bregenz Dornbirn Feldkirch Eisenstadt Leoben Steyr Krems""",
    "Schweiz Switzerland": """Zürich Zurich Genf Geneva Basel Bern Lausanne Winterthur Luzern
        Lucerne Lugano Köniz Schaffhausen Chur Fribourg Freiburg_im_Üechtland
        Neuenburg Neuchâtel St.Gallen Sankt_Gallen Sion Aarau Solothurn""",
}
_CITY_COUNTRY = {fold(city.replace("_", " ")): country
                 for country, cities in _COUNTRIES.items() for city in cities.split()}
_CITY = re.compile(r"\b(" + "|".join(sorted((re.escape(c) for c in _CITY_COUNTRY), key=len,
                                            reverse=True)) + r")\b")


def countries_of(text: str) -> list[str]:
    """The countries (German and English name) of the cities ``text`` names."""
    return list(dict.fromkeys(_CITY_COUNTRY[m.group(1)] for m in _CITY.finditer(fold(text))))
