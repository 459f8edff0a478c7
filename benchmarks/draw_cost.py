"""What drawing one sampled token costs on this CPU (issue 18): `torch.multinomial` against the sampler's draw,
an exponential race over uniforms from the same generator (`reasoning.decoding._draw`), over the embedded model's
vocabulary.

A batched step of B sampled rows draws B tokens, one each from its row's own generator (so a sample's tokens do
not depend on which rows share its batch). Each cell is the median over `--repeats` runs of `--calls` draws of ms a
draw, from logits of shape (vocab,) in bf16 (as the model gives them), after one warm-up run. The softmax of the
tempered logits is in both; `top_p < 1` adds the nucleus's sort to both.

    python benchmarks/draw_cost.py [--vocab 151936] [--top-p 1.0] [--temperature 0.7] [--calls 50] [--repeats 5]
        [--threads N] [--json PATH]

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
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    logits = (torch.randn(args.vocab, generator=torch.Generator().manual_seed(1)) * 3).to(torch.bfloat16)
    result = {"machine": describe(), "threads": torch.get_num_threads(), "vocab": args.vocab, "top_p": args.top_p,
              "multinomial_ms": time_draws(multinomial, logits, args),
              "race_ms": time_draws(_draw, logits, args)}  # fmt: skip
    print(f"machine: {result['machine']}; torch {torch.__version__} ({result['threads']} threads)")
    print(f"vocab {args.vocab}, top_p {args.top_p}: ms a draw, torch.multinomial {result['multinomial_ms']:.3f}, "
          f"the sampler's race {result['race_ms']:.3f} "
          f"({result['multinomial_ms'] / result['race_ms']:.1f}x)")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
