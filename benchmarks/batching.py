"""Batched vs unbatched greedy decoding in the torch backend, on concurrent game-24 prompts (the embedded model).

For each count N, N greedy requests (propose and value prompts of game 24, puzzles from row 900) are sent at once
(`asyncio.gather`) to one `TorchModel`, first with batching off (`max_batch=1`: they decode one after the other,
as before batching), then on; it prints the wall time of each, the ratio, and the mean batch size the completions
report. Then exactness: the largest N decoded together (`reasoning.batching.decode_batch`) against each alone
(`reasoning.decoding.decode`), token for token; in bf16 a batched forward may round a near tie the other way, so
each mismatch is printed with its logit margin (`reasoning.decoding.divergence`), as for Jacobi.

    python benchmarks/batching.py [--counts 1,2,4,8,16] [--tokens 64] [--dtype bfloat16] [--speculate 0]
        [--threads 1] [--exact 8] [--prefix-cache 0]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

import torch

from evals.game24 import Game24Config, Game24Task
from evals.game24.data import load_puzzles
from reasoning import GenerationRequest
from reasoning.backends.torch_local import TorchModel
from reasoning.batching import Sequence, decode_batch
from reasoning.decoding import decode, divergence
from reasoning.tree import Node

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe


def game24_requests(count: int, tokens: int) -> list[GenerationRequest]:
    """`count` requests, alternately the propose prompt of a puzzle and the value prompt after its first step."""
    requests = []
    for puzzle in load_puzzles(rows=range(900, 900 + (count + 1) // 2)):
        task = Game24Task(puzzle.numbers, Game24Config(chat=False))
        a, b, *rest = puzzle.numbers.split()
        state = f"{a} + {b} = {int(a) + int(b)} (left: {' '.join(sorted([str(int(a) + int(b)), *rest], key=int))})\n"
        for request in (task.propose_request(Node(state="")), task.value_request(Node(state=state, depth=1))):
            requests.append(request.model_copy(update={"max_tokens": tokens, "temperature": 0.0}))
    return requests[:count]


async def timed(model: TorchModel, requests: list[GenerationRequest], max_batch: int) -> tuple[float, float, int]:
    """Wall seconds for all of `requests` sent at once, the mean batch size reported, the tokens generated."""
    model.max_batch = max_batch
    start = time.perf_counter()
    results = await asyncio.gather(*[model.generate(r) for r in requests])
    seconds = time.perf_counter() - start
    stats = [r.completions[0].decoding for r in results]
    mean = sum(s.batch_size for s in stats if s is not None) / len(stats)
    return seconds, mean, sum(r.completions[0].completion_tokens for r in results)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counts", default="1,2,4,8,16")
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--speculate", type=int, default=0, help="a lone greedy sequence's lookahead (0: off)")
    parser.add_argument("--prefix-cache", type=int, default=0, help="prefix cache positions (0: off, to isolate)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (1 on a machine loaded by others)")
    parser.add_argument("--exact", type=int, default=None, help="prompts in the exactness check (default: max N)")
    args = parser.parse_args()
    counts = [int(c) for c in args.counts.split(",")]
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f"machine: {describe()}; torch {torch.__version__} ({torch.get_num_threads()} threads); dtype {args.dtype};"
          f" {args.tokens} tokens; load average before: {os.getloadavg()[0]:.2f}")  # fmt: skip
    model = TorchModel.embedded(dtype=args.dtype, speculate=args.speculate, prefix_cache_tokens=args.prefix_cache)
    await model.generate(GenerationRequest(prompt="def add(a, b):", temperature=0, max_tokens=4))  # warm-up
    requests = game24_requests(max([*counts, args.exact or 0]), args.tokens)

    print(f"\n{'N':>3} {'unbatched s':>12} {'batched s':>10} {'speed-up':>9} {'mean batch':>11} {'tokens':>7}")
    for n in counts:
        alone, _, produced = await timed(model, requests[:n], 1)
        together, mean, _ = await timed(model, requests[:n], 16)
        print(f"{n:>3} {alone:>12.1f} {together:>10.1f} {alone / together:>8.2f}x {mean:>11.1f} {produced:>7}")
    print(f"load average after: {os.getloadavg()[0]:.2f}")

    n = args.exact or max(counts)
    prompts = [model.encode(r) for r in requests[:n]]
    sequences = [Sequence(p, args.tokens, model.eos_token_ids) for p in prompts]
    decode_batch(model.model, sequences)
    notes, differ = [], 0
    for seq, ids in zip(sequences, prompts, strict=True):
        reference = decode(model.model, ids, max_tokens=args.tokens, eos=model.eos_token_ids).tokens
        tokens = seq.result.tokens
        if tokens == reference:
            continue
        differ += 1
        found = divergence(model.model, ids, reference, tokens)
        if found is None:  # one is a prefix of the other (an EOS decided differently)
            notes.append(f"length {len(tokens)} vs {len(reference)}")
        else:
            notes.append(f"pos {found.position}: margin {found.margin:+.4f} = {found.margin / found.ulp:+.1f} ulp")
    print(f"\nexactness, {n} prompts batched vs alone ({args.dtype}): {differ}/{n} differ  {'; '.join(notes)}")


if __name__ == "__main__":
    asyncio.run(main())
