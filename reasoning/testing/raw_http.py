"""Minimal HTTP/1.1 message reading and writing on asyncio streams, for the fault proxy and the test stand-ins
that need raw sockets (a fault that cuts a response in half, resets a connection, or sends bytes no web framework
would). Our server (`reasoning.serve`) parses no HTTP itself: it runs on Starlette and uvicorn.

Enough of HTTP for JSON APIs on loopback: Content-Length or chunked bodies, keep-alive, no TLS.
"""

from __future__ import annotations

import asyncio
import http

__all__ = ["read_message", "write_response"]


async def read_message(reader: asyncio.StreamReader, *, is_request: bool) -> tuple[str, dict[str, str], bytes] | None:
    """One message (start line, lower-cased headers, body), or None when the peer closed between messages.

    Raises `asyncio.IncompleteReadError` when the peer closes mid-message, `ValueError` on a malformed chunk size."""
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
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    elif "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif is_request:
        body = b""
    else:
        body = await reader.read()
    return lines[0], headers, body


async def write_response(
    writer: asyncio.StreamWriter, status: int, content: bytes, extra: dict[str, str] | None = None
) -> None:
    """A JSON response: `status`, `content` (bytes of JSON) and the `extra` headers."""
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Unknown"
    lines = [f"HTTP/1.1 {status} {phrase}", "Content-Type: application/json", f"Content-Length: {len(content)}"]
    lines += [f"{k}: {v}" for k, v in (extra or {}).items()]
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + content)
    await writer.drain()
