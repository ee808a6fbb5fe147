"""Giving memory back to the operating system (glibc's allocator; elsewhere these do nothing).

glibc gives each thread that allocates its own arena, up to eight per core, and keeps what
is freed there for later. A re-ingest inside `lotse serve` allocates in several threads
(parser, embedding, writing), and a 6-minute check with two re-ingests under chat load
(2026-11-26) saw each one leave about 118 MB behind; with two arenas, 40–72 MB.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from functools import lru_cache

_M_ARENA_MAX = -8  # mallopt parameter, glibc's malloc.h


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def limit_arenas(arenas: int = 2) -> None:
    """At most ``arenas`` allocator arenas for the whole process; call it before threads start."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, arenas)


def release() -> None:
    """Hand memory that was freed back to the operating system (after an ingest)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
