"""Loading files in a child process, with a time and a memory limit per file.

Parsers for PDF, DOCX, HTML and YAML can loop or swell on a damaged or
malicious file (a DOCX whose XML inflates to gigabytes, a pathological HTML
tree). One such file must not hang or kill an ingest, let alone the server it
runs in. So ``load_file`` runs in a worker process (``python -m
ingest.isolation``); a file that takes longer than
``ingest.file_timeout_seconds`` gets its worker killed and a ``LoaderError``
that says so, and the next file gets a new worker.

The worker is a plain subprocess rather than a ``multiprocessing`` child: that
needs nothing from the caller's main module, so a script without an
``if __name__ == "__main__"`` guard can ingest too.

    >>> with IsolatedLoader(timeout=30, memory_mb=2048) as loader:
    ...     loaded = loader.load(path, "faq/versand.csv", "public", False, max_bytes)
"""

from __future__ import annotations

import os
import pickle
import resource
import select
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO

from kb.errors import LoaderError, LotseError

_HEADER = struct.Struct("!Q")


def _send(stream: BinaryIO, value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _read_exactly(fd: int, n: int, deadline: float | None) -> bytes:
    """``n`` bytes from ``fd``; TimeoutError past ``deadline``, EOFError when the worker died."""
    chunks, left = [], n
    # poll, not select: select() fails for descriptors above 1023, which a long-running
    # server with many connections reaches.
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    while left:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not poller.poll(None if wait is None else int(wait * 1000)):
            raise TimeoutError
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _serve(memory_bytes: int) -> None:
    """The worker: load what arrives on stdin, answer on the original stdout."""
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # a parser that prints must not corrupt the replies
    from ingest.loaders import load_file

    requests = sys.stdin.buffer
    while True:
        header = requests.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        args = pickle.loads(requests.read(_HEADER.unpack(header)[0]))
        try:
            reply: tuple[str, Any] = ("ok", load_file(*args))
        except LotseError as exc:
            reply = ("error", str(exc))
        except MemoryError:
            reply = ("error", "reading it needs more memory than the limit "
                              "(ingest.file_memory_mb); is the file damaged or a bomb?")
        except Exception as exc:  # a parser bug is one file's problem, not the batch's
            reply = ("error", f"unreadable ({exc.__class__.__name__}: {str(exc)[:200]})")
        _send(replies, reply)


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
            _send(self._process.stdin, (Path(path), source, default_audience, force_internal,
                                        max_bytes, web))
            fd = self._process.stdout.fileno()
            size = _HEADER.unpack(_read_exactly(fd, _HEADER.size, deadline))[0]
            status, value = pickle.loads(_read_exactly(fd, size, None))
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
        # The worker imports this package from where this file is, installed or not.
        root = str(Path(__file__).resolve().parents[1])
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
        self._process = subprocess.Popen(
            [sys.executable, "-m", "ingest.isolation", str(self.memory_mb)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env={**os.environ, "PYTHONPATH": path})

    def _stop(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(5)
            for stream in (self._process.stdin, self._process.stdout):
                if stream:
                    stream.close()
        self._process = None

    def close(self) -> None:
        if self._process is not None and self._process.poll() is None and self._process.stdin:
            self._process.stdin.close()  # the worker ends at end of input
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                pass
        self._stop()

    def __enter__(self) -> "IsolatedLoader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


if __name__ == "__main__":
    _serve(int(sys.argv[1]) * 2**20)
