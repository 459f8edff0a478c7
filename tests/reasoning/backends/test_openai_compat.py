"""The OpenAI-compatible backend against a stand-in loopback server with injected faults.

The same faults against the real llama.cpp server are in test_real_server.py.
"""

import asyncio
import json

import pytest

from reasoning import (
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    Engine,
    EngineConfig,
    GenerationRequest,
    MalformedResponseError,
    OpenAICompatibleModel,
    RateLimitError,
    ResponseCache,
    RetryPolicy,
    ServerError,
)
from reasoning.backends.openai_compat import parse_retry_after
from reasoning.testing import Fault, FaultProxy

FAST = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.02)


@pytest.fixture
async def stub():
    async with FaultProxy() as proxy:
        yield proxy


def model_for(proxy, **kw):
    return OpenAICompatibleModel("stub", base_url=proxy.url + "/v1", api_key="sk-test-not-a-key", **kw)


async def test_completion_and_chat(stub):
    async with model_for(stub) as model:
        completion = await model.generate(GenerationRequest(prompt="hi"))
        chat = await model.generate(GenerationRequest.chat("hi"))
    assert completion.text == "stub reply 0" and chat.text == "stub reply 0"
    assert completion.prompt_tokens == 5 and completion.completions[0].completion_tokens == 3
    assert stub.stats.paths == ["/v1/completions", "/v1/chat/completions"]


async def test_n_in_one_request_when_supported(stub):
    async with model_for(stub) as model:
        result = await model.generate(GenerationRequest(prompt="hi", n=4, temperature=1.0))
    assert result.texts == [f"stub reply {i}" for i in range(4)]
    assert stub.stats.requests == 1


async def test_falls_back_to_one_request_per_sample_when_n_is_ignored():
    def one_choice(path, body):
        return {
            "choices": [{"index": 0, "text": f"seed {body.get('seed')}", "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 2, "completion_tokens": 1},
        }

    async with FaultProxy(responder=one_choice) as proxy, model_for(proxy) as model:
        result = await model.generate(GenerationRequest(prompt="hi", n=3, seed=10))
        # First request asked for n=3 and got one; two more were sent, one per missing sample.
        assert proxy.stats.requests == 3
        assert result.texts == ["seed 10", "seed 11", "seed 12"]
        await model.generate(GenerationRequest(prompt="hi", n=2, seed=0))
        assert proxy.stats.requests == 5  # remembered: no more n>1 requests


async def test_errors_map_to_typed_errors(stub):
    async with model_for(stub) as model:
        stub.inject(Fault.http(429, retry_after=7))
        with pytest.raises(RateLimitError) as info:
            await model.generate(GenerationRequest(prompt="x"))
        assert info.value.retry_after == 7 and info.value.status == 429 and info.value.model == "stub"
        stub.inject(Fault.http(503))
        with pytest.raises(ServerError):
            await model.generate(GenerationRequest(prompt="x"))
        stub.inject(Fault.http(401))
        with pytest.raises(BadRequestError) as bad:
            await model.generate(GenerationRequest(prompt="x"))
        assert "sk-test-not-a-key" not in str(bad.value) and "sk-test" not in repr(model)
        stub.inject(Fault.malformed())
        with pytest.raises(MalformedResponseError):
            await model.generate(GenerationRequest(prompt="x"))


async def test_timeout_maps_to_timeout_error(stub):
    async with model_for(stub, timeout=0.2) as model:
        stub.inject(Fault.slow(1.0))
        with pytest.raises(APITimeoutError):
            await model.generate(GenerationRequest(prompt="x"))


def test_parse_retry_after():
    assert parse_retry_after({"Retry-After": "3"}) == 3.0
    assert parse_retry_after({"retry-after-ms": "250"}) == 0.25
    assert parse_retry_after({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({"Retry-After": "soon"}) is None
    assert parse_retry_after({}) is None


FAULTS = {
    "429+retry-after": Fault.http(429, retry_after=0.2),
    "429": Fault.http(429),
    "500": Fault.http(500),
    "503": Fault.http(503),
    "slow": Fault.slow(60),  # far past any client timeout below
    "reset": Fault.reset(),
    "malformed": Fault.malformed(),
}
EXPECTED = {
    "429+retry-after": RateLimitError,
    "429": RateLimitError,
    "500": ServerError,
    "503": ServerError,
    "slow": APITimeoutError,
    "reset": APIConnectionError,
    "malformed": MalformedResponseError,
}


@pytest.mark.parametrize("fault", FAULTS.values(), ids=FAULTS.keys())
async def test_each_fault_ends_in_retried_success(stub, fault):
    cache = ResponseCache()
    config = EngineConfig(retry=FAST)
    # Only the stalled attempt should time out: the stub's real answer gets a timeout no busy machine comes near.
    timeout = 2.0 if fault.kind == "slow" else 30.0
    async with Engine(model_for(stub, timeout=timeout), config, cache=cache) as engine:
        stub.inject(fault)
        result = await engine.generate(GenerationRequest(prompt="x", n=2, temperature=1.0))
    assert result.texts == ["stub reply 0", "stub reply 1"]
    assert len(cache) == 2  # nothing lost, nothing duplicated
    assert stub.stats.requests == 2 and stub.pending_faults == 0


@pytest.mark.parametrize("name", FAULTS)
async def test_each_fault_ends_in_typed_error_when_it_persists(stub, name):
    fault = FAULTS[name]
    config = EngineConfig(retry=RetryPolicy(max_attempts=2, initial_delay=0.01, max_delay=0.01, max_retry_after=0.01))
    timeout = 0.5 if name == "slow" else 30.0  # the stub's answers never race the client's timeout
    async with Engine(model_for(stub, timeout=timeout), config, cache=ResponseCache()) as engine:
        stub.inject(fault, fault)
        with pytest.raises(EXPECTED[name]) as info:
            await engine.generate(GenerationRequest(prompt="x"))
        assert info.value.attempts == 2 and info.value.model == "stub"
        assert type(info.value) is EXPECTED[name] or name == "slow"
        assert len(engine.cache) == 0


async def test_thousand_concurrent_requests_respect_the_limit():
    async with FaultProxy(latency=0.02) as proxy:
        config = EngineConfig(max_concurrency=25)
        async with Engine(model_for(proxy), config) as engine:
            results = await asyncio.gather(
                *(engine.generate(GenerationRequest(prompt=f"q{i}", max_tokens=4)) for i in range(1000))
            )
    assert len(results) == 1000 and all(r.text == "stub reply 0" for r in results)
    assert proxy.stats.requests == 1000
    assert proxy.stats.max_in_flight == 25  # reached, never passed


async def test_request_body_is_what_we_asked(stub):
    seen = []

    def spy(path, body):
        seen.append(body)
        return {"choices": [{"index": 0, "text": "ok", "finish_reason": "length"}]}

    async with FaultProxy(responder=spy) as proxy, model_for(proxy) as model:
        result = await model.generate(
            GenerationRequest(prompt="p", temperature=0.3, top_p=0.9, max_tokens=5, stop=("\n",), seed=3)
        )
    assert json.loads(json.dumps(seen[0])) == {
        "model": "stub",
        "prompt": "p",
        "temperature": 0.3,
        "top_p": 0.9,
        "max_tokens": 5,
        "stop": ["\n"],
        "seed": 3,
    }
    assert result.completions[0].finish_reason == "length"


def test_credentials_in_the_url_never_reach_reprs():
    from reasoning.backends.openai_compat import redact_url
    from reasoning.backends.pool import EndpointPool

    url = "http://bob:s3cret-pass@10.0.0.5:8000/v1"
    model = OpenAICompatibleModel("m", base_url=url)
    pool = EndpointPool([model])
    assert "s3cret" not in repr(model) + repr(pool) + str(pool.stats)
    assert redact_url(url) == "http://[redacted]@10.0.0.5:8000/v1"
    assert redact_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1" and redact_url(None) is None


async def test_a_failed_sample_of_a_fan_out_cancels_its_siblings():
    # One HTTP request per sample; one fails at once while its three siblings stall for 5 s. They must not keep
    # running (and spending, past the engine's concurrency limit) while the engine retries all four.
    def one_choice(path, body):
        return {"choices": [{"index": 0, "text": f"seed {body.get('seed')}", "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 2, "completion_tokens": 1}}  # fmt: skip

    async with FaultProxy(responder=one_choice) as proxy:
        model = OpenAICompatibleModel("m", base_url=proxy.url + "/v1", n_per_request=False)
        config = EngineConfig(max_concurrency=1, retry=RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.01))
        async with Engine(model, config) as engine:
            # Siblings left running would hold the call for 60 s; cancelled, the retry answers at once. The bound
            # sits between the two, far from both.
            proxy.inject(Fault.http(500), Fault.slow(60), Fault.slow(60), Fault.slow(60))
            result = await asyncio.wait_for(
                engine.generate(GenerationRequest(prompt="p", n=4, seed=0, temperature=1.0)), timeout=30
            )
            left = [t for t in asyncio.all_tasks() if "OpenAICompatibleModel" in repr(t.get_coro())]
    assert result.texts == ["seed 0", "seed 1", "seed 2", "seed 3"] and engine.spend.calls == 1
    assert left == []  # no sample of the failed attempt still running
