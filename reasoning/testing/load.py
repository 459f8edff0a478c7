"""A load test of the engine: many requests at high concurrency to loopback OpenAI-compatible servers, counting
what the process holds before and after (tasks, sockets, file descriptors) and the engine's own overhead.

The servers run in a child process (`python -m reasoning.testing.load serve N`), so their sockets and CPU time
are not counted as the client's: stand-ins (`FaultProxy` answering on its own) by default, or with
`server="model"` our own server (`ModelServer`, Starlette on uvicorn) in front of a scripted model. Overhead is
the time a request spends in `Engine.generate` (and the endpoint pool) less the time its HTTP call took; under
load it includes waiting for the event loop, as a user's would.

    report = await run_load(requests=10_000, concurrency=500, servers=2)
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..backends.base import LanguageModel
from ..backends.openai_compat import OpenAICompatibleModel
from ..backends.pool import EndpointPool
from ..cli import Parser
from ..engine import Engine, EngineConfig
from ..serve import ModelServer
from ..types import GenerationRequest, GenerationResult
from .fault_proxy import FaultProxy
from .scripted import ScriptedModel

__all__ = ["LoadReport", "Resources", "ServerKind", "resources", "run_load", "stub_servers"]

ServerKind = Literal["stand-in", "model"]  # FaultProxy answering on its own, or ModelServer on a scripted model


@dataclass(frozen=True)
class Resources:
    """What this process holds: asyncio tasks, open sockets, open file descriptors (from /proc/self/fd)."""

    tasks: int
    sockets: int
    fds: int


def resources() -> Resources:
    gc.collect()
    fds = sockets = 0
    for entry in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):  # the directory's own descriptor is gone by now
            target = os.readlink(f"/proc/self/fd/{entry}")
            fds += 1
            sockets += target.startswith("socket:")
    try:
        tasks = len(asyncio.all_tasks())
    except RuntimeError:  # no event loop running
        tasks = 0
    return Resources(tasks=tasks, sockets=sockets, fds=fds)


@dataclass(frozen=True)
class LoadReport:
    requests: int
    concurrency: int
    servers: int
    succeeded: int
    failed: int
    seconds: float
    before: Resources
    peak_sockets: int
    after: Resources
    overhead_p50_ms: float
    overhead_p99_ms: float
    backend_p50_ms: float

    @property
    def leaked(self) -> Resources:
        return Resources(
            tasks=self.after.tasks - self.before.tasks,
            sockets=self.after.sockets - self.before.sockets,
            fds=self.after.fds - self.before.fds,
        )


class _Timed(LanguageModel):
    """Records how long each backend call took, by prompt."""

    def __init__(self, inner: LanguageModel, seconds: dict[str, float]) -> None:
        self.inner = inner
        self.name = inner.name
        self.seconds = seconds

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        started = time.perf_counter()
        try:
            return await self.inner.generate(request)
        finally:
            self.seconds[request.prompt or ""] = time.perf_counter() - started

    async def aclose(self) -> None:
        await self.inner.aclose()


@contextlib.asynccontextmanager
async def stub_servers(count: int, latency: float = 0.0, server: ServerKind = "stand-in") -> AsyncIterator[list[str]]:
    """Start `count` OpenAI-compatible servers of kind `server` in a child process; yield their `/v1` URLs."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "reasoning.testing.load", "serve", str(count), "--latency", str(latency),
        "--server", server, stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), timeout=60)
        urls = line.decode().split()
        if len(urls) != count:
            raise RuntimeError(f"stub servers did not start: {line!r}")
        yield [url + "/v1" for url in urls]
    finally:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        await proc.wait()


async def run_load(
    *,
    requests: int = 10_000,
    concurrency: int = 500,
    servers: int = 2,
    latency: float = 0.0,
    cache: str | Path | None = None,
    server: ServerKind = "stand-in",
) -> LoadReport:
    """`requests` distinct requests from `concurrency` concurrent callers through one `Engine`
    (`max_concurrency=concurrency`, a disk cache if `cache` is a path) over an `EndpointPool` of `servers`
    loopback servers of kind `server`."""
    async with stub_servers(servers, latency, server) as urls:
        before = resources()
        backend: dict[str, float] = {}
        pool = EndpointPool([_Timed(OpenAICompatibleModel("stub", base_url=url, timeout=120), backend) for url in urls])
        engine = Engine(pool, EngineConfig(max_concurrency=concurrency), cache=cache)
        total: dict[str, float] = {}
        peak = [0]

        outcomes: list[bool] = []
        numbers = iter(range(requests))

        async def worker() -> None:
            # `concurrency` callers each with one request outstanding: the engine's limit is never the queue, so
            # the time measured is the engine's own, not time spent waiting for a slot.
            for i in numbers:
                prompt = f"load request {i}"
                started = time.perf_counter()
                try:
                    await engine.generate(GenerationRequest(prompt=prompt, max_tokens=8))
                except Exception:
                    outcomes.append(False)
                    continue
                total[prompt] = time.perf_counter() - started
                outcomes.append(True)

        async def watch() -> None:
            while True:
                await asyncio.sleep(0.25)
                peak[0] = max(peak[0], resources().sockets)

        started = time.perf_counter()
        watcher = asyncio.ensure_future(watch())
        try:
            await asyncio.gather(*(worker() for _ in range(concurrency)))
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await engine.aclose()  # closes the HTTP clients, and the cache it opened from `cache`
        seconds = time.perf_counter() - started
        after = resources()
    overhead = sorted(total[p] - backend[p] for p in total)
    return LoadReport(
        requests=requests,
        concurrency=concurrency,
        servers=servers,
        succeeded=sum(outcomes),
        failed=requests - sum(outcomes),
        seconds=seconds,
        before=before,
        peak_sockets=peak[0],
        after=after,
        overhead_p50_ms=statistics.median(overhead) * 1e3,
        overhead_p99_ms=overhead[int(0.99 * (len(overhead) - 1))] * 1e3,
        backend_p50_ms=statistics.median(backend.values()) * 1e3,
    )


async def _serve(count: int, latency: float, server: ServerKind) -> None:
    if server == "model":
        model = ScriptedModel(lambda request, index: f"echo {request.prompt}", name="stub", delay=latency)
        servers = [await ModelServer(model).start() for _ in range(count)]
        urls = [s.url.removesuffix("/v1") for s in servers]
    else:
        proxies = [await FaultProxy(latency=latency).start() for _ in range(count)]
        urls = [p.url for p in proxies]
    print(" ".join(urls), flush=True)
    await asyncio.Event().wait()  # until terminated


def main(argv: list[str] | None = None) -> None:
    parser = Parser(prog="python -m reasoning.testing.load")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run stand-in servers until terminated; print their URLs")
    serve.add_argument("count", type=int)
    serve.add_argument("--latency", type=float, default=0.0)
    serve.add_argument("--server", choices=["stand-in", "model"], default="stand-in",
                       help="FaultProxy answering on its own, or our ModelServer on a scripted model")  # fmt: skip
    args = parser.parse(argv)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.count, args.latency, args.server))


if __name__ == "__main__":
    main()
