"""Values computed from one published generation, and dropped with it.

A retriever derives several things from the live generation: the lexical index of
each view, the product names, the catalog, the merged vocabulary. Each is worth
computing once per generation and worthless once the generation is gone. They are
kept here by generation, for the generations the store still holds open (the live
one and the one before it, see ``ChromaChunkStore.current``), and never for more
than ``keep``: a process that has seen a hundred publishes and rollbacks holds what
two of them need.

    >>> caches = GenerationCache(keep=2)
    >>> index = caches.get(gen, ("lexical", "customer"), lambda: build_lexical(gen, "customer"))
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any, Protocol


class _Generation(Protocol):
    id: str
    closed: bool


class GenerationCache:
    """Computed values by (generation, key); at most ``keep`` generations' worth."""

    def __init__(self, keep: int = 2) -> None:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        self.keep = keep
        # generation id -> (the generation, its values); oldest first, by first use.
        self._entries: dict[str, tuple[_Generation, dict[Hashable, Any]]] = {}
        # A maker may ask for another value of the same generation (products -> lexical).
        self._lock = threading.RLock()

    def get(self, gen: _Generation, key: Hashable, make: Callable[[], Any]) -> Any:
        """The value ``key`` of ``gen``, made once by ``make()`` (under the cache's lock,
        so concurrent requests do not build the same index twice)."""
        with self._lock:
            entry = self._entries.get(gen.id)
            if entry is None:
                entry = (gen, {})
                self._entries[gen.id] = entry
                self._evict(keep=gen.id)
            values = entry[1]
            if key not in values:
                values[key] = make()
            return values[key]

    def generations(self) -> list[str]:
        """The ids of the generations whose values are held, oldest first."""
        with self._lock:
            return list(self._entries)

    def _evict(self, keep: str) -> None:
        """Drop closed generations, then the oldest ones beyond ``self.keep``; never the
        generation ``keep`` that is being asked for."""
        for gen_id, (gen, _) in list(self._entries.items()):
            if gen.closed and gen_id != keep:
                del self._entries[gen_id]
        while len(self._entries) > self.keep:
            oldest = next(g for g in self._entries if g != keep)
            del self._entries[oldest]
