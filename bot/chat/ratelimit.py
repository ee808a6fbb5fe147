"""How many messages one chat session, and one client address, may send per minute.

A flood from one browser tab or script must not slow everybody else down or fill
the database. The limit is a sliding window of 60 seconds per key, kept in
memory: each Lotse process counts its own traffic, which is what protects it.

    >>> limits = RateLimiter(per_session=20, per_client=120)
    >>> limits.check("session-1", "203.0.113.7")   # raises RateLimited when over
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque

from kb.errors import Throttled

WINDOW_SECONDS = 60.0


class RateLimited(Throttled):
    """Too many messages in the last minute; ``retry_after`` says when to try again."""


class RateLimiter:
    """Sliding one-minute windows per session and per client address."""

    def __init__(self, per_session: int, per_client: int, clock=time.monotonic) -> None:
        self.limits = {"session": per_session, "client": per_client}
        self._clock = clock
        self._seen: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()
        self._swept = clock()

    def check(self, session_id: str | None, client: str | None = None) -> None:
        """Count one message, or raise ``RateLimited`` without counting it. A message that
        starts a conversation (``session_id`` None) counts for its client only."""
        now = self._clock()
        keys = ([("session", session_id)] if session_id else []) + \
            ([("client", client)] if client else [])
        with self._lock:
            if now - self._swept > WINDOW_SECONDS:
                self._sweep(now)
            windows = [self._window(key, now) for key in keys]
            for (kind, _), window in zip(keys, windows):
                if len(window) >= self.limits[kind]:
                    wait = max(1, math.ceil(window[0] + WINDOW_SECONDS - now))
                    raise RateLimited(
                        f"too many messages: at most {self.limits[kind]} per minute per {kind}; "
                        f"try again in {wait} s", retry_after=wait)
            for window in windows:
                window.append(now)

    def _window(self, key: tuple[str, str], now: float) -> deque[float]:
        window = self._seen.setdefault(key, deque())
        while window and now - window[0] >= WINDOW_SECONDS:
            window.popleft()
        return window

    def _sweep(self, now: float) -> None:
        """Forget keys that sent nothing for a minute, so memory stays bounded."""
        self._seen = {k: w for k, w in self._seen.items() if w and now - w[-1] < WINDOW_SECONDS}
        self._swept = now
