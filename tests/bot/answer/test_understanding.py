"""Reading a message before retrieval: courtesy stripped, small talk recognised, the kind
of answer and what it must be about."""

from __future__ import annotations

import pytest

from bot.answer.understanding import (
    found_share,
    names,
    reply_to,
    type_match,
    understand,
)
from kb.places import countries_of


@pytest.mark.parametrize("message, core", [
    ("Hallo! Kurze Frage: wie lange dauert der Versand?", "wie lange dauert der Versand?"),
    ("Guten Tag, ich hätte da mal eine Frage. Wie schwer ist der Rucksack?",
     "Wie schwer ist der Rucksack?"),
    ("hey, kann ich auf rechnung zahlen? danke", "kann ich auf rechnung zahlen?"),
    ("Moin, was kostet der Versand nach Österreich? LG", "was kostet der Versand nach Österreich?"),
    ("Hello, quick question: how long does shipping take? Thanks in advance!",
     "how long does shipping take?"),
    ("Was kostet der Versand?", "Was kostet der Versand?"),
])
def test_greetings_filler_and_politeness_are_not_the_question(message, core):
    understood = understand(message)
    assert understood.act is None and understood.core == core


@pytest.mark.parametrize("message, act", [
    ("Hallo", "greeting"), ("Hi there!", "greeting"), ("Hallo, ist da jemand?", "greeting"),
    ("Danke, das wars!", "goodbye"), ("Super, danke!", "thanks"), ("thank you so much", "thanks"),
    ("Tschüss", "goodbye"), ("Schönen Tag noch", "goodbye"),
    ("Wer bist du?", "identity"), ("Bist du ein Mensch?", "identity"),
    ("are you a bot?", "identity"), ("Was kannst du alles?", "identity"),
    ("Wie wird das Wetter morgen?", "smalltalk"), ("Tell me a joke", "smalltalk"),
    ("Das hat mir nicht geholfen", "not_helpful"), ("this didn't help", "not_helpful"),
])
def test_small_talk_is_recognised_in_both_languages(message, act):
    assert understand(message).act == act


# Written before widening the courtesy words: how people close a chat, in both languages.
@pytest.mark.parametrize("message, act", [
    ("Danke dir!", "thanks"), ("Danke dir, das hat geholfen!", "thanks"),
    ("Vielen lieben Dank, hat mir sehr geholfen", "thanks"), ("Mega, danke euch!", "thanks"),
    ("Danke Ihnen vielmals", "thanks"), ("Tausend Dank!", "thanks"), ("Top, passt so.", "thanks"),
    ("Alles klar, verstanden, danke", "thanks"), ("That helped, thanks a lot!", "thanks"),
    ("Thanks, that's exactly what I needed", "thanks"), ("Cheers mate", "thanks"),
    ("Tschüss und schönen Abend noch!", "goodbye"), ("Bis dann, ciao", "goodbye"),
    ("Einen schönen Tag dir noch", "goodbye"), ("Have a nice evening, bye", "goodbye"),
    ("Ok danke, das wäre alles", "goodbye"), ("Nein danke, das war's schon", "goodbye"),
])
def test_thanks_and_goodbyes_as_people_write_them(message, act):
    assert understand(message).act == act


@pytest.mark.parametrize("message", ["ok", "egal", "Ist mir egal", "Keine Ahnung",
                                     "alles klar", "no preference", "doesn't matter", "sure"])
def test_a_bare_acknowledgement_is_a_nod_not_a_question(message):
    assert understand(message).act == "ack"


@pytest.mark.parametrize("message", [
    "Danke, und wie lange dauert der Versand nach Wien?", "Thanks! Do you ship to Norway?",
    "Danke dir, hat der AlpinPro 35 ein Regencover?", "Tschüss, ach nein: was kostet Express?",
])
def test_thanks_with_a_question_is_a_question(message):
    assert understand(message).act is None


def test_a_greeting_with_a_question_is_a_question():
    assert understand("Hallo, wie lange dauert die Lieferung nach Wien?").act is None


def test_the_identity_reply_says_it_is_an_ai_and_how_to_reach_a_person():
    for language, ai, person in (("de", "KI-Assistent", "Mitarbeiter"), ("en", "AI assistant",
                                                                           "person")):
        text = reply_to("identity", language, "Bergpfad")
        assert ai in text and person in text and "Bergpfad" in text


@pytest.mark.parametrize("question, kind", [
    ("Wie lange habe ich Zeit für die Rücksendung?", "duration"),
    ("Wann kommt mein Paket?", "date"),
    ("Wie schwer ist das Zelt?", "weight"),
    ("Was kostet der Versand?", "price"), ("How much is shipping?", "price"),
    ("Wie groß ist das Packmaß?", "length"),
    ("Ist der Schlafsack waschbar?", "yes_no"), ("Does it have a rain cover?", "yes_no"),
    ("Wie kann ich mein Konto löschen?", "procedure"),
    ("Welche Zahlungsarten gibt es?", "list"),
])
def test_the_kind_of_answer_asked_for(question, kind):
    assert understand(question).answer_type == kind


def test_a_quote_must_hold_the_kind_of_answer():
    assert type_match("weight", "Größe M wiegt 1,25 kg.") == 1.0
    assert type_match("weight", "Der Rucksack kostet 139,90 €.") == 0.0
    assert type_match("price", "Ab 50 € ist der Versand kostenlos.") == 1.0
    assert type_match("duration", "Du hast 30 Tage Zeit.") == 1.0
    assert type_match("duration", "Der Rucksack ist robust.") == 0.0
    assert type_match("yes_no", "Ja.") == 0.5


def test_focus_leaves_out_question_words_and_must_be_found():
    focus = understand("Welche Farben gibt es beim AlpinPro 35?").focus
    assert "farb" in focus and "gibt" not in focus and "beim" not in focus
    assert found_share(("farb",), "AlpinPro 35 – Wanderrucksack. Er fasst 35 Liter.") == 0.0
    assert found_share(("zelt",), "Garantie auf Zeltgestänge") == 1.0
    assert found_share((), "anything") == 1.0


def test_names_keep_their_form_across_languages():
    assert names("Do you take American Express?") == ("american", "express")
    assert names("Can I pick up my order in Zurich?") == ("zurich",)
    assert names("How heavy is the AlpinPro 35?") == ("alpinpro", "35")
    assert names("What is this?") == ()


def test_a_city_brings_its_country():
    assert countries_of("Bin aus Graz") == ["Österreich Austria"]
    assert countries_of("shipping to zurich") == ["Schweiz Switzerland"]
    assert countries_of("Essen bestellen und Zug fahren") == []
