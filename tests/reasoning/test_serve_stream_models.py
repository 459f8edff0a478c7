"""Streaming from our server on the embedded model, through the official `openai` client: token by token, the
streamed text is the text answered whole (greedy, lookahead decoding on torch; llama.cpp's own streaming), and a
client that leaves a stream stops the decode."""

from __future__ import annotations

import asyncio

import openai
import pytest

from reasoning.serve import ModelServer

pytestmark = pytest.mark.model


def _client(server: ModelServer) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.url, api_key="none", max_retries=0, timeout=300)


async def _no_task_running(name: str) -> None:
    running = [task for task in asyncio.all_tasks() if name in repr(task.get_coro())]
    if running:
        await asyncio.wait(running)


async def test_the_torch_model_streams_token_by_token_what_it_answers_whole(torch_model):
    # Greedy with lookahead decoding: the streamed text is the text answered whole, with and without a stop string.
    prompts = [("def fibonacci(n):", None), ("Count from 1 to 20: 1, 2, 3,", [" 9,"])]
    async with ModelServer(torch_model) as server, _client(server) as client:
        for prompt, stop in prompts:
            options = {"model": "m", "prompt": prompt, "temperature": 0, "max_tokens": 40, "stop": stop,
                       "extra_body": {"decoding": {"mode": "lookahead", "block": 4}}}  # fmt: skip
            whole = await client.completions.create(**options)  # type: ignore[call-overload]
            chunks = [c async for c in await client.completions.create(stream=True, **options)]
            pieces = [c.choices[0].text for c in chunks]
            assert "".join(pieces) == whole.choices[0].text, prompt
            assert len([p for p in pieces if p]) > 3  # in pieces as it was decoded, not whole at the end
            assert chunks[-1].choices[0].finish_reason == whole.choices[0].finish_reason
            assert chunks[-1].choices[0].model_extra["decoding"]["mode"] == "lookahead"  # type: ignore[index]
            if stop:
                assert whole.choices[0].finish_reason == "stop" and " 9," not in "".join(pieces)
        messages = [{"role": "user", "content": "Say hi."}]
        whole_chat = await client.chat.completions.create(model="m", messages=messages, temperature=0, max_tokens=12)
        stream = await client.chat.completions.create(model="m", messages=messages, temperature=0, max_tokens=12,
                                                      stream=True, extra_body={"decoding": "lookahead"})  # fmt: skip
        text = "".join([c.choices[0].delta.content or "" async for c in stream])
        assert text == whole_chat.choices[0].message.content


async def test_a_client_leaving_a_torch_stream_stops_the_decode(torch_model):
    forwards = [0]
    hook = torch_model.model.register_forward_hook(lambda *_: forwards.__setitem__(0, forwards[0] + 1))
    try:
        async with ModelServer(torch_model) as server, _client(server) as client:
            stream = await client.completions.create(model="m", prompt="Count from 1 to 1000: 1, 2, 3,",
                                                     temperature=0, max_tokens=1000, stream=True)  # fmt: skip
            got = 0
            async for chunk in stream:
                got += bool(chunk.choices[0].text)
                if got == 3:
                    break
            await stream.close()
            # The worker runs calls in order: this one runs once the abandoned decode has let go of the model.
            await asyncio.wait_for(torch_model._worker.run(lambda: None), timeout=60)
            stopped_at = forwards[0]
            await asyncio.wait_for(_no_task_running("_produce"), timeout=30)
            assert forwards[0] == stopped_at < 200  # far from the 1000 tokens asked for, and nothing after
    finally:
        hook.remove()


async def test_llama_cpp_streams_token_by_token_what_it_answers_whole(llama_model):
    async with ModelServer(llama_model) as server, _client(server) as client:
        options = {"model": "m", "prompt": "Count to ten: one, two,", "temperature": 0, "max_tokens": 40,
                   "stop": [" six"]}  # fmt: skip
        # llama.cpp's first call on a prompt evaluates it whole, later ones reuse its cached prefix, and greedy
        # output can differ between the two: compare calls made alike.
        await client.completions.create(**options)  # type: ignore[call-overload]
        whole = await client.completions.create(**options)  # type: ignore[call-overload]
        stream = await client.completions.create(stream=True, stream_options={"include_usage": True}, **options)
        chunks = [c async for c in stream]
    pieces = [c.choices[0].text for c in chunks if c.choices]
    assert "".join(pieces) == whole.choices[0].text and " six" not in "".join(pieces)
    assert len([p for p in pieces if p]) > 3
    usage = chunks[-1].usage
    assert usage is not None and whole.usage is not None and usage.prompt_tokens == whole.usage.prompt_tokens
