"""What drawing one sampled token costs on this CPU (issue 18): `torch.multinomial` against the sampler's draw,
an exponential race over uniforms from the same generator (`reasoning.decoding._draw`), over the embedded model's
vocabulary.

A batched step of B sampled rows draws B tokens, one each from its row's own generator (so a sample's tokens do
not depend on which rows share its batch). Each cell is the median over `--repeats` runs of `--calls` draws of ms a
draw, from logits of shape (vocab,) in bf16 (as the model gives them), after one warm-up run. The softmax of the
tempered logits is in both; `top_p < 1` adds the nucleus's sort to both.

    python benchmarks/draw_cost.py [--vocab 151936] [--top-p 1.0] [--temperature 0.7] [--calls 50] [--repeats 5]
        [--threads N] [--flip-seeds 1000] [--json PATH]

It also counts, over `--flip-seeds` seeds, how often a draw picks another token when the logits are nudged by 1e-6
relative (as a prompt run whole, from the prefix cache or in a batch differs in its last bits), for the sampler's
race and for the draw through the cumulative distribution in vocabulary order that it replaced (`cumulative`).

How to read it: times the rows of a step (16 in the whole-trace replay) are what a step spends drawing, beside a
forward of ~200-300 ms on this project's 2-core machine (BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from reasoning.decoding import _draw, _nucleus

sys.path.insert(0, str(Path(__file__).parent))
from _machine import describe
from _timing import time_call


def multinomial(logits: Any, temperature: float, top_p: float, generator: Any) -> int:
    """The draw as before: the same tempered nucleus, then `torch.multinomial` for one token."""
    return int(torch.multinomial(_nucleus(logits, temperature, top_p), 1, generator=generator).item())


def cumulative(logits: Any, temperature: float, top_p: float, generator: Any) -> int:
    """The draw of 12d4887 to 93ae1e8: one uniform through the cumulative distribution of the tempered nucleus."""
    cdf = torch.cumsum(_nucleus(logits, temperature, top_p).double(), dim=-1)
    u = torch.rand(1, generator=generator, dtype=torch.float64) * cdf[-1]
    return min(int(torch.searchsorted(cdf, u, right=True).item()), len(cdf) - 1)


def flips(draw: Callable[..., int], vocab: int, temperature: float, seeds: int) -> int:
    """Of `seeds` seeded draws from logits ~ N(0, 3^2) over `vocab` tokens (top_p 1), how many pick another token
    when every logit is scaled by 1 + 1e-6 N(0, 1)."""
    logits = torch.randn(vocab, generator=torch.Generator().manual_seed(1)) * 3
    nudged = logits * (1 + 1e-6 * torch.randn(vocab, generator=torch.Generator().manual_seed(2)))
    return sum(draw(logits, temperature, 1.0, torch.Generator().manual_seed(s))
               != draw(nudged, temperature, 1.0, torch.Generator().manual_seed(s)) for s in range(seeds))  # fmt: skip


def time_draws(draw: Callable[..., int], logits: Any, args: argparse.Namespace) -> float:
    """Median ms a draw over `args.repeats` runs of `args.calls` draws, after one warm-up run (`_timing`)."""
    generator = torch.Generator().manual_seed(0)
    return time_call(lambda x: draw(x, args.temperature, args.top_p, generator), logits, args.calls, args.repeats)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vocab", type=int, default=151936)
    parser.add_argument("--top-p", type=float, default=1.0)
    parser.add_argument("--temperature", type=float, default=0.7)
    parser.add_argument("--calls", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--flip-seeds", type=int, default=1000)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    logits = (torch.randn(args.vocab, generator=torch.Generator().manual_seed(1)) * 3).to(torch.bfloat16)
    result = {"machine": describe(), "threads": torch.get_num_threads(), "vocab": args.vocab, "top_p": args.top_p,
              "temperature": args.temperature, "flip_seeds": args.flip_seeds,
              "multinomial_ms": time_draws(multinomial, logits, args),
              "race_ms": time_draws(_draw, logits, args),
              "flips": {name: flips(draw, args.vocab, args.temperature, args.flip_seeds)
                        for name, draw in (("race", _draw), ("cumulative", cumulative))}}  # fmt: skip
    print(f"machine: {result['machine']}; torch {torch.__version__} ({result['threads']} threads)")
    print(f"vocab {args.vocab}, top_p {args.top_p}: ms a draw, torch.multinomial {result['multinomial_ms']:.3f}, "
          f"the sampler's race {result['race_ms']:.3f} "
          f"({result['multinomial_ms'] / result['race_ms']:.1f}x)")  # fmt: skip
    print(f"logits nudged by 1e-6, temperature {args.temperature}: another token in {result['flips']['race']} of "
          f"{args.flip_seeds} race draws, {result['flips']['cumulative']} through the cumulative distribution")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
