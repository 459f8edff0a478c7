"""The OpenAI-compatible backend and the engine against a real llama.cpp server (llama-cpp-python[server]) on
loopback, serving the embedded model, with faults injected by our proxy in front of it."""

import pytest

from reasoning import (
    APIConnectionError,
    APITimeoutError,
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
from reasoning.testing import Fault, FaultProxy

pytestmark = pytest.mark.model

QUESTION = GenerationRequest.chat("What is 4 + 5? Answer with the number only.", temperature=0, max_tokens=8)
PROMPT = GenerationRequest(prompt="def add(a, b):", temperature=0, max_tokens=24, stop=("\n\n",))


async def test_chat_and_completion(llama_server):
    async with OpenAICompatibleModel("embedded", base_url=llama_server) as model:
        chat = await model.generate(QUESTION)
        completion = await model.generate(PROMPT)
    assert chat.text.strip() == "9"
    assert chat.prompt_tokens > 10 and chat.completions[0].completion_tokens >= 1
    assert "return a + b" in completion.text
    assert "\n\n" not in completion.text and completion.completions[0].finish_reason == "stop"


async def test_samples_are_distinct_and_cached_per_index(llama_server):
    request = GenerationRequest(prompt="A random animal:", temperature=1.0, max_tokens=4, n=30, seed=1)
    cache = ResponseCache()
    async with Engine(OpenAICompatibleModel("embedded", base_url=llama_server), cache=cache) as engine:
        result = await engine.generate(request)
        assert len(result.completions) == 30 and len(cache) == 30
        assert len(set(result.texts)) > 5  # real sampling, different seeds per sample
        calls = engine.spend.calls
        again = await engine.generate(request)
        assert again.texts == result.texts and again.cached == 30 and engine.spend.calls == calls


FAULTS = {
    "429+retry-after": (Fault.http(429, retry_after=0.3), RateLimitError, 0),
    "429": (Fault.http(429), RateLimitError, 0),
    "500": (Fault.http(500), ServerError, 0),
    "503": (Fault.http(503), ServerError, 0),
    # The proxy stalls far longer than any client timeout below, so the client always gives up first; the stalled
    # handler is cancelled when the test takes the proxy down, so it never forwards later.
    "slow": (Fault.slow(600.0), APITimeoutError, 0),
    "reset": (Fault.reset(), APIConnectionError, 1),
    "malformed": (Fault.malformed(), MalformedResponseError, 1),
}


@pytest.mark.parametrize("name", FAULTS)
async def test_fault_then_retried_success(llama_server, name):
    fault, _, upstream_extra = FAULTS[name]
    cache = ResponseCache()
    config = EngineConfig(retry=RetryPolicy(max_attempts=3, initial_delay=0.05, max_delay=0.1))
    # No test waits on how fast the real model answers: the retry that reaches the server gets a timeout no busy
    # machine comes near (it answers in well under a second when idle). Only the stalled attempt of the slow fault
    # waits it out, so that case gets a shorter one, still many times what the real answer takes.
    timeout = 20.0 if name == "slow" else 120.0
    async with FaultProxy(upstream=llama_server.removesuffix("/v1")) as proxy:
        model = OpenAICompatibleModel("embedded", base_url=proxy.url + "/v1", timeout=timeout)
        async with Engine(model, config, cache=cache) as engine:
            proxy.inject(fault)
            result = await engine.generate(QUESTION)
        await proxy.down()  # cancels a stalled handler still sleeping
    assert result.text.strip() == "9"  # the real answer: nothing corrupted on the way
    assert len(cache) == 1 and engine.spend.calls == 1  # one result, recorded once
    # The server saw the retry, plus the faulted request when the fault came after forwarding.
    assert proxy.stats.requests == 2 and proxy.stats.forwarded == 1 + upstream_extra


@pytest.mark.parametrize("name", FAULTS)
async def test_persistent_fault_is_a_typed_error(llama_server, name):
    fault, error, _ = FAULTS[name]
    config = EngineConfig(retry=RetryPolicy(max_attempts=2, initial_delay=0.01, max_delay=0.01, max_retry_after=0.01))
    # Faults that reach the real server (malformed, reset) must not time out waiting for it on a busy machine:
    # that raised APITimeoutError instead of the expected error. Only the slow fault, whose attempts never reach
    # the server, needs the client to give up, and it gives up on nothing the server does.
    timeout = 1.0 if name == "slow" else 120.0
    async with FaultProxy(upstream=llama_server.removesuffix("/v1")) as proxy:
        model = OpenAICompatibleModel("embedded", base_url=proxy.url + "/v1", timeout=timeout)
        async with Engine(model, config, cache=ResponseCache()) as engine:
            proxy.inject(fault, fault)
            with pytest.raises(error) as info:
                await engine.generate(PROMPT)
            assert len(engine.cache) == 0
        await proxy.down()
    assert info.value.attempts == 2 and info.value.model == "embedded"


async def test_server_down_is_a_connection_error():
    from tests.conftest import free_port

    model = OpenAICompatibleModel("embedded", base_url=f"http://127.0.0.1:{free_port()}/v1", timeout=1.0)
    config = EngineConfig(retry=RetryPolicy(max_attempts=2, initial_delay=0.01))
    async with Engine(model, config) as engine:
        with pytest.raises(APIConnectionError) as info:
            await engine.generate(PROMPT)
    assert info.value.attempts == 2
