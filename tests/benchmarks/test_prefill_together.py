"""`benchmarks/prefill_together.py` on a tiny random Qwen2: bursts are the groups with enough distinct prompts, a
burst's two ways compute its prompts' rests after the cached first prompt and agree on every argmax, and the table
totals the bursts."""

from __future__ import annotations

import random
from types import ModuleType

import pytest

from tests.benchmarks.scripts import load

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load("prefill_together")


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    shape = dict(vocab_size=97, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, max_position_embeddings=512)  # fmt: skip
    return transformers.Qwen2ForCausalLM(transformers.Qwen2Config(**shape)).eval()


def test_bursts_are_groups_of_distinct_prompts(bench):
    groups = {0: [[1, 2], [1, 2], [1, 3]], 1: [[4], [5], [6], [5]], 2: [[7], [8], [9]]}
    assert bench.bursts(groups) == [[[4], [5], [6]], [[7], [8], [9]]]  # group 0 has 2 distinct prompts


def test_a_burst_timed_both_ways(bench, model):
    rng = random.Random(0)
    shared = [rng.randrange(97) for _ in range(40)]
    burst = [shared + [rng.randrange(97) for _ in range(rng.randrange(1, 9))] for _ in range(5)]
    row = bench.time_burst(model, burst, repeats=1)
    rests = sum(len(p) - 40 for p in burst[1:])  # each shares exactly the 40 tokens with the cached first prompt
    assert row["prompts"] == 4 and row["same_argmax"] == 4 and row["largest_logit_difference"] < 1e-4
    assert row["computed_together"] >= rests - 4 and row["computed_alone"] <= row["computed_together"]
    assert row["alone_s"] > 0 and row["together_s"] > 0
    table = bench.report([row, row])
    assert table.splitlines()[-1].startswith("| all | 8 |") and "8/8" in table
