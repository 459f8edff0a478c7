"""The torch backend: a cancelled generate stops before its next forward, in the plain loop and in a parallel
decoder, and the model answers as before afterwards. (Closing is the same `WorkerThread` as llama.cpp's, tested
there and in test_worker.py; torch frees nothing under a running thread, so the shared model is not closed here.)"""

from __future__ import annotations

import asyncio
import threading

import pytest

from reasoning import GenerationRequest

pytestmark = pytest.mark.model

SHORT = GenerationRequest(prompt="def add(a, b):", temperature=0, max_tokens=8)


@pytest.mark.parametrize("decoding", [None, "lookahead"])
async def test_a_cancelled_generate_stops_before_the_next_forward(torch_model, decoding):
    reference = (await torch_model.generate(SHORT)).text
    forwards = 0
    some = threading.Event()

    def count(*_: object) -> None:
        nonlocal forwards
        forwards += 1
        if forwards >= 6:
            some.set()

    hook = torch_model.model.register_forward_hook(count)
    try:
        long = GenerationRequest(prompt="Count from 1 to 1000: 1, 2, 3,", temperature=0, max_tokens=1000,
                                 decoding=decoding)  # fmt: skip
        task = asyncio.create_task(torch_model.generate(long))
        assert await asyncio.to_thread(some.wait, 120), "the decode did not start"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        stopped_at = forwards
        await asyncio.sleep(0.3)
        assert forwards == stopped_at < 200  # nothing ran after the caller heard; far from the 1000 tokens
    finally:
        hook.remove()
    assert (await torch_model.generate(SHORT)).text == reference
