"""How many messages one chat session, and one client address, may send per minute.

A flood from one browser tab or script must not slow everybody else down or fill
the database. The limit is a sliding window of 60 seconds per key. With a state
store the windows live in its database (``StateStore.take_slot``), so N Lotse
processes behind one address still allow 20 messages a minute, not N × 20;
without one they are kept in this process's memory.

The windows count rate units, not requests: a message costs one unit per started
``server.rate_unit_chars`` characters it brings (``units_of``), since the work of
answering and storing it grows with its length. A request never costs more than a
whole window, so the longest message is still answered when it comes alone.

    >>> limits = RateLimiter(per_session=20, per_client=120, state=state)
    >>> limits.check("session-1", "203.0.113.7")   # raises RateLimited when over
    >>> limits.check("session-1", "203.0.113.7", units=units_of(4000, 2000))   # counts 2
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import TYPE_CHECKING

from kb.errors import Throttled

if TYPE_CHECKING:
    from bot.chat.state import StateStore

WINDOW_SECONDS = 60.0


def units_of(chars: int, unit_chars: int) -> int:
    """The rate units of a request that brings ``chars`` characters: one per started
    ``unit_chars``, at least one."""
    return max(1, -(-chars // unit_chars))


class RateLimited(Throttled):
    """Too many messages in the last minute; ``retry_after`` says when to try again."""


class RateLimiter:
    """Sliding one-minute windows per session and per client address, shared through
    ``state`` when given."""

    def __init__(self, per_session: int, per_client: int, clock=None,
                 state: StateStore | None = None) -> None:
        self.limits = {"session": per_session, "client": per_client}
        self.state = state
        # Shared windows are compared across processes, so they need the wall clock.
        clock = clock or (time.time if state is not None else time.monotonic)
        self._clock = clock
        self._seen: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()
        self._swept = clock()

    def check(self, session_id: str | None, client: str | None = None, units: int = 1) -> None:
        """Count a message of ``units`` rate units, or raise ``RateLimited`` without counting
        it. A message that starts a conversation (``session_id`` None) counts for its client
        only."""
        now = self._clock()
        keys = ([("session", session_id)] if session_id else []) + \
            ([("client", client)] if client else [])
        if self.state is not None:
            full = self.state.take_slot([(f"{kind}:{key}", self.limits[kind])
                                         for kind, key in keys], WINDOW_SECONDS, now, units)
            if full is not None:
                kind = full[0].split(":", 1)[0]
                self._refuse(kind, full[1] - now)
            return
        with self._lock:
            if now - self._swept > WINDOW_SECONDS:
                self._sweep(now)
            windows = [self._window(key, now) for key in keys]
            costs = [min(units, self.limits[kind]) for kind, _ in keys]
            for (kind, _), window, cost in zip(keys, windows, costs):
                over = len(window) + cost - self.limits[kind]
                if over > 0:  # free again when the oldest ``over`` units have left the window
                    self._refuse(kind, window[over - 1] + WINDOW_SECONDS - now)
            for window, cost in zip(windows, costs):
                window.extend([now] * cost)

    def _refuse(self, kind: str, seconds: float) -> None:
        wait = max(1, math.ceil(seconds))
        raise RateLimited(f"too many messages: at most {self.limits[kind]} per minute per {kind}; "
                          f"try again in {wait} s", retry_after=wait)

    def _window(self, key: tuple[str, str], now: float) -> deque[float]:
        window = self._seen.setdefault(key, deque())
        while window and now - window[0] >= WINDOW_SECONDS:
            window.popleft()
        return window

    def _sweep(self, now: float) -> None:
        """Forget keys that sent nothing for a minute, so memory stays bounded."""
        self._seen = {k: w for k, w in self._seen.items() if w and now - w[-1] < WINDOW_SECONDS}
        self._swept = now
