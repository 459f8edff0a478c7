"""`WorkerThread`: a cancelled call lets go of the model before its caller sees the cancellation, and `close` frees
the model on the thread only after every call in flight has returned (no model here: a loop of short sleeps)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from reasoning.backends.worker import WorkerThread
from reasoning.errors import BackendError


class Loop:
    """A stand-in for a decoding loop: `steps` steps of `step` seconds, a checkpoint before each; records what ran."""

    def __init__(self, worker: WorkerThread) -> None:
        self.worker = worker
        self.running = threading.Event()
        self.steps_done = 0
        self.inside = False  # True while a step runs (what a freed context must never see)
        self.events: list[str] = []

    def __call__(self, steps: int, step: float = 0.01) -> int:
        self.running.set()
        for _ in range(steps):
            self.worker.checkpoint()
            self.inside = True
            time.sleep(step)
            self.inside = False
            self.steps_done += 1
        self.events.append("returned")
        return self.steps_done

    def release(self) -> None:
        assert not self.inside, "released while a step ran"
        self.events.append(f"released on {threading.current_thread().name}")


async def started(loop: Loop) -> None:
    assert await asyncio.to_thread(loop.running.wait, 10)  # set on the worker thread


async def test_a_call_returns_its_result_and_raises_its_errors():
    worker = WorkerThread("m")
    loop = Loop(worker)
    assert await worker.run(loop, 3, 0) == 3

    def fails() -> None:
        raise ValueError("bad request")

    with pytest.raises(ValueError, match="bad request"):
        await worker.run(fails)
    await worker.close()


async def test_a_cancelled_call_stops_at_its_next_checkpoint_before_the_caller_sees_the_cancellation():
    worker = WorkerThread("m")
    loop = Loop(worker)
    task = asyncio.create_task(worker.run(loop, 10_000))
    await started(loop)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    stopped_at = loop.steps_done
    assert not loop.inside and stopped_at < 10_000
    await asyncio.sleep(0.05)
    assert loop.steps_done == stopped_at  # nothing ran after the caller was told
    assert await worker.run(loop, 2, 0) == stopped_at + 2  # the thread serves the next call
    await worker.close()


async def test_a_queued_call_whose_caller_is_cancelled_never_starts():
    worker = WorkerThread("m")
    first, second = Loop(worker), Loop(worker)
    running = asyncio.create_task(worker.run(first, 30))
    queued = asyncio.create_task(worker.run(second, 30))
    await started(first)
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    assert await running == 30
    assert not second.running.is_set()
    await worker.close()


async def test_close_waits_for_the_call_in_flight_then_releases_on_the_thread():
    worker = WorkerThread("m")
    loop = Loop(worker)
    task = asyncio.create_task(worker.run(loop, 10_000))
    await started(loop)
    await worker.close(loop.release)
    assert loop.events[-1].startswith("released on reasoning-model")
    assert loop.steps_done < 10_000  # abandoned, not run to the end
    with pytest.raises(BackendError, match="closed during the call"):
        await task
    with pytest.raises(BackendError, match="the model is closed"):
        await worker.run(loop, 1)
    await worker.close(loop.release)  # a second close: nothing more to do
    assert sum(e.startswith("released") for e in loop.events) == 1


async def test_close_after_a_cancelled_caller_has_nothing_left_to_wait_for():
    # The path Ctrl-C takes: the engine cancels the calls it shields, then closes the model.
    worker = WorkerThread("m")
    loop = Loop(worker)
    task = asyncio.create_task(worker.run(loop, 10_000))
    await started(loop)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await worker.close(loop.release)
    assert len(loop.events) == 1 and loop.events[0].startswith("released")  # the abandoned call never returned


async def test_a_cancelled_close_still_releases_after_the_call_in_flight():
    worker = WorkerThread("m")
    loop = Loop(worker)
    calls = asyncio.create_task(worker.run(loop, 10_000, 0.02))
    await started(loop)
    closing = asyncio.create_task(worker.close(loop.release))
    await asyncio.sleep(0)
    closing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await closing
    assert loop.events and loop.events[-1].startswith("released")  # done before the cancellation was raised
    await asyncio.gather(calls, return_exceptions=True)
