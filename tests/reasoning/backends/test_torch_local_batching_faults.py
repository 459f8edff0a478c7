"""Faults found by trying to break the torch backend's batching and prefix cache through its public API (fp32, the
tiny byte-level model of `test_torch_local_batching`): each test is one input that went wrong, and what it must do."""

from __future__ import annotations

import asyncio

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from reasoning import DecodingConfig, GenerationRequest  # noqa: E402
from reasoning.backends.torch_local import TorchModel  # noqa: E402
from reasoning.errors import BackendError  # noqa: E402

from .test_torch_local_batching import folder  # noqa: E402, F401  (the module-scoped tiny model folder)

PROMPT = "Use numbers 4 9 10 13 to obtain 24. "


async def test_an_empty_prompt_fails_alone_with_a_clear_error(folder):  # noqa: F811
    # An empty prompt (no tokens) raised torch's "Expected tensor for argument #1 'indices'" inside the batch's
    # prefill, which failed every request decoding with it.
    model = TorchModel(folder, dtype="float32")
    try:
        requests = [GenerationRequest(prompt=PROMPT, temperature=0, max_tokens=20) for _ in range(4)]
        calls = [asyncio.ensure_future(model.generate(r)) for r in requests]
        empty = asyncio.ensure_future(model.generate(GenerationRequest(prompt="", temperature=0, max_tokens=5)))
        results = await asyncio.wait_for(asyncio.gather(*calls), 60)
        with pytest.raises(BackendError, match="no tokens"):
            await empty
        assert all(r.completions[0].completion_tokens == 20 for r in results)
        for request in (GenerationRequest(prompt="", temperature=0.7, max_tokens=5),
                        GenerationRequest(prompt="", temperature=0, max_tokens=5,
                                          decoding=DecodingConfig(mode="lookahead"))):  # fmt: skip
            with pytest.raises(BackendError, match="no tokens"):
                await model.generate(request)
            with pytest.raises(BackendError, match="no tokens"):
                async for _ in model.stream(request):
                    pass
    finally:
        await model.aclose()


def test_a_prefill_that_raises_fails_its_sequence_alone():
    # decode_batch itself: a sequence whose prefill raises leaves with that error; the others decode on.
    from reasoning.batching import Sequence, decode_batch

    torch.manual_seed(0)
    config = transformers.Qwen2Config(vocab_size=48, hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                                      num_attention_heads=2, num_key_value_heads=1)  # fmt: skip
    model = transformers.Qwen2ForCausalLM(config).eval()
    good, bad = Sequence([1, 2, 3], 5, frozenset()), Sequence([], 5, frozenset())
    decode_batch(model, [good, bad, Sequence([4, 5], 3, frozenset())])
    assert bad.error is not None and bad.result is None
    assert good.result is not None and len(good.result.tokens) == 5


@pytest.mark.parametrize("request_", [
    GenerationRequest(prompt=PROMPT, temperature=0, max_tokens=1000),
    GenerationRequest(prompt=PROMPT, temperature=0.8, max_tokens=1000, n=2, seed=1),
    GenerationRequest(prompt=PROMPT, temperature=0, max_tokens=1000, decoding=DecodingConfig(mode="lookahead")),
])  # fmt: skip
async def test_closing_a_stream_stops_its_samples_before_aclose_returns(folder, request_):  # noqa: F811
    # `stream` wrapped an inner generator without closing it: after the caller's `aclose()` the samples went on
    # decoding until the garbage collector finalized the inner one (and for as long as a stored exception kept it).
    model = TorchModel(folder, dtype="float32")
    forwards = []
    model.model.register_forward_hook(lambda *_: forwards.append(1))
    try:
        stream = model.stream(request_)
        await asyncio.wait_for(stream.__anext__(), 60)
        held = stream.ag_frame  # keep the generator's frame (and what it refers to) alive, as a traceback would
        await asyncio.wait_for(stream.aclose(), 60)
        assert not model._inflight and not model._queue
        seen = len(forwards)
        await asyncio.sleep(0.3)
        assert len(forwards) == seen  # nothing decodes any more
        del held
    finally:
        await model.aclose()


async def test_chat_for_a_tokenizer_without_a_chat_template_is_a_backend_error(folder):  # noqa: F811
    # transformers' ValueError ("tokenizer.chat_template is not set") came out raw from generate and stream.
    model = TorchModel(folder, dtype="float32")
    try:
        chat = GenerationRequest(messages=[{"role": "user", "content": "hi"}], temperature=0, max_tokens=3)
        other = asyncio.ensure_future(model.generate(GenerationRequest(prompt=PROMPT, temperature=0, max_tokens=5)))
        with pytest.raises(BackendError, match="chat template"):
            await model.generate(chat)
        with pytest.raises(BackendError, match="chat template"):
            async for _ in model.stream(chat):
                pass
        assert (await other).completions[0].completion_tokens == 5
    finally:
        await model.aclose()


def test_requests_from_two_event_loops_never_hang(folder):  # noqa: F811
    # Two threads, each with its own asyncio.run, share one model: the first loop's driver took the second loop's
    # sequences into its batch, then was cancelled when its asyncio.run ended; they never left, and the second
    # loop's calls hung (even their cancellation). Each call must answer or raise BackendError.
    import threading

    model = TorchModel(folder, dtype="float32")
    request = GenerationRequest(prompt=PROMPT, temperature=0.7, seed=1, n=3, max_tokens=10)
    outcomes: dict[int, object] = {}

    def run(k: int) -> None:
        async def calls() -> list[object]:
            return await asyncio.wait_for(asyncio.gather(*[model.generate(request) for _ in range(5)],
                                                         return_exceptions=True), 60)  # fmt: skip

        try:
            outcomes[k] = asyncio.run(calls())
        except BaseException as exc:  # recorded for the assertion
            outcomes[k] = exc

    for _ in range(3):
        outcomes.clear()
        threads = [threading.Thread(target=run, args=(k,), daemon=True) for k in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(90)
        assert sorted(outcomes) == [0, 1], "a loop's calls hung"
        for results in outcomes.values():
            assert isinstance(results, list), results
            assert all(isinstance(r, BackendError) or len(r.completions) == 3 for r in results)
        assert not model._inflight
    asyncio.run(model.aclose())
