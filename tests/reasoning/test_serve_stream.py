"""Streaming from our server, through the official `openai` client: completions and chat, n > 1, the usage chunk,
stop strings and UTF-8 characters split across pieces, errors before and after the first chunk, the API key, and
a client that disconnects mid-stream (its generation stops). Against the scripted backend; the real models'
streaming is in test_serve_stream_models.py."""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from collections.abc import AsyncIterator

import httpx
import openai
import pytest

from reasoning import GenerationRequest, RateLimitError, ScriptedModel
from reasoning.serve import ModelServer
from reasoning.types import Completion, DecodingStats

STATS = DecodingStats(mode="lookahead", model_calls=3, tokens_per_call=2.0, seconds=0.01)


def _story(request: GenerationRequest, index: int) -> Completion:
    return Completion(text=f"once upon a time, sample {index}", finish_reason="length", completion_tokens=6,
                      decoding=STATS)  # fmt: skip


def _client(server: ModelServer, key: str = "none") -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=server.url, api_key=key, max_retries=0, timeout=30)


async def test_completions_streamed_as_openai_sends_them_equal_the_answer_not_streamed():
    async with ModelServer(ScriptedModel(_story), served_name="served") as server, _client(server) as client:
        whole = await client.completions.create(model="served", prompt="p", max_tokens=8)
        chunks = [c async for c in await client.completions.create(model="served", prompt="p", max_tokens=8,
                                                                    stream=True)]  # fmt: skip
    assert len(chunks) == 6  # word by word
    assert {c.object for c in chunks} == {"text_completion"} and len({c.id for c in chunks}) == 1
    assert "".join(c.choices[0].text for c in chunks) == whole.choices[0].text == "once upon a time, sample 0"
    assert [c.choices[0].finish_reason for c in chunks] == [None] * 5 + ["length"]
    assert chunks[-1].choices[0].model_extra["decoding"] == STATS.model_dump()  # type: ignore[index]
    assert all(c.usage is None for c in chunks)  # no usage chunk unless asked


async def test_chat_streamed_with_n_choices_interleaved_and_the_usage_chunk():
    async with ModelServer(ScriptedModel(_story)) as server, _client(server) as client:
        whole = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], n=3)
        stream = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], n=3,
                                                      stream=True, stream_options={"include_usage": True})  # fmt: skip
        chunks = [c async for c in stream]
    assert {c.object for c in chunks} == {"chat.completion.chunk"}
    # The role first, for each choice; then the content; the usage last, in a chunk with no choices.
    assert [(c.choices[0].index, c.choices[0].delta.role, c.choices[0].delta.content) for c in chunks[:3]] == [
        (0, "assistant", ""), (1, "assistant", ""), (2, "assistant", "")]  # fmt: skip
    *body, last = chunks
    assert last.choices == [] and last.usage is not None
    assert (last.usage.prompt_tokens, last.usage.completion_tokens, last.usage.total_tokens) == (1, 18, 19)
    assert all(c.usage is None for c in body)
    texts: dict[int, str] = defaultdict(str)
    finishes: dict[int, list[str | None]] = defaultdict(list)
    for chunk in body:
        [choice] = chunk.choices
        texts[choice.index] += choice.delta.content or ""
        finishes[choice.index].append(choice.finish_reason)
    assert [texts[i] for i in range(3)] == [c.message.content for c in whole.choices]
    assert all(f[-1] == "length" and set(f[:-1]) == {None} for f in finishes.values())  # finish on the last only
    indexes = [c.choices[0].index for c in body[3:]]
    assert indexes[:6] == [0, 1, 2, 0, 1, 2]  # interleaved, as a server decoding them together sends them


async def test_the_wire_format_is_openais_server_sent_events():
    async with ModelServer(ScriptedModel(["a b"])) as server, httpx.AsyncClient() as http:
        response = await http.post(server.url + "/completions", json={"prompt": "p", "stream": True})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    events = response.text.split("\n\n")
    assert events[-2:] == ["data: [DONE]", ""]
    data = [json.loads(e.removeprefix("data: ")) for e in events[:-2]]
    assert all(e.startswith("data: {") for e in events[:-2])
    assert [(d["choices"][0]["text"], d["choices"][0]["finish_reason"]) for d in data] == [("a ", None), ("b", "stop")]


async def test_stop_strings_split_across_pieces_never_reach_the_client():
    # The model makes "Hel", "lo EN", "D more": "END" comes in two pieces; the text ends before it.
    model = ScriptedModel(lambda request, index: ["Hel", "lo EN", "D more"])
    async with ModelServer(model) as server, _client(server) as client:
        whole = await client.completions.create(model="m", prompt="p", stop=["END"])
        stream = await client.completions.create(model="m", prompt="p", stop=["END"], stream=True)
        pieces = [c.choices[0].text async for c in stream]
    assert whole.choices[0].text == "".join(pieces) == "Hello "
    assert not any("E" in piece for piece in pieces)  # not even the stop string's first letter, held back
    assert pieces[0] == "Hel"  # what cannot begin a stop string is sent at once


async def test_a_character_split_across_pieces_is_never_sent_in_halves():
    model = ScriptedModel(lambda request, index: [b"caf", b"\xc3", b"\xa9 ", b"\xe2\x82", b"\xac!"])
    async with ModelServer(model) as server, _client(server) as client:
        whole = await client.completions.create(model="m", prompt="p")
        stream = await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}],
                                                      stream=True)  # fmt: skip
        pieces = [c.choices[0].delta.content async for c in stream if c.choices[0].delta.content]
    assert whole.choices[0].text == "".join(pieces) == "café €!"
    assert not any("\ufffd" in piece for piece in pieces) and len(pieces) >= 3


async def test_a_client_that_disconnects_mid_stream_stops_the_generation():
    made, stopped = [], asyncio.Event()

    async def endless() -> AsyncIterator[str]:
        try:
            while True:
                made.append(len(made))
                yield f"tick {len(made)} "
                await asyncio.sleep(0.001)
        finally:
            stopped.set()  # the backend's generation was closed

    async with ModelServer(ScriptedModel(lambda request, index: endless())) as server, _client(server) as client:
        stream = await client.completions.create(model="m", prompt="p", max_tokens=10_000, stream=True)
        got = []
        async for chunk in stream:
            got.append(chunk.choices[0].text)
            if len(got) == 3:
                break
        await stream.close()  # the client goes away mid-stream
        await asyncio.wait_for(stopped.wait(), timeout=30)
        count = len(made)
        # Nothing of the request is left running: no task still streaming, and the backend makes nothing more.
        await asyncio.wait_for(_no_task_running("_produce"), timeout=30)
        assert len(made) == count
        # The server serves on.
        answer = await client.completions.create(model="m", prompt="p", max_tokens=10_000, stream=True)
        assert (await anext(aiter(answer))).choices[0].text.startswith("tick ")
        await answer.close()
    assert got == ["tick 1 ", "tick 2 ", "tick 3 "]


async def _no_task_running(name: str) -> None:
    running = [task for task in asyncio.all_tasks() if name in repr(task.get_coro())]
    if running:
        await asyncio.wait(running)


async def test_errors_before_the_first_chunk_are_http_errors_after_it_an_error_event():
    async def fails_midway() -> AsyncIterator[str]:
        yield "a "
        yield "b "
        raise RuntimeError("boom")

    def reply(request: GenerationRequest, index: int) -> object:
        if request.prompt == "busy":
            return RateLimitError("slow down", model="up", retry_after=2.5)
        return fails_midway()

    async with ModelServer(ScriptedModel(reply)) as server, _client(server) as client:
        with pytest.raises(openai.RateLimitError) as info:
            await client.completions.create(model="m", prompt="busy", stream=True)
        assert info.value.status_code == 429 and info.value.response.headers["retry-after-ms"] == "2500"
        got = []
        with pytest.raises(openai.APIError, match="RuntimeError: boom"):
            async for chunk in await client.completions.create(model="m", prompt="x", stream=True):
                got.append(chunk.choices[0].text)
        assert got == ["a ", "b "]
        async with httpx.AsyncClient() as http:
            raw = (await http.post(server.url + "/completions", json={"prompt": "x", "stream": True})).text
    error = json.loads(raw.split("\n\n")[-3].removeprefix("data: "))
    assert error == {"error": {"message": "RuntimeError: boom", "type": "server_error", "code": None}}
    assert raw.endswith("data: [DONE]\n\n")


async def test_a_stream_without_the_api_key_is_refused():
    async with ModelServer(ScriptedModel(_story), api_key="sk-right") as server:
        async with _client(server, key="sk-wrong") as client:
            with pytest.raises(openai.AuthenticationError):
                await client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}],
                                                     stream=True)  # fmt: skip
        async with _client(server, key="sk-right") as client:
            stream = await client.completions.create(model="m", prompt="p", stream=True)
            assert "".join([c.choices[0].text async for c in stream]) == "once upon a time, sample 0"


async def test_stream_options_without_stream_is_a_bad_request():
    async with ModelServer(ScriptedModel(_story)) as server, httpx.AsyncClient() as http:
        body = {"prompt": "p", "stream_options": {"include_usage": True}}
        response = await http.post(server.url + "/completions", json=body)
    assert response.status_code == 400 and "stream_options" in response.json()["error"]["message"]
