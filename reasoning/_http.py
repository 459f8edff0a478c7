"""Minimal HTTP/1.1 message reading and writing on asyncio streams (our server and the fault proxy).

Enough of HTTP for JSON APIs on loopback: Content-Length or chunked bodies, keep-alive, no TLS.
"""

from __future__ import annotations

import asyncio
import http

__all__ = ["BodyTooLarge", "read_message", "write_response"]


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
