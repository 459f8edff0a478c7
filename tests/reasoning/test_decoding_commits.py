"""Every decoder hands the tokens it commits to `on_commit`, in order, as it makes them: their concatenation is the
output (EOS and what follows it left out), so a streaming server can emit them; sampling is greedy's sibling."""

import random

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from reasoning.decoding import DecodingConfig, decode, sample  # noqa: E402

MODES = ["greedy", "jacobi", "gs_jacobi", "hybrid", "sliding", "lookahead"]
VOCAB = 48


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    config = transformers.Qwen2Config(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2)  # fmt: skip
    return transformers.Qwen2ForCausalLM(config).eval()


def prompts(n=4, seed=2):
    rng = random.Random(seed)
    return [[rng.randrange(VOCAB) for _ in range(rng.randrange(1, 30))] for _ in range(n)] + [[5, 6, 7, 8] * 6]


@pytest.mark.parametrize("mode", MODES)
def test_commits_add_up_to_the_output_in_every_mode(model, mode):
    config = DecodingConfig(mode=mode, block=5, fallback=False)
    for prompt in prompts():
        free = decode(model, prompt, max_tokens=30, eos=frozenset()).tokens
        cases = [dict(eos=frozenset()), dict(eos=frozenset({free[12]})),
                 dict(eos=frozenset(), stop=lambda tokens: len(tokens) >= 7)]  # fmt: skip
        for case in cases:
            calls: list[list[int]] = []
            result = decode(model, prompt, max_tokens=30, config=config, on_commit=calls.append, **case)
            assert [t for call in calls for t in call] == result.tokens, (mode, case)
            assert all(calls), "no empty commit is handed on"
            if mode in ("greedy", "sliding", "lookahead"):
                assert len(calls) > 1 or len(result.tokens) <= 1  # token by token or window by window, not at the end


def test_sampling_is_seeded_and_commits_token_by_token(model):
    prompt = prompts(1)[0]
    calls: list[list[int]] = []
    first = sample(model, prompt, max_tokens=20, eos=frozenset(), temperature=1.0, seed=3, on_commit=calls.append)
    assert first.tokens == sample(model, prompt, max_tokens=20, eos=frozenset(), temperature=1.0, seed=3).tokens
    assert calls == [[t] for t in first.tokens] and first.finish == "length" and len(first.tokens) == 20
    assert first.model_calls == 20  # the prefill, then one forward per token after the first
    others = [sample(model, prompt, max_tokens=20, eos=frozenset(), temperature=1.0, seed=s).tokens for s in range(4)]
    assert len({tuple(o) for o in others}) > 1
    eos = first.tokens[5]
    stopped = sample(model, prompt, max_tokens=20, eos=frozenset({eos}), temperature=1.0, seed=3, top_p=1.0)
    assert stopped.tokens == first.tokens[: first.tokens.index(eos)] and stopped.finish == "stop"


@pytest.mark.parametrize(("temperature", "top_p"), [(1.0, 1.0), (0.7, 0.9)])
def test_a_draw_follows_the_tempered_nucleus(temperature, top_p):
    # The inverse-CDF draw: frequencies over 20,000 draws match the tempered distribution within the nucleus (a
    # statistical bound ~6 standard deviations wide); tokens outside it, zero-probability ones first among them,
    # are never drawn.
    from reasoning.decoding import _draw

    logits = torch.tensor([-1e9, 2.0, 1.0, 0.5, 0.0, -1e9, -1.0, 3.0])
    probs = torch.softmax(logits / temperature, dim=-1)
    order = torch.argsort(probs, descending=True)
    inside = torch.cumsum(probs[order], dim=-1) - probs[order] < top_p
    expected = torch.zeros_like(probs)
    expected[order[inside]] = probs[order[inside]]
    expected /= expected.sum()
    generator = torch.Generator().manual_seed(11)
    draws = 20_000
    counts = torch.bincount(torch.tensor([_draw(logits, temperature, top_p, generator) for _ in range(draws)]),
                            minlength=len(logits)).double()  # fmt: skip
    assert counts[expected == 0].sum() == 0
    sigma = (expected * (1 - expected) / draws).sqrt()
    assert torch.all((counts / draws - expected).abs() <= 6 * sigma + 1e-12), (counts / draws, expected)
