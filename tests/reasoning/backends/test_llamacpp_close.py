"""Cancelling and closing the llama.cpp model while a decode runs on its thread: what Ctrl-C during a run does.

Freeing the context under a running decode was a segfault, so each case runs in a subprocess: a crash is a failed
return code here, not a dead pytest. The script traces every forward (`Llama.eval`) and the release (`Llama.close`)
and prints what it saw as JSON.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import require

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parents[3]

SCRIPT = r"""
import asyncio, json, sys, threading, time
from reasoning import Engine, GenerationRequest
from reasoning.backends.llamacpp import LlamaCppModel
from reasoning.errors import BackendError
from reasoning.serve import ModelServer

LONG = GenerationRequest(prompt="Count from 1 to 1000: 1, 2, 3,", temperature=0, max_tokens=1500)
SHORT = GenerationRequest(prompt="def add(a, b):", temperature=0, max_tokens=12)
seen = {}


def load(name):
    model = LlamaCppModel(sys.argv[1], n_threads=2)
    llama, forward, close = model._llama, model._llama.eval, model._llama.close
    trace = {"in_forward": False, "forwards": 0, "threads": set(), "release": None}

    def traced_forward(tokens):
        trace["in_forward"] = True
        trace["threads"].add(threading.current_thread().name)
        try:
            forward(tokens)
        finally:
            trace["in_forward"] = False
            trace["forwards"] += 1

    def traced_close():
        trace["release"] = {"in_forward": trace["in_forward"], "thread": threading.current_thread().name}
        close()

    llama.eval, llama.close = traced_forward, traced_close
    return model, trace


async def decoding(model, trace, task):
    # Until the call's decode is well under way: past the prompt's forward, several token forwards done.
    start = trace["forwards"]
    while trace["forwards"] < start + 8:
        assert not task.done(), task
        await asyncio.sleep(0.01)


async def quiet(trace, seconds=0.3):
    # Whether any forward ran in the `seconds` after a call was said to have stopped.
    before = trace["forwards"], trace["in_forward"]
    await asyncio.sleep(seconds)
    return before == (trace["forwards"], False)


async def main():
    model, trace = load("a")
    reference = (await model.generate(SHORT)).text

    # 1. What the harness does on Ctrl-C: the run's task is cancelled, then the engine closes the model.
    engine = Engine(model)
    task = asyncio.create_task(engine.generate(LONG))
    await decoding(model, trace, task)
    task.cancel()
    await engine.aclose()
    seen["engine_task"] = "cancelled" if task.cancelled() else repr(task.exception())
    seen["release_after_engine_close"] = trace["release"]
    seen["forward_threads"] = sorted(trace["threads"])
    seen["quiet_after_engine_close"] = await quiet(trace)

    # 2. A cancelled generate: the decode stops before the caller hears of it; the model answers as before after.
    model, trace = load("b")
    task = asyncio.create_task(model.generate(LONG))
    await decoding(model, trace, task)
    started = time.monotonic()
    task.cancel()
    try:
        await task
        seen["cancel"] = "not cancelled"
    except asyncio.CancelledError:
        seen["cancel"] = "cancelled"
    seen["cancel_seconds"] = time.monotonic() - started
    seen["quiet_after_cancel"] = await quiet(trace)
    seen["same_after_cancel"] = (await model.generate(SHORT)).text == reference

    # 3. A server stopping mid-request leaves no decode running.
    async with ModelServer(model) as server:
        reader, writer = await asyncio.open_connection(server.host, server.port)
        body = json.dumps({"prompt": LONG.prompt, "max_tokens": 1500, "temperature": 0}).encode()
        writer.write(b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        await writer.drain()
        served = asyncio.ensure_future(reader.read())
        await decoding(model, trace, served)
    seen["quiet_after_server_stop"] = await quiet(trace)
    writer.close()

    # 4. `aclose` while a call is live (its caller not cancelled).
    task = asyncio.create_task(model.generate(LONG))
    await decoding(model, trace, task)
    await model.aclose()
    seen["release_after_aclose"] = trace["release"]
    try:
        await task
        seen["live_call"] = "returned"
    except BackendError as exc:
        seen["live_call"] = str(exc)
    try:
        await model.generate(SHORT)
        seen["after_close"] = "answered"
    except BackendError as exc:
        seen["after_close"] = str(exc)
    seen["forward_threads_b"] = sorted(trace["threads"])


asyncio.run(main())
print(json.dumps(seen))
"""


def test_cancel_and_close_during_a_decode_wait_for_it_and_do_not_crash(embedded_gguf_path, tmp_path):
    require("llama_cpp")
    out = subprocess.run([sys.executable, "-X", "faulthandler", "-c", SCRIPT, str(embedded_gguf_path)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)  # fmt: skip
    assert out.returncode == 0, f"return code {out.returncode}\n{out.stderr[-4000:]}"
    seen = json.loads(out.stdout.splitlines()[-1])
    # 1. The engine's close freed the context on the model's own thread, with no forward running, and none after.
    [thread] = seen["forward_threads"]
    assert seen["engine_task"] == "cancelled"
    assert seen["release_after_engine_close"] == {"in_forward": False, "thread": thread}
    assert seen["quiet_after_engine_close"]
    # 2. Cancelled: stopped within a token's time (no waiting for the 1500 tokens), nothing ran after, state whole.
    assert seen["cancel"] == "cancelled" and seen["cancel_seconds"] < 10
    assert seen["quiet_after_cancel"] and seen["same_after_cancel"]
    # 3. A stopped server leaves no decode running.
    assert seen["quiet_after_server_stop"]
    # 4. A live call abandoned by aclose fails as a BackendError; the release waited for it, on the same thread.
    [thread_b] = seen["forward_threads_b"]
    assert seen["release_after_aclose"] == {"in_forward": False, "thread": thread_b}
    assert "closed during the call" in seen["live_call"]
    assert "the model is closed" in seen["after_close"]
