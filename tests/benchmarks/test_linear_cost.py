"""`benchmarks/linear_cost.py` at tiny shapes: the fused MLP (gate and up in one Linear) gives the unfused MLP's
output, and a run in float32 and bfloat16 prints one table per dtype with every column and writes one JSON record
per (dtype, M) whose numbers are all positive (null only for a variant oneDNN cannot run)."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import pytest

from tests.benchmarks.scripts import load

torch = pytest.importorskip("torch")

TINY = ["--hidden", "64", "--intermediate", "128", "--kv", "16", "--vocab", "97", "--layers", "2"]


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return load("linear_cost")


@pytest.mark.parametrize("seed", [0, 7])
def test_fused_mlp_equals_unfused(bench: ModuleType, seed: int) -> None:
    weights = bench.mlp_weights(64, 128, torch.float32, seed=seed)
    x = torch.randn(3, 1, 64, generator=torch.Generator().manual_seed(seed + 1))
    with torch.inference_mode():
        want, got = bench.mlp(weights)(x), bench.fused_mlp(weights)(x)
    assert got.shape == want.shape == (3, 1, 64)
    torch.testing.assert_close(got, want, atol=1e-5, rtol=1e-5)
    assert want.abs().max() > 0.01  # the check compares outputs that are not all near zero


def test_prepacked_mlp_is_the_mlp_or_unavailable(bench: ModuleType) -> None:
    weights = bench.mlp_weights(64, 128, torch.float32, seed=3)
    packed, x = bench.prepacked_mlp(weights, torch.float32), torch.randn(3, 1, 64)
    if packed is None:
        pytest.skip("oneDNN cannot prepack a float32 Linear here")
    with torch.inference_mode():
        torch.testing.assert_close(packed(x), bench.mlp(weights)(x).reshape(3, 64), atol=1e-5, rtol=1e-5)


def test_time_call_is_a_positive_median(bench: ModuleType) -> None:
    calls: list[object] = []
    assert bench.time_call(calls.append, torch.zeros(1), calls=2, repeats=3) > 0
    assert len(calls) == 2 * 4  # one warm-up run, then the timed ones


def test_tiny_run_prints_tables_and_json(bench: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "linear.json"
    argv = [*TINY, "--dtype", "float32,bfloat16", "--rows", "1,3", "--repeats", "1", "--calls", "2"]
    assert bench.main([*argv, "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("machine: ") and "warning" not in out
    header = "| M | " + " | ".join(bench.COLUMNS.values()) + " |"
    assert out.count(header) == 2 and "## float32" in out and "## bfloat16" in out
    assert "step's Linear total ms" in header and "tokens/s" in header
    assert out.count("largest |difference| from plain: mlp_fused ") == 2
    records = json.loads(path.read_text())["records"]
    assert [(r["dtype"], r["rows"]) for r in records] == [
        ("float32", 1),
        ("float32", 3),
        ("bfloat16", 1),
        ("bfloat16", 3),
    ]
    for r in records:
        assert r["attn_ms"] > 0 and r["mlp_ms"] > 0 and r["mlp_fused_ms"] > 0 and r["lm_head_ms"] > 0
        assert r["total_ms"] == pytest.approx(2 * (r["attn_ms"] + r["mlp_ms"]) + r["lm_head_ms"])
        assert r["tokens_per_s"] == pytest.approx(r["rows"] / r["total_ms"] * 1000)
        assert all(r[k] is None or r[k] > 0 for k in ("mlp_prepacked_ms", "lm_head_prepacked_ms"))
        assert r["max_diff"]["mlp_fused"] is not None and r["max_diff"]["mlp_fused"] >= 0
