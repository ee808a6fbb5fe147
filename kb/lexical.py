"""The lexical side of retrieval: two BM25 indexes over one audience view.

* word BM25 over German Snowball stems without stop words;
* n-gram BM25 over character 4-grams inside words, which matches compound
  parts ("Wanderstöcke" ~ "Stöcke") and names shared by English questions and
  German docs.

An index is built for one view (``public``, or ``public+internal`` for agents)
of one published generation, so a customer's index never contains an internal
chunk. It is cached next to its generation and rebuilt from the store when the
cache is missing (for example in another process sharing a chroma server).
"""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
from array import array
from collections.abc import Iterable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from kb.text import STOP_WORDS, fold, ngram_tokens, word_tokens

if TYPE_CHECKING:
    import bm25s

_FORMAT = 2
RESPELL_MAX_LETTERS = 40  # longer words are not looked up for misspellings


def _bm25s():
    """bm25s, imported when an index is first built or loaded: with scipy it takes about
    half a second, which ``lotse ingest`` spends beside the embedding, not before it."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)  # after its import, which sets it
    return bm25s


class _Bm25:
    """One bm25s index plus document frequencies, with an empty-safe scorer."""

    def __init__(self, model: bm25s.BM25 | None, n_docs: int) -> None:
        self.model = model
        self.n_docs = n_docs
        self.vocab: dict[str, int] = model.vocab_dict if model is not None else {}
        self.df = (np.diff(np.asarray(model.scores["indptr"])) if model is not None
                   else np.zeros(0, dtype=np.int64))

    @classmethod
    def build(cls, corpus: Iterable[list[str]]) -> "_Bm25":
        """Indexes one document per token list. Each list becomes an array of 4-byte term
        ids as soon as it is read, so a big store's n-grams (about 600 a chunk) are not
        all held as strings at once: 100k chunks need 0.25 GB instead of several."""
        vocab: dict[str, int] = {}
        docs = [array("i", [vocab.setdefault(t, len(vocab)) for t in toks or ["\x00"]])
                for toks in corpus]
        if not vocab.keys() - {"\x00"}:  # no document has a single term
            return cls(None, len(docs))
        model = _bm25s().BM25(k1=1.2, b=0.75)
        model.index((docs, vocab), show_progress=False)
        return cls(model, len(docs))

    def scores(self, tokens: Iterable[str]) -> np.ndarray:
        known = [t for t in tokens if t in self.vocab]
        if self.model is None or not known:
            return np.zeros(self.n_docs, dtype=np.float32)
        return np.asarray(self.model.get_scores(known), dtype=np.float32)

    def covered(self, tokens: Iterable[str]) -> np.ndarray:
        """IDF-weighted share of ``tokens`` present in every document, read from the postings."""
        terms = set(tokens)
        out = np.zeros(self.n_docs, dtype=np.float32)
        total = sum(self.idf(t) for t in terms)
        if self.model is None or not total:
            return out
        indptr, indices = self.model.scores["indptr"], self.model.scores["indices"]
        for t in terms:
            i = self.vocab.get(t)
            if i is not None and i + 1 < len(indptr):
                out[indices[indptr[i]:indptr[i + 1]]] += self.idf(t)
        return out / total

    def idf(self, token: str) -> float:
        i = self.vocab.get(token)
        df = int(self.df[i]) if i is not None else 0
        return math.log(1.0 + (self.n_docs - df + 0.5) / (df + 0.5))

    def save(self, path: Path) -> None:
        if self.model is not None:
            self.model.save(str(path), show_progress=False)

    @classmethod
    def load(cls, path: Path, n_docs: int) -> "_Bm25":
        if not path.exists():
            return cls(None, n_docs)
        return cls(_bm25s().BM25.load(str(path), show_progress=False, verbosity=0), n_docs)


class LexicalIndex:
    """BM25 over words and n-grams for one audience view.

        >>> index = LexicalIndex.build(["c1", "c2"], ["Zelt für Norwegen", "Wanderstöcke"], metas)
        >>> index.scores("Stöcke").argmax()
        1
    """

    def __init__(self, ids: list[str], metas: list[dict], words: _Bm25, grams: _Bm25) -> None:
        self.ids = ids
        self.metas = metas
        self.position = {cid: i for i, cid in enumerate(ids)}
        self._words = words
        self._grams = grams

    def __len__(self) -> int:
        return len(self.ids)

    @classmethod
    def build(cls, ids: Sequence[str], texts: Sequence[str], metas: Sequence[dict]) -> "LexicalIndex":
        ids = list(ids)
        return cls(ids, [dict(m) for m in metas],
                   _Bm25.build(word_tokens(t) for t in texts),
                   _Bm25.build(ngram_tokens(t) for t in texts))

    def word_scores(self, query: str) -> np.ndarray:
        return self._words.scores(word_tokens(query))

    def gram_scores(self, query: str) -> np.ndarray:
        return self._grams.scores(ngram_tokens(query))

    def indexed_coverage(self, query: str) -> np.ndarray:
        """``coverage`` of the query for every indexed chunk at once (no re-tokenising)."""
        return 0.5 * (self._words.covered(word_tokens(query)) + self._grams.covered(ngram_tokens(query)))

    def coverage(self, query: str, texts: Sequence[str]) -> np.ndarray:
        """IDF-weighted share of the question's terms found in each text (0..1): the mean
        over word stems (exact terms) and character n-grams (compound parts, names)."""
        return 0.5 * (self._coverage(self._words, word_tokens, query, texts)
                      + self._coverage(self._grams, ngram_tokens, query, texts))

    @staticmethod
    def _coverage(index: _Bm25, tokenize, query: str, texts: Sequence[str]) -> np.ndarray:
        terms = set(tokenize(query))
        weights = {t: index.idf(t) for t in terms}
        total = sum(weights.values())
        if not total:
            return np.zeros(len(texts), dtype=np.float32)
        out = [sum(weights[t] for t in set(tokenize(text)) & terms) / total for text in texts]
        return np.asarray(out, dtype=np.float32)

    def respell(self, query: str) -> str:
        """``query`` with misspelt German words replaced by the indexed word they most likely
        mean: "rueckenlaenge" -> "rückenlänge", "versandkostn" -> "versandkosten".

        A word is left alone when its stem is indexed (the Snowball stemmer already reads
        "ue" as "ü"), when it is a German or English word the shop's texts just do not use
        ("schwer" is not a typo of "Schweden"), when it is short, or when no variant is:
        one edit away (a letter deleted, swapped, added or replaced; never the first one),
        the variant found in most chunks wins. Capitalised words in a carefully cased message are taken for
        names unless they are long, so "Basel" is not turned into something the shop sells.
        """
        careful = any(c.isupper() for c in query)
        out, last = [], 0
        for match in re.finditer(r"[^\W\d_]{4,}", query):
            word = match.group()
            # A word's one-edit variants cost the square of its length: 4,000 letters in a
            # row took 24 s, and nobody misspells a word that long.
            if len(word) > RESPELL_MAX_LETTERS:
                continue
            if word.lower() in STOP_WORDS or self.known(word) or is_dictionary_word(word):
                continue
            if len(word) < 6 or (careful and word[0].isupper() and len(word) < 7):
                continue
            folded = fold(word)
            variants = [v for v in _one_edit(folded) if v[:1] == folded[:1] and self.known(v)]
            if not variants:
                continue
            best = max(variants, key=self._df)  # the first of the most frequent: no needless swap
            replacement = best.capitalize() if word[0].isupper() else best
            out.append(query[last:match.start()] + replacement)
            last = match.end()
        return "".join(out) + query[last:] if out else query

    def known(self, word: str) -> bool:
        """Does any chunk of this view contain ``word`` (compared as a stem)?"""
        tokens = word_tokens(word)
        return bool(tokens) and tokens[0] in self._words.vocab

    def known_part(self, word: str) -> bool:
        """Does any chunk contain ``word``, or its stem inside a compound ("Fach" in
        "Schlafsackfach"), or the last part of it as a word ("Bauchtasche" ~ "Hüfttasche")?"""
        tokens = word_tokens(word)
        if not tokens:
            return False
        stem = tokens[0]
        if stem in self._words.vocab or (len(stem) >= 4 and any(stem in v for v in self._words.vocab)):
            return True
        return any(len(stem) - i >= 4 and any(v.endswith(stem[i:]) for v in self._words.vocab)
                   for i in range(3, len(stem) - 3))

    def _df(self, word: str) -> int:
        i = self._words.vocab.get(word_tokens(word)[0])
        return int(self._words.df[i]) if i is not None and i < len(self._words.df) else 0

    def unknown_share(self, query: str) -> float:
        """Share of the question's content words that no chunk of this view contains:
        "Kann ich mit PayPal zahlen?" over a corpus that never mentions PayPal."""
        terms = set(word_tokens(query))
        if not terms:
            return 0.0
        return sum(1 for t in terms if t not in self._words.vocab) / len(terms)

    def mask(self, where: dict[str, str] | None) -> np.ndarray | None:
        """1 for chunks whose metadata equals every key of ``where``; None when no filter."""
        if not where:
            return None
        return np.asarray([all(m.get(k) == v for k, v in where.items()) for m in self.metas],
                          dtype=bool)

    # -- persistence -------------------------------------------------------------
    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        (tmp / "meta.json").write_text(json.dumps(
            {"format": _FORMAT, "ids": self.ids, "metas": self.metas}, ensure_ascii=False))
        self._words.save(tmp / "words")
        self._grams.save(tmp / "grams")
        shutil.rmtree(path, ignore_errors=True)
        tmp.rename(path)

    @classmethod
    def load(cls, path: Path) -> "LexicalIndex | None":
        try:
            meta = json.loads((path / "meta.json").read_text())
            if meta.get("format") != _FORMAT:
                return None
            n = len(meta["ids"])
            return cls(meta["ids"], meta["metas"], _Bm25.load(path / "words", n),
                       _Bm25.load(path / "grams", n))
        except (OSError, ValueError, KeyError):
            return None


_LETTERS = "abcdefghijklmnopqrstuvwxyzß"


@lru_cache(maxsize=1)
def _dictionaries():
    from spellchecker import SpellChecker

    return SpellChecker(language="de"), SpellChecker(language="en")


def is_dictionary_word(word: str) -> bool:
    """Is ``word`` in pyspellchecker's German or English word list (frequency lists built
    from subtitles and Wikipedia, loaded once)?"""
    lower = word.lower()
    return any(lower in d.word_frequency for d in _dictionaries())


def _one_edit(word: str) -> list[str]:
    """Every string one deletion, swap, insertion or replacement away (Norvig's edits1), in
    that order, over folded letters."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    deletes = [a + b[1:] for a, b in splits if b]
    swaps = [a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1]
    inserts = [a + c + b for a, b in splits for c in _LETTERS]
    replaces = [a + c + b[1:] for a, b in splits if b for c in _LETTERS]
    return list(dict.fromkeys(deletes + swaps + inserts + replaces))
