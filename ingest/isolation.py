"""Loading files in a child process, with a time and a memory limit per file.

Parsers for PDF, DOCX, HTML and YAML can loop or swell on a damaged or
malicious file (a "billion laughs" YAML, a DOCX whose XML inflates to gigabytes).
One such file must not hang or kill an ingest, let alone the server it runs
in. So ``load_file`` runs in a worker process started from a clean forkserver;
a file that takes longer than ``ingest.file_timeout_seconds`` gets its worker
killed and a ``LoaderError`` that says so, and the next file gets a new worker.

    >>> with IsolatedLoader(timeout=30, memory_mb=2048) as loader:
    ...     loaded = loader.load(path, "faq/versand.csv", "public", False, max_bytes)
"""

from __future__ import annotations

import multiprocessing as mp
import resource
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from ingest.loaders import Loaded, load_file
from kb.errors import LoaderError, LotseError


def _serve(conn: Connection, memory_bytes: int) -> None:
    """The worker: load what it is sent until the pipe closes."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    while True:
        try:
            args = conn.recv()
        except EOFError:
            return
        try:
            conn.send(("ok", load_file(*args)))
        except LotseError as exc:
            conn.send(("error", str(exc)))
        except MemoryError:
            conn.send(("error", "reading it needs more memory than the limit "
                                "(ingest.file_memory_mb); is the file damaged or a bomb?"))
        except Exception as exc:  # a parser bug is one file's problem, not the batch's
            conn.send(("error", f"unreadable ({exc.__class__.__name__}: {str(exc)[:200]})"))


class IsolatedLoader:
    """``load_file`` in a killable worker process; one worker serves many files."""

    def __init__(self, timeout: float, memory_mb: int) -> None:
        self.timeout = timeout
        self.memory_bytes = memory_mb * 2**20
        self._context = mp.get_context("forkserver")
        self._context.set_forkserver_preload(["ingest.loaders"])
        self._process: Any = None
        self._conn: Connection | None = None

    def load(self, path: Path, source: str, default_audience: str, force_internal: bool,
             max_bytes: int) -> Loaded:
        if self._process is None or not self._process.is_alive():
            self._start()
        assert self._conn is not None
        self._conn.send((path, source, default_audience, force_internal, max_bytes))
        if not self._conn.poll(self.timeout):
            self._stop()
            raise LoaderError(f"reading took longer than {self.timeout:g} s "
                              "(ingest.file_timeout_seconds); is the file damaged?")
        try:
            status, value = self._conn.recv()
        except (EOFError, ConnectionError):
            self._stop()
            raise LoaderError("the reader crashed on this file; is it damaged?") from None
        if status == "error":
            raise LoaderError(value)
        return value

    def _start(self) -> None:
        parent, child = self._context.Pipe()
        self._process = self._context.Process(target=_serve, args=(child, self.memory_bytes),
                                              daemon=True)
        self._process.start()
        child.close()
        self._conn = parent

    def _stop(self) -> None:
        if self._conn is not None:
            self._conn.close()
        if self._process is not None:
            self._process.kill()
            self._process.join(5)
        self._process = self._conn = None

    def close(self) -> None:
        self._stop()

    def __enter__(self) -> "IsolatedLoader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
