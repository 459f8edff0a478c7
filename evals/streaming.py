"""Running an eval's items as a stream: a bounded number in flight, items pulled lazily, each item's record on disk
as soon as it finishes, and nothing of a finished item kept in memory.

Every runner schedules its items through `run_stream`; what the process holds while it runs does not grow with the
number of items, except the resume set of finished keys the runner builds from the results file before it starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator
from typing import TypeVar

from reasoning.engine import Engine

__all__ = ["in_flight", "run_stream"]

T = TypeVar("T")


def in_flight(parallel: int, engine: Engine | None = None) -> int:
    """Items in flight at once: `parallel`, and at most twice the engine's call concurrency (more items than that
    would only queue for the engine's slots while holding their state in memory)."""
    limit = max(1, parallel)
    if engine is not None:
        limit = min(limit, 2 * max(1, engine.config.max_concurrency))
    return limit


async def run_stream(jobs: Iterable[T] | AsyncIterable[T], run: Callable[[T], Awaitable[None]], *, limit: int) -> None:
    """Await `run(job)` for every job, at most `limit` at a time. The next job is taken from `jobs` (an iterable or
    an async iterable) only when a slot is free, so a generator's items are made as they are needed. If a job fails
    the others are cancelled and the first error is raised (finished jobs' records are already on disk)."""
    slots = asyncio.Semaphore(limit)
    source: Iterator[T] | AsyncIterator[T] = aiter(jobs) if isinstance(jobs, AsyncIterable) else iter(jobs)

    def release(_: asyncio.Task[None]) -> None:
        slots.release()

    try:
        async with asyncio.TaskGroup() as group:
            while True:
                # A failing job cancels this wait (the group cancels its body), so no new job starts after it.
                await slots.acquire()
                try:
                    job = await anext(source) if isinstance(source, AsyncIterator) else next(source)
                except (StopIteration, StopAsyncIteration):
                    slots.release()
                    break
                task = group.create_task(_call(run, job))
                task.add_done_callback(release)
    except BaseExceptionGroup as failed:
        # Surface the first real error (the rest are usually the same failure seen by sibling items).
        raise failed.exceptions[0] from None


async def _call(run: Callable[[T], Awaitable[None]], job: T) -> None:
    await run(job)
