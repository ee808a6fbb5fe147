"""The shop's own vocabulary: customers' words mapped to the words its documents use.

Staff keep it in one YAML file per ingest root, ``lotse-vocabulary.yaml``::

    # Wörter der Kundschaft: Wörter in unseren Dokumenten
    de:
      Klamotten: Bekleidung Jacke
      zurückschicken, zurückgeben: Rücksendung
      meine Daten: Datenschutz personenbezogene Daten
    en:
      tent, tents: Zelt Zelte
      sleeping bag: Schlafsack

A key is a word or phrase (alternatives separated by commas), the value the document
words it brings. ``de`` applies to German questions, ``en`` to English questions over
German documents. The file is read at ingest and published with the documents of its
generation (a rollback rolls it back too); general language knowledge (English shop
words, cities and their countries) lives in ``kb.glossary`` and ``kb.places`` and works
without any file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property

import yaml

from kb.errors import InvalidInput
from kb.text import fold, word_tokens

VOCABULARY_FILE = "lotse-vocabulary.yaml"
_LANGUAGES = ("de", "en")
_MAX_ENTRIES = 5000


class VocabularyError(InvalidInput):
    """The vocabulary file cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class Vocabulary:
    """Folded phrase → document words, per question language."""

    terms: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str, source: str = VOCABULARY_FILE) -> dict[str, dict[str, str]]:
        """The file's entries as plain data (what a generation stores), checked."""
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise VocabularyError(f"{source}: not valid YAML ({exc})") from None
        if not isinstance(data, dict):
            raise VocabularyError(f"{source}: expected sections 'de:' and/or 'en:'")
        unknown = sorted(set(map(str, data)) - set(_LANGUAGES))
        if unknown:
            raise VocabularyError(f"{source}: unknown section(s) {', '.join(unknown)}; "
                                  "use 'de' and 'en'")
        terms: dict[str, dict[str, str]] = {}
        for language in _LANGUAGES:
            section = data.get(language) or {}
            if not isinstance(section, dict):
                raise VocabularyError(f"{source}: section '{language}' must map words to words")
            for key, value in section.items():
                if not isinstance(value, str) or not str(key).strip() or not value.strip():
                    raise VocabularyError(f"{source}: {language}.{key}: expected "
                                          "'customer words: document words'")
                for phrase in map(_words, str(key).split(",")):
                    if phrase:
                        terms.setdefault(language, {})[phrase] = value.strip()
        if sum(map(len, terms.values())) > _MAX_ENTRIES:
            raise VocabularyError(f"{source}: more than {_MAX_ENTRIES} entries")
        return terms

    @classmethod
    def merged(cls, parts: dict[str, dict[str, dict[str, str]]]) -> Vocabulary:
        """One vocabulary from the files of several ingest roots."""
        terms: dict[str, dict[str, str]] = {}
        for part in parts.values():
            for language, entries in part.items():
                terms.setdefault(language, {}).update(entries)
        return cls(terms)

    def words_for(self, text: str, language: str) -> str:
        """The document words the phrases in ``text`` bring (empty when none match)."""
        entries = self.terms.get(language)
        if not entries:
            return ""
        folded = f" {_words(text)} "
        found = [words for phrase, words in entries.items() if f" {phrase} " in folded]
        return " ".join(dict.fromkeys(found))

    def alternatives(self, stem: str, language: str) -> list[str]:
        """The document words of the entries one of whose words has this stem (the focus
        of a question is kept as stems: "taschenlamp" brings "Stirnlampe")."""
        return self._by_stem.get((language, stem), [])

    @cached_property
    def _by_stem(self) -> dict[tuple[str, str], list[str]]:
        found: dict[tuple[str, str], list[str]] = {}
        for language, entries in self.terms.items():
            for phrase, words in entries.items():
                for stem in word_tokens(phrase):
                    found.setdefault((language, stem), []).extend(words.split())
        return found

    def german_terms(self, word: str) -> list[str]:
        """The German document words an English word brings, or []."""
        return self.terms.get("en", {}).get(fold(word), "").split()


def _words(text: str) -> str:
    """Folded words joined by single spaces: how phrases and questions are compared."""
    return " ".join(re.findall(r"[a-z0-9]+", fold(text)))


EMPTY = Vocabulary()
