"""Parallel decoding on a GPU: the forward cost over k new tokens, and each mode against our greedy.

For a lent GPU machine, which has torch and transformers but no weights and takes no large files: the model is a
randomly initialised Qwen2 of the embedded model's shape (0.5B). Random weights make the acceptance of Jacobi
guesses meaningless except where the prompt repeats (n-gram guesses), so read part 1 (the cost curve, which does
not depend on the weights) as the result, and part 2 as a check that every mode stays exact and how the fallback
behaves on this hardware.

    python benchmarks/gpu_decoding.py [--device cuda] [--dtypes float32 bfloat16] [--tokens 64]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
import transformers

sys.path.insert(0, str(Path(__file__).parents[1]))
from benchmarks._machine import describe
from reasoning.decoding import DecodingConfig, decode

SHAPE = dict(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
             num_key_value_heads=2, max_position_embeddings=4096, tie_word_embeddings=True)  # fmt: skip
MODES = [("gs_jacobi", 8), ("hybrid", 8), ("sliding", 4), ("lookahead", 4), ("lookahead", 8), ("lookahead", 16)]


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def forward_costs(model: torch.nn.Module, device: str) -> str:
    prompt = torch.randint(0, 1000, (1, 200), device=device)
    cells, base = [], 0.0
    for k in (1, 2, 4, 8, 16, 32, 64):
        cache = transformers.DynamicCache(config=model.config)
        with torch.inference_mode():
            model(input_ids=prompt, cache=cache, use_cache=True)
            times = []
            for _ in range(12):
                ids = torch.randint(0, 1000, (1, k), device=device)
                sync(device)
                start = time.perf_counter()
                model(input_ids=ids, cache=cache, position_ids=torch.arange(200, 200 + k, device=device)[None],
                      use_cache=True)  # fmt: skip
                sync(device)
                times.append(time.perf_counter() - start)
                cache.crop(-k)
        best = sorted(times[2:])[len(times[2:]) // 2]
        base = base or best
        cells.append(f"k={k}: {best * 1000:.1f} ms ({best / base:.2f}x)")
    return ", ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--tokens", type=int, default=64)
    args = parser.parse_args()
    gpu = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else "none"
    print(f"machine: {describe()}; GPU {gpu}; torch {torch.__version__}, transformers {transformers.__version__}")
    torch.manual_seed(0)
    base_model = transformers.Qwen2ForCausalLM(transformers.Qwen2Config(**SHAPE)).eval()
    prompts = {"repetitive": [11, 12, 13, 14, 15, 16, 17, 18] * 24, "random": torch.randint(0, 150000, (200,)).tolist()}
    for dtype in args.dtypes:
        model = base_model.to(device=args.device, dtype=getattr(torch, dtype))
        print(f"\n== {dtype} ==\nforward cost over k new tokens: {forward_costs(model, args.device)}")
        for name, ids in prompts.items():
            greedy = decode(model, ids, max_tokens=args.tokens, eos=frozenset())
            greedy = decode(model, ids, max_tokens=args.tokens, eos=frozenset())  # warm
            print(f"{name}: greedy {greedy.seconds:.3f} s, {greedy.model_calls} calls")
            for mode, block in MODES:
                config = DecodingConfig(mode=mode, block=block)  # type: ignore[arg-type]
                result = decode(model, ids, max_tokens=args.tokens, eos=frozenset(), config=config)
                print(f"  {mode} k={block:<3} {result.seconds:6.3f} s  x{greedy.seconds / result.seconds:5.2f}  "
                      f"calls {result.model_calls:3d}  tokens/call {result.tokens_per_call:5.2f}  "
                      f"fell back {result.fell_back}  identical={result.tokens == greedy.tokens}")  # fmt: skip


if __name__ == "__main__":
    main()
