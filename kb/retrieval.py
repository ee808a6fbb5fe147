"""Hybrid retrieval: BM25 words + BM25 n-grams + dense chunks + dense sentences.

Plain reciprocal-rank fusion loses to BM25 on German questions and collapses
cross-lingually (issue #3 measurements), because it throws away how *sure*
each retriever is. Lotse instead gathers candidates from every retriever,
scores each candidate exactly on every signal, min-max normalises each signal
over the candidates and adds them with weights:

    fused = w_lex * (word + gram) + (1 - w_lex) * dense + w_cov * coverage + w_lang * same_language
    dense = (cosine to the chunk + best cosine to one of its sentences) / 2

``w_lex`` drops when the question's language differs from the chunk's, since
German stems cannot match English words. ``coverage`` is the IDF-weighted share
of the question's n-grams that the chunk contains; ``same_language`` prefers content in
the question's language where the knowledge base has it.

The audience filter sits inside every retriever: customers' lexical index is
built from public chunks only, and the dense queries run on per-audience
collections with an ``audience`` where-clause.

    >>> retriever = HybridRetriever(store, embedder, settings.retrieval)
    >>> hits = retriever.retrieve("Welches Zelt für Norwegen im Oktober?", view="customer")
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from kb.catalog import Product, loads
from kb.chroma_records import Sentence
from kb.embedders import Embedder
from kb.errors import ConfigError, EmptyStoreError
from kb.generation import Generation
from kb.generation_cache import GenerationCache
from kb.glossary import lexical_forms
from kb.lexical import LexicalIndex
from kb.memory import release
from kb.settings import RetrievalSettings
from kb.store import ChunkStore
from kb.text import detect_language, named_products
from kb.types import Chunk, Hit
from kb.vocabulary import EMPTY, Vocabulary

View = Literal["customer", "agent"]
VIEWS: dict[str, tuple[str, ...]] = {"customer": ("public",), "agent": ("public", "internal")}


def audiences_for(view: str) -> tuple[str, ...]:
    """The audiences a view may read. Unknown views read nothing internal."""
    return VIEWS.get(view, VIEWS["customer"])


def build_lexical(gen: Generation, view: str) -> LexicalIndex:
    """Build the lexical index of one view of a generation from its stored chunks."""
    return lexical_index(chunk for audience in audiences_for(view) for chunk, _ in gen.chunks(audience))


def _load_lexical(gen: Generation, view: str) -> LexicalIndex:
    index = LexicalIndex.load(gen.cache_dir / f"lexical-{view}")
    if index is None:
        index = build_lexical(gen, view)
        try:
            index.save(gen.cache_dir / f"lexical-{view}")
        except OSError:
            pass  # a read-only cache only costs a rebuild next start
    # Reading a generation's chunks back and tokenising them frees far more than the
    # index keeps; without this the allocator holds on to it (kb.memory).
    release()
    return index


def _catalog(gen: Generation, view: str) -> list[Product]:
    """The products of the catalog documents the view may read, each name once."""
    seen: dict[str, tuple[str, str]] = {}
    for audience in audiences_for(view):
        for meta in gen.metadatas(audience):
            if meta.get("catalog") and meta.get("doc_id") not in seen:
                seen[meta["doc_id"]] = (meta["catalog"], audience)
    products = [p for text, audience in seen.values() for p in loads(text, audience)]
    return list({p.name: p for p in products}.values())


def lexical_index(chunks: Iterable[Chunk]) -> LexicalIndex:
    """The lexical index of these chunks, with the metadata that query filters use."""
    ids, texts, metas = [], [], []
    for chunk in chunks:
        ids.append(chunk.id)
        texts.append(chunk.search_text)
        metas.append({k: chunk.metadata.get(k, "") for k in ("doc_type", "product", "language")})
    return LexicalIndex.build(ids, texts, metas)


def _minmax(x: np.ndarray) -> np.ndarray:
    if x.size == 0:
        return x
    lo, hi = float(x.min()), float(x.max())
    if hi - lo < 1e-9:
        return np.zeros_like(x) if hi <= 0 else np.ones_like(x)
    return (x - lo) / (hi - lo)


@dataclass
class Retrieval:
    """The hits of one question, plus what the answerer reuses (query vector, sentences)."""

    query: str
    language: str
    hits: list[Hit]
    query_vector: np.ndarray
    sentences: dict[str, list[tuple[Sentence, float]]]
    generation: str
    coverage: Callable[[str, Sequence[str]], np.ndarray]
    unknown_share: float = 0.0
    # Is the word (or, for a compound, a part of it) in any chunk of the view?
    known: Callable[[str], bool] = lambda word: True
    vocabulary: Vocabulary = EMPTY  # the shop's vocabulary file of this generation


# The weight left to chunks of other products when a question names a product.
_OTHER_PRODUCT = 0.6


class HybridRetriever:
    """Fuses lexical and dense retrieval over the live generation of a store."""

    def __init__(self, store: ChunkStore, embedder: Embedder, settings: RetrievalSettings) -> None:
        self.store = store
        self.embedder = embedder
        self.settings = settings
        # Lexical indexes, product names, catalogs and vocabularies of the generations the
        # store holds open (two at most), dropped with them.
        self.caches = GenerationCache(keep=2)

    def vocabulary(self, gen: Generation) -> Vocabulary:
        """The vocabulary files published with ``gen``, merged (empty without any)."""
        return self.caches.get(gen, "vocabulary",
                               lambda: Vocabulary.merged(gen.info.get("vocabulary") or {}))

    def lexical(self, gen: Generation, view: str) -> LexicalIndex:
        """The lexical index of one view of ``gen``: read from the generation's cache folder,
        or built from its chunks (and saved there); once per generation and view."""
        return self.caches.get(gen, ("lexical", view), lambda: _load_lexical(gen, view))

    def products(self, view: str = "customer") -> list[str]:
        """The product names the view's chunks carry, for follow-up rewriting."""
        gen = self.generation()
        return self.caches.get(gen, ("products", view), lambda: sorted(
            {m.get("product", "") for m in self.lexical(gen, view).metas} - {""}))

    def named_products(self, text: str, view: str = "customer") -> list[str]:
        """The products of the view that ``text`` names in full."""
        return named_products(text, self.products(view))

    def catalog(self, view: str = "customer") -> list[Product]:
        """The products and facts of the view's documents (customers: public ones only)."""
        gen = self.generation()
        return self.caches.get(gen, ("catalog", view), lambda: _catalog(gen, view))

    def generation(self) -> Generation:
        gen = self.store.current()
        if gen is None:
            raise EmptyStoreError("the knowledge base is empty: run `lotse ingest PATH` first")
        built_with = gen.info.get("embedder")
        if built_with and built_with != self.embedder.name:
            raise ConfigError(
                f"the store was built with the embedder {built_with!r} but {self.embedder.name!r} "
                "is configured; re-ingest or switch embedding.mode back"
            )
        return gen

    def retrieve(self, query: str, view: str = "customer", k: int | None = None,
                 where: dict[str, str] | None = None, language: str | None = None) -> Retrieval:
        """Top hits for ``query`` that the view may see, optionally filtered by metadata
        equality (``doc_type``, ``product``). ``language`` is detected when not given.

        A German query's misspelt words are first replaced by the indexed words they most
        likely mean (``LexicalIndex.respell``); ``Retrieval.query`` is the query searched."""
        k = k or self.settings.top_k
        language = language or detect_language(query)
        embedded: dict[str, np.ndarray] = {}
        for attempt in (0, 1):
            gen = self.generation()
            try:
                lex = self.lexical(gen, view)
                searched = lex.respell(query) if language == "de" else query
                if searched not in embedded:
                    embedded[searched] = self.embedder.embed_batch([searched])[0]
                return self._retrieve(gen, lex, searched, language, embedded[searched], view, k,
                                      where)
            except Exception:
                # The generation may have been pruned under us by another
                # process's publish: look at the pointer again, once.
                if attempt:
                    raise
                self.store.current(force=True)
        raise AssertionError("unreachable")

    def _retrieve(self, gen: Generation, lex: LexicalIndex, query: str, language: str,
                  vector: np.ndarray, view: str, k: int, where: dict[str, str] | None) -> Retrieval:
        cands = self.candidates(gen, lex, query, language, vector, view, where)
        fused = fuse(cands, self.settings)
        named = self.named_products(query, view)
        if named:  # "Wie wasche ich die Storm Pro?" is about the Storm Pro, not other jackets
            for i, chunk in enumerate(cands.chunks):
                product = chunk.metadata.get("product", "")
                if product and product not in named:
                    fused[i] *= _OTHER_PRODUCT
        order = np.argsort(-fused)[:k]
        hits = [
            Hit(chunk=cands.chunks[i], score=float(fused[i]), signals={
                "bm25": float(cands.word[i]), "bm25_ngram": float(cands.gram[i]),
                "dense": float(cands.chunk_cos[i]), "dense_sentence": float(cands.sent_max[i]),
                "coverage": float(cands.coverage[i]),
                "bm25_rank": _rank(cands.word, i), "dense_rank": _rank(cands.dense, i),
            })
            for i in order
        ]
        sentences = {h.chunk.id: cands.sentences[h.chunk.id] for h in hits}
        vocabulary = self.vocabulary(gen)
        return Retrieval(query, language, hits, vector, sentences, gen.id, lex.coverage,
                         lex.unknown_share(lexical_forms(query, language, vocabulary)[1]),
                         lex.known_part, vocabulary)

    def candidates(self, gen: Generation, lex: LexicalIndex, query: str, language: str,
                   vector: np.ndarray, view: str, where: dict[str, str] | None) -> "Candidates":
        """Gather candidates from every retriever and score each on every signal.

        Lexical signals are computed for both forms of the question (``lexical_forms``);
        each candidate is scored with the form that fits its language."""
        audiences = audiences_for(view)
        n_cand = self.settings.candidates
        same_q, cross_q = lexical_forms(query, language, self.vocabulary(gen))
        forms = {same_q: (lex.word_scores(same_q), lex.gram_scores(same_q))}
        if cross_q != same_q:
            forms[cross_q] = (lex.word_scores(cross_q), lex.gram_scores(cross_q))
        mask = lex.mask(where)
        if mask is not None:
            forms = {q: (w * mask, g * mask) for q, (w, g) in forms.items()}
        pool: dict[str, None] = {}
        for scores in (s for pair in forms.values() for s in pair):
            for i in np.argsort(-scores)[:n_cand]:
                if scores[i] > 0:
                    pool[lex.ids[i]] = None
        for match, _ in gen.query(vector, audiences, n_cand, where=where):
            pool[match.id] = None
        for _, meta in gen.query(vector, audiences, 2 * n_cand, kind="sentences", where=where):
            pool[meta.get("chunk_id", "")] = None
        pool.pop("", None)

        found = gen.get_chunks(list(pool), audiences) if pool else {}
        ids = [cid for cid in pool if cid in found]
        chunks = [found[cid][0] for cid in ids]
        chunk_cos = np.asarray([float(found[cid][1] @ vector) for cid in ids], dtype=np.float32)
        per_chunk: dict[str, list[tuple[Sentence, float]]] = {cid: [] for cid in ids}
        for sentence, vec in gen.sentence_vectors(chunks, audiences):
            per_chunk.setdefault(sentence.chunk_id, []).append((sentence, float(vec @ vector)))
        sent_max = np.asarray(
            [max((s for _, s in per_chunk[cid]), default=chunk_cos[i]) for i, cid in enumerate(ids)],
            dtype=np.float32,
        )
        rows = [lex.position.get(cid) for cid in ids]
        same_language = np.asarray(
            [c.metadata.get("language", language) == language for c in chunks], dtype=bool)
        coverage = {q: lex.indexed_coverage(q) for q in forms}

        def per_form(values: dict[str, np.ndarray]) -> np.ndarray:
            return np.where(same_language, _pick(values[same_q], rows), _pick(values[cross_q], rows))

        return Candidates(
            chunks=chunks,
            word=per_form({q: w for q, (w, _) in forms.items()}),
            gram=per_form({q: g for q, (_, g) in forms.items()}),
            chunk_cos=chunk_cos,
            sent_max=sent_max,
            coverage=per_form(coverage),
            same_language=same_language,
            sentences=per_chunk,
        )


@dataclass
class Candidates:
    """Every candidate chunk of one question with its raw score on every signal."""

    chunks: list[Chunk]
    word: np.ndarray
    gram: np.ndarray
    chunk_cos: np.ndarray
    sent_max: np.ndarray
    coverage: np.ndarray
    same_language: np.ndarray
    sentences: dict[str, list[tuple[Sentence, float]]]

    @property
    def dense(self) -> np.ndarray:
        return 0.5 * self.chunk_cos + 0.5 * self.sent_max


def fuse(c: Candidates, settings: RetrievalSettings) -> np.ndarray:
    """The fused score of every candidate (see the module docstring)."""
    if not c.chunks:
        return np.zeros(0, dtype=np.float32)
    w_lex = np.where(c.same_language, settings.lexical_weight,
                     settings.lexical_weight_crosslingual).astype(np.float32)
    return (w_lex * (_minmax(c.word) + _minmax(c.gram)) + (1 - w_lex) * _minmax(c.dense)
            + settings.coverage_weight * c.coverage
            + settings.same_language_bonus * c.same_language)


def _pick(values: np.ndarray, rows: list[int | None]) -> np.ndarray:
    """Per-candidate values from an array over the lexical index (0 where not indexed)."""
    return np.asarray([values[r] if r is not None else 0.0 for r in rows], dtype=np.float32)


def _rank(scores: np.ndarray, i: int) -> float:
    """1-based rank of candidate ``i`` under ``scores``."""
    return float(1 + int(np.sum(scores > scores[i])))
