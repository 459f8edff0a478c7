"""Where a batched decoder's time goes on this CPU: one forward's cost by batch size and width, the KV cache's own
copy, and prefill against decode (issue 18), on the embedded model through the torch backend.

1. Decode step: every row of a batch of B holds a KV cache of `--context` positions; one forward of W new tokens
   per row (position ids continuing each row, logits at every new position, as the batched decoder asks for them).
   Median of `--repeats` after one warm-up, the cache cut back to `--context` positions before each. Cells: ms and
   tokens/s (B*W / seconds); then each cell's time relative to B=1, W=1.
2. Cache copy: the W=1 step of part 1 with a `transformers.DynamicCache` (it appends with `torch.cat`, copying all
   B x context positions of every layer each step) beside a `transformers.StaticCache` of context+16 positions
   (written in place; it counts its own positions, so no `cache_position` is passed), the `torch.cat` of
   every layer's keys and values alone, and the batched decoder's cache (`reasoning.kv_cache.SpareLayer`: a
   DynamicCache whose layers write each step into room kept after their positions).
3. Prefill: one prompt of P random tokens into an empty cache (B=1, logits of its last position only, as the
   decoder's prefill). Then `--suffix` new tokens after a cached prefix of `--prefix` positions for B rows: in one
   forward of (B, suffix), against B forwards of (1, suffix) one after the other.

The caches of B rows hold B copies of one prefilled row of random token ids (`replicate`): a forward costs the same
whatever the keys hold, and prefilling every row of every batch size would take longer than the measurements.

    python benchmarks/forward_cost.py [--batches 1,2,4,8,16,24,32] [--widths 1,4,8] [--context 300] [--repeats 5]
        [--prompts 32,64,128,256,300] [--prefix 270] [--suffix 32] [--suffix-batches 1,4,16] [--dtype bfloat16]
        [--threads N] [--attention packed|sdpa] [--json PATH]

`--attention sdpa` runs transformers' own SDPA instead of the backend's default (`reasoning.backends.attention`:
a one-token step's grouped-query attention packed onto the key/value heads), to show what that choice is worth.

How to read it: down a column of part 1, a time that grows slower than B is what batching buys (the weights are read
once per forward whatever B is); where it grows as fast as B*W, the forward is compute-bound and more rows or a
wider window buy nothing. Along a row, the W columns' ratio to W=1 is what a lookahead or Jacobi window of W costs
over one token. In part 2, DynamicCache minus StaticCache is what growing the cache by copying costs per step
against writing in place (the StaticCache attends over all its context+16 positions, masked, which it pays instead);
the last column is the `torch.cat` alone, so whatever the difference holds beyond it is not the copy itself. With
more threads than free cores a forward can stall for seconds (give `--threads` no more than the cores free, and read the
load averages printed before and after). In part 3, a prompt's tokens/s against part 1's B=1, W=1 says how much
cheaper a prompt token is than a generated one, and the suffix table what prefilling newcomers together (rather than
one by one) would save.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from reasoning.backends.torch_local import TorchModel
from reasoning.kv_cache import append_in_place

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe

STATIC_SPARE = 16  # positions a StaticCache holds beyond the context


def median_seconds(forward: Callable[[], object], reset: Callable[[], None], repeats: int) -> float:
    """Median wall seconds of `forward` over `repeats` runs after one warm-up run, `reset` called before each."""
    times = []
    for i in range(repeats + 1):
        reset()
        start = time.perf_counter()
        forward()
        if i:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def cut(cache: Any, length: int) -> None:
    """Drop the positions of `cache` past `length` (a StaticCache only moves its write pointer back)."""
    extra = int(cache.get_seq_length()) - length
    if extra > 0:
        with torch.inference_mode():  # a StaticCache's pointer may be an inference tensor
            cache.crop(-extra)


def random_ids(model: Any, rows: int, length: int) -> torch.Tensor:
    """Token ids (rows, length), uniform below 1000 (or the vocabulary's size)."""
    return torch.randint(0, min(1000, model.config.vocab_size), (rows, length))


def positions(start: int, rows: int, width: int) -> torch.Tensor:
    """Position ids (rows, width): start, start+1, ... on every row."""
    return torch.arange(start, start + width)[None].expand(rows, width)


def prefilled(model: Any, length: int) -> Any:
    """A DynamicCache holding one row of `length` random tokens."""
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    with torch.inference_mode():
        model(input_ids=random_ids(model, 1, length), cache=cache, use_cache=True, logits_to_keep=1)
    return cache


def replicate(source: Any, rows: int, cache: Any) -> Any:
    """Fill the empty `cache` with `rows` copies of the one row of `source` (each layer's keys and values); it."""
    for index, layer in enumerate(source.layers):
        keys = layer.keys.expand(rows, -1, -1, -1).contiguous()
        values = layer.values.expand(rows, -1, -1, -1).contiguous()
        cache.update(keys, values, index)
    return cache


def step(model: Any, cache: Any, rows: int, width: int, start: int, keep: int = 0) -> Callable[[], object]:
    """One forward of (rows, width) random new tokens at positions start.. over `cache` (`keep`: logits kept)."""
    ids = random_ids(model, rows, width)
    where = positions(start, rows, width)

    def forward() -> object:
        with torch.inference_mode():
            return model(input_ids=ids, cache=cache, position_ids=where, use_cache=True, logits_to_keep=keep)

    return forward


def decode_costs(model: Any, base: Any, batches: list[int], widths: list[int], repeats: int) -> list[dict[str, Any]]:
    """Part 1: per (B, W), the median ms of a decode step over caches of the base's length, and tokens/s."""
    from transformers import DynamicCache

    context = base.get_seq_length()
    rows: list[dict[str, Any]] = []
    for b in batches:
        cache = replicate(base, b, DynamicCache(config=model.config))
        for w in widths:
            seconds = median_seconds(step(model, cache, b, w, context), functools.partial(cut, cache, context), repeats)
            rows.append({"batch": b, "width": w, "ms": seconds * 1000, "tokens_per_s": b * w / seconds})
        del cache
    one = next((r["ms"] for r in rows if r["batch"] == 1 and r["width"] == 1), None)
    for row in rows:
        row["ratio"] = row["ms"] / one if one else None
    return rows


def cat_seconds(cache: Any, repeats: int) -> float:
    """Median seconds of what a DynamicCache does to append one position: `torch.cat` of each layer's keys and
    values with the new ones."""
    new = [(layer.keys[:, :, :1].clone(), layer.values[:, :, :1].clone()) for layer in cache.layers]

    def append() -> object:
        return [
            (torch.cat([layer.keys, k], dim=-2), torch.cat([layer.values, v], dim=-2))
            for layer, (k, v) in zip(cache.layers, new, strict=True)
        ]

    return median_seconds(append, lambda: None, repeats)


def cache_costs(model: Any, base: Any, batches: list[int], repeats: int) -> tuple[list[dict[str, Any]], str | None]:
    """Part 2: per B, a W=1 step's median ms over a DynamicCache and a StaticCache, and the DynamicCache's
    `torch.cat` alone; with the StaticCache's error (its column None) where it fails."""
    from transformers import DynamicCache, StaticCache

    context = base.get_seq_length()
    rows, error = [], None
    for b in batches:
        dynamic = replicate(base, b, DynamicCache(config=model.config))
        row: dict[str, Any] = {"batch": b}
        forward = step(model, dynamic, b, 1, context)
        row["dynamic_ms"] = median_seconds(forward, functools.partial(cut, dynamic, context), repeats) * 1000
        row["cat_ms"] = cat_seconds(dynamic, repeats) * 1000
        del dynamic
        spare = append_in_place(replicate(base, b, DynamicCache(config=model.config)))  # the batched decoder's
        forward = step(model, spare, b, 1, context)
        row["in_place_ms"] = median_seconds(forward, functools.partial(cut, spare, context), repeats) * 1000
        del spare
        row["static_ms"] = None
        if error is None:
            try:
                static = replicate(base, b, StaticCache(config=model.config, max_cache_len=context + STATIC_SPARE))
                forward = step(model, static, b, 1, context)
                row["static_ms"] = median_seconds(forward, functools.partial(cut, static, context), repeats) * 1000
                del static
            except Exception as exc:  # a transformers release whose StaticCache this use does not fit: say so, go on
                error = f"{type(exc).__name__}: {exc}"
        rows.append(row)
    return rows, error


def prefill_costs(model: Any, lengths: list[int], repeats: int) -> list[dict[str, Any]]:
    """Part 3a: per prompt length P, the median ms of its prefill alone into an empty cache, and tokens/s."""
    from transformers import DynamicCache

    rows = []
    for p in lengths:
        holder = [DynamicCache(config=model.config)]

        def fresh(holder: list[Any] = holder) -> None:
            holder[0] = DynamicCache(config=model.config)

        ids = random_ids(model, 1, p)

        def forward(holder: list[Any] = holder, ids: torch.Tensor = ids) -> object:
            with torch.inference_mode():
                return model(input_ids=ids, cache=holder[0], use_cache=True, logits_to_keep=1)

        seconds = median_seconds(forward, fresh, repeats)
        rows.append({"prompt": p, "ms": seconds * 1000, "tokens_per_s": p / seconds})
    return rows


def suffix_costs(model: Any, prefix: int, suffix: int, batches: list[int], repeats: int) -> list[dict[str, Any]]:
    """Part 3b: per B, the median ms of B suffix prefills after a cached prefix in one forward, and one by one."""
    from transformers import DynamicCache

    base = prefilled(model, prefix)
    rows = []
    for b in batches:
        together = replicate(base, b, DynamicCache(config=model.config))
        forward = step(model, together, b, suffix, prefix, keep=1)
        batched = median_seconds(forward, functools.partial(cut, together, prefix), repeats)
        del together
        alone = replicate(base, 1, DynamicCache(config=model.config))
        one = step(model, alone, 1, suffix, prefix, keep=1)

        def each(b: int = b, one: Callable[[], object] = one, alone: Any = alone) -> None:
            for _ in range(b):
                cut(alone, prefix)
                one()

        separate = median_seconds(each, lambda: None, repeats)
        rows.append({"batch": b, "batched_ms": batched * 1000, "separate_ms": separate * 1000,
                     "speedup": separate / batched})  # fmt: skip
    return rows


def table(header: list[str], rows: list[list[str]]) -> str:
    """A markdown table."""
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def report(decode: list[dict[str, Any]], widths: list[int], cache: list[dict[str, Any]], static_error: str | None,
           prefill: list[dict[str, Any]], suffix: list[dict[str, Any]], context: int, prefix: int,
           suffix_length: int) -> str:  # fmt: skip
    """The four parts' markdown tables."""
    cell = {(r["batch"], r["width"]): r for r in decode}
    batches = list(dict.fromkeys(r["batch"] for r in decode))
    header = ["B \\ W", *(str(w) for w in widths)]

    def ratio(r: dict[str, Any]) -> str:
        return f"{r['ratio']:.2f}x" if r["ratio"] is not None else "-"

    out = [f"## Decode step over a cache of {context} positions per row: ms (tokens/s)", ""]
    out.append(table(header, [[str(b), *(f"{cell[b, w]['ms']:.1f} ({cell[b, w]['tokens_per_s']:.0f})"
                                          for w in widths)] for b in batches]))  # fmt: skip
    out += ["", "## The same, time relative to B=1, W=1", ""]
    out.append(table(header, [[str(b), *(ratio(cell[b, w]) for w in widths)] for b in batches]))
    out += ["", f"## The cache's copy: W=1 step, DynamicCache vs StaticCache ({context}+{STATIC_SPARE} positions)", ""]
    if static_error:
        out += [f"StaticCache skipped: {static_error}", ""]
    out.append(table(["B", "DynamicCache ms", "StaticCache ms", "static / dynamic", "torch.cat alone ms",
                       "in place (SpareLayer) ms", "in place / dynamic"], [
        [str(r["batch"]), f"{r['dynamic_ms']:.1f}",
         "-" if r["static_ms"] is None else f"{r['static_ms']:.1f}",
         "-" if r["static_ms"] is None else f"{r['static_ms'] / r['dynamic_ms']:.2f}", f"{r['cat_ms']:.1f}",
         f"{r['in_place_ms']:.1f}", f"{r['in_place_ms'] / r['dynamic_ms']:.2f}"]
        for r in cache]))  # fmt: skip
    out += ["", "## Prefill of one prompt (B=1)", ""]
    out.append(table(["P", "ms", "tokens/s"], [[str(r["prompt"]), f"{r['ms']:.1f}", f"{r['tokens_per_s']:.0f}"]
                                              for r in prefill]))  # fmt: skip
    out += ["", f"## {suffix_length}-token suffix prefills after a cached {prefix}-position prefix, B rows", ""]
    out.append(table(["B", "one forward ms", "B forwards ms", "speed-up"], [
        [str(r["batch"]), f"{r['batched_ms']:.1f}", f"{r['separate_ms']:.1f}", f"{r['speedup']:.2f}x"]
        for r in suffix]))  # fmt: skip
    return "\n".join(out)


def numbers(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=numbers, default=[1, 2, 4, 8, 16, 24, 32])
    parser.add_argument("--widths", type=numbers, default=[1, 4, 8], help="new tokens per row per forward")
    parser.add_argument("--context", type=int, default=300, help="KV cache positions per row in parts 1 and 2")
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per cell, after one warm-up")
    parser.add_argument("--prompts", type=numbers, default=[32, 64, 128, 256, 300], help="prefill lengths")
    parser.add_argument("--prefix", type=int, default=270, help="cached prefix before the suffix prefills")
    parser.add_argument("--suffix", type=int, default=32, help="tokens of each suffix prefill")
    parser.add_argument("--suffix-batches", type=numbers, default=[1, 4, 16])
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument(
        "--attention",
        choices=["packed", "sdpa"],
        default="packed",
        help="the backend's packed one-token attention (default), or transformers' SDPA",
    )
    parser.add_argument("--json", type=Path, default=None, help="also write every number here as JSON")
    args = parser.parse_args()
    import transformers

    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"machine: {describe()}")
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), transformers {transformers.__version__};"
          f" dtype {args.dtype}; {args.repeats} repeats; load average before: {os.getloadavg()[0]:.2f}\n")  # fmt: skip
    torch.manual_seed(0)
    model = TorchModel.embedded(dtype=args.dtype).model
    if args.attention == "sdpa":
        model.set_attn_implementation("sdpa")
    print(f"attention: {model.config._attn_implementation}")
    base = prefilled(model, args.context)
    start = time.perf_counter()
    decode = decode_costs(model, base, args.batches, args.widths, args.repeats)
    cache, static_error = cache_costs(model, base, args.batches, args.repeats)
    prefill = prefill_costs(model, args.prompts, args.repeats)
    suffix = suffix_costs(model, args.prefix, args.suffix, args.suffix_batches, args.repeats)
    print(report(decode, args.widths, cache, static_error, prefill, suffix, args.context, args.prefix, args.suffix))
    print(f"\n{time.perf_counter() - start:.0f} s of measurements; load average after: {os.getloadavg()[0]:.2f}")
    if args.json:
        results = {"machine": describe(), "torch": torch.__version__, "transformers": transformers.__version__,
                   "threads": torch.get_num_threads(), "dtype": args.dtype, "attention": args.attention,
                   "context": args.context,
                   "repeats": args.repeats, "prefix": args.prefix, "suffix": args.suffix, "decode": decode,
                   "cache": cache, "static_error": static_error, "prefill": prefill,
                   "suffix_prefill": suffix}  # fmt: skip
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
