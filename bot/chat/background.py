"""The jobs `lotse serve` repeats in background threads: the webhook sender, the mailbox
poller and the ingest schedule share one loop.

    class Sender(Repeating):
        def _round(self) -> None: ...          # one round of the job
        def _pause(self) -> float: return 1.0  # seconds between two rounds
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class Repeating:
    """Runs ``_round`` in a daemon thread between ``start`` and ``stop``, ``_pause()`` seconds
    apart (after a first pause when ``wait_first``). A round that raises is logged and the
    next one comes anyway: a database hiccup or an unreachable server must not end the job.
    ``_stop`` is set once stopping begins, for rounds that check it between steps."""

    def __init__(self, name: str, join_seconds: float, wait_first: bool = False) -> None:
        self._name = name
        self._join_seconds = join_seconds
        self._wait_first = wait_first
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _round(self) -> None:
        raise NotImplementedError

    def _pause(self) -> float:
        raise NotImplementedError

    def _wanted(self) -> bool:
        """Whether there is anything to repeat (no thread otherwise)."""
        return True

    def start(self) -> None:
        if self._thread is None and self._wanted():
            self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self._join_seconds)

    def _loop(self) -> None:
        if self._wait_first and self._stop.wait(self._pause()):
            return
        while not self._stop.is_set():
            try:
                self._round()
            except Exception:
                log.exception("%s: one round failed", self._name)
            self._stop.wait(self._pause())
