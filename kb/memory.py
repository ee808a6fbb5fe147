"""Giving memory back to the operating system (glibc's allocator; elsewhere these do nothing).

glibc gives each thread that allocates its own arena, up to eight per core, and keeps what
is freed there for later. A re-ingest inside `lotse serve` allocates in several threads
(parser, embedding, writing), and a 6-minute check with two re-ingests under chat load
(2026-11-26) saw each one leave about 118 MB behind; with two arenas, 40–72 MB.

What stayed was glibc's sliding thresholds. A block of 128 kB or more is mapped on its own
and unmapped when freed, but each such block freed raises that threshold to its size (up
to 32 MB), and the heap is trimmed only when twice as much lies free at its top. Once one
chroma response of a few MB had come and gone, every later one of that size was carved
from the heap and left holes in it. A 10-minute check (2026-12-07; three processes, a
re-ingest every 90 s) saw the free memory inside the heaps grow from about 30 MB to
100–170 MB per process at its highest; with the thresholds fixed below it stayed under
25 MB.

Some of what an ingest frees is held in reference cycles, which wait for Python's
collection of its oldest objects; in a 5-minute check one process still held 48 MB of
them a minute after its ingest. ``release`` collects them first (about 0.1 s in a
serving process), then trims.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from functools import lru_cache

# mallopt parameters, glibc's malloc.h
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


@lru_cache(maxsize=1)
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    return libc if hasattr(libc, "mallopt") and hasattr(libc, "malloc_trim") else None


def tune_allocator(arenas: int = 2, mmap_threshold: int = 256 * 1024,
                   trim_threshold: int = 2 * 1024 * 1024) -> None:
    """At most ``arenas`` allocator arenas; blocks of ``mmap_threshold`` bytes or more
    mapped on their own, so freeing one gives it back; a heap trimmed when
    ``trim_threshold`` bytes lie free at its top. Setting a threshold also stops glibc
    from moving it. Call it before threads start."""
    libc = _libc()
    if libc is not None:
        libc.mallopt(_M_ARENA_MAX, arenas)
        libc.mallopt(_M_MMAP_THRESHOLD, mmap_threshold)
        libc.mallopt(_M_TRIM_THRESHOLD, trim_threshold)


def release() -> None:
    """Free what is only held in reference cycles and hand freed memory back to the
    operating system (after an ingest, or after a new generation's lexical index was read
    or built: both leave much garbage behind, once per publish)."""
    gc.collect()
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
