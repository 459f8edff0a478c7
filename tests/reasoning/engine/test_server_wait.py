"""A wait the server names (`Retry-After` in seconds or as an HTTP date, `retry-after-ms`) is honoured for every
status the engine retries, not only 429: a server that is loading answers 503 and says how long."""

import itertools
import math
import random

import pytest

from reasoning import (
    APIConnectionError,
    Engine,
    GenerationRequest,
    MalformedResponseError,
    OpenAICompatibleModel,
    RateLimitError,
    RetryPolicy,
    ServerError,
)
from reasoning.testing import Fault, FaultProxy


@pytest.mark.parametrize(("form", "status"), [("seconds", 503), ("date", 503), ("ms", 503), ("seconds", 500)])
async def test_a_server_down_for_seconds_that_says_so_gets_one_successful_call(form, status):
    async with FaultProxy(record=True) as proxy:
        # Down for 1.5 s, asking for 1 s each time; the engine's default policy would otherwise retry after
        # 0.25 s, 0.5 s, 1 s... on average and spend its 5 attempts inside the outage.
        proxy.outage(1.5, Fault.http(status, retry_after=1, retry_after_as=form))
        model = OpenAICompatibleModel("stub", base_url=proxy.url + "/v1", api_key="x")
        async with Engine(model) as engine:
            result = await engine.generate(GenerationRequest(prompt="x"))
    assert result.text == "stub reply 0"
    events = proxy.events
    assert [e.status for e in events[:-1]] == [status] * (len(events) - 1) and events[-1].status == 200
    assert len(events) >= 2
    gaps = [later.start - earlier.start for earlier, later in itertools.pairwise(events)]
    # At least the asked second between attempts (a date is rounded up to a whole second by the proxy, and read
    # against the wall clock: a hundredth for the two clocks).
    slack = 0.01 if form == "date" else 0.0
    assert all(gap >= 1.0 - slack for gap in gaps), gaps


async def test_the_named_wait_reaches_the_error_on_every_retried_status():
    async with FaultProxy() as proxy:
        model = OpenAICompatibleModel("stub", base_url=proxy.url + "/v1", api_key="x")
        async with model:
            for status, error in ((503, ServerError), (502, ServerError), (500, ServerError), (429, RateLimitError)):
                for form, asked in (("seconds", 7.0), ("ms", 2.5)):
                    proxy.inject(Fault.http(status, retry_after=asked, retry_after_as=form))
                    with pytest.raises(error) as info:
                        await model.generate(GenerationRequest(prompt="x"))
                    assert info.value.status == status and info.value.retry_after == asked
                proxy.inject(Fault.http(status, retry_after=30, retry_after_as="date"))
                with pytest.raises(error) as dated:
                    await model.generate(GenerationRequest(prompt="x"))
                assert dated.value.retry_after is not None and 28 <= dated.value.retry_after <= 31
                proxy.inject(Fault.http(status))
                with pytest.raises(error) as bare:
                    await model.generate(GenerationRequest(prompt="x"))
                assert bare.value.retry_after is None


def test_policy_waits_at_least_the_named_wait_for_every_retried_status():
    policy = RetryPolicy(initial_delay=0.01, max_delay=0.02, max_retry_after=5.0)
    rng = random.Random(0)
    for exc in (
        ServerError("loading", model="m", status=503, retry_after=2.0),
        ServerError("boom", model="m", status=500, retry_after=2.0),
        RateLimitError("slow", model="m", retry_after=2.0),
    ):
        assert all(policy.delay(k, exc, rng) >= 2.0 for k in range(1, 6))
    assert policy.delay(1, ServerError("x", model="m", status=503, retry_after=3600.0)) == 5.0  # capped
    assert policy.delay(1, ServerError("x", model="m", status=503, retry_after=math.inf)) == 5.0


@pytest.mark.parametrize("asked", [None, -3.0, math.nan, 0.0])
def test_no_usable_named_wait_leaves_the_backoff(asked):
    policy = RetryPolicy(initial_delay=0.01, max_delay=0.02)
    delay = policy.delay(3, ServerError("x", model="m", status=503, retry_after=asked))
    assert 0.0 <= delay <= 0.02


def test_errors_without_a_status_have_no_named_wait():
    policy = RetryPolicy(initial_delay=0.01, max_delay=0.02)
    assert policy.delay(1, APIConnectionError("x", model="m")) <= 0.02
    assert policy.delay(1, MalformedResponseError("x", model="m")) <= 0.02
