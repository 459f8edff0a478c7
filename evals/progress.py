"""The status line every eval prints while it runs: a tqdm bar on a terminal, one plain line per update in a log."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import IO, Generic, TypeVar

from tqdm import tqdm

from reasoning._words import counted

__all__ = ["StatusLine"]

R = TypeVar("R")  # a record
T = TypeVar("T")  # a job


def _sized_terminal(stream: IO[str]) -> bool:
    """A terminal that says how wide it is. One that reports 0 columns (`script`'s pseudo-terminal, some
    `docker exec -t` sessions) gets the plain lines: tqdm would draw its bar in no columns, that is, nothing."""
    if not stream.isatty():
        return False
    try:
        return os.get_terminal_size(stream.fileno()).columns > 0
    except (OSError, ValueError, io.UnsupportedOperation):  # a stand-in stream with no descriptor: take its word
        return True


class StatusLine(Generic[R]):
    """On a terminal, a tqdm bar: items done of the total, elapsed time, ETA and rate (of this run's items, not the
    resumed ones), then the counts (`fields`) and what is in flight, redrawn in place. Otherwise (logs, CI) one line
    per update: `[####....] done/total (R resumed)<fields> | in flight I (C calls, A answered) | seconds`.

    Subclasses count what a record holds (`count`, which adds one to `done`) and say it in `fields`. A runner's job
    returns its record to `track`, which counts it (`update`) once the item has left the in-flight count. Records
    already in the results file are counted too (`resume`), so the line describes the whole run, not this process's
    share. While a run is `live` the line is written at once (before any item finishes) and again whenever it has
    not been for `period` seconds (2 on a terminal, 30 in a log), with the items and model calls in flight."""

    def __init__(self, total: int, stream: IO[str] | None = None, *, period: float | None = None) -> None:
        self.total = total
        self.stream = stream or sys.stderr
        self.tty = _sized_terminal(self.stream)
        self.period = period if period is not None else (2.0 if self.tty else 30.0)
        self.started = self.written = time.perf_counter()
        self.done = self.resumed = self.in_flight = 0
        self.calls: Callable[[], int] | None = None  # model calls in flight, where the runner can tell
        self.answered: Callable[[], int] | None = None  # model calls answered so far in this process, likewise
        self.bar: tqdm | None = None  # on a terminal, from the first `show`

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

    def in_flight_text(self) -> str:
        """`in flight I (C calls, A answered)`: the calls in flight and those answered so far by this process, where
        the runner can tell (a tree search's puzzle makes dozens of calls before its record counts any)."""
        calls = [counted(self.calls(), "call")] if self.calls is not None else []
        calls += [f"{self.answered()} answered"] if self.answered is not None else []
        return f"in flight {self.in_flight}" + (f" ({', '.join(calls)})" if calls else "")

    def show(self) -> None:
        """Write the counts: redraw the bar on a terminal, else write one line."""
        if self.tty:
            self._draw()
        else:
            width = 24
            filled = int(width * self.done / max(1, self.total))
            bar = "#" * filled + "." * (width - filled)
            resumed = f" ({self.resumed} resumed)" if self.resumed else ""
            self.stream.write(f"[{bar}] {self.done}/{self.total}{resumed}{self.fields()} | {self.in_flight_text()} | "
                              f"{time.perf_counter() - self.started:6.1f}s\n")  # fmt: skip
            self.stream.flush()
        self.written = time.perf_counter()

    def _draw(self) -> None:
        parts = [f"{self.resumed} resumed" if self.resumed else "", self.fields().lstrip(" |"), self.in_flight_text()]
        postfix = " | ".join(p for p in parts if p)
        if self.bar is None:  # drawn at once; `initial`: the resumed items are not counted in the rate
            self.bar = tqdm(total=self.total, initial=self.done, file=self.stream, dynamic_ncols=True, unit="item",
                            postfix=postfix)  # fmt: skip
            return
        self.bar.set_postfix_str(postfix, refresh=False)
        if self.done > self.bar.n:
            self.bar.update(self.done - self.bar.n)  # redrawn at most every 0.1 s (tqdm's `mininterval`)
        else:
            self.bar.refresh()  # a tick: elapsed, ETA and what is in flight move on

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()  # drawn once more with the last counts, and left on the screen

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
    async def live(self, calls: Callable[[], int] | None = None,
                   answered: Callable[[], int] | None = None) -> AsyncIterator[None]:  # fmt: skip
        """Show the line now and keep it alive while the body runs (`calls`: model calls in flight, `answered`:
        those answered so far); close it."""
        self.calls, self.answered = calls, answered
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
