"""Reading a customer's needs from German and English messages."""

from __future__ import annotations

import pytest

from bot.answer.advice.needs import Needs, find_categories, read_needs
from kb.vocabulary import Vocabulary

CATEGORIES = ["Zelt", "Rucksack", "Schlafsack", "Wanderschuh", "Laufschuh", "Regenjacke"]


def test_budget_persons_and_category():
    needs = read_needs("Welches Zelt unter 300 Euro für 2 Personen?", CATEGORIES)
    assert needs.categories == ("Zelt",) and needs.budget == 300 and needs.persons == 2


def test_english_needs_through_the_shops_vocabulary():
    vocabulary = Vocabulary.merged({"root": Vocabulary.parse("en:\n  tent, tents: Zelt Zelte\n",
                                                             "lotse-vocabulary.yaml")})
    assert read_needs("I'm looking for a tent", CATEGORIES, language="en").categories == ()
    needs = read_needs("I'm looking for a tent for two people, up to 250 €", CATEGORIES,
                       vocabulary, language="en")
    assert needs.categories == ("Zelt",) and needs.persons == 2 and needs.budget == 250


def test_weight_is_not_a_budget_and_grams_are_kilograms():
    needs = read_needs("Ein Schlafsack unter 900 g bitte", CATEGORIES)
    assert needs.max_weight == 0.9 and needs.budget is None


def test_season_temperature_trip_and_body_measure():
    assert read_needs("Schlafsack für den Winter", CATEGORIES).season == "winter"
    assert read_needs("Schlafsack bis -10 Grad", CATEGORIES).temperature == -10
    assert read_needs("Rucksack für eine Woche mit Zelt", CATEGORIES).trip == "long"
    assert read_needs("Rucksack für Tagestouren", CATEGORIES).trip == "day"
    assert read_needs("Rückenlänge 48 cm, welche Größe?", CATEGORIES).measure == ("rueckenlaenge", 48)
    assert read_needs("ich bin 1,85 m groß", CATEGORIES).measure == ("koerpergroesse", 185)


def test_a_compound_head_names_several_categories():
    assert set(find_categories("Ich brauche Schuhe", CATEGORIES)) == {"Wanderschuh", "Laufschuh"}
    assert find_categories("Wanderschuhe für den Winter", CATEGORIES) == ("Wanderschuh",)


def test_replies_to_a_pending_question():
    assert read_needs("egal", CATEGORIES, pending="price").no_preference == ("price",)
    assert read_needs("3", CATEGORIES, pending="persons").persons == 3
    assert read_needs("wir sind zu zweit", CATEGORIES, pending="persons").persons == 2
    assert read_needs("so 200", CATEGORIES, pending="price").budget == 200


def test_needs_merge_and_survive_a_round_trip():
    first = read_needs("Ich suche ein Zelt", CATEGORIES)
    later = first.merged(Needs(persons=2))
    assert later.categories == ("Zelt",) and later.persons == 2
    assert Needs.from_dict(later.to_dict()) == later


def test_of_several_categories_the_one_asked_for_is_kept():
    from bot.answer.advice.needs import find_categories

    kinds = ["Rucksack", "Schlafsack", "Zelt", "Regenjacke"]
    assert find_categories("Im Mai 4 Tage mit Zelt, welcher Rucksack passt?", kinds) == ("Rucksack",)
    assert find_categories("Wir fahren nach Norwegen zum Zelten. Welcher Schlafsack?", kinds) == \
        ("Schlafsack",)
    assert find_categories("Regenjacke für zwei Wochen, ich trag nen großen Rucksack",
                           kinds) == ("Regenjacke",)
    assert find_categories("Zelt gesucht", kinds) == ("Zelt",)


@pytest.mark.parametrize(("text", "persons", "budget"), [
    ("Wir suchen ein Zelt für zehn Personen", 10, None),
    ("Zelt für zwölf Leute unter dreihundert Euro", 12, 300.0),
    ("a tent for eleven people, under four hundred euros", 11, 400.0),
    ("ein Zelt für zwei Personen, eine Woche", 2, None),
])
def test_number_words_are_read_beyond_eight(text, persons, budget):
    needs = read_needs(text, ["Zelt"], language="en" if text.startswith("a ") else "de")
    assert (needs.persons, needs.budget) == (persons, budget)
