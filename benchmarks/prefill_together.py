"""A search's bursts of prompts prefilled together against one by one, after a cached few-shot prefix (issue 18).

The batched torch decoder prefills the prompts that join its batch at once: those whose prefix the prefix cache
holds run their rests as the rows of one forward (`reasoning.decoding.prefill_together`), where before each ran its
own forward (`reasoning.decoding.prefill`). This script times both on the prompts of a recorded search trace
(`benchmarks/search_workload.py`'s, kept in git), burst by burst (a trace group: the requests a search sent at
once), on the embedded model:

- before each timed run the prefix cache is fresh and holds the burst's first prompt only (what a search's earlier
  bursts leave there: the few-shot prefix), so both ways start from the same cache and compute the same tokens;
- the rest of the burst is prefilled one by one, then together (alternating, `--repeats` times, after one untimed
  warm-up of each), and the median of each is reported with the tokens computed;
- the logits of the two ways are compared (the largest difference, and whether every prompt's argmax agrees).

Usage:
    python benchmarks/prefill_together.py [--trace benchmarks/results/search_workload/trace.jsonl] [--steps 2]
        [--repeats 3] [--dtype bfloat16] [--threads N]

Prints a table per burst and the total, with the machine and the load average before and after (a loaded machine
slows both ways; the alternation keeps them comparable).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from reasoning.decoding import prefill, prefill_together
from reasoning.prefix_cache import PrefixCache

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _machine import describe
from search_workload import load_trace

TRACE = Path(__file__).resolve().parent / "results" / "search_workload" / "trace.jsonl"


def bursts(prompts_by_group: dict[int, list[list[int]]], least: int = 3) -> list[list[list[int]]]:
    """The groups with at least `least` distinct prompts, each as its distinct prompts in order (a request's `n`
    samples share one prefill either way)."""
    out = []
    for prompts in prompts_by_group.values():
        distinct: list[list[int]] = []
        for prompt in prompts:
            if prompt not in distinct:
                distinct.append(prompt)
        if len(distinct) >= least:
            out.append(distinct)
    return out


def time_burst(model: Any, burst: list[list[int]], repeats: int) -> dict[str, Any]:
    """Median seconds of prefilling `burst[1:]` one by one and together after `burst[0]` is cached, the prompt
    tokens computed, and how far apart the two ways' logits are."""

    def warmed() -> PrefixCache:
        cache = PrefixCache(max_tokens=1 << 20)
        prefill(model, burst[0], cache)
        return cache

    def alone() -> tuple[float, list[Any], int]:
        cache = warmed()
        started = time.perf_counter()
        done = [prefill(model, prompt, cache) for prompt in burst[1:]]
        return time.perf_counter() - started, done, sum(d.computed for d in done)

    def together() -> tuple[float, list[Any], int]:
        cache = warmed()
        started = time.perf_counter()
        done = prefill_together(model, burst[1:], cache)
        return time.perf_counter() - started, done, sum(d.computed for d in done)

    alone(), together()  # warm-up, untimed
    a_times, b_times = [], []
    for _ in range(repeats):
        a_seconds, a_done, a_tokens = alone()
        b_seconds, b_done, b_tokens = together()
        a_times.append(a_seconds)
        b_times.append(b_seconds)
    largest = max(float((a.logits.float() - b.logits.float()).abs().max()) for a, b in zip(a_done, b_done, strict=True))
    same = sum(int(a.logits.argmax()) == int(b.logits.argmax()) for a, b in zip(a_done, b_done, strict=True))
    return {"prompts": len(burst) - 1, "computed_alone": a_tokens, "computed_together": b_tokens,
            "alone_s": statistics.median(a_times), "together_s": statistics.median(b_times),
            "largest_logit_difference": largest, "same_argmax": same}  # fmt: skip


def report(rows: list[dict[str, Any]]) -> str:
    """The bursts' medians as a Markdown table, with their total."""
    lines = ["| burst | prompts | tokens computed (alone / together) | alone ms | together ms | speedup | "
             "largest logit difference | same argmax |", "|--:|--:|--:|--:|--:|--:|--:|--:|"]  # fmt: skip
    for i, r in enumerate(rows):
        speedup = r["alone_s"] / r["together_s"]
        lines.append(f"| {i} | {r['prompts']} | {r['computed_alone']} / {r['computed_together']} | "
                     f"{r['alone_s'] * 1e3:.0f} | {r['together_s'] * 1e3:.0f} | {speedup:.2f}x | "
                     f"{r['largest_logit_difference']:.3g} | {r['same_argmax']}/{r['prompts']} |")  # fmt: skip
    alone, together = sum(r["alone_s"] for r in rows), sum(r["together_s"] for r in rows)
    prompts, same = sum(r["prompts"] for r in rows), sum(r["same_argmax"] for r in rows)
    lines.append(f"| all | {prompts} | | {alone * 1e3:.0f} | {together * 1e3:.0f} | {alone / together:.2f}x | | "
                 f"{same}/{prompts} |")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trace", type=Path, default=TRACE)
    parser.add_argument("--steps", type=int, default=2, help="each puzzle's first K groups (as search_workload's)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    args = parser.parse_args()
    from reasoning.backends.torch_local import TorchModel

    if args.threads:
        torch.set_num_threads(args.threads)
    trace = load_trace(args.trace)
    torch_model = TorchModel.embedded(dtype=args.dtype)
    first: dict[str, list[int]] = {}
    by_group: dict[int, list[list[int]]] = {}
    for traced in trace.requests:
        groups = first.setdefault(traced.tag, [])
        if traced.group not in groups:
            groups.append(traced.group)
        if groups.index(traced.group) < args.steps:
            by_group.setdefault(traced.group, []).append(torch_model.encode(traced.request))
    chosen = bursts(by_group)
    print(f"machine: {describe()}")
    load = os.getloadavg()[0]
    print(f"torch {torch.__version__} ({torch.get_num_threads()} threads), dtype {args.dtype}; {len(chosen)} "
          f"bursts of the trace's first {args.steps} groups a puzzle; load average before: {load:.2f}\n")  # fmt: skip
    rows = [time_burst(torch_model.model, burst, args.repeats) for burst in chosen]
    print(report(rows))
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
