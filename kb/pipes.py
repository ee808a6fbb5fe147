"""Framed pickle messages between Lotse and a child process it started.

The ingest's file loader and its embedding workers run as child processes
(``python -m ...``) that read requests on stdin and answer on stdout. A plain
subprocess, not a ``multiprocessing`` child, needs nothing from the caller's main
module, so a script without an ``if __name__ == "__main__"`` guard can ingest too.
A message is its length (8 bytes) and its pickle; both ends are Lotse's own code.

    >>> send(child.stdin, ("grouped", groups))
    >>> status, value = receive(child.stdout.fileno(), deadline=None)
"""

from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

_HEADER = struct.Struct("!Q")


def start(module: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
    """``python -m module args`` with pipes to and from it. The child imports Lotse
    from where this file is, installed or not."""
    root = str(Path(__file__).resolve().parents[1])
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
    # -P: the caller's working directory is not put on the path, so a file there that
    # shares a module's name cannot run inside the child
    return subprocess.Popen([sys.executable, "-P", "-m", module, *args], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE,
                            env={**os.environ, **(env or {}), "PYTHONPATH": path})


def stop(process: subprocess.Popen, grace: float) -> None:
    """Ends a child from :func:`start`: it exits at the end of its input, or is killed
    after ``grace`` seconds (0: at once); then its pipes are closed."""
    try:
        process.stdin.close()
    except OSError:  # it is gone already, with input unread
        pass
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    process.stdout.close()


def send(stream: BinaryIO, value: Any) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def receive(fd: int, deadline: float | None) -> Any:
    """The next message on ``fd``. TimeoutError when its first byte has not come by
    ``deadline`` (a ``time.monotonic()`` value; None waits), EOFError when the other
    side is gone."""
    size = _HEADER.unpack(_read_exactly(fd, _HEADER.size, deadline))[0]
    return pickle.loads(_read_exactly(fd, size, None))


def requests() -> Iterator[Any]:
    """In the child: the requests on stdin, until the parent closes it."""
    stream = sys.stdin.buffer
    while True:
        header = stream.read(_HEADER.size)
        if len(header) < _HEADER.size:
            return
        yield pickle.loads(stream.read(_HEADER.unpack(header)[0]))


def reply_stream() -> BinaryIO:
    """In the child: the channel back, its original stdout. Whatever the child prints
    from here on goes to stderr, so a library that prints cannot corrupt the replies."""
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    return replies


def _read_exactly(fd: int, n: int, deadline: float | None) -> bytes:
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
