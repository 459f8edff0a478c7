"""The torch backend: our KV-cache decoding loop is checked token by token against Hugging Face `generate`."""

import asyncio

import pytest

from reasoning import GenerationRequest

pytestmark = pytest.mark.model

PROMPTS = [
    GenerationRequest(prompt="def fibonacci(n):", temperature=0, max_tokens=24),
    GenerationRequest.chat("What is 4 + 5? Answer with the number only.", temperature=0, max_tokens=8),
    GenerationRequest.chat(
        "Input: 4 5 6 10\nPossible next steps:\n4 + 5 = 9 (left: 6 9 10)\nInput: 2 8 8 14\nPossible next steps:",
        temperature=0,
        max_tokens=32,
    ),
]


@pytest.mark.parametrize("request_", PROMPTS, ids=["code", "chat", "propose"])
async def test_greedy_matches_hf_generate(torch_model, request_):
    import torch

    ids = torch_model.encode(request_)
    with torch.inference_mode():
        reference = torch_model.model.generate(
            torch.tensor([ids]),
            attention_mask=torch.ones(1, len(ids), dtype=torch.long),
            max_new_tokens=request_.max_tokens,
            do_sample=False,
            pad_token_id=torch_model.tokenizer.eos_token_id,
        )[0, len(ids) :].tolist()
    reference = [t for t in reference if t not in torch_model.eos_token_ids]
    expected = torch_model.tokenizer.decode(reference, skip_special_tokens=True)
    result = await torch_model.generate(request_)
    assert result.text == expected
    assert result.completions[0].completion_tokens == len(reference)
    assert result.prompt_tokens == len(ids)


async def test_stop_string_cuts_text(torch_model):
    result = await torch_model.generate(
        GenerationRequest(prompt="def add(a, b):", temperature=0, max_tokens=40, stop=("return",))
    )
    assert "return" not in result.text and result.completions[0].finish_reason == "stop"


async def test_seeded_sampling_repeatable_and_distinct(torch_model):
    request = GenerationRequest(prompt="My favourite animal is the", temperature=1.0, max_tokens=4, n=4, seed=7)
    first = await torch_model.generate(request)
    second = await torch_model.generate(request)
    assert first.texts == second.texts
    assert len(set(first.texts)) > 1


async def test_parallel_decoding_mode_gives_the_same_text(torch_model):
    from reasoning.types import DecodingConfig

    request = GenerationRequest(prompt="def fibonacci(n):", temperature=0, max_tokens=24, stop=("\n\n",))
    plain = await torch_model.generate(request)
    torch_model.decoding = DecodingConfig(mode="lookahead", block=6, fallback=False)
    try:
        parallel = await torch_model.generate(request)
    finally:
        torch_model.decoding = None
    assert parallel.text == plain.text
    assert parallel.completions[0].finish_reason == plain.completions[0].finish_reason
    stats = parallel.completions[0].decoding
    assert stats is not None and stats.mode == "lookahead"
    # Fewer forwards than greedy's one a token (the plain request's own calls may include lookahead steps).
    assert 1 <= stats.model_calls < plain.completions[0].completion_tokens
    assert stats.tokens_per_call > 1.0


async def test_decoding_chosen_per_request(torch_model):
    base = dict(prompt="def fibonacci(n):", temperature=0, max_tokens=24, stop=("\n\n",))
    plain = await torch_model.generate(GenerationRequest(**base))
    per_request = await torch_model.generate(
        GenerationRequest(**base, decoding={"mode": "lookahead", "block": 6, "fallback": False})
    )
    shorthand = await torch_model.generate(GenerationRequest(**base, decoding="jacobi"))
    assert plain.text == per_request.text == shorthand.text
    assert plain.completions[0].decoding.mode == "greedy"  # type: ignore[union-attr]
    assert per_request.completions[0].decoding.mode == "lookahead"  # type: ignore[union-attr]
    assert shorthand.completions[0].decoding.mode == "jacobi"  # type: ignore[union-attr]
    # Sampled requests ignore the decoding mode (it only exists for greedy).
    sampled = await torch_model.generate(GenerationRequest(**{**base, "temperature": 0.7}, seed=1, decoding="jacobi"))
    assert sampled.completions[0].decoding.mode == "sample"  # type: ignore[union-attr]


async def test_seeded_samples_do_not_depend_on_the_batch_or_the_cache(torch_model):
    # The variant of the test above: four samples decoded beside another request (one batch, the prompt not yet
    # cached), then each alone (a batch of one, the prompt from the prefix cache), are the same tokens. The last
    # bits of their logits differ between the two; the draw must not turn on them (`reasoning.decoding._draw`).
    request = GenerationRequest(prompt="Name a colour and a city:", temperature=1.0, max_tokens=12, n=4, seed=11)
    other = GenerationRequest(prompt="Write a number:", temperature=1.0, max_tokens=12, n=2, seed=3)
    together, _ = await asyncio.gather(torch_model.generate(request), torch_model.generate(other))
    max_batch, torch_model.max_batch = torch_model.max_batch, 1
    try:
        alone = [await torch_model.generate(request.model_copy(update={"n": 1, "seed": 11 + k})) for k in range(4)]
    finally:
        torch_model.max_batch = max_batch
    assert together.texts == [result.text for result in alone]
    assert any(c.decoding is not None and c.decoding.batch_size > 1 for c in together.completions)
