"""The shop's vocabulary file: parsed with clear errors, matched as whole words and phrases."""

from __future__ import annotations

import pytest

from kb.glossary import lexical_forms
from kb.vocabulary import Vocabulary, VocabularyError

FILE = """
de:
  Taschenlampe, Kopflampe: Stirnlampe
  meine Daten: Datenschutz
en:
  torch: Stirnlampe
"""


def vocabulary(text: str = FILE) -> Vocabulary:
    return Vocabulary.merged({"root": Vocabulary.parse(text)})


def test_phrases_bring_the_documents_words_in_their_language_only():
    v = vocabulary()
    assert v.words_for("Habt ihr eine Kopflampe?", "de") == "Stirnlampe"
    assert v.words_for("Was passiert mit meine Daten?", "de") == "Datenschutz"
    assert v.words_for("Daten meine", "de") == ""  # a phrase, not two loose words
    assert v.words_for("Taschenlampenbatterie", "de") == ""  # whole words only
    assert v.words_for("Do you sell a torch?", "en") == "Stirnlampe"
    assert v.words_for("Do you sell a torch?", "de") == ""


def test_the_lexical_forms_carry_the_vocabulary_and_work_without_it():
    same, cross = lexical_forms("Which torch do you have?", "en", vocabulary())
    assert "Stirnlampe" in cross and "Stirnlampe" not in same
    same, cross = lexical_forms("Welche Taschenlampe habt ihr?", "de", vocabulary())
    assert "Stirnlampe" in same and same == cross
    assert "Stirnlampe" not in lexical_forms("Welche Taschenlampe habt ihr?", "de")[0]


@pytest.mark.parametrize("text, reason", [
    ("de: [a, b", "not valid YAML"),
    ("- a\n- b", "expected sections 'de:' and/or 'en:'"),
    ("fr:\n  lampe: Stirnlampe", "unknown section(s) fr"),
    ("de:\n  Lampe:", "de.Lampe: expected 'customer words: document words'"),
    ("de: Lampe", "section 'de' must map words to words"),
])
def test_a_broken_file_is_refused_with_the_file_and_the_reason(text, reason):
    with pytest.raises(VocabularyError, match=reason.replace("(", r"\(").replace(")", r"\)")
                       .replace("[", r"\[")) as caught:
        Vocabulary.parse(text, "docs/lotse-vocabulary.yaml")
    assert str(caught.value).startswith("docs/lotse-vocabulary.yaml:")
