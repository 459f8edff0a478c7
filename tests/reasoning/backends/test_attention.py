"""The packed one-token attention computes what transformers' SDPA computes: the same logits (fp32, to rounding),
the same greedy tokens, the same batched and sampled output; it is used only where the model runs SDPA on a CPU."""

import copy

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from reasoning.backends.attention import NAME, packed_sdpa, use_packed_sdpa  # noqa: E402
from reasoning.batching import Sequence, decode_batch  # noqa: E402
from reasoning.decoding import DecodingConfig, decode  # noqa: E402
from tests.reasoning.test_decoding import prompts, tiny  # noqa: E402


@pytest.fixture(scope="module", params=["qwen2", "llama"])
def pair(request):
    plain = tiny(request.param)
    packed = copy.deepcopy(plain)
    assert use_packed_sdpa(packed) and packed.config._attn_implementation == NAME
    return plain, packed


def step_logits(model, prompt, rows=1):
    # The logits of one one-token step after `prompt` (repeated over `rows` rows), over a DynamicCache, no mask.
    cache = transformers.DynamicCache(config=model.config)
    ids = torch.tensor([prompt] * rows)
    with torch.inference_mode():
        model(input_ids=ids[:, :-1], cache=cache, use_cache=True)
        return model(input_ids=ids[:, -1:], cache=cache, use_cache=True).logits[:, -1]


def test_a_one_token_step_gives_sdpa_logits(pair):
    plain, packed = pair
    for prompt in prompts(6, seed=3):
        if len(prompt) < 2:
            continue
        for rows in (1, 5):
            assert torch.allclose(step_logits(packed, prompt, rows), step_logits(plain, prompt, rows), atol=1e-5)


def test_greedy_parallel_and_batched_output_unchanged(pair):
    plain, packed = pair
    config = DecodingConfig(mode="lookahead", block=4, fallback=False)
    for prompt in prompts(6, seed=4):
        assert decode(packed, prompt, max_tokens=24, eos=frozenset()).tokens == \
            decode(plain, prompt, max_tokens=24, eos=frozenset()).tokens  # fmt: skip
        assert decode(packed, prompt, max_tokens=24, eos=frozenset(), config=config).tokens == \
            decode(plain, prompt, max_tokens=24, eos=frozenset(), config=config).tokens  # fmt: skip
    outputs = []
    for model in pair:
        rows = [Sequence(p, 20, frozenset(), temperature=0.8 if i % 2 else 0.0, seed=i)
                for i, p in enumerate(prompts(8, seed=5))]  # fmt: skip
        decode_batch(model, rows)
        outputs.append([r.result.tokens for r in rows])
    assert outputs[0] == outputs[1]


def test_only_where_sdpa_runs_on_a_cpu():
    eager = tiny("qwen2")
    eager.set_attn_implementation("eager")
    assert not use_packed_sdpa(eager) and eager.config._attn_implementation == "eager"


def test_says_whether_the_model_runs_packed_now():
    """A second call finds the model switched already; a model that cannot switch (transformers' Falcon keeps its
    own attention, with a warning) still runs SDPA, and says so."""
    model = tiny("llama")
    assert use_packed_sdpa(model) and use_packed_sdpa(model) and model.config._attn_implementation == NAME

    class Refuses(torch.nn.Module):  # as Falcon: SDPA on a CPU, and `set_attn_implementation` changes nothing
        config = transformers.PretrainedConfig(attn_implementation="sdpa")
        device = torch.device("cpu")

        def set_attn_implementation(self, name):
            pass

    refuses = Refuses()
    assert refuses.config._attn_implementation == "sdpa"
    assert not use_packed_sdpa(refuses) and refuses.config._attn_implementation == "sdpa"


def test_a_step_with_a_mask_or_many_tokens_is_sdpa_unchanged(monkeypatch):
    seen = []
    import transformers.integrations.sdpa_attention as sdpa

    monkeypatch.setattr(sdpa, "sdpa_attention_forward", lambda *args, **kwargs: seen.append(args[4]) or "out")
    module = type("Attention", (), {"num_key_value_groups": 2})()
    key = torch.zeros(1, 2, 9, 8)
    mask = torch.ones(1, 1, 1, 9, dtype=torch.bool)
    assert packed_sdpa(module, torch.zeros(1, 4, 1, 8), key, key, mask) == "out" and seen[-1] is mask
    assert packed_sdpa(module, torch.zeros(1, 4, 3, 8), key, key, None) == "out" and seen[-1] is None
    packed_sdpa(module, torch.zeros(1, 4, 1, 8), key, key, None)
    assert seen[-1].shape == (1, 1, 1, 9) and bool(seen[-1].all())
