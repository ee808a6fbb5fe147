"""Loading files in a child process, with a time and a memory limit per file.

Parsers for PDF, DOCX, HTML and YAML can loop or swell on a damaged or
malicious file (a DOCX whose XML inflates to gigabytes, a pathological HTML
tree). One such file must not hang or kill an ingest, let alone the server it
runs in. So ``load_file`` runs in a worker process (``python -m
ingest.isolation``); a file that takes longer than
``ingest.file_timeout_seconds`` gets its worker killed and a ``LoaderError``
that says so, and the next file gets a new worker.

The worker is a plain subprocess (:mod:`kb.pipes`), not a ``multiprocessing`` child.

    >>> with IsolatedLoader(timeout=30, memory_mb=2048) as loader:
    ...     loaded = loader.load(path, "faq/versand.csv", "public", False, max_bytes)
"""

from __future__ import annotations

import pickle
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from kb import pipes
from kb.errors import LoaderError, LotseError


def _serve(memory_bytes: int) -> None:
    """The worker: load what arrives on stdin, answer on the original stdout."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    replies = pipes.reply_stream()
    from ingest.loaders import load_file

    for args in pipes.requests():
        try:
            reply: tuple[str, Any] = ("ok", load_file(*args))
        except LotseError as exc:
            reply = ("error", str(exc))
        except MemoryError:
            reply = ("error", "reading it needs more memory than the limit "
                              "(ingest.file_memory_mb); is the file damaged or a bomb?")
        except Exception as exc:  # a parser bug is one file's problem, not the batch's
            reply = ("error", f"unreadable ({exc.__class__.__name__}: {str(exc)[:200]})")
        pipes.send(replies, reply)


class IsolatedLoader:
    """``load_file`` in a killable worker process; one worker serves many files."""

    def __init__(self, timeout: float, memory_mb: int) -> None:
        self.timeout = timeout
        self.memory_mb = memory_mb
        self._process: subprocess.Popen | None = None

    def load(self, path: Path, source: str, default_audience: str, force_internal: bool,
             max_bytes: int, web: bool = False):
        """What ``ingest.loaders.load_file`` returns, or ``LoaderError`` with the reason."""
        if self._process is None or self._process.poll() is not None:
            self._start()
        assert self._process is not None and self._process.stdin and self._process.stdout
        deadline = time.monotonic() + self.timeout
        try:
            pipes.send(self._process.stdin, (Path(path), source, default_audience, force_internal,
                                             max_bytes, web))
            status, value = pipes.receive(self._process.stdout.fileno(), deadline)
        except TimeoutError:
            self._stop()
            raise LoaderError(f"reading took longer than {self.timeout:g} s "
                              "(ingest.file_timeout_seconds); is the file damaged?") from None
        except (EOFError, OSError, pickle.UnpicklingError):
            self._stop()
            raise LoaderError("the reader crashed on this file; is it damaged?") from None
        if status == "error":
            raise LoaderError(value)
        return value

    def _start(self) -> None:
        self._process = pipes.start("ingest.isolation", str(self.memory_mb))

    def _stop(self) -> None:
        if self._process is not None:
            pipes.stop(self._process, 0)
        self._process = None

    def close(self) -> None:
        if self._process is not None:
            pipes.stop(self._process, 5)  # the worker ends at end of input
        self._process = None

    def __enter__(self) -> "IsolatedLoader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    _serve(int(sys.argv[1]) * 2**20)
