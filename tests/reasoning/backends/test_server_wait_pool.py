"""The wait a server names on a 5xx, not only on a 429: the pool ejects for it, and our server and the fault proxy
pass it on to the client."""

import asyncio
import time

import pytest

from reasoning import Engine, EngineConfig, GenerationRequest, OpenAICompatibleModel, RetryPolicy, ServerError
from reasoning.backends.pool import EndpointPool
from reasoning.serve import ModelServer
from reasoning.testing import Fault, FaultProxy, ScriptedModel

FAST = RetryPolicy(max_attempts=4, initial_delay=0.01, max_delay=0.05)


def endpoints(*proxies: FaultProxy) -> list[OpenAICompatibleModel]:
    return [OpenAICompatibleModel("stub", base_url=p.url + "/v1", api_key="x") for p in proxies]


async def test_a_loading_endpoint_is_ejected_at_once_for_the_wait_its_503_names():
    a, b = FaultProxy(), FaultProxy()
    async with a, b:
        a.inject(Fault.http(503, retry_after=1.5))
        # eject_after=2: a single bare 503 would leave the endpoint in; one that names a wait takes it out.
        pool = EndpointPool(endpoints(a, b), cooldown=0.1, max_cooldown=10.0)
        async with Engine(pool, EngineConfig(retry=FAST)) as engine:
            before = time.monotonic()
            first = await engine.generate(GenerationRequest(prompt="first"))
            out_until = pool._endpoints[0].ejected_until
            for i in range(5):
                await engine.generate(GenerationRequest(prompt=f"q{i}"))
            assert a.stats.requests == 1 and b.stats.requests == 6  # failed over; a rests, not just 0.1 s
            assert not pool.stats[0].healthy and pool.stats[0].ejections == 1
            assert out_until >= before + 1.5  # the wait it asked for, not the 0.1 s cooldown
            await asyncio.sleep(0.3)  # past the 0.1 s cooldown, well inside the asked 1.5 s
            if time.monotonic() < out_until - 0.5:  # (a machine too slow for this check skips it)
                await engine.generate(GenerationRequest(prompt="meanwhile"))
                assert a.stats.requests == 1
            # Once the wait is over, a is probed with the next request and comes back.
            await asyncio.sleep(max(0.0, out_until - time.monotonic()) + 0.05)
            await engine.generate(GenerationRequest(prompt="probe"))
    assert first.text == "stub reply 0"
    assert a.stats.requests == 2 and pool.stats[0].healthy and pool.stats[0].readmissions == 1


async def test_a_named_wait_is_capped_by_max_cooldown_and_a_bare_503_counts_toward_eject_after():
    a, b = FaultProxy(), FaultProxy()
    async with a, b:
        a.inject(Fault.http(503), Fault.http(503, retry_after=3600, retry_after_as="date"))
        pool = EndpointPool(endpoints(a, b), eject_after=3, cooldown=0.1, max_cooldown=2.0)
        async with Engine(pool, EngineConfig(retry=FAST)) as engine:
            await engine.generate(GenerationRequest(prompt="one"))
            assert pool.stats[0].healthy  # one bare 503 of the three eject_after asks for
            await engine.generate(GenerationRequest(prompt="two"))  # a's turn again: its 503 names an hour
            after = time.monotonic()
    assert not pool.stats[0].healthy and pool._endpoints[0].ejected_until <= after + 2.0


def test_a_late_failure_naming_a_longer_wait_keeps_an_ejected_endpoint_out():
    pool = EndpointPool([ScriptedModel(["x"]), ScriptedModel(["y"])], cooldown=0.1, max_cooldown=10.0)
    endpoint = pool._endpoints[0]
    pool._failed(endpoint, ServerError("loading", model="scripted", status=503, retry_after=1.0), probe=False)
    first_until = endpoint.ejected_until
    # A request sent before the ejection comes back later with a longer wait.
    pool._failed(endpoint, ServerError("loading", model="scripted", status=503, retry_after=5.0), probe=False)
    assert endpoint.ejected_until >= first_until + 3.9 and pool.stats[0].ejections == 1
    pool._failed(endpoint, ServerError("boom", model="scripted", status=500), probe=False)
    assert endpoint.ejected_until >= first_until + 3.9  # never shortened


async def test_our_server_and_the_proxy_pass_a_503s_wait_on_to_the_client():
    def loading(request: GenerationRequest, index: int) -> object:
        return ServerError("model loading", model="up", status=503, retry_after=1.5)

    async with (
        ModelServer(ScriptedModel(loading)) as server,
        FaultProxy(upstream=server.url) as proxy,
        OpenAICompatibleModel("m", base_url=proxy.url + "/v1", api_key="x") as model,
    ):
        with pytest.raises(ServerError) as info:
            await model.generate(GenerationRequest(prompt="x"))
    assert info.value.status == 503 and info.value.retry_after == 1.5
    assert proxy.stats.forwarded == 1
