import pytest

from reasoning import Engine, GenerationRequest, ResponseCache

pytestmark = pytest.mark.model


async def test_chat_answer(llama_model):
    result = await llama_model.generate(
        GenerationRequest.chat("What is 4 + 5? Answer with the number only.", temperature=0, max_tokens=8)
    )
    assert result.text.strip() == "9"
    assert result.model == "qwen2.5-coder-0.5b-instruct-q4_k_m"
    assert result.prompt_tokens > 10 and result.completions[0].finish_reason == "stop"


async def test_completion_stop_and_length(llama_model):
    stopped = await llama_model.generate(
        GenerationRequest(prompt="def add(a, b):", temperature=0, max_tokens=40, stop=("return",))
    )
    assert "return" not in stopped.text and stopped.completions[0].finish_reason == "stop"
    capped = await llama_model.generate(GenerationRequest(prompt="Count: 1, 2, 3,", temperature=0, max_tokens=3))
    assert capped.completions[0].finish_reason == "length" and capped.completions[0].completion_tokens == 3


async def test_seeded_samples_are_distinct_and_repeatable(llama_model):
    request = GenerationRequest(prompt="My favourite animal is the", temperature=1.0, max_tokens=5, n=6, seed=42)
    first = await llama_model.generate(request)
    second = await llama_model.generate(request)
    assert first.texts == second.texts
    assert len(set(first.texts)) > 1


async def test_through_the_engine_with_cache(llama_model):
    engine = Engine(llama_model, cache=ResponseCache())
    request = GenerationRequest.chat("Name a colour.", temperature=0.8, max_tokens=6, n=3, seed=1)
    first = await engine.generate(request, tag="colours")
    second = await engine.generate(request, tag="colours")
    assert second.texts == first.texts and second.cached == 3
    assert engine.ledger.by_tag["colours"].calls == 1
    assert engine.ledger.by_tag["colours"].completion_tokens == first.completion_tokens > 0


async def test_prefix_reuse_is_counted_and_can_be_turned_off(llama_model):
    # Game-24 value prompts share a ~270-token few-shot prefix: after the first, llama.cpp runs only the tail.
    # Greedy text with the prefix reused may differ from the whole prompt's at a near tie (a short tail runs
    # through other kernels than a 280-token batch), so it is not compared; `reuse_prefix=False` makes the text
    # independent of the calls before.
    from prompts.game24 import VALUE_STOP, value_prompt

    requests = [GenerationRequest(prompt=value_prompt(n), temperature=0, max_tokens=6, stop=VALUE_STOP)
                for n in ["4 5 6", "10 13", "1 1 4 6", "4 5 6"]]  # fmt: skip

    async def run() -> tuple[list[str], int, int]:
        sent, evaluated = llama_model.prompt_tokens_sent, llama_model.prompt_tokens_evaluated
        results = [await llama_model.generate(request) for request in requests]
        assert llama_model.prompt_tokens_sent - sent == sum(r.prompt_tokens for r in results)
        return (
            [r.text for r in results],
            llama_model.prompt_tokens_sent - sent,
            llama_model.prompt_tokens_evaluated - evaluated,
        )

    _, sent, evaluated = await run()
    assert evaluated < sent * 0.4
    llama_model.reuse_prefix = False
    try:
        texts, sent, evaluated = await run()
        assert evaluated == sent and texts[3] == texts[0]
    finally:
        llama_model.reuse_prefix = True


async def test_the_state_cache_restores_an_earlier_prompts_prefix(llama_model):
    # `prompt_cache_bytes` (llama-cpp-python's LlamaRAMCache): after a value prompt and a proposal, the next value
    # prompt finds the first one's state in the cache and runs only its tail; without the cache it shares almost
    # nothing with the context (the proposal) and runs nearly whole. A variant: a third value prompt after another
    # proposal does the same. The text is not compared (a reused prefix changes the numerics; see the class).
    from prompts.game24 import VALUE_STOP, propose_prompt, value_prompt
    from reasoning.backends.llamacpp import LlamaCppModel

    def value(numbers: str) -> GenerationRequest:
        return GenerationRequest(prompt=value_prompt(numbers), temperature=0, max_tokens=4, stop=VALUE_STOP)

    propose = [GenerationRequest(prompt=propose_prompt(s), temperature=0, max_tokens=4) for s in ["4 5 6 10", "1 2 3"]]

    async def evaluated(model: LlamaCppModel) -> list[int]:
        counts = []
        for request in [value("4 5 6"), propose[0], value("10 13"), propose[1], value("1 1 4 6")]:
            before = model.prompt_tokens_evaluated
            result = await model.generate(request)
            counts.append((model.prompt_tokens_evaluated - before, result.prompt_tokens))
        return [counts[2][0], counts[4][0], counts[2][1], counts[4][1]]

    cached = LlamaCppModel.embedded(n_threads=1, prompt_cache_bytes=64 << 20)
    try:
        with_cache, without = await evaluated(cached), await evaluated(llama_model)  # the session's: no state cache
    finally:
        await cached.aclose()
    sizes = with_cache[2:]
    assert all(ran < 0.2 * size for ran, size in zip(with_cache[:2], sizes, strict=True)), (with_cache, sizes)
    assert all(ran > 0.8 * size for ran, size in zip(without[:2], sizes, strict=True)), (without, sizes)
