"""`benchmarks/forward_cost.py` on a tiny random Qwen2: a cache of B copies of one prefilled row gives each row the
logits a prefill of that row would (DynamicCache and StaticCache), the step leaves the cache cut back to its
context, and the four parts' numbers and tables come out for a small grid."""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.benchmarks.scripts import load

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load("forward_cost")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    shape = dict(vocab_size=97, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, max_position_embeddings=512)  # fmt: skip
    config = transformers.Qwen2Config(**shape)
    return transformers.Qwen2ForCausalLM(config).eval()


@pytest.mark.parametrize("kind", ["DynamicCache", "StaticCache"])
def test_replicated_cache_gives_each_row_its_prefill_logits(bench, model, kind):
    torch.manual_seed(1)
    prompt, new = torch.randint(0, 97, (1, 20)), torch.randint(0, 97, (3, 2))
    base = transformers.DynamicCache(config=model.config)
    with torch.inference_mode():
        model(input_ids=prompt, cache=base, use_cache=True)
        options = {"max_cache_len": 30} if kind == "StaticCache" else {}
        cache = bench.replicate(base, 3, getattr(transformers, kind)(config=model.config, **options))
        got = model(input_ids=new, cache=cache, position_ids=bench.positions(20, 3, 2), use_cache=True).logits
        want = model(input_ids=torch.cat([prompt.expand(3, -1), new], dim=1)).logits[:, -2:]
    torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)
    assert int(cache.get_seq_length()) == 22
    bench.cut(cache, 20)
    assert int(cache.get_seq_length()) == 20


def test_small_grid_measures_every_part(bench, model):
    base = bench.prefilled(model, 24)
    decode = bench.decode_costs(model, base, [1, 2], [1, 3], repeats=1)
    assert [(r["batch"], r["width"]) for r in decode] == [(1, 1), (1, 3), (2, 1), (2, 3)]
    assert decode[0]["ratio"] == 1.0 and all(r["ms"] > 0 and r["tokens_per_s"] > 0 for r in decode)
    assert base.get_seq_length() == 24  # the base is copied, never written
    cache, error = bench.cache_costs(model, base, [1, 2], repeats=1)
    assert error is None and all(r["static_ms"] > 0 and r["cat_ms"] > 0 for r in cache)
    prefill = bench.prefill_costs(model, [8, 16], repeats=1)
    assert [r["prompt"] for r in prefill] == [8, 16]
    suffix = bench.suffix_costs(model, 10, 4, [1, 2], repeats=1)
    assert [r["batch"] for r in suffix] == [1, 2] and all(r["speedup"] > 0 for r in suffix)
    text = bench.report(decode, [1, 3], cache, error, prefill, suffix, 24, 10, 4)
    assert "| B \\ W | 1 | 3 |" in text and "StaticCache skipped" not in text
    assert sum(line.startswith("| --- |") for line in text.splitlines()) == 5
