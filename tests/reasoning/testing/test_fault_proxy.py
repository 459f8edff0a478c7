"""The fault proxy's own behaviour: truncated bodies, faults at a seeded rate, an endpoint that dies and returns."""

import asyncio
import json

import pytest

from reasoning import (
    APIConnectionError,
    GenerationRequest,
    MalformedResponseError,
    ModelServer,
    OpenAICompatibleModel,
    ScriptedModel,
    ServerError,
)
from reasoning.testing import Fault, FaultProxy


async def raw_post(port: int, body: bytes = b'{"prompt": "hi"}') -> tuple[bytes, bytes]:
    """One request on a fresh connection: the response head and body exactly as sent (read by Content-Length)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = f"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    writer.write(head + body)
    await writer.drain()
    async with asyncio.timeout(5):
        response_head = await reader.readuntil(b"\r\n\r\n")
        length = int(response_head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        content = await reader.readexactly(length)
    writer.close()
    return response_head, content


async def test_truncated_is_valid_http_with_half_the_json():
    async with FaultProxy() as proxy:
        _, whole = await raw_post(proxy.port)
        proxy.inject(Fault.truncated())
        head, content = await raw_post(proxy.port)
    assert head.startswith(b"HTTP/1.1 200")
    assert f"Content-Length: {len(content)}".encode() in head  # the length matches what was sent
    assert content == whole[: len(whole) // 2]
    with pytest.raises(ValueError):
        json.loads(content)
    assert proxy.stats.injected == {"truncated": 1}


async def test_truncated_and_502_map_to_typed_errors():
    async with FaultProxy() as proxy, OpenAICompatibleModel("stub", base_url=proxy.url + "/v1") as model:
        proxy.inject(Fault.truncated(), Fault.http(502))
        with pytest.raises(MalformedResponseError):
            await model.generate(GenerationRequest(prompt="x"))
        with pytest.raises(ServerError) as info:
            await model.generate(GenerationRequest(prompt="x"))
        assert info.value.status == 502


def test_labels():
    assert Fault.http(429, retry_after=0.25).label == "http 429 retry-after=0.25"
    assert Fault.http(503).label == "http 503"
    assert Fault.slow(1.0).label == "slow 1s"
    assert [f.label for f in (Fault.reset(), Fault.malformed(), Fault.truncated())] == [
        "reset",
        "malformed",
        "truncated",
    ]


async def sequence_of_faults(seed: int, rate: float, n: int = 200) -> list[str | None]:
    async with FaultProxy(record=True) as proxy, OpenAICompatibleModel("stub", base_url=proxy.url + "/v1") as model:
        proxy.inject_at_rate((Fault.http(500), Fault.http(503)), rate, seed=seed)
        for _ in range(n):
            try:
                await model.generate(GenerationRequest(prompt="x"))
            except ServerError:
                pass
    return [e.fault for e in proxy.events]


async def test_rate_is_seeded_and_about_right():
    first = await sequence_of_faults(seed=1, rate=0.2)
    assert first == await sequence_of_faults(seed=1, rate=0.2)  # same seed, same plan
    assert first != await sequence_of_faults(seed=2, rate=0.2)
    assert 20 <= sum(f is not None for f in first) <= 60  # 40 expected
    assert {f for f in first if f} == {"http 500", "http 503"}
    assert set(await sequence_of_faults(seed=1, rate=0.0, n=20)) == {None}


async def test_queued_faults_come_before_the_rate():
    async with FaultProxy() as proxy, OpenAICompatibleModel("stub", base_url=proxy.url + "/v1") as model:
        proxy.inject_at_rate(Fault.http(503), 1.0)
        proxy.inject(Fault.truncated())
        with pytest.raises(MalformedResponseError):
            await model.generate(GenerationRequest(prompt="x"))
        with pytest.raises(ServerError):
            await model.generate(GenerationRequest(prompt="x"))
        proxy.inject_at_rate((), 0.0)
        assert (await model.generate(GenerationRequest(prompt="x"))).text == "stub reply 0"
    with pytest.raises(ValueError):
        proxy.inject_at_rate(Fault.reset(), 1.5)


async def test_down_refuses_and_cuts_then_up_serves_on_the_same_port():
    async def answer(request: GenerationRequest, index: int) -> str:
        if request.prompt == "y":
            await asyncio.sleep(5)  # still answering when the proxy goes down
        return "up"

    upstream = ScriptedModel(answer)
    async with ModelServer(upstream) as server, FaultProxy(upstream=f"http://127.0.0.1:{server.port}") as proxy:
        port = proxy.port
        async with OpenAICompatibleModel("m", base_url=proxy.url + "/v1", timeout=5.0) as model:
            assert (await model.generate(GenerationRequest(prompt="x"))).text == "up"
            in_flight = asyncio.ensure_future(model.generate(GenerationRequest(prompt="y")))
            while proxy.stats.in_flight == 0:  # noqa: ASYNC110 - wait until the request is inside the proxy
                await asyncio.sleep(0.01)
            await proxy.down()
            assert not proxy.is_up
            with pytest.raises(APIConnectionError):  # cut mid-request: no response at all
                await in_flight
            with pytest.raises(APIConnectionError):  # refused
                await model.generate(GenerationRequest(prompt="z"))
            with pytest.raises(ConnectionRefusedError):
                await asyncio.open_connection("127.0.0.1", port)
            await proxy.up()
            assert proxy.is_up and proxy.port == port
            assert (await model.generate(GenerationRequest(prompt="w"))).text == "up"
        await proxy.wait_idle()
    assert proxy.stats.outages == 1 and proxy.stats.dropped >= 1
