"""The worker thread of an in-process model (llama.cpp, torch): where its blocking calls run, one at a time.

A model's memory is used by that thread and freed by that thread, after the last call before the close has let go
of it, so no call is ever left decoding into a freed context (what a Ctrl-C during a run used to end in: a
segfault). A call whose caller is cancelled is abandoned at its next `checkpoint` (between two forwards), and the
cancelled caller returns only once the thread has let go. A streaming call (`stream`) hands what it makes to the
event loop as it makes it.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

from ..errors import BackendError

__all__ = ["WorkerThread"]

T = TypeVar("T")


class _Abandoned(Exception):
    """Raised by `checkpoint` inside an abandoned call; it never reaches a caller (see `WorkerThread.run`)."""


class WorkerThread:
    """One thread of its own that runs a local model's blocking calls in the order they come, one at a time.

    `await run(fn, *args)` returns `fn(*args)` run on the thread. If the awaiting task is cancelled, the call is
    abandoned: one not started never starts, and one running raises at its next `checkpoint()` (which the model's
    decoding loop calls before each forward); the task's `CancelledError` is raised only after the thread has
    let go, so a cancelled call has stopped touching the model when its caller sees the cancellation.

    `await close(release)` abandons every call in flight, then runs `release` (free the model's memory) on the
    thread after the last of them has returned. Their callers get `BackendError`, as do calls made after the close.
    `model` names the model in those errors.
    """

    def __init__(self, model: str) -> None:
        self.model = model
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="reasoning-model")
        self._abandon: dict[Future[Any], threading.Event] = {}  # the calls submitted and not yet awaited to the end
        self._current: threading.Event | None = None  # the abandon flag of the call running on the thread
        self._closing: Future[None] | None = None

    @property
    def closed(self) -> bool:
        return self._closing is not None

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(*args)`, run on the thread after the calls before it. Raises what `fn` raises, `BackendError` when
        the worker is closed (before or during the call), `CancelledError` once an abandoned call has let go."""
        if self._closing is not None:
            raise BackendError("the model is closed", model=self.model)
        abandon = threading.Event()
        context = contextvars.copy_context()  # as asyncio.to_thread does
        future = self._executor.submit(context.run, self._call, abandon, fn, *args)
        self._abandon[future] = abandon
        waiter = asyncio.wrap_future(future)
        try:
            try:
                await asyncio.wait([waiter])  # unlike awaiting it, cancelling this wait leaves the call alone
            except asyncio.CancelledError:
                abandon.set()
                future.cancel()  # a call not started yet never starts
                await _finished(waiter)
                raise
            try:
                return waiter.result()
            except _Abandoned:
                raise BackendError("the model was closed during the call", model=self.model) from None
        finally:
            del self._abandon[future]
            if waiter.done() and not waiter.cancelled():
                waiter.exception()  # retrieved: nobody else will look at an abandoned call's outcome

    async def stream(self, fn: Callable[[Callable[[T], None]], object]) -> AsyncIterator[T]:
        """Run `fn(emit)` on the thread as `run` does, yielding each item it passes to `emit` as soon as it does.

        Ends when `fn` returns; raises what `run` would. Closing the iterator early (or cancelling its consumer)
        abandons the call as a cancelled `run` does, and returns once the thread has let go of the model."""
        loop = asyncio.get_running_loop()
        items: collections.deque[T] = collections.deque()
        ready = asyncio.Event()

        def put(item: T) -> None:
            items.append(item)
            ready.set()

        def emit(item: T) -> None:  # called on the thread
            loop.call_soon_threadsafe(put, item)

        call = asyncio.ensure_future(self.run(fn, emit))
        call.add_done_callback(lambda _: ready.set())
        try:
            while True:
                await ready.wait()
                ready.clear()
                done = call.done()  # every item emitted before `fn` returned is in `items` by then
                while items:
                    yield items.popleft()
                if done:
                    call.result()
                    return
        finally:
            if not call.done():
                call.cancel()  # abandoned at the thread's next checkpoint
                await _finished(call)
            if not call.cancelled():
                call.exception()  # retrieved

    def checkpoint(self) -> None:
        """Stop the call running on the thread here (by raising) if it was abandoned; a no-op otherwise.

        Called by the model's code between forwards, never from outside the thread."""
        current = self._current
        if current is not None and current.is_set():
            raise _Abandoned

    async def close(self, release: Callable[[], None] | None = None) -> None:
        """Abandon the calls in flight, then run `release` on the thread once they have returned, and end the thread.

        Waits for all that even if cancelled meanwhile (then raises `CancelledError` after); a second close waits
        for the first. Raises what `release` raises."""
        if self._closing is None:
            for abandon in self._abandon.values():
                abandon.set()
            self._closing = self._executor.submit(release or _nothing)
            self._executor.shutdown(wait=False)  # the thread ends once the release has run
        done = asyncio.wrap_future(self._closing)
        await _finished(done)
        done.result()

    def _call(self, abandon: threading.Event, fn: Callable[..., T], *args: Any) -> T:
        self._current = abandon
        try:
            self.checkpoint()
            return fn(*args)
        finally:
            self._current = None


def _nothing() -> None:
    pass


async def _finished(waiter: asyncio.Future[Any]) -> None:
    """Wait until `waiter` is done, even when cancelled meanwhile; then raise `CancelledError` if it was."""
    cancelled = False
    while not waiter.done():
        try:
            await asyncio.wait([waiter])
        except asyncio.CancelledError:
            cancelled = True
    if cancelled:
        raise asyncio.CancelledError
