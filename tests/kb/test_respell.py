"""Spelling repair against the index: typos are mended, real words and names are not."""

from __future__ import annotations

from kb.lexical import LexicalIndex, is_dictionary_word

TEXTS = ["Der Versand nach Österreich kostet 9,90 €.", "Die Lieferung dauert zwei Werktage.",
         "Der Rucksack wiegt 1,25 kg.", "Wir liefern auch nach Schweden."]


def index() -> LexicalIndex:
    return LexicalIndex.build([f"c{i}" for i in range(len(TEXTS))], TEXTS, [{}] * len(TEXTS))


def test_typos_are_mended_to_indexed_words():
    lexical = index()
    assert lexical.respell("Wie viel kostet der Versnad nach Östereich?") == \
        "Wie viel kostet der Versand nach Osterreich?"
    assert lexical.respell("wie lange dauert die liefrung") == "wie lange dauert die lieferung"
    assert lexical.respell("Rucksak wiegen") == "Rucksack wiegen"


def test_real_words_names_and_short_words_are_left_alone():
    lexical = index()
    assert is_dictionary_word("schwer") and not is_dictionary_word("versnad")
    # "schwer" is one edit from "schwed(en)", but it is a German word the texts do not use.
    assert lexical.respell("Wie schwer ist der Rucksack?") == "Wie schwer ist der Rucksack?"
    assert lexical.respell("Kann ich mit PayPal zahlen?") == "Kann ich mit PayPal zahlen?"
    assert lexical.respell("Liefert ihr nach Basel?") == "Liefert ihr nach Basel?"
    assert lexical.known("Versand") and not lexical.known("PayPal")
