"""A published generation of the chunk store, read-only, with the records it has fetched.

Readers take one from ``ChunkStore.current()`` per request; a generation never changes
once published, so what it fetched by id (chunks, sentences and their vectors) is kept
while it is the live one: on a `chroma run` server each fetch of vectors is a sizeable
HTTP round trip.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kb.chroma_records import (
    CHUNKS,
    SENTENCES,
    DenseMatch,
    Sentence,
    audience_verified,
    record_to_chunk,
)
from kb.types import Chunk


class Generation:
    """A published, read-only snapshot of the store.

    It remembers the records it has fetched (``cached_records`` per collection) while it
    is live. When the store flips to another generation it ``retire()``s this one: the
    records go, requests that began on it still finish there; at the next flip it is
    ``close()``d (``ChromaChunkStore.current``)."""

    def __init__(self, gen_id: str, client: Any, names: dict[tuple[str, str], str],
                 info: dict[str, Any], cache_dir: Path, cached_records: int = 20_000,
                 release: Callable[[Any], None] | None = None) -> None:
        self.id = gen_id
        self.info = info
        self.cache_dir = cache_dir
        self.cached_records = cached_records
        self._client = client
        self._release = release  # lets go of the client when the generation is closed
        self._names = names
        self._collections: dict[tuple[str, str], Any] = {}
        self._counts: dict[tuple[str, str], int] = {}
        self._records: dict[tuple[str, str], OrderedDict[str, Any]] = {}
        self._lock = threading.Lock()
        self.caching = True
        self.closed = False

    def retire(self) -> None:
        """Drop the cached records and cache none from now on; the generation still
        answers, for the requests that began on it before the flip."""
        with self._lock:
            self.caching = False
            self._records.clear()

    def revive(self) -> None:
        """Cache again: the store went back to this generation (a rollback)."""
        with self._lock:
            self.caching = not self.closed

    def close(self) -> None:
        """Retire it and let go of the collection handles and the client (for the
        persistent backend, chromadb keeps every folder's indexes in memory until its last
        client is closed). A request still reading a closed generation fails and is
        retried on the live one (``HybridRetriever.retrieve``)."""
        with self._lock:
            if self.closed:
                return
            self.closed, self.caching = True, False
            self._records.clear()
            self._collections.clear()
        if self._release is not None:
            self._release(self._client)

    def cached(self) -> int:
        """How many records this generation holds in memory (for tests and diagnostics)."""
        with self._lock:
            return sum(len(cache) for cache in self._records.values())

    def _col(self, audience: str, kind: str) -> Any:
        key = (audience, kind)
        with self._lock:
            if key not in self._collections:
                self._collections[key] = self._client.get_collection(
                    self._names[key], embedding_function=None
                )
            return self._collections[key]

    def count(self, audience: str, kind: str = CHUNKS) -> int:
        """Records of one collection; remembered, since a published generation never changes."""
        key = (audience, kind)
        if key not in self._counts:
            self._counts[key] = self._col(audience, kind).count()
        return self._counts[key]

    def query(self, vector: np.ndarray, audiences: Sequence[str], k: int,
              kind: str = CHUNKS, where: dict[str, Any] | None = None) -> list[tuple[DenseMatch, dict]]:
        """Nearest chunks (or sentences) by cosine similarity, searched only in the collections
        of the given audiences; ``where`` narrows further (doc_type, product).

        The audience is not repeated as a where-clause: a clause that matches a whole
        collection makes chroma filter every record, 85 ms per query at 10k chunks and
        linear beyond (README, "Benchmarks"). Every returned record's audience is checked.
        """
        found: list[tuple[DenseMatch, dict]] = []
        for audience in audiences:
            n = min(k, self.count(audience, kind))
            if n == 0:
                continue
            res = self._col(audience, kind).query(query_embeddings=[vector.tolist()], n_results=n,
                                                  where=where or None,
                                                  include=["distances", "metadatas"])
            for cid, dist, meta in zip(res["ids"][0], res["distances"][0], res["metadatas"][0]):
                if audience_verified(meta, audience):
                    found.append((DenseMatch(cid, 1.0 - float(dist)), meta))
        found.sort(key=lambda m: -m[0].similarity)
        return found[:k]

    def chunks(self, audience: str, include_vectors: bool = False,
               batch: int = 2000) -> Iterator[tuple[Chunk, np.ndarray | None]]:
        """Every chunk of one audience, in pages."""
        col = self._col(audience, CHUNKS)
        include = ["documents", "metadatas"] + (["embeddings"] if include_vectors else [])
        total = col.count()
        for offset in range(0, total, batch):
            res = col.get(include=include, limit=batch, offset=offset)
            vecs = res.get("embeddings") if include_vectors else None
            for i, cid in enumerate(res["ids"]):
                chunk = record_to_chunk(cid, res["documents"][i], res["metadatas"][i])
                yield chunk, (np.asarray(vecs[i], dtype=np.float32) if vecs is not None else None)

    def pages(self, audience: str, kind: str, batch: int) -> Iterator[dict[str, Any]]:
        """Every record of one collection with its text, metadata and vector, in pages of
        ``batch`` (chroma's ``get`` result dicts), for copying into the next generation."""
        col = self._col(audience, kind)
        for offset in range(0, col.count(), batch):
            yield col.get(include=["documents", "metadatas", "embeddings"], limit=batch,
                          offset=offset)

    def metadatas(self, audience: str, batch: int = 5000) -> Iterator[dict[str, Any]]:
        """The metadata of every chunk of one audience (what sync derives its manifest from)."""
        col = self._col(audience, CHUNKS)
        for offset in range(0, col.count(), batch):
            yield from col.get(include=["metadatas"], limit=batch, offset=offset)["metadatas"]

    def get_chunks(self, ids: Sequence[str], audiences: Sequence[str]
                   ) -> dict[str, tuple[Chunk, np.ndarray]]:
        """The chunks with these ids and their vectors, from the given audiences' collections.

        Fetching known ids needs no where-clause (one that matches a whole collection
        costs seconds at 10k chunks); the audience is verified on every record instead.
        """
        out: dict[str, tuple[Chunk, np.ndarray]] = {}
        include = ["documents", "metadatas", "embeddings"]
        for audience in audiences:
            def fetch(missing: list[str], audience: str = audience) -> dict[str, Any]:
                res = self._col(audience, CHUNKS).get(ids=missing, include=include)
                return {cid: (record_to_chunk(cid, res["documents"][i], res["metadatas"][i]),
                              np.asarray(res["embeddings"][i], dtype=np.float32))
                        for i, cid in enumerate(res["ids"])
                        if audience_verified(res["metadatas"][i], audience)}
            out.update(self._cached((audience, CHUNKS), list(ids), fetch))
        return out

    def sentence_vectors(self, chunks: Sequence[Chunk], audiences: Sequence[str]
                         ) -> list[tuple[Sentence, np.ndarray]]:
        """Every stored sentence of the given chunks, with its vector.

        Sentence ids are ``<chunk id>:<i>`` and each chunk records how many it has, so
        this is a fetch by ids, not a metadata scan.
        """
        out: list[tuple[Sentence, np.ndarray]] = []
        include = ["documents", "metadatas", "embeddings"]
        for audience in audiences:
            mine = [c for c in chunks if c.audience == audience]
            ids = [f"{c.id}:{i}" for c in mine for i in range(int(c.metadata.get("sentences", 0)))]
            uncounted = [c.id for c in mine if "sentences" not in c.metadata]
            col = self._col(audience, SENTENCES)

            texts = {c.id: c.text for c in mine}

            def records(res: dict[str, Any], audience: str = audience) -> dict[str, Any]:
                found = {}
                for i, sid in enumerate(res["ids"]):
                    meta = res["metadatas"][i]
                    if audience_verified(meta, audience):
                        text = res["documents"][i]
                        if text is None:  # stored as its span of the chunk's text
                            text = texts.get(meta["chunk_id"], "")[meta["start"]:meta["end"]]
                        found[sid] = (Sentence(sid, meta["chunk_id"], text, audience, meta),
                                      np.asarray(res["embeddings"][i], dtype=np.float32))
                return found

            found = self._cached((audience, SENTENCES), ids,
                                 lambda missing, col=col: records(col.get(ids=missing,
                                                                          include=include)))
            if uncounted:  # written before chunks recorded their sentence count
                found.update(records(col.get(where={"chunk_id": {"$in": uncounted}},
                                             include=include)))
            out += list(found.values())
        return out

    def _cached(self, key: tuple[str, str], ids: list[str],
                fetch: Callable[[list[str]], dict[str, Any]]) -> dict[str, Any]:
        """Records by id, fetched once per generation: a published generation never changes,
        and on a `chroma run` server each fetch of vectors is a sizeable HTTP round trip."""
        with self._lock:
            cache = self._records.setdefault(key, OrderedDict())
            hits = {i: cache[i] for i in ids if i in cache}
        missing = [i for i in ids if i not in hits]
        fetched = fetch(missing) if missing else {}
        with self._lock:
            if self.caching:  # a retired generation is read, not remembered
                for record_id in missing:
                    cache[record_id] = fetched.get(record_id)  # None: not in this collection
                while len(cache) > self.cached_records:
                    cache.popitem(last=False)
        found = {**hits, **fetched}
        return {i: found[i] for i in ids if found.get(i) is not None}
