"""The torch backend's batching: concurrent requests and the n samples of one decode together, and each answer is
the one it gets alone (fp32, a tiny random model with a byte-level tokenizer, built on the spot); cancelling one
leaves the others alone; streaming and closing work as unbatched."""

from __future__ import annotations

import asyncio
import threading

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from reasoning import GenerationRequest  # noqa: E402
from reasoning.backends.torch_local import TorchModel  # noqa: E402
from reasoning.errors import BackendError, ConfigurationError  # noqa: E402
from reasoning.types import DecodingConfig  # noqa: E402


def tiny_folder(path, arch="qwen2", **extra):
    """A 2-layer model over bytes (256 byte tokens and an EOS), saved as a Hugging Face folder at `path`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    vocab = {c: i for i, c in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    vocab["<|endoftext|>"] = len(vocab)
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    transformers.PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|endoftext|>").save_pretrained(path)
    torch.manual_seed(0)
    kinds = {"qwen2": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM),
             "mistral": (transformers.MistralConfig, transformers.MistralForCausalLM)}  # fmt: skip
    config_cls, model_cls = kinds[arch]
    config = config_cls(vocab_size=len(vocab), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                        num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                        eos_token_id=len(vocab) - 1, **extra)  # fmt: skip
    model_cls(config).save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tiny_folder(tmp_path_factory.mktemp("tiny-qwen2"))


@pytest.fixture(scope="module")
def batched(folder):
    return TorchModel(folder, dtype="float32", prefix_cache_tokens=0)


@pytest.fixture(scope="module")
def alone(folder):
    return TorchModel(folder, dtype="float32", max_batch=1, prefix_cache_tokens=0)


def requests():
    return [GenerationRequest(prompt=f"Use numbers {i} {i + 3} {2 * i + 1} to obtain 24." * (1 + i % 3),
                              temperature=0, max_tokens=5 + 3 * i, stop=["e"] if i % 4 == 1 else [])
            for i in range(10)]  # fmt: skip


async def test_concurrent_greedy_requests_answer_as_alone(batched, alone):
    together = await asyncio.gather(*[batched.generate(r) for r in requests()])
    for request, result in zip(requests(), together, strict=True):
        reference = await alone.generate(request)
        assert result.completions[0].text == reference.completions[0].text
        assert result.completions[0].finish_reason == reference.completions[0].finish_reason
    sizes = [r.completions[0].decoding.batch_size for r in together]
    assert max(sizes) > 2 and all(r.completions[0].decoding.mode == "greedy" for r in together)


async def test_the_call_log_says_which_calls_were_batched(folder, tmp_path):
    # Issue 18's "reported per call", on the real backend: each call's line in calls.jsonl gives its samples' mean
    # batch size and lookahead steps; a request sent alone afterwards says it decoded alone.
    import json

    from reasoning import Engine

    log = tmp_path / "calls.jsonl"
    async with Engine(TorchModel(folder, dtype="float32", prefix_cache_tokens=0), log=log) as engine:
        await asyncio.gather(*[engine.generate(r) for r in requests()[:6]])
        await engine.generate(GenerationRequest(prompt="Alone: 4 4 6 8", temperature=0, max_tokens=4))
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    together, alone = lines[:6], lines[6]
    assert max(line["decoding"][0]["batch_size"] for line in together) > 2
    assert all(line["decoding"][0]["mode"] == "greedy" for line in lines)
    assert alone["decoding"][0]["batch_size"] == 1.0 and alone["completion_tokens"] == 4


async def test_samples_of_a_request_decode_together_with_their_seeds(batched, alone):
    request = GenerationRequest(prompt="Count: 1, 2,", temperature=0.8, top_p=0.9, max_tokens=12, n=4, seed=7)
    result = await batched.generate(request)
    reference = await alone.generate(request)
    assert [c.text for c in result.completions] == [c.text for c in reference.completions]
    assert all(c.decoding.batch_size > 1 and c.decoding.mode == "sample" for c in result.completions)


async def test_a_cancelled_request_leaves_the_batch_and_the_others_finish(batched, alone):
    long = GenerationRequest(prompt="Count from 1 to 1000:", temperature=0, max_tokens=400)
    others = requests()[:4]
    together, cancelled = threading.Event(), threading.Event()

    def hold(module, args, kwargs):  # the first step of them all together waits until the victim is cancelled
        if kwargs["input_ids"].shape[0] > 1 and not together.is_set():
            together.set()
            cancelled.wait(60)

    hook = batched.model.register_forward_pre_hook(hold, with_kwargs=True)
    try:
        victim = asyncio.ensure_future(batched.generate(long))
        rest = [asyncio.ensure_future(batched.generate(r)) for r in others]
        assert await asyncio.to_thread(together.wait, 60)
        victim.cancel()
        cancelled.set()
        with pytest.raises(asyncio.CancelledError):
            await victim
        results = await asyncio.gather(*rest)
    finally:
        cancelled.set()
        hook.remove()
    for request, result in zip(others, results, strict=True):
        assert result.completions[0].text == (await alone.generate(request)).completions[0].text


async def test_stream_of_a_batched_request_gives_each_sample_whole(batched):
    request = GenerationRequest(prompt="Count: 1, 2,", temperature=0.8, max_tokens=12, n=3, seed=3)
    texts = ["", "", ""]
    finals = {}
    async for delta in batched.stream(request):
        texts[delta.index] += delta.text
        if delta.finish_reason is not None:
            finals[delta.index] = delta
    assert texts == [c.text for c in (await batched.generate(request)).completions]
    assert sorted(finals) == [0, 1, 2] and all(d.decoding.batch_size > 1 for d in finals.values())


async def test_speculating_alone_is_the_default_and_gives_greedy_text(folder, batched):
    plain = TorchModel(folder, dtype="float32", speculate=0, prefix_cache_tokens=0)
    for request in requests()[:4]:
        request = request.model_copy(update={"max_tokens": 30})
        result, reference = await batched.generate(request), await plain.generate(request)
        assert result.completions[0].text == reference.completions[0].text
        assert result.completions[0].decoding.speculative_calls > 0
        assert reference.completions[0].decoding.speculative_calls == 0


async def test_close_during_a_batch_fails_its_calls(folder):
    model = TorchModel(folder, dtype="float32", prefix_cache_tokens=0)
    started = threading.Event()
    model.model.register_forward_hook(lambda *_: started.set())
    calls = [asyncio.ensure_future(model.generate(r.model_copy(update={"max_tokens": 300}))) for r in requests()[:3]]
    assert await asyncio.to_thread(started.wait, 60)
    await model.aclose()
    for call in calls:
        with pytest.raises(BackendError):
            await call
    with pytest.raises(BackendError):
        await model.generate(requests()[0])


async def test_a_sliding_window_model_decodes_each_sample_alone(tmp_path):
    """The batch's padded cache does not fit a sliding-window layer's (Mistral, Gemma 2): such a model decodes each
    sample alone, and prompts longer than its window still get their greedy answers."""
    model = TorchModel(tiny_folder(tmp_path, "mistral", sliding_window=8), dtype="float32", prefix_cache_tokens=0)
    assert model.max_batch == 1 and model.speculate == 0
    with pytest.raises(ConfigurationError, match="sliding-window"):
        TorchModel(tmp_path, dtype="float32", decoding=DecodingConfig(mode="lookahead"))
    prompts = [GenerationRequest(prompt="Use 4 9 10 13 to obtain 24." * (1 + i), temperature=0, max_tokens=6)
               for i in range(3)]  # fmt: skip
    together = await asyncio.gather(*[model.generate(r) for r in prompts])
    for request, result in zip(prompts, together, strict=True):
        assert result.completions[0].text == (await model.generate(request)).completions[0].text
    await model.aclose()
