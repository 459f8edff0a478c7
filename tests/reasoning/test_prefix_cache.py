"""Prefix reuse: decoding with a prefix cache gives the tokens decoding without one gives, and stays in its bound."""

import random

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from reasoning.decoding import DecodingConfig, decode, prefill, sample  # noqa: E402
from reasoning.prefix_cache import PrefixCache  # noqa: E402

VOCAB = 48


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    shape = dict(vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, max_position_embeddings=512)  # fmt: skip
    config = transformers.Qwen2Config(**shape)
    return transformers.Qwen2ForCausalLM(config).eval()


def family(seed=0):
    """Prompts as a search sends them: a shared few-shot prefix and short tails, one prompt a prefix of another,
    an exact repeat, and prompts sharing nothing."""
    rng = random.Random(seed)
    shared = [rng.randrange(VOCAB) for _ in range(60)]
    tails = [[rng.randrange(VOCAB) for _ in range(rng.randrange(1, 12))] for _ in range(6)]
    prompts = [shared + tail for tail in tails]
    prompts.append(prompts[0] + [3, 4, 5])  # extends a cached prompt
    prompts.append(prompts[1][:-1])  # a prefix of a cached prompt
    prompts.append(list(prompts[2]))  # an exact repeat
    prompts.append(shared[:30])  # half the shared prefix
    prompts.extend([rng.randrange(VOCAB) for _ in range(rng.randrange(2, 30))] for _ in range(3))  # unrelated
    prompts.append([7])  # one token: nothing to reuse
    return prompts


@pytest.mark.parametrize("mode", ["greedy", "lookahead", "gs_jacobi"])
def test_greedy_and_parallel_modes_match_without_the_cache(model, mode):
    config = DecodingConfig(mode=mode, block=4, fallback=False)
    cache = PrefixCache(max_tokens=10_000)
    for prompt in family():
        plain = decode(model, prompt, max_tokens=12, eos=frozenset(), config=config)
        cached = decode(model, prompt, max_tokens=12, eos=frozenset(), config=config, prefix_cache=cache)
        assert cached.tokens == plain.tokens, prompt
    stats = cache.stats
    assert stats.prefills == len(family()) and stats.tokens_sent == sum(len(p) for p in family())
    assert stats.tokens_reused + stats.tokens_computed == stats.tokens_sent
    assert stats.hits >= 9 and stats.tokens_computed < stats.tokens_sent / 3


def test_sampling_with_a_seed_matches_without_the_cache(model):
    cache = PrefixCache(max_tokens=10_000)
    for i, prompt in enumerate(family(seed=1)):
        for seed in (i, i + 100):  # two samples of each prompt: the second reuses all but the last token
            options = dict(max_tokens=12, eos=frozenset(), temperature=0.8, top_p=0.9, seed=seed)
            cached = sample(model, prompt, prefix_cache=cache, **options)
            assert cached.tokens == sample(model, prompt, **options).tokens


def test_what_is_reused_and_computed(model):
    cache = PrefixCache(max_tokens=1000)
    a = list(range(20))
    assert prefill(model, a, cache).computed == 20  # nothing cached yet
    assert prefill(model, a, cache).computed == 1  # a repeat runs its last token only, for its logits
    b = [*a[:15], 40, 41]
    result = prefill(model, b, cache)
    assert result.computed == 2 and result.cache.get_seq_length() == 17
    assert prefill(model, a[:10], cache).computed == 1  # a prefix of a cached prompt
    assert (cache.stats.prefills, cache.stats.hits, cache.stats.tokens_sent) == (4, 3, 67)
    assert (cache.stats.tokens_reused, cache.stats.tokens_computed) == (19 + 15 + 9, 20 + 1 + 2 + 1)
    # Stored: a (which holds a[:10]) and b; a repeat or a prefix adds nothing.
    assert len(cache) == 2 and cache.tokens == 37
    # The reused keys and values give the logits a whole prefill gives, to rounding.
    whole = prefill(model, b)
    assert torch.allclose(result.logits, whole.logits, atol=1e-5)
    for layer, plain in zip(result.cache.layers, whole.cache.layers, strict=True):
        assert torch.allclose(layer.keys, plain.keys, atol=1e-5)


def test_eviction_keeps_the_cache_under_its_bound(model):
    cache = PrefixCache(max_tokens=100)
    rng = random.Random(2)
    per_position = None
    for i in range(30):
        prompt = [i % VOCAB] + [rng.randrange(VOCAB) for _ in range(rng.randrange(5, 40))]
        prefill(model, prompt, cache)
        assert cache.tokens <= 100
        if per_position is None:
            per_position = cache.nbytes // cache.tokens
        assert cache.nbytes <= 100 * per_position
    assert cache.stats.evictions > 0
    # A prompt longer than the bound is run but not kept; the most recently used prompt is kept longest.
    before = cache.tokens
    prefill(model, [i % VOCAB for i in range(101)], cache)
    assert cache.tokens == before
    recent = [1, 2, 3, 4, 5]
    prefill(model, recent, cache)
    for i in range(5):
        prefill(model, recent, cache)  # used again: moves to the back of the eviction queue
        prefill(model, [30 + i] * 20, cache)
    assert prefill(model, recent, cache).computed == 1


def test_static_cache_of_the_parallel_modes_is_filled(model):
    cache = PrefixCache(max_tokens=1000)
    prompt = list(range(30))
    decode(model, prompt, max_tokens=10, eos=frozenset(), config=DecodingConfig(mode="lookahead"), prefix_cache=cache)
    # Stored from a StaticCache, restored into a DynamicCache: the prompt's positions only.
    result = prefill(model, [*prompt, 1], cache)
    assert result.computed == 1 and result.cache.get_seq_length() == 31


def test_a_negative_bound_is_refused():
    with pytest.raises(ValueError, match="max_tokens"):
        PrefixCache(max_tokens=-1)


@pytest.mark.model
def test_game24_value_prompts_on_the_embedded_model(torch_model):
    # Value prompts share their few-shot prefix (~270 tokens) and differ in the numbers left.
    from prompts.game24 import value_prompt
    from reasoning import GenerationRequest

    cache = PrefixCache()
    for numbers in ["4 5 6", "10 13", "1 1 4 6", "4 5 6"]:
        prompt = torch_model.encode(GenerationRequest(prompt=value_prompt(numbers)))
        options = dict(max_tokens=24, eos=torch_model.eos_token_ids)
        plain = decode(torch_model.model, prompt, **options)
        assert decode(torch_model.model, prompt, prefix_cache=cache, **options).tokens == plain.tokens, numbers
    assert cache.stats.hits == 3 and cache.stats.tokens_computed < cache.stats.tokens_sent * 0.4


def test_prompts_with_a_cached_prefix_prefill_together_as_alone(model, monkeypatch):
    """`prefill_together` runs the rests of the prompts with a cached prefix in one forward: each gets the logits,
    keys and values (one row, its own positions) a prefill alone gives, to rounding, and is cached as it would be;
    a prompt with nothing cached runs alone, and an empty one fails alone."""
    from reasoning import decoding

    prompts = family(3)
    cache = PrefixCache(max_tokens=2000)
    prefill(model, prompts[0], cache)  # the shared prefix is cached now
    rows = []
    real = decoding._rests_together
    monkeypatch.setattr(decoding, "_rests_together", lambda runners, p: rows.append(len(p)) or real(runners, p))
    batch = [*prompts[1:], []]
    hits = sum(1 for p in batch if cache.match(p)[1])  # those with a cached prefix: one forward for their rests
    done = decoding.prefill_together(model, batch, cache)
    assert rows == [hits] and hits >= 9
    assert isinstance(done[-1], Exception)  # the empty prompt
    for prompt, got in zip(batch[:-1], done[:-1], strict=True):
        whole = prefill(model, prompt)
        assert got.cache.get_seq_length() == len(prompt)
        assert torch.allclose(got.logits, whole.logits, atol=1e-5), prompt
        for layer, plain in zip(got.cache.layers, whole.cache.layers, strict=True):
            assert layer.keys.shape == plain.keys.shape and torch.allclose(layer.keys, plain.keys, atol=1e-5)
            assert torch.allclose(layer.values, plain.values, atol=1e-5)
        assert cache.match([*prompt, 1])[1] == len(prompt)  # cached whole
    # What ran: every prompt's rest after what was cached before this call (the unrelated ones whole).
    assert cache.stats.tokens_computed == len(prompts[0]) + sum(got.computed for got in done[:-1])


def test_a_burst_on_an_empty_cache_reuses_its_own_first_prompt(model, monkeypatch):
    """With nothing cached, the first prompt of each few-shot family runs alone and is cached before the next is
    looked up: the burst's later prompts run only their rests, together (two families here, as a BFS step's
    propose and value prompts)."""
    from reasoning import decoding

    first, second = family(5)[:6], family(6)[:6]
    burst = [first[0], second[0], *first[1:], *second[1:]]
    rows = []
    real = decoding._rests_together
    monkeypatch.setattr(decoding, "_rests_together", lambda runners, p: rows.append(len(p)) or real(runners, p))
    cache = PrefixCache(max_tokens=2000)
    done = decoding.prefill_together(model, burst, cache)
    assert [got.computed for got in done[:2]] == [len(first[0]), len(second[0])]  # each family's first: whole
    assert rows == [10] and all(got.computed < len(p) - 50 for p, got in zip(burst[2:], done[2:], strict=True))
    for prompt, got in zip(burst, done, strict=True):
        assert torch.allclose(got.logits, prefill(model, prompt).logits, atol=1e-5), prompt
    # The same burst with a variant order: a family's first prompt is whichever comes first.
    cache = PrefixCache(max_tokens=2000)
    done = decoding.prefill_together(model, burst[::-1], cache)
    assert sum(got.computed == len(p) for p, got in zip(burst[::-1], done, strict=True)) == 2


def test_a_failing_batch_forward_falls_back_to_one_prefill_each(model, monkeypatch):
    from reasoning import decoding

    prompts = family(4)[:5]
    cache = PrefixCache(max_tokens=2000)
    prefill(model, prompts[0], cache)

    def broken(runners, p):
        raise RuntimeError("out of memory")

    monkeypatch.setattr(decoding, "_rests_together", broken)
    done = decoding.prefill_together(model, prompts[1:], cache)
    for prompt, got in zip(prompts[1:], done, strict=True):
        assert torch.allclose(got.logits, prefill(model, prompt).logits, atol=1e-5)
        assert got.computed < len(prompt)  # still after the cached prefix
