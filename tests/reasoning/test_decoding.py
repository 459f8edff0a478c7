"""Parallel (Jacobi-family) decoding is exactly greedy decoding of the same model and dtype."""

import random

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from reasoning.decoding import DecodingConfig, decode  # noqa: E402

MODES = ["jacobi", "gs_jacobi", "hybrid", "sliding", "lookahead"]
VOCAB = 48


def tiny(kind):
    torch.manual_seed(0 if kind == "qwen2" else 1)
    shape = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, max_position_embeddings=512)  # fmt: skip
    if kind == "qwen2":
        return transformers.Qwen2ForCausalLM(transformers.Qwen2Config(**shape)).eval()
    return transformers.LlamaForCausalLM(transformers.LlamaConfig(**shape)).eval()


@pytest.fixture(scope="module", params=["qwen2", "llama"])
def model(request):
    return tiny(request.param)


def prompts(n=12, seed=0):
    rng = random.Random(seed)
    return [[rng.randrange(VOCAB) for _ in range(rng.randrange(1, 40))] for _ in range(n)]


def test_our_greedy_is_hf_generate(model):
    for prompt in prompts(4):
        ids = torch.tensor([prompt])
        reference = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=30, do_sample=False,
                                   eos_token_id=None, pad_token_id=0)[0, len(prompt):].tolist()  # fmt: skip
        assert decode(model, prompt, max_tokens=30, eos=frozenset()).tokens == reference


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("block", [2, 5, 16])
def test_every_mode_matches_greedy(model, mode, block):
    for prompt in prompts():
        greedy = decode(model, prompt, max_tokens=37, eos=frozenset())
        result = decode(model, prompt, max_tokens=37, eos=frozenset(),
                        config=DecodingConfig(mode=mode, block=block, fallback=False))  # fmt: skip
        assert result.tokens == greedy.tokens, (mode, block, prompt)
        assert result.finish == "length" and len(result.tokens) == 37


@pytest.mark.parametrize("mode", MODES)
def test_eos_inside_a_block_and_stop_strings(model, mode):
    prompt = prompts(1, seed=3)[0]
    free = decode(model, prompt, max_tokens=40, eos=frozenset()).tokens
    eos = free[17]  # a token greedy emits mid-way: output must end just before its first occurrence
    first = free.index(eos)
    config = DecodingConfig(mode=mode, block=8, fallback=False)
    result = decode(model, prompt, max_tokens=40, eos=frozenset({eos}), config=config)
    assert result.tokens == free[:first] and result.finish == "stop"
    # A stop condition on the tokens so far (stop strings are checked this way by the backend).
    target = free[:9]
    stopped = decode(model, prompt, max_tokens=40, eos=frozenset(), config=config,
                     stop=lambda tokens: tokens[:9] == target)  # fmt: skip
    assert stopped.tokens[:9] == target and stopped.finish == "stop" and len(stopped.tokens) >= 9


def test_parallel_modes_use_fewer_calls_on_repetitive_text(model):
    # A prompt that repeats a pattern: n-gram guesses from the prompt should be accepted.
    prompt = [5, 6, 7, 8] * 8
    greedy = decode(model, prompt, max_tokens=32, eos=frozenset())
    look = decode(model, prompt, max_tokens=32, eos=frozenset(), config=DecodingConfig(mode="lookahead", block=8,
                                                                                       fallback=False))  # fmt: skip
    assert look.tokens == greedy.tokens
    assert look.model_calls <= greedy.model_calls


class WidthCost(torch.nn.Module):
    """The model, with each forward taking 20 ms more per token of width: a CPU on which wide forwards do not pay."""

    def __init__(self, inner):
        super().__init__()
        self.inner = inner
        self.config = inner.config
        self.widths = []

    def forward(self, input_ids, **kwargs):
        import time

        self.widths.append(input_ids.shape[1])
        time.sleep(0.02 * input_ids.shape[1])
        return self.inner(input_ids=input_ids, **kwargs)


@pytest.mark.parametrize("mode", ["gs_jacobi", "sliding", "lookahead"])
def test_fallback_bounds_the_time_lost_against_greedy(model, mode):
    # Random tokens: guesses are rarely right, so a forward over 8 tokens (8x the time of one) does not pay. The
    # mode must give up once it has lost the allowed time (2 one-token forwards + 2%) and still produce greedy's
    # tokens. The time it lost is at most that allowance plus the wide forward that crossed it; counted here in
    # sleeps (width units), which leave out the model's own per-forward time, so one more wide forward of slack.
    slow = WidthCost(model)
    prompt = prompts(1, seed=5)[0]
    result = decode(slow, prompt, max_tokens=20, eos=frozenset(), config=DecodingConfig(mode=mode, block=8))
    assert result.fell_back
    assert result.tokens == decode(model, prompt, max_tokens=20, eos=frozenset()).tokens
    cost = sum(slow.widths[1:])  # in one-token forwards, after the prefill; greedy's is one per token
    assert cost <= 1.02 * (len(result.tokens) - 1) + 2 + 2 * 8, (slow.widths, result.accepted)
    # Without the fallback the same mode keeps paying for wide forwards.
    stubborn = decode(slow, prompt, max_tokens=8, eos=frozenset(),
                      config=DecodingConfig(mode=mode, block=8, fallback=False))  # fmt: skip
    assert not stubborn.fell_back and stubborn.tokens == result.tokens[:8]


@pytest.mark.model
@pytest.mark.parametrize("mode", ["gs_jacobi", "hybrid", "sliding", "lookahead"])
def test_embedded_model_fp32_on_game24_prompts(torch_model, mode):
    from evals.game24 import Game24Config, Game24Task
    from reasoning.tree import Node

    task = Game24Task("4 5 6 10", Game24Config(chat=False))
    requests = [task.propose_request(Node(state="")),
                task.value_request(Node(state="4 + 5 = 9 (left: 6 9 10)\n", depth=1))]  # fmt: skip
    for request in requests:
        ids = torch_model.encode(request)
        greedy = decode(torch_model.model, ids, max_tokens=24, eos=torch_model.eos_token_ids)
        result = decode(torch_model.model, ids, max_tokens=24, eos=torch_model.eos_token_ids,
                        config=DecodingConfig(mode=mode, block=6, fallback=False))  # fmt: skip
        assert result.tokens == greedy.tokens


@pytest.mark.parametrize("mode", MODES)
def test_bf16_outputs_part_from_greedy_only_at_near_ties(model, mode, capsys):
    # In bf16 a forward over several tokens may round a logit differently from a one-token forward; where the top
    # two logits are within a few bf16 ulps, a window may then pick the other token. Any mismatch must be such a
    # near tie (shown by `divergence`); the rate is printed (BENCHMARKS.md has the embedded model's).
    from reasoning.decoding import divergence

    half = tiny("qwen2" if model.config.model_type == "qwen2" else "llama").to(torch.bfloat16)
    found = []
    cases = prompts(12, seed=11)
    for prompt in cases:
        greedy = decode(half, prompt, max_tokens=24, eos=frozenset())
        result = decode(half, prompt, max_tokens=24, eos=frozenset(),
                        config=DecodingConfig(mode=mode, block=6, fallback=False))  # fmt: skip
        where = divergence(half, prompt, greedy.tokens, result.tokens)
        assert (where is None) == (result.tokens == greedy.tokens)
        if where is not None:
            assert where.near_tie, where
            found.append(where)
    with capsys.disabled():
        margins = ", ".join(f"{d.margin / d.ulp:+.1f} ulp at {d.position}" for d in found)
        print(f"\n  bf16 {model.config.model_type} {mode}: {len(found)}/{len(cases)} outputs differ  {margins}")


@pytest.mark.parametrize("temperature", [1.0, 0.7])
def test_a_draw_does_not_turn_on_the_last_bits_of_the_logits(temperature):
    # Logits of a 152k vocabulary that differ by 1e-6 relative (as a prompt run whole, from the prefix cache or in a
    # batch differ in fp32) give the same token under the same seed. The old draw through the cumulative
    # distribution is the control: it picked another tail token in 1-2% of draws (CI, stop 31).
    from reasoning.decoding import _draw
    from tests.benchmarks.scripts import load

    bench = load("draw_cost")  # the measurement, and the old draw
    assert bench.flips(bench.cumulative, 151936, temperature, 300) >= 1  # the nudge is large enough to matter
    assert bench.flips(_draw, 151936, temperature, 300) == 0


@pytest.mark.parametrize("top_p", [1.0, 0.8, 1e-6])
def test_a_draw_follows_the_tempered_nucleus(top_p):
    # Frequencies over 20000 seeded draws are the nucleus's probabilities, renormalized (within 0.015); a nucleus
    # of one token (top_p 1e-6) is always that token.
    from reasoning.decoding import _draw, _nucleus

    logits = torch.tensor([0.5, 2.0, -1.0, 1.5, 0.0, -3.0])
    generator = torch.Generator().manual_seed(5)
    draws = 20000
    counts = torch.bincount(torch.tensor([_draw(logits, 0.7, top_p, generator) for _ in range(draws)]), minlength=6)
    expected = _nucleus(logits, 0.7, top_p)  # zero outside the nucleus, not renormalized
    expected = expected / expected.sum()
    assert ((counts == 0) == (expected == 0)).all()
    assert (counts.double() / draws - expected.double()).abs().max() < 0.015, (counts, expected)


def test_a_draw_reaches_tokens_far_below_float32_resolution():
    # 150,000 tail tokens, each 1e-8 of the top token's probability (1.5e-3 of the mass together): 5,000 seeded
    # draws should pick one ~7.5 times (5 here). With U in float32 (a 2^-24 grid, so E >= 6e-8) a tail token wins
    # ~1.5% as often as it should: 0 in these draws.
    from reasoning.decoding import _draw

    logits = torch.full((150_001,), float(torch.log(torch.tensor(1e-8))))
    logits[0] = 0.0
    generator = torch.Generator().manual_seed(8)
    tail = sum(_draw(logits, 1.0, 1.0, generator) != 0 for _ in range(5_000))
    assert 2 <= tail <= 16, tail


@pytest.mark.parametrize(
    "logits",
    [[0.0, 1.0, float("nan"), 0.5], [0.0, 1.0, float("inf"), 0.5], [float("-inf")] * 4],
    ids=["nan", "inf", "all-masked"],
)
def test_a_draw_from_logits_with_nothing_to_draw_from_raises(logits):
    from reasoning.decoding import _draw

    for dtype in (torch.float32, torch.bfloat16):
        with pytest.raises(ValueError, match="cannot draw a token"):
            _draw(torch.tensor(logits, dtype=dtype), 0.7, 1.0, torch.Generator().manual_seed(0))


@pytest.mark.parametrize("temperature", [1e-37, 1e-39, 5e-324])
def test_a_tiny_temperature_draws_the_top_token(temperature):
    # logits / temperature overflows to inf (and inf - inf to NaN) unless shifted by the largest first.
    from reasoning.decoding import _draw

    logits = torch.tensor([0.5, 2.0, -1.0, 1.5, 0.0, -3.0, 25.0, 24.0])
    assert {_draw(logits, temperature, 1.0, torch.Generator().manual_seed(s)) for s in range(50)} == {6}


@pytest.mark.parametrize("top_p", [0.0, -0.1, 1e-300])
def test_a_nucleus_keeps_the_top_token_whatever_top_p(top_p):
    # GenerationRequest refuses top_p <= 0; `sample` and `Sequence`, called directly, do not.
    from reasoning.decoding import _draw

    logits = torch.tensor([0.5, 2.0, -1.0, 1.5])
    assert {_draw(logits, 0.7, top_p, torch.Generator().manual_seed(s)) for s in range(50)} == {1}
