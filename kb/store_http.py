"""The chunk store on a `chroma run` server, shared by several Lotse processes.

Each generation is a set of collections named after it; the pointer is the metadata of
one small collection, and the writer lock is a collection too (the server creates a name
only once), renewed by its holder and taken over when a dead writer left it.
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
from pathlib import Path
from typing import Any

from kb.chroma_client import http_client
from kb.chroma_records import CHUNKS
from kb.errors import StoreError
from kb.generation import Generation
from kb.generation_store import ChromaChunkStore
from kb.generation_writer import GenerationWriter
from kb.settings import LotseSettings
from kb.types import AUDIENCES

log = logging.getLogger(__name__)

_LOCK_STALE = 120.0  # seconds after which an unrenewed writer lock counts as abandoned


class HttpChunkStore(ChromaChunkStore):
    """Collections per generation in a `chroma run` server, shared by several Lotse processes."""

    def __init__(self, settings: LotseSettings) -> None:
        super().__init__(settings)
        try:
            self._http = http_client(settings.store.host, settings.store.port)
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
        self._http.get_collection(self._names(writer.gen_id)[(AUDIENCES[0], CHUNKS)]).modify(
            metadata={"lotse_info": json.dumps(info)})
        self._point_to(writer.gen_id, info)
        self._prune(keep=writer.gen_id)
        return self.current(force=True)

    def _point_to(self, gen_id: str, info: dict[str, Any]) -> None:
        self._pointer().modify(metadata={"generation": gen_id, "info": json.dumps(info)})

    def _info(self, gen_id: str) -> dict[str, Any] | None:
        try:
            col = self._http.get_collection(self._names(gen_id)[(AUDIENCES[0], CHUNKS)])
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
