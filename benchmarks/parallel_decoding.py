"""Parallel (Jacobi-family) decoding against greedy, side by side in one process, on the embedded model.

Part 1: the cost of one forward over k new tokens (KV cache of 200 tokens) relative to k = 1, per dtype — the
number that decides whether parallel decoding can pay on this CPU.
Part 2: on game-of-24 propose / value prompts and a code prompt: our greedy, each Jacobi mode, Hugging Face
`generate` greedy and with `prompt_lookup_num_tokens`; wall time, model calls, tokens per call, speed-up against
our greedy, and whether the output is identical to our greedy.

    python benchmarks/parallel_decoding.py [--dtypes float32 bfloat16] [--tokens 48]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

from evals.game24 import Game24Config, Game24Task
from reasoning import GenerationRequest
from reasoning.backends.torch_local import TorchModel
from reasoning.decoding import DecodingConfig, decode
from reasoning.tree import Node

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe

MODES = [("gs_jacobi", 8), ("hybrid", 8), ("sliding", 2), ("sliding", 4), ("lookahead", 2), ("lookahead", 3),
         ("lookahead", 4), ("lookahead", 8)]  # fmt: skip


def forward_costs(model: TorchModel) -> str:
    from transformers import DynamicCache

    prompt = torch.randint(0, 1000, (1, 200))
    base = 0.0
    cells = []
    for k in (1, 2, 4, 8, 16, 32):
        cache = DynamicCache(config=model.model.config)
        with torch.inference_mode():
            model.model(input_ids=prompt, cache=cache, use_cache=True)
            times = []
            for _ in range(5):
                ids = torch.randint(0, 1000, (1, k))
                start = time.perf_counter()
                model.model(input_ids=ids, cache=cache, position_ids=torch.arange(200, 200 + k)[None], use_cache=True)
                times.append(time.perf_counter() - start)
                cache.crop(-k)
        best = min(times[1:])
        base = base or best
        cells.append(f"k={k}: {best * 1000:.0f} ms ({best / base:.2f}x)")
    return ", ".join(cells)


def prompts(model: TorchModel) -> dict[str, list[int]]:
    task = Game24Task("4 5 6 10", Game24Config(chat=False))
    return {
        "propose": model.encode(task.propose_request(Node(state=""))),
        "value": model.encode(task.value_request(Node(state="4 + 5 = 9 (left: 6 9 10)\n", depth=1))),
        "code": model.encode(GenerationRequest(prompt="def fibonacci(n):")),
    }


def hf_generate(model: TorchModel, ids: list[int], tokens: int, lookup: int | None) -> tuple[list[int], float]:
    tensor = torch.tensor([ids])
    options = {"prompt_lookup_num_tokens": lookup} if lookup else {}
    start = time.perf_counter()
    with torch.inference_mode():
        out = model.model.generate(tensor, attention_mask=torch.ones_like(tensor), max_new_tokens=tokens,
                                   do_sample=False, pad_token_id=model.tokenizer.eos_token_id, **options)  # fmt: skip
    elapsed = time.perf_counter() - start
    generated = [t for t in out[0, len(ids) :].tolist() if t not in model.eos_token_ids]
    return generated, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    parser.add_argument("--tokens", type=int, default=48)
    args = parser.parse_args()
    print(f"machine: {describe()}; torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}")
    for dtype in args.dtypes:
        model = TorchModel.embedded(dtype=dtype)
        print(f"\n== {dtype} ==\nforward cost over k new tokens: {forward_costs(model)}")
        totals: dict[str, float] = {}
        for name, ids in prompts(model).items():
            greedy = decode(model.model, ids, max_tokens=args.tokens, eos=model.eos_token_ids)
            base = greedy.seconds
            totals["greedy (ours)"] = totals.get("greedy (ours)", 0.0) + base
            print(f"{name}: {len(ids)} prompt tokens, {len(greedy.tokens)} generated; greedy (ours) {base:.2f} s, "
                  f"{greedy.model_calls} calls")  # fmt: skip
            for label, lookup in (("hf generate", None), ("hf prompt lookup", 10)):
                tokens, seconds = hf_generate(model, ids, args.tokens, lookup)
                totals[label] = totals.get(label, 0.0) + seconds
                print(f"  {label:18} {seconds:6.2f} s  x{base / seconds:4.2f}  identical={tokens == greedy.tokens}")
            for mode, block in MODES:
                config = DecodingConfig(mode=mode, block=block)  # type: ignore[arg-type]
                result = decode(model.model, ids, max_tokens=args.tokens, eos=model.eos_token_ids, config=config)
                label = f"{mode} k={block}"
                totals[label] = totals.get(label, 0.0) + result.seconds
                speedup = base / result.seconds
                print(f"  {label:18} {result.seconds:6.2f} s  x{speedup:4.2f}  calls {result.model_calls:3d}"
                      f"  tokens/call {result.tokens_per_call:4.2f}  fell back {result.fell_back}"
                      f"  identical={result.tokens == greedy.tokens}")  # fmt: skip
        print(f"total over the prompts ({dtype}):")
        base = totals["greedy (ours)"]
        for label, seconds in totals.items():
            print(f"  {label:18} {seconds:6.2f} s  x{base / seconds:4.2f}")


if __name__ == "__main__":
    main()
