"""Minimal HTTP/1.1 message reading and writing on asyncio streams (our server and the fault proxy), and the one
reading of a server's `Retry-After` that every client path uses.

Enough of HTTP for JSON APIs on loopback: Content-Length or chunked bodies, keep-alive, no TLS.
"""

from __future__ import annotations

import asyncio
import email.utils
import http
import math
import time
from collections.abc import Mapping
from datetime import UTC

__all__ = ["BodyTooLarge", "parse_retry_after", "read_message", "retry_after_headers", "write_response"]


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


class BodyTooLarge(ValueError):
    """A request declared a body larger than the server accepts."""


async def read_message(
    reader: asyncio.StreamReader, *, is_request: bool, max_body: int | None = None
) -> tuple[str, dict[str, str], bytes] | None:
    """One message (start line, lower-cased headers, body), or None when the peer closed between messages."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        if not exc.partial:
            return None
        raise
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            if max_body is not None and len(body) + size > max_body:
                raise BodyTooLarge(f"body over {max_body} bytes")
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if max_body is not None and length > max_body:
            raise BodyTooLarge(f"body over {max_body} bytes")
        body = await reader.readexactly(length)
    elif is_request:
        body = b""
    else:
        body = await reader.read()
    return lines[0], headers, body


async def write_response(
    writer: asyncio.StreamWriter, status: int, content: bytes, extra: dict[str, str] | None = None
) -> None:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    lines = [f"HTTP/1.1 {status} {phrase}", "Content-Type: application/json", f"Content-Length: {len(content)}"]
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + content)
    await writer.drain()
