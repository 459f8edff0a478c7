"""Requests-per-minute and tokens-per-minute limits over a sliding 60-second window."""

from __future__ import annotations

import asyncio
import collections
import time

__all__ = ["RateLimiter"]


class RateLimiter:
    """Admits at most `per_minute` units (requests or tokens) in any 60-second window.

    Waiters are served in arrival order: a lock makes the earliest caller wait for room before later ones look.
    A single acquisition larger than the limit is admitted alone in an empty window, rather than never.
    """

    def __init__(self, per_minute: float, *, window: float = 60.0) -> None:
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.per_minute = per_minute
        self.window = window
        self._events: collections.deque[tuple[float, float]] = collections.deque()
        self._used = 0.0
        self._lock = asyncio.Lock()

    def _expire(self, now: float) -> None:
        while self._events and now - self._events[0][0] >= self.window:
            _, amount = self._events.popleft()
            self._used -= amount

    async def acquire(self, amount: float = 1.0) -> None:
        async with self._lock:
            while True:
                now = time.monotonic()
                self._expire(now)
                if self._used + amount <= self.per_minute or not self._events:
                    self._events.append((now, amount))
                    self._used += amount
                    return
                # Sleep until the oldest event leaves the window, then look again.
                await asyncio.sleep(self.window - (now - self._events[0][0]) + 1e-3)
