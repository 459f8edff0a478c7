"""Sample k of a seeded request is drawn with seed + k however it is fetched: alone, in a run, or with gaps that
the cache filled (samples 0 and 2 cached, n=4 asks for 1 and 3, each with its own seed)."""

import asyncio
import json
from typing import Any

import pytest

from reasoning import Completion, Engine, GenerationRequest, OpenAICompatibleModel, ResponseCache, ScriptedModel
from reasoning.backends.llamacpp import LlamaCppModel
from reasoning.backends.torch_local import TorchModel
from reasoning.testing import FaultProxy

SEED = 10
REQUEST = GenerationRequest(prompt="name an animal", temperature=1.0, max_tokens=8, seed=SEED)
BASELINE_DIGEST = "c2c008a6f5861e75"  # REQUEST.digest() before requests could number their samples


def seeded_server(path: str, body: dict[str, Any]) -> dict[str, Any]:
    """A server whose draws are a function of the seed, choice i of n drawn with seed + i (vLLM's rule)."""
    n = int(body.get("n") or 1)
    seed = body["seed"]
    choices = [{"index": i, "text": f"draw {seed + i}", "finish_reason": "stop"} for i in range(n)]
    return {"choices": choices, "usage": {"prompt_tokens": 3, "completion_tokens": n}}


async def alone(proxy: FaultProxy, k: int, n_per_request: bool) -> str:
    """Sample k drawn alone, by a fresh engine with no cache."""
    model = OpenAICompatibleModel("m", base_url=proxy.url + "/v1", api_key="x", n_per_request=n_per_request)
    async with Engine(model) as engine:
        return (await engine.generate(REQUEST, sample_offset=k)).text


GAPS = [(0, 2), (1,), (0, 3), (), (1, 2), (3,), (0, 1, 2, 3), (0, 2, 4)]


@pytest.mark.parametrize("n_per_request", [True, False], ids=["n-in-one-request", "one-request-per-sample"])
@pytest.mark.parametrize("cached", GAPS, ids=[str(set(g)) if g else "{}" for g in GAPS])
async def test_samples_fetched_around_cached_ones_are_each_drawn_with_their_own_seed(cached, n_per_request):
    async with FaultProxy(responder=seeded_server) as proxy:
        model = OpenAICompatibleModel("m", base_url=proxy.url + "/v1", api_key="x", n_per_request=n_per_request)
        async with Engine(model, cache=ResponseCache()) as engine:
            for k in cached:
                await engine.generate(REQUEST, sample_offset=k)
            result = await engine.generate(REQUEST.model_copy(update={"n": 4}))
        singles = [await alone(proxy, k, n_per_request) for k in range(4)]
    assert result.texts == singles == [f"draw {SEED + k}" for k in range(4)]
    assert result.cached == len([k for k in cached if k < 4])
    assert len(set(result.texts)) == 4  # no sample repeats another


async def test_a_run_is_one_request_and_each_gap_its_own():
    async with FaultProxy(responder=seeded_server, record=True) as proxy:
        model = OpenAICompatibleModel("m", base_url=proxy.url + "/v1", api_key="x", n_per_request=True)
        async with Engine(model, cache=ResponseCache()) as engine:
            await engine.generate(REQUEST, sample_offset=2)
            await engine.generate(REQUEST, sample_offset=5)
            result = await engine.generate(REQUEST.model_copy(update={"n": 7}))
    assert result.texts == [f"draw {SEED + k}" for k in range(7)]
    sent = sorted((body.get("n", 1), body["seed"]) for body in (json.loads(e.body) for e in proxy.events[2:]))
    assert sent == [(1, SEED + 6), (2, SEED), (2, SEED + 3)]  # runs 6, 0-1 and 3-4, one request each
    assert result.billed_completion_tokens == 5 and not result.shared


async def test_scripted_model_gets_the_absolute_sample_index():
    seen: list[int] = []

    def handler(request: GenerationRequest, index: int) -> str:
        seen.append(index)
        return f"sample {index} seed {request.seed + index}"

    async with Engine(ScriptedModel(handler), cache=ResponseCache()) as engine:
        await engine.generate(REQUEST, sample_offset=0)
        await engine.generate(REQUEST, sample_offset=2)
        result = await engine.generate(REQUEST.model_copy(update={"n": 4}))
        later = await engine.generate(REQUEST.model_copy(update={"n": 2}), sample_offset=6)
    assert seen == [0, 2, 1, 3, 6, 7]
    assert result.texts == [f"sample {k} seed {SEED + k}" for k in range(4)]
    assert later.texts == ["sample 6 seed 16", "sample 7 seed 17"]


async def test_unseeded_gaps_are_distinct_samples_too():
    async with Engine(ScriptedModel(lambda request, index: f"sample {index}"), cache=ResponseCache()) as engine:
        await engine.generate(GenerationRequest(prompt="x"), sample_offset=1)
        result = await engine.generate(GenerationRequest(prompt="x", n=3))
    assert result.texts == ["sample 0", "sample 1", "sample 2"] and result.cached == 1


async def test_identical_gapped_requests_in_flight_share_each_run():
    gate, both_runs_sent = asyncio.Event(), asyncio.Event()
    calls: list[tuple[int, int]] = []

    async def handler(request: GenerationRequest, index: int) -> str:
        calls.append((request.sample_offset, request.n))
        if len(calls) >= 3:
            both_runs_sent.set()
        await gate.wait()
        return f"draw {request.seed + index}"

    async with Engine(ScriptedModel(handler), cache=ResponseCache()) as engine:
        gate.set()
        await engine.generate(REQUEST, sample_offset=1)
        gate.clear()
        four = REQUEST.model_copy(update={"n": 4})
        both = asyncio.gather(engine.generate(four), engine.generate(four))
        await both_runs_sent.wait()  # both runs reached the model: both callers have joined them by now
        gate.set()
        first, second = await both
    assert first.texts == second.texts == [f"draw {SEED + k}" for k in range(4)]
    assert sorted(set(calls[1:])) == [(0, 1), (2, 2)]  # runs 0 and 2-3, each sent once
    assert second.shared and not first.shared


def test_the_request_numbers_its_samples_outside_the_cache_key():
    offset = REQUEST.model_copy(update={"sample_offset": 3, "n": 2})
    assert [offset.sample_seed(i) for i in range(2)] == [13, 14]
    assert GenerationRequest(prompt="x").sample_seed(0) is None
    assert offset.sampling_key() == REQUEST.sampling_key()
    assert "sample_offset" not in REQUEST.sampling_key()
    # A request that does not number its samples hashes as it did before the field existed (logs compare).
    assert REQUEST.digest() == BASELINE_DIGEST
    assert offset.digest() != REQUEST.model_copy(update={"n": 2}).digest()


async def test_llama_cpp_draws_sample_k_with_seed_plus_k():
    class FakeLlama:
        def create_completion(self, prompt: str, **options: Any) -> dict[str, Any]:
            return {"choices": [{"text": f"draw {options['seed']}", "finish_reason": "stop"}], "usage": {}}

    model = LlamaCppModel.__new__(LlamaCppModel)
    model.name, model._llama, model._lock = "fake", FakeLlama(), asyncio.Lock()
    result = await model.generate(REQUEST.model_copy(update={"n": 2, "sample_offset": 3}))
    assert result.texts == [f"draw {SEED + 3}", f"draw {SEED + 4}"]


async def test_torch_draws_sample_k_with_seed_plus_k():
    model = TorchModel.__new__(TorchModel)
    model.name, model._lock = "fake", asyncio.Lock()
    model.encode = lambda request: [1, 2]  # type: ignore[method-assign]
    model._decode = lambda ids, request, seed: Completion(text=f"draw {seed}")  # type: ignore[method-assign]
    result = await model.generate(REQUEST.model_copy(update={"n": 2, "sample_offset": 3}))
    assert result.texts == [f"draw {SEED + 3}", f"draw {SEED + 4}"]


@pytest.mark.model
async def test_on_the_real_model_gapped_samples_are_the_samples_drawn_alone(torch_model):
    """Where the issue was seen ("African elephant." twice). Torch, not llama.cpp: llama.cpp reuses the previous
    prompt's KV cache, which moves the logits enough that one seed can sample differently from call to call."""
    request = GenerationRequest.chat("Name one animal.", temperature=1.0, max_tokens=6, seed=7)
    alone = Engine(torch_model)  # not closed: the model is the session's
    singles = [(await alone.generate(request, sample_offset=k)).text for k in range(4)]
    engine = Engine(torch_model, cache=ResponseCache())
    for k in (0, 2):
        await engine.generate(request, sample_offset=k)
    result = await engine.generate(request.model_copy(update={"n": 4}))
    assert result.texts == singles and result.cached == 2
