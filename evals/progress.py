"""The status line every eval prints while it runs."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import IO, Generic, TypeVar

from reasoning._words import counted

__all__ = ["StatusLine"]

R = TypeVar("R")  # a record
T = TypeVar("T")  # a job


class StatusLine(Generic[R]):
    """`[####....] done/total (R resumed)<fields> | in flight I (C calls) | seconds`: rewritten in place on a
    terminal, one line per update otherwise (logs, CI).

    Subclasses count what a record holds (`count`, which adds one to `done`) and say it in `fields`. A runner's job
    returns its record to `track`, which counts it (`update`) once the item has left the in-flight count. Records
    already in the results file are counted too (`resume`), so the line describes the whole run, not this process's
    share. While a run is `live` the line is written at once (before any item finishes) and again whenever it has
    not been for `period` seconds (2 on a terminal, 30 in a log), with the items and model calls in flight."""

    def __init__(self, total: int, stream: IO[str] | None = None, *, period: float | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.period = period if period is not None else (2.0 if self.tty else 30.0)
        self.started = self.written = time.perf_counter()
        self.done = self.resumed = self.in_flight = 0
        self.calls: Callable[[], int] | None = None  # model calls in flight, where the runner can tell

    def count(self, record: R) -> None:
        """Count one finished record (subclasses add what it holds)."""
        self.done += 1

    def fields(self) -> str:
        """What the counts say, after `done/total`."""
        return ""

    def resume(self, record: R) -> None:
        """Count a record an earlier run wrote."""
        self.count(record)
        self.resumed += 1

    def update(self, record: R) -> None:
        """Count a record this run finished, and show the line."""
        self.count(record)
        self.show()

    def show(self) -> None:
        width = 24
        filled = int(width * self.done / max(1, self.total))
        bar = "#" * filled + "." * (width - filled)
        resumed = f" ({self.resumed} resumed)" if self.resumed else ""
        calls = f" ({counted(self.calls(), 'call')})" if self.calls is not None else ""
        line = (f"[{bar}] {self.done}/{self.total}{resumed}{self.fields()} | in flight {self.in_flight}{calls} | "
                f"{time.perf_counter() - self.started:6.1f}s")  # fmt: skip
        self.stream.write(("\r" + line) if self.tty else (line + "\n"))
        self.stream.flush()
        self.written = time.perf_counter()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")

    def track(self, run: Callable[[T], Awaitable[R | None]]) -> Callable[[T], Awaitable[None]]:
        """`run`, counting the items in flight; the record it returns (if any) is counted and shown once the item
        is no longer in flight, so the line after the last item says "in flight 0"."""

        async def tracked(job: T) -> None:
            self.in_flight += 1
            try:
                record = await run(job)
            finally:
                self.in_flight -= 1
            if record is not None:
                self.update(record)

        return tracked

    @contextlib.asynccontextmanager
    async def live(self, calls: Callable[[], int] | None = None) -> AsyncIterator[None]:
        """Show the line now and keep it alive while the body runs (`calls`: model calls in flight); close it."""
        self.calls = calls
        self.show()
        ticker = asyncio.create_task(self._tick())
        try:
            yield
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
            self.close()

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(max(0.0, self.written + self.period - time.perf_counter()))
            if time.perf_counter() - self.written >= self.period:
                self.show()
