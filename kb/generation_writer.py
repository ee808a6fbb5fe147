"""Writing the next generation of the chunk store beside the live one.

Nothing a writer adds is visible to readers before ``publish``, which validates the
counts and then lets the store flip its pointer; ``abort`` throws the generation away.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kb.chroma_records import (
    CHUNKS,
    KINDS,
    SENTENCES,
    Sentence,
    batches,
    chunk_to_record,
    sentence_records,
)
from kb.errors import StoreError
from kb.generation import Generation
from kb.settings import LotseSettings
from kb.types import AUDIENCES, Chunk


class WritingStore(Protocol):
    """What a writer needs of its store (``kb.generation_store.ChromaChunkStore`` is one)."""

    settings: LotseSettings

    def cache_dir(self, gen_id: str) -> Path: ...
    def publish(self, writer: GenerationWriter, info: dict[str, Any]) -> Generation: ...
    def discard(self, gen_id: str) -> None: ...
    def _reopen(self, gen_id: str, client: Any) -> Any: ...
    def _release_client(self, client: Any) -> None: ...


class GenerationWriter:
    """Builds the next generation. Nothing is visible to readers before ``publish``."""

    def __init__(self, store: WritingStore, gen_id: str, client: Any,
                 names: dict[tuple[str, str], str]) -> None:
        self.gen_id = gen_id
        self._store = store
        self._client = client
        self._names = names
        self._cols = {
            key: client.create_collection(
                name, configuration={"hnsw": {"space": "cosine"}}, embedding_function=None,
                metadata={"lotse_generation": gen_id},
            )
            for key, name in names.items()
        }
        self._batch = max(1, min(2000, int(client.get_max_batch_size())))

    def add(self, chunks: Sequence[Chunk], vectors: np.ndarray,
            sentences: Sequence[Sentence] = (), sentence_vectors: np.ndarray | None = None) -> None:
        """Add chunks (and their sentences) with their vectors."""
        unknown = {c.audience for c in chunks} - set(AUDIENCES)
        if unknown:
            raise StoreError(f"chunks with unknown audience {sorted(unknown)} are refused")
        for audience in AUDIENCES:
            rows = [i for i, c in enumerate(chunks) if c.audience == audience]
            if rows:
                records = [chunk_to_record(chunks[i]) for i in rows]
                self._put((audience, CHUNKS), [r[0] for r in records], [r[1] for r in records],
                          [r[2] for r in records], vectors[rows])
        if sentences and sentence_vectors is not None:
            self.add_sentences(sentences, sentence_vectors, chunks)

    def add_sentences(self, sentences: Sequence[Sentence], vectors: np.ndarray,
                      chunks: Sequence[Chunk]) -> None:
        """Add sentences with their vectors; ``chunks`` are theirs (their text is stored as a
        span of the chunk's)."""
        for audience in AUDIENCES:
            rows = [i for i, s in enumerate(sentences) if s.audience == audience]
            if rows:
                texts, metas = sentence_records([sentences[i] for i in rows], chunks)
                self._put((audience, SENTENCES), [sentences[i].id for i in rows], texts, metas,
                          vectors[rows])

    def copy_from(self, gen: Generation, keep: Iterable[str]) -> int:
        """Copy the chunks (and sentences) of the documents ``keep`` from ``gen``, vectors included."""
        keep = set(keep)
        copied = 0
        for audience in AUDIENCES:
            chunk_ids: list[str] = []
            for kind in KINDS:
                for res in gen.pages(audience, kind, self._batch):
                    if kind == CHUNKS:
                        idx = [i for i, m in enumerate(res["metadatas"]) if m.get("doc_id") in keep]
                        chunk_ids.extend(res["ids"][i] for i in idx)
                        copied += len(idx)
                    else:
                        wanted = set(chunk_ids)
                        idx = [i for i, m in enumerate(res["metadatas"]) if m.get("chunk_id") in wanted]
                    if idx:
                        self._put((audience, kind), [res["ids"][i] for i in idx],
                                  [res["documents"][i] for i in idx],
                                  [res["metadatas"][i] for i in idx],
                                  np.asarray(res["embeddings"], dtype=np.float32)[idx])
        return copied

    def _put(self, key: tuple[str, str], ids: list[str], docs: list[str | None],
             metas: list[dict], vecs: np.ndarray) -> None:
        """Adds records in chroma's batch size; records whose text is None are stored
        without one (sentences kept as spans of their chunk)."""
        col = self._cols[key]
        for with_text in (True, False):
            rows = [i for i, d in enumerate(docs) if (d is not None) == with_text]
            for part in batches(len(rows), self._batch):
                pick = rows[part]
                col.add(ids=[ids[i] for i in pick], metadatas=[metas[i] for i in pick],
                        embeddings=vecs[pick], **({"documents": [docs[i] for i in pick]}
                                                  if with_text else {}))

    def release(self) -> None:
        """Lets go of the indexes written so far. A local chromadb client keeps every index
        it wrote to in memory (about 3.4 KB a vector, 1.5 GB for 100k chunks with their
        sentences); after this they are read from disk again, each only when used. A big
        build can write its chunks, release, then write their sentences."""
        self._client = self._store._reopen(self.gen_id, self._client)
        self._cols = {key: self._client.get_collection(name, embedding_function=None)
                      for key, name in self._names.items()}

    def as_generation(self) -> Generation:
        """A read view of the generation being built, for validation and index building;
        writing is done by then, so its in-memory indexes are released first."""
        self.release()
        return Generation(self.gen_id, self._client, self._names, {},
                          self._store.cache_dir(self.gen_id),
                          self._store.settings.store.cached_records)

    def counts(self) -> dict[str, int]:
        return {f"{a}_{k}": col.count() for (a, k), col in self._cols.items()}

    base: str | None = None  # the live generation when this one was begun

    def publish(self, info: dict[str, Any]) -> Generation:
        """Validate the new generation and make it the one readers see."""
        counts = self.counts()
        expected = info.get("expected_counts", {})
        for key, n in expected.items():
            if counts.get(key) != n:
                raise StoreError(
                    f"generation {self.gen_id} failed validation: {key} has {counts.get(key)} "
                    f"records, expected {n}; the previous generation stays live"
                )
        info = {**info, "counts": counts, "generation": self.gen_id, "published_at": time.time()}
        published = self._store.publish(self, info)
        # Readers open the generation with a client of their own; the persistent backend
        # keeps a folder's indexes in memory until its last client is closed.
        self._store._release_client(self._client)
        return published

    def abort(self) -> None:
        self._store._release_client(self._client)
        self._store.discard(self.gen_id)
