"""Tokens, lexical coverage and the glossary: the pieces retrieval and the answerer share."""

from __future__ import annotations

import numpy as np

from kb.glossary import expand_english, german_terms, lexical_form
from kb.lexical import LexicalIndex
from kb.text import detect_language, fold, split_sentences

TEXTS = ["Das Zelt Fjell 2 Expedition wiegt 2,9 kg.", "Wanderstöcke aus Carbon für schlechte Knie.",
         "Der Versand nach Österreich kostet 9,90 €."]


def index() -> LexicalIndex:
    return LexicalIndex.build(["a", "b", "c"], TEXTS, [{"product": "Fjell"}, {}, {}])


def test_bm25_ranks_the_chunk_with_the_question_terms_first():
    lexical = index()
    assert int(np.argmax(lexical.word_scores("Wie schwer ist das Zelt Fjell?"))) == 0
    # Compound parts reach the chunk through character n-grams.
    assert int(np.argmax(lexical.gram_scores("Stöcke"))) == 1


def test_coverage_is_the_idf_weighted_share_of_terms_found():
    lexical = index()
    full, none = lexical.coverage("Versand Österreich", [TEXTS[2], TEXTS[1]])
    assert full > 0.9 and none < 0.1
    assert lexical.coverage("", TEXTS).tolist() == [0.0, 0.0, 0.0]


def test_unknown_share_counts_words_no_chunk_has():
    lexical = index()
    assert lexical.unknown_share("Kann ich mit PayPal zahlen") > 0.5
    assert lexical.unknown_share("Versand Österreich") == 0.0


def test_metadata_mask_keeps_only_matching_chunks():
    mask = index().mask({"product": "Fjell"})
    assert mask is not None and mask.tolist() == [True, False, False]


def test_glossary_gives_english_questions_german_words_only_against_german_text():
    assert "Rücksendung" in german_terms("return")
    expanded = expand_english("How do I return an item?")
    assert expanded.startswith("How do I return an item?") and "Rücksendung" in expanded
    question = "How much is shipping?"
    assert lexical_form(question, "en", "en") == question
    assert "Versand" in lexical_form(question, "en", "de")


def test_german_text_basics():
    assert fold("Größe Übergabe") == "grosse ubergabe"
    assert detect_language("Wie lange habe ich Zeit für die Rücksendung?") == "de"
    assert detect_language("How long do I have to return it?") == "en"
    assert split_sentences("Das kostet 4,95 €. Ab 50 € ist es ca. 3. Oktober kostenlos.") == [
        "Das kostet 4,95 €.", "Ab 50 € ist es ca. 3. Oktober kostenlos."]
