import asyncio

import pytest

from reasoning import Engine, EngineConfig, GenerationRequest, RateLimiter, ScriptedModel


async def test_rate_limiter_admits_per_window():
    # Upper bounds are half a window, so a busy machine cannot fail the test; a limiter that made any of the
    # first five wait would take a whole window.
    limiter = RateLimiter(5, window=2.0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    for _ in range(5):
        await limiter.acquire()
    assert loop.time() - start < 1.0
    await limiter.acquire()  # the sixth waits for the window to roll
    assert loop.time() - start >= 1.99


async def test_oversized_acquisition_is_admitted_alone():
    limiter = RateLimiter(10, window=60.0)
    await asyncio.wait_for(limiter.acquire(50), timeout=10)  # not the 60 s window, nor forever


def test_rate_limiter_rejects_nonpositive():
    with pytest.raises(ValueError):
        RateLimiter(0)


async def test_engine_requests_per_minute():
    # 120/min means the 3rd request within a second must wait; checked on a short window instead.
    engine = Engine(ScriptedModel(lambda r, i: "x"), EngineConfig(requests_per_minute=3))
    engine._rpm = RateLimiter(3, window=0.3)  # same limiter, shorter window, so the test is quick
    loop = asyncio.get_running_loop()
    start = loop.time()
    await asyncio.gather(*(engine.generate(GenerationRequest(prompt=str(i))) for i in range(6)))
    assert loop.time() - start >= 0.29
    await engine.aclose()


async def test_engine_tokens_per_minute_counts_estimated_tokens():
    engine = Engine(ScriptedModel(lambda r, i: "x"), EngineConfig(tokens_per_minute=100))
    engine._tpm = RateLimiter(100, window=0.3)  # same limiter, shorter window
    loop = asyncio.get_running_loop()
    start = loop.time()
    # Each request is estimated at 40 chars / 4 + 30 max_tokens = 40 tokens: two fit in a window, the third waits.
    await asyncio.gather(*(engine.generate(GenerationRequest(prompt=f"{i:040d}", max_tokens=30)) for i in range(3)))
    assert loop.time() - start >= 0.29
    await engine.aclose()
