"""A small HTTP proxy on loopback that injects faults in front of an OpenAI-compatible server.

Without an upstream it is itself a stand-in OpenAI-compatible server (completions and chat completions), answering
from a `responder` function after a fixed `latency`: enough for load tests and benchmarks that must not wait on a
real model.

    async with FaultProxy(upstream="http://127.0.0.1:8080") as proxy:
        proxy.inject(Fault.http(429, retry_after=1), Fault.reset())
        model = OpenAICompatibleModel("m", base_url=proxy.url + "/v1")

Faults are consumed one per incoming request, in order; requests with no fault queued pass through untouched,
unless `inject_at_rate` set a standing rule (each such request then gets a fault with a seeded probability).
`outage(seconds, fault)` answers every request with one fault for a while (a server loading, naming its wait in
`Retry-After` as seconds or an HTTP date, or in `retry-after-ms`). `down()` and `up()` kill the endpoint mid-run
(listening socket and open connections) and bring it back on the same port. An upstream's answers are passed on
with the wait they name.
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import json
import math
import random
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from .raw_http import read_message as _read_message
from .raw_http import write_response as _write_response

__all__ = ["Fault", "FaultProxy", "ProxyEvent", "ProxyStats"]

RetryAfterForm = Literal["seconds", "date", "ms"]
# Headers of an upstream's answer that the proxy passes on: the wait it named.
_PASSED_ON = ("retry-after", "retry-after-ms")


@dataclass(frozen=True)
class Fault:
    """One fault for one request. Build with the class methods."""

    kind: str
    status: int = 200
    retry_after: float | None = None
    seconds: float = 0.0
    retry_after_as: RetryAfterForm = "seconds"

    @classmethod
    def http(
        cls, status: int, *, retry_after: float | None = None, retry_after_as: RetryAfterForm = "seconds"
    ) -> Fault:
        """Answer `status` at once, naming a wait of `retry_after` seconds if given; the upstream never sees the
        request. `retry_after_as` is the form servers use: `"seconds"` (`Retry-After: 1`, fractions written as
        given), `"date"` (`Retry-After` as an HTTP date, rounded up to the next whole second, so the wait is at
        least `retry_after`) or `"ms"` (OpenAI's `retry-after-ms: 1000`, alone)."""
        return cls("status", status=status, retry_after=retry_after, retry_after_as=retry_after_as)

    @classmethod
    def slow(cls, seconds: float) -> Fault:
        """Wait `seconds` before forwarding (past the client's timeout, the client gives up)."""
        return cls("slow", seconds=seconds)

    @classmethod
    def reset(cls) -> Fault:
        """Forward, then send the headers and half the body and reset the connection."""
        return cls("reset")

    @classmethod
    def malformed(cls) -> Fault:
        """Forward, then answer 200 with a body that is not valid JSON."""
        return cls("malformed")

    @classmethod
    def truncated(cls) -> Fault:
        """Forward, then answer 200 with the first half of the JSON body, its Content-Length matching the cut.

        Unlike `reset`, the HTTP exchange is complete and well-formed; only the JSON parser can notice."""
        return cls("truncated")

    @property
    def label(self) -> str:
        """A short name for stats and reports: `http 429 retry-after=1`, `slow 2s`, `reset`, ..."""
        if self.kind == "status":
            form = {"seconds": "", "date": " (date)", "ms": " (ms)"}[self.retry_after_as]
            after = f" retry-after={self.retry_after:g}{form}" if self.retry_after is not None else ""
            return f"http {self.status}{after}"
        if self.kind == "slow":
            return f"slow {self.seconds:g}s"
        return self.kind

    def headers(self, now: float | None = None) -> dict[str, str]:
        """The headers that name this fault's wait (none without `retry_after`); `now` is the Unix time a date
        counts from (default the clock)."""
        if self.retry_after is None:
            return {}
        if self.retry_after_as == "ms":
            return {"retry-after-ms": f"{self.retry_after * 1000:g}"}
        if self.retry_after_as == "date":
            when = math.ceil((time.time() if now is None else now) + self.retry_after)
            return {"Retry-After": email.utils.formatdate(when, usegmt=True)}
        return {"Retry-After": f"{self.retry_after:g}"}


@dataclass
class ProxyStats:
    requests: int = 0
    forwarded: int = 0
    faults: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    paths: list[str] = field(default_factory=list)
    injected: dict[str, int] = field(default_factory=dict)  # faults applied, by `Fault.label`
    outages: int = 0  # times `down()` took the endpoint away
    dropped: int = 0  # connections open when it went down, aborted


@dataclass
class ProxyEvent:
    """One request as the proxy saw it (kept only with `record=True`): monotonic times, the fault applied, and the
    status sent (`None` when no complete response went out: a reset, or the endpoint went down)."""

    start: float
    path: str
    body: bytes
    fault: str | None = None
    status: int | None = None
    end: float | None = None


Responder = Callable[[str, dict[str, Any]], dict[str, Any]]


def default_responder(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """An OpenAI-shaped answer with `n` choices, each text naming its index."""
    n = int(body.get("n") or 1)
    chat = path.endswith("/chat/completions")
    choices = []
    for i in range(n):
        text = f"stub reply {i}"
        choice: dict[str, Any] = {"index": i, "finish_reason": "stop"}
        if chat:
            choice["message"] = {"role": "assistant", "content": text}
        else:
            choice["text"] = text
        choices.append(choice)
    return {
        "id": "stub",
        "object": "chat.completion" if chat else "text_completion",
        "created": int(time.time()),
        "model": body.get("model", "stub"),
        "choices": choices,
        "usage": {"prompt_tokens": 5, "completion_tokens": 3 * n, "total_tokens": 5 + 3 * n},
    }


class FaultProxy:
    """See the module docstring. `url` is `http://127.0.0.1:PORT` once started."""

    def __init__(
        self,
        upstream: str | None = None,
        *,
        responder: Responder = default_responder,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        record: bool = False,
    ) -> None:
        self.upstream = urlsplit(upstream) if upstream else None
        self.responder = responder
        self.latency = latency
        self.host = host
        self.port = port
        self.stats = ProxyStats()
        self.events: list[ProxyEvent] = []
        self._record = record
        self._faults: list[Fault] = []
        self._outage: tuple[float, Fault | None] = (0.0, None)
        self._rate_faults: tuple[Fault, ...] = ()
        self._rate = 0.0
        self._rng = random.Random(0)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._idle = asyncio.Event()  # set while no request is being handled
        self._idle.set()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def inject(self, *faults: Fault) -> None:
        self._faults.extend(faults)

    def outage(self, seconds: float, fault: Fault) -> None:
        """For the next `seconds`, every request gets `fault` (before any queued one): a server that is loading or
        overloaded, e.g. `outage(2, Fault.http(503, retry_after=1))`. `seconds=0` ends it."""
        self._outage = (time.monotonic() + seconds, fault)

    def inject_at_rate(self, faults: Fault | tuple[Fault, ...], rate: float, *, seed: int = 0) -> None:
        """From now on, each request that finds no queued fault gets one with probability `rate` (one of `faults`,
        picked uniformly), drawn from a generator seeded with `seed`. `rate=0` turns the rule off.

        Retries are requests like any other, so a request can meet the fault again on its next attempt."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be in [0, 1], got {rate}")
        self._rate_faults = (faults,) if isinstance(faults, Fault) else tuple(faults)
        if rate and not self._rate_faults:
            raise ValueError("inject_at_rate needs at least one fault")
        self._rate = rate
        self._rng = random.Random(seed)

    @property
    def pending_faults(self) -> int:
        return len(self._faults)

    @property
    def is_up(self) -> bool:
        return self._server is not None

    async def wait_idle(self) -> None:
        """Wait until no request is being handled (a stalled one may still forward after its client gave up)."""
        await self._idle.wait()

    async def start(self) -> FaultProxy:
        # reuse_address: `up()` rebinds the port `down()` left, even with connections still in TIME_WAIT.
        self._server = await asyncio.start_server(self._serve, self.host, self.port, backlog=2048, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def down(self) -> None:
        """The endpoint dies: stop listening (new connections are refused) and abort every open connection, idle
        or mid-request, without a response. Requests the proxy was handling are cancelled; any already forwarded
        may still have reached the upstream, as when a real server dies mid-request."""
        if self._server is None:
            return
        self._server.close()
        self.stats.outages += 1
        for writer in list(self._writers):
            self.stats.dropped += 1
            # Closed at once, unsent data dropped, as the kernel closes a killed process's sockets.
            writer.transport.abort()
        for task in list(self._handlers):
            task.cancel()
        with contextlib.suppress(Exception):
            await self._server.wait_closed()
        self._server = None

    async def up(self) -> None:
        """The endpoint comes back on the same port (after `down()`; a no-op while up)."""
        if self._server is None:
            await self.start()

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._writers):
                writer.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> FaultProxy:
        return await self.start()

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            while True:  # keep-alive: many requests per connection
                request = await _read_message(reader, is_request=True)
                if request is None:
                    return
                start_line, headers, body = request
                method, path, _ = start_line.split(" ", 2)
                keep = await self._handle(method, path, headers, body, writer)
                if not keep:
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        except asyncio.CancelledError:
            return  # the proxy is stopping; a handler mid-fault just ends
        finally:
            self._writers.discard(writer)
            if task is not None:
                self._handlers.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    def _next_fault(self) -> Fault | None:
        until, fault = self._outage
        if fault is not None and time.monotonic() < until:
            return fault
        if self._faults:
            return self._faults.pop(0)
        if self._rate and self._rng.random() < self._rate:
            return self._rate_faults[self._rng.randrange(len(self._rate_faults))]
        return None

    async def _handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes, writer: asyncio.StreamWriter
    ) -> bool:
        stats = self.stats
        stats.requests += 1
        stats.paths.append(path)
        stats.in_flight += 1
        stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
        self._idle.clear()
        fault = self._next_fault()
        event = ProxyEvent(start=time.monotonic(), path=path, body=body, fault=fault.label if fault else None)
        if self._record:
            self.events.append(event)
        try:
            if fault is not None:
                stats.faults += 1
                stats.injected[fault.label] = stats.injected.get(fault.label, 0) + 1
            if fault is not None and fault.kind == "status":
                payload = json.dumps({"error": {"message": f"injected {fault.status}", "code": fault.status}})
                await _write_response(writer, fault.status, payload.encode(), fault.headers())
                event.status, event.end = fault.status, time.monotonic()
                return True
            if fault is not None and fault.kind == "slow":
                await asyncio.sleep(fault.seconds)
            status, content, passed = await self._answer(method, path, headers, body)
            if fault is not None and fault.kind == "reset":
                head = (
                    f"HTTP/1.1 {status} OK\r\nContent-Type: application/json\r\nContent-Length: {len(content)}\r\n\r\n"
                ).encode()
                writer.write(head + content[: len(content) // 2])
                await writer.drain()
                sock = writer.get_extra_info("socket")
                if sock is not None:
                    # Linger 0: close() then sends a TCP RST, a real "connection reset by peer", not a FIN.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                writer.transport.abort()
                event.end = time.monotonic()
                return False
            if fault is not None and fault.kind == "malformed":
                content = content[: max(1, len(content) // 3)] + b"\x00not json"
            if fault is not None and fault.kind == "truncated":
                content = content[: len(content) // 2]
            await _write_response(writer, status, content, passed)
            event.status, event.end = status, time.monotonic()
            return True
        finally:
            stats.in_flight -= 1
            if stats.in_flight == 0:
                self._idle.set()

    async def _answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        """Status, body, and the upstream's headers passed on (`Retry-After`, `retry-after-ms`)."""
        if self.latency:
            await asyncio.sleep(self.latency)
        if self.upstream is None:
            if path.endswith("/models"):
                return 200, json.dumps({"object": "list", "data": [{"id": "stub", "object": "model"}]}).encode(), {}
            parsed = json.loads(body or b"{}")
            return 200, json.dumps(self.responder(path, parsed)).encode(), {}
        self.stats.forwarded += 1
        return await _forward(
            self.upstream.hostname or "127.0.0.1", self.upstream.port or 80, method, path, headers, body
        )


async def _forward(
    host: str, port: int, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, bytes, dict[str, str]]:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        keep = {
            k: v
            for k, v in headers.items()
            if k not in ("connection", "host", "content-length", "transfer-encoding", "accept-encoding")
        }
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Connection: close",
            f"Content-Length: {len(body)}",
        ]
        lines += [f"{k}: {v}" for k, v in keep.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()
        message = await _read_message(reader, is_request=False)
        if message is None:
            raise ConnectionError("upstream closed the connection")
        start_line, answered, content = message
        passed = {k: v for k, v in answered.items() if k in _PASSED_ON}
        return int(start_line.split(" ")[1]), content, passed
    finally:
        writer.close()
