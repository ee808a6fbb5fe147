"""What both chunk-store backends share: generations, the pointer, history and rollback.

A backend supplies the client and the pointer (``kb.store_persistent``, ``kb.store_http``);
this base keeps which generation is live in this process (re-read at most every
``refresh_seconds``), retires and closes the ones it flips away from, begins writers,
holds the writer lock around a build, lists what was published and rolls back.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kb.chroma_records import KINDS
from kb.errors import StoreError
from kb.generation import Generation
from kb.generation_writer import GenerationWriter
from kb.settings import LotseSettings
from kb.types import AUDIENCES

POINTER = object()  # "the generation the pointer names now"


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
        return {(a, k): f"{self.prefix}_g{gen_id}_{a}_{k}" for a in AUDIENCES for k in KINDS}

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

    def begin(self, base: str | None | object = POINTER) -> GenerationWriter:
        """A writer for the next generation, built from ``base``: the generation the caller
        read its manifest from (by default the live one now). The http publish refuses
        when the live generation is no longer ``base``."""
        gen_id = self._new_gen_id()
        writer = GenerationWriter(self, gen_id, self._writer_client(gen_id), self._names(gen_id))
        writer.base = self._read_pointer() if base is POINTER else base  # type: ignore[assignment]
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
