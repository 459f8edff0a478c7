"""`Retry-After`, read and written: the one reading of a server's wait that every client path uses, and the headers
our server sends to name one. (Raw HTTP message reading and writing, for the fault proxy and test stand-ins, is
`reasoning.testing.raw_http`.)
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping
from datetime import UTC

__all__ = ["parse_retry_after", "retry_after_headers"]


def parse_retry_after(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    """Seconds a server asked us to wait, or None when it named no usable wait.

    Read from `retry-after-ms` (milliseconds, OpenAI's form) when present and valid, else `Retry-After` in seconds
    or as an HTTP date (relative to `now`, a Unix time, default the clock; a date in the past means 0). Any status
    may carry it: a 429, or a 503 from a server that is loading or overloaded. Negative, non-finite or unparseable
    values are ignored (None); large ones are returned as they are, for the caller to cap.
    """
    if not headers:
        return None
    lowered = {k.lower(): v for k, v in headers.items()}
    millis = _seconds(lowered.get("retry-after-ms"))
    if millis is not None:
        return millis / 1000.0
    value = lowered.get("retry-after")
    if value is None:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # "-0000": UTC, by RFC 5322
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _seconds(value: str | None) -> float | None:
    """A non-negative finite number, or None."""
    if value is None:
        return None
    try:
        number = float(value.strip())
    except ValueError:
        return None
    return number if math.isfinite(number) and number >= 0 else None


def retry_after_headers(seconds: float | None) -> dict[str, str]:
    """The headers that ask a client to wait `seconds`: `Retry-After` in whole seconds (rounded up: HTTP allows
    no fraction, and strict clients reject one) and `retry-after-ms` for the exact wait. Empty for None."""
    if seconds is None or not math.isfinite(seconds) or seconds < 0:
        return {}
    return {"Retry-After": str(math.ceil(seconds)), "retry-after-ms": str(round(seconds * 1000))}
