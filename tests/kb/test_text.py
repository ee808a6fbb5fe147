from kb.text import detect_language, ngram_tokens, split_sentences, word_tokens


def test_german_abbreviations_do_not_end_a_sentence():
    text = ("Der Rucksack wiegt ca. 1,2 kg, z.B. in Größe M. Er passt bzw. sitzt gut. "
            "Lieferung am 3. Oktober. Neue Zeile.")
    assert split_sentences(text) == [
        "Der Rucksack wiegt ca. 1,2 kg, z.B. in Größe M.",
        "Er passt bzw. sitzt gut.",
        "Lieferung am 3. Oktober.",
        "Neue Zeile.",
    ]


def test_size_letter_at_sentence_end_splits():
    assert split_sentences("Es gibt die Größen M und L. Größe M passt ab 40 cm.") == [
        "Es gibt die Größen M und L.", "Größe M passt ab 40 cm."]


def test_language_detection_on_short_questions():
    assert detect_language("Wie lange habe ich Rückgaberecht?") == "de"
    assert detect_language("How long do I have to return an item?") == "en"
    assert detect_language("Und in Größe L?") == "de"
    assert detect_language("12345") == "de"  # undecided falls back to German


def test_word_tokens_stem_and_drop_stop_words():
    tokens = word_tokens("Die Wanderstöcke und der Wanderstock")
    assert "die" not in tokens and "und" not in tokens
    assert tokens[0] == tokens[1]  # plural and singular share a stem


def test_ngrams_match_compound_parts():
    assert set(ngram_tokens("Stöcke")) <= set(ngram_tokens("Wanderstöcke")) | {"#sto"}
    assert set(ngram_tokens("Jacke")) & set(ngram_tokens("Regenjacke"))
