"""When to retry a failed call, and how long to wait: the whole policy in two functions."""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..errors import BackendError, named_wait

__all__ = ["RetryPolicy", "should_retry"]


def should_retry(exc: BaseException) -> bool:
    """429, 5xx that may pass (`reasoning.errors.retryable_status`: not a 501), timeouts, dropped connections and
    malformed bodies are worth another try; nothing else is."""
    return isinstance(exc, BackendError) and exc.retryable


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, floored by the server's `Retry-After`.

    Attempt `k` (1-based) waits `uniform(0, min(max_delay, initial_delay * 2**(k-1)))`; after any status that
    named a wait (a 429, or a 503 from a server that is loading: `Retry-After`, `retry-after-ms`), at least that
    wait, capped at `max_retry_after` so a hostile header cannot park a run for hours.
    """

    max_attempts: int = 5
    initial_delay: float = 0.5
    max_delay: float = 20.0
    max_retry_after: float = 60.0

    def delay(self, attempt: int, exc: BaseException | None, rng: random.Random | None = None) -> float:
        uniform = rng.uniform if rng is not None else random.uniform
        # 2.0 ** 1000 is past any max_delay yet finite: 2 ** 1024 and beyond (attempt 1025 of a policy that never
        # gives up) would not convert to a float, and the retry would end in an OverflowError.
        backoff = uniform(0.0, min(self.max_delay, self.initial_delay * 2.0 ** min(attempt - 1, 1000)))
        asked = named_wait(exc) if exc is not None else None
        if asked is not None:  # a negative wait loses to the backoff, +inf is capped
            return max(min(asked, self.max_retry_after), backoff)
        return backoff
