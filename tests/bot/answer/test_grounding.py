"""The citation check's rules on hand-made sources, with the deterministic fake embedder."""

from __future__ import annotations

import pytest

from bot.answer.grounding import CitationChecker
from kb.embedders import FakeEmbedder
from kb.settings import GroundingSettings

SHIPPING = ("Versand und Lieferung – Versandkosten\nInnerhalb Deutschlands kostet der Versand "
            "4,95 €. Ab einem Bestellwert von 50 € ist der Versand kostenlos. Nach Österreich "
            "kostet der Versand 9,90 €.")
RETURNS = "Rücksendung\nDu kannst Artikel innerhalb von 30 Tagen ab Erhalt zurücksenden."
SLEEPING_BAG = "Schlafsack Polar 200\nDer Polar 200 kostet zweihundert Euro und wiegt 1.150 g."
WARRANTY = ("Garantie\nAuf Rucksäcke der AlpinPro-Serie geben wir 5 Jahre Garantie. "
            "Auf Zeltgestänge gewähren wir 3 Jahre Garantie.")


@pytest.fixture(scope="module")
def checker() -> CitationChecker:
    return CitationChecker(FakeEmbedder(), ["AlpinPro 35", "AlpinPro 50", "Polar 200"],
                           GroundingSettings())


def verdict(checker, sentence: str, *sources: str):
    [v] = checker.check(sentence, list(sources))
    return v


@pytest.mark.parametrize("sentence", [
    "Innerhalb Deutschlands kostet der Versand 4,95 €. [1]",
    "Ab einem Bestellwert von 50 € ist der Versand kostenlos. [1]",
    "Der Versand nach Österreich kostet 9,90 Euro. [1]",
])
def test_quoted_and_reformatted_facts_pass(checker, sentence):
    assert verdict(checker, sentence, SHIPPING).ok


@pytest.mark.parametrize("sentence, source", [
    ("Du hast dreißig Tage Zeit für die Rücksendung. [1]", RETURNS),
    ("Der Polar 200 kostet 200 €. [1]", SLEEPING_BAG),
    ("Der Polar 200 kostet zweihundert Euro. [1]", SLEEPING_BAG),
])
def test_number_words_equal_their_digits_both_ways(checker, sentence, source):
    v = verdict(checker, sentence, source)
    assert v.ok, v.to_dict()


@pytest.mark.parametrize("sentence, source, reason", [
    ("Du hast 14 Tage Zeit für die Rücksendung. [1]", RETURNS, "number_not_in_source"),
    ("Du hast dreihundert Tage Zeit für die Rücksendung. [1]", RETURNS, "number_not_in_source"),
    ("Du hast 30 Wochen Zeit für die Rücksendung. [1]", RETURNS, "number_not_in_source"),
    ("Der Versand kostet 4,95 €.", SHIPPING, "no_citation"),
    ("Der Versand kostet 4,95 €. [2]", SHIPPING, "unknown_source"),
    ("Der AlpinPro 60 kostet 4,95 €. [1]", SHIPPING, "unknown_product"),
    ("Du kannst auch mit PayPal zahlen. [1]", SHIPPING, "name_not_in_source"),
    ("Der Versand ist immer kostenlos. [1]", SHIPPING, "claim_not_in_source"),
    ("Auf Zeltgestänge geben wir 5 Jahre Garantie. [1]", WARRANTY, "number_not_in_source"),
    ("Ja. [1]", SHIPPING, "no_content"),
])
def test_unsupported_sentences_are_blocked_with_their_reason(checker, sentence, source, reason):
    v = verdict(checker, sentence, source)
    assert not v.ok and v.reason == reason, v.to_dict()


def test_a_clarifying_question_needs_no_citation_but_a_greeting_is_courtesy(checker):
    assert verdict(checker, "Für wie viele Personen suchst du das Zelt?", SHIPPING).ok
    assert verdict(checker, "Gern!", SHIPPING).detail == "courtesy"


def test_trailing_markers_belong_to_their_sentence(checker):
    verdicts = checker.check("Innerhalb Deutschlands kostet der Versand 4,95 €. [1] "
                             "Du kannst Artikel innerhalb von 30 Tagen zurücksenden. [2]",
                             [SHIPPING, RETURNS])
    assert [v.cited for v in verdicts] == [(1,), (2,)] and all(v.ok for v in verdicts)


# -- claims that change what the source says (bot/answer/claims.py) ----------------------
PRICES = ("Versand\nDer Versand nach Österreich kostet 9,90 €, in die Schweiz 14,90 €. "
          "Innerhalb Deutschlands kostet er 4,95 €.")
SIZES = ("Rucksack Fernweh 65 – Größen\n"
         "Größe: S; Rückenlänge (cm): 40–46; Gewicht (kg): 2,45; Volumen (l): 62\n"
         "Größe: M; Rückenlänge (cm): 45–51; Gewicht (kg): 2,55; Volumen (l): 65")
STORE = "Filiale\nUnsere Filiale findest du in der Kaiser-Joseph-Straße 12 in Freiburg."
PICKUP = ("Abholung\nBestellungen kannst du nur an Werktagen in der Filiale abholen. "
          "Geschenkgutscheine sind 3 Jahre ab Ausstellung gültig.")
NOT_EXPRESS = ("Versand\nDie Rücksendung ist kostenlos. Expressversand ist für Zelte nicht "
               "möglich.")
SAFETY = "Sicherheit\nDer Bohrer kann nach dem Bohren sehr heiß sein. Trage immer eine Schutzbrille."


@pytest.mark.parametrize("sentence, source, reason", [
    # a value given to the other entity of the same source
    ("Der Versand nach Österreich kostet 14,90 €. [1]", PRICES, "number_not_in_source"),
    ("Größe S wiegt 2,55 kg und fasst 62 Liter. [1]", SIZES, "number_not_in_source"),
    # a place the source does not name, also across languages
    ("Unsere Filiale findest du in der Kaiser-Joseph-Straße 12 in Stuttgart. [1]", STORE,
     "place_not_in_source"),
    ("Our store is at Kaiser-Joseph-Straße 12 in Munich. [1]", STORE, "place_not_in_source"),
    ("Der Versand nach Polen kostet 9,90 €. [1]", PRICES, "place_not_in_source"),
    # a changed reference point, and before/after swapped
    ("Geschenkgutscheine sind 3 Jahre ab Kaufdatum gültig. [1]", PICKUP, "reference_changed"),
    ("Der Bohrer kann vor dem Bohren sehr heiß sein. [1]", SAFETY, "reference_changed"),
    # a flipped quantifier
    ("Trage manchmal eine Schutzbrille. [1]", SAFETY, "claim_not_in_source"),
    # a policy extended to a case the source leaves out
    ("Bestellungen kannst du an Werktagen in der Filiale abholen, auch an Sonn- und "
     "Feiertagen. [1]", PICKUP, "clause_not_in_source"),
    ("Bestellungen kannst du auch an Werktagen in der Filiale abholen. [1]", PICKUP,
     "polarity_changed"),
    # a negation the source does not make
    ("Der Bohrer kann nach dem Bohren nicht heiß sein. [1]", SAFETY, "claim_not_in_source"),
    # a negation of one statement where the source negates another one
    ("Die Rücksendung ist nicht kostenlos. [1]", NOT_EXPRESS, "polarity_changed"),
    # a negation dropped
    ("Expressversand ist für Zelte möglich. [1]", NOT_EXPRESS, "polarity_changed"),
])
def test_claims_that_change_the_source_are_blocked(checker, sentence, source, reason):
    v = verdict(checker, sentence, source)
    assert not v.ok and v.reason == reason, (v.reason, v.detail)


@pytest.mark.parametrize("sentence, source", [
    ("Der Versand nach Österreich kostet 9,90 €, in die Schweiz sind es 14,90 €. [1]", PRICES),
    ("Eine Lieferung in die Schweiz kostet 14,90 € Versand. [1]", PRICES),
    ("Größe M wiegt 2,55 kg und fasst 65 Liter. [1]", SIZES),
    ("Shipping to Austria costs €9.90. [1]", PRICES),
    ("Die Filiale ist in Freiburg, Kaiser-Joseph-Straße 12. [1]", STORE),
    ("Geschenkgutscheine gelten 3 Jahre ab Ausstellung. [1]", PICKUP),
    ("Kurz gesagt: Bestellungen kannst du nur an Werktagen in der Filiale abholen. [1]", PICKUP),
    ("Nach dem Bohren kann der Bohrer sehr heiß sein. [1]", SAFETY),
])
def test_faithful_restatements_of_the_same_sources_pass_those_rules(checker, sentence, source):
    v = verdict(checker, sentence, source)
    assert v.ok, (v.reason, v.detail)
