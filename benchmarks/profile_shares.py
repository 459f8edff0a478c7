"""Where a profiled run's time went: each frame's share of the samples of a py-spy profile in its raw (collapsed
stack) format, counted as a flame graph draws it (a sample counts for every distinct frame on its stack), over the
samples whose stack holds `--under` (default: the batched decoder, `decode_batch`).

    py-spy record -r 40 --nonblocking --format raw -o prof.raw -- python benchmarks/search_workload.py \\
        --trace benchmarks/results/search_workload/trace.jsonl --steps 2 --greedy --backends torch-bf16-both
    python benchmarks/profile_shares.py prof.raw [--under decode_batch] [--top 30]

Each line of the raw file is `frame;frame;...;frame count`; a frame is `function (file:line)`, counted here by its
function name.
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path


def shares(lines: list[str], under: str) -> tuple[int, collections.Counter[str]]:
    """The samples whose stack holds a frame named `under`, and how many of them each function name appears in."""
    total, inclusive = 0, collections.Counter[str]()
    for line in lines:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        names = [frame.split(" (")[0] for frame in stack.split(";")]
        if under not in names:
            continue
        total += int(count)
        for name in set(names):
            inclusive[name] += int(count)
    return total, inclusive


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("raw", help="py-spy's --format raw output")
    parser.add_argument("--under", default="decode_batch")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    total, inclusive = shares(Path(args.raw).read_text().splitlines(), args.under)
    print(f"{total} samples under {args.under}")
    for name, count in inclusive.most_common(args.top):
        print(f"{count / total:6.1%}  {name}" if total else name)


if __name__ == "__main__":
    main()
