"""Our OpenAI-compatible server: protocol and errors on a scripted model, then the real torch model with parallel
decoding driven remotely through our own backend and through `reasoning serve`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from reasoning import (
    APIConnectionError,
    Engine,
    GenerationRequest,
    OpenAICompatibleModel,
    RateLimitError,
    ScriptedModel,
)
from reasoning.serve import ModelServer
from reasoning.types import Completion, DecodingConfig, DecodingStats

from ..conftest import free_port


def _echo(request: GenerationRequest, index: int) -> Completion:
    text = request.prompt if request.prompt is not None else request.messages[-1].content  # type: ignore[index]
    stats = DecodingStats(mode="lookahead" if request.decoding else "greedy", model_calls=3, tokens_per_call=2.0,
                          seconds=0.01)  # fmt: skip
    return Completion(text=f"{text}#{index}/t={request.temperature}", finish_reason="stop", completion_tokens=2,
                      decoding=stats)  # fmt: skip


async def test_stopping_the_server_cancels_the_requests_it_is_answering():
    # A request still being generated when the server stops must not keep running after it (it kept the model
    # busy for a client that was gone, and outlived the test that started it).
    started, finished = asyncio.Event(), []

    async def slow(request: GenerationRequest, index: int) -> str:
        started.set()
        await asyncio.sleep(60)
        finished.append(index)
        return "late"

    server = await ModelServer(ScriptedModel(slow)).start()
    client = OpenAICompatibleModel("m", base_url=server.url, timeout=120)
    call = asyncio.ensure_future(client.generate(GenerationRequest(prompt="x")))
    await started.wait()
    await asyncio.wait_for(server.stop(), timeout=30)  # not the 60 s the request would take
    left = [t for t in asyncio.all_tasks() if "ModelServer._serve" in repr(t.get_coro())]
    with pytest.raises(APIConnectionError):  # the connection is cut, not answered
        await call
    await client.aclose()
    assert left == [] and finished == []


def _post(url: str, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict[str, object], dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=600) as response:  # a real model on a loaded machine
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)


async def test_completions_and_chat_through_our_backend_and_engine():
    scripted = ScriptedModel(_echo, name="echo")
    async with ModelServer(scripted, served_name="served") as server:
        async with Engine(OpenAICompatibleModel("served", base_url=server.url)) as engine:
            one = await engine.generate(GenerationRequest(prompt="p", temperature=0, max_tokens=5))
            chat = await engine.generate(GenerationRequest.chat("hi", n=3, seed=4, temperature=0.5))
            fast = await engine.generate(GenerationRequest(prompt="q", temperature=0, decoding="lookahead"))
    assert one.text == "p#0/t=0.0" and one.prompt_tokens == 1 and one.completions[0].completion_tokens == 2
    assert chat.texts == ["hi#0/t=0.5", "hi#1/t=0.5", "hi#2/t=0.5"]  # n answered in one request
    assert [r.n for r in scripted.calls] == [1, 3, 1]
    # The decoding mode travels to the server and its stats come back per choice.
    assert scripted.calls[2].decoding is not None and scripted.calls[2].decoding.mode == "lookahead"
    assert fast.completions[0].decoding == DecodingStats(mode="lookahead", model_calls=3, tokens_per_call=2.0,
                                                         seconds=0.01)  # fmt: skip
    assert scripted.calls[0].max_tokens == 5 and scripted.calls[1].seed == 4


async def test_bad_requests_get_openai_shaped_errors_and_the_server_keeps_serving():
    scripted = ScriptedModel(_echo)
    async with ModelServer(scripted) as server:
        base = server.url
        cases = [
            ("/completions", b"{not json", 400, "not JSON"),
            ("/completions", b"[1, 2]", 400, "JSON object"),
            ("/completions", json.dumps({"prompt": "a", "stream": "yes"}).encode(), 400, "stream"),
            ("/completions", json.dumps({"prompt": 3}).encode(), 400, "prompt"),
            ("/completions", json.dumps({"prompt": "a", "n": 0}).encode(), 400, "n"),
            ("/completions", json.dumps({"prompt": "a", "decoding": "warp"}).encode(), 400, "decoding"),
            ("/chat/completions", json.dumps({"messages": "hi"}).encode(), 400, "messages"),
            ("/chat/completions", json.dumps({"messages": [{"role": "robot", "content": "x"}]}).encode(), 400, "role"),
            ("/embeddings", b"{}", 404, "no route"),
        ]
        for path, body, status, words in cases:
            got, payload, _ = await asyncio.to_thread(_post, base + path, body)
            assert got == status, (path, body, payload)
            assert words in payload["error"]["message"]  # type: ignore[index]
        got, payload, _ = await asyncio.to_thread(_post, base + "/completions", json.dumps({"prompt": "ok"}).encode())
        assert got == 200 and payload["choices"][0]["text"] == "ok#0/t=1.0"  # type: ignore[index]
    assert len(scripted.calls) == 1  # no bad request reached the model


async def test_backend_errors_map_to_statuses_and_api_key_is_checked():
    def fail(request: GenerationRequest, index: int) -> object:
        if request.prompt == "busy":
            return RateLimitError("slow down", model="up", retry_after=2.5)
        raise RuntimeError("boom")

    async with ModelServer(ScriptedModel(fail), api_key="sk-secret-123") as server:
        body = json.dumps({"prompt": "busy"}).encode()
        status, payload, _ = await asyncio.to_thread(_post, server.url + "/completions", body)
        assert status == 401
        auth = {"Authorization": "Bearer sk-secret-123"}
        status, payload, headers = await asyncio.to_thread(_post, server.url + "/completions", body, auth)
        # HTTP's Retry-After is whole seconds (rounded up; strict clients reject a fraction); the exact wait in ms.
        assert status == 429 and headers["Retry-After"] == "3" and headers["retry-after-ms"] == "2500"
        status, payload, _ = await asyncio.to_thread(
            _post, server.url + "/completions", json.dumps({"prompt": "x"}).encode(), auth
        )
        assert status == 500 and "RuntimeError: boom" in payload["error"]["message"]  # type: ignore[index]
        assert "sk-secret" not in repr(server)


@pytest.mark.model
async def test_torch_model_served_with_parallel_decoding_gives_greedy_output(torch_model):
    request = GenerationRequest(prompt="def fibonacci(n):", temperature=0, max_tokens=32)
    local = await torch_model.generate(request)
    async with (
        ModelServer(torch_model) as server,
        OpenAICompatibleModel(torch_model.name, base_url=server.url) as remote,
    ):
        greedy = await remote.generate(request)
        # No fallback: on a loaded machine the stopwatch may hand a slow lookahead over to greedy before its first
        # accepted guess, and then the calls are greedy's (what this test compares is the calls, not the clock).
        lookahead = DecodingConfig(mode="lookahead", block=4, fallback=False)
        fast = await remote.generate(request.model_copy(update={"decoding": lookahead}))
    assert greedy.text == fast.text == local.text
    assert greedy.prompt_tokens == local.prompt_tokens and fast.completion_tokens == local.completion_tokens
    greedy_stats, fast_stats = greedy.completions[0].decoding, fast.completions[0].decoding
    assert greedy_stats is not None and greedy_stats.mode == "greedy"
    assert fast_stats is not None and fast_stats.mode == "lookahead"
    # Plain greedy makes one forward a token; the served model's own greedy requests speculate when alone (the
    # default), so their calls are no yardstick.
    assert fast_stats.model_calls < greedy.completions[0].completion_tokens


@pytest.mark.model
def test_reasoning_serve_command(torch_model, tmp_path):
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    # fp32: lookahead's text is greedy's whether or not its stopwatch falls back (in bf16 it may differ).
    command = [sys.executable, "-m", "reasoning.cli", "serve", "--backend", "torch", "--decoding", "lookahead",
               "--block", "4", "--port", str(port), "--served-name", "local", "--dtype", "float32"]  # fmt: skip
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 600  # loading the model on a loaded machine
        while True:
            assert proc.poll() is None, (tmp_path / "serve.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2) as response:
                    assert json.loads(response.read())["data"][0]["id"] == "local"
                    break
            except OSError:
                assert time.monotonic() < deadline, (tmp_path / "serve.log").read_text()
                time.sleep(0.3)
        status, payload, _ = _post(
            f"http://127.0.0.1:{port}/v1/chat/completions",
            json.dumps(
                {
                    "model": "local",
                    "messages": [{"role": "user", "content": "Say hi."}],
                    "temperature": 0,
                    "max_tokens": 12,
                }
            ).encode(),
        )
        assert status == 200
        choice = payload["choices"][0]  # type: ignore[index]
        assert choice["message"]["content"] and choice["decoding"]["mode"] == "lookahead"
        # The same request streamed through the official client: token by token, the same text.
        import openai

        with openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="none", max_retries=0) as client:
            stream = client.chat.completions.create(model="local", messages=[{"role": "user", "content": "Say hi."}],
                                                    temperature=0, max_tokens=12, stream=True)  # fmt: skip
            chunks = list(stream)
        assert "".join(c.choices[0].delta.content or "" for c in chunks) == choice["message"]["content"]
        assert chunks[-1].choices[0].model_extra["decoding"]["mode"] == "lookahead"  # type: ignore[index]
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()
